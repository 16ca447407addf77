/* test_ddb_update.c: unit tests of the conditional writes (ddb_json.h): the version read from a
 * GetItem answer, PutItem with conditions (ddbs_body_put_item_cond) and UpdateItem
 * (ddbs_body_update_item, src/ddb_update.c). Each case is also checked against the jansson
 * reference (ddb_json_ref.h): the same code, the same bytes, the same sizes in the messages of
 * DDBS_E_TOO_LARGE and DDBS_E_TOO_MANY; every body accepted is JSON without a repeated key, and
 * names every placeholder its expressions use, and no other. */
/* the tables of conditions below leave ddbs_write_cond.attrs out (NULL) */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctest.h"
#include "ddb_json.h"
#include "ddb_json_ref.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define MAXV 9007199254740991LL

/* ---- helpers --------------------------------------------------------------------------- */

/* An accepted body is well formed (ddbs_ref_expression_body_ok); 1 or 0, and says why. */
static int body_ok(const char *body, size_t len) {
  char why[96];
  if (ddbs_ref_expression_body_ok(body, len, 0, why, sizeof why)) return 1;
  fprintf(stderr, "    %s: %.400s\n", why, body);
  return 0;
}

/* The checker the differential tests and the fuzzer rely on refuses what it should. */
static void test_body_checker(void) {
  char why[96];
  const char *good = "{\"UpdateExpression\":\"SET #s.#f0 = :v0\",\"ExpressionAttributeNames\":{\"#s\":\"session\",\"#f0\":\"a\"},\"ExpressionAttributeValues\":{\":v0\":{\"N\":\"1\"}}}";
  CHECK(ddbs_ref_expression_body_ok(good, strlen(good), 1, why, sizeof why) == 1);
  const char *bad[] = {
      "{\"UpdateExpression\":\"SET #s.#f0 = :v0\",\"ExpressionAttributeNames\":{\"#s\":\"session\"},\"ExpressionAttributeValues\":{\":v0\":{\"N\":\"1\"}}}", /* #f0 undefined */
      "{\"UpdateExpression\":\"SET #s = :v0\",\"ExpressionAttributeNames\":{\"#s\":\"session\",\"#x\":\"y\"},\"ExpressionAttributeValues\":{\":v0\":{\"N\":\"1\"}}}", /* #x unused */
      "{\"UpdateExpression\":\"SET #f0 = :v0, #f1 = :v0\",\"ExpressionAttributeNames\":{\"#f0\":\"a\",\"#f1\":\"a\"},\"ExpressionAttributeValues\":{\":v0\":{\"N\":\"1\"}}}", /* one field twice */
      "{\"UpdateExpression\":\"SET #f0 = :v0\",\"ExpressionAttributeNames\":{\"#f0\":\"\"},\"ExpressionAttributeValues\":{\":v0\":{\"N\":\"1\"}}}", /* empty name */
      "{\"ConditionExpression\":\"attribute_exists(#k)\",\"ExpressionAttributeNames\":{\"#k\":\"id\"},\"ExpressionAttributeValues\":{}}", /* empty values */
      "{\"ExpressionAttributeNames\":{\"#k\":\"id\"}}", /* names without an expression */
      "{\"a\":1,\"a\":2}", /* repeated key */
      NULL};
  for (int i = 0; bad[i]; i++) CHECK(ddbs_ref_expression_body_ok(bad[i], strlen(bad[i]), 0, why, sizeof why) == 0);
  const char *cond_only = "{\"ConditionExpression\":\"attribute_exists(#k)\",\"ExpressionAttributeNames\":{\"#k\":\"id\"}}";
  CHECK(ddbs_ref_expression_body_ok(cond_only, strlen(cond_only), 0, why, sizeof why) == 1);
  CHECK(ddbs_ref_expression_body_ok(cond_only, strlen(cond_only), 1, why, sizeof why) == 0); /* an update is required */
}

static int failures;

/* Runs an update through the production and the reference implementations; returns the
 * production's rc and leaves its body in out (err: its message). */
static int update2(const char *ttl_key, long long expires, const char *set, const char *rem, const ddbs_write_cond *cond,
                   ddbs_buf *out, char *err, size_t errlen) {
  ddbs_buf ref = DDBS_BUF_INIT;
  char e_ref[256] = "";
  ddbs_buf_reset(out);
  ddbs_buf_append_str(out, "<");
  ddbs_buf_append_str(&ref, "<");
  err[0] = '\0';
#define UPDATE_ARGS "sessions", "sessionId", "abc", 3, ttl_key, expires, set, set ? strlen(set) : 0, rem, rem ? strlen(rem) : 0, cond
  int rc = ddbs_body_update_item(UPDATE_ARGS, out, err, errlen);
  int r_ref = ddbs_ref_body_update_item(UPDATE_ARGS, &ref, e_ref, sizeof e_ref);
#undef UPDATE_ARGS
  int bad = rc != r_ref || out->len != ref.len || memcmp(out->data, ref.data, ref.len) != 0 ||
            ((rc == DDBS_E_TOO_LARGE || rc == DDBS_E_TOO_MANY) && strcmp(err, e_ref) != 0) ||
            (rc != 0 && (!err[0] || strchr(err, '\n'))) || (rc == 0 && !body_ok(out->data + 1, out->len - 1)) ||
            (rc != 0 && out->len != 1);
  if (bad) {
    failures++;
    fprintf(stderr, "    update %s / %s: rc %d (%s)\n      %s\n    reference rc %d (%s)\n      %s\n", set ? set : "NULL",
            rem ? rem : "NULL", rc, err, out->data, r_ref, e_ref, ref.data);
  }
  ddbs_buf_free(&ref);
  /* the body without the "<" */
  memmove(out->data, out->data + 1, out->len);
  out->len--;
  return rc;
}

/* The same for a conditional put: public, one pass (unless it declines), two pass, reference. */
static int put4(const char *ttl_key, long long expires, const char *sess, size_t len, const ddbs_write_cond *cond,
                ddbs_buf *out, char *err, size_t errlen) {
  ddbs_buf one = DDBS_BUF_INIT, two = DDBS_BUF_INIT, ref = DDBS_BUF_INIT;
  char e_one[256] = "", e_two[256] = "", e_ref[256] = "";
  ddbs_buf_reset(out);
  ddbs_buf_append_str(out, "<");
  ddbs_buf_append_str(&one, "<");
  ddbs_buf_append_str(&two, "<");
  ddbs_buf_append_str(&ref, "<");
  err[0] = '\0';
#define PUT_ARGS "t", "id", "k", 1, ttl_key, expires, sess, len, cond
  int rc = ddbs_body_put_item_cond(PUT_ARGS, out, err, errlen);
  int r_one = ddbs_onepass_body_put_item_cond(PUT_ARGS, &one, e_one, sizeof e_one);
  int r_two = ddbs_twopass_body_put_item_cond(PUT_ARGS, &two, e_two, sizeof e_two);
  int r_ref = ddbs_ref_body_put_item_cond(PUT_ARGS, &ref, e_ref, sizeof e_ref);
#undef PUT_ARGS
  int bad = 0;
  const ddbs_buf *got[3] = {out, &two, &one};
  const int rcs[3] = {rc, r_two, r_one};
  const char *errs[3] = {err, e_two, e_one};
  for (int i = 0; i < 3; i++) {
    if (i == 2 && r_one == DDBS_ONEPASS_DECLINED) {
      if (one.len != 1 || e_one[0]) bad = 1;
      continue;
    }
    if (rcs[i] != r_ref || got[i]->len != ref.len || memcmp(got[i]->data, ref.data, ref.len) != 0 ||
        (rcs[i] == DDBS_E_TOO_LARGE && strcmp(errs[i], e_ref) != 0) || (rcs[i] != 0 && (!errs[i][0] || strchr(errs[i], '\n'))))
      bad = 1;
  }
  if (rc == 0 && !body_ok(out->data + 1, out->len - 1)) bad = 1;
  if (bad) {
    failures++;
    fprintf(stderr, "    put %.100s: rc %d/%d/%d (%s)\n      %.400s\n    reference rc %d (%s)\n      %.400s\n", sess, rc, r_two,
            r_one, err, out->data, r_ref, e_ref, ref.data);
  }
  ddbs_buf_free(&one);
  ddbs_buf_free(&two);
  ddbs_buf_free(&ref);
  memmove(out->data, out->data + 1, out->len);
  out->len--;
  return rc;
}

/* ---- GetItem: the version --------------------------------------------------------------- */

/* Reads an answer with every reader; checks that they agree; returns the version (or -100 - rc). */
static long long get_version(const char *body, const char *ttl_key, const char *version_key, ddbs_buf *out) {
  long long v[4] = {7, 7, 7, 7};
  int f[4] = {7, 7, 7, 7}, r[4];
  char err[256];
  ddbs_buf b[4] = {DDBS_BUF_INIT, DDBS_BUF_INIT, DDBS_BUF_INIT, DDBS_BUF_INIT};
#define GET_ARGS body, strlen(body), "sessionId", "abc", 3, ttl_key, 1700000000, version_key
  r[0] = ddbs_parse_get_item(GET_ARGS, &v[0], &b[0], &f[0], err, sizeof err);
  r[1] = ddbs_onepass_parse_get_item(GET_ARGS, &v[1], &b[1], &f[1], err, sizeof err);
  r[2] = ddbs_twopass_parse_get_item(GET_ARGS, &v[2], &b[2], &f[2], err, sizeof err);
  r[3] = ddbs_ref_parse_get_item(GET_ARGS, &v[3], &b[3], &f[3], err, sizeof err);
#undef GET_ARGS
  for (int i = 0; i < 3; i++) {
    if (i == 1 && r[1] == DDBS_ONEPASS_DECLINED) {
      if (v[1] != -1 || f[1] != 0) failures++, fprintf(stderr, "    declined, but set *version or *found\n");
      continue;
    }
    if (r[i] != r[3] || v[i] != v[3] || f[i] != f[3] || b[i].len != b[3].len ||
        (b[3].len && memcmp(b[i].data, b[3].data, b[3].len) != 0)) {
      failures++;
      fprintf(stderr, "    get %s: reader %d: rc %d version %lld found %d, reference rc %d version %lld found %d\n", body, i,
              r[i], v[i], f[i], r[3], v[3], f[3]);
    }
  }
  ddbs_buf_reset(out);
  if (b[0].len) ddbs_buf_append(out, b[0].data, b[0].len);
  for (int i = 0; i < 4; i++) ddbs_buf_free(&b[i]);
  if (r[0] != 0) return -100 + r[0];
  return v[0];
}

#define ITEM(attrs) "{\"Item\":{\"sessionId\":{\"S\":\"abc\"},\"session\":{\"M\":{\"a\":{\"N\":\"1\"}}}" attrs "}}"

static void test_get_version(void) {
  static const struct {
    const char *body;
    long long want;
  } cases[] = {
      {ITEM(""), -1},                                              /* absent */
      {ITEM(",\"version\":{\"N\":\"5\"}"), 5},
      {"{\"Item\":{\"version\":{\"N\":\"12\"},\"sessionId\":{\"S\":\"abc\"},\"session\":{\"M\":{\"a\":{\"N\":\"1\"}}}}}", 12}, /* first */
      {ITEM(",\"version\":{\"N\":\"0\"}"), 0},
      {ITEM(",\"version\":{\"N\":\"9007199254740991\"}"), MAXV},    /* 2^53 - 1 */
      {ITEM(",\"version\":{\"N\":\"9007199254740992\"}"), -1},      /* 2^53: too large */
      {ITEM(",\"version\":{\"N\":\"99999999999999999999999\"}"), -1},
      {ITEM(",\"version\":{\"N\":\"1.5\"}"), -1},                   /* fractional */
      {ITEM(",\"version\":{\"N\":\"2.0\"}"), -1},                   /* (DynamoDB would send "2") */
      {ITEM(",\"version\":{\"N\":\"1E+2\"}"), -1},
      {ITEM(",\"version\":{\"N\":\"-1\"}"), -1},
      {ITEM(",\"version\":{\"N\":\"\"}"), -1},
      {ITEM(",\"version\":{\"N\":\"007\"}"), 7},
      {ITEM(",\"version\":{\"N\":\"\\u0034\\u0032\"}"), 42},        /* escapes */
      {ITEM(",\"version\":{\"N\":\"4\\u00002\"}"), -1},
      {ITEM(",\"version\":{\"S\":\"5\"}"), -1},                     /* another type */
      {ITEM(",\"version\":{\"NS\":[\"5\"]}"), -1},
      {ITEM(",\"version\":{\"N\":5}"), -1},
      {ITEM(",\"version\":\"5\""), -1},                             /* not an attribute value */
      {ITEM(",\"version\":{}"), -1},
      {ITEM(",\"version\":{\"N\":\"5\",\"S\":\"x\"}"), -1},
      {ITEM(",\"version\":{\"N\":\"5\",\"N\":\"6\"}"), 6},          /* a repeated tag: the last */
      {ITEM(",\"version\":{\"N\":\"5\"},\"version\":{\"N\":\"8\"}"), 8}, /* a repeated attribute: the last */
      {ITEM(",\"Version\":{\"N\":\"5\"}"), -1},
      {ITEM(",\"expires\":{\"N\":\"1800000000\"},\"version\":{\"N\":\"3\"}"), 3},
      {ITEM(",\"expires\":{\"N\":\"1600000000\"},\"version\":{\"N\":\"3\"}"), -1}, /* expired: not found */
      {"{}", -1},                                                                    /* no item */
      {"{\"Item\":{\"sessionId\":{\"S\":\"abd\"},\"version\":{\"N\":\"3\"}}}", -100 + DDBS_E_MISMATCH},
      {ITEM(",\"version\":{\"N\":\"3\"},\"x\":{\"N\":\"bad\"}"), 3}, /* other attributes: not read */
      {"{\"Item\":{\"sessionId\":{\"S\":\"abc\"},\"session\":{\"M\":{\"a\":{\"N\":\"x\"}}},\"version\":{\"N\":\"3\"}}}",
       -100 + DDBS_E_RESPONSE},
  };
  ddbs_buf out = DDBS_BUF_INIT;
  for (size_t i = 0; i < COUNT(cases); i++) {
    long long got = get_version(cases[i].body, "expires", "version", &out);
    CHECK(got == cases[i].want);
    if (got != cases[i].want) fprintf(stderr, "    case %zu: %lld, expected %lld\n", i, got, cases[i].want);
    if (got >= 0) CHECK_STREQ(out.data, "{\"a\":1}"); /* never part of the session */
  }
  /* no version_key: *version = -1; a NULL version pointer is fine */
  CHECK(get_version(ITEM(",\"version\":{\"N\":\"5\"}"), "expires", NULL, &out) == -1);
  char err[256];
  int found = 0;
  const char *b = ITEM(",\"version\":{\"N\":\"5\"}");
  CHECK(ddbs_parse_get_item(b, strlen(b), "sessionId", "abc", 3, NULL, 0, "version", NULL, &out, &found, err, sizeof err) == 0);
  CHECK(found == 1);
  /* an item without a session attribute is the session: nothing left out of it */
  CHECK(get_version("{\"Item\":{\"sessionId\":{\"S\":\"abc\"},\"version\":{\"N\":\"2\"},\"n\":{\"N\":\"1\"}}}", "expires",
                    "version", &out) == 2);
  CHECK_STREQ(out.data, "{\"sessionId\":\"abc\",\"version\":2,\"n\":1}");
  /* bad version names: DDBS_E_INPUT from every reader */
  static const char *bad[] = {"session", "sessionId", "expires", "", "v\xff"};
  for (size_t i = 0; i < COUNT(bad); i++) CHECK(get_version(b, "expires", bad[i], &out) == -100 + DDBS_E_INPUT);
  CHECK(get_version(b, NULL, "expires", &out) == -1); /* (no ttl_key: "expires" is a fine name) */
  CHECK(get_version(ITEM(",\"expires\":{\"N\":\"7\"}"), NULL, "expires", &out) == 7);
  CHECK(failures == 0);
  failures = 0;
  ddbs_buf_free(&out);
}

/* ---- PutItem with conditions ------------------------------------------------------------ */

#define PUT_BASE "{\"TableName\":\"t\",\"Item\":{\"id\":{\"S\":\"k\"},\"session\":{\"M\":{\"a\":{\"N\":\"1\"}}},\"exp\":{\"N\":\"100\"}"

static void test_put_cond(void) {
  static const struct {
    ddbs_write_cond cond;
    const char *want; /* after PUT_BASE */
  } cases[] = {
      {{NULL, 0, 0, -2, NULL}, "}}"},
      {{NULL, 5, 0, -2, NULL}, "}}"}, /* (new_version: only with a version_key) */
      {{"version", 1, 0, -2, NULL}, ",\"version\":{\"N\":\"1\"}}}"},
      {{NULL, 0, 1, -2, NULL},
       "},\"ConditionExpression\":\"attribute_exists(#k)\",\"ExpressionAttributeNames\":{\"#k\":\"id\"}}"},
      {{"version", 1, 0, -1, NULL},
       ",\"version\":{\"N\":\"1\"}},\"ConditionExpression\":\"attribute_not_exists(#ver)\","
       "\"ExpressionAttributeNames\":{\"#ver\":\"version\"}}"},
      {{"version", 1, 1, -1, NULL},
       ",\"version\":{\"N\":\"1\"}},\"ConditionExpression\":\"attribute_exists(#k) AND attribute_not_exists(#ver)\","
       "\"ExpressionAttributeNames\":{\"#k\":\"id\",\"#ver\":\"version\"}}"},
      {{"version", 6, 0, 5, NULL},
       ",\"version\":{\"N\":\"6\"}},\"ConditionExpression\":\"#ver = :ev\",\"ExpressionAttributeNames\":{\"#ver\":"
       "\"version\"},\"ExpressionAttributeValues\":{\":ev\":{\"N\":\"5\"}}}"},
      {{"v.e r", 9007199254740991LL, 1, 0},
       ",\"v.e r\":{\"N\":\"9007199254740991\"}},\"ConditionExpression\":\"attribute_exists(#k) AND #ver = :ev\","
       "\"ExpressionAttributeNames\":{\"#k\":\"id\",\"#ver\":\"v.e r\"},\"ExpressionAttributeValues\":{\":ev\":{\"N\":\"0\"}}}"},
      {{"ver\"\xc3\xa9", 2, 0, 1},
       ",\"ver\\\"\xc3\xa9\":{\"N\":\"2\"}},\"ConditionExpression\":\"#ver = :ev\",\"ExpressionAttributeNames\":{\"#ver\":"
       "\"ver\\\"\xc3\xa9\"},\"ExpressionAttributeValues\":{\":ev\":{\"N\":\"1\"}}}"},
  };
  ddbs_buf out = DDBS_BUF_INIT, plain = DDBS_BUF_INIT;
  char err[256];
  const char *sess = "{\"a\":1}";
  for (size_t i = 0; i < COUNT(cases); i++) {
    char want[1024];
    snprintf(want, sizeof want, "%s%s", PUT_BASE, cases[i].want);
    CHECK(put4("exp", 100, sess, strlen(sess), &cases[i].cond, &out, err, sizeof err) == 0);
    CHECK_STREQ(out.data, want);
  }
  /* cond NULL: ddbs_body_put_item's body, byte for byte */
  CHECK(put4("exp", 100, sess, strlen(sess), NULL, &out, err, sizeof err) == 0);
  CHECK(ddbs_body_put_item("t", "id", "k", 1, "exp", 100, sess, strlen(sess), &plain, err, sizeof err) == 0);
  CHECK_STREQ(out.data, plain.data);
  CHECK_STREQ(out.data, PUT_BASE "}}");
  /* no ttl; a session the one pass declines (a repeated key) */
  ddbs_write_cond c = {"version", 3, 1, 2, NULL};
  CHECK(put4(NULL, 100, "{\"a\":1,\"a\":2}", 13, &c, &out, err, sizeof err) == 0);
  CHECK_STREQ(out.data, "{\"TableName\":\"t\",\"Item\":{\"id\":{\"S\":\"k\"},\"session\":{\"M\":{\"a\":{\"N\":\"2\"}}},"
                        "\"version\":{\"N\":\"3\"}},\"ConditionExpression\":\"attribute_exists(#k) AND #ver = :ev\","
                        "\"ExpressionAttributeNames\":{\"#k\":\"id\",\"#ver\":\"version\"},"
                        "\"ExpressionAttributeValues\":{\":ev\":{\"N\":\"2\"}}}");

  /* refused conditions */
  static const ddbs_write_cond bad[] = {
      {"version", 0, 0, -2},          {"version", -1, 0, -2},       {"version", MAXV + 1, 0, -2},
      {"version", 1, 0, -3},          {"version", 1, 0, MAXV + 1},  {NULL, 1, 0, -1},
      {NULL, 1, 1, 5},                {"session", 1, 0, -2},        {"id", 1, 0, -2},
      {"exp", 1, 0, -2},              {"", 1, 0, -2},               {"v\xc3", 1, 0, -2},
  };
  for (size_t i = 0; i < COUNT(bad); i++) {
    int rc = put4("exp", 100, sess, strlen(sess), &bad[i], &out, err, sizeof err);
    CHECK(rc == DDBS_E_INPUT && out.len == 0);
    if (rc != DDBS_E_INPUT) fprintf(stderr, "    bad cond %zu: rc %d\n", i, rc);
  }
  /* the ttl_key is compared even when no ttl is written (expires < 0) */
  ddbs_write_cond same = {"exp", 1, 0, -2, NULL};
  CHECK(put4("exp", -1, sess, strlen(sess), &same, &out, err, sizeof err) == DDBS_E_INPUT);
  CHECK(put4(NULL, -1, sess, strlen(sess), &same, &out, err, sizeof err) == 0);

  /* the version attribute counts in the item size: id(2) + k(1) + session(7) + M(3 + 1 + s(1) + S)
   * + exp(3) + 100 (2) = 20 + S; + version(7) + "1" (2) */
  ddbs_buf big = DDBS_BUF_INIT;
  ddbs_write_cond v1 = {"version", 1, 0, -2, NULL};
  for (int with_version = 0; with_version < 2; with_version++) {
    size_t s_len = DDBS_MAX_ITEM_SIZE - 20 - (with_version ? 9 : 0);
    for (int over = 0; over < 2; over++) {
      ddbs_buf_reset(&big);
      ddbs_buf_append_str(&big, "{\"s\":\"");
      for (size_t j = 0; j < s_len + (size_t)over; j++) ddbs_buf_append_char(&big, 'x');
      ddbs_buf_append_str(&big, "\"}");
      int rc = put4("exp", 100, big.data, big.len, with_version ? &v1 : NULL, &out, err, sizeof err);
      CHECK(rc == (over ? DDBS_E_TOO_LARGE : 0));
      if (over) CHECK_STREQ(err, "session item is 409601 bytes; DynamoDB's item limit is 409600 bytes");
    }
  }
  ddbs_buf_free(&big);
  CHECK(failures == 0);
  failures = 0;
  ddbs_buf_free(&out);
  ddbs_buf_free(&plain);
}

/* ---- UpdateItem -------------------------------------------------------------------------- */

#define KEY_START "{\"TableName\":\"sessions\",\"Key\":{\"sessionId\":{\"S\":\"abc\"}}"

static void test_update_bodies(void) {
  ddbs_buf out = DDBS_BUF_INIT;
  char err[256];
  /* fields set and removed, the ttl, the version, both conditions */
  ddbs_write_cond strict = {"version", 0, 1, 4, NULL};
  CHECK(update2("expires", 1700086400, "{\"views\":2,\"user\":{\"name\":\"x\"}}", "[\"flash\"]", &strict, &out, err,
                sizeof err) == 0);
  CHECK_STREQ(out.data,
              KEY_START ",\"UpdateExpression\":\"SET #s.#f0 = :v0, #s.#f1 = :v1, #t = :t, #ver = if_not_exists(#ver, :zero) "
                        "+ :one REMOVE #s.#f2\",\"ConditionExpression\":\"attribute_exists(#k) AND #ver = :ev\","
                        "\"ExpressionAttributeNames\":{\"#s\":\"session\",\"#f0\":\"views\",\"#f1\":\"user\",\"#t\":\"expires\","
                        "\"#ver\":\"version\",\"#f2\":\"flash\",\"#k\":\"sessionId\"},\"ExpressionAttributeValues\":{\":v0\":"
                        "{\"N\":\"2\"},\":v1\":{\"M\":{\"name\":{\"S\":\"x\"}}},\":t\":{\"N\":\"1700086400\"},\":zero\":{\"N\":\"0\"},"
                        "\":one\":{\"N\":\"1\"},\":ev\":{\"N\":\"4\"}}}");
  /* only the expiry (a session whose data did not change), merge mode: the item must exist */
  ddbs_write_cond merge = {"version", 0, 1, -2, NULL};
  CHECK(update2("expires", 1700086400, "{\"_expire\":1700086400000,\"_maxAge\":86400000}", NULL, &merge, &out, err,
                sizeof err) == 0);
  CHECK_STREQ(out.data,
              KEY_START ",\"UpdateExpression\":\"SET #s.#f0 = :v0, #s.#f1 = :v1, #t = :t, #ver = if_not_exists(#ver, :zero) "
                        "+ :one\",\"ConditionExpression\":\"attribute_exists(#k)\",\"ExpressionAttributeNames\":{\"#s\":"
                        "\"session\",\"#f0\":\"_expire\",\"#f1\":\"_maxAge\",\"#t\":\"expires\",\"#ver\":\"version\",\"#k\":"
                        "\"sessionId\"},\"ExpressionAttributeValues\":{\":v0\":{\"N\":\"1700086400000\"},\":v1\":{\"N\":"
                        "\"86400000\"},\":t\":{\"N\":\"1700086400\"},\":zero\":{\"N\":\"0\"},\":one\":{\"N\":\"1\"}}}");
  /* only REMOVE, no version, no condition, no ttl: no ExpressionAttributeValues */
  CHECK(update2(NULL, 5, NULL, "[\"a\"]", NULL, &out, err, sizeof err) == 0);
  CHECK_STREQ(out.data, KEY_START ",\"UpdateExpression\":\"REMOVE #s.#f0\",\"ExpressionAttributeNames\":{\"#s\":\"session\","
                                  "\"#f0\":\"a\"}}");
  /* only the ttl; expires < 0: no ttl */
  CHECK(update2("expires", 0, NULL, NULL, NULL, &out, err, sizeof err) == 0);
  CHECK_STREQ(out.data, KEY_START ",\"UpdateExpression\":\"SET #t = :t\",\"ExpressionAttributeNames\":{\"#t\":\"expires\"},"
                                  "\"ExpressionAttributeValues\":{\":t\":{\"N\":\"0\"}}}");
  /* only the version, item must have none */
  ddbs_write_cond fresh = {"version", 0, 0, -1, NULL};
  CHECK(update2("expires", -1, "{}", "[]", &fresh, &out, err, sizeof err) == 0);
  CHECK_STREQ(out.data, KEY_START ",\"UpdateExpression\":\"SET #ver = if_not_exists(#ver, :zero) + :one\","
                                  "\"ConditionExpression\":\"attribute_not_exists(#ver)\",\"ExpressionAttributeNames\":{\"#ver\":"
                                  "\"version\"},\"ExpressionAttributeValues\":{\":zero\":{\"N\":\"0\"},\":one\":{\"N\":\"1\"}}}");
  /* a condition without a version: #k only */
  ddbs_write_cond exists = {NULL, 0, 1, -2, NULL};
  CHECK(update2(NULL, -1, "{\"a\":true,\"b\":null,\"c\":[],\"d\":\"\"}", "[\"e\",\"f\",\"e\"]", &exists, &out, err,
                sizeof err) == 0);
  CHECK_STREQ(out.data, KEY_START ",\"UpdateExpression\":\"SET #s.#f0 = :v0, #s.#f1 = :v1, #s.#f2 = :v2, #s.#f3 = :v3 REMOVE "
                                  "#s.#f4, #s.#f5\",\"ConditionExpression\":\"attribute_exists(#k)\",\"ExpressionAttributeNames\":"
                                  "{\"#s\":\"session\",\"#f0\":\"a\",\"#f1\":\"b\",\"#f2\":\"c\",\"#f3\":\"d\",\"#f4\":\"e\",\"#f5\":"
                                  "\"f\",\"#k\":\"sessionId\"},\"ExpressionAttributeValues\":{\":v0\":{\"BOOL\":true},\":v1\":"
                                  "{\"NULL\":true},\":v2\":{\"L\":[]},\":v3\":{\"S\":\"\"}}}");
  /* names: reserved words, dots, spaces, brackets, placeholder look-alikes, Unicode, escapes */
  const char *names = "{\"name\":1,\"a.b\":2,\"with space\":3,\"x[0]\":4,\"#s\":5,\":v0\":6,\"\\u00e9\xe4\xb8\xad\\ud83d\\ude00\":7,"
                      "\"q\\\"\\\\\\n\\u0001\\/\":8}";
  CHECK(update2(NULL, -1, names, "[\"SESSION\",\"\\u0000x\"]", NULL, &out, err, sizeof err) == DDBS_E_INPUT); /* (U+0000) */
  CHECK(update2(NULL, -1, names, "[\"SESSION\",\"size\"]", NULL, &out, err, sizeof err) == 0);
  CHECK_STREQ(out.data,
              KEY_START ",\"UpdateExpression\":\"SET #s.#f0 = :v0, #s.#f1 = :v1, #s.#f2 = :v2, #s.#f3 = :v3, #s.#f4 = :v4, "
                        "#s.#f5 = :v5, #s.#f6 = :v6, #s.#f7 = :v7 REMOVE #s.#f8, #s.#f9\",\"ExpressionAttributeNames\":{\"#s\":"
                        "\"session\",\"#f0\":\"name\",\"#f1\":\"a.b\",\"#f2\":\"with space\",\"#f3\":\"x[0]\",\"#f4\":\"#s\","
                        "\"#f5\":\":v0\",\"#f6\":\"\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\",\"#f7\":\"q\\\"\\\\\\n\\u0001/\","
                        "\"#f8\":\"SESSION\",\"#f9\":\"size\"},\"ExpressionAttributeValues\":{\":v0\":{\"N\":\"1\"},\":v1\":"
                        "{\"N\":\"2\"},\":v2\":{\"N\":\"3\"},\":v3\":{\"N\":\"4\"},\":v4\":{\"N\":\"5\"},\":v5\":{\"N\":\"6\"},"
                        "\":v6\":{\"N\":\"7\"},\":v7\":{\"N\":\"8\"}}}");
  /* values converted as PutItem converts them: numbers respelled, strings re-escaped, a repeated
   * key's last value at its first place, whitespace */
  CHECK(update2(NULL, -1, " { \"n\" : [1.50, 1E2, -0, 0.1, 1e21] , \"s\":\"\\u00e9\\/\\u001F\" , \"n\":{\"k\":1e-7} } ", NULL,
                NULL, &out, err, sizeof err) == 0);
  CHECK_STREQ(out.data, KEY_START ",\"UpdateExpression\":\"SET #s.#f0 = :v0, #s.#f1 = :v1\",\"ExpressionAttributeNames\":{\"#s\":"
                                  "\"session\",\"#f0\":\"n\",\"#f1\":\"s\"},\"ExpressionAttributeValues\":{\":v0\":{\"M\":{\"k\":"
                                  "{\"N\":\"1e-7\"}}},\":v1\":{\"S\":\"\xc3\xa9/\\u001f\"}}}");
  /* the key with a NUL and quotes; a table name with UTF-8 */
  ddbs_buf_reset(&out);
  CHECK(ddbs_body_update_item("t\xc3\xa9", "id", "k\"\0z", 4, NULL, -1, "{\"a\":1}", 7, NULL, 0, NULL, &out, err,
                              sizeof err) == 0);
  CHECK_STREQ(out.data, "{\"TableName\":\"t\xc3\xa9\",\"Key\":{\"id\":{\"S\":\"k\\\"\\u0000z\"}},\"UpdateExpression\":\"SET "
                        "#s.#f0 = :v0\",\"ExpressionAttributeNames\":{\"#s\":\"session\",\"#f0\":\"a\"},"
                        "\"ExpressionAttributeValues\":{\":v0\":{\"N\":\"1\"}}}");
  /* appends to what the buffer holds */
  ddbs_buf_reset(&out);
  ddbs_buf_append_str(&out, ">");
  CHECK(ddbs_body_update_item("t", "id", "k", 1, NULL, -1, NULL, 0, "[\"a\"]", 5, NULL, &out, err, sizeof err) == 0);
  CHECK(out.data[0] == '>' && out.data[1] == '{');
  CHECK(failures == 0);
  failures = 0;
  ddbs_buf_free(&out);
}

static void test_update_errors(void) {
  ddbs_buf out = DDBS_BUF_INIT;
  char err[256];
  ddbs_write_cond v = {"version", 0, 1, 3, NULL};
  static const struct {
    const char *set, *rem;
  } bad[] = {
      {"{\"\":1}", NULL},                        /* an empty name */
      {NULL, "[\"\"]"},
      {NULL, "[\"a\\u0000\"]"},                  /* U+0000 in a name */
      {"{\"a\\u0000\":1}", NULL},                /* (jansson: no NUL in keys) */
      {"{\"a\":1}", "[\"a\"]"},                  /* both set and removed */
      {"{\"a\":1,\"\\u0062\":2}", "[\"x\",\"b\"]"},
      {NULL, NULL},                              /* nothing to do */
      {"{}", "[]"},
      {"{\"a\":1e400}", NULL},                   /* bad values */
      {"{\"a\":1e200}", NULL},                   /* (DynamoDB cannot store it) */
      {"{\"a\":1e-200}", NULL},
      {"{\"a\":\"\\ud800\"}", NULL},
      {"{\"a\":\"\xff\"}", NULL},
      {"{\"a\":1,}", NULL},                      /* not JSON */
      {"{\"a\":1} x", NULL},
      {"", NULL},
      {"[1]", NULL},                             /* not an object */
      {"\"a\"", NULL},
      {NULL, "{\"a\":1}"},                       /* not an array of strings */
      {NULL, "[1]"},
      {NULL, "[\"a\",null]"},
      {NULL, "[[\"a\"]]"},
      {NULL, "\"a\""},
      {NULL, "[\"a\""},
      {NULL, "[\"\xc0\xaf\"]"},
  };
  for (size_t i = 0; i < COUNT(bad); i++) {
    int rc = update2(NULL, -1, bad[i].set, bad[i].rem, NULL, &out, err, sizeof err);
    CHECK(rc == DDBS_E_INPUT);
    if (rc != DDBS_E_INPUT) fprintf(stderr, "    case %zu: rc %d\n", i, rc);
  }
  /* a raw NUL byte */
  ddbs_buf_reset(&out);
  CHECK(ddbs_body_update_item("t", "id", "k", 1, NULL, -1, "{\"a\":1}\0", 8, NULL, 0, NULL, &out, err, sizeof err) ==
        DDBS_E_INPUT);
  CHECK(ddbs_ref_body_update_item("t", "id", "k", 1, NULL, -1, "{\"a\":1}\0", 8, NULL, 0, NULL, &out, err, sizeof err) ==
        DDBS_E_INPUT);
  CHECK(out.len == 0);
  /* depth: a field's value is at level 2 of the session, as in PutItem: 31 more levels, not 32 */
  for (int extra = 30; extra <= 32; extra++) {
    ddbs_buf deep = DDBS_BUF_INIT;
    ddbs_buf_append_str(&deep, "{\"a\":");
    for (int i = 0; i < extra; i++) ddbs_buf_append_str(&deep, "[");
    for (int i = 0; i < extra; i++) ddbs_buf_append_str(&deep, "]");
    ddbs_buf_append_str(&deep, "}");
    int rc = update2(NULL, -1, deep.data, NULL, NULL, &out, err, sizeof err);
    CHECK(rc == (extra <= 31 ? 0 : DDBS_E_INPUT));
    /* the same session through PutItem agrees */
    ddbs_buf body = DDBS_BUF_INIT;
    CHECK(ddbs_body_put_item("t", "id", "k", 1, NULL, -1, deep.data, deep.len, &body, err, sizeof err) == rc);
    ddbs_buf_free(&body);
    ddbs_buf_free(&deep);
  }
  /* bad arguments */
  CHECK(update2("session", 5, "{\"a\":1}", NULL, NULL, &out, err, sizeof err) == DDBS_E_INPUT);
  CHECK(update2("sessionId", 5, "{\"a\":1}", NULL, NULL, &out, err, sizeof err) == DDBS_E_INPUT);
  CHECK(update2("session", -1, "{\"a\":1}", NULL, NULL, &out, err, sizeof err) == 0); /* (no ttl written) */
  ddbs_write_cond bad_conds[] = {{"version", 0, 0, -3, NULL},    {NULL, 0, 0, 3},          {"session", 0, 0, -2},
                                 {"sessionId", 0, 0, -2}, {"expires", 0, 0, -2},   {"", 0, 0, -2},
                                 {"version", 0, 0, MAXV + 1}};
  for (size_t i = 0; i < COUNT(bad_conds); i++)
    CHECK(update2("expires", 5, "{\"a\":1}", NULL, &bad_conds[i], &out, err, sizeof err) == DDBS_E_INPUT);
  ddbs_write_cond any_new = {"version", -5, 0, -2, NULL}; /* (update: new_version is not used) */
  CHECK(update2("expires", 5, "{\"a\":1}", NULL, &any_new, &out, err, sizeof err) == 0);
  CHECK(update2("expires", 5, "{\"a\":1}", NULL, &v, &out, err, sizeof err) == 0);
  ddbs_buf_reset(&out);
  CHECK(ddbs_body_update_item("t", "id", "", 0, NULL, -1, "{\"a\":1}", 7, NULL, 0, NULL, &out, err, sizeof err) ==
        DDBS_E_INPUT);
  CHECK(ddbs_body_update_item(NULL, "id", "k", 1, NULL, -1, "{\"a\":1}", 7, NULL, 0, NULL, &out, err, sizeof err) ==
        DDBS_E_INPUT);
  CHECK(ddbs_body_update_item("t", "session", "k", 1, NULL, -1, "{\"a\":1}", 7, NULL, 0, NULL, &out, err, sizeof err) ==
        DDBS_E_INPUT);
  CHECK(out.len == 0);
  CHECK(failures == 0);
  failures = 0;
  ddbs_buf_free(&out);
}

/* DDBS_E_TOO_LARGE (the values alone) and DDBS_E_TOO_MANY (the expression's limits). */
static void test_update_limits(void) {
  ddbs_buf out = DDBS_BUF_INIT, set = DDBS_BUF_INIT, rem = DDBS_BUF_INIT;
  char err[256];
  /* sessionId(9) + abc(3) + session(7) + M(3) + 1 + a(1) + S + expires(7) + 1700000000(2) = 33 + S */
  for (int over = 0; over < 2; over++) {
    ddbs_buf_reset(&set);
    ddbs_buf_append_str(&set, "{\"a\":\"");
    for (size_t i = 0; i < DDBS_MAX_ITEM_SIZE - 33 + (size_t)over; i++) ddbs_buf_append_char(&set, 'x');
    ddbs_buf_append_str(&set, "\"}");
    int rc = update2("expires", 1700000000, set.data, "[\"b\"]", NULL, &out, err, sizeof err);
    CHECK(rc == (over ? DDBS_E_TOO_LARGE : 0));
    if (over)
      CHECK_STREQ(err, "the updated session item would be at least 409601 bytes; DynamoDB's item limit is 409600 bytes");
  }
  /* too large wins over too many; a bad value wins over both */
  ddbs_buf_reset(&rem);
  ddbs_buf_append_char(&rem, '[');
  for (int i = 0; i < 400; i++) ddbs_buf_printf(&rem, "%s\"r%d\"", i ? "," : "", i);
  ddbs_buf_append_char(&rem, ']');
  CHECK(update2("expires", 1700000000, set.data, rem.data, NULL, &out, err, sizeof err) == DDBS_E_TOO_LARGE);
  CHECK(update2("expires", 1700000000, "{\"a\":1e999}", rem.data, NULL, &out, err, sizeof err) == DDBS_E_INPUT);
  CHECK(update2("expires", 1700000000, NULL, rem.data, NULL, &out, err, sizeof err) == DDBS_E_TOO_MANY);

  /* the expression's length: fields set, growing, until it passes 4096 bytes */
  ddbs_write_cond v = {"version", 0, 1, 7, NULL};
  size_t longest_ok = 0, shortest_refused = (size_t)-1;
  int last_ok = -1;
  for (int n = 150; n < 260; n++) {
    for (int extra = 0; extra < 3; extra++) {
      ddbs_buf_reset(&set);
      ddbs_buf_append_char(&set, '{');
      for (int i = 0; i < n; i++) ddbs_buf_printf(&set, "%s\"field%d\":%d", i ? "," : "", i, i);
      ddbs_buf_append_char(&set, '}');
      ddbs_buf_reset(&rem);
      ddbs_buf_append_char(&rem, '[');
      for (int i = 0; i < extra; i++) ddbs_buf_printf(&rem, "%s\"gone%d\"", i ? "," : "", i);
      ddbs_buf_append_char(&rem, ']');
      int rc = update2("expires", 1700000000, set.data, rem.data, &v, &out, err, sizeof err);
      CHECK(rc == 0 || rc == DDBS_E_TOO_MANY);
      if (rc == 0) {
        json_t *b = json_loads(out.data, 0, NULL);
        size_t len = strlen(json_string_value(json_object_get(b, "UpdateExpression")));
        if (len > longest_ok) longest_ok = len;
        last_ok = n;
        json_decref(b);
      } else {
        size_t len = 0;
        CHECK(sscanf(err, "the update expression would be %zu bytes", &len) == 1);
        if (len < shortest_refused) shortest_refused = len;
      }
    }
  }
  printf("# update: up to %d fields set (with ttl and version); expressions of %zu bytes taken, %zu refused\n", last_ok,
         longest_ok, shortest_refused);
  CHECK(longest_ok <= DDBS_MAX_EXPRESSION && longest_ok > DDBS_MAX_EXPRESSION - 20);
  CHECK(shortest_refused > DDBS_MAX_EXPRESSION && shortest_refused < DDBS_MAX_EXPRESSION + 20);
  /* actions: 300 removed fields are fine, 301 are not (the expression is shorter than 4096) */
  for (int n = 299; n <= 301; n++) {
    ddbs_buf_reset(&rem);
    ddbs_buf_append_char(&rem, '[');
    for (int i = 0; i < n; i++) ddbs_buf_printf(&rem, "%s\"r%d\"", i ? "," : "", i);
    ddbs_buf_append_char(&rem, ']');
    int rc = update2(NULL, -1, NULL, rem.data, NULL, &out, err, sizeof err);
    CHECK(rc == (n <= 300 ? 0 : DDBS_E_TOO_MANY));
    if (n == 301) CHECK_STREQ(err, "the update expression would hold 301 actions; DynamoDB's limit is 300");
  }
  /* names and values over 2 MB: long names removed (they count, though no item could hold them) */
  ddbs_buf_reset(&rem);
  ddbs_buf_append_char(&rem, '[');
  for (int i = 0; i < 5; i++) {
    ddbs_buf_printf(&rem, "%s\"%d", i ? "," : "", i);
    for (int j = 0; j < 450000; j++) ddbs_buf_append_char(&rem, 'n');
    ddbs_buf_append_char(&rem, '"');
  }
  ddbs_buf_append_char(&rem, ']');
  CHECK(update2(NULL, -1, NULL, rem.data, NULL, &out, err, sizeof err) == DDBS_E_TOO_MANY);
  CHECK(strstr(err, "names and values would be 2250029 bytes") != NULL); /* #s session (9) + 5 x (#f<i> 3 + 450001) */
  /* the same names, 4 of them: 1.8 MB, fine */
  memcpy(strrchr(rem.data, ','), "]", 2);
  rem.len = strlen(rem.data);
  CHECK(update2(NULL, -1, NULL, rem.data, NULL, &out, err, sizeof err) == 0);
  CHECK(failures == 0);
  failures = 0;
  ddbs_buf_free(&out);
  ddbs_buf_free(&set);
  ddbs_buf_free(&rem);
}

/* ---- random updates vs the reference ----------------------------------------------------- */

static uint64_t rs = 0x3C6EF372FE94F82Bull;
static unsigned below(unsigned n) {
  rs ^= rs << 13;
  rs ^= rs >> 7;
  rs ^= rs << 17;
  return (unsigned)(rs % n);
}

/* A field name from a small pool (so that names repeat and overlap), spelled in several ways. */
static void gen_name(ddbs_buf *b) {
  static const char *pool[] = {"\"a\"", "\"\\u0061\"", "\"b\"", "\"a.b\"", "\"#s\"", "\":v0\"", "\"\"", "\"\xc3\xa9\"",
                               "\"\\u00e9\"", "\"x y\"", "\"q\\\"\"", "\"n\\u0000\"", "\"\\ud83d\\ude00\"", "\"\xff\"",
                               "\"SET\"", "\"_expire\"", "\"c\"", "\"d\"", "\"e\"", "\"f\""};
  unsigned n = below(100);
  if (n < 85) ddbs_buf_append_str(b, pool[n % 20 < 6 ? n % 20 : 14 + n % 6]);
  else ddbs_buf_append_str(b, pool[below(COUNT(pool))]);
}

static void gen_value(ddbs_buf *b, int depth) {
  static const char *scalars[] = {"1", "-0", "1.50", "1e21", "0.1", "1e400", "1e200", "1e-7", "true", "false", "null",
                                  "\"\"", "\"x\"", "\"\\u0000\\n\\/\"", "\"\\ud800\"", "\"\xe4\xb8\xad\"", "99999999999999999999"};
  unsigned k = below(depth > 3 ? 3 : 10);
  if (k < 7 || depth > 40) {
    ddbs_buf_append_str(b, scalars[below(COUNT(scalars))]);
  } else if (k < 9) {
    unsigned n = below(4);
    ddbs_buf_append_char(b, '[');
    for (unsigned i = 0; i < n; i++) {
      if (i) ddbs_buf_append_char(b, ',');
      gen_value(b, depth + 1);
    }
    ddbs_buf_append_char(b, ']');
  } else {
    unsigned n = below(4);
    ddbs_buf_append_char(b, '{');
    for (unsigned i = 0; i < n; i++) {
      if (i) ddbs_buf_append_char(b, ',');
      gen_name(b);
      ddbs_buf_append_char(b, ':');
      gen_value(b, depth + 1);
    }
    ddbs_buf_append_char(b, '}');
  }
}

static void test_update_differential(void) {
  ddbs_buf set = DDBS_BUF_INIT, rem = DDBS_BUF_INIT, out = DDBS_BUF_INIT;
  char err[256];
  int outcomes[8] = {0}, rounds = 0;
  static const long long expects[] = {-2, -2, -1, 0, 5, MAXV, -3};
  for (int round = 0; round < 20000 && failures < 5; round++, rounds++) {
    ddbs_buf_reset(&set);
    ddbs_buf_reset(&rem);
    int has_set = below(10) < 8, has_rem = below(10) < 6;
    if (has_set) {
      unsigned n = below(6);
      ddbs_buf_append_char(&set, below(50) ? '{' : '[');
      for (unsigned i = 0; i < n; i++) {
        if (i) ddbs_buf_append_str(&set, below(20) ? "," : " , ");
        gen_name(&set);
        ddbs_buf_append_char(&set, ':');
        gen_value(&set, 2);
      }
      ddbs_buf_append_char(&set, '}');
      if (below(50) == 0) set.len -= below((unsigned)set.len); /* truncated */
    }
    if (has_rem) {
      unsigned n = below(5);
      ddbs_buf_append_char(&rem, '[');
      for (unsigned i = 0; i < n; i++) {
        if (i) ddbs_buf_append_char(&rem, ',');
        if (below(30) == 0) ddbs_buf_append_str(&rem, "1");
        else gen_name(&rem);
      }
      ddbs_buf_append_char(&rem, below(60) ? ']' : '}');
    }
    ddbs_write_cond c = {below(3) ? "version" : NULL, 0, (int)below(2), expects[below(COUNT(expects))], NULL};
    int use_cond = below(4) != 0;
    const char *ttl = below(3) ? "expires" : NULL;
    int rc = update2(ttl, below(4) ? 1700000000 : -1, has_set ? set.data : NULL, has_rem ? rem.data : NULL,
                     use_cond ? &c : NULL, &out, err, sizeof err);
    outcomes[-rc < 8 && rc <= 0 ? -rc : 7]++;
  }
  printf("# update: %d accepted, %d DDBS_E_INPUT, %d other of %d random updates\n", outcomes[0], outcomes[2],
         rounds - outcomes[0] - outcomes[2], rounds);
  CHECK(outcomes[0] > 4000 && outcomes[2] > 4000);
  CHECK(failures == 0);
  failures = 0;
  ddbs_buf_free(&set);
  ddbs_buf_free(&rem);
  ddbs_buf_free(&out);
}


/* The whole session as an UpdateItem, and the user and creation attributes on every write. */
static void test_write_session(void) {
  ddbs_buf b = DDBS_BUF_INIT;
  char err[256];
  ddbs_item_attrs user = {"userId", "alice", 5, "createdAt", 1700000000};
  ddbs_write_cond c = {"version", 4, 1, 3, &user};
  CHECK(ddbs_body_write_session("t", "id", "k", 1, "expires", 2000, "{\"a\":[1,\"x\"]}", 13, NULL, 0, 0, &c, &b, err,
                                sizeof err) == 0);
  CHECK(body_ok(b.data, b.len));
  CHECK_STREQ(b.data,
              "{\"TableName\":\"t\",\"Key\":{\"id\":{\"S\":\"k\"}},"
              "\"UpdateExpression\":\"SET #s = :s, #t = :t, #ver = :nv, #u = :u, #c = if_not_exists(#c, :c)\","
              "\"ConditionExpression\":\"attribute_exists(#k) AND #ver = :ev\","
              "\"ExpressionAttributeNames\":{\"#s\":\"session\",\"#t\":\"expires\",\"#ver\":\"version\",\"#u\":\"userId\","
              "\"#c\":\"createdAt\",\"#k\":\"id\"},"
              "\"ExpressionAttributeValues\":{\":t\":{\"N\":\"2000\"},\":nv\":{\"N\":\"4\"},\":u\":{\"S\":\"alice\"},"
              "\":c\":{\"N\":\"1700000000\"},\":ev\":{\"N\":\"3\"},"
              "\":s\":{\"M\":{\"a\":{\"L\":[{\"N\":\"1\"},{\"S\":\"x\"}]}}}}}");
  /* logged out: the user attribute removed; a touch (new_version 0) leaves the version alone; a blob */
  ddbs_buf_reset(&b);
  ddbs_item_attrs anon = {"userId", NULL, 0, NULL, 0};
  ddbs_write_cond touch = {"version", 0, 1, -2, &anon};
  CHECK(ddbs_body_write_session("t", "id", "k", 1, NULL, -1, NULL, 0, "AAEC", 4, 3, &touch, &b, err, sizeof err) == 0);
  CHECK(body_ok(b.data, b.len));
  CHECK(strstr(b.data, "\"UpdateExpression\":\"SET #s = :s REMOVE #u\"") != NULL);
  CHECK(strstr(b.data, "\":s\":{\"B\":\"AAEC\"}}}") != NULL);
  CHECK(strstr(b.data, "#ver") == NULL);
  /* refused: attributes named as the store's own, a bad user id, no session; nothing appended */
  ddbs_buf_reset(&b);
  ddbs_item_attrs bad[] = {{"session", "u", 1, NULL, 0}, {"id", "u", 1, NULL, 0},     {"expires", "u", 1, NULL, 0},
                           {"version", "u", 1, NULL, 0}, {"userId", "", 0, NULL, 0},  {"userId", "\xff", 1, NULL, 0},
                           {"u", "x", 1, "u", 1},        {NULL, NULL, 0, "id", 1},    {NULL, NULL, 0, "c", -1}};
  for (size_t i = 0; i < COUNT(bad); i++) {
    ddbs_write_cond bc = {"version", 1, 0, -2, &bad[i]};
    CHECK(ddbs_body_write_session("t", "id", "k", 1, "expires", 5, "{}", 2, NULL, 0, 0, &bc, &b, err, sizeof err) ==
          DDBS_E_INPUT);
    CHECK(b.len == 0);
  }
  CHECK(ddbs_body_write_session("t", "id", "k", 1, "expires", 5, NULL, 0, NULL, 0, 0, NULL, &b, err, sizeof err) ==
        DDBS_E_INPUT);
  /* PutItem cannot carry them */
  ddbs_write_cond pc = {"version", 1, 0, -2, &user};
  CHECK(ddbs_body_put_item_cond("t", "id", "k", 1, NULL, -1, "{}", 2, &pc, &b, err, sizeof err) == DDBS_E_INPUT);
  /* the item size counts the session: one over the limit */
  size_t n = DDBS_MAX_ITEM_SIZE;
  char *big = malloc(n + 16);
  memcpy(big, "{\"a\":\"", 6);
  memset(big + 6, 'x', n);
  memcpy(big + 6 + n, "\"}", 3);
  CHECK(ddbs_body_write_session("t", "id", "k", 1, NULL, -1, big, n + 8, NULL, 0, 0, NULL, &b, err, sizeof err) ==
        DDBS_E_TOO_LARGE);
  CHECK(b.len == 0);
  free(big);
  /* a merge keeps the attributes too */
  ddbs_buf_reset(&b);
  ddbs_write_cond m = {"version", 0, 1, -2, &user};
  CHECK(ddbs_body_update_item("t", "id", "k", 1, "expires", 9, "{\"a\":1}", 7, NULL, 0, &m, &b, err, sizeof err) == 0);
  CHECK(body_ok(b.data, b.len));
  CHECK(strstr(b.data, "SET #s.#f0 = :v0, #t = :t, #ver = if_not_exists(#ver, :zero) + :one, #u = :u, "
                       "#c = if_not_exists(#c, :c)\"") != NULL);
  ddbs_buf_reset(&b);
  ddbs_write_cond m2 = {NULL, 0, 1, -2, &anon};
  CHECK(ddbs_body_update_item("t", "id", "k", 1, NULL, -1, NULL, 0, "[\"a\"]", 5, &m2, &b, err, sizeof err) == 0);
  CHECK(body_ok(b.data, b.len));
  CHECK(strstr(b.data, "\"UpdateExpression\":\"REMOVE #u, #s.#f0\"") != NULL);
  ddbs_buf_free(&b);
}

/* ConsumedCapacity in answers, and which sessions are stored blobs. */
static void test_answer_details(void) {
  double u = -1;
  CHECK(ddbs_parse_consumed_capacity("{\"ConsumedCapacity\":{\"TableName\":\"t\",\"CapacityUnits\":0.5}}", 60, &u) == 0);
  CHECK(u == 0.5);
  const char *batch = "{\"UnprocessedItems\":{},\"ConsumedCapacity\":[{\"TableName\":\"t\",\"CapacityUnits\":2},"
                      "{\"TableName\":\"u\",\"CapacityUnits\":3.5}]}";
  CHECK(ddbs_parse_consumed_capacity(batch, strlen(batch), &u) == 0 && u == 5.5);
  /* a session field named CapacityUnits is not the answer's */
  const char *inner = "{\"Item\":{\"session\":{\"M\":{\"CapacityUnits\":{\"N\":\"9\"}}}}}";
  CHECK(ddbs_parse_consumed_capacity(inner, strlen(inner), &u) == 0 && u == 0);
  CHECK(ddbs_parse_consumed_capacity("{}", 2, &u) == 0 && u == 0);
  CHECK(ddbs_parse_consumed_capacity("[1]", 3, &u) == DDBS_E_RESPONSE && u == 0);
  CHECK(ddbs_parse_consumed_capacity("{\"ConsumedCapacity\":{\"CapacityUnits\":\"1\"}}", 42, &u) == 0 && u == 0);
  const char *blob = "{\"Item\":{\"id\":{\"S\":\"k\"},\"session\":{\"B\":\"AAEC\"}}}";
  const char *map = "{\"Item\":{\"id\":{\"S\":\"k\"},\"session\":{\"M\":{}}}}";
  const char *str = "{\"Item\":{\"session\":{\"S\":\"AAEC\"}}}";
  CHECK(ddbs_get_item_session_is_blob(blob, strlen(blob)) == 1);
  CHECK(ddbs_get_item_session_is_blob(map, strlen(map)) == 0);
  CHECK(ddbs_get_item_session_is_blob(str, strlen(str)) == 0);
  CHECK(ddbs_get_item_session_is_blob("{}", 2) == 0);
}

void suite_ddb_update(void) {
  ctest_run("ddb_update: the body checker refuses malformed bodies", test_body_checker);
  ctest_run("ddb_update: the version in GetItem answers", test_get_version);
  ctest_run("ddb_update: PutItem with conditions", test_put_cond);
  ctest_run("ddb_update: UpdateItem bodies", test_update_bodies);
  ctest_run("ddb_update: UpdateItem refused inputs", test_update_errors);
  ctest_run("ddb_update: UpdateItem size and expression limits", test_update_limits);
  ctest_run("ddb_update: UpdateItem vs reference, random fields", test_update_differential);
  ctest_run("ddb_update: the whole session as an UpdateItem, user and creation attributes", test_write_session);
  ctest_run("ddb_update: consumed capacity and stored blobs in answers", test_answer_details);
}
