/* ddb_json_ref.h: the two paths behind ddbs_body_put_item and ddbs_parse_get_item, for the unit
 * tests and the fuzzers (the addon only uses ddb_json.h). Both live in ddb_json.c.
 *
 *   reference  jansson decodes the whole text into a tree, then a writer walks the tree. Slow, but
 *              simple: it defines the expected output, every error code and every error message.
 *   fast       one pass over the text, writing straight into the output: no tree, no allocation
 *              per value, numbers copied verbatim when they are already in the form the reference
 *              would print. It handles the inputs real clients and DynamoDB produce; for anything
 *              else (any error, duplicate keys, escapes it does not reproduce, odd numbers...) it
 *              declines, leaves the output as it was, and the public function runs the reference.
 *
 * Contract (what the differential tests and fuzzers check): when a fast function returns anything
 * but DDBS_FAST_DECLINED, the reference returns the same code with the same *found and
 * byte-identical output (and, for DDBS_E_TOO_LARGE, the same message: the same item size). So
 * the public functions give exactly the reference's results, bytes and error messages included. */
#ifndef DDBS_DDB_JSON_REF_H
#define DDBS_DDB_JSON_REF_H

#include "ddb_json.h"

/* Returned by the fast functions when they leave the input to the reference. */
#define DDBS_FAST_DECLINED 1

/* Same contract as ddbs_body_put_item / ddbs_parse_get_item (ddb_json.h). */
int ddbs_ref_body_put_item(const char *table, const char *hash_key, const char *key, size_t key_len,
                           const char *ttl_key, long long expires, const char *session_json,
                           size_t session_len, ddbs_buf *out, char *err, size_t errlen);
int ddbs_ref_parse_get_item(const char *body, size_t len, const char *ttl_key, long long now_seconds,
                            ddbs_buf *session_out, int *found, char *err, size_t errlen);

/* The fast paths alone: 0 (done), a DDBS_E_* code (argument errors, DDBS_E_TOO_LARGE, DDBS_E_NOMEM;
 * err set), or DDBS_FAST_DECLINED (out unchanged, *found = 0, err untouched). */
int ddbs_fast_body_put_item(const char *table, const char *hash_key, const char *key, size_t key_len,
                            const char *ttl_key, long long expires, const char *session_json,
                            size_t session_len, ddbs_buf *out, char *err, size_t errlen);
int ddbs_fast_parse_get_item(const char *body, size_t len, const char *ttl_key, long long now_seconds,
                             ddbs_buf *session_out, int *found, char *err, size_t errlen);

/* 1 when text[0..len) is exactly what ddbs_format_double() prints for the double it denotes (so it
 * can be copied verbatim), 0 when that is not known cheaply. Exposed for the tests. */
int ddbs_number_is_canonical(const char *text, size_t len);

#endif
