/* sigv4.c: AWS Signature Version 4 header signing (see sigv4.h): the canonical request, the
 * string to sign, the signing key, the signature, the Authorization value, and the one-call
 * DynamoDB path; and the time formats around it (amz-date out, the HTTP Date header in, which the
 * client uses to correct clock skew). Owns nothing beyond each call: every buffer it allocates is
 * freed before it returns, and secret material ("AWS4"+secret, intermediate keys) is wiped with
 * ddbs_secure_zero.
 * Pure (no I/O, no clock, no globals) and reentrant: callable from any thread (a signer: from the
 * thread that owns it).
 * Crypto: OpenSSL's one-shot HMAC(EVP_sha256()) and EVP digests (EVP_MD_CTX) of EVP_sha256() only; a
 * ddbs_sigv4_signer keeps its digest states across calls (one thread).
 *
 * Canonicalization, as AWS's SigV4 test suite (aws-c-auth) expects:
 *   path   encoded once, byte by byte, as given (a path already %-encoded for the wire is thus
 *          encoded twice, as every service but S3 requires); with normalize_path, empty and "."
 *          segments are dropped, ".." pops one, and a trailing '/' of the raw path is kept.
 *   query  split on '&' (empty parts dropped), split at the first '=', %XX-decoded then
 *          re-encoded (unreserved set), sorted by encoded key then value; "k" gives "k=".
 *          '+' is a literal '+' (encoded %2B), as in aws-c-auth.
 *   header names lowercased; values trimmed and each run of SP/HT/CR/LF (which includes an
 *          obs-fold line break) folded into one space; duplicate names joined with ',' in the
 *          order given; sorted by name (stable). */
#include "sigv4.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define ALGORITHM "AWS4-HMAC-SHA256"
#define SCOPE_TERMINATOR "aws4_request"
#define STACK_HEADERS 32    /* headers sorted without a heap allocation */
#define STACK_PARAMS 16     /* query parameters sorted without a heap allocation */
#define STACK_SECRET 128    /* "AWS4"+secret kept on the stack up to this size */
#define STACK_DYNAMODB 2048 /* DynamoDB canonical request / string to sign on the stack */

static const char hex_lower[] = "0123456789abcdef";
static const char hex_upper[] = "0123456789ABCDEF";

/* ---- small helpers ---- */

static int is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

static int is_fold_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static unsigned char ascii_lower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

static int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static void to_hex(const unsigned char *in, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = hex_lower[in[i] >> 4];
    out[2 * i + 1] = hex_lower[in[i] & 15];
  }
  out[2 * n] = '\0';
}

/* Writes byte c, %XX-encoded unless unreserved, at dst; returns the bytes written (1 or 3). */
static size_t encode_byte(unsigned char c, char *dst) {
  if (is_unreserved(c)) {
    dst[0] = (char)c;
    return 1;
  }
  dst[0] = '%';
  dst[1] = hex_upper[c >> 4];
  dst[2] = hex_upper[c & 15];
  return 3;
}

/* Writes v trimmed, with each inner run of SP/HT/CR/LF folded into one space, at dst (room for
 * n bytes); returns the bytes written. */
static size_t fold_value(const char *v, size_t n, char *dst) {
  size_t a = 0, b = n, w = 0;
  while (a < b && is_fold_space((unsigned char)v[a])) a++;
  while (b > a && is_fold_space((unsigned char)v[b - 1])) b--;
  for (size_t i = a; i < b; i++) {
    if (is_fold_space((unsigned char)v[i])) {
      while (i + 1 < b && is_fold_space((unsigned char)v[i + 1])) i++;
      dst[w++] = ' ';
    } else {
      dst[w++] = v[i];
    }
  }
  return w;
}

/* Restores a buffer to an earlier length (the "unchanged on failure" contract). */
static void buf_truncate(ddbs_buf *b, size_t len) {
  b->len = len;
  if (b->data) b->data[len] = '\0';
}

static int hmac256(const void *key, size_t key_len, const void *data, size_t n, unsigned char out[32]) {
  unsigned int out_len = 0;
  if (key_len > INT_MAX) return -1;
  if (!HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)(data ? data : ""), n, out, &out_len))
    return -1;
  return out_len == 32 ? 0 : -1;
}

static int sha256(const void *data, size_t n, unsigned char out[32]) {
  unsigned int out_len = 0;
  if (EVP_Digest(data ? data : "", n, out, &out_len, EVP_sha256(), NULL) != 1) return -1;
  return out_len == 32 ? 0 : -1;
}

/* A header name must be a non-empty HTTP token-ish string: no controls, spaces, ':' or DEL. */
static int valid_header_name(const char *s, size_t n) {
  if (!s || n == 0) return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c <= 0x20 || c == 0x7f || c == ':') return 0;
  }
  return 1;
}

static int valid_header_value(const char *s, size_t n) {
  if (!s) return n == 0;
  return memchr(s, '\0', n) == NULL;
}

/* ---- stage 1: canonical request ---- */

/* Appends the canonical URI (without the trailing newline). */
static int append_canonical_uri(ddbs_buf *out, const char *path, int normalize) {
  size_t n = path ? strlen(path) : 0;
  if (n == 0) return ddbs_buf_append_char(out, '/');
  if (n > (SIZE_MAX - 2) / 3) return -1;
  if (ddbs_buf_reserve(out, 3 * n + 2) != 0) return -1;
  char *d = out->data;
  size_t base = out->len, w = base;
  if (!normalize) {
    if (path[0] != '/') d[w++] = '/';
    for (size_t i = 0; i < n; i++) {
      if (path[i] == '/')
        d[w++] = '/';
      else
        w += encode_byte((unsigned char)path[i], d + w);
    }
  } else {
    size_t i = 0;
    while (i < n) {
      size_t s = i;
      while (i < n && path[i] != '/') i++;
      size_t len = i - s;
      if (i < n) i++; /* skip the '/' */
      if (len == 0 || (len == 1 && path[s] == '.')) continue;
      if (len == 2 && path[s] == '.' && path[s + 1] == '.') {
        /* pop the last segment: encoded segments hold no '/', so cut at the last one */
        while (w > base && d[w - 1] != '/') w--;
        if (w > base) w--;
        continue;
      }
      d[w++] = '/';
      for (size_t k = s; k < s + len; k++) w += encode_byte((unsigned char)path[k], d + w);
    }
    if (w == base || path[n - 1] == '/') d[w++] = '/';
  }
  out->len = w;
  d[w] = '\0';
  return 0;
}

typedef struct query_param {
  const char *key;
  size_t key_len;
  const char *value;
  size_t value_len;
} query_param;

static int bytes_cmp(const char *a, size_t an, const char *b, size_t bn) {
  int c = memcmp(a, b, an < bn ? an : bn);
  if (c) return c;
  return an < bn ? -1 : an > bn ? 1 : 0;
}

static int query_param_cmp(const void *pa, const void *pb) {
  const query_param *a = pa, *b = pb;
  int c = bytes_cmp(a->key, a->key_len, b->key, b->key_len);
  return c ? c : bytes_cmp(a->value, a->value_len, b->value, b->value_len);
}

/* %XX-decodes s[0..n) (an invalid escape stays literal) and re-encodes each byte into dst
 * (room for 3n); returns the bytes written. */
static size_t decode_encode(const char *s, size_t n, char *dst) {
  size_t w = 0;
  for (size_t i = 0; i < n;) {
    unsigned char c = (unsigned char)s[i];
    int hi, lo;
    if (c == '%' && i + 2 < n && (hi = hex_value((unsigned char)s[i + 1])) >= 0 &&
        (lo = hex_value((unsigned char)s[i + 2])) >= 0) {
      c = (unsigned char)(hi * 16 + lo);
      i += 3;
    } else {
      i++;
    }
    w += encode_byte(c, dst + w);
  }
  return w;
}

/* Appends the canonical query string (without the trailing newline). */
static int append_canonical_query(ddbs_buf *out, const char *query) {
  int rc = -1;
  query_param stack_params[STACK_PARAMS];
  query_param *params = stack_params;
  char *scratch = NULL;
  size_t n = query ? strlen(query) : 0, count = 0;

  if (n == 0) return 0;
  if (n > (SIZE_MAX - 1) / 3) return -1;
  size_t max_params = 1;
  for (size_t i = 0; i < n; i++)
    if (query[i] == '&') max_params++;
  if (max_params > STACK_PARAMS) {
    if (max_params > SIZE_MAX / sizeof *params) goto cleanup;
    params = malloc(max_params * sizeof *params);
    if (!params) goto cleanup;
  }
  scratch = malloc(3 * n + 1);
  if (!scratch) goto cleanup;

  size_t w = 0, total = 0;
  for (size_t i = 0; i < n;) {
    size_t s = i;
    while (i < n && query[i] != '&') i++;
    size_t len = i - s;
    if (i < n) i++;
    if (len == 0) continue;
    const char *part = query + s;
    const char *eq = memchr(part, '=', len);
    size_t key_len = eq ? (size_t)(eq - part) : len;
    query_param *p = &params[count++];
    p->key = scratch + w;
    p->key_len = decode_encode(part, key_len, scratch + w);
    w += p->key_len;
    p->value = scratch + w;
    p->value_len = eq ? decode_encode(eq + 1, len - key_len - 1, scratch + w) : 0;
    w += p->value_len;
    total += p->key_len + p->value_len + 2;
  }
  if (count == 0) {
    rc = 0;
    goto cleanup;
  }
  qsort(params, count, sizeof *params, query_param_cmp);
  if (ddbs_buf_reserve(out, total) != 0) goto cleanup;
  for (size_t k = 0; k < count; k++) {
    if (k) ddbs_buf_append_char(out, '&');
    ddbs_buf_append(out, params[k].key, params[k].key_len);
    ddbs_buf_append_char(out, '=');
    ddbs_buf_append(out, params[k].value, params[k].value_len);
  }
  rc = 0;

cleanup:
  free(scratch);
  if (params != stack_params) free(params);
  return rc;
}

/* Orders header pointers by lowercased name, then by position (a stable sort with qsort). */
static int header_ptr_cmp(const void *pa, const void *pb) {
  const ddbs_sigv4_header *a = *(const ddbs_sigv4_header *const *)pa;
  const ddbs_sigv4_header *b = *(const ddbs_sigv4_header *const *)pb;
  size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
  for (size_t i = 0; i < n; i++) {
    unsigned char ca = ascii_lower((unsigned char)a->name[i]);
    unsigned char cb = ascii_lower((unsigned char)b->name[i]);
    if (ca != cb) return ca < cb ? -1 : 1;
  }
  if (a->name_len != b->name_len) return a->name_len < b->name_len ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

static int same_name(const ddbs_sigv4_header *a, const ddbs_sigv4_header *b) {
  if (a->name_len != b->name_len) return 0;
  for (size_t i = 0; i < a->name_len; i++)
    if (ascii_lower((unsigned char)a->name[i]) != ascii_lower((unsigned char)b->name[i])) return 0;
  return 1;
}

static int append_lower(ddbs_buf *b, const char *s, size_t n) {
  if (ddbs_buf_reserve(b, n) != 0) return -1;
  for (size_t i = 0; i < n; i++) b->data[b->len + i] = (char)ascii_lower((unsigned char)s[i]);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

static int append_folded(ddbs_buf *b, const char *v, size_t n) {
  if (ddbs_buf_reserve(b, n) != 0) return -1;
  b->len += fold_value(v, n, b->data + b->len);
  b->data[b->len] = '\0';
  return 0;
}

/* Appends the canonical headers block (each line ends with '\n') to out, and the signed headers
 * list to signed_headers. */
static int append_canonical_headers(ddbs_buf *out, ddbs_buf *signed_headers,
                                    const ddbs_sigv4_header *headers, size_t count) {
  int rc = -1;
  const ddbs_sigv4_header *stack_sorted[STACK_HEADERS];
  const ddbs_sigv4_header **sorted = stack_sorted;

  if (count == 0) return 0;
  if (!headers) return -1;
  for (size_t i = 0; i < count; i++)
    if (!valid_header_name(headers[i].name, headers[i].name_len) ||
        !valid_header_value(headers[i].value, headers[i].value_len))
      return -1;
  if (count > STACK_HEADERS) {
    if (count > SIZE_MAX / sizeof *sorted) return -1;
    sorted = malloc(count * sizeof *sorted);
    if (!sorted) goto cleanup;
  }
  for (size_t i = 0; i < count; i++) sorted[i] = &headers[i];
  qsort(sorted, count, sizeof *sorted, header_ptr_cmp);

  for (size_t i = 0; i < count; i++) {
    const ddbs_sigv4_header *h = sorted[i];
    int first = i == 0 || !same_name(sorted[i - 1], h);
    if (first) {
      if (i > 0 && (ddbs_buf_append_char(out, '\n') != 0 || ddbs_buf_append_char(signed_headers, ';') != 0))
        goto cleanup;
      if (append_lower(out, h->name, h->name_len) != 0 || ddbs_buf_append_char(out, ':') != 0 ||
          append_lower(signed_headers, h->name, h->name_len) != 0)
        goto cleanup;
    } else if (ddbs_buf_append_char(out, ',') != 0) {
      goto cleanup;
    }
    if (append_folded(out, h->value, h->value_len) != 0) goto cleanup;
  }
  if (ddbs_buf_append_char(out, '\n') != 0) goto cleanup;
  rc = 0;

cleanup:
  if (sorted != stack_sorted) free(sorted);
  return rc;
}

static int valid_method(const char *m) {
  if (!m || !*m) return 0;
  for (; *m; m++)
    if ((unsigned char)*m <= 0x20 || *m == 0x7f) return 0;
  return 1;
}

int ddbs_sigv4_canonical_request(const ddbs_sigv4_request *req, ddbs_buf *out, ddbs_buf *signed_headers) {
  if (!req || !out || !signed_headers) return -1;
  if (!valid_method(req->method) || (!req->payload && req->payload_len)) return -1;
  size_t out_len0 = out->len, sh_len0 = signed_headers->len;
  char payload_hex[65];
  size_t sh_start;
  int rc = -1;

  if (ddbs_sigv4_sha256_hex(req->payload, req->payload_len, payload_hex) != 0) goto cleanup;
  if (ddbs_buf_append_str(out, req->method) != 0 || ddbs_buf_append_char(out, '\n') != 0) goto cleanup;
  if (append_canonical_uri(out, req->path, req->normalize_path) != 0 || ddbs_buf_append_char(out, '\n') != 0)
    goto cleanup;
  if (append_canonical_query(out, req->query) != 0 || ddbs_buf_append_char(out, '\n') != 0) goto cleanup;
  sh_start = signed_headers->len;
  if (append_canonical_headers(out, signed_headers, req->headers, req->header_count) != 0) goto cleanup;
  if (ddbs_buf_append_char(out, '\n') != 0 ||
      ddbs_buf_append(out, signed_headers->data ? signed_headers->data + sh_start : "",
                      signed_headers->len - sh_start) != 0 ||
      ddbs_buf_append_char(out, '\n') != 0 || ddbs_buf_append(out, payload_hex, 64) != 0)
    goto cleanup;
  rc = 0;

cleanup:
  if (rc != 0) {
    buf_truncate(out, out_len0);
    buf_truncate(signed_headers, sh_len0);
  }
  return rc;
}

/* ---- stage 2: string to sign ---- */

int ddbs_sigv4_string_to_sign(const char *amz_date, const char *scope, const char *canonical,
                              size_t canonical_len, ddbs_buf *out) {
  if (!amz_date || !scope || !out || (!canonical && canonical_len)) return -1;
  size_t date_len = strlen(amz_date), scope_len = strlen(scope);
  char hex[65];
  if (ddbs_sigv4_sha256_hex(canonical, canonical_len, hex) != 0) return -1;
  if (ddbs_buf_reserve(out, sizeof ALGORITHM + date_len + scope_len + 2 + 64) != 0) return -1;
  ddbs_buf_append(out, ALGORITHM "\n", sizeof ALGORITHM);
  ddbs_buf_append(out, amz_date, date_len);
  ddbs_buf_append_char(out, '\n');
  ddbs_buf_append(out, scope, scope_len);
  ddbs_buf_append_char(out, '\n');
  ddbs_buf_append(out, hex, 64);
  return 0;
}

/* ---- stage 3: signing key ---- */

int ddbs_sigv4_signing_key(const char *secret_access_key, const char *date8, const char *region,
                           const char *service, unsigned char key[32]) {
  int rc = -1;
  unsigned char k_date[32], k_region[32], k_service[32];
  char stack_secret[STACK_SECRET];
  char *heap_secret = NULL;
  char *k_secret = stack_secret;
  size_t k_secret_len = 0;

  if (!key) return -1;
  if (!secret_access_key || !date8 || !region || !service || strlen(date8) != 8) goto cleanup;
  size_t secret_len = strlen(secret_access_key);
  if (secret_len > SIZE_MAX - 4) goto cleanup;
  if (secret_len + 4 > sizeof stack_secret) {
    heap_secret = malloc(secret_len + 4);
    if (!heap_secret) goto cleanup;
    k_secret = heap_secret;
  }
  memcpy(k_secret, "AWS4", 4);
  memcpy(k_secret + 4, secret_access_key, secret_len);
  k_secret_len = secret_len + 4;

  if (hmac256(k_secret, k_secret_len, date8, 8, k_date) != 0 ||
      hmac256(k_date, 32, region, strlen(region), k_region) != 0 ||
      hmac256(k_region, 32, service, strlen(service), k_service) != 0 ||
      hmac256(k_service, 32, SCOPE_TERMINATOR, sizeof SCOPE_TERMINATOR - 1, key) != 0)
    goto cleanup;
  rc = 0;

cleanup:
  ddbs_secure_zero(k_secret, k_secret == stack_secret ? sizeof stack_secret : k_secret_len);
  free(heap_secret);
  ddbs_secure_zero(k_date, sizeof k_date);
  ddbs_secure_zero(k_region, sizeof k_region);
  ddbs_secure_zero(k_service, sizeof k_service);
  if (rc != 0) ddbs_secure_zero(key, 32);
  return rc;
}

/* ---- stage 4: signature ---- */

int ddbs_sigv4_signature(const unsigned char key[32], const char *string_to_sign, size_t sts_len,
                         char hex[65]) {
  unsigned char mac[32];
  if (!hex) return -1;
  hex[0] = '\0';
  if (!key || (!string_to_sign && sts_len)) return -1;
  if (hmac256(key, 32, string_to_sign, sts_len, mac) != 0) return -1;
  to_hex(mac, 32, hex);
  return 0;
}

/* ---- stage 5: Authorization value ---- */

int ddbs_sigv4_authorization(const char *access_key_id, const char *scope, const char *signed_headers,
                             const char hex[65], ddbs_buf *out) {
  static const char p1[] = ALGORITHM " Credential=", p2[] = ", SignedHeaders=", p3[] = ", Signature=";
  if (!access_key_id || !scope || !signed_headers || !hex || !out) return -1;
  if (!memchr(hex, '\0', 65) || strlen(hex) != 64) return -1;
  size_t akid_len = strlen(access_key_id), scope_len = strlen(scope), sh_len = strlen(signed_headers);
  size_t total = sizeof p1 - 1 + akid_len + 1 + scope_len + sizeof p2 - 1 + sh_len + sizeof p3 - 1 + 64;
  if (total < akid_len + scope_len + sh_len) return -1;
  if (ddbs_buf_reserve(out, total) != 0) return -1;
  ddbs_buf_append(out, p1, sizeof p1 - 1);
  ddbs_buf_append(out, access_key_id, akid_len);
  ddbs_buf_append_char(out, '/');
  ddbs_buf_append(out, scope, scope_len);
  ddbs_buf_append(out, p2, sizeof p2 - 1);
  ddbs_buf_append(out, signed_headers, sh_len);
  ddbs_buf_append(out, p3, sizeof p3 - 1);
  ddbs_buf_append(out, hex, 64);
  return 0;
}

/* ---- helpers ---- */

int ddbs_sigv4_sha256_hex(const void *data, size_t len, char hex[65]) {
  unsigned char md[32];
  if (!hex) return -1;
  hex[0] = '\0';
  if (!data && len) return -1;
  if (sha256(data, len, md) != 0) return -1;
  to_hex(md, 32, hex);
  return 0;
}

static void put_digits(char *out, int value, int width) {
  for (int i = width - 1; i >= 0; i--) {
    out[i] = (char)('0' + value % 10);
    value /= 10;
  }
}

long long ddbs_parse_http_date(const char *s, size_t n) {
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  char buf[64], mon[4] = "";
  int d = 0, y = 0, hh = 0, mm = 0, ss = 0;
  if (n >= sizeof buf) return 0;
  memcpy(buf, s, n);
  buf[n] = '\0';
  int used = 0; /* %n: the whole text must be read, " GMT" included */
  if (sscanf(buf, "%*3s, %2d %3s %4d %2d:%2d:%2d GMT%n", &d, mon, &y, &hh, &mm, &ss, &used) != 6 || (size_t)used != n)
    return 0;
  const char *m = strstr(months, mon);
  if (!m || strlen(mon) != 3 || (m - months) % 3 || d < 1 || d > 31 || y < 1970 || hh > 23 || mm > 59 || ss > 60)
    return 0;
  /* days from 1970-01-01 (H. Hinnant's days_from_civil) */
  int month = (int)(m - months) / 3 + 1;
  long long yy = y - (month <= 2);
  long long era = yy / 400;
  long long yoe = yy - era * 400;
  long long doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  long long days = era * 146097 + doe - 719468;
  return days * 86400 + hh * 3600 + mm * 60 + ss;
}

int ddbs_sigv4_format_amz_date(long long unix_seconds, char out[17]) {
  struct tm tm;
  if (!out) return -1;
  out[0] = '\0';
  time_t t = (time_t)unix_seconds;
  if ((long long)t != unix_seconds) return -1;
  if (!gmtime_r(&t, &tm)) return -1;
  if (tm.tm_year < -1900 || tm.tm_year > 9999 - 1900) return -1;
  put_digits(out, tm.tm_year + 1900, 4);
  put_digits(out + 4, tm.tm_mon + 1, 2);
  put_digits(out + 6, tm.tm_mday, 2);
  out[8] = 'T';
  put_digits(out + 9, tm.tm_hour, 2);
  put_digits(out + 11, tm.tm_min, 2);
  put_digits(out + 13, tm.tm_sec, 2);
  out[15] = 'Z';
  out[16] = '\0';
  return 0;
}

/* ---- DynamoDB ---- */

static int valid_amz_date(const char *d) {
  if (!d || strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z') return 0;
  for (int i = 0; i < 15; i++)
    if (i != 8 && (d[i] < '0' || d[i] > '9')) return 0;
  return 1;
}

/* Sequential writer into a buffer sized in advance (the sizes are upper bounds, so no checks). */
typedef struct writer {
  char *p;
  size_t n;
} writer;

static void put(writer *w, const char *s, size_t n) {
  memcpy(w->p + w->n, s, n);
  w->n += n;
}

#define PUT_LIT(w, lit) put((w), (lit), sizeof(lit) - 1)

static void put_header(writer *w, const char *name_colon, size_t name_len, const char *v, size_t n) {
  put(w, name_colon, name_len);
  w->n += fold_value(v, n, w->p + w->n);
  w->p[w->n++] = '\n';
}

#define DDB_SIGNED_HEADERS "content-type;host;x-amz-date;x-amz-target"
#define DDB_SIGNED_HEADERS_TOKEN "content-type;host;x-amz-date;x-amz-security-token;x-amz-target"
#define DDB_SERVICE "dynamodb"

/* ---- the reusable signer (one thread) ---- */

struct ddbs_sigv4_signer {
  EVP_MD_CTX *fresh;        /* SHA-256, initialized and never updated: copied to start a hash */
  EVP_MD_CTX *inner, *outer; /* SHA-256 after absorbing key^ipad / key^opad (HMAC's two pads) */
  EVP_MD_CTX *work;
  unsigned char key[32];
  int has_key;
};

ddbs_sigv4_signer *ddbs_sigv4_signer_new(void) {
  ddbs_sigv4_signer *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->fresh = EVP_MD_CTX_new();
  s->inner = EVP_MD_CTX_new();
  s->outer = EVP_MD_CTX_new();
  s->work = EVP_MD_CTX_new();
  if (!s->fresh || !s->inner || !s->outer || !s->work || EVP_DigestInit_ex(s->fresh, EVP_sha256(), NULL) != 1) {
    ddbs_sigv4_signer_free(s);
    return NULL;
  }
  return s;
}

void ddbs_sigv4_signer_free(ddbs_sigv4_signer *s) {
  if (!s) return;
  /* EVP_MD_CTX_free cleanses the hash state (the pads are key material) */
  EVP_MD_CTX_free(s->fresh);
  EVP_MD_CTX_free(s->inner);
  EVP_MD_CTX_free(s->outer);
  EVP_MD_CTX_free(s->work);
  ddbs_secure_zero(s, sizeof *s);
  free(s);
}

/* ctx = SHA-256 after absorbing the 32-byte key, zero-padded to the 64-byte block, XOR byte
 * (HMAC, RFC 2104: 0x36 for the inner pad, 0x5c for the outer). */
static int absorb_pad(ddbs_sigv4_signer *s, EVP_MD_CTX *ctx, const unsigned char key[32], unsigned char byte) {
  unsigned char pad[64];
  memset(pad, byte, sizeof pad);
  for (int i = 0; i < 32; i++) pad[i] ^= key[i];
  int ok = EVP_MD_CTX_copy_ex(ctx, s->fresh) == 1 && EVP_DigestUpdate(ctx, pad, sizeof pad) == 1;
  ddbs_secure_zero(pad, sizeof pad);
  return ok ? 0 : -1;
}

int ddbs_sigv4_signer_set_key(ddbs_sigv4_signer *s, const unsigned char signing_key[32]) {
  if (!s || !signing_key) return -1;
  if (s->has_key && memcmp(s->key, signing_key, 32) == 0) return 0;
  s->has_key = 0;
  if (absorb_pad(s, s->inner, signing_key, 0x36) != 0 || absorb_pad(s, s->outer, signing_key, 0x5c) != 0) return -1;
  memcpy(s->key, signing_key, 32);
  s->has_key = 1;
  return 0;
}

static int signer_sha256(ddbs_sigv4_signer *s, const void *data, size_t n, unsigned char out[32]) {
  unsigned int out_len = 0;
  if (EVP_MD_CTX_copy_ex(s->work, s->fresh) != 1 || EVP_DigestUpdate(s->work, data ? data : "", n) != 1 ||
      EVP_DigestFinal_ex(s->work, out, &out_len) != 1)
    return -1;
  return out_len == 32 ? 0 : -1;
}

/* HMAC-SHA256(signing key, data) = H(key^opad || H(key^ipad || data)) from the absorbed pads */
static int signer_hmac(ddbs_sigv4_signer *s, const void *data, size_t n, unsigned char out[32]) {
  unsigned char ih[32];
  unsigned int len1 = 0, len2 = 0;
  int ok = EVP_MD_CTX_copy_ex(s->work, s->inner) == 1 && EVP_DigestUpdate(s->work, data ? data : "", n) == 1 &&
           EVP_DigestFinal_ex(s->work, ih, &len1) == 1 && len1 == 32 &&
           EVP_MD_CTX_copy_ex(s->work, s->outer) == 1 && EVP_DigestUpdate(s->work, ih, 32) == 1 &&
           EVP_DigestFinal_ex(s->work, out, &len2) == 1 && len2 == 32;
  ddbs_secure_zero(ih, sizeof ih);
  return ok ? 0 : -1;
}

int ddbs_sigv4_sign_dynamodb_with(ddbs_sigv4_signer *s, const ddbs_sigv4_dynamodb *r,
                                  ddbs_buf *authorization) {
  int rc = -1;
  char stack_buf[STACK_DYNAMODB];
  char *heap_buf = NULL;
  char *buf = stack_buf;
  size_t used = 0;
  char scope[256];
  char payload_hex[65], hex[65];
  unsigned char digest[32];

  if (!s || !s->has_key || !r || !authorization) return -1;
  if (!r->access_key_id || !r->region || !r->host || !r->target || !valid_amz_date(r->amz_date) ||
      (!r->body && r->body_len))
    return -1;
  const char *token = r->session_token;
  size_t token_len = token ? strlen(token) : 0;
  size_t host_len = strlen(r->host), target_len = strlen(r->target), region_len = strlen(r->region);
  const char *signed_headers = token_len ? DDB_SIGNED_HEADERS_TOKEN : DDB_SIGNED_HEADERS;
  size_t signed_len = token_len ? sizeof DDB_SIGNED_HEADERS_TOKEN - 1 : sizeof DDB_SIGNED_HEADERS - 1;

  /* scope: YYYYMMDD/region/dynamodb/aws4_request */
  size_t scope_len = 8 + 1 + region_len + 1 + sizeof DDB_SERVICE - 1 + 1 + sizeof SCOPE_TERMINATOR - 1;
  if (region_len > sizeof scope - 64 || scope_len >= sizeof scope) goto cleanup;
  {
    writer sw = {scope, 0};
    put(&sw, r->amz_date, 8);
    PUT_LIT(&sw, "/");
    put(&sw, r->region, region_len);
    PUT_LIT(&sw, "/" DDB_SERVICE "/" SCOPE_TERMINATOR);
    scope[sw.n] = '\0';
  }

  /* Upper bound of the canonical request (folding only shrinks values); the string to sign
   * (< 17 + 17 + 256 + 64) reuses the same buffer afterwards. */
  if (host_len > SIZE_MAX / 4 || target_len > SIZE_MAX / 4 || token_len > SIZE_MAX / 4) goto cleanup;
  size_t need = sizeof "POST\n/\n\n" - 1 + sizeof "content-type:" DDBS_DYNAMODB_CONTENT_TYPE "\n" - 1 +
                sizeof "host:\n" - 1 + host_len + sizeof "x-amz-date:\n" - 1 + 16 +
                (token_len ? sizeof "x-amz-security-token:\n" - 1 + token_len : 0) +
                sizeof "x-amz-target:\n" - 1 + target_len + 1 + signed_len + 1 + 64;
  if (need < 512) need = 512;
  if (need > sizeof stack_buf) {
    heap_buf = malloc(need);
    if (!heap_buf) goto cleanup;
    buf = heap_buf;
  }

  if (signer_sha256(s, r->body, r->body_len, digest) != 0) goto cleanup;
  to_hex(digest, 32, payload_hex);
  writer w = {buf, 0};
  PUT_LIT(&w, "POST\n/\n\ncontent-type:" DDBS_DYNAMODB_CONTENT_TYPE "\n");
  put_header(&w, "host:", 5, r->host, host_len);
  PUT_LIT(&w, "x-amz-date:");
  put(&w, r->amz_date, 16);
  PUT_LIT(&w, "\n");
  if (token_len) put_header(&w, "x-amz-security-token:", sizeof "x-amz-security-token:" - 1, token, token_len);
  put_header(&w, "x-amz-target:", sizeof "x-amz-target:" - 1, r->target, target_len);
  PUT_LIT(&w, "\n");
  put(&w, signed_headers, signed_len);
  PUT_LIT(&w, "\n");
  put(&w, payload_hex, 64);
  used = w.n;
  if (signer_sha256(s, buf, w.n, digest) != 0) goto cleanup;

  /* string to sign, over the same buffer */
  w.n = 0;
  PUT_LIT(&w, ALGORITHM "\n");
  put(&w, r->amz_date, 16);
  PUT_LIT(&w, "\n");
  put(&w, scope, scope_len);
  PUT_LIT(&w, "\n");
  to_hex(digest, 32, w.p + w.n);
  w.n += 64;
  if (w.n > used) used = w.n;

  if (signer_hmac(s, buf, w.n, digest) != 0) goto cleanup;
  to_hex(digest, 32, hex);
  if (ddbs_sigv4_authorization(r->access_key_id, scope, signed_headers, hex, authorization) != 0) goto cleanup;
  rc = 0;

cleanup:
  /* the canonical request holds the session token: wipe what was written */
  if (used) ddbs_secure_zero(buf, used);
  free(heap_buf);
  return rc;
}

int ddbs_sigv4_sign_dynamodb(const ddbs_sigv4_dynamodb *r, const unsigned char signing_key[32],
                             ddbs_buf *authorization) {
  if (!r || !signing_key || !authorization) return -1;
  ddbs_sigv4_signer *s = ddbs_sigv4_signer_new();
  int rc = s && ddbs_sigv4_signer_set_key(s, signing_key) == 0 ? ddbs_sigv4_sign_dynamodb_with(s, r, authorization) : -1;
  ddbs_sigv4_signer_free(s);
  return rc;
}
