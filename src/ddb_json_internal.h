/* ddb_json_internal.h: helpers shared by the converters (ddb_json.c, where they are defined) and
 * the jansson reference (ddb_ref.c), so that both check arguments, write strings, name numbers and
 * word the errors whose text is part of the contract (the item size) the same way. Not part of the
 * addon's API. Pure; thread: any. */
#ifndef DDBS_DDB_JSON_INTERNAL_H
#define DDBS_DDB_JSON_INTERNAL_H

#include <stddef.h>

#include "buf.h"
#include "ddb_json.h"

#define DDBS_SESSION_ATTR "session"
#define DDBS_MAX_READ_DEPTH 64   /* nesting of attribute values accepted in answers (DynamoDB: 32) */
#define DDBS_MAX_KEY_BYTES 2048  /* DynamoDB's limit on a partition key value */
#define DDBS_JSON_MAX_DEPTH 2048 /* jansson's parser: values nested deeper are an error */

/* Formats the reason into err (when err and errlen allow) and returns code. */
int ddbs_fail(char *err, size_t errlen, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
int ddbs_fail_nomem(char *err, size_t errlen);
/* "session item is N bytes; DynamoDB's item limit is 409600 bytes" */
int ddbs_fail_too_large(size_t size, char *err, size_t errlen);
/* "the answer is for another key" (names the attribute, never a key) */
int ddbs_fail_mismatch(const char *hash_key, int missing, char *err, size_t errlen);
/* UpdateItem: "the updated session item would be at least N bytes; ..." (DDBS_E_TOO_LARGE) */
int ddbs_fail_update_too_large(size_t size, char *err, size_t errlen);
/* UpdateItem: DDBS_E_TOO_MANY (with the first limit passed, and by how much) when the
 * UpdateExpression of expr_len bytes, with ops actions, or its names and values of subst bytes,
 * pass DynamoDB's limits (ddb_json.h); else 0. */
int ddbs_check_update_limits(size_t expr_len, size_t ops, size_t subst, char *err, size_t errlen);

/* Undoes a partial append: out goes back to start bytes. */
void ddbs_truncate_buf(ddbs_buf *out, size_t start);

/* Strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF); NUL allowed. 1 or 0. */
int ddbs_utf8_valid(const unsigned char *s, size_t len);

/* Appends s as a JSON string literal, escaped as JSON.stringify does (", \, control characters;
 * the short forms \b \f \n \r \t, else \u00xx; other UTF-8 raw). 0 or -1 (no memory). */
int ddbs_write_json_string(ddbs_buf *out, const char *s, size_t len);

/* Copies src (len bytes) into dst (size bytes), NUL-terminated, cut at a UTF-8 boundary. */
void ddbs_copy_truncated(char *dst, size_t size, const char *src, size_t len);

/* An error answer's __type -> its code (AWS JSON protocols: drop anything from the first ':',
 * keep what follows the first '#'), copied into code as ddbs_copy_truncated does. Returns the
 * code's length before truncation (0: the type names no code). */
size_t ddbs_error_code_from_type(const char *type, size_t len, char *code, size_t code_size);

/* A session number -> its N text (length in *len): DDBS_E_INPUT (err says why) when it is not
 * finite or DynamoDB cannot store it (magnitudes 1E-130 .. 9.99..9E+125, or 0). */
int ddbs_session_number(double v, char text[32], int *len, char *err, size_t errlen);

/* Argument checks of PutItem and UpdateItem (with_ttl: a ttl attribute will be written), of their
 * conditions (is_put: new_version is checked too; ddb_json.h says what is refused) and of the
 * GetItem readers; DDBS_E_INPUT with the reason. The same in every implementation. */
int ddbs_check_put_args(const char *table, const char *hash_key, const char *key, size_t key_len,
                        const char *ttl_key, int with_ttl, char *err, size_t errlen);
int ddbs_check_cond(const char *hash_key, const char *ttl_key, const ddbs_write_cond *cond, int is_put,
                    char *err, size_t errlen);
int ddbs_check_get_args(const char *hash_key, const char *key, size_t key_len, const char *ttl_key,
                        const char *version_key, char *err, size_t errlen);

/* Does cond ask for a condition (require_exists, or an expected version)? */
#define DDBS_COND_HAS_CONDITION(c) ((c) && ((c)->require_exists || (c)->expect_version != -2))

/* Appends {"TableName":table,"<field>":{hash_key:{"S":key} (the caller closes it). 0 or -1. */
int ddbs_write_body_start(const char *table, const char *field, const char *hash_key, const char *key,
                          size_t key_len, ddbs_buf *out);
/* ---- production only (ddb_json.c for ddb_update.c) ---------------------------------------- */

/* The condition of cond (ddbs_write_cond): appends its expression to expr (nothing when it has
 * none) and its names and values, as JSON object members ("#k":"id"), to names and values, each
 * after a ',' when the buffer is not empty; #ver is not added again when ver_named. Adds their
 * bytes (placeholder, name or value size) to *subst. 0 or -1 (no memory). */
int ddbs_write_condition(const char *hash_key, const ddbs_write_cond *cond, int ver_named, ddbs_buf *expr,
                         ddbs_buf *names, ddbs_buf *values, size_t *subst);
/* Appends ,"UpdateExpression":update (when update), ,"ConditionExpression":cond (when cond is not
 * empty), ,"ExpressionAttributeNames":{names} (when not empty), ,"ExpressionAttributeValues":{values}
 * (when not empty), and the closing '}'. 0 or -1. */
int ddbs_write_expressions(const ddbs_buf *update, const ddbs_buf *cond, const ddbs_buf *names,
                           const ddbs_buf *values, ddbs_buf *out);

/* The fields of an UpdateItem, as read by ddbs_read_set_fields and ddbs_read_remove_fields. */
typedef struct ddbs_field {
  size_t name_off, name_len; /* the decoded name, in ddbs_fields.names */
  size_t val_off, val_len;   /* a field set: its AttributeValue's JSON text, in ddbs_fields.values */
  size_t size;               /* a field set: DynamoDB's size of its value */
} ddbs_field;
typedef struct ddbs_fields {
  ddbs_field *f;
  size_t n, cap;
  ddbs_buf names, values;
  size_t size; /* the fields set: their size as members of a map (1 + name + value each) */
} ddbs_fields;
#define DDBS_FIELDS_INIT {NULL, 0, 0, DDBS_BUF_INIT, DDBS_BUF_INIT, 0}
void ddbs_fields_free(ddbs_fields *fl);
/* set_json (an object) -> its members (a repeated name: its last value, at its first place), each
 * value converted as a session's value at nesting level 2; remove_json (an array of strings) ->
 * its names, repeats included. Empty names and names with U+0000 are refused. 0, DDBS_E_INPUT or
 * DDBS_E_NOMEM (err says why). Two passes, as ddbs_twopass_body_put_item. */
/* The session's JSON text as one AttributeValue (what PutItem writes as the "session" attribute),
 * appended to out, and its DynamoDB size in *size. One pass, else two (as the PutItem converters).
 * 0, DDBS_E_INPUT or DDBS_E_NOMEM (err says why); out is left as it was on failure. */
int ddbs_session_value(const char *json, size_t len, ddbs_buf *out, size_t *size, char *err, size_t errlen);
int ddbs_read_set_fields(const char *json, size_t len, ddbs_fields *fl, char *err, size_t errlen);
int ddbs_read_remove_fields(const char *json, size_t len, ddbs_fields *fl, char *err, size_t errlen);

#endif
