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

/* Argument checks of PutItem (with_ttl: a ttl attribute will be written) and of the GetItem
 * readers; DDBS_E_INPUT with the reason. The same in every implementation. */
int ddbs_check_put_args(const char *table, const char *hash_key, const char *key, size_t key_len,
                        const char *ttl_key, int with_ttl, char *err, size_t errlen);
int ddbs_check_get_args(const char *hash_key, const char *key, size_t key_len, const char *ttl_key,
                        char *err, size_t errlen);

/* Appends {"TableName":table,"<field>":{hash_key:{"S":key} (the caller closes it). 0 or -1. */
int ddbs_write_body_start(const char *table, const char *field, const char *hash_key, const char *key,
                          size_t key_len, ddbs_buf *out);
/* Appends the ttl attribute (when with_ttl) and closes a PutItem body; adds the ttl's size to
 * *size. 0 or -1 (no memory). */
int ddbs_write_put_end(const char *ttl_key, int with_ttl, long long expires, ddbs_buf *out, size_t *size);

#endif
