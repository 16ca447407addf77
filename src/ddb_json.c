/* ddb_json.c: the production converters (see ddb_json.h): the GetItem/PutItem/DeleteItem request
 * bodies, session JSON text -> PutItem body (with its conditions), GetItem answer -> session JSON
 * text and version, error answers, and the strict JSON object check for the other answers; and,
 * for ddb_update.c, the readers of an UpdateItem's fields and the writer of write conditions. They work on the text itself: no tree,
 * no jansson. The jansson reference (ddb_ref.c, ddb_json_ref.h) is what they are tested against.
 *
 * Two stages for each converter (ddb_json_ref.h explains them): a one-pass converter for what
 * clients and DynamoDB really send, which declines anything unusual, and a two-pass one
 * (validate exactly as jansson does, then convert) that takes every input. Both stages read JSON
 * as jansson does: the same texts are accepted (but for a jansson bug, see ddb_ref.c: a raw NUL
 * byte after a number is refused here, as everywhere), and an object's repeated key keeps its last
 * value at its first place.
 *
 * Also defines the helpers ddb_ref.c shares (ddb_json_internal.h): argument checks, body pieces,
 * JSON string writing, UTF-8 validation, the error texts that are part of the contract.
 * Owns nothing beyond the buffers of a single call; every function frees what it allocated before
 * returning, and on failure leaves `out` as it found it. Pure: no I/O, no clock, no globals.
 * Thread: any (the client calls it on its worker thread). */
#include "ddb_json.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddb_json_internal.h"
#include "ddb_json_ref.h"
#include "ddb_number.h"

#define SESSION_ATTR DDBS_SESSION_ATTR
#define MAX_READ_DEPTH DDBS_MAX_READ_DEPTH
#define N_MAX_MAGNITUDE 1e126  /* doubles >= this print as >= 1e+126: above 9.99..9E+125 */
#define N_MIN_MAGNITUDE 1e-130 /* doubles < this print as < 1e-130: below DynamoDB's smallest */

/* ---- errors ---------------------------------------------------------------------------- */

int ddbs_fail(char *err, size_t errlen, int code, const char *fmt, ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return code;
}

int ddbs_fail_nomem(char *err, size_t errlen) {
  return ddbs_fail(err, errlen, DDBS_E_NOMEM, "out of memory");
}

int ddbs_fail_too_large(size_t size, char *err, size_t errlen) {
  return ddbs_fail(err, errlen, DDBS_E_TOO_LARGE,
                   "session item is %zu bytes; DynamoDB's item limit is %d bytes", size,
                   DDBS_MAX_ITEM_SIZE);
}

int ddbs_fail_mismatch(const char *hash_key, int missing, char *err, size_t errlen) {
  /* the attribute's name only: both keys are session ids, i.e. secrets */
  return ddbs_fail(err, errlen, DDBS_E_MISMATCH,
                   missing ? "the answer is for another key: its item has no \"%.64s\" attribute"
                           : "the answer is for another key: its item's \"%.64s\" attribute is "
                             "not the key asked for",
                   hash_key);
}

int ddbs_fail_update_too_large(size_t size, char *err, size_t errlen) {
  return ddbs_fail(err, errlen, DDBS_E_TOO_LARGE,
                   "the updated session item would be at least %zu bytes; DynamoDB's item limit is %d "
                   "bytes",
                   size, DDBS_MAX_ITEM_SIZE);
}

int ddbs_check_update_limits(size_t expr_len, size_t ops, size_t subst, char *err, size_t errlen) {
  if (expr_len > DDBS_MAX_EXPRESSION)
    return ddbs_fail(err, errlen, DDBS_E_TOO_MANY,
                     "the update expression would be %zu bytes; DynamoDB's limit is %d bytes", expr_len,
                     DDBS_MAX_EXPRESSION);
  if (ops > DDBS_MAX_OPERATIONS)
    return ddbs_fail(err, errlen, DDBS_E_TOO_MANY,
                     "the update expression would hold %zu actions; DynamoDB's limit is %d", ops,
                     DDBS_MAX_OPERATIONS);
  if (subst > DDBS_MAX_SUBSTITUTIONS)
    return ddbs_fail(err, errlen, DDBS_E_TOO_MANY,
                     "the update's names and values would be %zu bytes; DynamoDB's limit is %d bytes",
                     subst, DDBS_MAX_SUBSTITUTIONS);
  return 0;
}

void ddbs_truncate_buf(ddbs_buf *out, size_t start) {
  out->len = start;
  if (out->data) out->data[start] = '\0';
}

/* ---- strings --------------------------------------------------------------------------- */

int ddbs_utf8_valid(const unsigned char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    unsigned c = s[i];
    size_t n;
    unsigned cp;
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 1, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3, cp = c & 0x07;
    } else {
      return 0;
    }
    if (len - i - 1 < n) return 0;
    for (size_t j = 1; j <= n; j++) {
      if ((s[i + j] & 0xC0) != 0x80) return 0;
      cp = (cp << 6) | (s[i + j] & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return 0;
    i += n + 1;
  }
  return 1;
}

int ddbs_write_json_string(ddbs_buf *out, const char *s, size_t len) {
  static const char hex[] = "0123456789abcdef";
  if (ddbs_buf_reserve(out, len + 2) != 0) return -1;
  if (ddbs_buf_append_char(out, '"') != 0) return -1;
  size_t run = 0; /* start of the pending run of bytes that need no escape */
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    char esc[6] = {'\\', 0, 0, 0, 0, 0};
    size_t elen = 2;
    switch (c) {
      case '"': esc[1] = '"'; break;
      case '\\': esc[1] = '\\'; break;
      case '\b': esc[1] = 'b'; break;
      case '\f': esc[1] = 'f'; break;
      case '\n': esc[1] = 'n'; break;
      case '\r': esc[1] = 'r'; break;
      case '\t': esc[1] = 't'; break;
      default:
        esc[1] = 'u', esc[2] = '0', esc[3] = '0', esc[4] = hex[c >> 4], esc[5] = hex[c & 15];
        elen = 6;
    }
    if (ddbs_buf_append(out, s + run, i - run) != 0 || ddbs_buf_append(out, esc, elen) != 0)
      return -1;
    run = i + 1;
  }
  if (ddbs_buf_append(out, s + run, len - run) != 0) return -1;
  return ddbs_buf_append_char(out, '"');
}

void ddbs_copy_truncated(char *dst, size_t size, const char *src, size_t len) {
  if (!dst || size == 0) return;
  if (len >= size) {
    len = size - 1;
    while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80) len--;
  }
  memcpy(dst, src, len);
  dst[len] = '\0';
}

size_t ddbs_error_code_from_type(const char *t, size_t tlen, char *code, size_t code_size) {
  /* "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException" -> the name */
  const char *colon = memchr(t, ':', tlen);
  if (colon) tlen = (size_t)(colon - t);
  const char *hash = memchr(t, '#', tlen);
  if (hash) {
    tlen -= (size_t)(hash + 1 - t);
    t = hash + 1;
  }
  ddbs_copy_truncated(code, code_size, t, tlen);
  return tlen;
}

/* ---- session numbers ------------------------------------------------------------------- */

int ddbs_session_number(double v, char text[32], int *len, char *err, size_t errlen) {
  *len = ddbs_format_double(v, text);
  if (*len < 0) return ddbs_fail(err, errlen, DDBS_E_INPUT, "session holds a non-finite number");
  double a = fabs(v);
  if (a >= N_MAX_MAGNITUDE || (a != 0 && a < N_MIN_MAGNITUDE))
    return ddbs_fail(err, errlen, DDBS_E_INPUT,
                     "session holds the number %s, which DynamoDB cannot store (magnitudes from 1E-130 "
                     "to 9.9999999999999999999999999999999999999E+125, or 0)",
                     text);
  return 0;
}

/* ---- request bodies -------------------------------------------------------------------- */

#define APPEND(lit) (ddbs_buf_append(out, lit, sizeof(lit) - 1) != 0)

static int check_name(const char *what, const char *name, char *err, size_t errlen) {
  if (!name || !*name) return ddbs_fail(err, errlen, DDBS_E_INPUT, "no %s given", what);
  if (!ddbs_utf8_valid((const unsigned char *)name, strlen(name)))
    return ddbs_fail(err, errlen, DDBS_E_INPUT, "the %s is not valid UTF-8", what);
  return 0;
}

static int check_key_value(const char *key, size_t key_len, char *err, size_t errlen) {
  if (!key || key_len == 0) return ddbs_fail(err, errlen, DDBS_E_INPUT, "the session key is empty");
  if (key_len > DDBS_MAX_KEY_BYTES)
    return ddbs_fail(err, errlen, DDBS_E_INPUT,
                     "the session key is %zu bytes; DynamoDB's partition key limit is %d bytes", key_len,
                     DDBS_MAX_KEY_BYTES);
  if (!ddbs_utf8_valid((const unsigned char *)key, key_len))
    return ddbs_fail(err, errlen, DDBS_E_INPUT, "the session key is not valid UTF-8");
  return 0;
}

static int check_key(const char *table, const char *hash_key, const char *key, size_t key_len,
                     char *err, size_t errlen) {
  int rc = check_name("table name", table, err, errlen);
  if (rc == 0) rc = check_name("hash key attribute name", hash_key, err, errlen);
  if (rc == 0) rc = check_key_value(key, key_len, err, errlen);
  return rc;
}

/* The hash key, ttl and session attributes must have three different names. */
static int check_attr_names(const char *hash_key, const char *ttl_key, char *err, size_t errlen) {
  if (strcmp(hash_key, SESSION_ATTR) == 0)
    return ddbs_fail(err, errlen, DDBS_E_INPUT,
                     "the hash key attribute cannot be named \"" SESSION_ATTR "\"");
  if (ttl_key) {
    int rc = check_name("ttl attribute name", ttl_key, err, errlen);
    if (rc != 0) return rc;
    if (strcmp(ttl_key, SESSION_ATTR) == 0 || strcmp(ttl_key, hash_key) == 0)
      return ddbs_fail(err, errlen, DDBS_E_INPUT,
                       "the ttl attribute cannot be named \"%.64s\" (the %s attribute's name)", ttl_key,
                       strcmp(ttl_key, hash_key) == 0 ? "hash key" : "session");
  }
  return 0;
}

int ddbs_check_put_args(const char *table, const char *hash_key, const char *key, size_t key_len,
                        const char *ttl_key, int with_ttl, char *err, size_t errlen) {
  int rc = check_key(table, hash_key, key, key_len, err, errlen);
  if (rc == 0) rc = check_attr_names(hash_key, with_ttl ? ttl_key : NULL, err, errlen);
  return rc;
}

/* The version attribute's name: a name, and none of the other attributes' (hash_key is valid). */
static int check_version_name(const char *hash_key, const char *ttl_key, const char *version_key, char *err,
                              size_t errlen) {
  int rc = check_name("version attribute name", version_key, err, errlen);
  if (rc != 0) return rc;
  const char *clash = strcmp(version_key, SESSION_ATTR) == 0  ? "session"
                      : strcmp(version_key, hash_key) == 0    ? "hash key"
                      : ttl_key && strcmp(version_key, ttl_key) == 0 ? "ttl"
                                                              : NULL;
  if (clash)
    return ddbs_fail(err, errlen, DDBS_E_INPUT,
                     "the version attribute cannot be named \"%.64s\" (the %s attribute's name)", version_key,
                     clash);
  return 0;
}

/* A top-level attribute's name (ddbs_item_attrs): not empty, UTF-8, none of the store's own. */
static int check_attr_name(const char *what, const char *name, const char *hash_key, const char *ttl_key,
                           const char *version_key, const char *other, char *err, size_t errlen) {
  int rc = check_name(what, name, err, errlen);
  if (rc != 0) return rc;
  if (strcmp(name, SESSION_ATTR) == 0 || strcmp(name, hash_key) == 0 || (ttl_key && strcmp(name, ttl_key) == 0) ||
      (version_key && strcmp(name, version_key) == 0) || (other && strcmp(name, other) == 0))
    return ddbs_fail(err, errlen, DDBS_E_INPUT, "the %s \"%.64s\" is already the name of another attribute", what,
                     name);
  return 0;
}

static int check_item_attrs(const char *hash_key, const char *ttl_key, const ddbs_write_cond *cond, char *err,
                            size_t errlen) {
  const ddbs_item_attrs *a = cond->attrs;
  int rc = 0;
  if (a->user_key) {
    rc = check_attr_name("user attribute name", a->user_key, hash_key, ttl_key, cond->version_key, a->created_key,
                         err, errlen);
    if (rc == 0 && a->user_value &&
        (a->user_len == 0 || a->user_len > DDBS_MAX_USER_BYTES ||
         !ddbs_utf8_valid((const unsigned char *)a->user_value, a->user_len)))
      rc = ddbs_fail(err, errlen, DDBS_E_INPUT, "the user id is empty, not UTF-8 or longer than %d bytes",
                     DDBS_MAX_USER_BYTES);
  }
  if (rc == 0 && a->created_key) {
    rc = check_attr_name("creation time attribute name", a->created_key, hash_key, ttl_key, cond->version_key,
                         a->user_key, err, errlen);
    if (rc == 0 && a->created_at < 0) rc = ddbs_fail(err, errlen, DDBS_E_INPUT, "the creation time is negative");
  }
  return rc;
}

int ddbs_check_cond(const char *hash_key, const char *ttl_key, const ddbs_write_cond *cond, int is_put,
                    char *err, size_t errlen) {
  if (!cond) return 0;
  if (cond->attrs) {
    if (is_put) return ddbs_fail(err, errlen, DDBS_E_INPUT, "PutItem cannot keep the user or creation attributes");
    int rc = check_item_attrs(hash_key, ttl_key, cond, err, errlen);
    if (rc != 0) return rc;
  }
  if (cond->version_key) {
    int rc = check_version_name(hash_key, ttl_key, cond->version_key, err, errlen);
    if (rc != 0) return rc;
    if (is_put && (cond->new_version < 1 || cond->new_version > DDBS_MAX_VERSION))
      return ddbs_fail(err, errlen, DDBS_E_INPUT, "the version to write, %lld, is not from 1 to 2^53 - 1",
                       cond->new_version);
  }
  if (cond->expect_version != -2) {
    if (cond->expect_version < -2 || cond->expect_version > DDBS_MAX_VERSION)
      return ddbs_fail(err, errlen, DDBS_E_INPUT,
                       "the expected version, %lld, is not -2, -1, or from 0 to 2^53 - 1", cond->expect_version);
    if (!cond->version_key)
      return ddbs_fail(err, errlen, DDBS_E_INPUT, "a version condition without a version attribute name");
  }
  return 0;
}

int ddbs_check_get_args(const char *hash_key, const char *key, size_t key_len, const char *ttl_key,
                        const char *version_key, char *err, size_t errlen) {
  int rc = check_name("hash key attribute name", hash_key, err, errlen);
  if (rc == 0) rc = check_key_value(key, key_len, err, errlen);
  if (rc == 0) rc = check_attr_names(hash_key, ttl_key, err, errlen);
  if (rc == 0 && version_key) rc = check_version_name(hash_key, ttl_key, version_key, err, errlen);
  return rc;
}

int ddbs_write_body_start(const char *table, const char *field, const char *hash_key, const char *key,
                          size_t key_len, ddbs_buf *out) {
  if (APPEND("{\"TableName\":") || ddbs_write_json_string(out, table, strlen(table)) != 0 ||
      ddbs_buf_append_char(out, ',') != 0 || ddbs_write_json_string(out, field, strlen(field)) != 0 ||
      APPEND(":{") || ddbs_write_json_string(out, hash_key, strlen(hash_key)) != 0 ||
      APPEND(":{\"S\":") || ddbs_write_json_string(out, key, key_len) != 0 || APPEND("}"))
    return -1;
  return 0;
}

/* Appends ,"name":{"N":"<v>"} and adds its size to *size. 0 or -1. */
static int write_n_attr(const char *name, long long v, ddbs_buf *out, size_t *size) {
  char n[24];
  int nlen = snprintf(n, sizeof n, "%lld", v);
  if (ddbs_buf_append_char(out, ',') != 0 || ddbs_write_json_string(out, name, strlen(name)) != 0 ||
      APPEND(":{\"N\":\"") || ddbs_buf_append(out, n, (size_t)nlen) != 0 || APPEND("\"}"))
    return -1;
  *size += strlen(name) + ddbs_number_text_size(n, (size_t)nlen);
  return 0;
}

/* Appends ,"<ph>":<JSON text> (no ',' into an empty buffer). 0 or -1. */
static int write_member(ddbs_buf *b, const char *ph, const char *text, size_t len) {
  if ((b->len > 0 && ddbs_buf_append_char(b, ',') != 0) || ddbs_buf_append_char(b, '"') != 0 ||
      ddbs_buf_append_str(b, ph) != 0 || ddbs_buf_append(b, "\":", 2) != 0 || ddbs_buf_append(b, text, len) != 0)
    return -1;
  return 0;
}

/* Appends ,"<ph>":"<name>" to an ExpressionAttributeNames body. 0 or -1. */
static int write_name_member(ddbs_buf *b, const char *ph, const char *name, size_t *subst) {
  size_t len = strlen(name);
  if (write_member(b, ph, "", 0) != 0 || ddbs_write_json_string(b, name, len) != 0) return -1;
  *subst += strlen(ph) + len;
  return 0;
}

int ddbs_write_condition(const char *hash_key, const ddbs_write_cond *cond, int ver_named, ddbs_buf *expr,
                         ddbs_buf *names, ddbs_buf *values, size_t *subst) {
  if (!DDBS_COND_HAS_CONDITION(cond)) return 0;
  if (cond->require_exists) {
    if (ddbs_buf_append_str(expr, "attribute_exists(#k)") != 0 || write_name_member(names, "#k", hash_key, subst) != 0)
      return -1;
  }
  if (cond->expect_version != -2) {
    if ((expr->len > 0 && ddbs_buf_append_str(expr, " AND ") != 0) ||
        ddbs_buf_append_str(expr, cond->expect_version == -1 ? "attribute_not_exists(#ver)" : "#ver = :ev") != 0 ||
        (!ver_named && write_name_member(names, "#ver", cond->version_key, subst) != 0))
      return -1;
    if (cond->expect_version >= 0) {
      char n[40];
      int nlen = snprintf(n, sizeof n, "{\"N\":\"%lld\"}", cond->expect_version);
      if (write_member(values, ":ev", n, (size_t)nlen) != 0) return -1;
      *subst += 3 + ddbs_number_text_size(n + 6, (size_t)nlen - 8);
    }
  }
  return 0;
}

int ddbs_write_expressions(const ddbs_buf *update, const ddbs_buf *cond, const ddbs_buf *names,
                           const ddbs_buf *values, ddbs_buf *out) {
  if (update && (APPEND(",\"UpdateExpression\":") || ddbs_write_json_string(out, update->data, update->len) != 0))
    return -1;
  if (cond && cond->len > 0 &&
      (APPEND(",\"ConditionExpression\":") || ddbs_write_json_string(out, cond->data, cond->len) != 0))
    return -1;
  if (names && names->len > 0 &&
      (APPEND(",\"ExpressionAttributeNames\":{") || ddbs_buf_append(out, names->data, names->len) != 0 || APPEND("}")))
    return -1;
  if (values && values->len > 0 &&
      (APPEND(",\"ExpressionAttributeValues\":{") || ddbs_buf_append(out, values->data, values->len) != 0 ||
       APPEND("}")))
    return -1;
  return APPEND("}") ? -1 : 0;
}

/* Ends a PutItem body: the ttl attribute (when with_ttl) and the version attribute (cond's), adding
 * their sizes to *size; the Item's '}'; the condition (when cond has one); the body's '}'. 0 or -1. */
static int put_end(const char *hash_key, const char *ttl_key, int with_ttl, long long expires,
                   const ddbs_write_cond *cond, ddbs_buf *out, size_t *size) {
  if (with_ttl && write_n_attr(ttl_key, expires, out, size) != 0) return -1;
  if (!cond) return APPEND("}}") ? -1 : 0; /* (the hot path) */
  if (cond->version_key && write_n_attr(cond->version_key, cond->new_version, out, size) != 0) return -1;
  if (APPEND("}")) return -1;
  ddbs_buf expr = DDBS_BUF_INIT, names = DDBS_BUF_INIT, values = DDBS_BUF_INIT;
  size_t subst = 0;
  int rc = ddbs_write_condition(hash_key, cond, 0, &expr, &names, &values, &subst) != 0 ||
                   ddbs_write_expressions(NULL, &expr, &names, &values, out) != 0
               ? -1
               : 0;
  ddbs_buf_free(&expr);
  ddbs_buf_free(&names);
  ddbs_buf_free(&values);
  return rc;
}

int ddbs_body_get_item(const char *table, const char *hash_key, const char *key, size_t key_len,
                       int consistent_read, ddbs_buf *out, char *err, size_t errlen) {
  size_t start = out->len;
  int rc = check_key(table, hash_key, key, key_len, err, errlen);
  if (rc != 0) return rc;
  if (ddbs_write_body_start(table, "Key", hash_key, key, key_len, out) != 0 || APPEND("}") ||
      (consistent_read && APPEND(",\"ConsistentRead\":true")) || APPEND("}")) {
    ddbs_truncate_buf(out, start);
    return ddbs_fail_nomem(err, errlen);
  }
  return 0;
}

int ddbs_body_delete_item(const char *table, const char *hash_key, const char *key, size_t key_len,
                          ddbs_buf *out, char *err, size_t errlen) {
  size_t start = out->len;
  int rc = check_key(table, hash_key, key, key_len, err, errlen);
  if (rc != 0) return rc;
  if (ddbs_write_body_start(table, "Key", hash_key, key, key_len, out) != 0 || APPEND("}}")) {
    ddbs_truncate_buf(out, start);
    return ddbs_fail_nomem(err, errlen);
  }
  return 0;
}

#undef APPEND

/* ---- reading JSON: the cursor and the output ------------------------------------------- */

#ifdef DDBS_ONEPASS_TRACE /* debugging aid: -DDDBS_ONEPASS_TRACE prints where the one pass declines */
static int trace_declined(int line) {
  fprintf(stderr, "ddb_json.c:%d: one pass declined\n", line);
  return DDBS_ONEPASS_DECLINED;
}
#define DECLINED trace_declined(__LINE__)
#else
#define DECLINED DDBS_ONEPASS_DECLINED
#endif
#define KEYSET_LINEAR 8 /* keys per object compared linearly before a hash set is used */

typedef struct fast_t {
  const unsigned char *s; /* the input text */
  size_t len, pos;
  ddbs_buf *out;
  ddbs_buf scratch; /* a decoded string, when one has to be respelled or compared (rare) */
  /* PutItem: DynamoDB's size of the session value so far */
  size_t size;
  /* One pass: the keys of the open objects, to detect repeats (see keyset_add): 64-bit
   * fingerprints of (object serial, key). The first KEYSET_LINEAR keys of each object sit on a
   * stack and are compared one by one; an object with more moves to an open-addressing set
   * (keys_small first, then malloc'd as it grows). */
  uint64_t serial;
  size_t fp_top;
  uint64_t fp[KEYSET_LINEAR * (MAX_READ_DEPTH + 2)];
  uint64_t *keys;
  size_t keys_cap, keys_n;
  uint64_t keys_small[256];
} fast_t;

/* Appends without NUL-terminating (the caller terminates once at the end). 0 or -1. */
static inline int emit(ddbs_buf *b, const void *p, size_t n) {
  if (b->cap - b->len <= n && ddbs_buf_reserve(b, n) != 0) return -1;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

static inline int emit_char(ddbs_buf *b, char c) {
  if (b->cap - b->len <= 1 && ddbs_buf_reserve(b, 1) != 0) return -1;
  b->data[b->len++] = c;
  return 0;
}

#define EMIT_LIT(f, lit) (emit((f)->out, lit, sizeof(lit) - 1) != 0)

static inline int is_ws(unsigned char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

static inline size_t ws_end(const unsigned char *s, size_t n, size_t i) {
  while (i < n && is_ws(s[i])) i++;
  return i;
}

static inline void skip_ws(fast_t *f) { f->pos = ws_end(f->s, f->len, f->pos); }

/* The next byte after whitespace, or -1 at the end. */
static inline int peek(fast_t *f) {
  skip_ws(f);
  return f->pos < f->len ? f->s[f->pos] : -1;
}

/* Consumes c (after whitespace) or returns 0. */
static inline int expect(fast_t *f, unsigned char c) {
  if (peek(f) != c) return 0;
  f->pos++;
  return 1;
}

/* Consumes the literal lit if the input continues with it. */
static int take_literal(fast_t *f, const char *lit, size_t n) {
  if (f->len - f->pos < n || memcmp(f->s + f->pos, lit, n) != 0) return 0;
  f->pos += n;
  return 1;
}

/* ---- reading JSON: strings ------------------------------------------------------------- */

/* A string token s[start..end) (quotes included) as scan_str found it. */
typedef struct {
  size_t start, end;
  size_t decoded_len; /* UTF-8 bytes of the decoded string */
  int canonical;      /* the token is exactly what ddbs_write_json_string() gives for the decoded string */
  int has_escape;     /* holds a backslash */
  int has_nul;        /* the decoded string holds U+0000 */
} str_t;

/* Of 8 bytes, a mask with the high bit set in (at least) the first byte that is '"', '\\', a
 * control character or >= 0x80, and nothing below it; 0 when there is none. (The lowest flag
 * is exact: no borrow reaches a byte from plain bytes below it.) */
static inline uint64_t special8(const unsigned char *p) {
  const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  uint64_t x, q, b;
  memcpy(&x, p, 8);
  q = x ^ (ones * '"');
  b = x ^ (ones * '\\');
  return (((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b) | x) & highs;
}

/* How many plain bytes the mask says precede the first special one (the mask is nonzero). */
static inline size_t plain_prefix(uint64_t mask) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return (size_t)__builtin_ctzll(mask) >> 3;
#else
  (void)mask;
  return 0; /* (then the byte loop finds it) */
#endif
}

static int hex4(const unsigned char *p, size_t avail, unsigned *cp, int *upper) {
  unsigned v = 0;
  if (avail < 4) return 0;
  for (int i = 0; i < 4; i++) {
    unsigned c = p[i], d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10, *upper = 1;
    else return 0;
    v = v << 4 | d;
  }
  *cp = v;
  return 1;
}

/* Length (2..4) of the strict UTF-8 sequence at p (the lead byte is >= 0x80), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t avail) {
  unsigned c = p[0];
  if (c >= 0xC2 && c <= 0xDF) return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (avail < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
    if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] >= 0xA0)) return 0; /* overlong, surrogate */
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (avail < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
      return 0;
    if ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] >= 0x90)) return 0; /* overlong, > U+10FFFF */
    return 4;
  }
  return 0;
}

/* Scans the string token at s[pos] (a '"'), validating it as jansson does (escapes, surrogate
 * pairs, strict UTF-8, no raw control characters). NULL and *st filled in, or the reason it is
 * not a string (st->end then at the offending byte). */
static const char *scan_str(const unsigned char *s, size_t n, size_t pos, str_t *st) {
  size_t i = pos + 1, shrink = 0; /* shrink: escape bytes beyond what they decode to */
  int canonical = 1, has_escape = 0, has_nul = 0;
  const char *why;
  for (;;) {
    while (n - i >= 8) {
      uint64_t m = special8(s + i);
      if (!m) {
        i += 8;
        continue;
      }
      i += plain_prefix(m);
      break;
    }
    if (i >= n) {
      why = "a string is not closed";
      goto bad;
    }
    unsigned c = s[i];
    if (c == '"') break;
    if (c >= 0x20 && c < 0x80 && c != '\\') {
      i++;
      continue;
    }
    if (c < 0x20) {
      why = "a control character in a string";
      goto bad;
    }
    if (c >= 0x80) {
      size_t k = utf8_seq(s + i, n - i);
      if (!k) {
        why = "invalid UTF-8";
        goto bad;
      }
      i += k;
      continue;
    }
    /* an escape */
    has_escape = 1;
    why = "an invalid escape in a string";
    if (n - i < 2) goto bad;
    switch (s[i + 1]) {
      case '"': case '\\': case 'b': case 'f': case 'n': case 'r': case 't':
        i += 2, shrink++;
        continue;
      case '/':
        canonical = 0;
        i += 2, shrink++;
        continue;
      case 'u': {
        unsigned cp, lo;
        int upper = 0;
        if (!hex4(s + i + 2, n - i - 2, &cp, &upper)) goto bad;
        why = "a \\u escape of a lone surrogate";
        if (cp >= 0xD800 && cp <= 0xDBFF) { /* must be followed by a low surrogate */
          if (n - i - 6 < 6 || s[i + 6] != '\\' || s[i + 7] != 'u' ||
              !hex4(s + i + 8, n - i - 8, &lo, &upper) || lo < 0xDC00 || lo > 0xDFFF)
            goto bad;
          i += 12, shrink += 12 - 4;
          canonical = 0;
          continue;
        }
        if (cp >= 0xDC00 && cp <= 0xDFFF) goto bad;
        i += 6;
        if (cp < 0x20) {
          /* written back as \u00xx (lowercase) unless it has a short form */
          if (upper || cp == '\b' || cp == '\f' || cp == '\n' || cp == '\r' || cp == '\t') canonical = 0;
          if (cp == 0) has_nul = 1;
          shrink += 6 - 1;
        } else {
          canonical = 0;
          shrink += 6 - (cp < 0x80 ? 1 : cp < 0x800 ? 2 : 3);
        }
        continue;
      }
      default: goto bad;
    }
  }
  st->start = pos;
  st->end = i + 1;
  st->decoded_len = i - pos - 1 - shrink;
  st->canonical = canonical;
  st->has_escape = has_escape;
  st->has_nul = has_nul;
  return NULL;
bad:
  st->end = i;
  return why;
}

static inline int scan_string(fast_t *f, str_t *st) {
  if (scan_str(f->s, f->len, f->pos, st) != NULL) return DECLINED;
  f->pos = st->end;
  return 0;
}

static void put_utf8(ddbs_buf *b, unsigned cp) {
  char u[4];
  size_t n;
  if (cp < 0x80) u[0] = (char)cp, n = 1;
  else if (cp < 0x800) u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
  else if (cp < 0x10000)
    u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)),
    u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
  else
    u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
  memcpy(b->data + b->len, u, n);
  b->len += n;
}

/* Appends the decoded string of a token scan_str accepted to b (not NUL-terminated). 0 or -1. */
static int decode_into(const unsigned char *s, const str_t *st, ddbs_buf *b) {
  if (ddbs_buf_reserve(b, st->decoded_len) != 0) return -1;
  for (size_t i = st->start + 1; i < st->end - 1;) {
    if (s[i] != '\\') {
      b->data[b->len++] = (char)s[i++];
      continue;
    }
    unsigned cp = 0, lo = 0xDC00; /* (set by hex4 on a token scan_str accepted) */
    int upper = 0;
    switch (s[i + 1]) {
      case 'b': cp = '\b'; break;
      case 'f': cp = '\f'; break;
      case 'n': cp = '\n'; break;
      case 'r': cp = '\r'; break;
      case 't': cp = '\t'; break;
      case 'u':
        hex4(s + i + 2, 4, &cp, &upper);
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          hex4(s + i + 8, 4, &lo, &upper);
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          i += 6;
        }
        i += 4;
        break;
      default: cp = s[i + 1]; break; /* " \ / */
    }
    i += 2;
    put_utf8(b, cp);
  }
  return 0;
}

/* Decodes a scanned token into f->scratch (replacing what it held). 0 or -1. */
static int decode_string(fast_t *f, const str_t *st) {
  f->scratch.len = 0;
  return decode_into(f->s, st, &f->scratch);
}

/* Writes a scanned string: the token itself, or the decoded string respelled. 0 or DDBS_E_NOMEM. */
static int emit_string(fast_t *f, const str_t *st) {
  if (st->canonical)
    return emit(f->out, f->s + st->start, st->end - st->start) != 0 ? DDBS_E_NOMEM : 0;
  if (decode_string(f, st) != 0 || ddbs_write_json_string(f->out, f->scratch.data, f->scratch.len) != 0)
    return DDBS_E_NOMEM;
  return 0;
}

/* Is the (scanned) string token's value equal to name[0..name_len)? 1, 0, or -1 (no memory). */
static int key_is(fast_t *f, const str_t *st, const char *name, size_t name_len) {
  if (!st->has_escape)
    return st->end - st->start - 2 == name_len && memcmp(f->s + st->start + 1, name, name_len) == 0;
  if (st->decoded_len != name_len) return 0;
  if (decode_string(f, st) != 0) return -1;
  return f->scratch.len == name_len && memcmp(f->scratch.data, name, name_len) == 0;
}

/* ---- reading JSON: validation ---------------------------------------------------------- */

/* json_skip's rules. JANSSON: what json_loadb accepts (a raw NUL byte never, see ddb_ref.c) -- no
 * NUL in object keys, integers that fit a long long (all numbers are doubles with INT_AS_REAL, as
 * with JSON_DECODE_INT_AS_REAL), numbers that do not overflow a double, values nested at most
 * DDBS_JSON_MAX_DEPTH deep (a scalar counts). CHECK: ddbs_json_check_object's, RFC 8259 with
 * objects and arrays nested at most DDBS_CHECK_MAX_DEPTH deep. Both: strict UTF-8, valid escapes,
 * no lone surrogates. */
#define V_JANSSON 1
#define V_INT_AS_REAL 2
#define V_CHECK 4

/* Validates the JSON value at s[*pos] (after optional whitespace); depth is the nesting level of
 * that value (the root is 1). On success *pos is just past the value and the result is NULL;
 * otherwise the reason, with *pos at the offending byte. Iterative: no recursion, no allocation
 * (the kinds of the open containers are bits on the C stack). */
static const char *json_skip(const unsigned char *s, size_t n, size_t *pos, unsigned depth, int flags) {
  uint64_t objects[DDBS_JSON_MAX_DEPTH / 64]; /* bit k: the (k+1)-th open container is an object */
  unsigned open = 0, limit = flags & V_CHECK ? DDBS_CHECK_MAX_DEPTH : DDBS_JSON_MAX_DEPTH;
  size_t i = *pos;
  const char *why;
  str_t st;
value:
  if ((flags & V_JANSSON) && depth + open > DDBS_JSON_MAX_DEPTH) {
    why = "values nested too deeply";
    goto bad;
  }
  i = ws_end(s, n, i);
  if (i >= n) {
    why = "a value expected, the text ends";
    goto bad;
  }
  switch (s[i]) {
    case '{':
    case '[': {
      int is_obj = s[i] == '{';
      if (open >= limit) {
        why = "values nested too deeply";
        goto bad;
      }
      if (is_obj) objects[open / 64] |= 1ull << (open % 64);
      else objects[open / 64] &= ~(1ull << (open % 64));
      open++;
      i = ws_end(s, n, i + 1);
      if (i < n && s[i] == (is_obj ? '}' : ']')) { /* empty */
        i++;
        open--;
        goto after;
      }
      if (is_obj) goto key;
      goto value;
    }
    case '"':
      if ((why = scan_str(s, n, i, &st)) != NULL) {
        i = st.end;
        goto bad;
      }
      i = st.end;
      goto after;
    case 't':
      if (n - i < 4 || memcmp(s + i, "true", 4) != 0) goto invalid;
      i += 4;
      goto after;
    case 'f':
      if (n - i < 5 || memcmp(s + i, "false", 5) != 0) goto invalid;
      i += 5;
      goto after;
    case 'n':
      if (n - i < 4 || memcmp(s + i, "null", 4) != 0) goto invalid;
      i += 4;
      goto after;
    default: {
      size_t len = ddbs_json_number_len(s + i, n - i);
      if (!len) goto invalid;
      if ((flags & V_JANSSON) && !ddbs_json_number_ok((const char *)s + i, len, flags & V_INT_AS_REAL)) {
        why = "a number out of range";
        goto bad;
      }
      i += len;
      goto after;
    }
  }
key:
  i = ws_end(s, n, i);
  if (i >= n || s[i] != '"') {
    why = "a string key expected";
    goto bad;
  }
  if ((why = scan_str(s, n, i, &st)) != NULL) {
    i = st.end;
    goto bad;
  }
  if ((flags & V_JANSSON) && st.has_nul) {
    why = "a NUL character in an object key";
    goto bad;
  }
  i = ws_end(s, n, st.end);
  if (i >= n || s[i] != ':') {
    why = "':' expected";
    goto bad;
  }
  i++;
  goto value;
after:
  while (open > 0) {
    int is_obj = (objects[(open - 1) / 64] >> ((open - 1) % 64)) & 1;
    i = ws_end(s, n, i);
    if (i < n && s[i] == ',') {
      i++;
      if (is_obj) goto key;
      goto value;
    }
    if (i < n && s[i] == (is_obj ? '}' : ']')) {
      i++;
      open--;
      continue;
    }
    why = is_obj ? "',' or '}' expected" : "',' or ']' expected";
    goto bad;
  }
  *pos = i;
  return NULL;
invalid:
  why = "an invalid token";
bad:
  *pos = i;
  return why;
}

int ddbs_json_check_object(const char *body, size_t len) {
  const unsigned char *s = (const unsigned char *)body;
  if (!body) return DDBS_E_RESPONSE;
  size_t pos = ws_end(s, len, 0);
  if (pos >= len || s[pos] != '{' || json_skip(s, len, &pos, 1, V_CHECK) != NULL) return DDBS_E_RESPONSE;
  return ws_end(s, len, pos) == len ? 0 : DDBS_E_RESPONSE;
}

/* Validates a whole text: one value (object or array only, unless any_root), whitespace around
 * it. NULL, or the reason with *at the byte offset. */
static const char *json_validate(const unsigned char *s, size_t n, int flags, int any_root, size_t *at) {
  size_t pos = ws_end(s, n, 0);
  const char *why;
  if (!any_root && pos < n && s[pos] != '{' && s[pos] != '[') {
    *at = pos;
    return "'{' or '[' expected";
  }
  if ((why = json_skip(s, n, &pos, 1, flags)) != NULL) {
    *at = pos;
    return why;
  }
  pos = ws_end(s, n, pos);
  *at = pos;
  return pos == n ? NULL : "the text goes on after the value";
}

/* ---- numbers in the converters --------------------------------------------------------- */

/* Writes the JSON number for the N text t[0..len) (as the reference's write_number does):
 * verbatim when it is already canonical, else read and printed. 0, DDBS_E_NOMEM, or 1 (not a
 * number DynamoDB would send, nor a double). */
static int emit_n_text(fast_t *f, const char *t, size_t len) {
  if (ddbs_number_canonical(t, len, NULL, NULL))
    return emit(f->out, t, len) != 0 ? DDBS_E_NOMEM : 0;
  double v;
  char text[32];
  if (ddbs_parse_number_text(t, len, &v) != 0) return 1;
  int n = ddbs_format_double(v, text);
  if (n < 0) return 1;
  return emit(f->out, text, (size_t)n) != 0 ? DDBS_E_NOMEM : 0;
}

/* An N attribute's value: the string token st (scanned), written as a JSON number. */
static int emit_n_token(fast_t *f, const str_t *st) {
  if (!st->has_escape) return emit_n_text(f, (const char *)f->s + st->start + 1, st->end - st->start - 2);
  if (decode_string(f, st) != 0) return DDBS_E_NOMEM;
  return emit_n_text(f, f->scratch.data, f->scratch.len);
}

/* ---- one pass: repeated keys ----------------------------------------------------------- */

/* The keys seen in one object (one per open object, on the C stack). */
typedef struct {
  uint64_t serial;
  size_t base, count;
} keyset_t;

static void keyset_open(fast_t *f, keyset_t *ks) {
  ks->serial = ++f->serial;
  ks->base = f->fp_top;
  ks->count = 0;
}

static void keyset_close(fast_t *f, const keyset_t *ks) { f->fp_top = ks->base; }

/* Inserts fingerprint h into the hash set; DECLINED if there, -1 out of memory. */
static int keys_insert(fast_t *f, uint64_t h) {
  if (!f->keys) { /* first use */
    memset(f->keys_small, 0, sizeof f->keys_small);
    f->keys = f->keys_small, f->keys_cap = sizeof f->keys_small / sizeof f->keys_small[0];
  }
  if ((f->keys_n + 1) * 2 > f->keys_cap) { /* grow */
    size_t cap = f->keys_cap * 2;
    uint64_t *t = calloc(cap, sizeof *t);
    if (!t) return -1;
    for (size_t i = 0; i < f->keys_cap; i++) {
      if (!f->keys[i]) continue;
      size_t j = (size_t)(f->keys[i] >> 20) & (cap - 1);
      while (t[j]) j = (j + 1) & (cap - 1);
      t[j] = f->keys[i];
    }
    if (f->keys != f->keys_small) free(f->keys);
    f->keys = t, f->keys_cap = cap;
  }
  size_t mask = f->keys_cap - 1, j = (size_t)(h >> 20) & mask;
  for (int probes = 0; f->keys[j]; probes++) {
    /* a repeat, or a long probe run (colliding keys, crafted or not): the two-pass path decides */
    if (f->keys[j] == h || probes > 64) return DECLINED;
    j = (j + 1) & mask;
  }
  f->keys[j] = h;
  f->keys_n++;
  return 0;
}

/* Records the key just written at out[from..] in ks; DECLINED if the object already had it (or,
 * rarely, two fingerprints collide: the two-pass path then decides), -1 out of memory. */
static int keyset_add(fast_t *f, keyset_t *ks, size_t from) {
  const unsigned char *p = (const unsigned char *)f->out->data + from;
  size_t n = f->out->len - from;
  uint64_t h = ks->serial * 0x9E3779B97F4A7C15ull ^ n;
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    h = (h ^ w) * 0xFF51AFD7ED558CCDull;
    h ^= h >> 32;
    p += 8, n -= 8;
  }
  uint64_t w = 0;
  if (n >= 4) { /* the last 4..7 bytes, with two (maybe overlapping) 4-byte loads */
    uint32_t a, b;
    memcpy(&a, p, 4);
    memcpy(&b, p + n - 4, 4);
    w = (uint64_t)a << 32 | b;
  } else if (n > 0) {
    w = (uint64_t)p[0] << 16 | (uint64_t)p[n / 2] << 8 | p[n - 1];
  }
  h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
  h ^= h >> 29;
  if (h == 0) h = 1;
  if (ks->count < KEYSET_LINEAR) {
    uint64_t *fp = f->fp + ks->base;
    for (size_t i = 0; i < ks->count; i++)
      if (fp[i] == h) return DECLINED;
    fp[ks->count++] = h;
    f->fp_top = ks->base + ks->count;
    return 0;
  }
  if (ks->count == KEYSET_LINEAR) { /* move to the hash set */
    for (size_t i = 0; i < KEYSET_LINEAR; i++) {
      int rc = keys_insert(f, f->fp[ks->base + i]);
      if (rc != 0) return rc;
    }
    f->fp_top = ks->base;
  }
  ks->count++;
  return keys_insert(f, h);
}

static void fast_init(fast_t *f, const char *text, size_t len, ddbs_buf *out) {
  f->s = (const unsigned char *)text, f->len = len, f->pos = 0, f->out = out;
  f->scratch = (ddbs_buf)DDBS_BUF_INIT;
  f->size = 0;
  f->serial = 0;
  f->fp_top = 0;
  f->keys = NULL, f->keys_cap = 0, f->keys_n = 0;
}

static void fast_free(fast_t *f) {
  if (f->keys != f->keys_small) free(f->keys);
  ddbs_buf_free(&f->scratch);
}

/* An object key and its ':' (NUL in a key: jansson refuses it). 0 or DECLINED. */
static int scan_key(fast_t *f, str_t *st) {
  if (peek(f) != '"' || scan_string(f, st) != 0 || st->has_nul) return DECLINED;
  return expect(f, ':') ? 0 : DECLINED;
}

/* Copies an object's next key and its ':' to the output, recording it in ks (a repeated key is
 * left to the two-pass path). 0, DECLINED or DDBS_E_NOMEM. The converters' map loops share it. */
static inline int copy_key(fast_t *f, keyset_t *ks, str_t *st) {
  size_t key_at = f->out->len;
  int rc;
  if (scan_key(f, st) != 0) return DECLINED;
  if ((rc = emit_string(f, st)) != 0) return rc;
  if ((rc = keyset_add(f, ks, key_at)) != 0) return rc < 0 ? DDBS_E_NOMEM : rc;
  return emit_char(f->out, ':') != 0 ? DDBS_E_NOMEM : 0;
}

/* Validates one JSON value of a GetItem answer (at nesting level depth, the root being 1), as
 * json_loadb with JSON_ALLOW_NUL would. 0 or DECLINED. */
static int skip_value(fast_t *f, unsigned depth) {
  return json_skip(f->s, f->len, &f->pos, depth, V_JANSSON) == NULL ? 0 : DECLINED;
}

/* ---- one pass: GetItem ----------------------------------------------------------------- */

static int conv_attr(fast_t *f, int depth);

/* The type tag of an attribute value: "tag": with uppercase ASCII letters only (others decline). */
static int read_tag(fast_t *f, char tag[5]) {
  if (peek(f) != '"') return DECLINED;
  size_t i = f->pos + 1, n = 0;
  while (i < f->len && f->s[i] >= 'A' && f->s[i] <= 'Z' && n < 4) tag[n++] = (char)f->s[i++];
  if (i >= f->len || f->s[i] != '"' || n == 0) return DECLINED;
  tag[n] = '\0';
  f->pos = i + 1;
  return expect(f, ':') ? 0 : DECLINED;
}

/* An M's map (at '{'), written as a JSON object; its members are at depth + 1. */
static int conv_map(fast_t *f, int depth) {
  str_t st;
  int rc;
  if (!expect(f, '{')) return DECLINED;
  if (emit_char(f->out, '{') != 0) return DDBS_E_NOMEM;
  if (peek(f) == '}') {
    f->pos++;
    return emit_char(f->out, '}') != 0 ? DDBS_E_NOMEM : 0;
  }
  keyset_t ks;
  keyset_open(f, &ks);
  for (;;) {
    if ((rc = copy_key(f, &ks, &st)) != 0) return rc;
    if ((rc = conv_attr(f, depth + 1)) != 0) return rc;
    if (expect(f, ',')) {
      if (emit_char(f->out, ',') != 0) return DDBS_E_NOMEM;
      continue;
    }
    if (!expect(f, '}')) return DECLINED;
    keyset_close(f, &ks);
    return emit_char(f->out, '}') != 0 ? DDBS_E_NOMEM : 0;
  }
}

/* The array of an L (kind 'L'), SS/BS (kind 'S') or NS (kind 'N'), written as a JSON array. */
static int conv_list(fast_t *f, int depth, char kind) {
  str_t st;
  int rc;
  if (peek(f) != '[') return DECLINED;
  f->pos++;
  if (emit_char(f->out, '[') != 0) return DDBS_E_NOMEM;
  if (peek(f) == ']') {
    f->pos++;
    return emit_char(f->out, ']') != 0 ? DDBS_E_NOMEM : 0;
  }
  for (;;) {
    if (kind == 'L') {
      rc = conv_attr(f, depth + 1);
    } else if (peek(f) != '"' || scan_string(f, &st) != 0) {
      rc = DECLINED;
    } else if (kind == 'N') {
      rc = emit_n_token(f, &st);
      if (rc == 1) rc = DECLINED;
    } else {
      rc = emit_string(f, &st);
    }
    if (rc != 0) return rc;
    if (expect(f, ',')) {
      if (emit_char(f->out, ',') != 0) return DDBS_E_NOMEM;
      continue;
    }
    if (!expect(f, ']')) return DECLINED;
    return emit_char(f->out, ']') != 0 ? DDBS_E_NOMEM : 0;
  }
}

/* An AttributeValue {"<tag>": value} at depth (a top-level attribute is 1), as JSON. */
static int conv_attr(fast_t *f, int depth) {
  char tag[5];
  str_t st;
  int rc;
  if (depth > MAX_READ_DEPTH || !expect(f, '{') || read_tag(f, tag) != 0) return DECLINED;
  int c = peek(f);
  switch (tag[0]) {
    case 'S':
    case 'B':
      if (tag[1] == '\0' && c == '"') { /* S, B */
        if (scan_string(f, &st) != 0) return DECLINED;
        rc = emit_string(f, &st);
      } else if (tag[1] == 'S' && tag[2] == '\0') { /* SS, BS */
        rc = conv_list(f, depth, 'S');
      } else if (strcmp(tag, "BOOL") == 0) {
        if (take_literal(f, "true", 4)) rc = EMIT_LIT(f, "true") ? DDBS_E_NOMEM : 0;
        else if (take_literal(f, "false", 5)) rc = EMIT_LIT(f, "false") ? DDBS_E_NOMEM : 0;
        else rc = DECLINED;
      } else {
        rc = DECLINED;
      }
      break;
    case 'N':
      if (tag[1] == '\0' && c == '"') {
        if (scan_string(f, &st) != 0) return DECLINED;
        rc = emit_n_token(f, &st);
        if (rc == 1) rc = DECLINED;
      } else if (tag[1] == 'S' && tag[2] == '\0') {
        rc = conv_list(f, depth, 'N');
      } else if (strcmp(tag, "NULL") == 0 && take_literal(f, "true", 4)) {
        rc = EMIT_LIT(f, "null") ? DDBS_E_NOMEM : 0;
      } else {
        rc = DECLINED;
      }
      break;
    case 'M': rc = tag[1] == '\0' ? conv_map(f, depth) : DECLINED; break;
    case 'L': rc = tag[1] == '\0' ? conv_list(f, depth, 'L') : DECLINED; break;
    default: rc = DECLINED;
  }
  if (rc != 0) return rc;
  return expect(f, '}') ? 0 : DECLINED; /* (a ',': more than one tag) */
}

/* The ttl attribute's value (nesting level 3 of the answer): sets *expired when it is an N <= now.
 * Other tags: ignored. 0, DECLINED or DDBS_E_NOMEM. */
static int read_ttl(fast_t *f, long long now, int *expired) {
  char tag[5];
  str_t st;
  if (!expect(f, '{') || peek(f) != '"') return DECLINED;
  size_t tag_pos = f->pos;
  if (read_tag(f, tag) != 0 || strcmp(tag, "N") != 0) {
    /* any other single tag: not a ttl, ignored (but it must be valid JSON) */
    f->pos = tag_pos;
    if (scan_key(f, &st) != 0 || skip_value(f, 4) != 0) return DECLINED;
    return expect(f, '}') ? 0 : DECLINED;
  }
  if (peek(f) != '"' || scan_string(f, &st) != 0) return DECLINED;
  const char *t = (const char *)f->s + st.start + 1;
  size_t n = st.end - st.start - 2;
  if (st.has_escape) {
    if (decode_string(f, &st) != 0) return DDBS_E_NOMEM;
    t = f->scratch.data, n = f->scratch.len;
  }
  /* epoch seconds: an integer of up to 15 digits compares exactly as the reference's doubles do */
  size_t i = t && n && t[0] == '-' ? 1 : 0, digits = 0;
  long long v = 0;
  for (; i < n && t[i] >= '0' && t[i] <= '9' && digits < 16; i++, digits++) v = v * 10 + (t[i] - '0');
  if (i == n && digits >= 1 && digits <= 15) {
    if (t[0] == '-') v = -v;
    *expired = v <= now;
  } else {
    double d;
    if (ddbs_parse_number_text(t, n, &d) != 0) return DECLINED;
    *expired = d <= (double)now;
  }
  return expect(f, '}') ? 0 : DECLINED;
}

/* A version attribute's N text -> the version (0 .. DDBS_MAX_VERSION), or -1: digits only. */
static long long version_from_text(const char *t, size_t n) {
  long long v = 0;
  if (n == 0) return -1;
  for (size_t i = 0; i < n; i++) {
    if (t[i] < '0' || t[i] > '9') return -1;
    v = v * 10 + (t[i] - '0');
    if (v > DDBS_MAX_VERSION) return -1; /* (checked per digit: no overflow) */
  }
  return v;
}

/* The version attribute's value (nesting level 3): *version = its version when it is
 * {"N": "<digits>"} (version_from_text), else -1. Not an object, or one that is not of exactly one
 * member: left to the two-pass path. 0, DECLINED or DDBS_E_NOMEM. */
static int read_version(fast_t *f, long long *version) {
  str_t st;
  *version = -1;
  if (!expect(f, '{') || scan_key(f, &st) != 0) return DECLINED;
  int is_n = key_is(f, &st, "N", 1);
  if (is_n < 0) return DDBS_E_NOMEM;
  if (!is_n || peek(f) != '"') {
    if (skip_value(f, 4) != 0) return DECLINED;
  } else {
    if (scan_string(f, &st) != 0) return DECLINED;
    if (!st.has_escape) {
      *version = version_from_text((const char *)f->s + st.start + 1, st.end - st.start - 2);
    } else {
      if (decode_string(f, &st) != 0) return DDBS_E_NOMEM;
      *version = version_from_text(f->scratch.data, f->scratch.len);
    }
  }
  return expect(f, '}') ? 0 : DECLINED;
}

/* The hash key attribute's value (nesting level 3): *match = 1 when it is {"S": <exactly key>}.
 * Another single tag, or another string: *match = 0. Anything else (not an object, no tag, more
 * than one tag) is left to the two-pass path. 0, DECLINED or DDBS_E_NOMEM. */
static int read_hash(fast_t *f, const char *key, size_t key_len, int *match) {
  str_t st;
  *match = 0;
  if (!expect(f, '{') || scan_key(f, &st) != 0) return DECLINED;
  int is_s = key_is(f, &st, "S", 1);
  if (is_s < 0) return DDBS_E_NOMEM;
  if (!is_s || peek(f) != '"') {
    if (skip_value(f, 4) != 0) return DECLINED;
  } else {
    if (scan_string(f, &st) != 0) return DECLINED;
    if (!st.has_escape) {
      *match = st.end - st.start - 2 == key_len && memcmp(f->s + st.start + 1, key, key_len) == 0;
    } else if (st.decoded_len == key_len) {
      if (decode_string(f, &st) != 0) return DDBS_E_NOMEM;
      *match = memcmp(f->scratch.data, key, key_len) == 0;
    }
  }
  return expect(f, '}') ? 0 : DECLINED;
}

static int capacity_object(fast_t *f, double *units);

/* The one-pass GetItem reader; with capacity non-NULL it also adds up the answer's top-level
 * ConsumedCapacity (as ddbs_parse_consumed_capacity would), in the same pass. */
static int onepass_parse_get_item(const char *body, size_t len, const char *hash_key, const char *key,
                                  size_t key_len, const char *ttl_key, long long now_seconds,
                                  const char *version_key, long long *version, ddbs_buf *session_out,
                                  int *found, double *capacity, char *err, size_t errlen) {
  fast_t f;
  str_t st;
  size_t start = session_out->len, item_pos = 0;
  long long ver = -1;
  int rc, have_item = 0, have_session = 0, have_ttl = 0, have_hash = 0, have_version = 0, match = 0,
          expired = 0;
  *found = 0;
  if (version) *version = -1;
  rc = ddbs_check_get_args(hash_key, key, key_len, ttl_key, version_key, err, errlen);
  if (rc != 0) return rc;
  if (!body) return DECLINED;
  size_t ttl_len = ttl_key ? strlen(ttl_key) : 0, hash_len = strlen(hash_key);
  size_t version_len = version_key ? strlen(version_key) : 0;
  rc = DECLINED;
  fast_init(&f, body, len, session_out);
  if (!expect(&f, '{')) goto done;
  if (peek(&f) != '}') {
    for (;;) {
      if (scan_key(&f, &st) != 0) goto done;
      int is_item = key_is(&f, &st, "Item", 4);
      if (is_item < 0) goto nomem;
      int is_cap = !is_item && capacity ? key_is(&f, &st, "ConsumedCapacity", 16) : 0;
      if (is_cap < 0) goto nomem;
      if (is_cap && peek(&f) == '{') {
        if (capacity_object(&f, capacity) != 0) goto done;
      } else if (!is_item) {
        if (skip_value(&f, 2) != 0) goto done;
      } else {
        if (have_item || peek(&f) != '{') goto done; /* a second Item: the reference takes the last */
        have_item = 1;
        item_pos = f.pos++;
        if (peek(&f) != '}') {
          for (;;) {
            if (scan_key(&f, &st) != 0) goto done;
            int is_session = key_is(&f, &st, SESSION_ATTR, sizeof SESSION_ATTR - 1);
            int is_ttl = ttl_key ? key_is(&f, &st, ttl_key, ttl_len) : 0;
            int is_hash = key_is(&f, &st, hash_key, hash_len);
            int is_version = version_key ? key_is(&f, &st, version_key, version_len) : 0;
            if (is_session < 0 || is_ttl < 0 || is_hash < 0 || is_version < 0) goto nomem;
            if (is_session) {
              if (have_session) goto done;
              have_session = 1;
              /* not needed when expired or for another key: only validated */
              rc = expired || (have_hash && !match) ? skip_value(&f, 3) : conv_attr(&f, 1);
            } else if (is_ttl) {
              if (have_ttl) goto done;
              have_ttl = 1;
              rc = read_ttl(&f, now_seconds, &expired);
            } else if (is_hash) {
              if (have_hash) goto done;
              have_hash = 1;
              rc = read_hash(&f, key, key_len, &match);
            } else if (is_version) {
              if (have_version) goto done;
              have_version = 1;
              rc = read_version(&f, &ver);
            } else {
              rc = skip_value(&f, 3);
            }
            if (rc != 0) goto done;
            rc = DECLINED;
            if (!expect(&f, ',')) break;
          }
        }
        if (!expect(&f, '}')) goto done;
      }
      if (!expect(&f, ',')) break;
    }
  }
  if (!expect(&f, '}') || (skip_ws(&f), f.pos != f.len)) goto done;
  /* the answer is valid JSON, as the reference would find; the key first, then the ttl */
  if (have_item && (!have_hash || !match)) {
    rc = ddbs_fail_mismatch(hash_key, !have_hash, err, errlen);
    goto done;
  }
  if (have_item && !expired) {
    if (!have_session) { /* the whole item, as an object */
      f.pos = item_pos; /* a second pass over the item */
      rc = conv_map(&f, 0);
      if (rc != 0) goto done;
    }
    *found = 1;
  }
  rc = 0;
  goto done;
nomem:
  rc = DDBS_E_NOMEM;
done:
  if (rc != 0 || !*found) ddbs_truncate_buf(session_out, start);
  else if (session_out->data) session_out->data[session_out->len] = '\0';
  if (rc == DDBS_E_NOMEM) ddbs_fail_nomem(err, errlen);
  if (rc != 0) *found = 0;
  if (version && *found) *version = ver;
  fast_free(&f);
  return rc;
}

int ddbs_onepass_parse_get_item(const char *body, size_t len, const char *hash_key, const char *key,
                                size_t key_len, const char *ttl_key, long long now_seconds,
                                const char *version_key, long long *version, ddbs_buf *session_out,
                                int *found, char *err, size_t errlen) {
  return onepass_parse_get_item(body, len, hash_key, key, key_len, ttl_key, now_seconds, version_key, version,
                                session_out, found, NULL, err, errlen);
}

/* ---- answers: consumed capacity, the session's type ------------------------------------ */

/* A ConsumedCapacity object at f->pos: adds its CapacityUnits (a number) to *units. */
static int capacity_object(fast_t *f, double *units) {
  str_t st;
  if (!expect(f, '{')) return DECLINED;
  if (peek(f) == '}') return f->pos++, 0;
  for (;;) {
    if (scan_key(f, &st) != 0) return DECLINED;
    int is = key_is(f, &st, "CapacityUnits", 13);
    if (is < 0) return DDBS_E_NOMEM;
    if (is && peek(f) != '"' && peek(f) != '{' && peek(f) != '[') {
      size_t n = ddbs_json_number_len(f->s + f->pos, f->len - f->pos);
      double v;
      if (n == 0 || ddbs_parse_number_text((const char *)f->s + f->pos, n, &v) != 0) return DECLINED;
      f->pos += n;
      if (v >= 0 && v < 1e12) *units += v;
    } else if (skip_value(f, 3) != 0) {
      return DECLINED;
    }
    if (!expect(f, ',')) break;
  }
  return expect(f, '}') ? 0 : DECLINED;
}

int ddbs_parse_consumed_capacity(const char *body, size_t len, double *units) {
  ddbs_buf none = DDBS_BUF_INIT;
  fast_t f;
  str_t st;
  int rc = DECLINED;
  *units = 0;
  if (!body) return DDBS_E_RESPONSE;
  fast_init(&f, body, len, &none);
  if (!expect(&f, '{')) goto done;
  if (peek(&f) == '}') {
    rc = 0;
    goto done;
  }
  for (;;) {
    if (scan_key(&f, &st) != 0) goto done;
    int is = key_is(&f, &st, "ConsumedCapacity", 16);
    if (is < 0) goto done;
    if (is && peek(&f) == '{') {
      if (capacity_object(&f, units) != 0) goto done;
    } else if (is && peek(&f) == '[') { /* BatchWriteItem, TransactWriteItems: one per table */
      f.pos++;
      if (peek(&f) != ']') {
        do {
          if (capacity_object(&f, units) != 0) goto done;
        } while (expect(&f, ','));
      }
      if (!expect(&f, ']')) goto done;
    } else if (skip_value(&f, 2) != 0) {
      goto done;
    }
    if (!expect(&f, ',')) break;
  }
  if (expect(&f, '}')) rc = 0;
done:
  fast_free(&f);
  ddbs_buf_free(&none);
  if (rc != 0) *units = 0;
  return rc == 0 ? 0 : DDBS_E_RESPONSE;
}

int ddbs_get_item_session_is_blob(const char *body, size_t len) {
  ddbs_buf none = DDBS_BUF_INIT;
  fast_t f;
  str_t st;
  int blob = 0;
  char tag[5];
  if (!body) return 0;
  fast_init(&f, body, len, &none);
  if (!expect(&f, '{') || peek(&f) == '}') goto done;
  for (;;) {
    if (scan_key(&f, &st) != 0) goto done;
    int is = key_is(&f, &st, "Item", 4);
    if (is < 0) goto done;
    if (is) {
      if (!expect(&f, '{') || peek(&f) == '}') goto done;
      for (;;) {
        if (scan_key(&f, &st) != 0) goto done;
        int sess = key_is(&f, &st, SESSION_ATTR, sizeof SESSION_ATTR - 1);
        if (sess < 0) goto done;
        if (sess) {
          blob = expect(&f, '{') && read_tag(&f, tag) == 0 && strcmp(tag, "B") == 0;
          goto done;
        }
        if (skip_value(&f, 3) != 0 || !expect(&f, ',')) goto done;
      }
    }
    if (skip_value(&f, 2) != 0 || !expect(&f, ',')) goto done;
  }
done:
  fast_free(&f);
  ddbs_buf_free(&none);
  return blob;
}

/* ---- one pass: PutItem ----------------------------------------------------------------- */

/* The session value at f->pos as an AttributeValue, adding its size; depth as write_value_attr's. */
static int put_value(fast_t *f, int depth) {
  str_t st;
  int rc, c = peek(f);
  switch (c) {
    case '{': {
      keyset_t ks;
      if (depth > DDBS_MAX_DEPTH) return DECLINED;
      f->pos++;
      if (EMIT_LIT(f, "{\"M\":{")) return DDBS_E_NOMEM;
      f->size += 3;
      keyset_open(f, &ks);
      if (peek(f) != '}') {
        for (;;) {
          if ((rc = copy_key(f, &ks, &st)) != 0) return rc;
          f->size += 1 + st.decoded_len;
          if ((rc = put_value(f, depth + 1)) != 0) return rc;
          if (!expect(f, ',')) break;
          if (emit_char(f->out, ',') != 0) return DDBS_E_NOMEM;
        }
      }
      if (!expect(f, '}')) return DECLINED;
      keyset_close(f, &ks);
      return EMIT_LIT(f, "}}") ? DDBS_E_NOMEM : 0;
    }
    case '[': {
      if (depth > DDBS_MAX_DEPTH) return DECLINED;
      f->pos++;
      if (EMIT_LIT(f, "{\"L\":[")) return DDBS_E_NOMEM;
      f->size += 3;
      if (peek(f) != ']') {
        for (;;) {
          f->size += 1;
          if ((rc = put_value(f, depth + 1)) != 0) return rc;
          if (!expect(f, ',')) break;
          if (emit_char(f->out, ',') != 0) return DDBS_E_NOMEM;
        }
      }
      if (!expect(f, ']')) return DECLINED;
      return EMIT_LIT(f, "]}") ? DDBS_E_NOMEM : 0;
    }
    case '"':
      if (scan_string(f, &st) != 0) return DECLINED;
      if (EMIT_LIT(f, "{\"S\":") || (rc = emit_string(f, &st)) != 0 || emit_char(f->out, '}') != 0)
        return DDBS_E_NOMEM;
      f->size += st.decoded_len;
      return 0;
    case 't':
    case 'f':
    case 'n':
      if (take_literal(f, "true", 4)) rc = EMIT_LIT(f, "{\"BOOL\":true}");
      else if (take_literal(f, "false", 5)) rc = EMIT_LIT(f, "{\"BOOL\":false}");
      else if (take_literal(f, "null", 4)) rc = EMIT_LIT(f, "{\"NULL\":true}");
      else return DECLINED;
      if (rc) return DDBS_E_NOMEM;
      f->size += 1;
      return 0;
    default: {
      if (c < 0) return DECLINED;
      const char *t = (const char *)f->s + f->pos;
      size_t n = ddbs_json_number_len(f->s + f->pos, f->len - f->pos);
      int e10 = 0, k = 0;
      char text[32];
      if (!n) return DECLINED;
      f->pos += n;
      if (ddbs_number_canonical(t, n, &e10, &k)) {
        /* |x| = 0.d1d2.. * 10^e10 (0 for zero): in DynamoDB's range, 1E-130 <= |x| < 1E+126, exactly
         * when its exponent is (the text is the shortest for its double: no rounding across) */
        if (e10 - 1 > 125 || e10 - 1 < -130) return DECLINED;
        f->size += (size_t)(k + 1) / 2 + 1; /* ddbs_number_text_size() */
      } else { /* respelled as the reference would: read, range-check, print */
        double v;
        int tlen;
        if (ddbs_parse_number_text(t, n, &v) != 0 || ddbs_session_number(v, text, &tlen, NULL, 0) != 0)
          return DECLINED;
        t = text, n = (size_t)tlen;
        f->size += ddbs_number_text_size(t, n);
      }
      ddbs_buf *o = f->out;
      if (o->cap - o->len <= n + 8 && ddbs_buf_reserve(o, n + 8) != 0) return DDBS_E_NOMEM;
      memcpy(o->data + o->len, "{\"N\":\"", 6);
      memcpy(o->data + o->len + 6, t, n);
      memcpy(o->data + o->len + 6 + n, "\"}", 2);
      o->len += n + 8;
      return 0;
    }
  }
}

/* Starts a PutItem body: {"TableName":..,"Item":{hash_key:{"S":key},"session": -- with room for
 * the session (the body is about 1.5 times the session for typical sessions; emit() grows it as
 * needed). 0 or -1. */
static int put_start(const char *table, const char *hash_key, const char *key, size_t key_len,
                     size_t session_len, ddbs_buf *out) {
  if (ddbs_buf_reserve(out, session_len + session_len / 2 + key_len + 256) != 0 ||
      ddbs_write_body_start(table, "Item", hash_key, key, key_len, out) != 0 ||
      emit(out, ",\"" SESSION_ATTR "\":", sizeof(",\"" SESSION_ATTR "\":") - 1) != 0)
    return -1;
  return 0;
}

int ddbs_onepass_body_put_item(const char *table, const char *hash_key, const char *key, size_t key_len,
                               const char *ttl_key, long long expires, const char *session_json,
                               size_t session_len, ddbs_buf *out, char *err, size_t errlen) {
  return ddbs_onepass_body_put_item_cond(table, hash_key, key, key_len, ttl_key, expires, session_json,
                                         session_len, NULL, out, err, errlen);
}

int ddbs_onepass_body_put_item_cond(const char *table, const char *hash_key, const char *key, size_t key_len,
                                    const char *ttl_key, long long expires, const char *session_json,
                                    size_t session_len, const ddbs_write_cond *cond, ddbs_buf *out,
                                    char *err, size_t errlen) {
  fast_t f;
  size_t start = out->len;
  int with_ttl = ttl_key != NULL && expires >= 0;
  int rc = ddbs_check_put_args(table, hash_key, key, key_len, ttl_key, with_ttl, err, errlen);
  if (rc == 0) rc = ddbs_check_cond(hash_key, ttl_key, cond, 1, err, errlen);
  if (rc != 0) return rc;
  if (!session_json) return DECLINED;
  fast_init(&f, session_json, session_len, out);
  f.size = strlen(hash_key) + key_len + (sizeof SESSION_ATTR - 1);
  if (put_start(table, hash_key, key, key_len, session_len, out) != 0) {
    rc = DDBS_E_NOMEM;
    goto done;
  }
  rc = put_value(&f, 1);
  if (rc == 0 && (skip_ws(&f), f.pos != f.len)) rc = DECLINED;
  if (rc != 0) goto done;
  out->data[out->len] = '\0';
  if (put_end(hash_key, ttl_key, with_ttl, expires, cond, out, &f.size) != 0) {
    rc = DDBS_E_NOMEM;
    goto done;
  }
  if (f.size > DDBS_MAX_ITEM_SIZE) rc = ddbs_fail_too_large(f.size, err, errlen);
done:
  if (rc != 0) ddbs_truncate_buf(out, start);
  if (rc == DDBS_E_NOMEM) ddbs_fail_nomem(err, errlen);
  fast_free(&f);
  return rc;
}

/* ---- two pass: objects' members -------------------------------------------------------- */

/* The second pass reads a text json_validate() accepted, so its scans cannot fail; it only needs
 * to see an object's members before writing any of them, to keep jansson's meaning of a repeated
 * key (the last value, at the first key's place). The members of the open objects, and their
 * decoded keys, are kept on two stacks. */

#define NONE ((size_t)-1)
#define DEDUP_LINEAR 16 /* members per object compared pairwise before sorting is used */

typedef struct {
  size_t key_off, key_len; /* the decoded key, in twopass_t.keys */
  size_t val_pos;          /* where its value starts; NONE once a later repeat replaced it */
  size_t idx;              /* its place in the object (for sorting) */
} member_t;

typedef struct {
  fast_t f;          /* the text, the output, the scratch buffer, the PutItem size */
  member_t *m;       /* members of the open objects */
  size_t m_n, m_cap;
  ddbs_buf keys;     /* their decoded keys */
} twopass_t;

/* A member's key for sorting. */
typedef struct {
  const char *k;
  size_t len, idx;
} sort_key_t;

static int cmp_sort_key(const void *a, const void *b) {
  const sort_key_t *x = a, *y = b;
  int c = memcmp(x->k, y->k, x->len < y->len ? x->len : y->len);
  if (c != 0) return c;
  if (x->len != y->len) return x->len < y->len ? -1 : 1;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void tp_init(twopass_t *t, const char *text, size_t len, ddbs_buf *out) {
  fast_init(&t->f, text, len, out);
  t->m = NULL, t->m_n = 0, t->m_cap = 0;
  t->keys = (ddbs_buf)DDBS_BUF_INIT;
}

static void tp_free(twopass_t *t) {
  free(t->m);
  ddbs_buf_free(&t->keys);
  fast_free(&t->f);
}

/* The end of the (valid) value at pos. */
static size_t value_end(const twopass_t *t, size_t pos) {
  json_skip(t->f.s, t->f.len, &pos, 1, 0);
  return pos;
}

/* Pushes the members of the object at pos, one per distinct key in the order of their first
 * appearance, each with its last value; *base: the index of the first. 0 or -1 (no memory). The
 * caller pops them (and their keys) by restoring m_n and keys.len. */
static int tp_members(twopass_t *t, size_t pos, size_t *base) {
  const unsigned char *s = t->f.s;
  size_t n = t->f.len, i = ws_end(s, n, pos + 1);
  str_t st;
  *base = t->m_n;
  if (i < n && s[i] == '}') return 0;
  for (;;) {
    i = ws_end(s, n, i);
    scan_str(s, n, i, &st);
    if (t->m_n == t->m_cap) {
      size_t cap = t->m_cap ? t->m_cap * 2 : 32;
      member_t *m = realloc(t->m, cap * sizeof *m);
      if (!m) return -1;
      t->m = m, t->m_cap = cap;
    }
    member_t *m = &t->m[t->m_n];
    m->key_off = t->keys.len;
    if (decode_into(s, &st, &t->keys) != 0) return -1;
    m->key_len = t->keys.len - m->key_off;
    m->val_pos = ws_end(s, n, ws_end(s, n, st.end) + 1); /* (past the ':') */
    m->idx = t->m_n - *base;
    t->m_n++;
    i = ws_end(s, n, value_end(t, m->val_pos));
    if (s[i] != ',') break;
    i++;
  }
  /* repeated keys: the first keeps its place and takes the last value; the others go */
  member_t *m = t->m + *base;
  size_t count = t->m_n - *base, kept = 0;
  const char *kb = t->keys.data;
  if (count <= DEDUP_LINEAR) {
    for (size_t j = 1; j < count; j++) {
      for (size_t k = 0; k < j; k++) {
        if (m[k].val_pos != NONE && m[k].key_len == m[j].key_len &&
            memcmp(kb + m[k].key_off, kb + m[j].key_off, m[j].key_len) == 0) {
          m[k].val_pos = m[j].val_pos;
          m[j].val_pos = NONE;
          break;
        }
      }
    }
  } else { /* many members: sorted by (key, place), each run of one key is one member */
    sort_key_t *sk = malloc(count * sizeof *sk);
    if (!sk) return -1;
    for (size_t j = 0; j < count; j++) sk[j] = (sort_key_t){kb + m[j].key_off, m[j].key_len, j};
    qsort(sk, count, sizeof *sk, cmp_sort_key);
    for (size_t j = 0; j < count;) {
      size_t e = j + 1;
      while (e < count && sk[e].len == sk[j].len && memcmp(sk[e].k, sk[j].k, sk[j].len) == 0) e++;
      if (e - j > 1) {
        m[sk[j].idx].val_pos = m[sk[e - 1].idx].val_pos;
        for (size_t r = j + 1; r < e; r++) m[sk[r].idx].val_pos = NONE;
      }
      j = e;
    }
    free(sk);
  }
  for (size_t j = 0; j < count; j++)
    if (m[j].val_pos != NONE) m[kept++] = m[j];
  t->m_n = *base + kept;
  return 0;
}

/* The value of the object at obj's member named name (its last one), or NONE. 0 or -1. */
static int tp_find(twopass_t *t, size_t obj, const char *name, size_t name_len, size_t *found) {
  const unsigned char *s = t->f.s;
  size_t n = t->f.len, i = ws_end(s, n, obj + 1);
  str_t st;
  *found = NONE;
  if (i < n && s[i] == '}') return 0;
  for (;;) {
    i = ws_end(s, n, i);
    scan_str(s, n, i, &st);
    size_t val = ws_end(s, n, ws_end(s, n, st.end) + 1);
    int is = key_is(&t->f, &st, name, name_len);
    if (is < 0) return -1;
    if (is) *found = val;
    i = ws_end(s, n, value_end(t, val));
    if (s[i] != ',') return 0;
    i++;
  }
}

/* Copies up to size - 1 bytes of s for an error message, NUL-terminated: one line (control
 * characters become '?'). */
static void excerpt(char *out, size_t size, const char *s, size_t len) {
  size_t n = len < size - 1 ? len : size - 1;
  for (size_t i = 0; i < n; i++) out[i] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
  out[n] = '\0';
}

/* ---- two pass: GetItem ----------------------------------------------------------------- */

static int tp_attr(twopass_t *t, size_t pos, int depth, char *err, size_t errlen);

/* An N (at pos) written as a JSON number, as the reference's write_number. */
static int tp_number(twopass_t *t, size_t pos, char *err, size_t errlen) {
  str_t st;
  char shown[48];
  if (t->f.s[pos] != '"')
    return ddbs_fail(err, errlen, DDBS_E_RESPONSE, "a number attribute value (N) is not a string");
  scan_str(t->f.s, t->f.len, pos, &st);
  int rc = emit_n_token(&t->f, &st);
  if (rc == DDBS_E_NOMEM) return ddbs_fail_nomem(err, errlen);
  if (rc == 0) return 0;
  if (st.has_escape) excerpt(shown, 41, t->f.scratch.data, t->f.scratch.len);
  else excerpt(shown, 41, (const char *)t->f.s + st.start + 1, st.end - st.start - 2);
  return ddbs_fail(err, errlen, DDBS_E_RESPONSE, "a number attribute value (N) is not a number: \"%s\"",
                   shown);
}

/* The array (at pos) of an L, SS, NS or BS attribute value, as a JSON array. */
static int tp_list(twopass_t *t, const char *tag, size_t pos, int depth, char *err, size_t errlen) {
  const unsigned char *s = t->f.s;
  size_t n = t->f.len;
  str_t st;
  int rc = 0;
  if (s[pos] != '[')
    return ddbs_fail(err, errlen, DDBS_E_RESPONSE, "a %s attribute value is not an array", tag);
  if (emit_char(t->f.out, '[') != 0) return ddbs_fail_nomem(err, errlen);
  size_t i = ws_end(s, n, pos + 1);
  if (s[i] != ']') {
    for (;;) {
      size_t el = ws_end(s, n, i);
      if (tag[0] == 'L') {
        rc = tp_attr(t, el, depth + 1, err, errlen);
      } else if (tag[0] == 'N') {
        rc = tp_number(t, el, err, errlen);
      } else if (s[el] != '"') {
        rc = ddbs_fail(err, errlen, DDBS_E_RESPONSE, "a %s attribute value holds a non-string", tag);
      } else {
        scan_str(s, n, el, &st);
        if (emit_string(&t->f, &st) != 0) rc = ddbs_fail_nomem(err, errlen);
      }
      if (rc != 0) return rc;
      i = ws_end(s, n, value_end(t, el));
      if (s[i] != ',') break;
      i++;
      if (emit_char(t->f.out, ',') != 0) return ddbs_fail_nomem(err, errlen);
    }
  }
  if (emit_char(t->f.out, ']') != 0) return ddbs_fail_nomem(err, errlen);
  return 0;
}

/* The object (at pos) {name: AttributeValue}, as a JSON object; its members are at depth + 1. */
static int tp_map(twopass_t *t, size_t pos, int depth, char *err, size_t errlen) {
  size_t m_top = t->m_n, k_top = t->keys.len, base;
  int rc = 0;
  if (tp_members(t, pos, &base) != 0 || emit_char(t->f.out, '{') != 0) goto nomem;
  for (size_t j = base; j < t->m_n; j++) {
    member_t m = t->m[j]; /* (a copy: the nested calls may move the stack) */
    if ((j > base && emit_char(t->f.out, ',') != 0) ||
        ddbs_write_json_string(t->f.out, t->keys.data + m.key_off, m.key_len) != 0 ||
        emit_char(t->f.out, ':') != 0)
      goto nomem;
    rc = tp_attr(t, m.val_pos, depth + 1, err, errlen);
    if (rc != 0) goto cleanup;
  }
  if (emit_char(t->f.out, '}') != 0) goto nomem;
  goto cleanup;
nomem:
  rc = ddbs_fail_nomem(err, errlen);
cleanup:
  t->m_n = m_top, t->keys.len = k_top;
  return rc;
}

/* Is the object at pos an attribute value, i.e. of exactly one (distinct) key? Then its tag
 * (decoded; cut to 16 bytes, NUL-terminated) and its value's place. 1, 0, or -1 (no memory). */
static int tp_tagged(twopass_t *t, size_t pos, char tag[17], size_t *tag_len, size_t *val) {
  size_t m_top = t->m_n, k_top = t->keys.len, base;
  int rc = 0;
  if (t->f.s[pos] != '{') return 0;
  if (tp_members(t, pos, &base) != 0) {
    rc = -1;
  } else if (t->m_n - base == 1) {
    member_t m = t->m[base];
    *tag_len = m.key_len;
    excerpt(tag, 17, t->keys.data + m.key_off, m.key_len);
    *val = m.val_pos;
    rc = 1;
  }
  t->m_n = m_top, t->keys.len = k_top;
  return rc;
}

/* An AttributeValue (at pos) at depth (a top-level attribute is 1), as JSON. The reference's
 * write_attr, check for check. */
static int tp_attr(twopass_t *t, size_t pos, int depth, char *err, size_t errlen) {
  const unsigned char *s = t->f.s;
  char tag[17];
  size_t tag_len = 0, v = 0;
  str_t st;
  if (depth > MAX_READ_DEPTH)
    return ddbs_fail(err, errlen, DDBS_E_RESPONSE, "attribute values nest deeper than %d levels",
                     MAX_READ_DEPTH);
  int rc = tp_tagged(t, pos, tag, &tag_len, &v);
  if (rc < 0) return ddbs_fail_nomem(err, errlen);
  if (rc == 0)
    return ddbs_fail(err, errlen, DDBS_E_RESPONSE,
                     "an attribute value is not an object with exactly one type tag");
#define TAG_IS(lit) (tag_len == sizeof(lit) - 1 && memcmp(tag, lit, sizeof(lit) - 1) == 0)
  if (TAG_IS("S") || TAG_IS("B")) {
    if (s[v] != '"')
      return ddbs_fail(err, errlen, DDBS_E_RESPONSE, "a %s attribute value is not a string", tag);
    scan_str(s, t->f.len, v, &st);
    return emit_string(&t->f, &st) != 0 ? ddbs_fail_nomem(err, errlen) : 0;
  }
  if (TAG_IS("N")) return tp_number(t, v, err, errlen);
  if (TAG_IS("BOOL")) {
    if (s[v] != 't' && s[v] != 'f')
      return ddbs_fail(err, errlen, DDBS_E_RESPONSE, "a BOOL attribute value is not true or false");
    if (s[v] == 't' ? EMIT_LIT(&t->f, "true") : EMIT_LIT(&t->f, "false")) return ddbs_fail_nomem(err, errlen);
    return 0;
  }
  if (TAG_IS("NULL")) {
    if (s[v] != 't') return ddbs_fail(err, errlen, DDBS_E_RESPONSE, "a NULL attribute value is not true");
    return EMIT_LIT(&t->f, "null") ? ddbs_fail_nomem(err, errlen) : 0;
  }
  if (TAG_IS("M")) {
    if (s[v] != '{') return ddbs_fail(err, errlen, DDBS_E_RESPONSE, "an M attribute value is not an object");
    return tp_map(t, v, depth, err, errlen);
  }
  if (TAG_IS("L") || TAG_IS("SS") || TAG_IS("NS") || TAG_IS("BS"))
    return tp_list(t, tag, v, depth, err, errlen);
#undef TAG_IS
  return ddbs_fail(err, errlen, DDBS_E_RESPONSE, "unknown attribute type tag \"%s\"", tag);
}

/* Is the (valid) value at pos {"S": <exactly key>} (after jansson's reading)? 1, 0 or -1. */
static int tp_is_key(twopass_t *t, size_t pos, const char *key, size_t key_len) {
  char tag[17];
  size_t tag_len, v;
  str_t st;
  int rc = tp_tagged(t, pos, tag, &tag_len, &v);
  if (rc <= 0) return rc;
  if (tag_len != 1 || tag[0] != 'S' || t->f.s[v] != '"') return 0;
  scan_str(t->f.s, t->f.len, v, &st);
  if (st.decoded_len != key_len) return 0;
  if (decode_string(&t->f, &st) != 0) return -1;
  return memcmp(t->f.scratch.data, key, key_len) == 0;
}

/* The version attribute's (valid) value at pos: its version (version_from_text) when it is an
 * attribute value {"N": "<digits>"}, else -1. 0 or -1 (no memory). */
static int tp_version(twopass_t *t, size_t pos, long long *version) {
  char tag[17];
  size_t tag_len, v;
  str_t st;
  *version = -1;
  int rc = tp_tagged(t, pos, tag, &tag_len, &v);
  if (rc <= 0) return rc;
  if (tag_len != 1 || tag[0] != 'N' || t->f.s[v] != '"') return 0;
  scan_str(t->f.s, t->f.len, v, &st);
  if (decode_string(&t->f, &st) != 0) return -1;
  *version = version_from_text(t->f.scratch.data, t->f.scratch.len);
  return 0;
}

int ddbs_twopass_parse_get_item(const char *body, size_t len, const char *hash_key, const char *key,
                                size_t key_len, const char *ttl_key, long long now_seconds,
                                const char *version_key, long long *version, ddbs_buf *session_out,
                                int *found, char *err, size_t errlen) {
  const unsigned char *s = (const unsigned char *)body;
  twopass_t t;
  size_t start = session_out->len, at, item, hk, ttl, nv, session, vpos;
  long long ver = -1;
  const char *why;
  int rc;
  *found = 0;
  if (version) *version = -1;
  rc = ddbs_check_get_args(hash_key, key, key_len, ttl_key, version_key, err, errlen);
  if (rc != 0) return rc;
  if (!body) return ddbs_fail(err, errlen, DDBS_E_RESPONSE, "empty GetItem response");
  if ((why = json_validate(s, len, V_JANSSON, 0, &at)) != NULL)
    return ddbs_fail(err, errlen, DDBS_E_RESPONSE, "GetItem response is not valid JSON: %s at byte %zu",
                     why, at);
  tp_init(&t, body, len, session_out);
  size_t root = ws_end(s, len, 0);
  if (s[root] != '{') {
    rc = ddbs_fail(err, errlen, DDBS_E_RESPONSE, "GetItem response is not a JSON object");
    goto cleanup;
  }
  if (tp_find(&t, root, "Item", 4, &item) != 0) goto nomem;
  if (item == NONE) goto cleanup; /* no such session */
  if (s[item] != '{') {
    rc = ddbs_fail(err, errlen, DDBS_E_RESPONSE, "GetItem response's Item is not an object");
    goto cleanup;
  }
  if (tp_find(&t, item, hash_key, strlen(hash_key), &hk) != 0) goto nomem;
  int match = hk == NONE ? 0 : tp_is_key(&t, hk, key, key_len);
  if (match < 0) goto nomem;
  if (!match) {
    rc = ddbs_fail_mismatch(hash_key, hk == NONE, err, errlen);
    goto cleanup;
  }
  if (ttl_key) {
    if (tp_find(&t, item, ttl_key, strlen(ttl_key), &ttl) != 0) goto nomem;
    if (ttl != NONE) {
      char tag[17];
      size_t tag_len;
      int one = tp_tagged(&t, ttl, tag, &tag_len, &nv);
      if (one < 0) goto nomem;
      if (!one) {
        rc = ddbs_fail(err, errlen, DDBS_E_RESPONSE, "the item's ttl attribute is not an attribute value");
        goto cleanup;
      }
      if (tag_len == 1 && tag[0] == 'N') { /* any other type: not a ttl, ignored */
        str_t st;
        double expires;
        if (s[nv] != '"' || (scan_str(s, len, nv, &st), decode_string(&t.f, &st) != 0) ||
            ddbs_parse_number_text(t.f.scratch.data, t.f.scratch.len, &expires) != 0) {
          rc = ddbs_fail(err, errlen, DDBS_E_RESPONSE, "the item's ttl attribute is not a number");
          goto cleanup;
        }
        if (expires <= (double)now_seconds) goto cleanup; /* expired; DynamoDB deletes it later */
      }
    }
  }
  if (version_key) {
    if (tp_find(&t, item, version_key, strlen(version_key), &vpos) != 0) goto nomem;
    if (vpos != NONE && tp_version(&t, vpos, &ver) != 0) goto nomem;
  }
  if (tp_find(&t, item, SESSION_ATTR, sizeof SESSION_ATTR - 1, &session) != 0) goto nomem;
  rc = session != NONE ? tp_attr(&t, session, 1, err, errlen) : tp_map(&t, item, 0, err, errlen);
  if (rc == 0) *found = 1;
  goto cleanup;
nomem:
  rc = ddbs_fail_nomem(err, errlen);
cleanup:
  if (rc != 0 || !*found) ddbs_truncate_buf(session_out, start);
  else if (session_out->data) session_out->data[session_out->len] = '\0';
  if (version && rc == 0 && *found) *version = ver;
  tp_free(&t);
  return rc;
}

/* ---- two pass: PutItem ----------------------------------------------------------------- */

static int fail_too_deep(char *err, size_t errlen) {
  return ddbs_fail(err, errlen, DDBS_E_INPUT, "session nests deeper than %d levels (DynamoDB's limit)",
                   DDBS_MAX_DEPTH);
}

/* The session value at pos as an AttributeValue, adding its size: the reference's
 * write_value_attr, check for check (depth: the nesting level a container here would have). */
static int tp_put(twopass_t *t, size_t pos, int depth, char *err, size_t errlen) {
  const unsigned char *s = t->f.s;
  size_t n = t->f.len;
  fast_t *f = &t->f;
  str_t st;
  int rc = 0;
  switch (s[pos]) {
    case '{': {
      size_t m_top = t->m_n, k_top = t->keys.len, base;
      if (depth > DDBS_MAX_DEPTH) return fail_too_deep(err, errlen);
      if (tp_members(t, pos, &base) != 0 || EMIT_LIT(f, "{\"M\":{")) goto obj_nomem;
      f->size += 3;
      for (size_t j = base; j < t->m_n; j++) {
        member_t m = t->m[j]; /* (a copy: the nested calls may move the stack) */
        if ((j > base && emit_char(f->out, ',') != 0) ||
            ddbs_write_json_string(f->out, t->keys.data + m.key_off, m.key_len) != 0 ||
            emit_char(f->out, ':') != 0)
          goto obj_nomem;
        f->size += 1 + m.key_len;
        rc = tp_put(t, m.val_pos, depth + 1, err, errlen);
        if (rc != 0) goto obj_done;
      }
      if (EMIT_LIT(f, "}}")) goto obj_nomem;
      goto obj_done;
    obj_nomem:
      rc = ddbs_fail_nomem(err, errlen);
    obj_done:
      t->m_n = m_top, t->keys.len = k_top;
      return rc;
    }
    case '[': {
      if (depth > DDBS_MAX_DEPTH) return fail_too_deep(err, errlen);
      if (EMIT_LIT(f, "{\"L\":[")) return ddbs_fail_nomem(err, errlen);
      f->size += 3;
      size_t i = ws_end(s, n, pos + 1);
      if (s[i] != ']') {
        for (;;) {
          size_t el = ws_end(s, n, i);
          f->size += 1;
          if ((rc = tp_put(t, el, depth + 1, err, errlen)) != 0) return rc;
          i = ws_end(s, n, value_end(t, el));
          if (s[i] != ',') break;
          i++;
          if (emit_char(f->out, ',') != 0) return ddbs_fail_nomem(err, errlen);
        }
      }
      return EMIT_LIT(f, "]}") ? ddbs_fail_nomem(err, errlen) : 0;
    }
    case '"':
      scan_str(s, n, pos, &st);
      if (EMIT_LIT(f, "{\"S\":") || emit_string(f, &st) != 0 || emit_char(f->out, '}') != 0)
        return ddbs_fail_nomem(err, errlen);
      f->size += st.decoded_len;
      return 0;
    case 't':
    case 'f':
    case 'n':
      if (s[pos] == 't' ? EMIT_LIT(f, "{\"BOOL\":true}")
                        : s[pos] == 'f' ? EMIT_LIT(f, "{\"BOOL\":false}") : EMIT_LIT(f, "{\"NULL\":true}"))
        return ddbs_fail_nomem(err, errlen);
      f->size += 1;
      return 0;
    default: { /* a number: all are doubles, as with JSON_DECODE_INT_AS_REAL */
      char text[32];
      int tlen;
      double v;
      size_t len = ddbs_json_number_len(s + pos, n - pos);
      /* (validated: it is finite, so only a long text's allocation can fail) */
      if (ddbs_parse_number_text((const char *)s + pos, len, &v) != 0) return ddbs_fail_nomem(err, errlen);
      if ((rc = ddbs_session_number(v, text, &tlen, err, errlen)) != 0) return rc;
      if (EMIT_LIT(f, "{\"N\":\"") || emit(f->out, text, (size_t)tlen) != 0 || EMIT_LIT(f, "\"}"))
        return ddbs_fail_nomem(err, errlen);
      f->size += ddbs_number_text_size(text, (size_t)tlen);
      return 0;
    }
  }
}

int ddbs_twopass_body_put_item(const char *table, const char *hash_key, const char *key, size_t key_len,
                               const char *ttl_key, long long expires, const char *session_json,
                               size_t session_len, ddbs_buf *out, char *err, size_t errlen) {
  return ddbs_twopass_body_put_item_cond(table, hash_key, key, key_len, ttl_key, expires, session_json,
                                         session_len, NULL, out, err, errlen);
}

int ddbs_twopass_body_put_item_cond(const char *table, const char *hash_key, const char *key, size_t key_len,
                                    const char *ttl_key, long long expires, const char *session_json,
                                    size_t session_len, const ddbs_write_cond *cond, ddbs_buf *out,
                                    char *err, size_t errlen) {
  const unsigned char *s = (const unsigned char *)session_json;
  twopass_t t;
  size_t start = out->len, at;
  const char *why;
  int with_ttl = ttl_key != NULL && expires >= 0;
  int rc = ddbs_check_put_args(table, hash_key, key, key_len, ttl_key, with_ttl, err, errlen);
  if (rc == 0) rc = ddbs_check_cond(hash_key, ttl_key, cond, 1, err, errlen);
  if (rc != 0) return rc;
  if (!session_json) return ddbs_fail(err, errlen, DDBS_E_INPUT, "no session JSON");
  if ((why = json_validate(s, session_len, V_JANSSON | V_INT_AS_REAL, 1, &at)) != NULL)
    return ddbs_fail(err, errlen, DDBS_E_INPUT, "session is not valid JSON: %s at byte %zu", why, at);
  tp_init(&t, session_json, session_len, out);
  t.f.size = strlen(hash_key) + key_len + (sizeof SESSION_ATTR - 1);
  if (put_start(table, hash_key, key, key_len, session_len, out) != 0) goto nomem;
  rc = tp_put(&t, ws_end(s, session_len, 0), 1, err, errlen);
  if (rc != 0) goto cleanup;
  out->data[out->len] = '\0';
  if (put_end(hash_key, ttl_key, with_ttl, expires, cond, out, &t.f.size) != 0) goto nomem;
  if (t.f.size > DDBS_MAX_ITEM_SIZE) rc = ddbs_fail_too_large(t.f.size, err, errlen);
  goto cleanup;
nomem:
  rc = ddbs_fail_nomem(err, errlen);
cleanup:
  if (rc != 0) ddbs_truncate_buf(out, start);
  tp_free(&t);
  return rc;
}

/* ---- the session as one attribute value (for ddb_update.c) -------------------------------- */

int ddbs_session_value(const char *json, size_t len, ddbs_buf *out, size_t *size, char *err, size_t errlen) {
  size_t start = out->len, at;
  const char *why;
  fast_t f;
  twopass_t t;
  int rc;
  if (!json) return ddbs_fail(err, errlen, DDBS_E_INPUT, "no session JSON");
  if (ddbs_buf_reserve(out, len + len / 2 + 64) != 0) return ddbs_fail_nomem(err, errlen);
  fast_init(&f, json, len, out); /* one pass first, as PutItem's converter */
  rc = put_value(&f, 1);
  if (rc == 0 && (skip_ws(&f), f.pos != f.len)) rc = DECLINED;
  *size = f.size;
  fast_free(&f);
  if (rc == 0) {
    out->data[out->len] = '\0';
    return 0;
  }
  ddbs_truncate_buf(out, start);
  if (rc == DDBS_E_NOMEM) return ddbs_fail_nomem(err, errlen);
  const unsigned char *s = (const unsigned char *)json;
  if ((why = json_validate(s, len, V_JANSSON | V_INT_AS_REAL, 1, &at)) != NULL)
    return ddbs_fail(err, errlen, DDBS_E_INPUT, "session is not valid JSON: %s at byte %zu", why, at);
  tp_init(&t, json, len, out);
  rc = tp_put(&t, ws_end(s, len, 0), 1, err, errlen);
  *size = t.f.size;
  tp_free(&t);
  if (rc != 0) ddbs_truncate_buf(out, start);
  else if (out->data) out->data[out->len] = '\0';
  return rc;
}

/* ---- two pass: the fields of an UpdateItem (for ddb_update.c) ------------------------------ */

void ddbs_fields_free(ddbs_fields *fl) {
  free(fl->f);
  fl->f = NULL, fl->n = fl->cap = 0;
  ddbs_buf_free(&fl->names);
  ddbs_buf_free(&fl->values);
}

/* A new field whose name is fl->names[name_off..name_off + len), or NULL (no memory). */
static ddbs_field *add_field(ddbs_fields *fl, size_t name_off, size_t len) {
  if (fl->n == fl->cap) {
    size_t cap = fl->cap ? fl->cap * 2 : 16;
    ddbs_field *f = realloc(fl->f, cap * sizeof *f);
    if (!f) return NULL;
    fl->f = f, fl->cap = cap;
  }
  ddbs_field *f = &fl->f[fl->n++];
  *f = (ddbs_field){name_off, len, 0, 0, 0};
  return f;
}

int ddbs_read_set_fields(const char *json, size_t len, ddbs_fields *fl, char *err, size_t errlen) {
  const unsigned char *s = (const unsigned char *)json;
  twopass_t t;
  size_t at, base;
  const char *why;
  int rc = 0;
  if ((why = json_validate(s, len, V_JANSSON | V_INT_AS_REAL, 1, &at)) != NULL)
    return ddbs_fail(err, errlen, DDBS_E_INPUT, "the fields to set are not valid JSON: %s at byte %zu", why, at);
  size_t root = ws_end(s, len, 0);
  if (s[root] != '{') return ddbs_fail(err, errlen, DDBS_E_INPUT, "the fields to set are not a JSON object");
  tp_init(&t, json, len, &fl->values);
  if (tp_members(&t, root, &base) != 0) goto nomem;
  for (size_t j = base; j < t.m_n; j++) {
    member_t m = t.m[j]; /* (a copy: the nested calls may move the stack) */
    if (m.key_len == 0) {
      rc = ddbs_fail(err, errlen, DDBS_E_INPUT, "a field to set has an empty name");
      goto cleanup;
    }
    size_t name_off = fl->names.len;
    if (ddbs_buf_append(&fl->names, t.keys.data + m.key_off, m.key_len) != 0) goto nomem;
    ddbs_field *f = add_field(fl, name_off, m.key_len);
    if (!f) goto nomem;
    size_t size = t.f.size;
    f->val_off = fl->values.len;
    if ((rc = tp_put(&t, m.val_pos, 2, err, errlen)) != 0) goto cleanup;
    f = &fl->f[fl->n - 1];
    f->val_len = fl->values.len - f->val_off;
    f->size = t.f.size - size;
    fl->size += 1 + m.key_len + f->size;
  }
  if (fl->values.data) fl->values.data[fl->values.len] = '\0';
  goto cleanup;
nomem:
  rc = ddbs_fail_nomem(err, errlen);
cleanup:
  tp_free(&t);
  return rc;
}

int ddbs_read_remove_fields(const char *json, size_t len, ddbs_fields *fl, char *err, size_t errlen) {
  const unsigned char *s = (const unsigned char *)json;
  size_t at;
  const char *why;
  str_t st;
  if ((why = json_validate(s, len, V_JANSSON | V_INT_AS_REAL, 1, &at)) != NULL)
    return ddbs_fail(err, errlen, DDBS_E_INPUT, "the fields to remove are not valid JSON: %s at byte %zu", why,
                     at);
  size_t i = ws_end(s, len, 0);
  if (s[i] != '[') return ddbs_fail(err, errlen, DDBS_E_INPUT, "the fields to remove are not a JSON array");
  i = ws_end(s, len, i + 1);
  if (s[i] == ']') return 0;
  for (;;) {
    i = ws_end(s, len, i);
    if (s[i] != '"') return ddbs_fail(err, errlen, DDBS_E_INPUT, "a field to remove is not named by a string");
    scan_str(s, len, i, &st);
    if (st.decoded_len == 0) return ddbs_fail(err, errlen, DDBS_E_INPUT, "a field to remove has an empty name");
    if (st.has_nul) return ddbs_fail(err, errlen, DDBS_E_INPUT, "a field to remove has U+0000 in its name");
    size_t name_off = fl->names.len;
    if (decode_into(s, &st, &fl->names) != 0 || !add_field(fl, name_off, st.decoded_len))
      return ddbs_fail_nomem(err, errlen);
    i = ws_end(s, len, st.end);
    if (s[i] != ',') break;
    i++;
  }
  if (fl->names.data) fl->names.data[fl->names.len] = '\0';
  return 0;
}

/* ---- the public converters ------------------------------------------------------------- */

int ddbs_body_put_item(const char *table, const char *hash_key, const char *key, size_t key_len,
                       const char *ttl_key, long long expires, const char *session_json,
                       size_t session_len, ddbs_buf *out, char *err, size_t errlen) {
  return ddbs_body_put_item_cond(table, hash_key, key, key_len, ttl_key, expires, session_json, session_len,
                                 NULL, out, err, errlen);
}

int ddbs_body_put_item_cond(const char *table, const char *hash_key, const char *key, size_t key_len,
                            const char *ttl_key, long long expires, const char *session_json,
                            size_t session_len, const ddbs_write_cond *cond, ddbs_buf *out, char *err,
                            size_t errlen) {
  int rc = ddbs_onepass_body_put_item_cond(table, hash_key, key, key_len, ttl_key, expires, session_json,
                                           session_len, cond, out, err, errlen);
  if (rc != DDBS_ONEPASS_DECLINED) return rc;
  return ddbs_twopass_body_put_item_cond(table, hash_key, key, key_len, ttl_key, expires, session_json,
                                         session_len, cond, out, err, errlen);
}

int ddbs_parse_get_item_capacity(const char *body, size_t len, const char *hash_key, const char *key,
                                 size_t key_len, const char *ttl_key, long long now_seconds,
                                 const char *version_key, long long *version, ddbs_buf *session_out, int *found,
                                 double *capacity, char *err, size_t errlen) {
  double units = 0;
  *capacity = 0;
  int rc = onepass_parse_get_item(body, len, hash_key, key, key_len, ttl_key, now_seconds, version_key, version,
                                  session_out, found, &units, err, errlen);
  if (rc == DDBS_ONEPASS_DECLINED) {
    rc = ddbs_twopass_parse_get_item(body, len, hash_key, key, key_len, ttl_key, now_seconds, version_key, version,
                                     session_out, found, err, errlen);
    if (rc == 0 && ddbs_parse_consumed_capacity(body, len, &units) != 0) units = 0;
  }
  if (rc == 0) *capacity = units;
  return rc;
}

int ddbs_parse_get_item(const char *body, size_t len, const char *hash_key, const char *key, size_t key_len,
                        const char *ttl_key, long long now_seconds, const char *version_key,
                        long long *version, ddbs_buf *session_out, int *found, char *err, size_t errlen) {
  int rc = ddbs_onepass_parse_get_item(body, len, hash_key, key, key_len, ttl_key, now_seconds, version_key,
                                       version, session_out, found, err, errlen);
  if (rc != DDBS_ONEPASS_DECLINED) return rc;
  return ddbs_twopass_parse_get_item(body, len, hash_key, key, key_len, ttl_key, now_seconds, version_key,
                                     version, session_out, found, err, errlen);
}

/* ---- error answers --------------------------------------------------------------------- */

/* Two passes, as the reference reads it: the whole body must be JSON (jansson's rules), an object,
 * with a string __type (its last one) that names a code; the message is "message" if that is a
 * string, else "Message", up to a NUL it may hold. */
int ddbs_parse_error(const char *body, size_t len, char *code, size_t code_size, char *message,
                     size_t message_size) {
  const unsigned char *s = (const unsigned char *)body;
  ddbs_buf unused = DDBS_BUF_INIT;
  twopass_t t;
  size_t at, type, msg;
  str_t st;
  int rc = DDBS_E_RESPONSE;
  if (code && code_size) code[0] = '\0';
  if (message && message_size) message[0] = '\0';
  if (!body || json_validate(s, len, V_JANSSON, 0, &at) != NULL || s[ws_end(s, len, 0)] != '{')
    return DDBS_E_RESPONSE;
  tp_init(&t, body, len, &unused);
  size_t root = ws_end(s, len, 0);
  if (tp_find(&t, root, "__type", 6, &type) != 0 || type == NONE || s[type] != '"') goto cleanup;
  if (tp_find(&t, root, "message", 7, &msg) != 0) goto cleanup;
  if (msg == NONE || s[msg] != '"') {
    if (tp_find(&t, root, "Message", 7, &msg) != 0) goto cleanup;
    if (msg != NONE && s[msg] != '"') msg = NONE;
  }
  scan_str(s, len, type, &st);
  if (decode_string(&t.f, &st) != 0) goto cleanup;
  if (ddbs_error_code_from_type(t.f.scratch.data, t.f.scratch.len, code, code_size) == 0) goto cleanup;
  if (msg != NONE) {
    scan_str(s, len, msg, &st);
    if (decode_string(&t.f, &st) != 0) goto cleanup;
    const char *nul = memchr(t.f.scratch.data, '\0', t.f.scratch.len);
    ddbs_copy_truncated(message, message_size, t.f.scratch.data,
                        nul ? (size_t)(nul - t.f.scratch.data) : t.f.scratch.len);
  }
  rc = 0;
cleanup:
  if (rc != 0 && code && code_size) code[0] = '\0';
  tp_free(&t);
  return rc;
}
