/* ddb_json_ref.h: for the unit tests and the fuzzers (the addon only uses ddb_json.h).
 *
 *   reference  (ddb_ref.c) jansson decodes the whole text into a tree, then a writer walks the
 *              tree. Slow, but simple and obviously right: it defines the expected output and
 *              every error code. Also the jansson-value functions the tests use to build and
 *              inspect attribute values.
 *   one pass   (ddb_json.c) one scan over the text, writing straight into the output: no tree, no
 *              allocation per value, numbers and strings copied verbatim when they are already in
 *              the form the reference would print. It takes what real clients and DynamoDB send;
 *              for anything else (any error, a repeated key, values nested past its limits, a
 *              number DynamoDB cannot store...) it declines: the output is left as it was.
 *   two pass   (ddb_json.c) validates the whole text first (exactly what jansson accepts), then
 *              converts it, an object's members looked at before its values are written (so a
 *              repeated key keeps its last value at its first place, and a value that a later
 *              key replaces cannot cause an error). Complete: it never declines.
 * The public functions (ddb_json.h) run the one-pass converter and, when it declines, the
 * two-pass one; ddbs_parse_error is a two-pass reader, and so is ddbs_body_update_item
 * (ddb_update.c, on the two-pass field readers of ddb_json.c): its bodies are small.
 *
 * Contract (what the differential tests and fuzzers check): for every input, the reference, the
 * two-pass converter, the public function, and the one-pass converter when it does not decline,
 * return the same code, the same *found and *version and byte-identical output on success (and,
 * for DDBS_E_TOO_LARGE and DDBS_E_TOO_MANY, the same message: the same sizes). Other error messages
 * may differ. */
#ifndef DDBS_DDB_JSON_REF_H
#define DDBS_DDB_JSON_REF_H

#include <jansson.h>

#include "ddb_json.h"

/* ---- reference (jansson) ------------------------------------------------------------------- */

/* Same contracts as ddbs_body_put_item / ddbs_body_put_item_cond / ddbs_body_update_item /
 * ddbs_parse_get_item / ddbs_parse_error (ddb_json.h). */
int ddbs_ref_body_put_item(const char *table, const char *hash_key, const char *key, size_t key_len,
                           const char *ttl_key, long long expires, const char *session_json,
                           size_t session_len, ddbs_buf *out, char *err, size_t errlen);
int ddbs_ref_body_put_item_cond(const char *table, const char *hash_key, const char *key, size_t key_len,
                                const char *ttl_key, long long expires, const char *session_json,
                                size_t session_len, const ddbs_write_cond *cond, ddbs_buf *out, char *err,
                                size_t errlen);
int ddbs_ref_body_update_item(const char *table, const char *hash_key, const char *key, size_t key_len,
                              const char *ttl_key, long long expires, const char *set_json, size_t set_len,
                              const char *remove_json, size_t remove_len, const ddbs_write_cond *cond,
                              ddbs_buf *out, char *err, size_t errlen);
/* A conditional PutItem or UpdateItem body is well formed: JSON without repeated keys; every
 * placeholder (#x, :x) in the expressions defined, every defined one used; ExpressionAttributeValues
 * never empty; no empty attribute name; no two #f placeholders for one field; no names or values
 * without an expression. require_update: an UpdateExpression of at most DDBS_MAX_EXPRESSION bytes
 * and ExpressionAttributeNames are required. 1, or 0 with the reason in why. (jansson; tests and
 * fuzzers only.) */
int ddbs_ref_expression_body_ok(const char *body, size_t len, int require_update, char *why, size_t why_len);
int ddbs_ref_parse_get_item(const char *body, size_t len, const char *hash_key, const char *key,
                            size_t key_len, const char *ttl_key, long long now_seconds,
                            const char *version_key, long long *version, ddbs_buf *session_out,
                            int *found, char *err, size_t errlen);
int ddbs_ref_parse_error(const char *body, size_t len, char *code, size_t code_size, char *message,
                         size_t message_size);

/* A jansson value (as decoded from session JSON) -> a new AttributeValue ({"M": ...} etc.), or
 * NULL (err says why). */
json_t *ddbs_value_to_attr(const json_t *value, char *err, size_t errlen);

/* JSON text (UTF-8, e.g. from JSON.stringify) -> a new AttributeValue, or NULL. Numbers are read
 * as doubles (integers too, so 2^64 is fine). NUL inside strings is kept. */
json_t *ddbs_json_text_to_attr(const char *text, size_t len, char *err, size_t errlen);

/* Appends the JSON text of an AttributeValue to out: compact, keys in the order the server sent
 * them, strings escaped as JSON.stringify does (", \, control characters; other UTF-8 raw). */
int ddbs_attr_to_json_text(const json_t *attr, ddbs_buf *out, char *err, size_t errlen);

/* DynamoDB's size of an item (attribute names plus values, by the rules of the DynamoDB developer
 * guide "Item sizes"): item is the "Item" object {name: AttributeValue, ...}. */
size_t ddbs_item_size(const json_t *item);

/* ---- the two stages of the converters (ddb_json.c) ------------------------------------------ */

/* Returned by the one-pass functions when they leave the input to the two-pass ones. */
#define DDBS_ONEPASS_DECLINED 1

/* 0 (done), a DDBS_E_* code (argument errors, DDBS_E_TOO_LARGE, DDBS_E_MISMATCH, DDBS_E_NOMEM;
 * err set), or DDBS_ONEPASS_DECLINED (out unchanged, *found = 0, *version = -1, err untouched).
 * The put functions without _cond are the _cond ones with cond NULL. */
int ddbs_onepass_body_put_item(const char *table, const char *hash_key, const char *key, size_t key_len,
                               const char *ttl_key, long long expires, const char *session_json,
                               size_t session_len, ddbs_buf *out, char *err, size_t errlen);
int ddbs_onepass_body_put_item_cond(const char *table, const char *hash_key, const char *key, size_t key_len,
                                    const char *ttl_key, long long expires, const char *session_json,
                                    size_t session_len, const ddbs_write_cond *cond, ddbs_buf *out,
                                    char *err, size_t errlen);
int ddbs_onepass_parse_get_item(const char *body, size_t len, const char *hash_key, const char *key,
                                size_t key_len, const char *ttl_key, long long now_seconds,
                                const char *version_key, long long *version, ddbs_buf *session_out,
                                int *found, char *err, size_t errlen);

/* Same contracts as the public functions; never decline. */
int ddbs_twopass_body_put_item(const char *table, const char *hash_key, const char *key, size_t key_len,
                               const char *ttl_key, long long expires, const char *session_json,
                               size_t session_len, ddbs_buf *out, char *err, size_t errlen);
int ddbs_twopass_body_put_item_cond(const char *table, const char *hash_key, const char *key, size_t key_len,
                                    const char *ttl_key, long long expires, const char *session_json,
                                    size_t session_len, const ddbs_write_cond *cond, ddbs_buf *out,
                                    char *err, size_t errlen);
int ddbs_twopass_parse_get_item(const char *body, size_t len, const char *hash_key, const char *key,
                                size_t key_len, const char *ttl_key, long long now_seconds,
                                const char *version_key, long long *version, ddbs_buf *session_out,
                                int *found, char *err, size_t errlen);

#endif
