/* test_ddb_json.c: unit tests for src/ddb_json.c (numbers, session JSON <-> AttributeValue, item
 * size, request bodies, GetItem and error responses). Expected texts are literals; the DynamoDB
 * bodies were produced by aws-sdk v2's DocumentClient for the same input. */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctest.h"
#include "ddb_json.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers --------------------------------------------------------------------------- */

/* session JSON text -> compact JSON of its AttributeValue (jansson's dump; only strings and
 * booleans inside). Returns a malloc'd string, or NULL (err says why). */
static char *attr_json(const char *text, char *err, size_t errlen) {
  json_t *attr = ddbs_json_text_to_attr(text, strlen(text), err, errlen);
  char *s = attr ? json_dumps(attr, JSON_COMPACT) : NULL;
  json_decref(attr);
  return s;
}

/* session JSON text (len bytes) -> AttributeValue -> JSON text, into out (reset first).
 * Returns the text, or NULL. */
static const char *round_trip(const char *text, size_t len, ddbs_buf *out) {
  char err[256] = "";
  int rc = -1;
  ddbs_buf_reset(out);
  json_t *attr = ddbs_json_text_to_attr(text, len, err, sizeof err);
  if (attr) rc = ddbs_attr_to_json_text(attr, out, err, sizeof err);
  json_decref(attr);
  if (rc != 0) fprintf(stderr, "    round trip of %.60s failed: %s\n", text, err);
  return rc == 0 ? out->data : NULL;
}

/* AttributeValue JSON text (as the server sends) -> JSON text into out, or the error code. */
static int read_attr(const char *attr_text, ddbs_buf *out, char *err, size_t errlen) {
  json_error_t jerr;
  json_t *attr = json_loads(attr_text, JSON_ALLOW_NUL, &jerr);
  if (!attr) {
    fprintf(stderr, "    bad test input %s: %s\n", attr_text, jerr.text);
    return 1;
  }
  ddbs_buf_reset(out);
  int rc = ddbs_attr_to_json_text(attr, out, err, errlen);
  json_decref(attr);
  return rc;
}

static const char *fmt(double d, char out[32]) {
  if (ddbs_format_double(d, out) < 0) strcpy(out, "(error)");
  return out;
}

static uint64_t xorshift_state = 0x9E3779B97F4A7C15ull;
static uint64_t xorshift64(void) {
  uint64_t x = xorshift_state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return xorshift_state = x;
}

/* ---- numbers --------------------------------------------------------------------------- */

static void test_format_double_literals(void) {
  static const struct {
    double d;
    const char *want;
  } cases[] = {
      {0.0, "0"},
      {-0.0, "0"}, /* as JavaScript: String(-0) and JSON.stringify(-0) are "0" */
      {0.1, "0.1"},
      {0.1 + 0.2, "0.30000000000000004"},
      {1.0 / 3.0, "0.3333333333333333"},
      {-1.5, "-1.5"},
      {100, "100"},
      {9007199254740991.0, "9007199254740991"},
      {9007199254740993.0, "9007199254740992"}, /* not a double: rounds to 2^53 */
      {1152921504606846976.0, "1152921504606847000"}, /* 2^60: shortest digits, then zeros */
      {1e20, "100000000000000000000"},
      {999999999999999868928.0, "999999999999999900000"}, /* the largest double below 1e21 */
      {1e21, "1e+21"},
      {1.5e300, "1.5e+300"},
      {1e-6, "0.000001"},
      {1.234e-6, "0.000001234"},
      {1e-7, "1e-7"},
      {1.5e-7, "1.5e-7"},
      {1.23e-18, "1.23e-18"},
      {5e-324, "5e-324"},
      {-5e-324, "-5e-324"},
      {2.2250738585072014e-308, "2.2250738585072014e-308"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {123456789012.5, "123456789012.5"},
      {1700000000000.0, "1700000000000"},
      /* 2^-24: a power of two, whose rounding interval is lopsided; %.15e gives ...062 (a tie
       * rounded to even) which does not read back, ...063 does (JavaScript prints this). */
      {5.9604644775390625e-8, "5.960464477539063e-8"},
      {6.189700196426902e+26, "6.189700196426902e+26"}, /* 2^89, the same situation */
  };
  char out[32];
  for (size_t i = 0; i < COUNT(cases); i++) CHECK_STREQ(fmt(cases[i].d, out), cases[i].want);
  CHECK(ddbs_format_double(NAN, out) == -1);
  CHECK(ddbs_format_double(INFINITY, out) == -1);
  CHECK(ddbs_format_double(-INFINITY, out) == -1);
  CHECK(ddbs_format_double(0.1, out) == 3);
}

/* Significant digits of a formatted number: mantissa digits without leading/trailing zeros. */
static int sig_digits(const char *s) {
  char d[40];
  int n = 0;
  for (; *s && *s != 'e'; s++)
    if (*s >= '0' && *s <= '9' && (n > 0 || *s != '0')) d[n++] = *s;
  while (n > 0 && d[n - 1] == '0') n--;
  return n;
}

static void test_format_double_random(void) {
  char out[32], shorter[48];
  int bad_round_trip = 0, not_shortest = 0, bad_json = 0, checked = 0;
  for (int i = 0; i < 100000; i++) {
    uint64_t bits = xorshift64();
    if (i % 3 == 1) /* also magnitudes near 1, where sessions' numbers live */
      bits = (bits & 0x800FFFFFFFFFFFFFull) | ((uint64_t)(1023 - 40 + (int)(xorshift64() % 80)) << 52);
    double d;
    memcpy(&d, &bits, sizeof d);
    if (!isfinite(d)) continue;
    checked++;
    if (ddbs_format_double(d, out) < 0 || strtod(out, NULL) != d) {
      if (bad_round_trip++ < 5) fprintf(stderr, "    %a -> %s does not read back\n", d, out);
      continue;
    }
    /* No text with one digit fewer reads back: the decimals of k-1 digits nearest below and
     * above |d| must both miss. They are among M-1, M, M+1 where M is the rounded one. */
    int k = sig_digits(out);
    if (k > 1) {
      unsigned long long m = 0;
      int e10;
      char *c = shorter;
      snprintf(shorter, sizeof shorter, "%.*e", k - 2, fabs(d));
      for (; *c != 'e'; c++)
        if (*c != '.') m = m * 10 + (unsigned long long)(*c - '0');
      e10 = atoi(c + 1) - (k - 2);
      for (int delta = -1; delta <= 1; delta++) {
        char cand[48];
        snprintf(cand, sizeof cand, "%llue%d", m + (unsigned long long)(long long)delta, e10);
        if (strtod(cand, NULL) == fabs(d) && not_shortest++ < 5)
          fprintf(stderr, "    %s is shorter than %s\n", cand, out);
      }
    }
    if (i % 97 == 0) { /* and it is JSON (a number, nothing else) */
      char arr[40];
      snprintf(arr, sizeof arr, "[%s]", out);
      json_t *v = json_loads(arr, JSON_DECODE_INT_AS_REAL, NULL);
      if (!v || json_real_value(json_array_get(v, 0)) != d) bad_json++;
      json_decref(v);
    }
  }
  CHECK(checked > 99000);
  CHECK(bad_round_trip == 0);
  CHECK(not_shortest == 0);
  CHECK(bad_json == 0);
}

/* N texts as the server may send them -> the JSON number JavaScript's Number() would give. */
static void test_read_numbers(void) {
  static const struct {
    const char *attr, *want;
  } cases[] = {
      {"{\"N\":\"1.50\"}", "1.5"},
      {"{\"N\":\"1E+2\"}", "100"},
      {"{\"N\":\"1e2\"}", "100"},
      {"{\"N\":\"1000000000000000000000\"}", "1e+21"},
      {"{\"N\":\"-0.000001\"}", "-0.000001"},
      {"{\"N\":\"0.0000001\"}", "1e-7"},
      {"{\"N\":\"12345678901234567890123456789012345678\"}", "1.2345678901234568e+37"},
      {"{\"N\":\"9.9999999999999999999999999999999999999E+125\"}", "1e+126"},
      {"{\"N\":\"1E-130\"}", "1e-130"},
      {"{\"N\":\"-0\"}", "0"},
      {"{\"N\":\"0\"}", "0"},
      {"{\"N\":\"9007199254740993\"}", "9007199254740992"},
      {"{\"N\":\"1700000000000\"}", "1700000000000"},
      {"{\"NS\":[\"1\",\"2.50\",\"-3E-2\"]}", "[1,2.5,-0.03]"},
  };
  ddbs_buf out = DDBS_BUF_INIT;
  char err[256];
  for (size_t i = 0; i < COUNT(cases); i++) {
    CHECK(read_attr(cases[i].attr, &out, err, sizeof err) == 0);
    CHECK_STREQ(out.data, cases[i].want);
  }
  static const char *bad[] = {
      "{\"N\":\"abc\"}", "{\"N\":\"\"}",     "{\"N\":\"1e\"}",       "{\"N\":\"0x10\"}",
      "{\"N\":\" 1\"}",  "{\"N\":\"1 \"}",   "{\"N\":\"Infinity\"}", "{\"N\":\"NaN\"}",
      "{\"N\":\"1e400\"}", "{\"N\":\".\"}", "{\"N\":\"--1\"}",      "{\"N\":1}",
      "{\"NS\":[\"1\",\"x\"]}", "{\"N\":\"1\\u00002\"}",
  };
  for (size_t i = 0; i < COUNT(bad); i++) {
    err[0] = '\0';
    int rc = read_attr(bad[i], &out, err, sizeof err);
    CHECK(rc == DDBS_E_RESPONSE);
    if (rc != DDBS_E_RESPONSE) fprintf(stderr, "    accepted %s\n", bad[i]);
    CHECK(err[0] != '\0');
  }
  ddbs_buf_free(&out);
}

/* ---- session JSON <-> AttributeValue --------------------------------------------------- */

static void test_session_attr_exact(void) {
  char err[256] = "";
  char *s = attr_json("{\"count\":1,\"name\":\"x\",\"ok\":true,\"n\":null,\"l\":[1,\"a\",false,{\"k\":[]}],"
                      "\"_expire\":1700000000000,\"_maxAge\":86400000,\"f\":0.1,\"big\":1e21,"
                      "\"e\":\"\",\"o\":{}}",
                      err, sizeof err);
  /* what DocumentClient writes for the same object */
  CHECK_STREQ(s,
              "{\"M\":{\"count\":{\"N\":\"1\"},\"name\":{\"S\":\"x\"},\"ok\":{\"BOOL\":true},"
              "\"n\":{\"NULL\":true},\"l\":{\"L\":[{\"N\":\"1\"},{\"S\":\"a\"},{\"BOOL\":false},"
              "{\"M\":{\"k\":{\"L\":[]}}}]},\"_expire\":{\"N\":\"1700000000000\"},"
              "\"_maxAge\":{\"N\":\"86400000\"},\"f\":{\"N\":\"0.1\"},\"big\":{\"N\":\"1e+21\"},"
              "\"e\":{\"S\":\"\"},\"o\":{\"M\":{}}}}");
  free(s);
  s = attr_json("[\"a\",2.5,[]]", err, sizeof err);
  CHECK_STREQ(s, "{\"L\":[{\"S\":\"a\"},{\"N\":\"2.5\"},{\"L\":[]}]}");
  free(s);
  s = attr_json("\"just a string\"", err, sizeof err);
  CHECK_STREQ(s, "{\"S\":\"just a string\"}");
  free(s);
  s = attr_json("123456789012345678901234567890", err, sizeof err); /* integers read as doubles */
  CHECK_STREQ(s, "{\"N\":\"1.2345678901234568e+29\"}");
  free(s);
  s = attr_json("-0", err, sizeof err);
  CHECK_STREQ(s, "{\"N\":\"0\"}");
  free(s);

  /* ddbs_value_to_attr on values jansson decoded without JSON_DECODE_INT_AS_REAL */
  json_t *v = json_loads("{\"i\":42,\"big\":9007199254740993}", 0, NULL);
  json_t *attr = ddbs_value_to_attr(v, err, sizeof err);
  s = attr ? json_dumps(attr, JSON_COMPACT) : NULL;
  CHECK_STREQ(s, "{\"M\":{\"i\":{\"N\":\"42\"},\"big\":{\"N\":\"9007199254740992\"}}}");
  free(s);
  json_decref(attr);
  json_decref(v);
  CHECK(ddbs_value_to_attr(NULL, err, sizeof err) == NULL);
}

static void test_round_trip(void) {
  static const struct {
    const char *in, *want;
  } cases[] = {
      {"{\"a\":{\"b\":[1,[2,[]],{}],\"c\":\"\"},\"d\":[],\"e\":{}}",
       "{\"a\":{\"b\":[1,[2,[]],{}],\"c\":\"\"},\"d\":[],\"e\":{}}"},
      {"{ \"spaced\" : [ 1 , 2 ] }", "{\"spaced\":[1,2]}"},
      {"{\"t\":true,\"f\":false,\"n\":null}", "{\"t\":true,\"f\":false,\"n\":null}"},
      {"[0.1,9007199254740991,-9007199254740991,1e21,1E2,1.50,-0.000001,1.5e-7,1e-130,-0]",
       "[0.1,9007199254740991,-9007199254740991,1e+21,100,1.5,-0.000001,1.5e-7,1e-130,0]"},
      /* BMP characters raw or escaped, astral via a surrogate pair: raw UTF-8 out */
      {"{\"bmp\":\"\xc3\xa9\xe4\xb8\xad\",\"esc\":\"\\u00e9\\u4e2d\",\"astral\":\"\\ud83d\\ude00\","
       "\"raw\":\"\xf0\x9f\x98\x80\"}",
       "{\"bmp\":\"\xc3\xa9\xe4\xb8\xad\",\"esc\":\"\xc3\xa9\xe4\xb8\xad\",\"astral\":\"\xf0\x9f\x98\x80\","
       "\"raw\":\"\xf0\x9f\x98\x80\"}"},
      /* JSON.stringify escapes only " \ and controls; / DEL U+2028 U+2029 stay raw */
      {"[\"q\\\"b\\\\s\\/\\u007f\\u2028\\u2029\"]", "[\"q\\\"b\\\\s/\x7f\xe2\x80\xa8\xe2\x80\xa9\"]"},
      {"{\"\":1,\"a b\":2,\"\\\"q\\\"\":3,\"\\\\\":4,\"\\n\":5,\"\xc3\xa9\":6,\"\\ud83d\\ude00\":7,"
       "\"__proto__\":8,\"constructor\":9,\"1\":10,\"a.b[0]\":11,\"#x\":12,\":y\":13}",
       "{\"\":1,\"a b\":2,\"\\\"q\\\"\":3,\"\\\\\":4,\"\\n\":5,\"\xc3\xa9\":6,\"\xf0\x9f\x98\x80\":7,"
       "\"__proto__\":8,\"constructor\":9,\"1\":10,\"a.b[0]\":11,\"#x\":12,\":y\":13}"},
      {"\"x\"", "\"x\""},
      {"42", "42"},
      {"null", "null"},
      {"[]", "[]"},
      {"{}", "{}"},
      {"\"\"", "\"\""},
  };
  ddbs_buf out = DDBS_BUF_INIT;
  for (size_t i = 0; i < COUNT(cases); i++)
    CHECK_STREQ(round_trip(cases[i].in, strlen(cases[i].in), &out), cases[i].want);
  ddbs_buf_free(&out);
}

static void test_round_trip_controls(void) {
  /* every control character, escaped in the input as \u00XX */
  char in[512], *p = in;
  p += sprintf(p, "\"");
  for (int c = 0; c < 0x20; c++) p += sprintf(p, "\\u%04x", c);
  p += sprintf(p, "\"");
  static const char want[] =
      "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e"
      "\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b"
      "\\u001c\\u001d\\u001e\\u001f\"";
  ddbs_buf out = DDBS_BUF_INIT;
  CHECK_STREQ(round_trip(in, strlen(in), &out), want);
  /* the short escapes in the input too */
  const char *shorts = "\"\\b\\f\\n\\r\\t\"";
  CHECK_STREQ(round_trip(shorts, strlen(shorts), &out), "\"\\b\\f\\n\\r\\t\"");

  /* NUL inside a string: kept (the S value is 3 bytes), and written back as \u0000 */
  const char *nul = "{\"k\":\"a\\u0000b\"}";
  char err[256] = "";
  json_t *attr = ddbs_json_text_to_attr(nul, strlen(nul), err, sizeof err);
  json_t *sv = json_object_get(json_object_get(json_object_get(attr, "M"), "k"), "S");
  CHECK(json_string_length(sv) == 3);
  CHECK(sv && memcmp(json_string_value(sv), "a\0b", 3) == 0);
  json_decref(attr);
  CHECK_STREQ(round_trip(nul, strlen(nul), &out), "{\"k\":\"a\\u0000b\"}");

  /* text that is not NUL-terminated: only len bytes are read */
  const char *longer = "[1,2]garbage";
  CHECK_STREQ(round_trip(longer, 5, &out), "[1,2]");
  ddbs_buf_free(&out);
}

static void test_bad_session_json(void) {
  static const char *bad[] = {
      "",          "{",          "{\"a\":1",        "{\"a\":1}x",   "[1,]",        "{'a':1}",
      "NaN",       "[Infinity]", "\"\\ud800\"",     "\"\xff\"",     "[1e400]",
      "{\"a\\u0000b\":1}", /* jansson does not support NUL in object keys */
  };
  char err[256];
  for (size_t i = 0; i < COUNT(bad); i++) {
    err[0] = '\0';
    json_t *attr = ddbs_json_text_to_attr(bad[i], strlen(bad[i]), err, sizeof err);
    CHECK(attr == NULL);
    if (attr) fprintf(stderr, "    accepted %s\n", bad[i]);
    CHECK(strncmp(err, "session is not valid JSON", 25) == 0);
    json_decref(attr);
  }
  CHECK(ddbs_json_text_to_attr(NULL, 0, err, sizeof err) == NULL);
  /* err may be NULL / zero-sized */
  CHECK(ddbs_json_text_to_attr("{", 1, NULL, 0) == NULL);
}

/* n nested arrays (or objects) around 1 */
static char *nested(int n, int objects) {
  char *s = malloc((size_t)n * 6 + 8), *p = s;
  for (int i = 0; i < n; i++) p += sprintf(p, objects ? "{\"a\":" : "[");
  *p++ = '1';
  for (int i = 0; i < n; i++) *p++ = objects ? '}' : ']';
  *p = '\0';
  return s;
}

static void test_depth_limit(void) {
  char err[256];
  for (int objects = 0; objects < 2; objects++) {
    char *ok = nested(32, objects), *deep = nested(33, objects);
    json_t *attr = ddbs_json_text_to_attr(ok, strlen(ok), err, sizeof err);
    CHECK(attr != NULL);
    ddbs_buf out = DDBS_BUF_INIT;
    CHECK(attr && ddbs_attr_to_json_text(attr, &out, err, sizeof err) == 0);
    CHECK_STREQ(out.data, ok);
    ddbs_buf_free(&out);
    json_decref(attr);
    err[0] = '\0';
    attr = ddbs_json_text_to_attr(deep, strlen(deep), err, sizeof err);
    CHECK(attr == NULL);
    CHECK_STREQ(err, "session nests deeper than 32 levels (DynamoDB's limit)");
    json_decref(attr);
    /* the same through PutItem, with its error code */
    ddbs_buf body = DDBS_BUF_INIT;
    CHECK(ddbs_body_put_item("t", "id", "k", 1, "expires", 1, deep, strlen(deep), &body, err,
                             sizeof err) == DDBS_E_INPUT);
    CHECK(body.len == 0);
    ddbs_buf_free(&body);
    free(ok);
    free(deep);
  }
}

static void test_number_range(void) {
  static const struct {
    const char *in, *want; /* want NULL: rejected */
  } cases[] = {
      {"1e200", NULL},
      {"-1e200", NULL},
      {"1e-200", NULL},
      {"1e126", NULL},
      {"9.9999999999999999999999999999999999999E+125", NULL}, /* the same double as 1e126 */
      {"1e-131", NULL},
      {"5e-324", NULL},
      {"1.7976931348623157e308", NULL},
      {"9.99999999999999e125", "{\"N\":\"9.99999999999999e+125\"}"},
      {"-9.99999999999999e125", "{\"N\":\"-9.99999999999999e+125\"}"},
      {"1e-130", "{\"N\":\"1e-130\"}"},
      {"-1e-130", "{\"N\":\"-1e-130\"}"},
      {"0", "{\"N\":\"0\"}"},
  };
  char err[256];
  for (size_t i = 0; i < COUNT(cases); i++) {
    err[0] = '\0';
    char *s = attr_json(cases[i].in, err, sizeof err);
    if (cases[i].want) {
      CHECK_STREQ(s, cases[i].want);
    } else {
      CHECK(s == NULL);
      if (s) fprintf(stderr, "    accepted %s as %s\n", cases[i].in, s);
      CHECK(strstr(err, "which DynamoDB cannot store") != NULL);
    }
    free(s);
  }
  attr_json("{\"a\":[1e200]}", err, sizeof err);
  CHECK_STREQ(err, "session holds the number 1e+200, which DynamoDB cannot store (magnitudes from "
                   "1E-130 to 9.9999999999999999999999999999999999999E+125, or 0)");
}

/* ---- AttributeValue -> JSON text: other types, malformed values ------------------------- */

static void test_read_other_types(void) {
  ddbs_buf out = DDBS_BUF_INIT;
  char err[256];
  CHECK(read_attr("{\"M\":{\"ss\":{\"SS\":[\"a\",\"b\\n\"]},\"ns\":{\"NS\":[\"1\",\"2.50\"]},"
                  "\"b\":{\"B\":\"QUJD\"},\"bs\":{\"BS\":[\"QQ==\",\"Qg==\"]},"
                  "\"z\":{\"M\":{}},\"e\":{\"L\":[]}}}",
                  &out, err, sizeof err) == 0);
  CHECK_STREQ(out.data, "{\"ss\":[\"a\",\"b\\n\"],\"ns\":[1,2.5],\"b\":\"QUJD\",\"bs\":[\"QQ==\",\"Qg==\"],"
                        "\"z\":{},\"e\":[]}");
  /* keys come out in the order the server sent them, not sorted */
  CHECK(read_attr("{\"M\":{\"z\":{\"N\":\"1\"},\"a\":{\"N\":\"2\"},\"m\":{\"N\":\"3\"}}}", &out, err,
                  sizeof err) == 0);
  CHECK_STREQ(out.data, "{\"z\":1,\"a\":2,\"m\":3}");
  /* appends to what is there */
  ddbs_buf_reset(&out);
  ddbs_buf_append_str(&out, "prefix:");
  json_t *attr = json_loads("{\"S\":\"x\"}", 0, NULL);
  CHECK(ddbs_attr_to_json_text(attr, &out, err, sizeof err) == 0);
  CHECK_STREQ(out.data, "prefix:\"x\"");
  json_decref(attr);
  ddbs_buf_free(&out);
}

static void test_read_malformed(void) {
  static const char *bad[] = {
      "{\"X\":\"1\"}",          "{\"S\":1}",           "{\"S\":null}",         "{\"M\":[]}",
      "{\"L\":{}}",             "{}",                  "{\"S\":\"a\",\"N\":\"1\"}", "{\"BOOL\":\"true\"}",
      "{\"NULL\":false}",       "{\"NULL\":null}",     "{\"SS\":[1]}",         "{\"SS\":\"a\"}",
      "{\"BS\":[null]}",        "{\"B\":[]}",          "\"x\"",                "[{\"S\":\"a\"}]",
      "{\"M\":{\"a\":\"x\"}}",  "{\"L\":[{\"S\":\"a\"},7]}", "{\"M\":{\"a\":{\"M\":{\"b\":{\"Q\":1}}}}}",
  };
  ddbs_buf out = DDBS_BUF_INIT;
  char err[256];
  for (size_t i = 0; i < COUNT(bad); i++) {
    ddbs_buf_reset(&out);
    ddbs_buf_append_str(&out, "keep");
    json_t *attr = json_loads(bad[i], JSON_DECODE_ANY, NULL);
    CHECK(attr != NULL);
    err[0] = '\0';
    int rc = attr ? ddbs_attr_to_json_text(attr, &out, err, sizeof err) : 0;
    CHECK(rc == DDBS_E_RESPONSE);
    if (rc != DDBS_E_RESPONSE) fprintf(stderr, "    accepted %s\n", bad[i]);
    CHECK(err[0] != '\0');
    CHECK_STREQ(out.data, "keep"); /* a failed call leaves out as it was */
    json_decref(attr);
  }
  CHECK(ddbs_attr_to_json_text(NULL, &out, err, sizeof err) == DDBS_E_RESPONSE);
  json_t *attr = json_loads("{\"Q\":1}", 0, NULL);
  ddbs_attr_to_json_text(attr, &out, err, sizeof err);
  CHECK_STREQ(err, "unknown attribute type tag \"Q\"");
  json_decref(attr);

  /* deep nesting from a server: refused at 64 levels, no stack trouble */
  ddbs_buf deep = DDBS_BUF_INIT;
  for (int i = 0; i < 1000; i++) ddbs_buf_append_str(&deep, "{\"L\":[");
  ddbs_buf_append_str(&deep, "{\"N\":\"1\"}");
  for (int i = 0; i < 1000; i++) ddbs_buf_append_str(&deep, "]}");
  attr = json_loads(deep.data, 0, NULL);
  CHECK(attr != NULL);
  CHECK(ddbs_attr_to_json_text(attr, &out, err, sizeof err) == DDBS_E_RESPONSE);
  CHECK_STREQ(err, "attribute values nest deeper than 64 levels");
  json_decref(attr);
  ddbs_buf_free(&deep);
  ddbs_buf_free(&out);
}

/* ---- item size ------------------------------------------------------------------------- */

static void test_item_size(void) {
  static const struct {
    const char *item;
    size_t want;
  } cases[] = {
      {"{}", 0},
      {"{\"a\":{\"S\":\"hello\"}}", 1 + 5},
      {"{\"a\":{\"S\":\"\xc3\xa9\xf0\x9f\x98\x80\"}}", 1 + 6}, /* UTF-8 bytes */
      {"{\"ab\":{\"S\":\"\"}}", 2},
      {"{\"n\":{\"N\":\"0\"}}", 1 + 1},
      {"{\"n\":{\"N\":\"7\"}}", 1 + 2},
      {"{\"n\":{\"N\":\"12\"}}", 1 + 2},
      {"{\"n\":{\"N\":\"123\"}}", 1 + 3},
      {"{\"n\":{\"N\":\"1.50\"}}", 1 + 2},            /* significant: 15 */
      {"{\"n\":{\"N\":\"-0.000001\"}}", 1 + 2},       /* significant: 1 */
      {"{\"n\":{\"N\":\"1000000\"}}", 1 + 2},         /* significant: 1 */
      {"{\"n\":{\"N\":\"1700000000000\"}}", 1 + 2},   /* significant: 17 */
      {"{\"n\":{\"N\":\"1700000000001\"}}", 1 + 8},   /* 13 significant digits */
      {"{\"n\":{\"N\":\"1.2345E+100\"}}", 1 + 4},
      {"{\"b\":{\"BOOL\":false},\"z\":{\"NULL\":true}}", 2 + 2},
      {"{\"b\":{\"B\":\"QUJD\"}}", 1 + 3},
      {"{\"b\":{\"B\":\"QUI=\"}}", 1 + 2},
      {"{\"b\":{\"B\":\"QQ==\"}}", 1 + 1},
      {"{\"m\":{\"M\":{}}}", 1 + 3},
      {"{\"l\":{\"L\":[]}}", 1 + 3},
      /* 3 + per element 1 + name + value */
      {"{\"m\":{\"M\":{\"ab\":{\"S\":\"xyz\"},\"c\":{\"N\":\"1\"}}}}", 1 + 3 + (1 + 2 + 3) + (1 + 1 + 2)},
      {"{\"l\":{\"L\":[{\"S\":\"xyz\"},{\"BOOL\":true},{\"L\":[]}]}}", 1 + 3 + (1 + 3) + (1 + 1) + (1 + 3)},
      {"{\"s\":{\"SS\":[\"a\",\"bc\"]},\"n\":{\"NS\":[\"1\",\"123\"]},\"b\":{\"BS\":[\"QUJD\",\"QQ==\"]}}",
       (1 + 3) + (1 + 2 + 3) + (1 + 3 + 1)},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    json_t *item = json_loads(cases[i].item, 0, NULL);
    CHECK(item != NULL);
    size_t got = ddbs_item_size(item);
    CHECK(got == cases[i].want);
    if (got != cases[i].want)
      fprintf(stderr, "    %s: got %zu, expected %zu\n", cases[i].item, got, cases[i].want);
    json_decref(item);
  }
  CHECK(ddbs_item_size(NULL) == 0);
}

/* ---- request bodies -------------------------------------------------------------------- */

static void test_bodies(void) {
  ddbs_buf out = DDBS_BUF_INIT;
  char err[256] = "";
  const char *session =
      "{\"count\":1,\"name\":\"x\",\"ok\":true,\"n\":null,\"l\":[1,\"a\",false,{\"k\":[]}],"
      "\"_expire\":1700000000000,\"_maxAge\":86400000,\"f\":0.1,\"big\":1e21,\"e\":\"\",\"o\":{}}";
  /* byte for byte what aws-sdk v2's DocumentClient sends for put/get/delete of the same */
  CHECK(ddbs_body_put_item("sessions", "sessionId", "abc", 3, "expires", 1700000000, session,
                           strlen(session), &out, err, sizeof err) == 0);
  CHECK_STREQ(out.data,
              "{\"TableName\":\"sessions\",\"Item\":{\"sessionId\":{\"S\":\"abc\"},\"session\":{\"M\":{"
              "\"count\":{\"N\":\"1\"},\"name\":{\"S\":\"x\"},\"ok\":{\"BOOL\":true},\"n\":{\"NULL\":true},"
              "\"l\":{\"L\":[{\"N\":\"1\"},{\"S\":\"a\"},{\"BOOL\":false},{\"M\":{\"k\":{\"L\":[]}}}]},"
              "\"_expire\":{\"N\":\"1700000000000\"},\"_maxAge\":{\"N\":\"86400000\"},\"f\":{\"N\":\"0.1\"},"
              "\"big\":{\"N\":\"1e+21\"},\"e\":{\"S\":\"\"},\"o\":{\"M\":{}}}},\"expires\":{\"N\":\"1700000000\"}}}");
  ddbs_buf_reset(&out);
  CHECK(ddbs_body_get_item("sessions", "sessionId", "abc", 3, 1, &out, err, sizeof err) == 0);
  CHECK_STREQ(out.data,
              "{\"TableName\":\"sessions\",\"Key\":{\"sessionId\":{\"S\":\"abc\"}},\"ConsistentRead\":true}");
  ddbs_buf_reset(&out);
  CHECK(ddbs_body_get_item("sessions", "sessionId", "abc", 3, 0, &out, err, sizeof err) == 0);
  CHECK_STREQ(out.data, "{\"TableName\":\"sessions\",\"Key\":{\"sessionId\":{\"S\":\"abc\"}}}");
  ddbs_buf_reset(&out);
  CHECK(ddbs_body_delete_item("sessions", "sessionId", "abc", 3, &out, err, sizeof err) == 0);
  CHECK_STREQ(out.data, "{\"TableName\":\"sessions\",\"Key\":{\"sessionId\":{\"S\":\"abc\"}}}");

  /* no ttl (expires < 0, or no ttl attribute name); a key with quotes, UTF-8 and a NUL;
   * bodies append to what the buffer holds */
  ddbs_buf_reset(&out);
  ddbs_buf_append_str(&out, ">");
  CHECK(ddbs_body_put_item("t", "id", "k\"\xc3\xa9\0z", 6, "exp", -1, "{}", 2, &out, err,
                           sizeof err) == 0);
  CHECK_STREQ(out.data,
              ">{\"TableName\":\"t\",\"Item\":{\"id\":{\"S\":\"k\\\"\xc3\xa9\\u0000z\"},\"session\":{\"M\":{}}}}");
  ddbs_buf_reset(&out);
  CHECK(ddbs_body_put_item("t", "id", "k", 1, NULL, 5, "[]", 2, &out, err, sizeof err) == 0);
  CHECK_STREQ(out.data, "{\"TableName\":\"t\",\"Item\":{\"id\":{\"S\":\"k\"},\"session\":{\"L\":[]}}}");
  ddbs_buf_reset(&out);
  CHECK(ddbs_body_put_item("t", "id", "k", 1, "exp", 0, "{}", 2, &out, err, sizeof err) == 0);
  CHECK_STREQ(out.data,
              "{\"TableName\":\"t\",\"Item\":{\"id\":{\"S\":\"k\"},\"session\":{\"M\":{}},\"exp\":{\"N\":\"0\"}}}");

  /* refused inputs: nothing appended */
  static const struct {
    const char *table, *hash_key, *key;
    size_t key_len;
    const char *ttl_key, *session;
  } bad[] = {
      {"t", "id", "", 0, "exp", "{}"},            /* empty key */
      {"t", "id", "\xff", 1, "exp", "{}"},        /* key not UTF-8 */
      {"t", "id", "\xed\xa0\x80", 3, "exp", "{}"}, /* a surrogate is not UTF-8 */
      {NULL, "id", "k", 1, "exp", "{}"},
      {"", "id", "k", 1, "exp", "{}"},
      {"t", NULL, "k", 1, "exp", "{}"},
      {"t\xff", "id", "k", 1, "exp", "{}"},
      {"t", "session", "k", 1, "exp", "{}"},       /* would collide with the session */
      {"t", "id", "k", 1, "session", "{}"},
      {"t", "id", "k", 1, "id", "{}"},
      {"t", "id", "k", 1, "exp", "{"},
      {"t", "id", "k", 1, "exp", NULL},
  };
  for (size_t i = 0; i < COUNT(bad); i++) {
    ddbs_buf_reset(&out);
    err[0] = '\0';
    int rc = ddbs_body_put_item(bad[i].table, bad[i].hash_key, bad[i].key, bad[i].key_len,
                                bad[i].ttl_key, 100, bad[i].session,
                                bad[i].session ? strlen(bad[i].session) : 0, &out, err, sizeof err);
    CHECK(rc == DDBS_E_INPUT);
    if (rc != DDBS_E_INPUT) fprintf(stderr, "    put case %zu: rc %d\n", i, rc);
    CHECK(out.len == 0);
    CHECK(err[0] != '\0');
  }
  static char long_key[2049];
  memset(long_key, 'k', sizeof long_key);
  CHECK(ddbs_body_get_item("t", "id", long_key, 2049, 0, &out, err, sizeof err) == DDBS_E_INPUT);
  CHECK_STREQ(err, "the session key is 2049 bytes; DynamoDB's partition key limit is 2048 bytes");
  CHECK(ddbs_body_delete_item("t", "id", long_key, 2048, &out, err, sizeof err) == 0);
  CHECK(ddbs_body_delete_item("t", "id", "", 0, &out, err, sizeof err) == DDBS_E_INPUT);
  ddbs_buf_free(&out);
}

static void test_item_size_limit(void) {
  /* item = "sessionId"(9) + "abc"(3) + "session"(7) + M(3 + 1 + "s"(1) + S) + "expires"(7) +
   * N 1700000000 (2 significant digits: 2) = 33 + S bytes */
  const size_t fixed = 33;
  ddbs_buf session = DDBS_BUF_INIT, out = DDBS_BUF_INIT;
  char err[256] = "";
  for (int over = 0; over < 2; over++) {
    size_t s_len = DDBS_MAX_ITEM_SIZE - fixed + (size_t)over;
    ddbs_buf_reset(&session);
    ddbs_buf_append_str(&session, "{\"s\":\"");
    ddbs_buf_reserve(&session, s_len + 2);
    memset(session.data + session.len, 'x', s_len);
    session.len += s_len;
    ddbs_buf_append_str(&session, "\"}");
    ddbs_buf_reset(&out);
    int rc = ddbs_body_put_item("sessions", "sessionId", "abc", 3, "expires", 1700000000,
                                session.data, session.len, &out, err, sizeof err);
    if (!over) {
      CHECK(rc == 0); /* exactly 409600 bytes: accepted */
      CHECK(out.len > DDBS_MAX_ITEM_SIZE);
    } else {
      CHECK(rc == DDBS_E_TOO_LARGE);
      CHECK_STREQ(err, "session item is 409601 bytes; DynamoDB's item limit is 409600 bytes");
      CHECK(out.len == 0);
    }
  }
  /* multi-byte characters count as their UTF-8 bytes: 140000 x U+20AC (3 bytes) = 420000 */
  ddbs_buf_reset(&session);
  ddbs_buf_append_str(&session, "{\"s\":\"");
  for (int i = 0; i < 140000; i++) ddbs_buf_append_str(&session, "\xe2\x82\xac");
  ddbs_buf_append_str(&session, "\"}");
  CHECK(ddbs_body_put_item("sessions", "sessionId", "abc", 3, "expires", 1700000000, session.data,
                           session.len, &out, err, sizeof err) == DDBS_E_TOO_LARGE);
  CHECK_STREQ(err, "session item is 420033 bytes; DynamoDB's item limit is 409600 bytes");
  ddbs_buf_free(&session);
  ddbs_buf_free(&out);
}

/* The PutItem body is written straight from the session; it must hold the same AttributeValue as
 * ddbs_json_text_to_attr gives, and count the same size as ddbs_item_size. */
static void test_put_agrees_with_attr(void) {
  static const char *sessions[] = {
      "{}",
      "{\"a\":[1,0.1,-1.5e-7,1e21,123456789,1.50,-0,true,false,null,\"\",{},[]],\"b\":{\"c\":{\"d\":\"e\"}}}",
      ("{\"\\u0001\\n\\\"\\\\\":\"\\u0000\\u001f\\u007f\\u2028\",\"\xc3\xa9\":\"\\ud83d\\ude00\xe4\xb8\xad\","
       "\"\":[[[[\"deep\"]]]],\"n\":[9007199254740993,1e-130,-9.99999999999999e125,5e-7]}"),
      "[\"top-level array\",2]",
      "\"a string session\"",
      "12.5",
  };
  char err[256] = "";
  ddbs_buf body = DDBS_BUF_INIT, big = DDBS_BUF_INIT;
  for (size_t i = 0; i < COUNT(sessions); i++) {
    const char *sess = sessions[i];
    ddbs_buf_reset(&body);
    CHECK(ddbs_body_put_item("tbl", "hk", "key\xc3\xa9", 5, "ttl", 1234567890123LL, sess, strlen(sess),
                             &body, err, sizeof err) == 0);
    json_t *parsed = json_loads(body.data, JSON_ALLOW_NUL, NULL);
    json_t *attr = ddbs_json_text_to_attr(sess, strlen(sess), err, sizeof err);
    json_t *item = json_object_get(parsed, "Item");
    CHECK(parsed != NULL && attr != NULL);
    CHECK(json_equal(json_object_get(item, "session"), attr));
    CHECK(json_object_size(parsed) == 2 && json_object_size(item) == 3);
    CHECK_STREQ(json_string_value(json_object_get(json_object_get(item, "hk"), "S")), "key\xc3\xa9");
    CHECK_STREQ(json_string_value(json_object_get(json_object_get(item, "ttl"), "N")), "1234567890123");
    size_t want = ddbs_item_size(item);

    /* Make it too large by a known amount: wrap as [filler, session]: + 3 (L) + 1 + filler + 1 */
    size_t filler = DDBS_MAX_ITEM_SIZE;
    ddbs_buf_reset(&big);
    ddbs_buf_append_str(&big, "[\"");
    for (size_t j = 0; j < filler; j++) ddbs_buf_append_char(&big, 'f');
    ddbs_buf_append_str(&big, "\",");
    ddbs_buf_append_str(&big, sess);
    ddbs_buf_append_str(&big, "]");
    ddbs_buf_reset(&body);
    CHECK(ddbs_body_put_item("tbl", "hk", "key\xc3\xa9", 5, "ttl", 1234567890123LL, big.data, big.len,
                             &body, err, sizeof err) == DDBS_E_TOO_LARGE);
    /* the wrapped session's size: the old one's, minus the old session value, plus the list */
    json_t *wrapped = ddbs_json_text_to_attr(big.data, big.len, NULL, 0);
    json_object_set(item, "session", wrapped);
    char expect[160];
    snprintf(expect, sizeof expect, "session item is %zu bytes; DynamoDB's item limit is 409600 bytes",
             ddbs_item_size(item));
    CHECK_STREQ(err, expect);
    CHECK(ddbs_item_size(item) > want + filler);
    json_decref(wrapped);
    json_decref(attr);
    json_decref(parsed);
  }
  ddbs_buf_free(&big);
  ddbs_buf_free(&body);
}

/* ---- responses ------------------------------------------------------------------------- */

static void test_parse_get_item(void) {
  static const struct {
    const char *body, *ttl_key;
    long long now;
    int rc, found;
    const char *want;
  } cases[] = {
      /* found */
      {"{\"Item\":{\"sessionId\":{\"S\":\"abc\"},\"session\":{\"M\":{\"count\":{\"N\":\"1\"},"
       "\"name\":{\"S\":\"x\"}}},\"expires\":{\"N\":\"1700000100\"}}}",
       "expires", 1700000000, 0, 1, "{\"count\":1,\"name\":\"x\"}"},
      /* absent */
      {"{}", "expires", 1700000000, 0, 0, ""},
      {"{\"ConsumedCapacity\":{\"TableName\":\"t\",\"CapacityUnits\":0.5}}", "expires", 0, 0, 0, ""},
      /* expired: ttl <= now */
      {"{\"Item\":{\"session\":{\"M\":{}},\"expires\":{\"N\":\"1700000000\"}}}", "expires",
       1700000000, 0, 0, ""},
      {"{\"Item\":{\"session\":{\"M\":{}},\"expires\":{\"N\":\"1699999999.5\"}}}", "expires",
       1700000000, 0, 0, ""},
      /* not expired */
      {"{\"Item\":{\"session\":{\"M\":{}},\"expires\":{\"N\":\"1700000001\"}}}", "expires",
       1700000000, 0, 1, "{}"},
      {"{\"Item\":{\"session\":{\"M\":{}},\"expires\":{\"N\":\"1.7E+9\"}}}", "expires", 1699999999,
       0, 1, "{}"},
      /* no ttl attribute; or no ttl_key asked for; or a ttl that is not a number (ignored) */
      {"{\"Item\":{\"session\":{\"M\":{\"a\":{\"BOOL\":true}}}}}", "expires", 1700000000, 0, 1,
       "{\"a\":true}"},
      {"{\"Item\":{\"session\":{\"M\":{}},\"expires\":{\"N\":\"1\"}}}", NULL, 1700000000, 0, 1, "{}"},
      {"{\"Item\":{\"session\":{\"M\":{}},\"expires\":{\"S\":\"1\"}}}", "expires", 1700000000, 0, 1,
       "{}"},
      /* no session attribute: the whole item, as an object */
      {"{\"Item\":{\"sessionId\":{\"S\":\"abc\"},\"count\":{\"N\":\"2\"},\"expires\":{\"N\":\"1700000100\"}}}",
       "expires", 1700000000, 0, 1, "{\"sessionId\":\"abc\",\"count\":2,\"expires\":1700000100}"},
      {"{\"Item\":{}}", "expires", 0, 0, 1, "{}"},
      /* a session that is not a map */
      {"{\"Item\":{\"session\":{\"S\":\"a\\u0000\\u00e9\"}}}", "expires", 0, 0, 1, "\"a\\u0000\xc3\xa9\""},
      /* malformed */
      {"{\"Item\":{\"session\":{\"M\":{}}", "expires", 0, DDBS_E_RESPONSE, 0, ""},
      {"", "expires", 0, DDBS_E_RESPONSE, 0, ""},
      {"<html>", "expires", 0, DDBS_E_RESPONSE, 0, ""},
      {"[]", "expires", 0, DDBS_E_RESPONSE, 0, ""},
      {"{\"Item\":[]}", "expires", 0, DDBS_E_RESPONSE, 0, ""},
      {"{\"Item\":null}", "expires", 0, DDBS_E_RESPONSE, 0, ""},
      {"{\"Item\":\"x\"}", "expires", 0, DDBS_E_RESPONSE, 0, ""},
      {"{\"Item\":{\"session\":{\"X\":{}}}}", "expires", 0, DDBS_E_RESPONSE, 0, ""},
      {"{\"Item\":{\"session\":{\"M\":{\"a\":{\"N\":\"abc\"}}}}}", "expires", 0, DDBS_E_RESPONSE, 0, ""},
      {"{\"Item\":{\"session\":{\"M\":{}},\"expires\":{\"N\":\"abc\"}}}", "expires", 0, DDBS_E_RESPONSE, 0, ""},
      {"{\"Item\":{\"session\":{\"M\":{}},\"expires\":\"1\"}}", "expires", 0, DDBS_E_RESPONSE, 0, ""},
      {"{\"Item\":{\"id\":{\"S\":\"a\"},\"bad\":{\"S\":1}}}", "expires", 0, DDBS_E_RESPONSE, 0, ""},
      {"{\"Item\":{\"session\":{\"M\":{\"a\":[]}}}}", "expires", 0, DDBS_E_RESPONSE, 0, ""},
  };
  ddbs_buf out = DDBS_BUF_INIT;
  char err[256];
  for (size_t i = 0; i < COUNT(cases); i++) {
    int found = 7;
    ddbs_buf_reset(&out);
    ddbs_buf_append_str(&out, ""); /* so that out.data is "" rather than NULL */
    err[0] = '\0';
    int rc = ddbs_parse_get_item(cases[i].body, strlen(cases[i].body), cases[i].ttl_key,
                                 cases[i].now, &out, &found, err, sizeof err);
    CHECK(rc == cases[i].rc);
    CHECK(found == cases[i].found);
    CHECK_STREQ(out.data, cases[i].want);
    if (rc != cases[i].rc || found != cases[i].found)
      fprintf(stderr, "    case %zu: rc %d found %d (%s)\n", i, rc, found, err);
    if (rc != 0) CHECK(err[0] != '\0');
  }
  /* deeply nested garbage: 1000 levels of lists inside the session (2000 JSON levels, which
   * jansson parses; the conversion refuses them) */
  ddbs_buf body = DDBS_BUF_INIT;
  ddbs_buf_append_str(&body, "{\"Item\":{\"session\":");
  for (int i = 0; i < 1000; i++) ddbs_buf_append_str(&body, "{\"L\":[");
  for (int i = 0; i < 1000; i++) ddbs_buf_append_str(&body, "]}");
  ddbs_buf_append_str(&body, "}}");
  int found = 7;
  ddbs_buf_reset(&out);
  CHECK(ddbs_parse_get_item(body.data, body.len, "expires", 0, &out, &found, err, sizeof err) ==
        DDBS_E_RESPONSE);
  CHECK(found == 0);
  CHECK(out.len == 0);
  /* nesting past jansson's own parser limit (2048) */
  ddbs_buf_reset(&body);
  for (int i = 0; i < 5000; i++) ddbs_buf_append_char(&body, '[');
  CHECK(ddbs_parse_get_item(body.data, body.len, "expires", 0, &out, &found, err, sizeof err) ==
        DDBS_E_RESPONSE);
  /* a truncated copy of a good body, at every length */
  const char *good = cases[0].body;
  for (size_t n = 0; n < strlen(good); n++) {
    int rc = ddbs_parse_get_item(good, n, "expires", 0, &out, &found, err, sizeof err);
    CHECK(rc == DDBS_E_RESPONSE);
    CHECK(found == 0);
  }
  ddbs_buf_free(&body);
  ddbs_buf_free(&out);
}

static void test_parse_error(void) {
  char code[64], message[128];
  const char *b1 =
      "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException\","
      "\"message\":\"Requested resource not found\"}";
  CHECK(ddbs_parse_error(b1, strlen(b1), code, sizeof code, message, sizeof message) == 0);
  CHECK_STREQ(code, "ResourceNotFoundException");
  CHECK_STREQ(message, "Requested resource not found");
  const char *b2 =
      "{\"__type\":\"com.amazon.coral.service#UnrecognizedClientException\","
      "\"Message\":\"The security token included in the request is invalid.\"}";
  CHECK(ddbs_parse_error(b2, strlen(b2), code, sizeof code, message, sizeof message) == 0);
  CHECK_STREQ(code, "UnrecognizedClientException");
  CHECK_STREQ(message, "The security token included in the request is invalid.");
  const char *b3 = "{\"__type\":\"ThrottlingException\"}"; /* no '#', no message */
  CHECK(ddbs_parse_error(b3, strlen(b3), code, sizeof code, message, sizeof message) == 0);
  CHECK_STREQ(code, "ThrottlingException");
  CHECK_STREQ(message, "");
  const char *b4 = "{\"__type\":\"aws.protocoltests#FooError:http://internal.amazon.com/x\"}";
  CHECK(ddbs_parse_error(b4, strlen(b4), code, sizeof code, message, sizeof message) == 0);
  CHECK_STREQ(code, "FooError");
  /* truncation to the buffers, at a character boundary */
  const char *b5 = "{\"__type\":\"x#ValidationException\",\"message\":\"ab\xc3\xa9\"}";
  char small_code[6], small_msg[4];
  CHECK(ddbs_parse_error(b5, strlen(b5), small_code, sizeof small_code, small_msg, sizeof small_msg) == 0);
  CHECK_STREQ(small_code, "Valid");
  CHECK_STREQ(small_msg, "ab");
  /* garbage */
  static const char *bad[] = {"", "not json", "{\"message\":\"no type\"}", "{\"__type\":5}",
                              "[\"__type\"]", "{\"__type\":\"x\"", "<html>503</html>"};
  for (size_t i = 0; i < COUNT(bad); i++) {
    strcpy(code, "junk");
    strcpy(message, "junk");
    CHECK(ddbs_parse_error(bad[i], strlen(bad[i]), code, sizeof code, message, sizeof message) ==
          DDBS_E_RESPONSE);
    CHECK_STREQ(code, "");
    CHECK_STREQ(message, "");
  }
  CHECK(ddbs_parse_error(NULL, 0, code, sizeof code, message, sizeof message) == DDBS_E_RESPONSE);
}

void suite_ddb_json(void) {
  ctest_run("ddb_json: format_double literals", test_format_double_literals);
  ctest_run("ddb_json: format_double 100000 random doubles", test_format_double_random);
  ctest_run("ddb_json: N texts from the server", test_read_numbers);
  ctest_run("ddb_json: session -> AttributeValue exact", test_session_attr_exact);
  ctest_run("ddb_json: round trips", test_round_trip);
  ctest_run("ddb_json: round trip of control characters and NUL", test_round_trip_controls);
  ctest_run("ddb_json: bad session JSON", test_bad_session_json);
  ctest_run("ddb_json: depth 32 accepted, 33 refused", test_depth_limit);
  ctest_run("ddb_json: numbers DynamoDB cannot store", test_number_range);
  ctest_run("ddb_json: SS NS B BS and key order", test_read_other_types);
  ctest_run("ddb_json: malformed attribute values", test_read_malformed);
  ctest_run("ddb_json: item size", test_item_size);
  ctest_run("ddb_json: request bodies", test_bodies);
  ctest_run("ddb_json: item size limit", test_item_size_limit);
  ctest_run("ddb_json: PutItem body agrees with value_to_attr and item_size", test_put_agrees_with_attr);
  ctest_run("ddb_json: parse GetItem", test_parse_get_item);
  ctest_run("ddb_json: parse error", test_parse_error);
}
