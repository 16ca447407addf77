/* ddb_update.c: the UpdateItem body (ddbs_body_update_item, see ddb_json.h): SET and REMOVE of
 * top-level fields of the "session" map, the ttl attribute, the version's increment, and the
 * conditions of a write. No jansson: the fields are read by the two-pass readers of ddb_json.c
 * (ddbs_read_set_fields, ddbs_read_remove_fields: the same JSON rules and value conversion as
 * PutItem's), and the condition is written by ddbs_write_condition, which PutItem uses too. The
 * jansson reference (ddbs_ref_body_update_item, ddb_ref.c) builds the same body as a tree; the
 * differential tests and fuzz/fuzz_update_item.c check that both give the same bytes.
 *
 * Placeholders (short, fixed, so that no field name can collide with one):
 *   #s "session"   #f<i> the i-th field (those set first, then those removed)   :v<i> its value
 *   #t, :t the ttl attribute and its value   #ver, :zero, :one the version and its increment
 *   #k the hash key attribute   :ev the expected version
 * Owns nothing beyond the buffers of a single call; on failure `out` is left as it was. Pure: no
 * I/O, no clock, no globals. Thread: any. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddb_json.h"
#include "ddb_json_internal.h"
#include "ddb_number.h"

#define SESSION_ATTR DDBS_SESSION_ATTR

/* A field's name, for finding names given twice: its bytes and its place (those set first). */
typedef struct {
  const char *p;
  size_t len, idx;
} name_ref;

static int cmp_name_ref(const void *a, const void *b) {
  const name_ref *x = a, *y = b;
  int c = memcmp(x->p, y->p, x->len < y->len ? x->len : y->len);
  if (c != 0) return c;
  if (x->len != y->len) return x->len < y->len ? -1 : 1;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* A field both set and removed: DDBS_E_INPUT. A field removed more than once is removed once (at
 * its first place): keep[j] = 1 for the removed fields kept, *kept their count. O(n log n), for
 * any number of fields (the limits are checked later, on what is kept). 0, or an error. */
static int check_names(const ddbs_fields *set, const ddbs_fields *rem, unsigned char *keep, size_t *kept,
                       char *err, size_t errlen) {
  size_t n = set->n + rem->n, i;
  *kept = 0;
  if (rem->n == 0) return 0;
  name_ref *r = malloc(n * sizeof *r);
  if (!r) return ddbs_fail_nomem(err, errlen);
  for (i = 0; i < set->n; i++) r[i] = (name_ref){set->names.data + set->f[i].name_off, set->f[i].name_len, i};
  for (i = 0; i < rem->n; i++)
    r[set->n + i] = (name_ref){rem->names.data + rem->f[i].name_off, rem->f[i].name_len, set->n + i};
  qsort(r, n, sizeof *r, cmp_name_ref);
  int rc = 0;
  for (i = 0; i < n;) {
    size_t e = i + 1;
    while (e < n && r[e].len == r[i].len && memcmp(r[e].p, r[i].p, r[i].len) == 0) e++;
    if (r[i].idx < set->n) { /* (the names set are distinct: it sorts first of its run) */
      if (e - i > 1) {
        rc = ddbs_fail(err, errlen, DDBS_E_INPUT, "a field is both set and removed");
        break;
      }
    } else {
      keep[r[i].idx - set->n] = 1;
      (*kept)++;
    }
    i = e;
  }
  free(r);
  return rc;
}

/* Appends ,"<ph>":"<name>" (no ',' into an empty buffer), adding its bytes to *subst. 0 or -1. */
static int name_member(ddbs_buf *b, const char *ph, const char *name, size_t len, size_t *subst) {
  if ((b->len > 0 && ddbs_buf_append_char(b, ',') != 0) || ddbs_buf_append_char(b, '"') != 0 ||
      ddbs_buf_append_str(b, ph) != 0 || ddbs_buf_append(b, "\":", 2) != 0 ||
      ddbs_write_json_string(b, name, len) != 0)
    return -1;
  *subst += strlen(ph) + len;
  return 0;
}

/* Appends ,"<ph>":<attribute value JSON> of DynamoDB size size, adding to *subst. 0 or -1. */
static int value_member(ddbs_buf *b, const char *ph, const char *text, size_t len, size_t size, size_t *subst) {
  if ((b->len > 0 && ddbs_buf_append_char(b, ',') != 0) || ddbs_buf_append_char(b, '"') != 0 ||
      ddbs_buf_append_str(b, ph) != 0 || ddbs_buf_append(b, "\":", 2) != 0 || ddbs_buf_append(b, text, len) != 0)
    return -1;
  *subst += strlen(ph) + size;
  return 0;
}

/* Appends ,"<ph>":{"N":"<v>"}. 0 or -1. */
static int n_member(ddbs_buf *b, const char *ph, long long v, size_t *subst) {
  char t[48];
  int n = snprintf(t, sizeof t, "{\"N\":\"%lld\"}", v);
  return value_member(b, ph, t, (size_t)n, ddbs_number_text_size(t + 6, (size_t)n - 8), subst);
}

/* Does a have SET actions (the user set, the creation time) or a REMOVE action (the user)? */
#define ATTRS_SET(a) ((a) && (((a)->user_key && (a)->user_value) || (a)->created_key))
#define ATTRS_REMOVE(a) ((a) && (a)->user_key && !(a)->user_value)

/* The SET actions of a (", " between actions, *sep counts them), with their names and values,
 * adding to *ops, *subst and, for the user attribute, to the item's *size. 0 or -1. */
static int attrs_set(const ddbs_item_attrs *a, ddbs_buf *expr, int *sep, ddbs_buf *names, ddbs_buf *values,
                     size_t *subst, size_t *ops, size_t *size) {
  if (!ATTRS_SET(a)) return 0;
  if (a->user_key && a->user_value) {
    ddbs_buf v = DDBS_BUF_INIT;
    int rc = ddbs_buf_append(&v, "{\"S\":", 5) != 0 || ddbs_write_json_string(&v, a->user_value, a->user_len) != 0 ||
                     ddbs_buf_append_char(&v, '}') != 0 ||
                     ((*sep)++ && ddbs_buf_append(expr, ", ", 2) != 0) || ddbs_buf_append_str(expr, "#u = :u") != 0 ||
                     name_member(names, "#u", a->user_key, strlen(a->user_key), subst) != 0 ||
                     value_member(values, ":u", v.data, v.len, a->user_len, subst) != 0
                 ? -1
                 : 0;
    ddbs_buf_free(&v);
    if (rc != 0) return -1;
    *size += strlen(a->user_key) + a->user_len;
    (*ops)++;
  }
  if (a->created_key) {
    if (((*sep)++ && ddbs_buf_append(expr, ", ", 2) != 0) ||
        ddbs_buf_append_str(expr, "#c = if_not_exists(#c, :c)") != 0 ||
        name_member(names, "#c", a->created_key, strlen(a->created_key), subst) != 0 ||
        n_member(values, ":c", a->created_at, subst) != 0)
      return -1;
    *ops += 2;
  }
  return 0;
}

int ddbs_body_update_item(const char *table, const char *hash_key, const char *key, size_t key_len,
                          const char *ttl_key, long long expires, const char *set_json, size_t set_len,
                          const char *remove_json, size_t remove_len, const ddbs_write_cond *cond,
                          ddbs_buf *out, char *err, size_t errlen) {
  ddbs_fields set = DDBS_FIELDS_INIT, rem = DDBS_FIELDS_INIT;
  ddbs_buf expr = DDBS_BUF_INIT, cexpr = DDBS_BUF_INIT, names = DDBS_BUF_INIT, values = DDBS_BUF_INIT;
  unsigned char *keep = NULL;
  size_t start = out->len, kept = 0, ops = 0, subst = 0, fi = 0, i;
  int with_ttl = ttl_key != NULL && expires >= 0, with_version = cond != NULL && cond->version_key != NULL;
  const ddbs_item_attrs *attrs = cond ? cond->attrs : NULL;
  int named_s = 0, sep = 0;
  char ph[32], vph[32], tn[24];
  int rc = ddbs_check_put_args(table, hash_key, key, key_len, ttl_key, with_ttl, err, errlen);
  if (rc == 0) rc = ddbs_check_cond(hash_key, ttl_key, cond, 0, err, errlen);
  if (rc == 0 && set_json) rc = ddbs_read_set_fields(set_json, set_len, &set, err, errlen);
  if (rc == 0 && remove_json) rc = ddbs_read_remove_fields(remove_json, remove_len, &rem, err, errlen);
  if (rc != 0) goto cleanup;
  if (!(keep = calloc(rem.n ? rem.n : 1, 1))) goto nomem;
  if ((rc = check_names(&set, &rem, keep, &kept, err, errlen)) != 0) goto cleanup;
  if (set.n == 0 && kept == 0 && !with_ttl && !with_version && !ATTRS_SET(attrs) && !ATTRS_REMOVE(attrs)) {
    rc = ddbs_fail(err, errlen, DDBS_E_INPUT, "nothing to update: no field to set or remove, no ttl, no version");
    goto cleanup;
  }

  /* the size of an item of the key, a session map of the fields set and the ttl: a lower bound */
  size_t size = strlen(hash_key) + key_len + (sizeof SESSION_ATTR - 1) + 3 + set.size;
  int tnlen = with_ttl ? snprintf(tn, sizeof tn, "%lld", expires) : 0;
  if (with_ttl) size += strlen(ttl_key) + ddbs_number_text_size(tn, (size_t)tnlen);
  if (size > DDBS_MAX_ITEM_SIZE) {
    rc = ddbs_fail_update_too_large(size, err, errlen);
    goto cleanup;
  }

  /* SET #s.#f0 = :v0, ..., #t = :t, #ver = if_not_exists(#ver, :zero) + :one REMOVE #s.#f<k>, ... */
#define EXPR(lit) (ddbs_buf_append(&expr, lit, sizeof(lit) - 1) != 0)
  if ((set.n > 0 || with_ttl || with_version || ATTRS_SET(attrs)) && EXPR("SET ")) goto nomem;
  for (i = 0; i < set.n; i++, fi++) {
    const ddbs_field *f = &set.f[i];
    snprintf(ph, sizeof ph, "#f%zu", fi);
    snprintf(vph, sizeof vph, ":v%zu", fi);
    if ((sep++ && EXPR(", ")) || ddbs_buf_printf(&expr, "#s.%s = %s", ph, vph) != 0 ||
        (!named_s++ && name_member(&names, "#s", SESSION_ATTR, sizeof SESSION_ATTR - 1, &subst) != 0) ||
        name_member(&names, ph, set.names.data + f->name_off, f->name_len, &subst) != 0 ||
        value_member(&values, vph, set.values.data + f->val_off, f->val_len, f->size, &subst) != 0)
      goto nomem;
    ops++;
  }
  if (with_ttl) {
    if ((sep++ && EXPR(", ")) || EXPR("#t = :t") || name_member(&names, "#t", ttl_key, strlen(ttl_key), &subst) != 0 ||
        n_member(&values, ":t", expires, &subst) != 0)
      goto nomem;
    ops++;
  }
  if (with_version) {
    if ((sep++ && EXPR(", ")) || EXPR("#ver = if_not_exists(#ver, :zero) + :one") ||
        name_member(&names, "#ver", cond->version_key, strlen(cond->version_key), &subst) != 0 ||
        n_member(&values, ":zero", 0, &subst) != 0 || n_member(&values, ":one", 1, &subst) != 0)
      goto nomem;
    ops += 3; /* the action, if_not_exists, + */
  }
  if (attrs_set(attrs, &expr, &sep, &names, &values, &subst, &ops, &size) != 0) goto nomem;
  if (kept > 0 || ATTRS_REMOVE(attrs)) {
    if ((expr.len > 0 && EXPR(" ")) || EXPR("REMOVE ")) goto nomem;
    sep = 0;
    if (ATTRS_REMOVE(attrs)) {
      if (EXPR("#u") || name_member(&names, "#u", attrs->user_key, strlen(attrs->user_key), &subst) != 0) goto nomem;
      sep++, ops++;
    }
    for (i = 0; i < rem.n; i++) {
      if (!keep[i]) continue;
      const ddbs_field *f = &rem.f[i];
      snprintf(ph, sizeof ph, "#f%zu", fi++);
      if ((sep++ && EXPR(", ")) || ddbs_buf_printf(&expr, "#s.%s", ph) != 0 ||
          (!named_s++ && name_member(&names, "#s", SESSION_ATTR, sizeof SESSION_ATTR - 1, &subst) != 0) ||
          name_member(&names, ph, rem.names.data + f->name_off, f->name_len, &subst) != 0)
        goto nomem;
      ops++;
    }
  }
#undef EXPR
  if (ddbs_write_condition(hash_key, cond, with_version, &cexpr, &names, &values, &subst) != 0) goto nomem;
  if ((rc = ddbs_check_update_limits(expr.len, ops, subst, err, errlen)) != 0) goto cleanup;

  if (ddbs_write_body_start(table, "Key", hash_key, key, key_len, out) != 0 || ddbs_buf_append_char(out, '}') != 0 ||
      ddbs_write_expressions(&expr, &cexpr, &names, &values, out) != 0)
    goto nomem;
  goto cleanup;
nomem:
  rc = ddbs_fail_nomem(err, errlen);
cleanup:
  if (rc != 0) ddbs_truncate_buf(out, start);
  free(keep);
  ddbs_fields_free(&set);
  ddbs_fields_free(&rem);
  ddbs_buf_free(&expr);
  ddbs_buf_free(&cexpr);
  ddbs_buf_free(&names);
  ddbs_buf_free(&values);
  return rc;
}

int ddbs_body_write_session(const char *table, const char *hash_key, const char *key, size_t key_len,
                            const char *ttl_key, long long expires, const char *session_json, size_t session_len,
                            const char *blob_b64, size_t b64_len, size_t blob_len, const ddbs_write_cond *cond,
                            ddbs_buf *out, char *err, size_t errlen) {
  ddbs_buf expr = DDBS_BUF_INIT, cexpr = DDBS_BUF_INIT, names = DDBS_BUF_INIT, values = DDBS_BUF_INIT;
  size_t start = out->len, ops = 1, subst = 0, vsize = 0;
  int with_ttl = ttl_key != NULL && expires >= 0;
  int set_version = cond != NULL && cond->version_key != NULL && cond->new_version > 0;
  const ddbs_item_attrs *attrs = cond ? cond->attrs : NULL;
  int sep = 1;
  char tn[24];
  int rc = ddbs_check_put_args(table, hash_key, key, key_len, ttl_key, with_ttl, err, errlen);
  if (rc == 0) rc = ddbs_check_cond(hash_key, ttl_key, cond, 0, err, errlen);
  if (rc == 0 && cond && cond->version_key && (cond->new_version < 0 || cond->new_version > DDBS_MAX_VERSION))
    rc = ddbs_fail(err, errlen, DDBS_E_INPUT, "the version to write, %lld, is not from 0 to 2^53 - 1",
                   cond->new_version);
  if (rc == 0 && !session_json && !blob_b64) rc = ddbs_fail(err, errlen, DDBS_E_INPUT, "no session to write");
  if (rc != 0) return rc;

  /* the item's size: the key, the session, the ttl, the version, the user (a lower bound: what
   * else the item holds is not known here) */
  size_t size = strlen(hash_key) + key_len + (sizeof SESSION_ATTR - 1);
  int tnlen = with_ttl ? snprintf(tn, sizeof tn, "%lld", expires) : 0;
  if (with_ttl) size += strlen(ttl_key) + ddbs_number_text_size(tn, (size_t)tnlen);

#define EXPR(lit) (ddbs_buf_append(&expr, lit, sizeof(lit) - 1) != 0)
  if (EXPR("SET #s = :s") || name_member(&names, "#s", SESSION_ATTR, sizeof SESSION_ATTR - 1, &subst) != 0)
    goto nomem;
  if (with_ttl && (EXPR(", #t = :t") || name_member(&names, "#t", ttl_key, strlen(ttl_key), &subst) != 0 ||
                   n_member(&values, ":t", expires, &subst) != 0))
    goto nomem;
  ops += with_ttl;
  if (set_version) {
    char vn[24];
    int vlen = snprintf(vn, sizeof vn, "%lld", cond->new_version);
    if (EXPR(", #ver = :nv") || name_member(&names, "#ver", cond->version_key, strlen(cond->version_key), &subst) != 0 ||
        n_member(&values, ":nv", cond->new_version, &subst) != 0)
      goto nomem;
    size += strlen(cond->version_key) + ddbs_number_text_size(vn, (size_t)vlen);
    ops++;
  }
  if (attrs_set(attrs, &expr, &sep, &names, &values, &subst, &ops, &size) != 0) goto nomem;
  if (ATTRS_REMOVE(attrs)) {
    if (EXPR(" REMOVE #u") || name_member(&names, "#u", attrs->user_key, strlen(attrs->user_key), &subst) != 0)
      goto nomem;
    ops++;
  }
#undef EXPR
  if (ddbs_write_condition(hash_key, cond, set_version, &cexpr, &names, &values, &subst) != 0) goto nomem;
  if ((rc = ddbs_check_update_limits(expr.len, ops, subst, err, errlen)) != 0) goto cleanup;

  /* the body; ExpressionAttributeValues ends with :s, written straight into it */
  if (ddbs_buf_reserve(out, (session_json ? session_len + session_len / 2 : b64_len) + expr.len + cexpr.len +
                                names.len + values.len + key_len + 256) != 0 ||
      ddbs_write_body_start(table, "Key", hash_key, key, key_len, out) != 0 || ddbs_buf_append_char(out, '}') != 0 ||
      ddbs_write_expressions(&expr, &cexpr, &names, NULL, out) != 0)
    goto nomem;
  out->len--; /* (the body's closing '}': the values follow) */
  if (ddbs_buf_append_str(out, ",\"ExpressionAttributeValues\":{") != 0 ||
      (values.len > 0 && (ddbs_buf_append(out, values.data, values.len) != 0 || ddbs_buf_append_char(out, ',') != 0)) ||
      ddbs_buf_append_str(out, "\":s\":") != 0)
    goto nomem;
  if (session_json) {
    if ((rc = ddbs_session_value(session_json, session_len, out, &vsize, err, errlen)) != 0) goto cleanup;
  } else {
    if (ddbs_buf_append_str(out, "{\"B\":\"") != 0 || ddbs_buf_append(out, blob_b64, b64_len) != 0 ||
        ddbs_buf_append_str(out, "\"}") != 0)
      goto nomem;
    vsize = blob_len;
  }
  if (ddbs_buf_append(out, "}}", 2) != 0) goto nomem;
  size += vsize;
  if (size > DDBS_MAX_ITEM_SIZE) rc = ddbs_fail_too_large(size, err, errlen);
  goto cleanup;
nomem:
  rc = ddbs_fail_nomem(err, errlen);
cleanup:
  if (rc != 0) ddbs_truncate_buf(out, start);
  ddbs_buf_free(&expr);
  ddbs_buf_free(&cexpr);
  ddbs_buf_free(&names);
  ddbs_buf_free(&values);
  return rc;
}
