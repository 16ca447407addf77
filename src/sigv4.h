/* sigv4.h: AWS Signature Version 4, header (Authorization) signing.
 * Pure: the time (amz_date) and the credentials are passed in; no I/O, no clock, no globals.
 * Thread: any; every function is reentrant (a ddbs_sigv4_signer belongs to one thread). Uses only
 * OpenSSL's one-shot HMAC() and EVP digests with EVP_sha256() (Node's own OpenSSL is the one linked
 * at run time, and these calls are the same in 1.1 and 3.x).
 *
 * Stages, each testable on its own (AWS's test-suite layout):
 *   1. canonical request   ddbs_sigv4_canonical_request()
 *   2. string to sign      ddbs_sigv4_string_to_sign()
 *   3. signing key         ddbs_sigv4_signing_key()  (cacheable for a day/region/service/secret)
 *   4. signature           ddbs_sigv4_signature()
 *   5. Authorization value ddbs_sigv4_authorization()
 * plus ddbs_sigv4_sign_dynamodb(), the one-call path the client uses for DynamoDB's JSON 1.0
 * protocol (POST /, signed headers exactly content-type;host;x-amz-date;x-amz-security-token?;x-amz-target).
 *
 * Every function returns 0 on success and -1 on failure (bad input or out of memory). */
#ifndef DDBS_SIGV4_H
#define DDBS_SIGV4_H

#include <stddef.h>

#include "buf.h"

typedef struct ddbs_sigv4_header {
  const char *name; /* any case; lowercased for signing */
  size_t name_len;
  const char *value; /* raw; trimmed and inner whitespace runs folded to one space for signing */
  size_t value_len;
} ddbs_sigv4_header;

typedef struct ddbs_sigv4_request {
  const char *method;            /* "GET", "POST", ... */
  const char *path;              /* the raw path of the request line, without the query; NULL = "/" */
  const char *query;             /* the raw query string without '?'; NULL or "" = none */
  const ddbs_sigv4_header *headers; /* the headers to sign, as sent (duplicates allowed: their
                                       values are joined with ',' in order) */
  size_t header_count;
  const char *payload;           /* body bytes (may be NULL when payload_len == 0) */
  size_t payload_len;
  int normalize_path;            /* 1: remove dot segments and collapse '//' (every service but S3) */
} ddbs_sigv4_request;

/* Stage 1. Appends the canonical request to `out` and the signed-headers list
 * ("host;x-amz-date", lowercase, sorted) to `signed_headers` (both required). */
int ddbs_sigv4_canonical_request(const ddbs_sigv4_request *req, ddbs_buf *out, ddbs_buf *signed_headers);

/* Stage 2. amz_date is "YYYYMMDDTHHMMSSZ"; scope is "YYYYMMDD/region/service/aws4_request".
 * Appends "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256 of canonical>" to out. */
int ddbs_sigv4_string_to_sign(const char *amz_date, const char *scope, const char *canonical,
                              size_t canonical_len, ddbs_buf *out);

/* Stage 3. date8 is "YYYYMMDD". key = HMAC chain over "AWS4"+secret, date, region, service, "aws4_request". */
int ddbs_sigv4_signing_key(const char *secret_access_key, const char *date8, const char *region,
                           const char *service, unsigned char key[32]);

/* Stage 4. Lowercase hex HMAC-SHA256(key, string_to_sign) into hex (64 chars + NUL). */
int ddbs_sigv4_signature(const unsigned char key[32], const char *string_to_sign, size_t sts_len,
                         char hex[65]);

/* Stage 5. Appends "AWS4-HMAC-SHA256 Credential=<akid>/<scope>, SignedHeaders=<sh>, Signature=<hex>". */
int ddbs_sigv4_authorization(const char *access_key_id, const char *scope, const char *signed_headers,
                             const char hex[65], ddbs_buf *out);

/* Hex SHA-256 of data (lowercase, 64 chars + NUL). */
int ddbs_sigv4_sha256_hex(const void *data, size_t len, char hex[65]);

/* Formats a UNIX time (seconds) as amz_date "YYYYMMDDTHHMMSSZ" (UTC) into out[17]. */
int ddbs_sigv4_format_amz_date(long long unix_seconds, char out[17]);

/* An HTTP Date header value, IMF-fixdate ("Wed, 25 Nov 2026 20:20:59 GMT"), as UNIX seconds; 0
 * when it cannot be read (other formats, out of range). The client learns the server's clock from
 * it (clock-skew correction). */
long long ddbs_parse_http_date(const char *s, size_t n);

/* A DynamoDB JSON 1.0 request. */
typedef struct ddbs_sigv4_dynamodb {
  const char *access_key_id;
  const char *session_token; /* NULL or "" when none */
  const char *region;
  const char *amz_date;      /* "YYYYMMDDTHHMMSSZ" */
  const char *host;          /* the Host header value exactly as sent, e.g. "dynamodb.us-east-1.amazonaws.com"
                                or "127.0.0.1:8000" */
  const char *target;        /* X-Amz-Target value, e.g. "DynamoDB_20120810.GetItem" */
  const char *body;
  size_t body_len;
} ddbs_sigv4_dynamodb;

#define DDBS_DYNAMODB_CONTENT_TYPE "application/x-amz-json-1.0"

/* A reusable SHA-256 / HMAC-SHA256 state for ONE thread (the client's worker keeps one). OpenSSL 3
 * looks the digest up on every EVP_Digest(EVP_sha256()) and HMAC() call; the signer initializes it
 * once and absorbs the signing key's two HMAC pads once per key, so a signature costs three short
 * hashes and no look-up. The key and the pads are wiped by set_key (on change) and free. */
typedef struct ddbs_sigv4_signer ddbs_sigv4_signer;
ddbs_sigv4_signer *ddbs_sigv4_signer_new(void);
/* Sets the signing key (from ddbs_sigv4_signing_key); the same key again costs a comparison. */
int ddbs_sigv4_signer_set_key(ddbs_sigv4_signer *s, const unsigned char signing_key[32]);
void ddbs_sigv4_signer_free(ddbs_sigv4_signer *s);

/* Signs a DynamoDB request with a signing key from ddbs_sigv4_signing_key(secret, date8 of amz_date,
 * region, "dynamodb"). Signs exactly: content-type (DDBS_DYNAMODB_CONTENT_TYPE), host, x-amz-date,
 * x-amz-security-token (when session_token is set) and x-amz-target, over POST / with an empty query.
 * Appends the Authorization header value to `authorization`. */
int ddbs_sigv4_sign_dynamodb(const ddbs_sigv4_dynamodb *r, const unsigned char signing_key[32],
                             ddbs_buf *authorization);
/* The same with a signer whose key is set (the same output; no per-call OpenSSL look-ups). */
int ddbs_sigv4_sign_dynamodb_with(ddbs_sigv4_signer *s, const ddbs_sigv4_dynamodb *r,
                                  ddbs_buf *authorization);

#endif
