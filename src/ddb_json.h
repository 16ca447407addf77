/* ddb_json.h: session JSON text <-> DynamoDB attribute values, and the bodies of the data-plane
 * requests (GetItem, PutItem, DeleteItem) and their responses. The PutItem body and the GetItem
 * answer go through single-pass converters (no tree, no per-value allocation); anything they do
 * not handle exactly is handed to the jansson implementations (ddb_json_ref.h), which are also the
 * reference for the differential tests and fuzzers.
 * Pure: no I/O, no clock (the current time is passed in), no globals. Thread: any (the client
 * calls it on its worker thread).
 *
 * Mapping (the same as aws-sdk's DocumentClient, so items are shared with the JavaScript package):
 *   object -> M, array -> L, string -> S, number -> N, true/false -> BOOL, null -> NULL.
 *   Reading also accepts SS/NS (-> arrays), B (-> base64 string), BS (-> array of base64 strings).
 * Numbers: written and read as the shortest decimal text that gives back the same double (what
 * JavaScript's Number#toString gives, modulo exponent spelling), so 0.1 stays 0.1 and 2^53-1 stays
 * exact. Empty strings, objects and arrays are preserved. Strings may hold any Unicode, and NUL.
 *
 * Error convention: functions return 0 (or a new reference) on success; on failure they return one
 * of the negative DDBS_E_* codes (or NULL) and write a one-line, human-readable reason into err. */
#ifndef DDBS_DDB_JSON_H
#define DDBS_DDB_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"

#define DDBS_E_NOMEM -1     /* allocation failed */
#define DDBS_E_INPUT -2     /* the session (or key) cannot be stored: bad JSON, too deep, number out of range */
#define DDBS_E_TOO_LARGE -3 /* the item would exceed DynamoDB's 400 KB item size limit */
#define DDBS_E_RESPONSE -4  /* the server's answer is not what DynamoDB sends */

#define DDBS_MAX_DEPTH 32          /* DynamoDB's limit on nested attribute levels */
#define DDBS_MAX_ITEM_SIZE 409600  /* DynamoDB's item size limit, bytes */

/* The shortest decimal text that strtod() reads back as exactly d ("0.1", "9007199254740991",
 * "1e+21", "-5e-324"). d must be finite. out must hold 32 bytes. Returns the length, or -1. */
int ddbs_format_double(double d, char out[32]);

/* A jansson value (as decoded from session JSON) -> a new AttributeValue ({"M": ...} etc.), or NULL. */
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

/* Request bodies (compact JSON, appended to out). key is UTF-8 of key_len bytes. */
int ddbs_body_get_item(const char *table, const char *hash_key, const char *key, size_t key_len,
                       int consistent_read, ddbs_buf *out, char *err, size_t errlen);
/* expires < 0: no ttl attribute. The session attribute is named "session". Fails with
 * DDBS_E_TOO_LARGE (and the size in err) when the item is over DDBS_MAX_ITEM_SIZE. */
int ddbs_body_put_item(const char *table, const char *hash_key, const char *key, size_t key_len,
                       const char *ttl_key, long long expires, const char *session_json,
                       size_t session_len, ddbs_buf *out, char *err, size_t errlen);
int ddbs_body_delete_item(const char *table, const char *hash_key, const char *key, size_t key_len,
                          ddbs_buf *out, char *err, size_t errlen);

/* A GetItem response body -> the session's JSON text.
 * *found = 0 when there is no Item, or when ttl_key is non-NULL and the item's ttl attribute is a
 * number <= now_seconds (DynamoDB deletes expired items lazily, days later); *found = 1 and the JSON
 * text of the "session" attribute appended to session_out otherwise (an item without a "session"
 * attribute gives the JSON text of the whole item as an object, as the JavaScript package did). */
int ddbs_parse_get_item(const char *body, size_t len, const char *ttl_key, long long now_seconds,
                        ddbs_buf *session_out, int *found, char *err, size_t errlen);

/* An error response body {"__type":"com.amazonaws.dynamodb.v20120810#Code","message":"..."}
 * ("Message" too) -> code (the part after '#') and message, NUL-terminated and truncated to fit.
 * Returns 0 when the body has a __type, DDBS_E_RESPONSE otherwise (code/message then empty). */
int ddbs_parse_error(const char *body, size_t len, char *code, size_t code_size, char *message,
                     size_t message_size);

#endif
