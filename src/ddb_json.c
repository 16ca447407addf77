/* ddb_json.c: session JSON text <-> DynamoDB AttributeValues, the GetItem/PutItem/DeleteItem
 * request bodies, and the GetItem/error response bodies (see ddb_json.h).
 * Owns nothing beyond the jansson values and buffers of a single call; every function frees what
 * it allocated before returning (single exit, goto cleanup), and on failure leaves `out` as it
 * found it. Pure: no I/O, no clock, no globals (never calls json_object_seed). Thread: any.
 *
 * Numbers are printed exactly as JavaScript's Number#toString prints them (shortest round-trip
 * digits; plain notation from 1e-7 up to 1e21; otherwise "1.5e-7" / "1e+21"; -0 prints as "0"),
 * which is also what aws-sdk's DocumentClient puts in "N", so items stay byte-compatible. */
#include "ddb_json.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SESSION_ATTR "session"
#define MAX_READ_DEPTH 64     /* nesting accepted in server answers (DynamoDB itself stops at 32) */
#define MAX_KEY_BYTES 2048    /* DynamoDB's limit on a partition key value */
#define N_MAX_MAGNITUDE 1e126 /* doubles >= this print as >= 1e+126: above 9.99..9E+125 */
#define N_MIN_MAGNITUDE 1e-130 /* doubles < this print as < 1e-130: below DynamoDB's smallest */

/* ---- errors ---------------------------------------------------------------------------- */

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int fail(char *err, size_t errlen, int code, const char *fmt, ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return code;
}

static int fail_nomem(char *err, size_t errlen) {
  return fail(err, errlen, DDBS_E_NOMEM, "out of memory");
}

/* Undoes a partial append: out goes back to start bytes. */
static void truncate_buf(ddbs_buf *out, size_t start) {
  out->len = start;
  if (out->data) out->data[start] = '\0';
}

/* ---- numbers --------------------------------------------------------------------------- */

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

/* Is text[0..len) a decimal number as DynamoDB (or any JSON/JavaScript writer) spells one?
 * [+-]? (digits [. digits*]? | . digits) ([eE] [+-]? digits)? */
static int number_text_ok(const char *t, size_t len) {
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

/* A DynamoDB number text -> double, as JavaScript's Number(text) would read it. 0 or -1 (not a
 * number, out of double range, or no memory). Locale-independent. */
static int parse_number_text(const char *t, size_t len, double *out) {
  char small[64] = ""; /* (zeroed only to quiet gcc -O2 -Wmaybe-uninitialized) */
  char *digits = small;
  size_t n = 0, i = 0;
  long frac = 0, exp10 = 0;
  int neg = 0, rc = -1;
  if (len == 0 || !number_text_ok(t, len)) return -1;
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

/* DynamoDB's size of a number: 1 byte per 2 significant digits, plus 1 (the developer guide's
 * approximation; the exact encoding can take a byte or two more). */
static size_t number_text_size(const char *t, size_t len) {
  return (significant_digits(t, len) + 1) / 2 + 1;
}

/* ---- strings --------------------------------------------------------------------------- */

/* Strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF); NUL allowed. */
static int utf8_valid(const unsigned char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    unsigned c = s[i];
    size_t n;
    unsigned cp;
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 1, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3, cp = c & 0x07;
    } else {
      return 0;
    }
    if (len - i - 1 < n) return 0;
    for (size_t j = 1; j <= n; j++) {
      if ((s[i + j] & 0xC0) != 0x80) return 0;
      cp = (cp << 6) | (s[i + j] & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return 0;
    i += n + 1;
  }
  return 1;
}

/* Appends s as a JSON string literal, escaped as JSON.stringify does. 0 or -1 (no memory). */
static int write_string(ddbs_buf *out, const char *s, size_t len) {
  static const char hex[] = "0123456789abcdef";
  if (ddbs_buf_reserve(out, len + 2) != 0) return -1;
  if (ddbs_buf_append_char(out, '"') != 0) return -1;
  size_t run = 0; /* start of the pending run of bytes that need no escape */
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    char esc[6] = {'\\', 0, 0, 0, 0, 0};
    size_t elen = 2;
    switch (c) {
      case '"': esc[1] = '"'; break;
      case '\\': esc[1] = '\\'; break;
      case '\b': esc[1] = 'b'; break;
      case '\f': esc[1] = 'f'; break;
      case '\n': esc[1] = 'n'; break;
      case '\r': esc[1] = 'r'; break;
      case '\t': esc[1] = 't'; break;
      default:
        esc[1] = 'u', esc[2] = '0', esc[3] = '0', esc[4] = hex[c >> 4], esc[5] = hex[c & 15];
        elen = 6;
    }
    if (ddbs_buf_append(out, s + run, i - run) != 0 || ddbs_buf_append(out, esc, elen) != 0)
      return -1;
    run = i + 1;
  }
  if (ddbs_buf_append(out, s + run, len - run) != 0) return -1;
  return ddbs_buf_append_char(out, '"');
}

/* Copies src (len bytes) into dst (size bytes), NUL-terminated, cut at a UTF-8 boundary. */
static void copy_truncated(char *dst, size_t size, const char *src, size_t len) {
  if (!dst || size == 0) return;
  if (len >= size) {
    len = size - 1;
    while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80) len--;
  }
  memcpy(dst, src, len);
  dst[len] = '\0';
}

/* ---- session value -> AttributeValue --------------------------------------------------- */

static int new_tagged(const char *tag, json_t *v, json_t **out) {
  json_t *o = json_object();
  if (!o || json_object_set_new(o, tag, v) != 0) { /* set_new consumes v even on failure */
    if (!o) json_decref(v);
    json_decref(o);
    return -1;
  }
  *out = o;
  return 0;
}

/* A session number -> its N text (len in *len); DDBS_E_INPUT if DynamoDB cannot store it. */
static int check_number(double v, char text[32], int *len, char *err, size_t errlen) {
  *len = ddbs_format_double(v, text);
  if (*len < 0) return fail(err, errlen, DDBS_E_INPUT, "session holds a non-finite number");
  double a = fabs(v);
  if (a >= N_MAX_MAGNITUDE || (a != 0 && a < N_MIN_MAGNITUDE))
    return fail(err, errlen, DDBS_E_INPUT,
                "session holds the number %s, which DynamoDB cannot store (magnitudes from 1E-130 "
                "to 9.9999999999999999999999999999999999999E+125, or 0)",
                text);
  return 0;
}

static int number_attr(double v, json_t **out, char *err, size_t errlen) {
  char text[32];
  int len;
  int rc = check_number(v, text, &len, err, errlen);
  if (rc != 0) return rc;
  if (new_tagged("N", json_stringn_nocheck(text, (size_t)len), out) != 0)
    return fail_nomem(err, errlen);
  return 0;
}

/* depth: the nesting level a container at this position would have (the session itself is 1). */
static int value_to_attr(const json_t *v, int depth, json_t **out, char *err, size_t errlen) {
  json_t *inner = NULL, *child = NULL;
  int rc = 0;
  *out = NULL;
  switch (json_typeof(v)) {
    case JSON_OBJECT: {
      if (depth > DDBS_MAX_DEPTH) {
        rc = fail(err, errlen, DDBS_E_INPUT,
                  "session nests deeper than %d levels (DynamoDB's limit)", DDBS_MAX_DEPTH);
        goto cleanup;
      }
      inner = json_object();
      if (!inner) goto nomem;
      const char *key;
      size_t key_len;
      json_t *member;
      json_t *obj = (json_t *)v; /* jansson's iteration API is not const-qualified */
      json_object_keylen_foreach(obj, key, key_len, member) {
        rc = value_to_attr(member, depth + 1, &child, err, errlen);
        if (rc != 0) goto cleanup;
        if (json_object_setn_new_nocheck(inner, key, key_len, child) != 0) {
          child = NULL;
          goto nomem;
        }
        child = NULL;
      }
      if (new_tagged("M", inner, out) != 0) {
        inner = NULL;
        goto nomem;
      }
      inner = NULL;
      break;
    }
    case JSON_ARRAY: {
      if (depth > DDBS_MAX_DEPTH) {
        rc = fail(err, errlen, DDBS_E_INPUT,
                  "session nests deeper than %d levels (DynamoDB's limit)", DDBS_MAX_DEPTH);
        goto cleanup;
      }
      inner = json_array();
      if (!inner) goto nomem;
      size_t i;
      json_t *member;
      json_array_foreach(v, i, member) {
        rc = value_to_attr(member, depth + 1, &child, err, errlen);
        if (rc != 0) goto cleanup;
        if (json_array_append_new(inner, child) != 0) {
          child = NULL;
          goto nomem;
        }
        child = NULL;
      }
      if (new_tagged("L", inner, out) != 0) {
        inner = NULL;
        goto nomem;
      }
      inner = NULL;
      break;
    }
    case JSON_STRING:
      if (new_tagged("S", json_stringn_nocheck(json_string_value(v), json_string_length(v)),
                     out) != 0)
        goto nomem;
      break;
    case JSON_INTEGER: /* as JavaScript would hold it: a double */
      rc = number_attr((double)json_integer_value(v), out, err, errlen);
      break;
    case JSON_REAL: rc = number_attr(json_real_value(v), out, err, errlen); break;
    case JSON_TRUE:
    case JSON_FALSE:
      if (new_tagged("BOOL", json_boolean(json_is_true(v)), out) != 0) goto nomem;
      break;
    case JSON_NULL:
      if (new_tagged("NULL", json_true(), out) != 0) goto nomem;
      break;
    default: rc = fail(err, errlen, DDBS_E_INPUT, "session holds a value of unknown type"); break;
  }
  goto cleanup;
nomem:
  rc = fail_nomem(err, errlen);
cleanup:
  json_decref(child);
  json_decref(inner);
  return rc;
}

json_t *ddbs_value_to_attr(const json_t *value, char *err, size_t errlen) {
  json_t *attr = NULL;
  if (!value) {
    fail(err, errlen, DDBS_E_INPUT, "no session value");
    return NULL;
  }
  if (value_to_attr(value, 1, &attr, err, errlen) != 0) return NULL;
  return attr;
}

/* Session JSON text -> a new jansson value; returns 0 or a DDBS_E_* code. Numbers all become reals
 * (JSON_DECODE_INT_AS_REAL: 2^64 and beyond are fine, as in JavaScript); NUL in strings is kept. */
static int load_session(const char *text, size_t len, json_t **out, char *err, size_t errlen) {
  json_error_t jerr;
  *out = NULL;
  if (!text) return fail(err, errlen, DDBS_E_INPUT, "no session JSON");
  *out = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &jerr);
  if (!*out)
    return fail(err, errlen,
                json_error_code(&jerr) == json_error_out_of_memory ? DDBS_E_NOMEM : DDBS_E_INPUT,
                "session is not valid JSON: %s (line %d, column %d)", jerr.text, jerr.line,
                jerr.column);
  return 0;
}

json_t *ddbs_json_text_to_attr(const char *text, size_t len, char *err, size_t errlen) {
  json_t *value = NULL, *attr = NULL;
  if (load_session(text, len, &value, err, errlen) == 0)
    value_to_attr(value, 1, &attr, err, errlen);
  json_decref(value);
  return attr;
}

/* ---- AttributeValue -> JSON text ------------------------------------------------------- */

static int write_attr(const json_t *attr, int depth, ddbs_buf *out, char *err, size_t errlen);

static int write_number(const json_t *n, ddbs_buf *out, char *err, size_t errlen) {
  double v;
  char text[32];
  if (!json_is_string(n))
    return fail(err, errlen, DDBS_E_RESPONSE, "a number attribute value (N) is not a string");
  if (parse_number_text(json_string_value(n), json_string_length(n), &v) != 0)
    return fail(err, errlen, DDBS_E_RESPONSE,
                "a number attribute value (N) is not a number: \"%.40s\"", json_string_value(n));
  int len = ddbs_format_double(v, text);
  if (len < 0 || ddbs_buf_append(out, text, (size_t)len) != 0) return fail_nomem(err, errlen);
  return 0;
}

/* Writes the members of an array under tag (SS, NS, BS, or L) as a JSON array. */
static int write_list(const char *tag, const json_t *arr, int depth, ddbs_buf *out, char *err,
                      size_t errlen) {
  size_t i;
  json_t *member;
  if (!json_is_array(arr))
    return fail(err, errlen, DDBS_E_RESPONSE, "a %s attribute value is not an array", tag);
  if (ddbs_buf_append_char(out, '[') != 0) return fail_nomem(err, errlen);
  json_array_foreach(arr, i, member) {
    int rc = 0;
    if (i > 0 && ddbs_buf_append_char(out, ',') != 0) return fail_nomem(err, errlen);
    if (tag[0] == 'L') {
      rc = write_attr(member, depth + 1, out, err, errlen);
    } else if (tag[0] == 'N') {
      rc = write_number(member, out, err, errlen);
    } else if (!json_is_string(member)) {
      rc = fail(err, errlen, DDBS_E_RESPONSE, "a %s attribute value holds a non-string", tag);
    } else if (write_string(out, json_string_value(member), json_string_length(member)) != 0) {
      rc = fail_nomem(err, errlen);
    }
    if (rc != 0) return rc;
  }
  if (ddbs_buf_append_char(out, ']') != 0) return fail_nomem(err, errlen);
  return 0;
}

/* Writes the members of an object {name: AttributeValue} as a JSON object. */
static int write_map(const json_t *map, int depth, ddbs_buf *out, char *err, size_t errlen) {
  const char *key;
  size_t key_len;
  json_t *member;
  int first = 1;
  json_t *obj = (json_t *)map; /* jansson's iteration API is not const-qualified */
  if (ddbs_buf_append_char(out, '{') != 0) return fail_nomem(err, errlen);
  json_object_keylen_foreach(obj, key, key_len, member) {
    if ((!first && ddbs_buf_append_char(out, ',') != 0) || write_string(out, key, key_len) != 0 ||
        ddbs_buf_append_char(out, ':') != 0)
      return fail_nomem(err, errlen);
    first = 0;
    int rc = write_attr(member, depth + 1, out, err, errlen);
    if (rc != 0) return rc;
  }
  if (ddbs_buf_append_char(out, '}') != 0) return fail_nomem(err, errlen);
  return 0;
}

/* depth: the nesting level of attr (a top-level attribute is 1). */
static int write_attr(const json_t *attr, int depth, ddbs_buf *out, char *err, size_t errlen) {
  if (depth > MAX_READ_DEPTH)
    return fail(err, errlen, DDBS_E_RESPONSE, "attribute values nest deeper than %d levels",
                MAX_READ_DEPTH);
  if (!json_is_object(attr) || json_object_size(attr) != 1)
    return fail(err, errlen, DDBS_E_RESPONSE,
                "an attribute value is not an object with exactly one type tag");
  void *it = json_object_iter((json_t *)attr);
  const char *tag = json_object_iter_key(it);
  const json_t *v = json_object_iter_value(it);
  if (strcmp(tag, "S") == 0 || strcmp(tag, "B") == 0) {
    if (!json_is_string(v))
      return fail(err, errlen, DDBS_E_RESPONSE, "a %s attribute value is not a string", tag);
    if (write_string(out, json_string_value(v), json_string_length(v)) != 0)
      return fail_nomem(err, errlen);
    return 0;
  }
  if (strcmp(tag, "N") == 0) return write_number(v, out, err, errlen);
  if (strcmp(tag, "BOOL") == 0) {
    if (!json_is_boolean(v))
      return fail(err, errlen, DDBS_E_RESPONSE, "a BOOL attribute value is not true or false");
    if (ddbs_buf_append_str(out, json_is_true(v) ? "true" : "false") != 0)
      return fail_nomem(err, errlen);
    return 0;
  }
  if (strcmp(tag, "NULL") == 0) {
    if (!json_is_true(v))
      return fail(err, errlen, DDBS_E_RESPONSE, "a NULL attribute value is not true");
    if (ddbs_buf_append_str(out, "null") != 0) return fail_nomem(err, errlen);
    return 0;
  }
  if (strcmp(tag, "M") == 0) {
    if (!json_is_object(v))
      return fail(err, errlen, DDBS_E_RESPONSE, "an M attribute value is not an object");
    return write_map(v, depth, out, err, errlen);
  }
  if (strcmp(tag, "L") == 0 || strcmp(tag, "SS") == 0 || strcmp(tag, "NS") == 0 ||
      strcmp(tag, "BS") == 0)
    return write_list(tag, v, depth, out, err, errlen);
  return fail(err, errlen, DDBS_E_RESPONSE, "unknown attribute type tag \"%.16s\"", tag);
}

int ddbs_attr_to_json_text(const json_t *attr, ddbs_buf *out, char *err, size_t errlen) {
  size_t start = out->len;
  int rc = attr ? write_attr(attr, 1, out, err, errlen)
                : fail(err, errlen, DDBS_E_RESPONSE, "no attribute value");
  if (rc != 0) truncate_buf(out, start);
  return rc;
}

/* ---- item size ------------------------------------------------------------------------- */

static size_t base64_decoded_len(const char *s, size_t len) {
  size_t pad = 0;
  while (pad < 2 && len > pad && s[len - 1 - pad] == '=') pad++;
  return (len - pad) / 4 * 3 + ((len - pad) % 4 * 3) / 4;
}

static size_t number_size(const json_t *n) {
  if (!json_is_string(n)) return 0;
  return number_text_size(json_string_value(n), json_string_length(n));
}

static size_t value_size(const json_t *attr) {
  size_t size = 0, i;
  const char *key;
  size_t key_len;
  json_t *member;
  if (!json_is_object(attr) || json_object_size(attr) != 1) return 0;
  void *it = json_object_iter((json_t *)attr);
  const char *tag = json_object_iter_key(it);
  json_t *v = json_object_iter_value(it);
  if (strcmp(tag, "S") == 0) return json_string_length(v);
  if (strcmp(tag, "N") == 0) return number_size(v);
  if (strcmp(tag, "B") == 0)
    return json_is_string(v) ? base64_decoded_len(json_string_value(v), json_string_length(v)) : 0;
  if (strcmp(tag, "BOOL") == 0 || strcmp(tag, "NULL") == 0) return 1;
  if (strcmp(tag, "M") == 0) {
    size = 3;
    json_object_keylen_foreach(v, key, key_len, member) size += 1 + key_len + value_size(member);
  } else if (strcmp(tag, "L") == 0) {
    size = 3;
    json_array_foreach(v, i, member) size += 1 + value_size(member);
  } else if (strcmp(tag, "SS") == 0) {
    json_array_foreach(v, i, member) size += json_string_length(member);
  } else if (strcmp(tag, "NS") == 0) {
    json_array_foreach(v, i, member) size += number_size(member);
  } else if (strcmp(tag, "BS") == 0) {
    json_array_foreach(v, i, member) {
      if (json_is_string(member))
        size += base64_decoded_len(json_string_value(member), json_string_length(member));
    }
  }
  return size;
}

size_t ddbs_item_size(const json_t *item) {
  size_t size = 0;
  const char *key;
  size_t key_len;
  json_t *member;
  json_t *obj = (json_t *)item; /* jansson's iteration API is not const-qualified */
  if (!json_is_object(item)) return 0;
  json_object_keylen_foreach(obj, key, key_len, member) size += key_len + value_size(member);
  return size;
}

/* ---- request bodies -------------------------------------------------------------------- */

/* The PutItem path writes the AttributeValue text straight from the decoded session (no
 * intermediate AttributeValue tree, no second serialisation) and adds up the item size on the way;
 * it gives the same text as json_dumps(ddbs_value_to_attr()) up to string-escape spelling (tests
 * check the two agree), and the same size as ddbs_item_size(). */

#define APPEND(lit) (ddbs_buf_append(out, lit, sizeof(lit) - 1) != 0)

/* depth: the nesting level a container at this position would have (the session itself is 1). */
static int write_value_attr(const json_t *v, int depth, ddbs_buf *out, size_t *size, char *err,
                            size_t errlen) {
  int rc;
  switch (json_typeof(v)) {
    case JSON_OBJECT:
    case JSON_ARRAY: {
      int is_obj = json_is_object(v);
      if (depth > DDBS_MAX_DEPTH)
        return fail(err, errlen, DDBS_E_INPUT,
                    "session nests deeper than %d levels (DynamoDB's limit)", DDBS_MAX_DEPTH);
      if (is_obj ? APPEND("{\"M\":{") : APPEND("{\"L\":[")) goto nomem;
      *size += 3;
      if (is_obj) {
        const char *key;
        size_t key_len;
        json_t *member;
        int first = 1;
        json_t *obj = (json_t *)v; /* jansson's iteration API is not const-qualified */
        json_object_keylen_foreach(obj, key, key_len, member) {
          if ((!first && ddbs_buf_append_char(out, ',') != 0) ||
              write_string(out, key, key_len) != 0 || ddbs_buf_append_char(out, ':') != 0)
            goto nomem;
          first = 0;
          *size += 1 + key_len;
          rc = write_value_attr(member, depth + 1, out, size, err, errlen);
          if (rc != 0) return rc;
        }
      } else {
        size_t i;
        json_t *member;
        json_array_foreach(v, i, member) {
          if (i > 0 && ddbs_buf_append_char(out, ',') != 0) goto nomem;
          *size += 1;
          rc = write_value_attr(member, depth + 1, out, size, err, errlen);
          if (rc != 0) return rc;
        }
      }
      if (is_obj ? APPEND("}}") : APPEND("]}")) goto nomem;
      return 0;
    }
    case JSON_STRING:
      if (APPEND("{\"S\":") ||
          write_string(out, json_string_value(v), json_string_length(v)) != 0 || APPEND("}"))
        goto nomem;
      *size += json_string_length(v);
      return 0;
    case JSON_INTEGER:
    case JSON_REAL: {
      char text[32];
      double d = json_is_real(v) ? json_real_value(v) : (double)json_integer_value(v);
      int len;
      rc = check_number(d, text, &len, err, errlen);
      if (rc != 0) return rc;
      if (APPEND("{\"N\":\"") || ddbs_buf_append(out, text, (size_t)len) != 0 || APPEND("\"}"))
        goto nomem;
      *size += number_text_size(text, (size_t)len);
      return 0;
    }
    case JSON_TRUE:
    case JSON_FALSE:
      if (json_is_true(v) ? APPEND("{\"BOOL\":true}") : APPEND("{\"BOOL\":false}")) goto nomem;
      *size += 1;
      return 0;
    case JSON_NULL:
      if (APPEND("{\"NULL\":true}")) goto nomem;
      *size += 1;
      return 0;
    default: return fail(err, errlen, DDBS_E_INPUT, "session holds a value of unknown type");
  }
nomem:
  return fail_nomem(err, errlen);
}

static int check_name(const char *what, const char *name, char *err, size_t errlen) {
  if (!name || !*name) return fail(err, errlen, DDBS_E_INPUT, "no %s given", what);
  if (!utf8_valid((const unsigned char *)name, strlen(name)))
    return fail(err, errlen, DDBS_E_INPUT, "the %s is not valid UTF-8", what);
  return 0;
}

static int check_key(const char *table, const char *hash_key, const char *key, size_t key_len,
                     char *err, size_t errlen) {
  int rc = check_name("table name", table, err, errlen);
  if (rc == 0) rc = check_name("hash key attribute name", hash_key, err, errlen);
  if (rc != 0) return rc;
  if (!key || key_len == 0) return fail(err, errlen, DDBS_E_INPUT, "the session key is empty");
  if (key_len > MAX_KEY_BYTES)
    return fail(err, errlen, DDBS_E_INPUT,
                "the session key is %zu bytes; DynamoDB's partition key limit is %d bytes", key_len,
                MAX_KEY_BYTES);
  if (!utf8_valid((const unsigned char *)key, key_len))
    return fail(err, errlen, DDBS_E_INPUT, "the session key is not valid UTF-8");
  return 0;
}

/* Appends {"TableName":table,"<field>":{hash_key:{"S":key} -- the caller closes it. */
static int write_body_start(const char *table, const char *field, const char *hash_key,
                            const char *key, size_t key_len, ddbs_buf *out) {
  if (APPEND("{\"TableName\":") || write_string(out, table, strlen(table)) != 0 ||
      ddbs_buf_append_char(out, ',') != 0 || write_string(out, field, strlen(field)) != 0 ||
      APPEND(":{") || write_string(out, hash_key, strlen(hash_key)) != 0 || APPEND(":{\"S\":") ||
      write_string(out, key, key_len) != 0 || APPEND("}"))
    return -1;
  return 0;
}

int ddbs_body_get_item(const char *table, const char *hash_key, const char *key, size_t key_len,
                       int consistent_read, ddbs_buf *out, char *err, size_t errlen) {
  size_t start = out->len;
  int rc = check_key(table, hash_key, key, key_len, err, errlen);
  if (rc != 0) return rc;
  if (write_body_start(table, "Key", hash_key, key, key_len, out) != 0 || APPEND("}") ||
      (consistent_read && APPEND(",\"ConsistentRead\":true")) || APPEND("}")) {
    truncate_buf(out, start);
    return fail_nomem(err, errlen);
  }
  return 0;
}

int ddbs_body_delete_item(const char *table, const char *hash_key, const char *key, size_t key_len,
                          ddbs_buf *out, char *err, size_t errlen) {
  size_t start = out->len;
  int rc = check_key(table, hash_key, key, key_len, err, errlen);
  if (rc != 0) return rc;
  if (write_body_start(table, "Key", hash_key, key, key_len, out) != 0 || APPEND("}}")) {
    truncate_buf(out, start);
    return fail_nomem(err, errlen);
  }
  return 0;
}

int ddbs_body_put_item(const char *table, const char *hash_key, const char *key, size_t key_len,
                       const char *ttl_key, long long expires, const char *session_json,
                       size_t session_len, ddbs_buf *out, char *err, size_t errlen) {
  json_t *session = NULL;
  size_t start = out->len;
  int with_ttl = ttl_key != NULL && expires >= 0;
  int rc = check_key(table, hash_key, key, key_len, err, errlen);
  if (rc != 0) goto cleanup;
  if (strcmp(hash_key, SESSION_ATTR) == 0) {
    rc = fail(err, errlen, DDBS_E_INPUT,
              "the hash key attribute cannot be named \"" SESSION_ATTR "\"");
    goto cleanup;
  }
  if (with_ttl) {
    rc = check_name("ttl attribute name", ttl_key, err, errlen);
    if (rc != 0) goto cleanup;
    if (strcmp(ttl_key, SESSION_ATTR) == 0 || strcmp(ttl_key, hash_key) == 0) {
      rc = fail(err, errlen, DDBS_E_INPUT,
                "the ttl attribute cannot be named \"%.64s\" (the %s attribute's name)", ttl_key,
                strcmp(ttl_key, hash_key) == 0 ? "hash key" : "session");
      goto cleanup;
    }
  }
  rc = load_session(session_json, session_len, &session, err, errlen);
  if (rc != 0) goto cleanup;
  size_t size = strlen(hash_key) + key_len + (sizeof SESSION_ATTR - 1);
  if (write_body_start(table, "Item", hash_key, key, key_len, out) != 0 ||
      APPEND(",\"" SESSION_ATTR "\":"))
    goto nomem;
  rc = write_value_attr(session, 1, out, &size, err, errlen);
  if (rc != 0) goto cleanup;
  if (with_ttl) {
    char n[24];
    int nlen = snprintf(n, sizeof n, "%lld", expires);
    if (ddbs_buf_append_char(out, ',') != 0 || write_string(out, ttl_key, strlen(ttl_key)) != 0 ||
        APPEND(":{\"N\":\"") || ddbs_buf_append(out, n, (size_t)nlen) != 0 || APPEND("\"}"))
      goto nomem;
    size += strlen(ttl_key) + number_text_size(n, (size_t)nlen);
  }
  if (APPEND("}}")) goto nomem;
  if (size > DDBS_MAX_ITEM_SIZE)
    rc = fail(err, errlen, DDBS_E_TOO_LARGE,
              "session item is %zu bytes; DynamoDB's item limit is %d bytes", size,
              DDBS_MAX_ITEM_SIZE);
  goto cleanup;
nomem:
  rc = fail_nomem(err, errlen);
cleanup:
  if (rc != 0) truncate_buf(out, start);
  json_decref(session);
  return rc;
}

#undef APPEND

/* ---- responses ------------------------------------------------------------------------- */

int ddbs_parse_get_item(const char *body, size_t len, const char *ttl_key, long long now_seconds,
                        ddbs_buf *session_out, int *found, char *err, size_t errlen) {
  json_error_t jerr;
  json_t *root = NULL;
  size_t start = session_out->len;
  int rc = 0;
  *found = 0;
  if (!body) return fail(err, errlen, DDBS_E_RESPONSE, "empty GetItem response");
  root = json_loadb(body, len, JSON_ALLOW_NUL, &jerr);
  if (!root) {
    rc = fail(err, errlen,
              json_error_code(&jerr) == json_error_out_of_memory ? DDBS_E_NOMEM : DDBS_E_RESPONSE,
              "GetItem response is not valid JSON: %s", jerr.text);
    goto cleanup;
  }
  if (!json_is_object(root)) {
    rc = fail(err, errlen, DDBS_E_RESPONSE, "GetItem response is not a JSON object");
    goto cleanup;
  }
  json_t *item = json_object_get(root, "Item");
  if (!item) goto cleanup; /* no such session */
  if (!json_is_object(item)) {
    rc = fail(err, errlen, DDBS_E_RESPONSE, "GetItem response's Item is not an object");
    goto cleanup;
  }
  if (ttl_key) {
    json_t *ttl = json_object_get(item, ttl_key);
    if (ttl) {
      if (!json_is_object(ttl) || json_object_size(ttl) != 1) {
        rc = fail(err, errlen, DDBS_E_RESPONSE,
                  "the item's ttl attribute is not an attribute value");
        goto cleanup;
      }
      json_t *n = json_object_get(ttl, "N"); /* any other type: not a ttl, ignored */
      double expires;
      if (n) {
        if (!json_is_string(n) ||
            parse_number_text(json_string_value(n), json_string_length(n), &expires) != 0) {
          rc = fail(err, errlen, DDBS_E_RESPONSE, "the item's ttl attribute is not a number");
          goto cleanup;
        }
        if (expires <= (double)now_seconds) goto cleanup; /* expired; DynamoDB deletes it later */
      }
    }
  }
  json_t *session = json_object_get(item, SESSION_ATTR);
  rc = session ? write_attr(session, 1, session_out, err, errlen)
               : write_map(item, 0, session_out, err, errlen);
  if (rc == 0) *found = 1;
cleanup:
  if (rc != 0) truncate_buf(session_out, start);
  json_decref(root);
  return rc;
}

int ddbs_parse_error(const char *body, size_t len, char *code, size_t code_size, char *message,
                     size_t message_size) {
  json_error_t jerr;
  json_t *root = NULL;
  int rc = DDBS_E_RESPONSE;
  if (code && code_size) code[0] = '\0';
  if (message && message_size) message[0] = '\0';
  if (!body) goto cleanup;
  root = json_loadb(body, len, JSON_ALLOW_NUL, &jerr);
  if (!json_is_object(root)) goto cleanup;
  json_t *type = json_object_get(root, "__type");
  if (!json_is_string(type)) goto cleanup;
  /* As the AWS JSON protocols specify: drop anything from the first ':', then keep what follows
   * the first '#'. "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException" -> the name. */
  const char *t = json_string_value(type);
  size_t tlen = json_string_length(type);
  const char *colon = memchr(t, ':', tlen);
  if (colon) tlen = (size_t)(colon - t);
  const char *hash = memchr(t, '#', tlen);
  if (hash) {
    tlen -= (size_t)(hash + 1 - t);
    t = hash + 1;
  }
  copy_truncated(code, code_size, t, tlen);
  json_t *msg = json_object_get(root, "message");
  if (!json_is_string(msg)) msg = json_object_get(root, "Message");
  if (json_is_string(msg))
    copy_truncated(message, message_size, json_string_value(msg), strlen(json_string_value(msg)));
  rc = 0;
cleanup:
  json_decref(root);
  return rc;
}
