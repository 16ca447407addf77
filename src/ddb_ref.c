/* ddb_ref.c: the jansson reference implementations (see ddb_json_ref.h): session JSON text ->
 * jansson tree -> AttributeValues / PutItem body (with its conditions), fields to set and remove ->
 * trees -> UpdateItem body, GetItem answer -> tree -> session JSON text (and the version),
 * error answers; and the jansson-value helpers the tests use (value <-> AttributeValue, item size).
 * The oracle of the differential tests and fuzzers, which check that the converters in ddb_json.c
 * give exactly its results. Not linked into the addon.
 * Owns nothing beyond the jansson values and buffers of a single call; every function frees what
 * it allocated before returning (single exit, goto cleanup), and on failure leaves `out` as it
 * found it. Pure: no I/O, no clock, no globals (never calls json_object_seed). Thread: any. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddb_json_internal.h"
#include "ddb_json_ref.h"
#include "ddb_number.h"

#define SESSION_ATTR DDBS_SESSION_ATTR

/* jansson 2.14's reader loses a NUL byte that follows a number or true/false/null ("[1\0]" reads
 * as [1]: its stream takes a pushed-back 0 for "no byte buffered"). A raw NUL is never part of
 * JSON (in a string it is a control character, elsewhere no token), so the reference refuses any
 * text holding one before jansson sees it, and means by "valid JSON" what RFC 8259 does. Returns
 * the offset of the first NUL byte, or -1. */
static long raw_nul(const char *text, size_t len) {
  const char *nul = memchr(text, '\0', len);
  return nul ? (long)(nul - text) : -1;
}

/* ---- session value -> AttributeValue --------------------------------------------------- */

static int new_tagged(const char *tag, json_t *v, json_t **out) {
  json_t *o = json_object();
  if (!o || json_object_set_new(o, tag, v) != 0) { /* set_new consumes v even on failure */
    if (!o) json_decref(v);
    json_decref(o);
    return -1;
  }
  *out = o;
  return 0;
}

static int number_attr(double v, json_t **out, char *err, size_t errlen) {
  char text[32];
  int len;
  int rc = ddbs_session_number(v, text, &len, err, errlen);
  if (rc != 0) return rc;
  if (new_tagged("N", json_stringn_nocheck(text, (size_t)len), out) != 0)
    return ddbs_fail_nomem(err, errlen);
  return 0;
}

/* depth: the nesting level a container at this position would have (the session itself is 1). */
static int value_to_attr(const json_t *v, int depth, json_t **out, char *err, size_t errlen) {
  json_t *inner = NULL, *child = NULL;
  int rc = 0;
  *out = NULL;
  switch (json_typeof(v)) {
    case JSON_OBJECT: {
      if (depth > DDBS_MAX_DEPTH) {
        rc = ddbs_fail(err, errlen, DDBS_E_INPUT,
                       "session nests deeper than %d levels (DynamoDB's limit)", DDBS_MAX_DEPTH);
        goto cleanup;
      }
      inner = json_object();
      if (!inner) goto nomem;
      const char *key;
      size_t key_len;
      json_t *member;
      json_t *obj = (json_t *)v; /* jansson's iteration API is not const-qualified */
      json_object_keylen_foreach(obj, key, key_len, member) {
        rc = value_to_attr(member, depth + 1, &child, err, errlen);
        if (rc != 0) goto cleanup;
        if (json_object_setn_new_nocheck(inner, key, key_len, child) != 0) {
          child = NULL;
          goto nomem;
        }
        child = NULL;
      }
      if (new_tagged("M", inner, out) != 0) {
        inner = NULL;
        goto nomem;
      }
      inner = NULL;
      break;
    }
    case JSON_ARRAY: {
      if (depth > DDBS_MAX_DEPTH) {
        rc = ddbs_fail(err, errlen, DDBS_E_INPUT,
                       "session nests deeper than %d levels (DynamoDB's limit)", DDBS_MAX_DEPTH);
        goto cleanup;
      }
      inner = json_array();
      if (!inner) goto nomem;
      size_t i;
      json_t *member;
      json_array_foreach(v, i, member) {
        rc = value_to_attr(member, depth + 1, &child, err, errlen);
        if (rc != 0) goto cleanup;
        if (json_array_append_new(inner, child) != 0) {
          child = NULL;
          goto nomem;
        }
        child = NULL;
      }
      if (new_tagged("L", inner, out) != 0) {
        inner = NULL;
        goto nomem;
      }
      inner = NULL;
      break;
    }
    case JSON_STRING:
      if (new_tagged("S", json_stringn_nocheck(json_string_value(v), json_string_length(v)),
                     out) != 0)
        goto nomem;
      break;
    case JSON_INTEGER: /* as JavaScript would hold it: a double */
      rc = number_attr((double)json_integer_value(v), out, err, errlen);
      break;
    case JSON_REAL: rc = number_attr(json_real_value(v), out, err, errlen); break;
    case JSON_TRUE:
    case JSON_FALSE:
      if (new_tagged("BOOL", json_boolean(json_is_true(v)), out) != 0) goto nomem;
      break;
    case JSON_NULL:
      if (new_tagged("NULL", json_true(), out) != 0) goto nomem;
      break;
    default: rc = ddbs_fail(err, errlen, DDBS_E_INPUT, "session holds a value of unknown type"); break;
  }
  goto cleanup;
nomem:
  rc = ddbs_fail_nomem(err, errlen);
cleanup:
  json_decref(child);
  json_decref(inner);
  return rc;
}

json_t *ddbs_value_to_attr(const json_t *value, char *err, size_t errlen) {
  json_t *attr = NULL;
  if (!value) {
    ddbs_fail(err, errlen, DDBS_E_INPUT, "no session value");
    return NULL;
  }
  if (value_to_attr(value, 1, &attr, err, errlen) != 0) return NULL;
  return attr;
}

/* Session JSON text -> a new jansson value; returns 0 or a DDBS_E_* code. Numbers all become reals
 * (JSON_DECODE_INT_AS_REAL: 2^64 and beyond are fine, as in JavaScript); NUL in strings is kept. */
static int load_session(const char *text, size_t len, json_t **out, char *err, size_t errlen) {
  json_error_t jerr;
  *out = NULL;
  if (!text) return ddbs_fail(err, errlen, DDBS_E_INPUT, "no session JSON");
  if (raw_nul(text, len) >= 0)
    return ddbs_fail(err, errlen, DDBS_E_INPUT, "session is not valid JSON: a NUL byte at byte %ld",
                     raw_nul(text, len));
  *out = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &jerr);
  if (!*out)
    return ddbs_fail(err, errlen,
                     json_error_code(&jerr) == json_error_out_of_memory ? DDBS_E_NOMEM : DDBS_E_INPUT,
                     "session is not valid JSON: %s (line %d, column %d)", jerr.text, jerr.line,
                     jerr.column);
  return 0;
}

json_t *ddbs_json_text_to_attr(const char *text, size_t len, char *err, size_t errlen) {
  json_t *value = NULL, *attr = NULL;
  if (load_session(text, len, &value, err, errlen) == 0)
    value_to_attr(value, 1, &attr, err, errlen);
  json_decref(value);
  return attr;
}

/* ---- AttributeValue -> JSON text ------------------------------------------------------- */

static int write_attr(const json_t *attr, int depth, ddbs_buf *out, char *err, size_t errlen);

static int write_number(const json_t *n, ddbs_buf *out, char *err, size_t errlen) {
  double v;
  char text[32];
  if (!json_is_string(n))
    return ddbs_fail(err, errlen, DDBS_E_RESPONSE, "a number attribute value (N) is not a string");
  if (ddbs_parse_number_text(json_string_value(n), json_string_length(n), &v) != 0)
    return ddbs_fail(err, errlen, DDBS_E_RESPONSE,
                     "a number attribute value (N) is not a number: \"%.40s\"", json_string_value(n));
  int len = ddbs_format_double(v, text);
  if (len < 0 || ddbs_buf_append(out, text, (size_t)len) != 0) return ddbs_fail_nomem(err, errlen);
  return 0;
}

/* Writes the members of an array under tag (SS, NS, BS, or L) as a JSON array. */
static int write_list(const char *tag, const json_t *arr, int depth, ddbs_buf *out, char *err,
                      size_t errlen) {
  size_t i;
  json_t *member;
  if (!json_is_array(arr))
    return ddbs_fail(err, errlen, DDBS_E_RESPONSE, "a %s attribute value is not an array", tag);
  if (ddbs_buf_append_char(out, '[') != 0) return ddbs_fail_nomem(err, errlen);
  json_array_foreach(arr, i, member) {
    int rc = 0;
    if (i > 0 && ddbs_buf_append_char(out, ',') != 0) return ddbs_fail_nomem(err, errlen);
    if (tag[0] == 'L') {
      rc = write_attr(member, depth + 1, out, err, errlen);
    } else if (tag[0] == 'N') {
      rc = write_number(member, out, err, errlen);
    } else if (!json_is_string(member)) {
      rc = ddbs_fail(err, errlen, DDBS_E_RESPONSE, "a %s attribute value holds a non-string", tag);
    } else if (ddbs_write_json_string(out, json_string_value(member), json_string_length(member)) != 0) {
      rc = ddbs_fail_nomem(err, errlen);
    }
    if (rc != 0) return rc;
  }
  if (ddbs_buf_append_char(out, ']') != 0) return ddbs_fail_nomem(err, errlen);
  return 0;
}

/* Writes the members of an object {name: AttributeValue} as a JSON object. */
static int write_map(const json_t *map, int depth, ddbs_buf *out, char *err, size_t errlen) {
  const char *key;
  size_t key_len;
  json_t *member;
  int first = 1;
  json_t *obj = (json_t *)map; /* jansson's iteration API is not const-qualified */
  if (ddbs_buf_append_char(out, '{') != 0) return ddbs_fail_nomem(err, errlen);
  json_object_keylen_foreach(obj, key, key_len, member) {
    if ((!first && ddbs_buf_append_char(out, ',') != 0) || ddbs_write_json_string(out, key, key_len) != 0 ||
        ddbs_buf_append_char(out, ':') != 0)
      return ddbs_fail_nomem(err, errlen);
    first = 0;
    int rc = write_attr(member, depth + 1, out, err, errlen);
    if (rc != 0) return rc;
  }
  if (ddbs_buf_append_char(out, '}') != 0) return ddbs_fail_nomem(err, errlen);
  return 0;
}

/* depth: the nesting level of attr (a top-level attribute is 1). */
static int write_attr(const json_t *attr, int depth, ddbs_buf *out, char *err, size_t errlen) {
  if (depth > DDBS_MAX_READ_DEPTH)
    return ddbs_fail(err, errlen, DDBS_E_RESPONSE, "attribute values nest deeper than %d levels",
                     DDBS_MAX_READ_DEPTH);
  if (!json_is_object(attr) || json_object_size(attr) != 1)
    return ddbs_fail(err, errlen, DDBS_E_RESPONSE,
                     "an attribute value is not an object with exactly one type tag");
  void *it = json_object_iter((json_t *)attr);
  const char *tag = json_object_iter_key(it);
  const json_t *v = json_object_iter_value(it);
  if (strcmp(tag, "S") == 0 || strcmp(tag, "B") == 0) {
    if (!json_is_string(v))
      return ddbs_fail(err, errlen, DDBS_E_RESPONSE, "a %s attribute value is not a string", tag);
    if (ddbs_write_json_string(out, json_string_value(v), json_string_length(v)) != 0)
      return ddbs_fail_nomem(err, errlen);
    return 0;
  }
  if (strcmp(tag, "N") == 0) return write_number(v, out, err, errlen);
  if (strcmp(tag, "BOOL") == 0) {
    if (!json_is_boolean(v))
      return ddbs_fail(err, errlen, DDBS_E_RESPONSE, "a BOOL attribute value is not true or false");
    if (ddbs_buf_append_str(out, json_is_true(v) ? "true" : "false") != 0)
      return ddbs_fail_nomem(err, errlen);
    return 0;
  }
  if (strcmp(tag, "NULL") == 0) {
    if (!json_is_true(v))
      return ddbs_fail(err, errlen, DDBS_E_RESPONSE, "a NULL attribute value is not true");
    if (ddbs_buf_append_str(out, "null") != 0) return ddbs_fail_nomem(err, errlen);
    return 0;
  }
  if (strcmp(tag, "M") == 0) {
    if (!json_is_object(v))
      return ddbs_fail(err, errlen, DDBS_E_RESPONSE, "an M attribute value is not an object");
    return write_map(v, depth, out, err, errlen);
  }
  if (strcmp(tag, "L") == 0 || strcmp(tag, "SS") == 0 || strcmp(tag, "NS") == 0 ||
      strcmp(tag, "BS") == 0)
    return write_list(tag, v, depth, out, err, errlen);
  return ddbs_fail(err, errlen, DDBS_E_RESPONSE, "unknown attribute type tag \"%.16s\"", tag);
}

int ddbs_attr_to_json_text(const json_t *attr, ddbs_buf *out, char *err, size_t errlen) {
  size_t start = out->len;
  int rc = attr ? write_attr(attr, 1, out, err, errlen)
                : ddbs_fail(err, errlen, DDBS_E_RESPONSE, "no attribute value");
  if (rc != 0) ddbs_truncate_buf(out, start);
  return rc;
}

/* ---- item size ------------------------------------------------------------------------- */

static size_t base64_decoded_len(const char *s, size_t len) {
  size_t pad = 0;
  while (pad < 2 && len > pad && s[len - 1 - pad] == '=') pad++;
  return (len - pad) / 4 * 3 + ((len - pad) % 4 * 3) / 4;
}

static size_t number_size(const json_t *n) {
  if (!json_is_string(n)) return 0;
  return ddbs_number_text_size(json_string_value(n), json_string_length(n));
}

static size_t value_size(const json_t *attr) {
  size_t size = 0, i;
  const char *key;
  size_t key_len;
  json_t *member;
  if (!json_is_object(attr) || json_object_size(attr) != 1) return 0;
  void *it = json_object_iter((json_t *)attr);
  const char *tag = json_object_iter_key(it);
  json_t *v = json_object_iter_value(it);
  if (strcmp(tag, "S") == 0) return json_string_length(v);
  if (strcmp(tag, "N") == 0) return number_size(v);
  if (strcmp(tag, "B") == 0)
    return json_is_string(v) ? base64_decoded_len(json_string_value(v), json_string_length(v)) : 0;
  if (strcmp(tag, "BOOL") == 0 || strcmp(tag, "NULL") == 0) return 1;
  if (strcmp(tag, "M") == 0) {
    size = 3;
    json_object_keylen_foreach(v, key, key_len, member) size += 1 + key_len + value_size(member);
  } else if (strcmp(tag, "L") == 0) {
    size = 3;
    json_array_foreach(v, i, member) size += 1 + value_size(member);
  } else if (strcmp(tag, "SS") == 0) {
    json_array_foreach(v, i, member) size += json_string_length(member);
  } else if (strcmp(tag, "NS") == 0) {
    json_array_foreach(v, i, member) size += number_size(member);
  } else if (strcmp(tag, "BS") == 0) {
    json_array_foreach(v, i, member) {
      if (json_is_string(member))
        size += base64_decoded_len(json_string_value(member), json_string_length(member));
    }
  }
  return size;
}

size_t ddbs_item_size(const json_t *item) {
  size_t size = 0;
  const char *key;
  size_t key_len;
  json_t *member;
  json_t *obj = (json_t *)item; /* jansson's iteration API is not const-qualified */
  if (!json_is_object(item)) return 0;
  json_object_keylen_foreach(obj, key, key_len, member) size += key_len + value_size(member);
  return size;
}

/* ---- PutItem --------------------------------------------------------------------------- */

/* The reference PutItem path writes the AttributeValue text straight from the decoded session (no
 * intermediate AttributeValue tree, no second serialisation) and adds up the item size on the way;
 * it gives the same text as json_dumps(ddbs_value_to_attr()) up to string-escape spelling (tests
 * check the two agree), and the same size as ddbs_item_size(). */

#define APPEND(lit) (ddbs_buf_append(out, lit, sizeof(lit) - 1) != 0)

/* depth: the nesting level a container at this position would have (the session itself is 1). */
static int write_value_attr(const json_t *v, int depth, ddbs_buf *out, size_t *size, char *err,
                            size_t errlen) {
  int rc;
  switch (json_typeof(v)) {
    case JSON_OBJECT:
    case JSON_ARRAY: {
      int is_obj = json_is_object(v);
      if (depth > DDBS_MAX_DEPTH)
        return ddbs_fail(err, errlen, DDBS_E_INPUT,
                         "session nests deeper than %d levels (DynamoDB's limit)", DDBS_MAX_DEPTH);
      if (is_obj ? APPEND("{\"M\":{") : APPEND("{\"L\":[")) goto nomem;
      *size += 3;
      if (is_obj) {
        const char *key;
        size_t key_len;
        json_t *member;
        int first = 1;
        json_t *obj = (json_t *)v; /* jansson's iteration API is not const-qualified */
        json_object_keylen_foreach(obj, key, key_len, member) {
          if ((!first && ddbs_buf_append_char(out, ',') != 0) ||
              ddbs_write_json_string(out, key, key_len) != 0 || ddbs_buf_append_char(out, ':') != 0)
            goto nomem;
          first = 0;
          *size += 1 + key_len;
          rc = write_value_attr(member, depth + 1, out, size, err, errlen);
          if (rc != 0) return rc;
        }
      } else {
        size_t i;
        json_t *member;
        json_array_foreach(v, i, member) {
          if (i > 0 && ddbs_buf_append_char(out, ',') != 0) goto nomem;
          *size += 1;
          rc = write_value_attr(member, depth + 1, out, size, err, errlen);
          if (rc != 0) return rc;
        }
      }
      if (is_obj ? APPEND("}}") : APPEND("]}")) goto nomem;
      return 0;
    }
    case JSON_STRING:
      if (APPEND("{\"S\":") ||
          ddbs_write_json_string(out, json_string_value(v), json_string_length(v)) != 0 || APPEND("}"))
        goto nomem;
      *size += json_string_length(v);
      return 0;
    case JSON_INTEGER:
    case JSON_REAL: {
      char text[32];
      double d = json_is_real(v) ? json_real_value(v) : (double)json_integer_value(v);
      int len;
      rc = ddbs_session_number(d, text, &len, err, errlen);
      if (rc != 0) return rc;
      if (APPEND("{\"N\":\"") || ddbs_buf_append(out, text, (size_t)len) != 0 || APPEND("\"}"))
        goto nomem;
      *size += ddbs_number_text_size(text, (size_t)len);
      return 0;
    }
    case JSON_TRUE:
    case JSON_FALSE:
      if (json_is_true(v) ? APPEND("{\"BOOL\":true}") : APPEND("{\"BOOL\":false}")) goto nomem;
      *size += 1;
      return 0;
    case JSON_NULL:
      if (APPEND("{\"NULL\":true}")) goto nomem;
      *size += 1;
      return 0;
    default: return ddbs_fail(err, errlen, DDBS_E_INPUT, "session holds a value of unknown type");
  }
nomem:
  return ddbs_fail_nomem(err, errlen);
}

/* ---- the pieces of the bodies, as trees ------------------------------------------------ */

/* Writes a tree of objects, arrays, strings and true/false/null as compact JSON (objects' members
 * in their order, strings as ddbs_write_json_string writes them). 0 or -1 (no memory). */
static int dump(const json_t *v, ddbs_buf *out) {
  switch (json_typeof(v)) {
    case JSON_OBJECT: {
      const char *key;
      size_t key_len;
      json_t *member;
      int first = 1;
      json_t *obj = (json_t *)v; /* jansson's iteration API is not const-qualified */
      if (ddbs_buf_append_char(out, '{') != 0) return -1;
      json_object_keylen_foreach(obj, key, key_len, member) {
        if ((!first && ddbs_buf_append_char(out, ',') != 0) || ddbs_write_json_string(out, key, key_len) != 0 ||
            ddbs_buf_append_char(out, ':') != 0 || dump(member, out) != 0)
          return -1;
        first = 0;
      }
      return ddbs_buf_append_char(out, '}');
    }
    case JSON_ARRAY: {
      size_t i;
      json_t *member;
      if (ddbs_buf_append_char(out, '[') != 0) return -1;
      json_array_foreach(v, i, member) {
        if ((i > 0 && ddbs_buf_append_char(out, ',') != 0) || dump(member, out) != 0) return -1;
      }
      return ddbs_buf_append_char(out, ']');
    }
    case JSON_STRING: return ddbs_write_json_string(out, json_string_value(v), json_string_length(v));
    case JSON_TRUE: return ddbs_buf_append_str(out, "true");
    case JSON_FALSE: return ddbs_buf_append_str(out, "false");
    case JSON_NULL: return ddbs_buf_append_str(out, "null");
    default: return -1; /* (numbers are never part of a body: N values are strings) */
  }
}

/* Sets o[key] = v (a new reference: consumed, also on failure). 0 or -1. */
static int set_new(json_t *o, const char *key, json_t *v) { return v ? json_object_set_new(o, key, v) : -1; }

/* A new {"N": "<v>"}, or NULL. */
static json_t *n_attr(long long v) {
  char t[24];
  json_t *o = json_object();
  snprintf(t, sizeof t, "%lld", v);
  if (o && set_new(o, "N", json_string(t)) != 0) {
    json_decref(o);
    o = NULL;
  }
  return o;
}

/* Appends part to a list joined with sep. 0 or -1. */
static int join(ddbs_buf *b, const char *sep, const char *part) {
  if (b->len > 0 && ddbs_buf_append_str(b, sep) != 0) return -1;
  return ddbs_buf_append_str(b, part);
}

/* The condition of cond (ddb_json.h): its expression into cexpr (empty when there is none), its
 * names and values into the objects (#ver only when not there yet). 0 or -1. */
static int cond_tree(const char *hash_key, const ddbs_write_cond *cond, ddbs_buf *cexpr, json_t *names,
                     json_t *values) {
  if (!cond) return 0;
  if (cond->require_exists &&
      (join(cexpr, " AND ", "attribute_exists(#k)") != 0 || set_new(names, "#k", json_string(hash_key)) != 0))
    return -1;
  if (cond->expect_version != -2) {
    if (join(cexpr, " AND ", cond->expect_version == -1 ? "attribute_not_exists(#ver)" : "#ver = :ev") != 0 ||
        (!json_object_get(names, "#ver") && set_new(names, "#ver", json_string(cond->version_key)) != 0) ||
        (cond->expect_version >= 0 && set_new(values, ":ev", n_attr(cond->expect_version)) != 0))
      return -1;
  }
  return 0;
}

/* ---- PutItem --------------------------------------------------------------------------- */

/* The reference PutItem path: jansson decodes the session, write_value_attr writes it; the ttl
 * and version attributes and the condition are trees (their size: ddbs_item_size). */
int ddbs_ref_body_put_item_cond(const char *table, const char *hash_key, const char *key, size_t key_len,
                                const char *ttl_key, long long expires, const char *session_json,
                                size_t session_len, const ddbs_write_cond *cond, ddbs_buf *out, char *err,
                                size_t errlen) {
  json_t *session = NULL, *tail = NULL, *names = NULL, *values = NULL;
  ddbs_buf cexpr = DDBS_BUF_INIT;
  size_t start = out->len;
  int with_ttl = ttl_key != NULL && expires >= 0;
  int rc = ddbs_check_put_args(table, hash_key, key, key_len, ttl_key, with_ttl, err, errlen);
  if (rc == 0) rc = ddbs_check_cond(hash_key, ttl_key, cond, 1, err, errlen);
  if (rc != 0) goto cleanup;
  rc = load_session(session_json, session_len, &session, err, errlen);
  if (rc != 0) goto cleanup;
  size_t size = strlen(hash_key) + key_len + (sizeof SESSION_ATTR - 1);
  if (ddbs_write_body_start(table, "Item", hash_key, key, key_len, out) != 0 ||
      APPEND(",\"" SESSION_ATTR "\":"))
    goto nomem;
  rc = write_value_attr(session, 1, out, &size, err, errlen);
  if (rc != 0) goto cleanup;
  /* the item's other attributes */
  if (!(tail = json_object()) || (with_ttl && set_new(tail, ttl_key, n_attr(expires)) != 0) ||
      (cond && cond->version_key && set_new(tail, cond->version_key, n_attr(cond->new_version)) != 0))
    goto nomem;
  const char *name;
  size_t name_len;
  json_t *attr;
  json_object_keylen_foreach(tail, name, name_len, attr) {
    if (ddbs_buf_append_char(out, ',') != 0 || ddbs_write_json_string(out, name, name_len) != 0 ||
        ddbs_buf_append_char(out, ':') != 0 || dump(attr, out) != 0)
      goto nomem;
  }
  size += ddbs_item_size(tail);
  if (APPEND("}")) goto nomem;
  /* the condition */
  if (!(names = json_object()) || !(values = json_object()) || cond_tree(hash_key, cond, &cexpr, names, values) != 0)
    goto nomem;
  if (cexpr.len > 0) {
    if (APPEND(",\"ConditionExpression\":") || ddbs_write_json_string(out, cexpr.data, cexpr.len) != 0 ||
        APPEND(",\"ExpressionAttributeNames\":") || dump(names, out) != 0)
      goto nomem;
    if (json_object_size(values) > 0 && (APPEND(",\"ExpressionAttributeValues\":") || dump(values, out) != 0))
      goto nomem;
  }
  if (APPEND("}")) goto nomem;
  if (size > DDBS_MAX_ITEM_SIZE) rc = ddbs_fail_too_large(size, err, errlen);
  goto cleanup;
nomem:
  rc = ddbs_fail_nomem(err, errlen);
cleanup:
  if (rc != 0) ddbs_truncate_buf(out, start);
  json_decref(session);
  json_decref(tail);
  json_decref(names);
  json_decref(values);
  ddbs_buf_free(&cexpr);
  return rc;
}

int ddbs_ref_body_put_item(const char *table, const char *hash_key, const char *key, size_t key_len,
                           const char *ttl_key, long long expires, const char *session_json,
                           size_t session_len, ddbs_buf *out, char *err, size_t errlen) {
  return ddbs_ref_body_put_item_cond(table, hash_key, key, key_len, ttl_key, expires, session_json, session_len,
                                     NULL, out, err, errlen);
}

/* ---- UpdateItem ------------------------------------------------------------------------ */

/* JSON text of the fields to set or remove -> a new jansson value (as load_session reads). */
static int load_fields(const char *what, const char *text, size_t len, json_t **out, char *err, size_t errlen) {
  json_error_t jerr;
  *out = NULL;
  if (raw_nul(text, len) >= 0)
    return ddbs_fail(err, errlen, DDBS_E_INPUT, "the fields to %s are not valid JSON: a NUL byte", what);
  *out = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &jerr);
  if (!*out)
    return ddbs_fail(err, errlen,
                     json_error_code(&jerr) == json_error_out_of_memory ? DDBS_E_NOMEM : DDBS_E_INPUT,
                     "the fields to %s are not valid JSON: %s", what, jerr.text);
  return 0;
}

/* The reference UpdateItem path: jansson decodes the fields, the body is built as a tree (names
 * and values added as the expression first uses them) and written by dump(); the sizes come from
 * ddbs_item_size. */
int ddbs_ref_body_update_item(const char *table, const char *hash_key, const char *key, size_t key_len,
                              const char *ttl_key, long long expires, const char *set_json, size_t set_len,
                              const char *remove_json, size_t remove_len, const ddbs_write_cond *cond,
                              ddbs_buf *out, char *err, size_t errlen) {
  json_t *set = NULL, *rem = NULL, *sets = NULL, *removes = NULL, *item = NULL, *names = NULL, *values = NULL,
         *body = NULL, *attr = NULL, *member;
  ddbs_buf sets_expr = DDBS_BUF_INIT, rem_expr = DDBS_BUF_INIT, expr = DDBS_BUF_INIT, cexpr = DDBS_BUF_INIT;
  size_t start = out->len, ops = 0, fi = 0, i;
  const char *name;
  size_t name_len;
  char ph[32], part[96];
  int with_ttl = ttl_key != NULL && expires >= 0, with_version = cond != NULL && cond->version_key != NULL;
  int rc = ddbs_check_put_args(table, hash_key, key, key_len, ttl_key, with_ttl, err, errlen);
  if (rc == 0) rc = ddbs_check_cond(hash_key, ttl_key, cond, 0, err, errlen);
  if (rc != 0) goto cleanup;
  if (!(sets = json_object()) || !(removes = json_object())) goto nomem;
  if (set_json) {
    if ((rc = load_fields("set", set_json, set_len, &set, err, errlen)) != 0) goto cleanup;
    if (!json_is_object(set)) {
      rc = ddbs_fail(err, errlen, DDBS_E_INPUT, "the fields to set are not a JSON object");
      goto cleanup;
    }
    json_object_keylen_foreach(set, name, name_len, member) {
      if (name_len == 0) {
        rc = ddbs_fail(err, errlen, DDBS_E_INPUT, "a field to set has an empty name");
        goto cleanup;
      }
      if ((rc = value_to_attr(member, 2, &attr, err, errlen)) != 0) goto cleanup;
      if (json_object_setn_new_nocheck(sets, name, name_len, attr) != 0) goto nomem;
    }
  }
  if (remove_json) {
    if ((rc = load_fields("remove", remove_json, remove_len, &rem, err, errlen)) != 0) goto cleanup;
    if (!json_is_array(rem)) {
      rc = ddbs_fail(err, errlen, DDBS_E_INPUT, "the fields to remove are not a JSON array");
      goto cleanup;
    }
    json_array_foreach(rem, i, member) {
      if (!json_is_string(member)) {
        rc = ddbs_fail(err, errlen, DDBS_E_INPUT, "a field to remove is not named by a string");
        goto cleanup;
      }
      name = json_string_value(member), name_len = json_string_length(member);
      if (name_len == 0 || memchr(name, '\0', name_len)) {
        rc = ddbs_fail(err, errlen, DDBS_E_INPUT, "a field to remove has an empty name or U+0000 in it");
        goto cleanup;
      }
    }
    json_array_foreach(rem, i, member) { /* (a repeated name: once, at its first place) */
      name = json_string_value(member), name_len = json_string_length(member);
      if (json_object_getn(sets, name, name_len)) {
        rc = ddbs_fail(err, errlen, DDBS_E_INPUT, "a field is both set and removed");
        goto cleanup;
      }
      if (!json_object_getn(removes, name, name_len) &&
          json_object_setn_new_nocheck(removes, name, name_len, json_true()) != 0)
        goto nomem;
    }
  }
  if (json_object_size(sets) == 0 && json_object_size(removes) == 0 && !with_ttl && !with_version) {
    rc = ddbs_fail(err, errlen, DDBS_E_INPUT, "nothing to update");
    goto cleanup;
  }

  /* the size of the item {key, session: {M: sets}, ttl} */
  json_t *key_attr = NULL; /* (item's) */
  if (!(item = json_object()) || set_new(item, SESSION_ATTR, json_object()) != 0 ||
      json_object_set(json_object_get(item, SESSION_ATTR), "M", sets) != 0 ||
      set_new(item, hash_key, json_object()) != 0 || !(key_attr = json_object_get(item, hash_key)) ||
      set_new(key_attr, "S", json_stringn_nocheck(key, key_len)) != 0 ||
      (with_ttl && set_new(item, ttl_key, n_attr(expires)) != 0))
    goto nomem;
  size_t size = ddbs_item_size(item);
  if (size > DDBS_MAX_ITEM_SIZE) {
    rc = ddbs_fail_update_too_large(size, err, errlen);
    goto cleanup;
  }

  /* the expression, its names and values */
  if (!(names = json_object()) || !(values = json_object())) goto nomem;
  json_object_keylen_foreach(sets, name, name_len, member) {
    snprintf(ph, sizeof ph, "#f%zu", fi);
    snprintf(part, sizeof part, "#s.#f%zu = :v%zu", fi, fi);
    if (join(&sets_expr, ", ", part) != 0 ||
        (!json_object_get(names, "#s") && set_new(names, "#s", json_string(SESSION_ATTR)) != 0) ||
        set_new(names, ph, json_stringn_nocheck(name, name_len)) != 0)
      goto nomem;
    snprintf(ph, sizeof ph, ":v%zu", fi);
    if (json_object_set(values, ph, member) != 0) goto nomem;
    fi++, ops++;
  }
  if (with_ttl) {
    if (join(&sets_expr, ", ", "#t = :t") != 0 || set_new(names, "#t", json_string(ttl_key)) != 0 ||
        set_new(values, ":t", n_attr(expires)) != 0)
      goto nomem;
    ops++;
  }
  if (with_version) {
    if (join(&sets_expr, ", ", "#ver = if_not_exists(#ver, :zero) + :one") != 0 ||
        set_new(names, "#ver", json_string(cond->version_key)) != 0 || set_new(values, ":zero", n_attr(0)) != 0 ||
        set_new(values, ":one", n_attr(1)) != 0)
      goto nomem;
    ops += 3;
  }
  json_object_keylen_foreach(removes, name, name_len, member) {
    snprintf(ph, sizeof ph, "#f%zu", fi);
    snprintf(part, sizeof part, "#s.#f%zu", fi);
    if (join(&rem_expr, ", ", part) != 0 ||
        (!json_object_get(names, "#s") && set_new(names, "#s", json_string(SESSION_ATTR)) != 0) ||
        set_new(names, ph, json_stringn_nocheck(name, name_len)) != 0)
      goto nomem;
    fi++, ops++;
  }
  if ((sets_expr.len > 0 && ddbs_buf_printf(&expr, "SET %s", sets_expr.data) != 0) ||
      (rem_expr.len > 0 && ddbs_buf_printf(&expr, "%sREMOVE %s", expr.len ? " " : "", rem_expr.data) != 0) ||
      cond_tree(hash_key, cond, &cexpr, names, values) != 0)
    goto nomem;
  size_t subst = ddbs_item_size(values);
  json_object_keylen_foreach(names, name, name_len, member) subst += name_len + json_string_length(member);
  if ((rc = ddbs_check_update_limits(expr.len, ops, subst, err, errlen)) != 0) goto cleanup;

  /* the body */
  if (!(body = json_object()) || set_new(body, "TableName", json_string(table)) != 0 ||
      set_new(body, "Key", json_object()) != 0 || json_object_set(json_object_get(body, "Key"), hash_key, key_attr) != 0 ||
      set_new(body, "UpdateExpression", json_stringn(expr.data, expr.len)) != 0 ||
      (cexpr.len > 0 && set_new(body, "ConditionExpression", json_stringn(cexpr.data, cexpr.len)) != 0) ||
      json_object_set(body, "ExpressionAttributeNames", names) != 0 ||
      (json_object_size(values) > 0 && json_object_set(body, "ExpressionAttributeValues", values) != 0) ||
      dump(body, out) != 0)
    goto nomem;
  goto cleanup;
nomem:
  rc = ddbs_fail_nomem(err, errlen);
cleanup:
  if (rc != 0) ddbs_truncate_buf(out, start);
  json_decref(set);
  json_decref(rem);
  json_decref(sets);
  json_decref(removes);
  json_decref(item);
  json_decref(names);
  json_decref(values);
  json_decref(body);
  ddbs_buf_free(&sets_expr);
  ddbs_buf_free(&rem_expr);
  ddbs_buf_free(&expr);
  ddbs_buf_free(&cexpr);
  return rc;
}

#undef APPEND

/* ---- responses ------------------------------------------------------------------------- */

/* The reference GetItem path: jansson decodes the whole answer, write_attr writes the session.
 * Order of the checks (the converters follow it): the arguments, JSON, an object, an Item, the
 * key (a crossed answer is reported as such even when it is expired or malformed), the ttl, the
 * session. */
/* The version in a version attribute: {"N": "<digits>"}, 0 .. DDBS_MAX_VERSION, else -1. */
static long long version_of(const json_t *attr) {
  const json_t *n = json_is_object(attr) && json_object_size(attr) == 1 ? json_object_get(attr, "N") : NULL;
  if (!json_is_string(n)) return -1;
  const char *t = json_string_value(n);
  size_t len = json_string_length(n);
  if (len == 0 || strspn(t, "0123456789") != len) return -1;
  while (len > 1 && t[0] == '0') t++, len--; /* (leading zeros) */
  if (len > 16) return -1;
  unsigned long long v = strtoull(t, NULL, 10);
  return v <= (unsigned long long)DDBS_MAX_VERSION ? (long long)v : -1;
}

int ddbs_ref_parse_get_item(const char *body, size_t len, const char *hash_key, const char *key,
                            size_t key_len, const char *ttl_key, long long now_seconds,
                            const char *version_key, long long *version, ddbs_buf *session_out,
                            int *found, char *err, size_t errlen) {
  json_error_t jerr;
  json_t *root = NULL;
  size_t start = session_out->len;
  int rc = 0;
  *found = 0;
  if (version) *version = -1;
  rc = ddbs_check_get_args(hash_key, key, key_len, ttl_key, version_key, err, errlen);
  if (rc != 0) return rc;
  if (!body) return ddbs_fail(err, errlen, DDBS_E_RESPONSE, "empty GetItem response");
  if (raw_nul(body, len) >= 0)
    return ddbs_fail(err, errlen, DDBS_E_RESPONSE, "GetItem response is not valid JSON: a NUL byte at byte %ld",
                     raw_nul(body, len));
  root = json_loadb(body, len, JSON_ALLOW_NUL, &jerr);
  if (!root) {
    rc = ddbs_fail(err, errlen,
                   json_error_code(&jerr) == json_error_out_of_memory ? DDBS_E_NOMEM : DDBS_E_RESPONSE,
                   "GetItem response is not valid JSON: %s", jerr.text);
    goto cleanup;
  }
  if (!json_is_object(root)) {
    rc = ddbs_fail(err, errlen, DDBS_E_RESPONSE, "GetItem response is not a JSON object");
    goto cleanup;
  }
  json_t *item = json_object_get(root, "Item");
  if (!item) goto cleanup; /* no such session */
  if (!json_is_object(item)) {
    rc = ddbs_fail(err, errlen, DDBS_E_RESPONSE, "GetItem response's Item is not an object");
    goto cleanup;
  }
  json_t *hk = json_object_get(item, hash_key);
  json_t *s = json_is_object(hk) && json_object_size(hk) == 1 ? json_object_get(hk, "S") : NULL;
  if (!json_is_string(s) || json_string_length(s) != key_len ||
      memcmp(json_string_value(s), key, key_len) != 0) {
    rc = ddbs_fail_mismatch(hash_key, hk == NULL, err, errlen);
    goto cleanup;
  }
  if (ttl_key) {
    json_t *ttl = json_object_get(item, ttl_key);
    if (ttl) {
      if (!json_is_object(ttl) || json_object_size(ttl) != 1) {
        rc = ddbs_fail(err, errlen, DDBS_E_RESPONSE,
                       "the item's ttl attribute is not an attribute value");
        goto cleanup;
      }
      json_t *n = json_object_get(ttl, "N"); /* any other type: not a ttl, ignored */
      double expires;
      if (n) {
        if (!json_is_string(n) ||
            ddbs_parse_number_text(json_string_value(n), json_string_length(n), &expires) != 0) {
          rc = ddbs_fail(err, errlen, DDBS_E_RESPONSE, "the item's ttl attribute is not a number");
          goto cleanup;
        }
        if (expires <= (double)now_seconds) goto cleanup; /* expired; DynamoDB deletes it later */
      }
    }
  }
  json_t *session = json_object_get(item, SESSION_ATTR);
  rc = session ? write_attr(session, 1, session_out, err, errlen)
               : write_map(item, 0, session_out, err, errlen);
  if (rc == 0) *found = 1;
  if (rc == 0 && version && version_key) *version = version_of(json_object_get(item, version_key));
cleanup:
  if (rc != 0) ddbs_truncate_buf(session_out, start);
  json_decref(root);
  return rc;
}

int ddbs_ref_parse_error(const char *body, size_t len, char *code, size_t code_size, char *message,
                         size_t message_size) {
  json_error_t jerr;
  json_t *root = NULL;
  int rc = DDBS_E_RESPONSE;
  if (code && code_size) code[0] = '\0';
  if (message && message_size) message[0] = '\0';
  if (!body || raw_nul(body, len) >= 0) goto cleanup;
  root = json_loadb(body, len, JSON_ALLOW_NUL, &jerr);
  if (!json_is_object(root)) goto cleanup;
  json_t *type = json_object_get(root, "__type");
  if (!json_is_string(type)) goto cleanup;
  if (ddbs_error_code_from_type(json_string_value(type), json_string_length(type), code, code_size) == 0)
    goto cleanup; /* "", "prefix#", ":..." name no code */
  json_t *msg = json_object_get(root, "message");
  if (!json_is_string(msg)) msg = json_object_get(root, "Message");
  if (json_is_string(msg)) /* (up to a NUL it may hold) */
    ddbs_copy_truncated(message, message_size, json_string_value(msg), strlen(json_string_value(msg)));
  rc = 0;
cleanup:
  if (rc != 0 && code && code_size) code[0] = '\0';
  json_decref(root);
  return rc;
}

/* ---- checking a conditional body (tests and fuzzers) ------------------------------------- */

/* The placeholders of kind ('#' or ':') in the expressions are exactly the keys of map: each used
 * one defined, each defined one used. 1 or 0. */
static int placeholders_match(const char *update, const char *condition, json_t *map, char kind) {
  json_t *seen = json_object();
  const char *exprs[2] = {update, condition};
  int ok = seen != NULL;
  for (int e = 0; ok && e < 2; e++) {
    for (const char *p = exprs[e]; p && *p; p++) {
      if (*p != kind) continue;
      const char *q = p + 1;
      while ((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9')) q++;
      if (q == p + 1 || !json_object_getn(map, p, (size_t)(q - p))) ok = 0; /* used, not defined */
      json_object_setn(seen, p, (size_t)(q - p), json_true());
      p = q - 1;
    }
  }
  if (ok && json_object_size(seen) != json_object_size(map)) ok = 0; /* defined, not used */
  json_decref(seen);
  return ok;
}

static int body_refused(char *why, size_t why_len, const char *reason) {
  if (why && why_len) snprintf(why, why_len, "%s", reason);
  return 0;
}

int ddbs_ref_expression_body_ok(const char *body, size_t len, int require_update, char *why, size_t why_len) {
  json_error_t jerr;
  json_t *v = json_loadb(body, len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &jerr);
  int ok = 1;
  if (!v) return body_refused(why, why_len, "not JSON, or a repeated key");
  const char *update = json_string_value(json_object_get(v, "UpdateExpression"));
  const char *condition = json_string_value(json_object_get(v, "ConditionExpression"));
  json_t *names = json_object_get(v, "ExpressionAttributeNames"), *values = json_object_get(v, "ExpressionAttributeValues");
  json_t *empty = json_object(), *fields = json_object();
  if (require_update && (!update || strlen(update) > DDBS_MAX_EXPRESSION || !json_is_object(names))) {
    ok = body_refused(why, why_len, "no UpdateExpression, or one too long");
  } else if (!update && !condition) {
    if (names || values) ok = body_refused(why, why_len, "attribute names or values without an expression");
  } else if (!placeholders_match(update, condition, names ? names : empty, '#') ||
             !placeholders_match(update, condition, values ? values : empty, ':') ||
             (values && json_object_size(values) == 0)) {
    ok = body_refused(why, why_len, "the placeholders used and defined differ");
  } else {
    const char *k;
    json_t *n;
    json_object_foreach(names, k, n) {
      if (!json_is_string(n) || json_string_length(n) == 0) {
        ok = body_refused(why, why_len, "an empty attribute name");
        break;
      }
      if (strncmp(k, "#f", 2) != 0) continue;
      if (json_object_getn(fields, json_string_value(n), json_string_length(n))) {
        ok = body_refused(why, why_len, "two placeholders for one field");
        break;
      }
      json_object_setn(fields, json_string_value(n), json_string_length(n), json_true());
    }
  }
  json_decref(fields);
  json_decref(empty);
  json_decref(v);
  return ok;
}
