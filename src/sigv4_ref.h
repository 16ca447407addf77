/* sigv4_ref.h: the generic AWS Signature Version 4 stages (header signing, AWS's test-suite
 * layout), for the unit tests and the fuzzers only: linked into test/c and fuzz/, not into the
 * addon (which uses sigv4.h).
 *   1. canonical request   ddbs_sigv4_canonical_request()  (any method, path, query, headers)
 *   2. string to sign      ddbs_sigv4_string_to_sign()
 *   3. signing key         ddbs_sigv4_signing_key()        (sigv4.h: production uses it too)
 *   4. signature           ddbs_sigv4_signature()
 *   5. Authorization value ddbs_sigv4_authorization()
 * plus ddbs_sigv4_sha256_hex() and ddbs_sigv4_sign_dynamodb(), a one-shot DynamoDB signer built
 * from stages 1, 2, 4 and 5 with OpenSSL's one-shot HMAC() and EVP_Digest(): the reference the
 * production signer (ddbs_sigv4_sign_dynamodb_with) is compared with, on the same input rules.
 * The stages are checked byte for byte against AWS's SigV4 test vectors (test/c/test_sigv4.c).
 *
 * Pure (the time and the credentials are passed in; no I/O, no clock, no globals); thread: any.
 * Every function returns 0 on success and -1 on failure (bad input or out of memory); on failure
 * the output buffers are left as they were. */
#ifndef DDBS_SIGV4_REF_H
#define DDBS_SIGV4_REF_H

#include <stddef.h>

#include "buf.h"
#include "sigv4.h"

typedef struct ddbs_sigv4_header {
  const char *name; /* any case; lowercased for signing */
  size_t name_len;
  const char *value; /* raw; trimmed and inner whitespace runs (SP, HT, CR, LF) folded to one space
                        for signing; no NUL */
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

/* Stage 4. Lowercase hex HMAC-SHA256(key, string_to_sign) into hex (64 chars + NUL). */
int ddbs_sigv4_signature(const unsigned char key[32], const char *string_to_sign, size_t sts_len,
                         char hex[65]);

/* Stage 5. Appends "AWS4-HMAC-SHA256 Credential=<akid>/<scope>, SignedHeaders=<sh>, Signature=<hex>". */
int ddbs_sigv4_authorization(const char *access_key_id, const char *scope, const char *signed_headers,
                             const char hex[65], ddbs_buf *out);

/* Hex SHA-256 of data (lowercase, 64 chars + NUL). */
int ddbs_sigv4_sha256_hex(const void *data, size_t len, char hex[65]);

/* The reference DynamoDB signer: the same contract and output as ddbs_sigv4_sign_dynamodb_with
 * (sigv4.h), the same requests refused, from a signing key instead of a signer. The request goes
 * through the generic stages (its headers given unsorted and in mixed case). */
int ddbs_sigv4_sign_dynamodb(const ddbs_sigv4_dynamodb *r, const unsigned char signing_key[32],
                             ddbs_buf *authorization);

#endif
