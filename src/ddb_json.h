/* ddb_json.h: the bodies of the data-plane requests (GetItem, PutItem, UpdateItem, DeleteItem) and
 * the reading of their answers: session JSON text <-> DynamoDB attribute values, written and read by
 * converters that work on the text itself (no tree, no jansson; see ddb_json.c). A jansson-based
 * reference implementation of the same functions (ddb_json_ref.h) is the oracle of the
 * differential tests and fuzzers; the addon does not link it.
 * Pure: no I/O, no clock (the current time is passed in), no globals. Thread: any (the client
 * calls it on its worker thread).
 *
 * Mapping (the same as aws-sdk's DocumentClient, so items are shared with the JavaScript package):
 *   object -> M, array -> L, string -> S, number -> N, true/false -> BOOL, null -> NULL.
 *   Reading also accepts SS/NS (-> arrays), B (-> base64 string), BS (-> array of base64 strings).
 * Numbers: written and read as the shortest decimal text that gives back the same double (what
 * JavaScript's Number#toString gives, modulo exponent spelling), so 0.1 stays 0.1 and 2^53-1 stays
 * exact (see ddb_number.h). Empty strings, objects and arrays are preserved. Strings may hold any
 * Unicode, and NUL. JSON text is read as jansson reads it (RFC 8259, strict UTF-8, no lone
 * surrogates, no NUL in keys, nesting up to 2048): an object with a repeated key keeps the last
 * value, at the first key's place.
 *
 * Error convention: functions return 0 on success; on failure they return one of the negative
 * DDBS_E_* codes and write a one-line, human-readable reason into err (never a session key). */
#ifndef DDBS_DDB_JSON_H
#define DDBS_DDB_JSON_H

#include <stddef.h>

#include "buf.h"

#define DDBS_E_NOMEM -1     /* allocation failed */
#define DDBS_E_INPUT -2     /* the session (or key) cannot be stored: bad JSON, too deep, number out of range */
#define DDBS_E_TOO_LARGE -3 /* the item would exceed DynamoDB's 400 KB item size limit */
#define DDBS_E_RESPONSE -4  /* the server's answer is not what DynamoDB sends */
#define DDBS_E_MISMATCH -5  /* a GetItem answer whose item is for another key than the one asked for */
#define DDBS_E_TOO_MANY -6  /* an UpdateItem whose expression would pass DynamoDB's expression limits
                               (see ddbs_body_update_item): write the whole session instead */

#define DDBS_MAX_DEPTH 32          /* DynamoDB's limit on nested attribute levels */
#define DDBS_MAX_ITEM_SIZE 409600  /* DynamoDB's item size limit, bytes */
#define DDBS_CHECK_MAX_DEPTH 128   /* nesting ddbs_json_check_object accepts */
#define DDBS_MAX_VERSION 9007199254740991LL /* 2^53 - 1: the largest version (exact in JavaScript) */
#define DDBS_MAX_EXPRESSION 4096   /* DynamoDB's limit on an expression string, bytes */
#define DDBS_MAX_OPERATIONS 300    /* DynamoDB's limit on operators and functions in an UpdateExpression */
#define DDBS_MAX_SUBSTITUTIONS (2 * 1024 * 1024) /* DynamoDB's limit on all expression names and values */

/* Conditions on a write (ddbs_body_put_item_cond, ddbs_body_update_item). The names in the
 * expressions are placeholders: #k the hash key attribute, #ver the version attribute; :ev the
 * expected version. The ConditionExpression joins, in this order and with " AND ":
 *   require_exists          attribute_exists(#k)
 *   expect_version == -1    attribute_not_exists(#ver)
 *   expect_version >= 0     #ver = :ev
 * and there is none when neither applies. DDBS_E_INPUT: an expect_version other than -2 without a
 * version_key, an expect_version below -2 or above DDBS_MAX_VERSION, a version_key that is empty,
 * not UTF-8, or named "session" or as the hash key or the ttl attribute (when ttl_key is given). */
/* Top-level attributes an UpdateItem keeps beside the session (ddbs_body_update_item,
 * ddbs_body_write_session; PutItem refuses them): the user attribute, set to user_value or removed
 * when user_value is NULL (SET #u = :u / REMOVE #u), and the creation time, written only when the
 * item has none (SET #c = if_not_exists(#c, :c)). DDBS_E_INPUT: a name that is empty, not UTF-8,
 * or the same as the hash key, ttl, version, session or the other one; a user_value that is empty,
 * not UTF-8 or longer than DDBS_MAX_USER_BYTES; a created_at below 0. */
#define DDBS_MAX_USER_BYTES 1024
typedef struct ddbs_item_attrs {
  const char *user_key;    /* NULL: the user attribute is left alone */
  const char *user_value;  /* user_len bytes of UTF-8; NULL: remove the attribute */
  size_t user_len;
  const char *created_key; /* NULL: no creation time */
  long long created_at;    /* epoch seconds */
} ddbs_item_attrs;

typedef struct ddbs_write_cond {
  const char *version_key; /* the version attribute's name (e.g. "version"); NULL: no version handling at all */
  long long new_version;   /* put: the version written (1 .. DDBS_MAX_VERSION); update: ignored (the update increments) */
  int require_exists;      /* nonzero: the item must exist (attribute_exists on the hash key) */
  long long expect_version;/* -2: no version condition; -1: the item must have no version attribute
                              (attribute_not_exists); >= 0: the version attribute must equal it */
  const ddbs_item_attrs *attrs; /* update and write_session only; NULL: none */
} ddbs_write_cond;

/* Request bodies (compact JSON, appended to out). key is UTF-8 of key_len bytes. */
int ddbs_body_get_item(const char *table, const char *hash_key, const char *key, size_t key_len,
                       int consistent_read, ddbs_buf *out, char *err, size_t errlen);
/* expires < 0: no ttl attribute. The session attribute is named "session". Fails with
 * DDBS_E_TOO_LARGE (and the size in err) when the item is over DDBS_MAX_ITEM_SIZE. */
int ddbs_body_put_item(const char *table, const char *hash_key, const char *key, size_t key_len,
                       const char *ttl_key, long long expires, const char *session_json,
                       size_t session_len, ddbs_buf *out, char *err, size_t errlen);
/* ddbs_body_put_item's body and, with cond->version_key, the attribute
 * "<version_key>":{"N":"<new_version>"} in the Item (after the ttl; counted in the item size); with
 * a condition (see ddbs_write_cond), after the Item: "ConditionExpression", "ExpressionAttributeNames"
 * (#k, #ver, in the order the condition names them) and, for an expected version,
 * "ExpressionAttributeValues" {":ev":{"N":"<expect_version>"}}. cond NULL (or one without a
 * version_key or a condition): exactly ddbs_body_put_item's body. */
int ddbs_body_put_item_cond(const char *table, const char *hash_key, const char *key, size_t key_len,
                            const char *ttl_key, long long expires, const char *session_json,
                            size_t session_len, const ddbs_write_cond *cond, ddbs_buf *out, char *err,
                            size_t errlen);
/* An UpdateItem body (ddb_update.c) that sets and removes top-level fields of the "session" map:
 *   set_json     NULL, or the JSON text of an object {field: value, ...}: the fields to set, each
 *                value converted as ddbs_body_put_item converts a session's values (the same
 *                mapping, numbers, UTF-8 and depth checks: a value counts as nesting level 2);
 *                a repeated field keeps its last value, at its first place (as everywhere).
 *   remove_json  NULL, or the JSON text of an array of field names (strings) to remove; a name
 *                given twice is removed once.
 *   expires      >= 0 with a ttl_key: also sets the ttl attribute.
 *   cond         NULL, or the version attribute to increment (version_key) and the conditions
 *                (ddbs_write_cond; new_version is not used).
 * Body: {"TableName":..,"Key":{hash_key:{"S":key}},"UpdateExpression":..,["ConditionExpression":..,]
 * "ExpressionAttributeNames":{..}[,"ExpressionAttributeValues":{..}]}, with the expression
 *   SET #s.#f0 = :v0, #s.#f1 = :v1, #t = :t, #ver = if_not_exists(#ver, :zero) + :one REMOVE #s.#f2
 * Placeholders: #s "session"; #f<i> the fields, numbered from 0 in their order, those set first,
 * then those removed; :v<i> the value of #f<i>; #t and :t the ttl attribute and expires; #ver the
 * version attribute, :zero {"N":"0"} and :one {"N":"1"}; #k, :ev as in ddbs_write_cond. Names and
 * values are listed in the order the UpdateExpression, then the ConditionExpression, first use them.
 * Every field name is an expression attribute name, so any name is fine (dots, spaces, reserved
 * words, any Unicode), but for the empty one.
 * Fails with DDBS_E_INPUT for bad arguments, set_json that is not valid JSON or not an object, or
 * with a value DynamoDB cannot store, remove_json that is not an array of strings, an empty field
 * name or one holding U+0000, a field both set and removed, or nothing to do at all (no field, no
 * ttl, no version). DDBS_E_TOO_LARGE (the size in err) when the request's values alone pass
 * DDBS_MAX_ITEM_SIZE: the size an item holding just the key, a session map of the fields set and
 * the ttl attribute would have -- a lower bound of the updated item's size, which cannot be known
 * here (DynamoDB refuses an update that makes the item too large: a ValidationException).
 * DDBS_E_TOO_MANY when the UpdateExpression would be longer than DDBS_MAX_EXPRESSION bytes (about
 * 235 fields set, with the ttl and the version), or hold more than DDBS_MAX_OPERATIONS actions
 * (each field set or removed, the ttl, and the version's increment as 3, counted: more than
 * DynamoDB counts), or its names and values (placeholders, names, values' sizes) together pass
 * DDBS_MAX_SUBSTITUTIONS bytes: the caller then writes the whole session
 * (ddbs_body_put_item_cond). The errors are checked in that order: arguments, INPUT, TOO_LARGE,
 * TOO_MANY. The body sets #s.#f<i>, so the item's "session" attribute must be a map: DynamoDB
 * refuses the update (a ValidationException) when it is missing, e.g. on an item that is not
 * there (without require_exists) or one written without a "session" attribute. */
int ddbs_body_update_item(const char *table, const char *hash_key, const char *key, size_t key_len,
                          const char *ttl_key, long long expires, const char *set_json, size_t set_len,
                          const char *remove_json, size_t remove_len, const ddbs_write_cond *cond,
                          ddbs_buf *out, char *err, size_t errlen);
/* The whole session as an UpdateItem (ddb_update.c): every write of a whole session goes this way,
 * so that the attributes it does not own (the creation time, anything else on the item) stay.
 *   session_json  the session's JSON text, stored as a map (converted as ddbs_body_put_item does),
 *   or blob_b64   (when session_json is NULL) the base64 text of a stored blob of blob_len bytes,
 *                 stored as a binary attribute {"B": blob_b64}.
 *   cond          NULL, or the conditions; with a version_key and new_version >= 1 the version is
 *                 set to new_version (as PutItem would), with new_version 0 it is left as it is (a
 *                 touch); attrs as in ddbs_item_attrs.
 * Expression: SET #s = :s, #t = :t, #ver = :nv, #u = :u, #c = if_not_exists(#c, :c) REMOVE #u
 * (each part when it applies), the condition as ddbs_write_cond says; :s is the last value of
 * ExpressionAttributeValues. DDBS_E_INPUT and DDBS_E_TOO_LARGE as ddbs_body_put_item_cond (the item
 * size counts the key, the session, the ttl, the version and the user attribute). */
int ddbs_body_write_session(const char *table, const char *hash_key, const char *key, size_t key_len,
                            const char *ttl_key, long long expires, const char *session_json, size_t session_len,
                            const char *blob_b64, size_t b64_len, size_t blob_len, const ddbs_write_cond *cond,
                            ddbs_buf *out, char *err, size_t errlen);
int ddbs_body_delete_item(const char *table, const char *hash_key, const char *key, size_t key_len,
                          ddbs_buf *out, char *err, size_t errlen);

/* A GetItem response body -> the session's JSON text.
 * hash_key / key[0..key_len): the key attribute's name and the key asked for. When the answer has
 * an Item, the Item must hold hash_key as {"S": <exactly key>}; anything else (the attribute
 * missing, of another type, or another value) returns DDBS_E_MISMATCH: the answer is for another
 * key (a crossed answer), and nothing of it may be used.
 * *found = 0 when there is no Item, or when ttl_key is non-NULL and the item's ttl attribute is a
 * number <= now_seconds (DynamoDB deletes expired items lazily, days later); *found = 1 and the JSON
 * text of the "session" attribute appended to session_out otherwise (an item without a "session"
 * attribute gives the JSON text of the whole item as an object, as the JavaScript package did;
 * nothing is left out of it).
 * version_key: NULL, or the name of the version attribute: *version (when version is non-NULL)
 * = its value when *found = 1 and the item holds it as {"N": "<digits>"}, an integer from 0 to
 * DDBS_MAX_VERSION (no sign, point or exponent; leading zeros are fine); -1 otherwise (no version
 * attribute, of another type or form, not found, expired, or an error): never an error itself.
 * The version attribute is not part of the session text (but for a whole item, see above).
 * DDBS_E_INPUT for bad arguments: no hash_key, an empty or non-UTF-8 key, hash_key, ttl_key or
 * version_key named "session", any two of them the same name, or an empty or non-UTF-8 name. */
int ddbs_parse_get_item(const char *body, size_t len, const char *hash_key, const char *key, size_t key_len,
                        const char *ttl_key, long long now_seconds, const char *version_key,
                        long long *version, ddbs_buf *session_out, int *found, char *err, size_t errlen);

/* ddbs_parse_get_item, and the answer's consumed capacity (ddbs_parse_consumed_capacity's sum) in
 * *capacity, read in the same pass where it can be (0 on failure, or when there is none). */
int ddbs_parse_get_item_capacity(const char *body, size_t len, const char *hash_key, const char *key,
                                 size_t key_len, const char *ttl_key, long long now_seconds,
                                 const char *version_key, long long *version, ddbs_buf *session_out, int *found,
                                 double *capacity, char *err, size_t errlen);

/* An error response body {"__type":"com.amazonaws.dynamodb.v20120810#Code","message":"..."}
 * ("Message" too) -> code (the part after '#') and message, NUL-terminated and truncated to fit.
 * Returns 0 when the body is a JSON object with a string __type that names a code (not "", nor
 * "prefix#"), DDBS_E_RESPONSE otherwise (code and message then empty). */
int ddbs_parse_error(const char *body, size_t len, char *code, size_t code_size, char *message,
                     size_t message_size);

/* The capacity units an answer reports (ReturnConsumedCapacity TOTAL): the top-level
 * "ConsumedCapacity" object's CapacityUnits, or the sum over an array of them (BatchWriteItem).
 * *units = 0 when there is none. 0, or DDBS_E_RESPONSE when the body is not a readable object. */
int ddbs_parse_consumed_capacity(const char *body, size_t len, double *units);

/* 1 when a GetItem answer's Item holds the "session" attribute as a binary value {"B": ...} (a
 * stored blob: compressed or encrypted), 0 otherwise (for a body ddbs_parse_get_item accepted). */
int ddbs_get_item_session_is_blob(const char *body, size_t len);

/* Is body[0..len) exactly one JSON object (RFC 8259; JSON whitespace around it allowed)? Strings
 * must be valid UTF-8 with valid escapes (a \u escape of a lone surrogate is refused, as jansson
 * does), numbers valid JSON numbers (of any magnitude), nesting at most DDBS_CHECK_MAX_DEPTH
 * objects and arrays. 0 when it is, DDBS_E_RESPONSE when not. No allocation, one pass: for the
 * answers to PutItem and DeleteItem ("{}" or a small object). */
int ddbs_json_check_object(const char *body, size_t len);

#endif
