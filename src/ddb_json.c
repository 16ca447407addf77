/* ddb_json.c: session JSON text <-> DynamoDB AttributeValues, the GetItem/PutItem/DeleteItem
 * request bodies, and the GetItem/error response bodies (see ddb_json.h).
 * PutItem bodies and GetItem answers, the per-request work, go through single-pass converters
 * (the "fast paths" at the end of this file) that fall back to the jansson-based reference
 * implementations for anything unusual; ddb_json_ref.h exposes both for the tests and fuzzers.
 * Owns nothing beyond the jansson values and buffers of a single call; every function frees what
 * it allocated before returning (single exit, goto cleanup), and on failure leaves `out` as it
 * found it. Pure: no I/O, no clock, no globals (never calls json_object_seed). Thread: any.
 *
 * Numbers are printed exactly as JavaScript's Number#toString prints them (shortest round-trip
 * digits; plain notation from 1e-7 up to 1e21; otherwise "1.5e-7" / "1e+21"; -0 prints as "0"),
 * which is also what aws-sdk's DocumentClient puts in "N", so items stay byte-compatible. */
#include "ddb_json.h"
#include "ddb_json_ref.h"

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

/* The checks every PutItem makes before looking at the session (the same in both paths). */
static int check_put_args(const char *table, const char *hash_key, const char *key, size_t key_len,
                          const char *ttl_key, int with_ttl, char *err, size_t errlen) {
  int rc = check_key(table, hash_key, key, key_len, err, errlen);
  if (rc != 0) return rc;
  if (strcmp(hash_key, SESSION_ATTR) == 0)
    return fail(err, errlen, DDBS_E_INPUT,
                "the hash key attribute cannot be named \"" SESSION_ATTR "\"");
  if (with_ttl) {
    rc = check_name("ttl attribute name", ttl_key, err, errlen);
    if (rc != 0) return rc;
    if (strcmp(ttl_key, SESSION_ATTR) == 0 || strcmp(ttl_key, hash_key) == 0)
      return fail(err, errlen, DDBS_E_INPUT,
                  "the ttl attribute cannot be named \"%.64s\" (the %s attribute's name)", ttl_key,
                  strcmp(ttl_key, hash_key) == 0 ? "hash key" : "session");
  }
  return 0;
}

/* Appends the ttl attribute (when with_ttl) and closes the body; adds the ttl's size. 0 or -1. */
static int write_put_end(const char *ttl_key, int with_ttl, long long expires, ddbs_buf *out,
                         size_t *size) {
  if (with_ttl) {
    char n[24];
    int nlen = snprintf(n, sizeof n, "%lld", expires);
    if (ddbs_buf_append_char(out, ',') != 0 || write_string(out, ttl_key, strlen(ttl_key)) != 0 ||
        APPEND(":{\"N\":\"") || ddbs_buf_append(out, n, (size_t)nlen) != 0 || APPEND("\"}"))
      return -1;
    *size += strlen(ttl_key) + number_text_size(n, (size_t)nlen);
  }
  return APPEND("}}") ? -1 : 0;
}

static int fail_too_large(size_t size, char *err, size_t errlen) {
  return fail(err, errlen, DDBS_E_TOO_LARGE,
              "session item is %zu bytes; DynamoDB's item limit is %d bytes", size,
              DDBS_MAX_ITEM_SIZE);
}

/* The reference PutItem path: jansson decodes the session, write_value_attr writes it. */
int ddbs_ref_body_put_item(const char *table, const char *hash_key, const char *key, size_t key_len,
                           const char *ttl_key, long long expires, const char *session_json,
                           size_t session_len, ddbs_buf *out, char *err, size_t errlen) {
  json_t *session = NULL;
  size_t start = out->len;
  int with_ttl = ttl_key != NULL && expires >= 0;
  int rc = check_put_args(table, hash_key, key, key_len, ttl_key, with_ttl, err, errlen);
  if (rc != 0) goto cleanup;
  rc = load_session(session_json, session_len, &session, err, errlen);
  if (rc != 0) goto cleanup;
  size_t size = strlen(hash_key) + key_len + (sizeof SESSION_ATTR - 1);
  if (write_body_start(table, "Item", hash_key, key, key_len, out) != 0 ||
      APPEND(",\"" SESSION_ATTR "\":"))
    goto nomem;
  rc = write_value_attr(session, 1, out, &size, err, errlen);
  if (rc != 0) goto cleanup;
  if (write_put_end(ttl_key, with_ttl, expires, out, &size) != 0) goto nomem;
  if (size > DDBS_MAX_ITEM_SIZE) rc = fail_too_large(size, err, errlen);
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

/* The reference GetItem path: jansson decodes the whole answer, write_attr writes the session. */
int ddbs_ref_parse_get_item(const char *body, size_t len, const char *ttl_key, long long now_seconds,
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

/* ---- fast paths ------------------------------------------------------------------------ */

/* ddbs_body_put_item and ddbs_parse_get_item run on the client's worker thread for every request.
 * These single-pass converters read the JSON text once and write the output as they go, copying
 * string tokens and number texts verbatim whenever they already are what the reference writer
 * would print (JSON.stringify's output and DynamoDB's answers always are, or nearly). Whatever they
 * do not handle exactly -- any malformed input, duplicate keys in a session, strings or numbers
 * they would have to respell in a way not implemented here -- makes them decline: the output is
 * rolled back and the caller runs the jansson-based reference, which also writes the error
 * messages. So errors cost two parses; valid input costs one scan. See ddb_json_ref.h. */

#ifdef DDBS_FAST_TRACE /* debugging aid: -DDDBS_FAST_TRACE prints where a fast path declines */
static int trace_declined(int line) {
  fprintf(stderr, "ddb_json.c:%d: fast path declined\n", line);
  return DDBS_FAST_DECLINED;
}
#define DECLINED trace_declined(__LINE__)
#else
#define DECLINED DDBS_FAST_DECLINED
#endif
#define SKIP_MAX_DEPTH 128 /* nesting of values that are only validated (jansson's own limit: 2048) */
#define KEYSET_LINEAR 8    /* keys per object compared linearly before a hash set is used */

typedef struct fast_t {
  const unsigned char *s; /* the input text */
  size_t len, pos;
  ddbs_buf *out;
  ddbs_buf scratch; /* a decoded string, when one has to be respelled (rare) */
  /* PutItem: DynamoDB's size of the session value so far */
  size_t size;
  /* The keys of the open objects, to detect repeats (see keyset_add): 64-bit fingerprints of
   * (object serial, key). The first KEYSET_LINEAR keys of each object sit on a stack and are
   * compared one by one; an object with more moves to an open-addressing set (keys_small first,
   * then malloc'd as it grows). */
  uint64_t serial;
  size_t fp_top;
  uint64_t fp[KEYSET_LINEAR * (MAX_READ_DEPTH + 2)];
  uint64_t *keys;
  size_t keys_cap, keys_n;
  uint64_t keys_small[256];
} fast_t;

/* Appends without NUL-terminating (the caller terminates once at the end). 0 or -1. */
static inline int emit(ddbs_buf *b, const void *p, size_t n) {
  if (b->cap - b->len <= n && ddbs_buf_reserve(b, n) != 0) return -1;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

static inline int emit_char(ddbs_buf *b, char c) {
  if (b->cap - b->len <= 1 && ddbs_buf_reserve(b, 1) != 0) return -1;
  b->data[b->len++] = c;
  return 0;
}

#define EMIT_LIT(f, lit) (emit((f)->out, lit, sizeof(lit) - 1) != 0)

static inline void skip_ws(fast_t *f) {
  while (f->pos < f->len) {
    unsigned char c = f->s[f->pos];
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') break;
    f->pos++;
  }
}

/* The next byte after whitespace, or -1 at the end. */
static inline int peek(fast_t *f) {
  skip_ws(f);
  return f->pos < f->len ? f->s[f->pos] : -1;
}

/* Consumes c (after whitespace) or returns 0. */
static inline int expect(fast_t *f, unsigned char c) {
  if (peek(f) != c) return 0;
  f->pos++;
  return 1;
}

/* Consumes the literal lit if the input continues with it. */
static int take_literal(fast_t *f, const char *lit, size_t n) {
  if (f->len - f->pos < n || memcmp(f->s + f->pos, lit, n) != 0) return 0;
  f->pos += n;
  return 1;
}

/* ---- fast paths: strings --------------------------------------------------------------- */

/* A string token s[start..end) (quotes included) as scan_string found it. */
typedef struct {
  size_t start, end;
  size_t decoded_len; /* UTF-8 bytes of the decoded string */
  int canonical;      /* the token is exactly what write_string() gives for the decoded string */
  int has_escape;     /* holds a backslash */
  int has_nul;        /* the decoded string holds U+0000 */
} str_t;

/* Of 8 bytes, a mask with the high bit set in (at least) the first byte that is '"', '\\', a
 * control character or >= 0x80, and nothing below it; 0 when there is none. (The lowest flag
 * is exact: no borrow reaches a byte from plain bytes below it.) */
static inline uint64_t special8(const unsigned char *p) {
  const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  uint64_t x, q, b;
  memcpy(&x, p, 8);
  q = x ^ (ones * '"');
  b = x ^ (ones * '\\');
  return (((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b) | x) & highs;
}

/* How many plain bytes the mask says precede the first special one (the mask is nonzero). */
static inline size_t plain_prefix(uint64_t mask) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return (size_t)__builtin_ctzll(mask) >> 3;
#else
  (void)mask;
  return 0; /* (then the byte loop finds it) */
#endif
}

static int hex4(const unsigned char *p, size_t avail, unsigned *cp, int *upper) {
  unsigned v = 0;
  if (avail < 4) return 0;
  for (int i = 0; i < 4; i++) {
    unsigned c = p[i], d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10, *upper = 1;
    else return 0;
    v = v << 4 | d;
  }
  *cp = v;
  return 1;
}

/* Length (2..4) of the strict UTF-8 sequence at p (the lead byte is >= 0x80), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t avail) {
  unsigned c = p[0];
  if (c >= 0xC2 && c <= 0xDF) return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (avail < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
    if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] >= 0xA0)) return 0; /* overlong, surrogate */
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (avail < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
      return 0;
    if ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] >= 0x90)) return 0; /* overlong, > U+10FFFF */
    return 4;
  }
  return 0;
}

/* Scans the string token at f->pos (a '"'), validating it as jansson does (escapes, surrogate
 * pairs, strict UTF-8, no raw control characters). 0, or DECLINED. */
static int scan_string(fast_t *f, str_t *st) {
  const unsigned char *s = f->s;
  size_t n = f->len, i = f->pos + 1, shrink = 0; /* shrink: escape bytes beyond what they decode to */
  int canonical = 1, has_escape = 0, has_nul = 0;
  for (;;) {
    while (n - i >= 8) {
      uint64_t m = special8(s + i);
      if (!m) {
        i += 8;
        continue;
      }
      i += plain_prefix(m);
      break;
    }
    if (i >= n) return DECLINED;
    unsigned c = s[i];
    if (c == '"') break;
    if (c >= 0x20 && c < 0x80 && c != '\\') {
      i++;
      continue;
    }
    if (c < 0x20) return DECLINED;
    if (c >= 0x80) {
      size_t k = utf8_seq(s + i, n - i);
      if (!k) return DECLINED;
      i += k;
      continue;
    }
    /* an escape */
    has_escape = 1;
    if (n - i < 2) return DECLINED;
    switch (s[i + 1]) {
      case '"': case '\\': case 'b': case 'f': case 'n': case 'r': case 't':
        i += 2, shrink++;
        continue;
      case '/':
        canonical = 0;
        i += 2, shrink++;
        continue;
      case 'u': {
        unsigned cp, lo;
        int upper = 0;
        if (!hex4(s + i + 2, n - i - 2, &cp, &upper)) return DECLINED;
        i += 6;
        if (cp >= 0xD800 && cp <= 0xDBFF) { /* must be followed by a low surrogate */
          if (n - i < 6 || s[i] != '\\' || s[i + 1] != 'u' || !hex4(s + i + 2, n - i - 2, &lo, &upper) ||
              lo < 0xDC00 || lo > 0xDFFF)
            return DECLINED;
          i += 6, shrink += 12 - 4;
          canonical = 0;
          continue;
        }
        if (cp >= 0xDC00 && cp <= 0xDFFF) return DECLINED;
        if (cp < 0x20) {
          /* written back as \u00xx (lowercase) unless it has a short form */
          if (upper || cp == '\b' || cp == '\f' || cp == '\n' || cp == '\r' || cp == '\t') canonical = 0;
          if (cp == 0) has_nul = 1;
          shrink += 6 - 1;
        } else {
          canonical = 0;
          shrink += 6 - (cp < 0x80 ? 1 : cp < 0x800 ? 2 : 3);
        }
        continue;
      }
      default: return DECLINED;
    }
  }
  st->start = f->pos;
  st->end = i + 1;
  st->decoded_len = i - f->pos - 1 - shrink;
  st->canonical = canonical;
  st->has_escape = has_escape;
  st->has_nul = has_nul;
  f->pos = i + 1;
  return 0;
}

static void put_utf8(ddbs_buf *b, unsigned cp) {
  char u[4];
  size_t n;
  if (cp < 0x80) u[0] = (char)cp, n = 1;
  else if (cp < 0x800) u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
  else if (cp < 0x10000)
    u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)),
    u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
  else
    u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
  memcpy(b->data + b->len, u, n);
  b->len += n;
}

/* Decodes a token scan_string accepted into f->scratch (not NUL-terminated). 0 or -1. */
static int decode_string(fast_t *f, const str_t *st) {
  const unsigned char *s = f->s;
  ddbs_buf *b = &f->scratch;
  b->len = 0;
  if (ddbs_buf_reserve(b, st->decoded_len) != 0) return -1;
  for (size_t i = st->start + 1; i < st->end - 1;) {
    if (s[i] != '\\') {
      b->data[b->len++] = (char)s[i++];
      continue;
    }
    unsigned cp = 0, lo = 0xDC00; /* (set by hex4 on a token scan_string accepted) */
    int upper = 0;
    switch (s[i + 1]) {
      case 'b': cp = '\b'; break;
      case 'f': cp = '\f'; break;
      case 'n': cp = '\n'; break;
      case 'r': cp = '\r'; break;
      case 't': cp = '\t'; break;
      case 'u':
        hex4(s + i + 2, 4, &cp, &upper);
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          hex4(s + i + 8, 4, &lo, &upper);
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          i += 6;
        }
        i += 4;
        break;
      default: cp = s[i + 1]; break; /* " \ / */
    }
    i += 2;
    put_utf8(b, cp);
  }
  return 0;
}

/* Writes a scanned string: the token itself, or the decoded string respelled. 0 or DDBS_E_NOMEM. */
static int emit_string(fast_t *f, const str_t *st) {
  if (st->canonical)
    return emit(f->out, f->s + st->start, st->end - st->start) != 0 ? DDBS_E_NOMEM : 0;
  if (decode_string(f, st) != 0 || write_string(f->out, f->scratch.data, f->scratch.len) != 0)
    return DDBS_E_NOMEM;
  return 0;
}

/* Is the (scanned) key token equal to the C string name? */
static int key_is(fast_t *f, const str_t *st, const char *name, size_t name_len) {
  if (!st->has_escape)
    return st->end - st->start - 2 == name_len && memcmp(f->s + st->start + 1, name, name_len) == 0;
  if (decode_string(f, st) != 0) return -1;
  return f->scratch.len == name_len && memcmp(f->scratch.data, name, name_len) == 0;
}

/* ---- fast paths: numbers --------------------------------------------------------------- */

/* Length of the JSON number token at p (RFC 8259 grammar, as jansson reads it), or 0. */
static size_t scan_json_number(const unsigned char *p, size_t avail) {
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
  return 0; /* no 128-bit integers: the slow path decides */
}
#endif

/* Is t[0..len) exactly what ddbs_format_double() prints for the double it denotes? Those texts:
 * "0"; otherwise -? then either plain notation (no leading zeros, no trailing fractional zeros)
 * for 1e-7 <= |x| < 1e21, or d[.ddd]e[+-]X otherwise; with the shortest digits that read back.
 * Up to 15 significant digits are always the shortest (DBL_DIG: no two such decimals share a
 * double, in the normal range); 16 and 17 are checked exactly; more never are. One pass. If it
 * is, stores the decimal exponent n (|x| = 0.d1d2...dk * 10^n; 0 for zero) and the number of
 * significant digits k (0 for zero). */
static int number_canonical(const char *t, size_t len, int *n_out, int *k_out) {
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
      if (e > 300) return 0; /* far out: subnormals and the like, left to the slow path */
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
  return text ? number_canonical(text, len, NULL, NULL) : 0;
}

/* Writes the JSON number for the N text t[0..len) (as the reference's write_number does). */
static int emit_n_text(fast_t *f, const char *t, size_t len) {
  if (number_canonical(t, len, NULL, NULL))
    return emit(f->out, t, len) != 0 ? DDBS_E_NOMEM : 0;
  double v;
  char text[32];
  if (parse_number_text(t, len, &v) != 0) return DECLINED;
  int n = ddbs_format_double(v, text);
  if (n < 0) return DECLINED;
  return emit(f->out, text, (size_t)n) != 0 ? DDBS_E_NOMEM : 0;
}

/* An N attribute's value: the string token at f->pos, written as a JSON number. */
static int emit_n_string(fast_t *f) {
  str_t st;
  if (scan_string(f, &st) != 0) return DECLINED;
  if (!st.has_escape) return emit_n_text(f, (const char *)f->s + st.start + 1, st.end - st.start - 2);
  if (decode_string(f, &st) != 0) return DDBS_E_NOMEM;
  return emit_n_text(f, f->scratch.data, f->scratch.len);
}

/* The keys seen in one object (one per open object, on the C stack). */
typedef struct {
  uint64_t serial;
  size_t base, count;
} keyset_t;

static void keyset_open(fast_t *f, keyset_t *ks) {
  ks->serial = ++f->serial;
  ks->base = f->fp_top;
  ks->count = 0;
}

static void keyset_close(fast_t *f, const keyset_t *ks) { f->fp_top = ks->base; }

/* Inserts fingerprint h into the hash set; DECLINED if there, -1 out of memory. */
static int keys_insert(fast_t *f, uint64_t h) {
  if (!f->keys) { /* first use */
    memset(f->keys_small, 0, sizeof f->keys_small);
    f->keys = f->keys_small, f->keys_cap = sizeof f->keys_small / sizeof f->keys_small[0];
  }
  if ((f->keys_n + 1) * 2 > f->keys_cap) { /* grow */
    size_t cap = f->keys_cap * 2;
    uint64_t *t = calloc(cap, sizeof *t);
    if (!t) return -1;
    for (size_t i = 0; i < f->keys_cap; i++) {
      if (!f->keys[i]) continue;
      size_t j = (size_t)(f->keys[i] >> 20) & (cap - 1);
      while (t[j]) j = (j + 1) & (cap - 1);
      t[j] = f->keys[i];
    }
    if (f->keys != f->keys_small) free(f->keys);
    f->keys = t, f->keys_cap = cap;
  }
  size_t mask = f->keys_cap - 1, j = (size_t)(h >> 20) & mask;
  for (int probes = 0; f->keys[j]; probes++) {
    /* a repeat, or a long probe run (colliding keys, crafted or not): the reference decides */
    if (f->keys[j] == h || probes > 64) return DECLINED;
    j = (j + 1) & mask;
  }
  f->keys[j] = h;
  f->keys_n++;
  return 0;
}

/* Records the key just written at out[from..] in ks; DECLINED if the object already had it (or,
 * rarely, two fingerprints collide: the reference then decides), -1 out of memory. */
static int keyset_add(fast_t *f, keyset_t *ks, size_t from) {
  const unsigned char *p = (const unsigned char *)f->out->data + from;
  size_t n = f->out->len - from;
  uint64_t h = ks->serial * 0x9E3779B97F4A7C15ull ^ n;
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    h = (h ^ w) * 0xFF51AFD7ED558CCDull;
    h ^= h >> 32;
    p += 8, n -= 8;
  }
  uint64_t w = 0;
  if (n >= 4) { /* the last 4..7 bytes, with two (maybe overlapping) 4-byte loads */
    uint32_t a, b;
    memcpy(&a, p, 4);
    memcpy(&b, p + n - 4, 4);
    w = (uint64_t)a << 32 | b;
  } else if (n > 0) {
    w = (uint64_t)p[0] << 16 | (uint64_t)p[n / 2] << 8 | p[n - 1];
  }
  h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
  h ^= h >> 29;
  if (h == 0) h = 1;
  if (ks->count < KEYSET_LINEAR) {
    uint64_t *fp = f->fp + ks->base;
    for (size_t i = 0; i < ks->count; i++)
      if (fp[i] == h) return DECLINED;
    fp[ks->count++] = h;
    f->fp_top = ks->base + ks->count;
    return 0;
  }
  if (ks->count == KEYSET_LINEAR) { /* move to the hash set */
    for (size_t i = 0; i < KEYSET_LINEAR; i++) {
      int rc = keys_insert(f, f->fp[ks->base + i]);
      if (rc != 0) return rc;
    }
    f->fp_top = ks->base;
  }
  ks->count++;
  return keys_insert(f, h);
}

static void fast_init(fast_t *f, const char *text, size_t len, ddbs_buf *out) {
  f->s = (const unsigned char *)text, f->len = len, f->pos = 0, f->out = out;
  f->scratch = (ddbs_buf)DDBS_BUF_INIT;
  f->size = 0;
  f->serial = 0;
  f->fp_top = 0;
  f->keys = NULL, f->keys_cap = 0, f->keys_n = 0;
}

static void fast_free(fast_t *f) {
  if (f->keys != f->keys_small) free(f->keys);
  ddbs_buf_free(&f->scratch);
}

/* ---- fast paths: validation only ------------------------------------------------------- */

static int scan_key(fast_t *f, str_t *st) {
  if (peek(f) != '"' || scan_string(f, st) != 0 || st->has_nul) return DECLINED; /* jansson: no NUL in keys */
  return expect(f, ':') ? 0 : DECLINED;
}

/* Copies an object's next key and its ':' to the output, recording it in ks (a repeated key is
 * left to the reference). 0, DECLINED or DDBS_E_NOMEM. The converters' map loops share it. */
static inline int copy_key(fast_t *f, keyset_t *ks, str_t *st) {
  size_t key_at = f->out->len;
  int rc;
  if (scan_key(f, st) != 0) return DECLINED;
  if ((rc = emit_string(f, st)) != 0) return rc;
  if ((rc = keyset_add(f, ks, key_at)) != 0) return rc < 0 ? DDBS_E_NOMEM : rc;
  return emit_char(f->out, ':') != 0 ? DDBS_E_NOMEM : 0;
}

/* Validates one JSON value (as jansson's json_loadb without flags but JSON_ALLOW_NUL would). */
static int skip_value(fast_t *f, int depth) {
  str_t st;
  int c = peek(f);
  if (depth > SKIP_MAX_DEPTH) return DECLINED;
  switch (c) {
    case '{':
    case '[': {
      int close = c == '{' ? '}' : ']';
      f->pos++;
      if (peek(f) == close) {
        f->pos++;
        return 0;
      }
      for (;;) {
        if (c == '{' && scan_key(f, &st) != 0) return DECLINED;
        if (skip_value(f, depth + 1) != 0) return DECLINED;
        if (expect(f, ',')) continue;
        return expect(f, (unsigned char)close) ? 0 : DECLINED;
      }
    }
    case '"': return scan_string(f, &st);
    case 't': return take_literal(f, "true", 4) ? 0 : DECLINED;
    case 'f': return take_literal(f, "false", 5) ? 0 : DECLINED;
    case 'n': return take_literal(f, "null", 4) ? 0 : DECLINED;
    default: {
      if (c < 0) return DECLINED;
      const char *t = (const char *)f->s + f->pos;
      size_t n = scan_json_number(f->s + f->pos, f->len - f->pos);
      if (!n) return DECLINED;
      f->pos += n;
      if (!memchr(t, '.', n) && !memchr(t, 'e', n) && !memchr(t, 'E', n)) /* an integer */
        return n - (t[0] == '-') <= 18 ? 0 : DECLINED; /* (jansson refuses what overflows 64 bits) */
      double v;
      return parse_number_text(t, n, &v) == 0 ? 0 : DECLINED; /* (and reals that overflow) */
    }
  }
}

/* ---- fast paths: GetItem --------------------------------------------------------------- */

static int conv_attr(fast_t *f, int depth);

/* The type tag of an attribute value: "tag": with uppercase ASCII letters only (others decline). */
static int read_tag(fast_t *f, char tag[5]) {
  if (peek(f) != '"') return DECLINED;
  size_t i = f->pos + 1, n = 0;
  while (i < f->len && f->s[i] >= 'A' && f->s[i] <= 'Z' && n < 4) tag[n++] = (char)f->s[i++];
  if (i >= f->len || f->s[i] != '"' || n == 0) return DECLINED;
  tag[n] = '\0';
  f->pos = i + 1;
  return expect(f, ':') ? 0 : DECLINED;
}

/* An M's map (at '{'), written as a JSON object; its members are at depth + 1. */
static int conv_map(fast_t *f, int depth) {
  str_t st;
  int rc;
  if (!expect(f, '{')) return DECLINED;
  if (emit_char(f->out, '{') != 0) return DDBS_E_NOMEM;
  if (peek(f) == '}') {
    f->pos++;
    return emit_char(f->out, '}') != 0 ? DDBS_E_NOMEM : 0;
  }
  keyset_t ks;
  keyset_open(f, &ks);
  for (;;) {
    if ((rc = copy_key(f, &ks, &st)) != 0) return rc;
    if ((rc = conv_attr(f, depth + 1)) != 0) return rc;
    if (expect(f, ',')) {
      if (emit_char(f->out, ',') != 0) return DDBS_E_NOMEM;
      continue;
    }
    if (!expect(f, '}')) return DECLINED;
    keyset_close(f, &ks);
    return emit_char(f->out, '}') != 0 ? DDBS_E_NOMEM : 0;
  }
}

/* The array of an L (kind 'L'), SS/BS (kind 'S') or NS (kind 'N'), written as a JSON array. */
static int conv_list(fast_t *f, int depth, char kind) {
  str_t st;
  int rc;
  if (peek(f) != '[') return DECLINED;
  f->pos++;
  if (emit_char(f->out, '[') != 0) return DDBS_E_NOMEM;
  if (peek(f) == ']') {
    f->pos++;
    return emit_char(f->out, ']') != 0 ? DDBS_E_NOMEM : 0;
  }
  for (;;) {
    if (kind == 'L') {
      rc = conv_attr(f, depth + 1);
    } else if (peek(f) != '"') {
      rc = DECLINED;
    } else if (kind == 'N') {
      rc = emit_n_string(f);
    } else {
      rc = scan_string(f, &st);
      if (rc == 0) rc = emit_string(f, &st);
    }
    if (rc != 0) return rc;
    if (expect(f, ',')) {
      if (emit_char(f->out, ',') != 0) return DDBS_E_NOMEM;
      continue;
    }
    if (!expect(f, ']')) return DECLINED;
    return emit_char(f->out, ']') != 0 ? DDBS_E_NOMEM : 0;
  }
}

/* An AttributeValue {"<tag>": value} at depth (a top-level attribute is 1), as JSON. */
static int conv_attr(fast_t *f, int depth) {
  char tag[5];
  str_t st;
  int rc;
  if (depth > MAX_READ_DEPTH || !expect(f, '{') || read_tag(f, tag) != 0) return DECLINED;
  int c = peek(f);
  switch (tag[0]) {
    case 'S':
    case 'B':
      if (tag[1] == '\0' && c == '"') { /* S, B */
        if (scan_string(f, &st) != 0) return DECLINED;
        rc = emit_string(f, &st);
      } else if (tag[1] == 'S' && tag[2] == '\0') { /* SS, BS */
        rc = conv_list(f, depth, 'S');
      } else if (strcmp(tag, "BOOL") == 0) {
        if (take_literal(f, "true", 4)) rc = EMIT_LIT(f, "true") ? DDBS_E_NOMEM : 0;
        else if (take_literal(f, "false", 5)) rc = EMIT_LIT(f, "false") ? DDBS_E_NOMEM : 0;
        else rc = DECLINED;
      } else {
        rc = DECLINED;
      }
      break;
    case 'N':
      if (tag[1] == '\0' && c == '"') rc = emit_n_string(f);
      else if (tag[1] == 'S' && tag[2] == '\0') rc = conv_list(f, depth, 'N');
      else if (strcmp(tag, "NULL") == 0 && take_literal(f, "true", 4)) rc = EMIT_LIT(f, "null") ? DDBS_E_NOMEM : 0;
      else rc = DECLINED;
      break;
    case 'M': rc = tag[1] == '\0' ? conv_map(f, depth) : DECLINED; break;
    case 'L': rc = tag[1] == '\0' ? conv_list(f, depth, 'L') : DECLINED; break;
    default: rc = DECLINED;
  }
  if (rc != 0) return rc;
  return expect(f, '}') ? 0 : DECLINED; /* (a ',': more than one tag) */
}

/* The ttl attribute's value: sets *expired when it is an N <= now. Other tags: ignored. */
static int read_ttl(fast_t *f, long long now, int *expired) {
  char tag[5];
  str_t st;
  if (!expect(f, '{') || peek(f) != '"') return DECLINED;
  size_t tag_pos = f->pos;
  if (read_tag(f, tag) != 0 || strcmp(tag, "N") != 0) {
    /* any other single tag: not a ttl, ignored (but it must be valid JSON) */
    f->pos = tag_pos;
    if (scan_key(f, &st) != 0 || skip_value(f, 2) != 0) return DECLINED;
    return expect(f, '}') ? 0 : DECLINED;
  }
  if (peek(f) != '"' || scan_string(f, &st) != 0) return DECLINED;
  const char *t = (const char *)f->s + st.start + 1;
  size_t n = st.end - st.start - 2;
  if (st.has_escape) {
    if (decode_string(f, &st) != 0) return DDBS_E_NOMEM;
    t = f->scratch.data, n = f->scratch.len;
  }
  /* epoch seconds: an integer of up to 15 digits compares exactly as the reference's doubles do */
  size_t i = t && n && t[0] == '-' ? 1 : 0, digits = 0;
  long long v = 0;
  for (; i < n && t[i] >= '0' && t[i] <= '9' && digits < 16; i++, digits++) v = v * 10 + (t[i] - '0');
  if (i == n && digits >= 1 && digits <= 15) {
    if (t[0] == '-') v = -v;
    *expired = v <= now;
  } else {
    double d;
    if (parse_number_text(t, n, &d) != 0) return DECLINED;
    *expired = d <= (double)now;
  }
  return expect(f, '}') ? 0 : DECLINED;
}

int ddbs_fast_parse_get_item(const char *body, size_t len, const char *ttl_key, long long now_seconds,
                             ddbs_buf *session_out, int *found, char *err, size_t errlen) {
  fast_t f;
  str_t st;
  size_t start = session_out->len, item_pos = 0;
  int rc = DECLINED, have_item = 0, have_session = 0, have_ttl = 0, expired = 0;
  size_t ttl_len = ttl_key ? strlen(ttl_key) : 0;
  *found = 0;
  if (!body || (ttl_key && strcmp(ttl_key, SESSION_ATTR) == 0)) return DECLINED;
  fast_init(&f, body, len, session_out);
  if (!expect(&f, '{')) goto done;
  if (peek(&f) != '}') {
    for (;;) {
      if (scan_key(&f, &st) != 0) goto done;
      int is_item = key_is(&f, &st, "Item", 4);
      if (is_item < 0) goto nomem;
      if (!is_item) {
        if (skip_value(&f, 1) != 0) goto done;
      } else {
        if (have_item || peek(&f) != '{') goto done; /* a second Item: the reference takes the last */
        have_item = 1;
        item_pos = f.pos++;
        if (peek(&f) != '}') {
          for (;;) {
            if (scan_key(&f, &st) != 0) goto done;
            int is_session = key_is(&f, &st, SESSION_ATTR, sizeof SESSION_ATTR - 1);
            int is_ttl = ttl_key ? key_is(&f, &st, ttl_key, ttl_len) : 0;
            if (is_session < 0 || is_ttl < 0) goto nomem;
            if (is_session) {
              if (have_session) goto done;
              have_session = 1;
              rc = expired ? skip_value(&f, 2) : conv_attr(&f, 1);
              if (rc != 0) goto done;
              rc = DECLINED;
            } else if (is_ttl) {
              if (have_ttl) goto done;
              have_ttl = 1;
              rc = read_ttl(&f, now_seconds, &expired);
              if (rc != 0) goto done;
              rc = DECLINED;
            } else if (skip_value(&f, 2) != 0) {
              goto done;
            }
            if (!expect(&f, ',')) break;
          }
        }
        if (!expect(&f, '}')) goto done;
      }
      if (!expect(&f, ',')) break;
    }
  }
  if (!expect(&f, '}') || (skip_ws(&f), f.pos != f.len)) goto done;
  /* the answer is valid JSON, as the reference would find */
  if (have_item && !expired) {
    if (!have_session) { /* the whole item, as an object */
      f.pos = item_pos; /* a second pass over the item */
      rc = conv_map(&f, 0);
      if (rc != 0) goto done;
    }
    *found = 1;
  }
  rc = 0;
  goto done;
nomem:
  rc = DDBS_E_NOMEM;
done:
  if (rc != 0 || !*found) truncate_buf(session_out, start);
  else if (session_out->data) session_out->data[session_out->len] = '\0';
  if (rc == DDBS_E_NOMEM) fail_nomem(err, errlen);
  fast_free(&f);
  return rc;
}

int ddbs_parse_get_item(const char *body, size_t len, const char *ttl_key, long long now_seconds,
                        ddbs_buf *session_out, int *found, char *err, size_t errlen) {
  int rc = ddbs_fast_parse_get_item(body, len, ttl_key, now_seconds, session_out, found, err, errlen);
  if (rc != DDBS_FAST_DECLINED) return rc;
  return ddbs_ref_parse_get_item(body, len, ttl_key, now_seconds, session_out, found, err, errlen);
}

/* ---- fast paths: PutItem --------------------------------------------------------------- */

/* The session value at f->pos as an AttributeValue, adding its size; depth as write_value_attr's. */
static int put_value(fast_t *f, int depth) {
  str_t st;
  int rc, c = peek(f);
  switch (c) {
    case '{': {
      keyset_t ks;
      if (depth > DDBS_MAX_DEPTH) return DECLINED;
      f->pos++;
      if (EMIT_LIT(f, "{\"M\":{")) return DDBS_E_NOMEM;
      f->size += 3;
      keyset_open(f, &ks);
      if (peek(f) != '}') {
        for (;;) {
          if ((rc = copy_key(f, &ks, &st)) != 0) return rc;
          f->size += 1 + st.decoded_len;
          if ((rc = put_value(f, depth + 1)) != 0) return rc;
          if (!expect(f, ',')) break;
          if (emit_char(f->out, ',') != 0) return DDBS_E_NOMEM;
        }
      }
      if (!expect(f, '}')) return DECLINED;
      keyset_close(f, &ks);
      return EMIT_LIT(f, "}}") ? DDBS_E_NOMEM : 0;
    }
    case '[': {
      if (depth > DDBS_MAX_DEPTH) return DECLINED;
      f->pos++;
      if (EMIT_LIT(f, "{\"L\":[")) return DDBS_E_NOMEM;
      f->size += 3;
      if (peek(f) != ']') {
        for (;;) {
          f->size += 1;
          if ((rc = put_value(f, depth + 1)) != 0) return rc;
          if (!expect(f, ',')) break;
          if (emit_char(f->out, ',') != 0) return DDBS_E_NOMEM;
        }
      }
      if (!expect(f, ']')) return DECLINED;
      return EMIT_LIT(f, "]}") ? DDBS_E_NOMEM : 0;
    }
    case '"':
      if (scan_string(f, &st) != 0) return DECLINED;
      if (EMIT_LIT(f, "{\"S\":") || (rc = emit_string(f, &st)) != 0 || emit_char(f->out, '}') != 0)
        return DDBS_E_NOMEM;
      f->size += st.decoded_len;
      return 0;
    case 't':
    case 'f':
    case 'n':
      if (take_literal(f, "true", 4)) rc = EMIT_LIT(f, "{\"BOOL\":true}");
      else if (take_literal(f, "false", 5)) rc = EMIT_LIT(f, "{\"BOOL\":false}");
      else if (take_literal(f, "null", 4)) rc = EMIT_LIT(f, "{\"NULL\":true}");
      else return DECLINED;
      if (rc) return DDBS_E_NOMEM;
      f->size += 1;
      return 0;
    default: {
      if (c < 0) return DECLINED;
      const char *t = (const char *)f->s + f->pos;
      size_t n = scan_json_number(f->s + f->pos, f->len - f->pos);
      int e10 = 0, k = 0;
      char text[32];
      if (!n) return DECLINED;
      f->pos += n;
      if (number_canonical(t, n, &e10, &k)) {
        /* |x| = 0.d1d2.. * 10^e10 (0 for zero): in DynamoDB's range, 1E-130 <= |x| < 1E+126, exactly
         * when its exponent is (the text is the shortest for its double: no rounding across) */
        if (e10 - 1 > 125 || e10 - 1 < -130) return DECLINED;
        f->size += (size_t)(k + 1) / 2 + 1; /* number_text_size() */
      } else { /* respelled as the reference would: read, range-check, print */
        double v;
        int tlen;
        if (parse_number_text(t, n, &v) != 0 || check_number(v, text, &tlen, NULL, 0) != 0)
          return DECLINED;
        t = text, n = (size_t)tlen;
        f->size += number_text_size(t, n);
      }
      ddbs_buf *o = f->out;
      if (o->cap - o->len <= n + 8 && ddbs_buf_reserve(o, n + 8) != 0) return DDBS_E_NOMEM;
      memcpy(o->data + o->len, "{\"N\":\"", 6);
      memcpy(o->data + o->len + 6, t, n);
      memcpy(o->data + o->len + 6 + n, "\"}", 2);
      o->len += n + 8;
      return 0;
    }
  }
}

int ddbs_fast_body_put_item(const char *table, const char *hash_key, const char *key, size_t key_len,
                            const char *ttl_key, long long expires, const char *session_json,
                            size_t session_len, ddbs_buf *out, char *err, size_t errlen) {
  fast_t f;
  size_t start = out->len;
  int with_ttl = ttl_key != NULL && expires >= 0;
  int rc = check_put_args(table, hash_key, key, key_len, ttl_key, with_ttl, err, errlen);
  if (rc != 0) return rc;
  if (!session_json) return DECLINED;
  fast_init(&f, session_json, session_len, out);
  f.size = strlen(hash_key) + key_len + (sizeof SESSION_ATTR - 1);
  /* the body is about 1.5 times the session for typical sessions; emit() grows it as needed */
  if (ddbs_buf_reserve(out, session_len + session_len / 2 + key_len + 256) != 0 ||
      write_body_start(table, "Item", hash_key, key, key_len, out) != 0 ||
      EMIT_LIT(&f, ",\"" SESSION_ATTR "\":")) {
    rc = DDBS_E_NOMEM;
    goto done;
  }
  rc = put_value(&f, 1);
  if (rc == 0 && (skip_ws(&f), f.pos != f.len)) rc = DECLINED;
  if (rc != 0) goto done;
  out->data[out->len] = '\0';
  if (write_put_end(ttl_key, with_ttl, expires, out, &f.size) != 0) {
    rc = DDBS_E_NOMEM;
    goto done;
  }
  if (f.size > DDBS_MAX_ITEM_SIZE) rc = fail_too_large(f.size, err, errlen);
done:
  if (rc != 0) truncate_buf(out, start);
  if (rc == DDBS_E_NOMEM) fail_nomem(err, errlen);
  fast_free(&f);
  return rc;
}

int ddbs_body_put_item(const char *table, const char *hash_key, const char *key, size_t key_len,
                       const char *ttl_key, long long expires, const char *session_json,
                       size_t session_len, ddbs_buf *out, char *err, size_t errlen) {
  int rc = ddbs_fast_body_put_item(table, hash_key, key, key_len, ttl_key, expires, session_json,
                                   session_len, out, err, errlen);
  if (rc != DDBS_FAST_DECLINED) return rc;
  return ddbs_ref_body_put_item(table, hash_key, key, key_len, ttl_key, expires, session_json,
                                session_len, out, err, errlen);
}
