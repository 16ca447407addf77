/* sigv4_ref.c: the generic SigV4 stages (see sigv4_ref.h): the canonical request of any request,
 * the string to sign, the signature, the Authorization value, SHA-256 in hex, and the one-shot
 * DynamoDB signer built from them. The reference of the tests and fuzzers; not linked into the
 * addon. The signing key, hex, HMAC, header-value folding and the DynamoDB input rules come from
 * sigv4.c (sigv4_internal.h), shared with the production signer.
 * Owns nothing beyond each call: every buffer it allocates is freed before it returns, and on
 * failure the output buffers are left as they were.
 * Pure (no I/O, no clock, no globals), reentrant; thread: any.
 * Crypto: OpenSSL's one-shot HMAC(EVP_sha256()) and EVP_Digest(EVP_sha256()) only (no digest state
 * kept across calls: an independent path from the signer's).
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
#include "sigv4_ref.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "sigv4_internal.h"

#define STACK_HEADERS 32 /* headers sorted without a heap allocation */
#define STACK_PARAMS 16  /* query parameters sorted without a heap allocation */

static const char hex_upper[] = "0123456789ABCDEF";

/* ---- small helpers ---- */

static int is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

static unsigned char ascii_lower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

static int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
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

/* Restores a buffer to an earlier length (the "unchanged on failure" contract). */
static void buf_truncate(ddbs_buf *b, size_t len) {
  b->len = len;
  if (b->data) b->data[len] = '\0';
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
  b->len += ddbs_sigv4_fold_value(v, n, b->data + b->len);
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
  if (ddbs_buf_reserve(out, sizeof DDBS_SIGV4_ALGORITHM + date_len + scope_len + 2 + 64) != 0) return -1;
  ddbs_buf_append(out, DDBS_SIGV4_ALGORITHM "\n", sizeof DDBS_SIGV4_ALGORITHM);
  ddbs_buf_append(out, amz_date, date_len);
  ddbs_buf_append_char(out, '\n');
  ddbs_buf_append(out, scope, scope_len);
  ddbs_buf_append_char(out, '\n');
  ddbs_buf_append(out, hex, 64);
  return 0;
}

/* ---- stage 3 (the signing key) is in sigv4.c ---- */

/* ---- stage 4: signature ---- */

int ddbs_sigv4_signature(const unsigned char key[32], const char *string_to_sign, size_t sts_len,
                         char hex[65]) {
  unsigned char mac[32];
  if (!hex) return -1;
  hex[0] = '\0';
  if (!key || (!string_to_sign && sts_len)) return -1;
  if (ddbs_sigv4_hmac(key, 32, string_to_sign, sts_len, mac) != 0) return -1;
  ddbs_sigv4_to_hex(mac, 32, hex);
  return 0;
}

/* ---- stage 5: Authorization value ---- */

int ddbs_sigv4_authorization(const char *access_key_id, const char *scope, const char *signed_headers,
                             const char hex[65], ddbs_buf *out) {
  static const char p1[] = DDBS_SIGV4_ALGORITHM " Credential=", p2[] = ", SignedHeaders=", p3[] = ", Signature=";
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

int ddbs_sigv4_sha256_hex(const void *data, size_t len, char hex[65]) {
  unsigned char md[32];
  if (!hex) return -1;
  hex[0] = '\0';
  if (!data && len) return -1;
  if (sha256(data, len, md) != 0) return -1;
  ddbs_sigv4_to_hex(md, 32, hex);
  return 0;
}

/* ---- DynamoDB, from the stages ---- */

int ddbs_sigv4_sign_dynamodb(const ddbs_sigv4_dynamodb *r, const unsigned char signing_key[32],
                             ddbs_buf *authorization) {
  if (!signing_key || !authorization || !ddbs_sigv4_dynamodb_valid(r)) return -1;
  /* the headers as a client might hold them: unsorted, mixed case (stage 1 sorts and lowercases) */
  ddbs_sigv4_header h[5];
  size_t n = 0;
  h[n++] = (ddbs_sigv4_header){"X-Amz-Target", 12, r->target, strlen(r->target)};
  if (r->session_token && r->session_token[0])
    h[n++] = (ddbs_sigv4_header){"X-Amz-Security-Token", 20, r->session_token, strlen(r->session_token)};
  h[n++] = (ddbs_sigv4_header){"Host", 4, r->host, strlen(r->host)};
  h[n++] = (ddbs_sigv4_header){"Content-Type", 12, DDBS_DYNAMODB_CONTENT_TYPE, sizeof DDBS_DYNAMODB_CONTENT_TYPE - 1};
  h[n++] = (ddbs_sigv4_header){"X-Amz-Date", 10, r->amz_date, strlen(r->amz_date)};
  ddbs_sigv4_request req = {"POST", "/", "", h, n, r->body, r->body_len, 1};
  ddbs_buf creq = DDBS_BUF_INIT, sh = DDBS_BUF_INIT, sts = DDBS_BUF_INIT;
  char scope[8 + 1 + DDBS_SIGV4_MAX_REGION + sizeof "/" DDBS_SIGV4_DYNAMODB_SERVICE "/" DDBS_SIGV4_TERMINATOR];
  char hex[65];
  int rc = -1;
  int len = snprintf(scope, sizeof scope, "%.8s/%s/" DDBS_SIGV4_DYNAMODB_SERVICE "/" DDBS_SIGV4_TERMINATOR,
                     r->amz_date, r->region);
  if (len < 0 || (size_t)len >= sizeof scope) goto cleanup;
  if (ddbs_sigv4_canonical_request(&req, &creq, &sh) != 0 ||
      ddbs_sigv4_string_to_sign(r->amz_date, scope, creq.data, creq.len, &sts) != 0 ||
      ddbs_sigv4_signature(signing_key, sts.data, sts.len, hex) != 0 ||
      ddbs_sigv4_authorization(r->access_key_id, scope, sh.data, hex, authorization) != 0)
    goto cleanup;
  rc = 0;
cleanup:
  ddbs_buf_wipe_free(&creq); /* holds the session token */
  ddbs_buf_free(&sh);
  ddbs_buf_free(&sts);
  return rc;
}
