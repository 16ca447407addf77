/* sigv4.c: AWS Signature Version 4 for the store's DynamoDB requests (see sigv4.h): the signing
 * key, the reusable signer (a DynamoDB canonical request and string to sign written straight into
 * one buffer, hashed with digest states kept across calls), the amz-date formatter and the HTTP
 * Date parser; and the helpers the reference stages (sigv4_ref.c) share with it (sigv4_internal.h).
 * Owns: a signer's digest contexts and its signing key (wiped by set_key on change and by free).
 * Every other buffer it allocates is freed before the call returns, and secret material
 * ("AWS4"+secret, intermediate keys, HMAC pads, the canonical request that holds the session
 * token) is wiped with ddbs_secure_zero.
 * Thread: any; reentrant, no globals. A signer is used by the one thread that owns it (the
 * client's worker).
 * Pure: the time and the credentials are passed in; no I/O, no clock.
 * Crypto: OpenSSL's one-shot HMAC(EVP_sha256()) (the signing key) and EVP_MD_CTX digests of
 * EVP_sha256() (the signer) only. */
#include "sigv4.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sigv4_internal.h"

#define STACK_SECRET 128    /* "AWS4"+secret kept on the stack up to this size */
#define STACK_DYNAMODB 2048 /* DynamoDB canonical request / string to sign on the stack */

/* ---- helpers shared with the reference (sigv4_internal.h) ---- */

void ddbs_sigv4_to_hex(const unsigned char *in, size_t n, char *out) {
  static const char hex_lower[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = hex_lower[in[i] >> 4];
    out[2 * i + 1] = hex_lower[in[i] & 15];
  }
  out[2 * n] = '\0';
}

int ddbs_sigv4_hmac(const void *key, size_t key_len, const void *data, size_t n, unsigned char out[32]) {
  unsigned int out_len = 0;
  if (key_len > INT_MAX) return -1;
  if (!HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)(data ? data : ""), n, out, &out_len))
    return -1;
  return out_len == 32 ? 0 : -1;
}

static int is_fold_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

size_t ddbs_sigv4_fold_value(const char *v, size_t n, char *dst) {
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

int ddbs_sigv4_header_value_ok(const char *v, size_t n) {
  if (!v) return n == 0;
  for (size_t i = 0; i < n; i++)
    if (v[i] == '\r' || v[i] == '\n' || v[i] == '\0') return 0;
  return 1;
}

static int valid_amz_date(const char *d) {
  if (!d || strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z') return 0;
  for (int i = 0; i < 15; i++)
    if (i != 8 && (d[i] < '0' || d[i] > '9')) return 0;
  return 1;
}

static int field_ok(const char *s) { return s && ddbs_sigv4_header_value_ok(s, strlen(s)); }

int ddbs_sigv4_dynamodb_valid(const ddbs_sigv4_dynamodb *r) {
  return r && field_ok(r->access_key_id) && field_ok(r->region) && strlen(r->region) <= DDBS_SIGV4_MAX_REGION &&
         field_ok(r->host) && field_ok(r->target) && (!r->session_token || field_ok(r->session_token)) &&
         valid_amz_date(r->amz_date) && (r->body || r->body_len == 0);
}

/* ---- signing key ---- */

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

  if (ddbs_sigv4_hmac(k_secret, k_secret_len, date8, 8, k_date) != 0 ||
      ddbs_sigv4_hmac(k_date, 32, region, strlen(region), k_region) != 0 ||
      ddbs_sigv4_hmac(k_region, 32, service, strlen(service), k_service) != 0 ||
      ddbs_sigv4_hmac(k_service, 32, DDBS_SIGV4_TERMINATOR, sizeof DDBS_SIGV4_TERMINATOR - 1, key) != 0)
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

/* ---- time formats ---- */

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
  if (!s || n >= sizeof buf) return 0;
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

/* ---- the reusable signer (one thread) ---- */

struct ddbs_sigv4_signer {
  EVP_MD_CTX *fresh;         /* SHA-256, initialized and never updated: copied to start a hash */
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

/* ---- DynamoDB with the signer ---- */

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
  w->n += ddbs_sigv4_fold_value(v, n, w->p + w->n);
  w->p[w->n++] = '\n';
}

#define DDB_SIGNED_HEADERS "content-type;host;x-amz-date;x-amz-target"
#define DDB_SIGNED_HEADERS_TOKEN "content-type;host;x-amz-date;x-amz-security-token;x-amz-target"
#define AUTH_CREDENTIAL DDBS_SIGV4_ALGORITHM " Credential="
#define AUTH_SIGNED_HEADERS ", SignedHeaders="
#define AUTH_SIGNATURE ", Signature="

int ddbs_sigv4_sign_dynamodb_with(ddbs_sigv4_signer *s, const ddbs_sigv4_dynamodb *r,
                                  ddbs_buf *authorization) {
  int rc = -1;
  char stack_buf[STACK_DYNAMODB];
  char *heap_buf = NULL;
  char *buf = stack_buf;
  size_t used = 0;
  char scope[8 + 1 + DDBS_SIGV4_MAX_REGION + sizeof "/" DDBS_SIGV4_DYNAMODB_SERVICE "/" DDBS_SIGV4_TERMINATOR];
  char hex[65];
  unsigned char digest[32];

  if (!s || !s->has_key || !authorization || !ddbs_sigv4_dynamodb_valid(r)) return -1;
  const char *token = r->session_token;
  size_t token_len = token ? strlen(token) : 0;
  size_t akid_len = strlen(r->access_key_id), host_len = strlen(r->host), target_len = strlen(r->target),
         region_len = strlen(r->region);
  const char *signed_headers = token_len ? DDB_SIGNED_HEADERS_TOKEN : DDB_SIGNED_HEADERS;
  size_t signed_len = token_len ? sizeof DDB_SIGNED_HEADERS_TOKEN - 1 : sizeof DDB_SIGNED_HEADERS - 1;

  /* scope: YYYYMMDD/region/dynamodb/aws4_request (region_len <= DDBS_SIGV4_MAX_REGION: it fits) */
  writer sw = {scope, 0};
  put(&sw, r->amz_date, 8);
  PUT_LIT(&sw, "/");
  put(&sw, r->region, region_len);
  PUT_LIT(&sw, "/" DDBS_SIGV4_DYNAMODB_SERVICE "/" DDBS_SIGV4_TERMINATOR);
  size_t scope_len = sw.n;

  /* Upper bound of the canonical request (folding only shrinks values), plus the NUL that
   * ddbs_sigv4_to_hex writes after the payload hash; the string to sign (< 17 + 17 + sizeof scope
   * + 64 + 1) reuses the same buffer afterwards. */
  if (host_len > SIZE_MAX / 4 || target_len > SIZE_MAX / 4 || token_len > SIZE_MAX / 4 || akid_len > SIZE_MAX / 4)
    goto cleanup;
  size_t need = sizeof "POST\n/\n\n" - 1 + sizeof "content-type:" DDBS_DYNAMODB_CONTENT_TYPE "\n" - 1 +
                sizeof "host:\n" - 1 + host_len + sizeof "x-amz-date:\n" - 1 + 16 +
                (token_len ? sizeof "x-amz-security-token:\n" - 1 + token_len : 0) +
                sizeof "x-amz-target:\n" - 1 + target_len + 1 + signed_len + 1 + 64 + 1;
  if (need < 512) need = 512;
  if (need > sizeof stack_buf) {
    heap_buf = malloc(need);
    if (!heap_buf) goto cleanup;
    buf = heap_buf;
  }

  if (signer_sha256(s, r->body, r->body_len, digest) != 0) goto cleanup;
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
  ddbs_sigv4_to_hex(digest, 32, w.p + w.n); /* the payload hash */
  w.n += 64;
  used = w.n;
  if (signer_sha256(s, buf, w.n, digest) != 0) goto cleanup;

  /* string to sign, over the same buffer */
  w.n = 0;
  PUT_LIT(&w, DDBS_SIGV4_ALGORITHM "\n");
  put(&w, r->amz_date, 16);
  PUT_LIT(&w, "\n");
  put(&w, scope, scope_len);
  PUT_LIT(&w, "\n");
  ddbs_sigv4_to_hex(digest, 32, w.p + w.n);
  w.n += 64;
  if (w.n > used) used = w.n;
  if (signer_hmac(s, buf, w.n, digest) != 0) goto cleanup;
  ddbs_sigv4_to_hex(digest, 32, hex);

  /* "AWS4-HMAC-SHA256 Credential=<akid>/<scope>, SignedHeaders=<sh>, Signature=<hex>": reserved
   * first, so the appends cannot fail and a failure appends nothing */
  if (ddbs_buf_reserve(authorization, sizeof AUTH_CREDENTIAL - 1 + akid_len + 1 + scope_len +
                                          sizeof AUTH_SIGNED_HEADERS - 1 + signed_len +
                                          sizeof AUTH_SIGNATURE - 1 + 64) != 0)
    goto cleanup;
  ddbs_buf_append(authorization, AUTH_CREDENTIAL, sizeof AUTH_CREDENTIAL - 1);
  ddbs_buf_append(authorization, r->access_key_id, akid_len);
  ddbs_buf_append_char(authorization, '/');
  ddbs_buf_append(authorization, scope, scope_len);
  ddbs_buf_append(authorization, AUTH_SIGNED_HEADERS, sizeof AUTH_SIGNED_HEADERS - 1);
  ddbs_buf_append(authorization, signed_headers, signed_len);
  ddbs_buf_append(authorization, AUTH_SIGNATURE, sizeof AUTH_SIGNATURE - 1);
  ddbs_buf_append(authorization, hex, 64);
  rc = 0;

cleanup:
  /* the canonical request holds the session token: wipe what was written */
  if (used) ddbs_secure_zero(buf, used);
  free(heap_buf);
  return rc;
}
