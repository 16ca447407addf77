/* sigv4.h: AWS Signature Version 4 for the store's DynamoDB requests: what the addon links.
 *   signing key     ddbs_sigv4_signing_key()  (once a day/region/secret)
 *   signer          ddbs_sigv4_signer_new/set_key/free, ddbs_sigv4_sign_dynamodb_with(): the
 *                   Authorization value of a DynamoDB JSON 1.0 request (POST /, signed headers
 *                   exactly content-type;host;x-amz-date;x-amz-security-token?;x-amz-target)
 *   time formats    ddbs_sigv4_format_amz_date() (the request's time out),
 *                   ddbs_parse_http_date() (the server's Date header in: clock-skew correction)
 * Owns nothing but a signer's state (its digest contexts and the signing key, wiped on change and
 * free); every other call frees what it allocates before it returns.
 * Thread: any; every function is reentrant, and a ddbs_sigv4_signer belongs to one thread (the
 * client's worker keeps one).
 * Pure: the time (amz_date, unix_seconds) and the credentials are passed in; no I/O, no clock, no
 * globals. Uses OpenSSL's one-shot HMAC() and EVP digests of EVP_sha256() only (Node's own OpenSSL
 * is the one linked at run time; these calls are the same in 1.1 and 3.x).
 *
 * The generic SigV4 stages (canonical request of any request, string to sign, signature,
 * Authorization) and a one-shot DynamoDB signer built from them are the reference this signer is
 * checked against: sigv4_ref.h, linked into the unit tests and fuzzers only.
 *
 * Every function returns 0 on success and -1 on failure (bad input or out of memory), unless
 * said otherwise. */
#ifndef DDBS_SIGV4_H
#define DDBS_SIGV4_H

#include <stddef.h>

#include "buf.h"

/* date8 is "YYYYMMDD". key = HMAC chain over "AWS4"+secret, date, region, service, "aws4_request".
 * On failure key is zeroed. */
int ddbs_sigv4_signing_key(const char *secret_access_key, const char *date8, const char *region,
                           const char *service, unsigned char key[32]);

/* Formats a UNIX time (seconds) as amz_date "YYYYMMDDTHHMMSSZ" (UTC) into out[17]. */
int ddbs_sigv4_format_amz_date(long long unix_seconds, char out[17]);

/* An HTTP Date header value, IMF-fixdate ("Wed, 25 Nov 2026 20:20:59 GMT"), as UNIX seconds; 0
 * when it cannot be read (other formats, out of range). The client learns the server's clock from
 * it (clock-skew correction). */
long long ddbs_parse_http_date(const char *s, size_t n);

#define DDBS_DYNAMODB_CONTENT_TYPE "application/x-amz-json-1.0"
#define DDBS_SIGV4_MAX_REGION 192 /* bytes; longer regions are refused */

/* A DynamoDB JSON 1.0 request. The strings are NUL-terminated (so none holds a NUL), and the ones
 * sent as header fields, or inside one, must not hold CR or LF: a request with one is refused,
 * since signing folds it into a space while the raw value would split the HTTP request. */
typedef struct ddbs_sigv4_dynamodb {
  const char *access_key_id;
  const char *session_token; /* NULL or "" when none */
  const char *region;        /* at most DDBS_SIGV4_MAX_REGION bytes */
  const char *amz_date;      /* "YYYYMMDDTHHMMSSZ" */
  const char *host;          /* the Host header value exactly as sent, e.g. "dynamodb.us-east-1.amazonaws.com"
                                or "127.0.0.1:8000" */
  const char *target;        /* X-Amz-Target value, e.g. "DynamoDB_20120810.GetItem" */
  const char *body;          /* may be NULL when body_len == 0 */
  size_t body_len;
} ddbs_sigv4_dynamodb;

/* A reusable SHA-256 / HMAC-SHA256 state for ONE thread. OpenSSL 3 looks the digest up on every
 * EVP_Digest(EVP_sha256()) and HMAC() call; the signer initializes it once and absorbs the signing
 * key's two HMAC pads once per key, so a signature costs three short hashes and no look-up. The
 * key and the pads are wiped by set_key (on change) and free. */
typedef struct ddbs_sigv4_signer ddbs_sigv4_signer;
/* NULL when out of memory. */
ddbs_sigv4_signer *ddbs_sigv4_signer_new(void);
/* Sets the signing key (from ddbs_sigv4_signing_key); the same key again costs a comparison. */
int ddbs_sigv4_signer_set_key(ddbs_sigv4_signer *s, const unsigned char signing_key[32]);
/* NULL is a no-op. */
void ddbs_sigv4_signer_free(ddbs_sigv4_signer *s);

/* Signs a DynamoDB request with s, whose key must be set: ddbs_sigv4_signing_key(secret, date8 of
 * amz_date, region, "dynamodb"). Signs exactly: content-type (DDBS_DYNAMODB_CONTENT_TYPE), host,
 * x-amz-date, x-amz-security-token (when session_token is set) and x-amz-target, over POST / with
 * an empty query. Appends the Authorization header value to `authorization`; on failure (no key,
 * a request the struct's rules refuse, out of memory) appends nothing. */
int ddbs_sigv4_sign_dynamodb_with(ddbs_sigv4_signer *s, const ddbs_sigv4_dynamodb *r,
                                  ddbs_buf *authorization);

#endif
