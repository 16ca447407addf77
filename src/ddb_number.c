/* ddb_number.c: number texts (see ddb_number.h). Owns: printing doubles as JavaScript does
 * (shortest round-trip digits), reading DynamoDB's N texts, the JSON number grammar and jansson's
 * range rules for it, the exact "is this text already canonical" test that lets the converters
 * copy numbers verbatim, and DynamoDB's size of a number.
 * Pure: no I/O, no globals; allocates only for number texts over 64 bytes. Thread: any (the
 * client calls it on its worker thread, the tests and fuzzers on theirs). */
#include "ddb_number.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* ---- printing doubles ------------------------------------------------------------------- */

/* A positive double's digits: value = 0.s[0..k-1] * 10^n, s without trailing zeros. */
typedef struct {
  char s[24];
  int k;
  int n;
} digits_t;

static void digits_from_u64(uint64_t m, int exp10, digits_t *d) {
  /* value = m * 10^exp10 */
  char tmp[24];
  int len = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)m);
  while (len > 1 && tmp[len - 1] == '0') {
    len--;
    exp10++;
  }
  memcpy(d->s, tmp, (size_t)len);
  d->s[len] = '\0';
  d->k = len;
  d->n = exp10 + len;
}

/* strtod() of digits[0..n) * 10^exp10, negated if neg. The text handed to strtod has no decimal
 * point, so the locale's radix character cannot change the result. 0, or -1 (no memory). */
static int decimal_to_double(int neg, const char *digits, size_t n, long exp10, double *out) {
  char small[96];
  char *t = n + 32 <= sizeof small ? small : malloc(n + 32);
  if (!t) return -1;
  size_t i = 0;
  if (neg) t[i++] = '-';
  memcpy(t + i, digits, n);
  i += n;
  snprintf(t + i, 24, "e%ld", exp10);
  *out = strtod(t, NULL);
  if (t != small) free(t);
  return 0;
}

/* Is there a p-significant-digit decimal that strtod reads back as a (> 0, finite)? If so, stores
 * the closest such one in *d. The decimals that read back as a form an interval around a, so if
 * any p-digit decimal lies in it, the p-digit decimal just below or just above a does, and the
 * correctly rounded one is one of those two. The interval is symmetric (so the rounded one, being
 * the closest, is in it whenever any is) except at a power of two (lopsided), whose lower half is
 * half as wide: there the rounded text can miss while its neighbour on the other side hits. */
static int try_precision(double a, int p, int lopsided, digits_t *d) {
  char buf[48], dig[24];
  size_t n = 0;
  double back;
  snprintf(buf, sizeof buf, "%.*e", p - 1, a); /* d.ddde+XX; the point is the locale's */
  uint64_t m = 0;
  const char *c = buf;
  for (; *c && *c != 'e'; c++) {
    if (*c >= '0' && *c <= '9' && n < sizeof dig) {
      dig[n++] = *c;
      m = m * 10 + (uint64_t)(*c - '0');
    }
  }
  if (*c != 'e' || n != (size_t)p) return 0;
  int exp10 = atoi(c + 1) - (p - 1);
  if (decimal_to_double(0, dig, n, exp10, &back) == 0 && back == a) {
    digits_from_u64(m, exp10, d);
    return 1;
  }
  for (int delta = -1; lopsided && delta <= 1; delta += 2) {
    uint64_t mm = delta < 0 ? m - 1 : m + 1;
    if (mm == 0) continue;
    int len = snprintf(dig, sizeof dig, "%llu", (unsigned long long)mm);
    if (decimal_to_double(0, dig, (size_t)len, exp10, &back) == 0 && back == a) {
      digits_from_u64(mm, exp10, d);
      return 1;
    }
  }
  return 0;
}

/* Shortest digits for a > 0, finite. */
static void shortest_digits(double a, digits_t *d) {
  /* an integer below 2^53: its own digits are the shortest */
  if (a < 9007199254740992.0 && (double)(uint64_t)a == a) {
    digits_from_u64((uint64_t)a, 0, d);
    return;
  }
  uint64_t bits;
  memcpy(&bits, &a, sizeof bits);
  int lopsided = (bits & 0xFFFFFFFFFFFFFull) == 0 && (bits >> 52) > 1; /* normal power of two */
  if (a >= DBL_MIN) {
    /* Normal numbers: any decimal of <= DBL_DIG (15) digits survives decimal -> double -> 15
     * digits, so if a has a representation of k <= 15 digits, %.14e prints exactly it (padded with
     * zeros, which digits_from_u64 strips), and it is the only one of k digits. Otherwise 16 or
     * 17 digits are needed. */
    if (try_precision(a, DBL_DIG, 0, d) || try_precision(a, DBL_DIG + 1, lopsided, d)) return;
    try_precision(a, 17, lopsided, d); /* %.16e always reads back */
    return;
  }
  /* Subnormals have fewer digits of precision: whether p digits suffice is monotonic in p, and 17
   * always do, so a binary search over 1..17 finds the least p. */
  digits_t best;
  int lo = 1, hi = 17, have_hi = 0;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    digits_t t;
    if (try_precision(a, mid, lopsided, &t)) {
      hi = mid;
      best = t;
      have_hi = 1;
    } else {
      lo = mid + 1;
    }
  }
  if (!have_hi) try_precision(a, 17, lopsided, &best); /* %.16e always reads back */
  *d = best;
}

int ddbs_format_double(double d, char out[32]) {
  if (!isfinite(d)) return -1;
  if (d == 0) { /* +0 and -0: JavaScript's (-0).toString() and JSON.stringify(-0) give "0" */
    out[0] = '0';
    out[1] = '\0';
    return 1;
  }
  digits_t dg;
  shortest_digits(fabs(d), &dg);
  const char *s = dg.s;
  int k = dg.k, n = dg.n;
  char *p = out;
  if (d < 0) *p++ = '-';
  /* ECMA-262 Number::toString(x), radix 10 */
  if (k <= n && n <= 21) {
    memcpy(p, s, (size_t)k);
    p += k;
    memset(p, '0', (size_t)(n - k));
    p += n - k;
  } else if (0 < n && n <= 21) {
    memcpy(p, s, (size_t)n);
    p += n;
    *p++ = '.';
    memcpy(p, s + n, (size_t)(k - n));
    p += k - n;
  } else if (-6 < n && n <= 0) {
    *p++ = '0';
    *p++ = '.';
    memset(p, '0', (size_t)(-n));
    p += -n;
    memcpy(p, s, (size_t)k);
    p += k;
  } else {
    int e = n - 1;
    *p++ = s[0];
    if (k > 1) {
      *p++ = '.';
      memcpy(p, s + 1, (size_t)(k - 1));
      p += k - 1;
    }
    *p++ = 'e';
    *p++ = e < 0 ? '-' : '+';
    p += snprintf(p, 8, "%d", e < 0 ? -e : e);
  }
  *p = '\0';
  return (int)(p - out);
}

/* ---- DynamoDB's N texts ----------------------------------------------------------------- */

int ddbs_number_text_ok(const char *t, size_t len) {
  size_t i = 0, int_digits = 0, frac_digits = 0;
  if (i < len && (t[i] == '-' || t[i] == '+')) i++;
  while (i < len && t[i] >= '0' && t[i] <= '9') i++, int_digits++;
  if (i < len && t[i] == '.') {
    i++;
    while (i < len && t[i] >= '0' && t[i] <= '9') i++, frac_digits++;
  }
  if (int_digits + frac_digits == 0) return 0;
  if (i < len && (t[i] == 'e' || t[i] == 'E')) {
    size_t exp_digits = 0;
    i++;
    if (i < len && (t[i] == '-' || t[i] == '+')) i++;
    while (i < len && t[i] >= '0' && t[i] <= '9') i++, exp_digits++;
    if (!exp_digits) return 0;
  }
  return i == len;
}

int ddbs_parse_number_text(const char *t, size_t len, double *out) {
  char small[64] = ""; /* (zeroed only to quiet gcc -O2 -Wmaybe-uninitialized) */
  char *digits = small;
  size_t n = 0, i = 0;
  long frac = 0, exp10 = 0;
  int neg = 0, rc = -1;
  if (len == 0 || !ddbs_number_text_ok(t, len)) return -1;
  if (len > sizeof small) {
    digits = malloc(len);
    if (!digits) return -1;
  }
  if (t[i] == '-' || t[i] == '+') neg = t[i++] == '-';
  for (int after_point = 0; i < len && t[i] != 'e' && t[i] != 'E'; i++) {
    if (t[i] == '.') {
      after_point = 1;
      continue;
    }
    digits[n++] = t[i];
    if (after_point) frac++;
  }
  if (i < len) { /* exponent; clamped far beyond any double's range */
    int eneg = 0;
    i++;
    if (t[i] == '-' || t[i] == '+') eneg = t[i++] == '-';
    for (; i < len; i++)
      if (exp10 < 100000000L) exp10 = exp10 * 10 + (t[i] - '0');
    if (eneg) exp10 = -exp10;
  }
  if (frac > 100000000L) frac = 100000000L;
  double v;
  if (decimal_to_double(neg, digits, n, exp10 - frac, &v) != 0) goto cleanup;
  if (!isfinite(v)) goto cleanup; /* overflow; underflow to 0 is what Number() does too */
  *out = v;
  rc = 0;
cleanup:
  if (digits != small) free(digits);
  return rc;
}

/* Significant digits of a number text (leading and trailing zeros of the mantissa trimmed). */
static size_t significant_digits(const char *t, size_t len) {
  size_t first = 0, last = 0, pos = 0;
  int seen = 0;
  for (size_t i = 0; i < len && t[i] != 'e' && t[i] != 'E'; i++) {
    if (t[i] < '0' || t[i] > '9') continue;
    pos++;
    if (t[i] != '0') {
      if (!seen) first = pos;
      last = pos;
      seen = 1;
    }
  }
  return seen ? last - first + 1 : 0;
}

size_t ddbs_number_text_size(const char *t, size_t len) {
  return (significant_digits(t, len) + 1) / 2 + 1;
}
/* ---- JSON number tokens ----------------------------------------------------------------- */

size_t ddbs_json_number_len(const unsigned char *p, size_t avail) {
  size_t i = 0;
  if (i < avail && p[i] == '-') i++;
  if (i >= avail) return 0;
  if (p[i] == '0') {
    i++;
  } else if (p[i] >= '1' && p[i] <= '9') {
    while (i < avail && p[i] >= '0' && p[i] <= '9') i++;
  } else {
    return 0;
  }
  if (i < avail && p[i] == '.') {
    size_t d = ++i;
    while (i < avail && p[i] >= '0' && p[i] <= '9') i++;
    if (i == d) return 0;
  }
  if (i < avail && (p[i] == 'e' || p[i] == 'E')) {
    i++;
    if (i < avail && (p[i] == '+' || p[i] == '-')) i++;
    size_t d = i;
    while (i < avail && p[i] >= '0' && p[i] <= '9') i++;
    if (i == d) return 0;
  }
  return i;
}

/* jansson reads an integer token with strtoll (ERANGE: "too big integer") and anything else, or
 * every number under JSON_DECODE_INT_AS_REAL, with strtod ("real number overflow" when the result
 * is infinite). Both checks are done here without calling either in the common cases. */
int ddbs_json_number_ok(const char *t, size_t len, int int_as_real) {
  static const char llong_max[] = "9223372036854775807"; /* and ...808 for the negative side */
  size_t i = 0, int_digits = 0;
  int neg = len > 0 && t[0] == '-';
  if (neg) i++;
  size_t first = i;
  while (i < len && t[i] >= '0' && t[i] <= '9') i++, int_digits++;
  if (i == len && !int_as_real) { /* an integer token: it must fit a long long */
    if (int_digits < 19) return 1;
    if (int_digits > 19) return 0;
    int c = memcmp(t + first, llong_max, 18);
    if (c != 0) return c < 0;
    return t[first + 18] <= (neg ? '8' : '7');
  }
  /* a double: |x| < 10^(int_digits + exponent) (a "0." integer part counts as no digits), so
   * below 1e308 < DBL_MAX it cannot overflow; only near the top does strtod have to decide */
  if (int_digits == 1 && t[first] == '0') int_digits = 0;
  long e = 0;
  int eneg = 0;
  while (i < len && t[i] != 'e' && t[i] != 'E') i++;
  if (i < len) {
    i++;
    if (i < len && (t[i] == '+' || t[i] == '-')) eneg = t[i++] == '-';
    for (; i < len; i++)
      if (e < 100000) e = e * 10 + (t[i] - '0');
  }
  if ((long)int_digits + (eneg ? -e : e) <= 308) return 1;
  double v;
  return ddbs_parse_number_text(t, len, &v) == 0; /* (-1 also for a text over 64 bytes and no memory) */
}

/* ---- canonical texts ----------------------------------------------------------------------- */

#if defined(__SIZEOF_INT128__)
typedef unsigned __int128 u128;

static const uint64_t pow5[28] = {
    1ull, 5ull, 25ull, 125ull, 625ull, 3125ull, 15625ull, 78125ull, 390625ull, 1953125ull,
    9765625ull, 48828125ull, 244140625ull, 1220703125ull, 6103515625ull, 30517578125ull,
    152587890625ull, 762939453125ull, 3814697265625ull, 19073486328125ull, 95367431640625ull,
    476837158203125ull, 2384185791015625ull, 11920928955078125ull, 59604644775390625ull,
    298023223876953125ull, 1490116119384765625ull, 7450580596923828125ull};

/* The sign of P * 10^q - Q * 2^f, exactly; 2 when the operands do not fit 128 bits (unknown). */
static int cmp_dec_bin(uint64_t P, int q, uint64_t Q, int f) {
  if (q > 27 || q < -27) return 2;
  u128 L = P, R = Q;
  if (q >= 0) L *= pow5[q];
  else R *= pow5[-q];
  int s = q - f; /* compare L * 2^s with R */
  if (s > 0) {
    if (s >= 128 || (L >> (128 - s)) != 0) return 2;
    L <<= s;
  } else if (s < 0) {
    s = -s;
    if (s >= 128 || (R >> (128 - s)) != 0) return 2;
    R <<= s;
  }
  return L < R ? -1 : L > R ? 1 : 0;
}

/* m (16 or 17 digits, the last one nonzero) * 10^q > 0: 1 when ddbs_format_double() prints
 * exactly these digits for the double nearest to it, 0 when not (or when not sure). That holds
 * when (a) the decimal lies strictly inside the double's rounding interval, (b) it is strictly
 * the closest decimal of its length to the double (so %.{k-1}e prints it), and (c) the decimals
 * of one digit fewer on either side of it lie strictly outside the interval (so no shorter text
 * reads back). All in exact integer arithmetic. */
static int shortest_16_17(uint64_t m, int q) {
  static const double p10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  double d;
  if (q > 27 || q < -27) return 0;
  /* a first guess, within a few ulps (the powers of ten up to 1e22 are exact doubles) */
  if (q > 22) d = (double)m * 1e22 * p10[q - 22];
  else if (q >= 0) d = (double)m * p10[q];
  else if (q >= -22) d = (double)m / p10[-q];
  else d = (double)m / 1e22 / p10[-q - 22];
  for (int tries = 0; tries < 6; tries++) {
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    int be = (int)(bits >> 52);
    if (be == 0 || be >= 0x7FF) return 0; /* subnormal, or out of range: not here */
    uint64_t M = (bits & 0xFFFFFFFFFFFFFull) | (1ull << 52);
    int E = be - 1075, lopsided = M == (1ull << 52) && be > 1;
    /* interval: lo = (2M-1)*2^(E-1) (or (4M-1)*2^(E-2) at a power of two), hi = (2M+1)*2^(E-1);
     * a decimal exactly on a bound reads back as the neighbour with the even significand */
    int c_hi = cmp_dec_bin(m, q, 2 * M + 1, E - 1);
    int c_lo = lopsided ? cmp_dec_bin(m, q, 4 * M - 1, E - 2) : cmp_dec_bin(m, q, 2 * M - 1, E - 1);
    if (c_hi == 2 || c_lo == 2) return 0;
    int odd = (int)(M & 1);
    if (c_hi > 0 || (c_hi == 0 && odd) || c_lo < 0 || (c_lo == 0 && odd)) {
      bits += c_hi >= 0 ? 1 : (uint64_t)-1; /* the neighbour above or below (d > 0: bits +- 1) */
      memcpy(&d, &bits, sizeof d);
      continue;
    }
    /* (b): (2m-1)*10^q < 2d < (2m+1)*10^q, with 2d = M*2^(E+1); at a tie printf rounds to the
     * even last digit */
    int even_m = (m & 1) == 0;
    int b_lo = cmp_dec_bin(2 * m - 1, q, M, E + 1), b_hi = cmp_dec_bin(2 * m + 1, q, M, E + 1);
    if (b_lo == 2 || b_hi == 2 || !(b_lo < 0 || (b_lo == 0 && even_m)) || !(b_hi > 0 || (b_hi == 0 && even_m)))
      return 0;
    /* (c): outside, or on a bound that rounds away (an odd significand's) */
    uint64_t m1 = m / 10;
    int below = lopsided ? cmp_dec_bin(m1, q + 1, 4 * M - 1, E - 2) : cmp_dec_bin(m1, q + 1, 2 * M - 1, E - 1);
    int above = cmp_dec_bin(m1 + 1, q + 1, 2 * M + 1, E - 1);
    if (below == 2 || above == 2) return 0;
    return (below < 0 || (below == 0 && odd)) && (above > 0 || (above == 0 && odd));
  }
  return 0;
}
#else
static int shortest_16_17(uint64_t m, int q) {
  (void)m, (void)q;
  return 0; /* no 128-bit integers: not known cheaply (callers respell) */
}
#endif

/* Is t[0..len) exactly what ddbs_format_double() prints for the double it denotes? Those texts:
 * "0"; otherwise -? then either plain notation (no leading zeros, no trailing fractional zeros)
 * for 1e-7 <= |x| < 1e21, or d[.ddd]e[+-]X otherwise; with the shortest digits that read back.
 * Up to 15 significant digits are always the shortest (DBL_DIG: no two such decimals share a
 * double, in the normal range); 16 and 17 are checked exactly; more never are. One pass. If it
 * is, stores the decimal exponent n (|x| = 0.d1d2...dk * 10^n; 0 for zero) and the number of
 * significant digits k (0 for zero). */
int ddbs_number_canonical(const char *t, size_t len, int *n_out, int *k_out) {
  static const uint64_t p10u[17] = {1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull,
                                    10000000ull, 100000000ull, 1000000000ull, 10000000000ull,
                                    100000000000ull, 1000000000000ull, 10000000000000ull,
                                    100000000000000ull, 1000000000000000ull, 10000000000000000ull};
  size_t i = 0;
  int int_digits = 0, first_nz = -1, pos = 0, k = 0, zeros = 0;
  uint64_t m = 0; /* the digits from the first nonzero one to the last nonzero one */
  if (i < len && t[i] == '-') i++;
  if (i >= len || t[i] < '0' || t[i] > '9') return 0;
  if (t[i] == '0' && i + 1 < len && t[i + 1] >= '0' && t[i + 1] <= '9') return 0; /* leading zero */
  for (int frac = 0;; frac = 1) {
    size_t d = i;
    for (; i < len && t[i] >= '0' && t[i] <= '9'; i++, pos++) {
      if (t[i] == '0') {
        zeros += first_nz >= 0;
        continue;
      }
      if (first_nz < 0) first_nz = pos;
      if (k + zeros >= 17) return 0; /* more than 17 significant digits */
      m = m * p10u[zeros] * 10 + (uint64_t)(t[i] - '0');
      k += zeros + 1;
      zeros = 0;
    }
    if (!frac) {
      int_digits = pos;
      if (i < len && t[i] == '.') {
        i++;
        continue;
      }
    } else if (i == d || t[i - 1] == '0') {
      return 0; /* no digits after the point, or a trailing zero */
    }
    break;
  }
  long e = 0;
  int has_exp = 0;
  if (i < len) {
    if (t[i] != 'e' || i + 2 >= len || (t[i + 1] != '+' && t[i + 1] != '-') || t[i + 2] == '0')
      return 0;
    int eneg = t[i + 1] == '-';
    has_exp = 1;
    for (i += 2; i < len && t[i] >= '0' && t[i] <= '9'; i++) {
      e = e * 10 + (t[i] - '0');
      if (e > 300) return 0; /* far out: subnormals and the like; callers respell them */
    }
    if (i != len) return 0;
    if (eneg) e = -e;
  }
  if (first_nz < 0) { /* zero: only "0" itself */
    if (n_out) *n_out = 0;
    if (k_out) *k_out = 0;
    return len == 1 && t[0] == '0';
  }
  int n = int_digits - first_nz + (int)e;
  if (has_exp) {
    /* d[.ddd]e[+-]X with X = n - 1, for n > 21 or n <= -6 */
    if (int_digits != 1 || first_nz != 0 || (n > -6 && n <= 21)) return 0;
  } else if (n <= -6 || n > 21) {
    return 0;
  }
  if (n_out) *n_out = n;
  if (k_out) *k_out = k;
  return k <= 15 || shortest_16_17(m, n - k);
}

int ddbs_number_is_canonical(const char *text, size_t len) {
  return text ? ddbs_number_canonical(text, len, NULL, NULL) : 0;
}

