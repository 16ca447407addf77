/* ddb_json.h: the bodies of the data-plane requests (GetItem, PutItem, DeleteItem) and the reading
 * of their answers: session JSON text <-> DynamoDB attribute values, written and read by
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

#define DDBS_MAX_DEPTH 32          /* DynamoDB's limit on nested attribute levels */
#define DDBS_MAX_ITEM_SIZE 409600  /* DynamoDB's item size limit, bytes */
#define DDBS_CHECK_MAX_DEPTH 128   /* nesting ddbs_json_check_object accepts */

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
 * hash_key / key[0..key_len): the key attribute's name and the key asked for. When the answer has
 * an Item, the Item must hold hash_key as {"S": <exactly key>}; anything else (the attribute
 * missing, of another type, or another value) returns DDBS_E_MISMATCH: the answer is for another
 * key (a crossed answer), and nothing of it may be used.
 * *found = 0 when there is no Item, or when ttl_key is non-NULL and the item's ttl attribute is a
 * number <= now_seconds (DynamoDB deletes expired items lazily, days later); *found = 1 and the JSON
 * text of the "session" attribute appended to session_out otherwise (an item without a "session"
 * attribute gives the JSON text of the whole item as an object, as the JavaScript package did).
 * DDBS_E_INPUT for bad arguments: no hash_key, an empty or non-UTF-8 key, hash_key or ttl_key
 * named "session", or both the same name. */
int ddbs_parse_get_item(const char *body, size_t len, const char *hash_key, const char *key, size_t key_len,
                        const char *ttl_key, long long now_seconds, ddbs_buf *session_out, int *found,
                        char *err, size_t errlen);

/* An error response body {"__type":"com.amazonaws.dynamodb.v20120810#Code","message":"..."}
 * ("Message" too) -> code (the part after '#') and message, NUL-terminated and truncated to fit.
 * Returns 0 when the body is a JSON object with a string __type that names a code (not "", nor
 * "prefix#"), DDBS_E_RESPONSE otherwise (code and message then empty). */
int ddbs_parse_error(const char *body, size_t len, char *code, size_t code_size, char *message,
                     size_t message_size);

/* Is body[0..len) exactly one JSON object (RFC 8259; JSON whitespace around it allowed)? Strings
 * must be valid UTF-8 with valid escapes (a \u escape of a lone surrogate is refused, as jansson
 * does), numbers valid JSON numbers (of any magnitude), nesting at most DDBS_CHECK_MAX_DEPTH
 * objects and arrays. 0 when it is, DDBS_E_RESPONSE when not. No allocation, one pass: for the
 * answers to PutItem and DeleteItem ("{}" or a small object). */
int ddbs_json_check_object(const char *body, size_t len);

#endif
