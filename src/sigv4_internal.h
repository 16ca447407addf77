/* sigv4_internal.h: what the production signer (sigv4.c, where everything here is defined) and the
 * reference stages (sigv4_ref.c) share, so that both hash, encode, fold and check their input the
 * same way without a copy of it. Not part of the addon's API (the addon includes sigv4.h only).
 * Pure; thread: any. */
#ifndef DDBS_SIGV4_INTERNAL_H
#define DDBS_SIGV4_INTERNAL_H

#include <stddef.h>

#include "sigv4.h"

#define DDBS_SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define DDBS_SIGV4_TERMINATOR "aws4_request"
#define DDBS_SIGV4_DYNAMODB_SERVICE "dynamodb"

/* Lowercase hex of in[0..n) into out (2n chars + NUL). */
void ddbs_sigv4_to_hex(const unsigned char *in, size_t n, char *out);

/* One-shot HMAC-SHA256 (OpenSSL's HMAC(EVP_sha256())); data may be NULL when n == 0. 0 or -1. */
int ddbs_sigv4_hmac(const void *key, size_t key_len, const void *data, size_t n, unsigned char out[32]);

/* Writes v[0..n) trimmed, each inner run of SP/HT/CR/LF folded into one space, at dst (room for n
 * bytes); returns the bytes written. SigV4's canonical header value. */
size_t ddbs_sigv4_fold_value(const char *v, size_t n, char *dst);

/* 1 when a value may be sent as (part of) a header field as it is: no CR, LF or NUL in v[0..n).
 * Folding makes a value with CR/LF sign fine, but sent raw it would split the request. */
int ddbs_sigv4_header_value_ok(const char *v, size_t n);

/* The input rules of a DynamoDB request (see ddbs_sigv4_sign_dynamodb_with in sigv4.h): every
 * field set, amz_date "YYYYMMDDTHHMMSSZ", region at most DDBS_SIGV4_MAX_REGION bytes, no CR/LF in
 * access_key_id, session_token, region, host or target, body NULL only when body_len is 0.
 * 1 when r may be signed, else 0. The signer and the reference apply exactly these. */
int ddbs_sigv4_dynamodb_valid(const ddbs_sigv4_dynamodb *r);

#endif
