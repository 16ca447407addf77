/* test_ddb_json.c: unit tests for src/ddb_number.c, src/ddb_json.c and src/ddb_ref.c (numbers,
 * session JSON <-> AttributeValue, item size, request bodies, GetItem and error responses, the
 * JSON object check), and the differential tests of the converters against the jansson reference.
 * Expected texts are literals; the DynamoDB bodies were produced by aws-sdk v2's DocumentClient for
 * the same input. */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctest.h"
#include "ddb_json.h"
#include "ddb_json_ref.h"
#include "ddb_number.h"

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

/* The key attribute every Item below carries (the key asked for is "abc"). */
#define ID "\"sessionId\":{\"S\":\"abc\"},"

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
      /* the key attribute anywhere in the item, spelled with escapes, repeated (the last counts) */
      {"{\"Item\":{\"session\":{\"M\":{}}," ID "\"expires\":{\"N\":\"1700000100\"}}}", "expires", 1700000000, 0, 1, "{}"},
      {"{\"Item\":{\"session\":{\"M\":{}},\"sessionId\":{\"S\":\"\\u0061b\\u0063\"}}}", "expires", 0, 0, 1, "{}"},
      {"{\"Item\":{\"session\":{\"M\":{}},\"sessionId\":{\"S\":\"x\"}," ID "\"z\":{\"N\":\"1\"}}}", "expires", 0, 0, 1, "{}"},
      {"{\"Item\":{\"session\":{\"M\":{}},\"sessionId\":{\"S\":\"x\",\"S\":\"abc\"}}}", "expires", 0, 0, 1, "{}"},
      /* absent */
      {"{}", "expires", 1700000000, 0, 0, ""},
      {"{\"ConsumedCapacity\":{\"TableName\":\"t\",\"CapacityUnits\":0.5}}", "expires", 0, 0, 0, ""},
      /* expired: ttl <= now */
      {"{\"Item\":{" ID "\"session\":{\"M\":{}},\"expires\":{\"N\":\"1700000000\"}}}", "expires",
       1700000000, 0, 0, ""},
      {"{\"Item\":{" ID "\"session\":{\"M\":{}},\"expires\":{\"N\":\"1699999999.5\"}}}", "expires",
       1700000000, 0, 0, ""},
      /* not expired */
      {"{\"Item\":{" ID "\"session\":{\"M\":{}},\"expires\":{\"N\":\"1700000001\"}}}", "expires",
       1700000000, 0, 1, "{}"},
      {"{\"Item\":{" ID "\"session\":{\"M\":{}},\"expires\":{\"N\":\"1.7E+9\"}}}", "expires", 1699999999,
       0, 1, "{}"},
      /* no ttl attribute; or no ttl_key asked for; or a ttl that is not a number (ignored) */
      {"{\"Item\":{" ID "\"session\":{\"M\":{\"a\":{\"BOOL\":true}}}}}", "expires", 1700000000, 0, 1,
       "{\"a\":true}"},
      {"{\"Item\":{" ID "\"session\":{\"M\":{}},\"expires\":{\"N\":\"1\"}}}", NULL, 1700000000, 0, 1, "{}"},
      {"{\"Item\":{" ID "\"session\":{\"M\":{}},\"expires\":{\"S\":\"1\"}}}", "expires", 1700000000, 0, 1,
       "{}"},
      /* no session attribute: the whole item, as an object */
      {"{\"Item\":{\"sessionId\":{\"S\":\"abc\"},\"count\":{\"N\":\"2\"},\"expires\":{\"N\":\"1700000100\"}}}",
       "expires", 1700000000, 0, 1, "{\"sessionId\":\"abc\",\"count\":2,\"expires\":1700000100}"},
      {"{\"Item\":{\"sessionId\":{\"S\":\"abc\"}}}", "expires", 0, 0, 1, "{\"sessionId\":\"abc\"}"},
      /* a session that is not a map */
      {"{\"Item\":{" ID "\"session\":{\"S\":\"a\\u0000\\u00e9\"}}}", "expires", 0, 0, 1, "\"a\\u0000\xc3\xa9\""},
      /* for another key: missing, another value, another type, a prefix, one more character, not an
       * attribute value; even when expired or malformed otherwise (the key is checked first) */
      {"{\"Item\":{}}", "expires", 0, DDBS_E_MISMATCH, 0, ""},
      {"{\"Item\":{\"session\":{\"M\":{}}}}", "expires", 0, DDBS_E_MISMATCH, 0, ""},
      {"{\"Item\":{\"sessionId\":{\"S\":\"abd\"},\"session\":{\"M\":{}}}}", "expires", 0, DDBS_E_MISMATCH, 0, ""},
      {"{\"Item\":{\"sessionId\":{\"N\":\"1\"},\"session\":{\"M\":{}}}}", "expires", 0, DDBS_E_MISMATCH, 0, ""},
      {"{\"Item\":{\"sessionId\":{\"S\":\"ab\"},\"session\":{\"M\":{}}}}", "expires", 0, DDBS_E_MISMATCH, 0, ""},
      {"{\"Item\":{\"sessionId\":{\"S\":\"abcd\"},\"session\":{\"M\":{}}}}", "expires", 0, DDBS_E_MISMATCH, 0, ""},
      {"{\"Item\":{\"sessionId\":{\"S\":\"ABC\"},\"session\":{\"M\":{}}}}", "expires", 0, DDBS_E_MISMATCH, 0, ""},
      {"{\"Item\":{\"sessionId\":\"abc\",\"session\":{\"M\":{}}}}", "expires", 0, DDBS_E_MISMATCH, 0, ""},
      {"{\"Item\":{\"sessionId\":{\"S\":\"abc\",\"N\":\"1\"},\"session\":{\"M\":{}}}}", "expires", 0, DDBS_E_MISMATCH, 0, ""},
      {"{\"Item\":{\"sessionId\":{\"S\":\"abc\"},\"sessionId\":{\"S\":\"x\"},\"session\":{\"M\":{}}}}", "expires", 0,
       DDBS_E_MISMATCH, 0, ""},
      {"{\"Item\":{\"SessionId\":{\"S\":\"abc\"},\"session\":{\"M\":{}}}}", "expires", 0, DDBS_E_MISMATCH, 0, ""},
      {"{\"Item\":{\"sessionId\":{\"S\":\"x\"},\"session\":{\"M\":{}},\"expires\":{\"N\":\"1\"}}}", "expires",
       1700000000, DDBS_E_MISMATCH, 0, ""},
      {"{\"Item\":{\"sessionId\":{\"S\":\"x\"},\"session\":{\"X\":{}}}}", "expires", 0, DDBS_E_MISMATCH, 0, ""},
      /* malformed */
      {"{\"Item\":{" ID "\"session\":{\"M\":{}}", "expires", 0, DDBS_E_RESPONSE, 0, ""},
      {"", "expires", 0, DDBS_E_RESPONSE, 0, ""},
      {"<html>", "expires", 0, DDBS_E_RESPONSE, 0, ""},
      {"[]", "expires", 0, DDBS_E_RESPONSE, 0, ""},
      {"{\"Item\":[]}", "expires", 0, DDBS_E_RESPONSE, 0, ""},
      {"{\"Item\":null}", "expires", 0, DDBS_E_RESPONSE, 0, ""},
      {"{\"Item\":\"x\"}", "expires", 0, DDBS_E_RESPONSE, 0, ""},
      {"{\"Item\":{\"sessionId\":{\"S\":\"x\"}}} x", "expires", 0, DDBS_E_RESPONSE, 0, ""}, /* (syntax first) */
      {"{\"Item\":{" ID "\"session\":{\"X\":{}}}}", "expires", 0, DDBS_E_RESPONSE, 0, ""},
      {"{\"Item\":{" ID "\"session\":{\"M\":{\"a\":{\"N\":\"abc\"}}}}}", "expires", 0, DDBS_E_RESPONSE, 0, ""},
      {"{\"Item\":{" ID "\"session\":{\"M\":{}},\"expires\":{\"N\":\"abc\"}}}", "expires", 0, DDBS_E_RESPONSE, 0, ""},
      {"{\"Item\":{" ID "\"session\":{\"M\":{}},\"expires\":\"1\"}}", "expires", 0, DDBS_E_RESPONSE, 0, ""},
      {"{\"Item\":{" ID "\"bad\":{\"S\":1}}}", "expires", 0, DDBS_E_RESPONSE, 0, ""},
      {"{\"Item\":{" ID "\"session\":{\"M\":{\"a\":[]}}}}", "expires", 0, DDBS_E_RESPONSE, 0, ""},
  };
  ddbs_buf out = DDBS_BUF_INIT;
  char err[256];
  for (size_t i = 0; i < COUNT(cases); i++) {
    int found = 7;
    ddbs_buf_reset(&out);
    ddbs_buf_append_str(&out, ""); /* so that out.data is "" rather than NULL */
    err[0] = '\0';
    int rc = ddbs_parse_get_item(cases[i].body, strlen(cases[i].body), "sessionId", "abc", 3, cases[i].ttl_key,
                                 cases[i].now, NULL, NULL, &out, &found, err, sizeof err);
    CHECK(rc == cases[i].rc);
    CHECK(found == cases[i].found);
    CHECK_STREQ(out.data, cases[i].want);
    if (rc != cases[i].rc || found != cases[i].found)
      fprintf(stderr, "    case %zu: rc %d found %d (%s)\n", i, rc, found, err);
    if (rc != 0) CHECK(err[0] != '\0' && !strchr(err, '\n'));
    if (rc == DDBS_E_MISMATCH) { /* says so, and never shows a key */
      CHECK(strstr(err, "the answer is for another key") != NULL);
      CHECK(!strstr(err, "abc") && !strstr(err, "abd") && !strstr(err, "\"x\""));
    }
    /* the reference agrees */
    int ref_found = 7;
    ddbs_buf_reset(&out);
    int ref_rc = ddbs_ref_parse_get_item(cases[i].body, strlen(cases[i].body), "sessionId", "abc", 3,
                                         cases[i].ttl_key, cases[i].now, NULL, NULL, &out, &ref_found, err, sizeof err);
    CHECK(ref_rc == cases[i].rc);
    CHECK(ref_found == cases[i].found);
  }
  /* deeply nested garbage: 1000 levels of lists inside the session (2000 JSON levels, which
   * jansson parses; the conversion refuses them) */
  ddbs_buf body = DDBS_BUF_INIT;
  ddbs_buf_append_str(&body, "{\"Item\":{" ID "\"session\":");
  for (int i = 0; i < 1000; i++) ddbs_buf_append_str(&body, "{\"L\":[");
  for (int i = 0; i < 1000; i++) ddbs_buf_append_str(&body, "]}");
  ddbs_buf_append_str(&body, "}}");
  int found = 7;
  ddbs_buf_reset(&out);
  CHECK(ddbs_parse_get_item(body.data, body.len, "sessionId", "abc", 3, "expires", 0, NULL, NULL, &out, &found, err,
                            sizeof err) == DDBS_E_RESPONSE);
  CHECK(found == 0);
  CHECK(out.len == 0);
  /* nesting past jansson's own parser limit (2048) */
  ddbs_buf_reset(&body);
  for (int i = 0; i < 5000; i++) ddbs_buf_append_char(&body, '[');
  CHECK(ddbs_parse_get_item(body.data, body.len, "sessionId", "abc", 3, "expires", 0, NULL, NULL, &out, &found, err,
                            sizeof err) == DDBS_E_RESPONSE);
  /* a truncated copy of a good body, at every length */
  const char *good = cases[0].body;
  for (size_t n = 0; n < strlen(good); n++) {
    int rc = ddbs_parse_get_item(good, n, "sessionId", "abc", 3, "expires", 0, NULL, NULL, &out, &found, err, sizeof err);
    CHECK(rc == DDBS_E_RESPONSE);
    CHECK(found == 0);
  }
  /* the key is compared byte for byte, NUL and UTF-8 included */
  const char *nul_key = "{\"Item\":{\"id\":{\"S\":\"k\\u0000\xc3\xa9\"},\"session\":{\"M\":{}}}}";
  CHECK(ddbs_parse_get_item(nul_key, strlen(nul_key), "id", "k\0\xc3\xa9", 4, NULL, 0, NULL, NULL, &out, &found, err,
                            sizeof err) == 0 && found == 1);
  CHECK(ddbs_parse_get_item(nul_key, strlen(nul_key), "id", "k", 1, NULL, 0, NULL, NULL, &out, &found, err, sizeof err) ==
        DDBS_E_MISMATCH);
  CHECK(ddbs_parse_get_item(nul_key, strlen(nul_key), "id", "k\0\xc3\xa9x", 5, NULL, 0, NULL, NULL, &out, &found, err,
                            sizeof err) == DDBS_E_MISMATCH);
  ddbs_buf_free(&body);
  ddbs_buf_free(&out);
}

/* Bad arguments to the GetItem readers: DDBS_E_INPUT from each of them, before the body is read. */
static void test_parse_get_item_args(void) {
  static const struct {
    const char *hash_key, *key;
    size_t key_len;
    const char *ttl_key;
  } bad[] = {
      {NULL, "abc", 3, "expires"},      {"", "abc", 3, "expires"},     {"sessionId", NULL, 0, "expires"},
      {"sessionId", "", 0, "expires"},  {"sessionId", "\xff", 1, NULL}, {"session", "abc", 3, "expires"},
      {"sessionId", "abc", 3, "session"}, {"sessionId", "abc", 3, "sessionId"}, {"sessionId", "abc", 3, ""},
      {"id\xff", "abc", 3, NULL},
  };
  const char *body = "{\"Item\":{\"sessionId\":{\"S\":\"abc\"},\"session\":{\"M\":{}}}}";
  ddbs_buf out = DDBS_BUF_INIT;
  char err[256];
  for (size_t i = 0; i < COUNT(bad); i++) {
    int found = 7;
    err[0] = '\0';
    int rc = ddbs_parse_get_item(body, strlen(body), bad[i].hash_key, bad[i].key, bad[i].key_len, bad[i].ttl_key,
                                 0, NULL, NULL, &out, &found, err, sizeof err);
    CHECK(rc == DDBS_E_INPUT && found == 0 && out.len == 0 && err[0]);
    if (rc != DDBS_E_INPUT) fprintf(stderr, "    args case %zu: rc %d\n", i, rc);
    CHECK(ddbs_ref_parse_get_item(body, strlen(body), bad[i].hash_key, bad[i].key, bad[i].key_len, bad[i].ttl_key,
                                  0, NULL, NULL, &out, &found, err, sizeof err) == DDBS_E_INPUT);
    CHECK(ddbs_twopass_parse_get_item(body, strlen(body), bad[i].hash_key, bad[i].key, bad[i].key_len,
                                      bad[i].ttl_key, 0, NULL, NULL, &out, &found, err, sizeof err) == DDBS_E_INPUT);
  }
  int found = 7;
  CHECK(ddbs_parse_get_item(NULL, 0, "sessionId", "abc", 3, NULL, 0, NULL, NULL, &out, &found, err, sizeof err) ==
        DDBS_E_RESPONSE);
  CHECK(ddbs_parse_get_item(body, strlen(body), "sessionId", "abc", 3, NULL, 0, NULL, NULL, &out, &found, err, sizeof err) == 0);
  CHECK(found == 1);
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
                              "[\"__type\"]", "{\"__type\":\"x\"", "<html>503</html>",
                              /* a type that names no code */
                              "{\"__type\":\"\",\"message\":\"m\"}", "{\"__type\":\"a.b#\"}", "{\"__type\":\":x#y\"}"};
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

/* ---- the converters vs the reference (ddb_json_ref.h) ----------------------------------- */

/* A separate generator state, so that these tests' inputs do not depend on the tests above. */
static uint64_t gen_state;
static uint64_t gen_next(void) {
  uint64_t x = gen_state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return gen_state = x;
}
static unsigned gen_below(unsigned n) { return (unsigned)(gen_next() % n); }

/* How many random inputs a differential test tries: dflt, or DDBS_DIFF_ROUNDS from the
 * environment (for long runs: DDBS_DIFF_ROUNDS=1000000 build/run_tests). */
static int diff_rounds(int dflt) {
  const char *e = getenv("DDBS_DIFF_ROUNDS");
  int n = e ? atoi(e) : 0;
  return n > 0 ? n : dflt;
}
static int gen_chance(unsigned percent) { return gen_below(100) < percent; }

/* Generator modes. CLEAN: what JSON.stringify or DynamoDB send (the one pass must take all of
 * it). ODD: valid but unusual spellings (whitespace, escapes, numbers in other forms, duplicate
 * keys). BAD: also malformed pieces. */
enum { GEN_CLEAN, GEN_ODD, GEN_BAD };

static void gen_ws(ddbs_buf *b, int mode) {
  static const char *ws[] = {" ", "\n", "\t", "\r\n", "  "};
  if (mode != GEN_CLEAN && gen_chance(15)) ddbs_buf_append_str(b, ws[gen_below(COUNT(ws))]);
}

/* A JSON string token. */
static void gen_string_opt(ddbs_buf *b, int mode, const char *key);
static void gen_string(ddbs_buf *b, int mode) { gen_string_opt(b, mode, NULL); }

/* key: a prefix that makes the string a distinct key; and no U+0000 (jansson cannot hold it in
 * an object key) */
static void gen_string_opt(ddbs_buf *b, int mode, const char *key) {
  static const char *clean[] = {
      "a", "b", "Z", "0", " ", "_", "-", "/", "~", "\x7f", "\\\"", "\\\\", "\\n", "\\t", "\\r", "\\b",
      "\\f", "\\u0000", "\\u0001", "\\u001f", "\\u000b", "\xc3\xa9", "\xe4\xb8\xad", "\xf0\x9f\x98\x80",
      "\xe2\x80\xa8", "\xef\xbf\xbf", "\xc2\x80", "<", "&", "'"};
  static const char *odd[] = {"\\/", "\\u00e9", "\\u00E9", "\\u4e2d", "\\ud83d\\ude00", "\\uD83D\\uDE00",
                              "\\u0041", "\\u001F", "\\u0008", "\\u000a", "\\u000A", "\\u007f", "\\u2028",
                              "\\uffff", "\\u0080"};
  static const char *bad[] = {"\\ud800", "\\udc00", "\\ud800\\u0041", "\xff", "\xc0\x80", "\xed\xa0\x80",
                              "\xf4\x90\x80\x80", "\xe4\xb8", "\x01", "\\x", "\\u12", "\\"};
  unsigned n = gen_chance(5) ? gen_below(300) : gen_below(12);
  ddbs_buf_append_char(b, '"');
  if (key) ddbs_buf_append_str(b, key);
  for (unsigned i = 0; i < n; i++) {
    if (mode >= GEN_ODD && gen_chance(8)) ddbs_buf_append_str(b, odd[gen_below(COUNT(odd))]);
    else if (mode == GEN_BAD && gen_chance(1)) ddbs_buf_append_str(b, bad[gen_below(COUNT(bad))]);
    else if (gen_chance(70)) ddbs_buf_append_char(b, (char)('a' + gen_below(26)));
    else {
      const char *piece = clean[gen_below(COUNT(clean))];
      ddbs_buf_append_str(b, key && strcmp(piece, "\\u0000") == 0 ? "\\u0002" : piece);
    }
  }
  if (!(mode == GEN_BAD && gen_chance(1))) ddbs_buf_append_char(b, '"');
}

/* A double of one of the kinds sessions hold. */
static double gen_double(void) {
  uint64_t bits = gen_next();
  double d;
  switch (gen_below(10)) {
    case 0: return (double)(int)gen_below(1000) - 100;
    case 1: return (double)(gen_next() >> gen_below(64));                  /* integers up to 2^64 */
    case 2: return 1700000000000.0 + gen_below(100000000);                 /* timestamps */
    case 3: return (double)(gen_next() >> 11) / 9007199254740992.0;        /* Math.random() */
    case 4: return (double)gen_below(100000) / 100.0;                      /* prices */
    case 5: /* magnitudes 1e-10 .. 1e25 */
      bits = (bits & 0x800FFFFFFFFFFFFFull) | ((uint64_t)(1023 - 34 + (int)gen_below(118)) << 52);
      break;
    case 6: /* anywhere in DynamoDB's range */
      bits = (bits & 0x800FFFFFFFFFFFFFull) | ((uint64_t)(1023 - 430 + (int)gen_below(845)) << 52);
      break;
    case 7: /* powers of two (lopsided rounding intervals) */
      bits = (uint64_t)(1023 - 80 + (int)gen_below(160)) << 52;
      break;
    case 8: { /* powers of ten (the test binary does not link libm) */
      char t[16];
      snprintf(t, sizeof t, "%se%d", gen_chance(50) ? "1" : "-1", (int)gen_below(60) - 30);
      return strtod(t, NULL);
    }
    default: break; /* any bits */
  }
  memcpy(&d, &bits, sizeof d);
  return d;
}

/* A JSON number token (as JSON.stringify writes it in CLEAN mode). */
static void gen_number(ddbs_buf *b, int mode) {
  static const char *odd[] = {"1.50", "1E2", "1e2", "-0", "0.0", "1e-7", "1E+21", "100e-2", "0e0",
                              "-0.0e5", "1.0000000000000001", "0.30000000000000001",
                              "123456789012345678901234567890", "1e+0", "0.1e1", "1e-6", "1e21",
                              "99999999999999999999e-20", "5e-324", "1e400", "-1e400", "1e-400",
                              "1e126", "1e-131", "9.99999999999999999e125", "1.7976931348623157e308",
                              "0.000001", "0.0000001", "123456789012345680000", "1e+21"};
  static const char *bad[] = {"01", "1.", ".5", "+1", "-", "1e", "1e+", "NaN", "Infinity", "0x10", "--1"};
  if (mode == GEN_BAD && gen_chance(2)) {
    ddbs_buf_append_str(b, bad[gen_below(COUNT(bad))]);
    return;
  }
  if (mode >= GEN_ODD && gen_chance(15)) {
    ddbs_buf_append_str(b, odd[gen_below(COUNT(odd))]);
    return;
  }
  double d;
  char text[32];
  do d = gen_double();
  while (!isfinite(d) || (d != 0 && (fabs(d) >= 1e126 || fabs(d) < 1e-130)));
  ddbs_format_double(d, text);
  ddbs_buf_append_str(b, text);
}

/* A session value at depth (the session itself is 1). */
static void gen_session_value(ddbs_buf *b, int depth, int mode) {
  unsigned kind = gen_below(depth > 6 ? 6 : 9);
  if (mode == GEN_BAD && depth < 40 && gen_chance(2)) kind = 7 + gen_below(2); /* deep */
  gen_ws(b, mode);
  switch (kind) {
    case 0: case 1: gen_string(b, mode); break;
    case 2: case 3: gen_number(b, mode); break;
    case 4: ddbs_buf_append_str(b, gen_chance(50) ? "true" : "false"); break;
    case 5: ddbs_buf_append_str(b, "null"); break;
    case 6:
    case 7: { /* object */
      unsigned n = gen_below(depth == 1 ? 12 : 6);
      char keys[12][16];
      ddbs_buf_append_char(b, '{');
      for (unsigned i = 0; i < n; i++) {
        if (i) ddbs_buf_append_char(b, ',');
        gen_ws(b, mode);
        if (mode >= GEN_ODD && gen_chance(10)) {
          char prefix[16];
          snprintf(prefix, sizeof prefix, "k%u", i);
          gen_string_opt(b, mode, mode == GEN_BAD ? "" : prefix);
          snprintf(keys[i], sizeof keys[i], "k%u", i); /* (a repeat of it is then just "k<i>") */
        } else { /* distinct keys, unless a duplicate is wanted */
          unsigned pick = (mode >= GEN_ODD && i && gen_chance(5)) ? gen_below(i) : i;
          if (pick == i) snprintf(keys[i], sizeof keys[i], "k%u%c", i, 'a' + (char)gen_below(26));
          else memcpy(keys[i], keys[pick], sizeof keys[i]);
          ddbs_buf_printf(b, "\"%s\"", keys[i]);
        }
        gen_ws(b, mode);
        ddbs_buf_append_char(b, ':');
        gen_session_value(b, depth + 1, mode);
      }
      gen_ws(b, mode);
      ddbs_buf_append_char(b, '}');
      break;
    }
    default: { /* array */
      unsigned n = gen_below(6);
      ddbs_buf_append_char(b, '[');
      for (unsigned i = 0; i < n; i++) {
        if (i) ddbs_buf_append_char(b, ',');
        gen_session_value(b, depth + 1, mode);
      }
      gen_ws(b, mode);
      ddbs_buf_append_char(b, ']');
      break;
    }
  }
  gen_ws(b, mode);
}

static void show_diff(const char *what, const char *input, size_t len, const ddbs_buf *a, const ddbs_buf *b) {
  size_t i = 0;
  while (i < a->len && i < b->len && a->data[i] == b->data[i]) i++;
  fprintf(stderr, "    %s differ at byte %zu\n      input: %.*s\n      ours:  %.200s\n      ref:   %.200s\n",
          what, i, (int)(len > 300 ? 300 : len), input, a->data ? a->data + (i > 40 ? i - 40 : 0) : "(null)",
          b->data ? b->data + (i > 40 ? i - 40 : 0) : "(null)");
}

/* Does one implementation's result (rc, found, output, error) agree with the reference's? The
 * same code, *found and bytes; on failure a one-line reason, the same as the reference's when it
 * holds the item size (DDBS_E_TOO_LARGE). Prints and returns 1 when not. */
static int disagrees(const char *who, const char *input, size_t len, int rc, int found, const ddbs_buf *out,
                     const char *err, int r_ref, int f_ref, const ddbs_buf *ref, const char *e_ref) {
  int bad = rc != r_ref || found != f_ref || out->len != ref->len || memcmp(out->data, ref->data, ref->len) != 0;
  if (rc != 0 && (!err[0] || strchr(err, '\n'))) bad = 1;
  if (rc == DDBS_E_TOO_LARGE && strcmp(err, e_ref) != 0) bad = 1;
  if (bad) {
    fprintf(stderr, "    %s: rc %d found %d (%s), reference rc %d found %d (%s)\n", who, rc, found, err, r_ref,
            f_ref, e_ref);
    show_diff(who, input, len, out, ref);
  }
  return bad;
}

/* Runs one session through the public, the one-pass, the two-pass and the reference PutItem;
 * returns the one-pass rc. */
static int put_differential(const char *sess, size_t len, int *failures) {
  ddbs_buf pub = DDBS_BUF_INIT, one = DDBS_BUF_INIT, two = DDBS_BUF_INIT, ref = DDBS_BUF_INIT;
  char e_pub[256] = "", e_one[256] = "", e_two[256] = "", e_ref[256] = "";
  ddbs_buf_append_str(&pub, "<");
  ddbs_buf_append_str(&one, "<");
  ddbs_buf_append_str(&two, "<");
  ddbs_buf_append_str(&ref, "<");
#define PUT_ARGS "sessions", "sessionId", "k\xc3\xa9y", 4, "expires", 1700000000, sess, len
  int r_pub = ddbs_body_put_item(PUT_ARGS, &pub, e_pub, sizeof e_pub);
  int r_one = ddbs_onepass_body_put_item(PUT_ARGS, &one, e_one, sizeof e_one);
  int r_two = ddbs_twopass_body_put_item(PUT_ARGS, &two, e_two, sizeof e_two);
  int r_ref = ddbs_ref_body_put_item(PUT_ARGS, &ref, e_ref, sizeof e_ref);
#undef PUT_ARGS
  int bad = disagrees("put (public)", sess, len, r_pub, 0, &pub, e_pub, r_ref, 0, &ref, e_ref) +
            disagrees("put (two pass)", sess, len, r_two, 0, &two, e_two, r_ref, 0, &ref, e_ref);
  if (r_one == DDBS_ONEPASS_DECLINED) {
    if (one.len != 1 || e_one[0]) bad++, fprintf(stderr, "    put: declined but changed its output\n");
  } else {
    bad += disagrees("put (one pass)", sess, len, r_one, 0, &one, e_one, r_ref, 0, &ref, e_ref);
  }
  *failures += bad != 0;
  ddbs_buf_free(&pub);
  ddbs_buf_free(&one);
  ddbs_buf_free(&two);
  ddbs_buf_free(&ref);
  return r_one;
}

static void test_put_differential(void) {
  ddbs_buf sess = DDBS_BUF_INIT;
  int failures = 0, declined[3] = {0, 0, 0}, runs[3] = {0, 0, 0};
  gen_state = 0x243F6A8885A308D3ull;
  for (int i = 0, n = diff_rounds(12000); i < n && failures < 5; i++) {
    int mode = i % 3;
    ddbs_buf_reset(&sess);
    gen_session_value(&sess, 1, mode);
    int rc = put_differential(sess.data, sess.len, &failures);
    if (i % 400 == 0) { /* too large, with the size in the message: the two sizes must agree */
      ddbs_buf big = DDBS_BUF_INIT;
      ddbs_buf_append_str(&big, "[\"");
      ddbs_buf_reserve(&big, DDBS_MAX_ITEM_SIZE);
      memset(big.data + big.len, 'f', DDBS_MAX_ITEM_SIZE - 100);
      big.len += DDBS_MAX_ITEM_SIZE - 100;
      ddbs_buf_append_str(&big, "\",");
      ddbs_buf_append(&big, sess.data, sess.len);
      ddbs_buf_append_str(&big, "]");
      put_differential(big.data, big.len, &failures);
      ddbs_buf_free(&big);
    }
    runs[mode]++;
    if (rc == DDBS_ONEPASS_DECLINED) declined[mode]++;
    if (mode == GEN_CLEAN && rc == DDBS_ONEPASS_DECLINED && declined[mode] <= 3)
      fprintf(stderr, "    the one pass declined a clean session: %.300s\n", sess.data);
  }
  printf("# put: %d/%d clean, %d/%d odd, %d/%d bad sessions left to the two-pass converter\n", declined[0], runs[0],
         declined[1], runs[1], declined[2], runs[2]);
  CHECK(failures == 0);
  CHECK(declined[GEN_CLEAN] == 0);
  ddbs_buf_free(&sess);
}

/* A DynamoDB N text: DynamoDB's normalized spelling, or (ODD) another one. */
static void gen_n_text(ddbs_buf *b, int mode) {
  static const char *odd[] = {"1.50", "1E+2", "1e2", "-0", "0.0", "0.0000001", "1000000000000000000000",
                              "12345678901234567890123456789012345678", "9.9999999999999999999999999999999999999E+125",
                              "1E-130", "+5", ".5", "5.", "007", "1e400", "-1E-400", "0.30000000000000001",
                              "\\u0031", "1\\u0000", "1 ", "abc", ""};
  if (mode >= GEN_ODD && gen_chance(15)) {
    const char *t = odd[gen_below(COUNT(odd))];
    if (mode == GEN_ODD && (strcmp(t, "abc") == 0 || strcmp(t, "") == 0 || strcmp(t, "1 ") == 0 ||
                            strcmp(t, "1\\u0000") == 0 || strstr(t, "400")))
      t = "2.50";
    ddbs_buf_printf(b, "\"%s\"", t);
    return;
  }
  ddbs_buf_append_char(b, '"');
  gen_number(b, GEN_CLEAN);
  ddbs_buf_append_char(b, '"');
}

/* An AttributeValue at depth (1: a top-level attribute). */
static void gen_attr(ddbs_buf *b, int depth, int mode) {
  static const char *b64[] = {"\"\"", "\"QQ==\"", "\"QUI=\"", "\"QUJD\"", "\"AAECAwQF/+8=\""};
  unsigned kind = gen_below(depth > 5 ? 7 : 10);
  gen_ws(b, mode);
  if (mode == GEN_BAD && gen_chance(2)) {
    static const char *bad[] = {"{}", "{\"S\":1}", "{\"X\":\"1\"}", "{\"S\":\"a\",\"N\":\"1\"}", "{\"BOOL\":\"true\"}",
                                "{\"NULL\":false}", "{\"SS\":[1]}", "{\"M\":[]}", "{\"L\":{}}", "[]", "\"x\"",
                                "{\"N\":\"abc\"}", "{\"S\":\"a\",\"S\":\"b\"}", "{\"\\u0053\":\"a\"}", "{\"s\":\"a\"}",
                                "{\"NULL\":true,\"NULL\":true}", "{\"B\":[]}", "{\"NS\":[\"1\",\"x\"]}"};
    ddbs_buf_append_str(b, bad[gen_below(COUNT(bad))]);
    return;
  }
  ddbs_buf_append_char(b, '{');
  gen_ws(b, mode);
  switch (kind) {
    case 0: case 1: ddbs_buf_append_str(b, "\"S\":"); gen_ws(b, mode); gen_string(b, mode == GEN_BAD ? GEN_ODD : mode); break;
    case 2: case 3: ddbs_buf_append_str(b, "\"N\":"); gen_ws(b, mode); gen_n_text(b, mode); break;
    case 4: ddbs_buf_append_str(b, gen_chance(50) ? "\"BOOL\":true" : "\"BOOL\":false"); break;
    case 5: ddbs_buf_append_str(b, "\"NULL\":true"); break;
    case 6: ddbs_buf_printf(b, "\"B\":%s", b64[gen_below(COUNT(b64))]); break;
    case 7: { /* M */
      unsigned n = gen_below(depth == 0 ? 10 : 6);
      ddbs_buf_append_str(b, "\"M\":{");
      for (unsigned i = 0; i < n; i++) {
        if (i) ddbs_buf_append_char(b, ',');
        gen_ws(b, mode);
        char prefix[16];
        snprintf(prefix, sizeof prefix, "m%u", i);
        if (gen_chance(20)) gen_string_opt(b, mode == GEN_BAD ? GEN_ODD : mode, mode == GEN_BAD ? "" : prefix);
        else ddbs_buf_printf(b, "\"%s\"", prefix);
        gen_ws(b, mode);
        ddbs_buf_append_char(b, ':');
        gen_attr(b, depth + 1, mode);
      }
      ddbs_buf_append_char(b, '}');
      break;
    }
    case 8: { /* L */
      unsigned n = gen_below(6);
      ddbs_buf_append_str(b, "\"L\":[");
      for (unsigned i = 0; i < n; i++) {
        if (i) ddbs_buf_append_char(b, ',');
        gen_attr(b, depth + 1, mode);
      }
      ddbs_buf_append_char(b, ']');
      break;
    }
    default: { /* SS NS BS */
      unsigned which = gen_below(3), n = 1 + gen_below(4);
      ddbs_buf_append_str(b, which == 0 ? "\"SS\":[" : which == 1 ? "\"NS\":[" : "\"BS\":[");
      for (unsigned i = 0; i < n; i++) {
        if (i) ddbs_buf_append_char(b, ',');
        gen_ws(b, mode);
        if (which == 0) gen_string(b, mode == GEN_BAD ? GEN_ODD : mode);
        else if (which == 1) gen_n_text(b, mode);
        else ddbs_buf_append_str(b, b64[gen_below(COUNT(b64))]);
      }
      ddbs_buf_append_char(b, ']');
      break;
    }
  }
  gen_ws(b, mode);
  ddbs_buf_append_char(b, '}');
}

/* A GetItem answer: Item (or not) with the attributes in any order, ConsumedCapacity (or not). */
static void gen_answer(ddbs_buf *b, int mode, long long now) {
  int parts[6], np = 0, has_item = !gen_chance(5);
  ddbs_buf_append_char(b, '{');
  gen_ws(b, mode);
  if (has_item) parts[np++] = 0;
  if (gen_chance(30)) parts[np++] = 1;
  for (int i = np - 1; i > 0; i--) { /* shuffle */
    int j = (int)gen_below((unsigned)i + 1), t = parts[i];
    parts[i] = parts[j], parts[j] = t;
  }
  for (int p = 0; p < np; p++) {
    if (p) ddbs_buf_append_char(b, ',');
    gen_ws(b, mode);
    if (parts[p] == 1) {
      ddbs_buf_append_str(b, "\"ConsumedCapacity\":{\"TableName\":\"sessions\",\"CapacityUnits\":0.5,\"x\":[1,-2e3,true,null,{}]}");
      continue;
    }
    int attrs[7], na = 0;
    if (!(mode >= GEN_ODD && gen_chance(2))) attrs[na++] = 0; /* sessionId (the key asked for: abc) */
    if (!gen_chance(10)) attrs[na++] = 1;  /* session */
    if (!gen_chance(20)) attrs[na++] = 2;  /* expires */
    if (gen_chance(20)) attrs[na++] = 3;   /* another attribute */
    if (gen_chance(60)) attrs[na++] = 4;   /* the version */
    if (mode == GEN_BAD && gen_chance(5)) attrs[na++] = (int)gen_below(3); /* a repeated one */
    if (mode == GEN_BAD && gen_chance(3)) attrs[na++] = 4;
    for (int i = na - 1; i > 0; i--) {
      int j = (int)gen_below((unsigned)i + 1), t = attrs[i];
      attrs[i] = attrs[j], attrs[j] = t;
    }
    ddbs_buf_append_str(b, "\"Item\":");
    gen_ws(b, mode);
    ddbs_buf_append_char(b, '{');
    for (int a = 0; a < na; a++) {
      if (a) ddbs_buf_append_char(b, ',');
      gen_ws(b, mode);
      switch (attrs[a]) {
        case 0: { /* the key asked for, respelled, another one, or not an S */
          static const char *ids[] = {"{\"S\":\"abc\"}", "{\"S\":\"\\u0061bc\"}", "{\"S\":\"abd\"}", "{\"S\":\"ab\"}",
                                      "{\"S\":\"abcd\"}", "{ \"S\" : \"abc\" }", "{\"\\u0053\":\"abc\"}", "{\"S\":\"\"}"};
          static const char *bad_ids[] = {"{\"N\":\"1\"}", "\"abc\"", "{\"S\":\"abc\",\"N\":\"1\"}", "{\"S\":\"x\",\"S\":\"abc\"}",
                                          "{}", "null", "{\"S\":[\"abc\"]}", "{\"S\":\"abc\",\"S\":\"x\"}", "{\"B\":\"abc\"}"};
          const char *v = ids[0];
          if (mode >= GEN_ODD && gen_chance(10)) v = ids[gen_below(COUNT(ids))];
          if (mode == GEN_BAD && gen_chance(5)) v = bad_ids[gen_below(COUNT(bad_ids))];
          ddbs_buf_printf(b, "\"sessionId\":%s", v);
          break;
        }
        case 1: ddbs_buf_append_str(b, "\"session\":"); gen_attr(b, 1, mode); break;
        case 2: {
          long long t = now + (long long)gen_below(5) - 2;
          static const char *odd[] = {"\"%lld.5\"", "\"%lldE0\"", "\"0%lld\"", "\"%lld.0000000001\"", "\"-%lld\""};
          ddbs_buf_append_str(b, "\"expires\":{\"N\":");
          if (mode >= GEN_ODD && gen_chance(20)) ddbs_buf_printf(b, odd[gen_below(COUNT(odd))], t);
          else if (mode >= GEN_ODD && gen_chance(5)) ddbs_buf_append_str(b, "\"99999999999999999999\"");
          else ddbs_buf_printf(b, "\"%lld\"", t);
          ddbs_buf_append_char(b, '}');
          break;
        }
        case 3: ddbs_buf_append_str(b, "\"other\":"); gen_attr(b, 1, mode); break;
        default: { /* the version: DynamoDB's spelling, or (ODD, BAD) other ones */
          static const char *odd[] = {"{\"N\":\"0\"}", "{\"N\":\"9007199254740991\"}", "{\"N\":\"9007199254740992\"}",
                                      "{\"N\":\"18446744073709551617\"}", "{\"N\":\"1.5\"}", "{\"N\":\"1E+2\"}",
                                      "{\"N\":\"-1\"}", "{\"N\":\"007\"}", "{\"N\":\"\\u0035\"}", "{\"N\":\"\"}",
                                      "{\"S\":\"5\"}", "{\"N\":\"5\",\"N\":\"6\"}", "{\"NS\":[\"5\"]}",
                                      "{ \"N\" : \"8\" }", "{\"\\u004e\":\"9\"}", "{\"N\":\"00000000000000000000012\"}"};
          static const char *bad_v[] = {"{}", "\"5\"", "5", "{\"N\":5}", "{\"N\":\"5\",\"S\":\"x\"}", "null",
                                        "{\"N\":\"5\\u0000\"}", "[{\"N\":\"5\"}]"};
          ddbs_buf_append_str(b, "\"version\":");
          if (mode == GEN_BAD && gen_chance(20)) ddbs_buf_append_str(b, bad_v[gen_below(COUNT(bad_v))]);
          else if (mode >= GEN_ODD && gen_chance(30)) ddbs_buf_append_str(b, odd[gen_below(COUNT(odd))]);
          else ddbs_buf_printf(b, "{\"N\":\"%u\"}", gen_chance(50) ? gen_below(10) : (unsigned)gen_next());
          break;
        }
      }
    }
    gen_ws(b, mode);
    ddbs_buf_append_char(b, '}');
  }
  gen_ws(b, mode);
  ddbs_buf_append_char(b, '}');
  if (mode == GEN_BAD && gen_chance(3)) b->len -= gen_below((unsigned)b->len); /* truncated */
  gen_ws(b, mode);
}

/* Runs one answer through the public, one-pass, two-pass and reference GetItem readers (the key
 * asked for: sessionId "abc"; the version attribute: "version", or none when get_version_key is
 * NULL); returns the one-pass rc. */
static const char *get_version_key = "version";
static long long get_last_version; /* the reference's *version of the last call */
static int get_differential(const char *body, size_t len, const char *ttl_key, long long now, int *failures) {
  ddbs_buf pub = DDBS_BUF_INIT, one = DDBS_BUF_INIT, two = DDBS_BUF_INIT, ref = DDBS_BUF_INIT;
  char e_pub[256] = "", e_one[256] = "", e_two[256] = "", e_ref[256] = "";
  int f_pub = 7, f_one = 7, f_two = 7, f_ref = 7;
  long long v_pub = 7, v_one = 7, v_two = 7, v_ref = 7;
  ddbs_buf_append_str(&pub, "<");
  ddbs_buf_append_str(&one, "<");
  ddbs_buf_append_str(&two, "<");
  ddbs_buf_append_str(&ref, "<");
#define GET_ARGS body, len, "sessionId", "abc", 3, ttl_key, now, get_version_key
  int r_pub = ddbs_parse_get_item(GET_ARGS, &v_pub, &pub, &f_pub, e_pub, sizeof e_pub);
  int r_one = ddbs_onepass_parse_get_item(GET_ARGS, &v_one, &one, &f_one, e_one, sizeof e_one);
  int r_two = ddbs_twopass_parse_get_item(GET_ARGS, &v_two, &two, &f_two, e_two, sizeof e_two);
  int r_ref = ddbs_ref_parse_get_item(GET_ARGS, &v_ref, &ref, &f_ref, e_ref, sizeof e_ref);
#undef GET_ARGS
  get_last_version = v_ref;
  int bad = disagrees("get (public)", body, len, r_pub, f_pub, &pub, e_pub, r_ref, f_ref, &ref, e_ref) +
            disagrees("get (two pass)", body, len, r_two, f_two, &two, e_two, r_ref, f_ref, &ref, e_ref);
  if (v_pub != v_ref || v_two != v_ref || (r_one != DDBS_ONEPASS_DECLINED && v_one != v_ref) ||
      (r_one == DDBS_ONEPASS_DECLINED && v_one != -1) || (f_ref != 1 && v_ref != -1)) {
    bad++;
    fprintf(stderr, "    get: versions %lld (public) %lld (one pass, rc %d) %lld (two pass), reference %lld: %.300s\n", v_pub,
            v_one, r_one, v_two, v_ref, body);
  }
  if (r_one == DDBS_ONEPASS_DECLINED) {
    if (one.len != 1 || e_one[0] || f_one != 0) bad++, fprintf(stderr, "    get: declined but changed its output\n");
  } else {
    bad += disagrees("get (one pass)", body, len, r_one, f_one, &one, e_one, r_ref, f_ref, &ref, e_ref);
  }
  if (r_ref == 0 && f_ref == 0 && ref.len != 1) bad++, fprintf(stderr, "    get: not found but wrote\n");
  *failures += bad != 0;
  ddbs_buf_free(&pub);
  ddbs_buf_free(&one);
  ddbs_buf_free(&two);
  ddbs_buf_free(&ref);
  return r_one;
}

static void test_get_differential(void) {
  ddbs_buf body = DDBS_BUF_INIT;
  int failures = 0, declined[3] = {0, 0, 0}, runs[3] = {0, 0, 0}, versions = 0;
  const long long now = 1700000000;
  gen_state = 0x13198A2E03707344ull;
  for (int i = 0, n = diff_rounds(12000); i < n && failures < 5; i++) {
    int mode = i % 3;
    ddbs_buf_reset(&body);
    gen_answer(&body, mode, now);
    const char *ttl_key = i % 7 == 6 ? NULL : "expires";
    get_version_key = i % 5 == 4 ? NULL : "version";
    int rc = get_differential(body.data, body.len, ttl_key, now, &failures);
    if (get_last_version >= 0) versions++;
    runs[mode]++;
    if (rc == DDBS_ONEPASS_DECLINED) declined[mode]++;
    if (mode == GEN_CLEAN && rc == DDBS_ONEPASS_DECLINED && declined[mode] <= 3)
      fprintf(stderr, "    the one pass declined a clean answer: %.300s\n", body.data);
  }
  get_version_key = "version";
  printf("# get: %d/%d clean, %d/%d odd, %d/%d bad answers left to the two-pass reader; %d with a version\n",
         declined[0], runs[0], declined[1], runs[1], declined[2], runs[2], versions);
  CHECK(failures == 0);
  CHECK(declined[GEN_CLEAN] == 0);
  CHECK(versions > 2000);
  ddbs_buf_free(&body);
}

/* Put a session, answer GetItem with the body's Item, read it back: the session text itself. */
static void test_fast_round_trip(void) {
  ddbs_buf sess = DDBS_BUF_INIT, body = DDBS_BUF_INIT, answer = DDBS_BUF_INIT, out = DDBS_BUF_INIT;
  char err[256];
  int bad = 0;
  gen_state = 0xA4093822299F31D0ull;
  for (int i = 0, n = diff_rounds(12000) / 4; i < n && bad < 3; i++) {
    int found = 0;
    ddbs_buf_reset(&sess);
    ddbs_buf_reset(&body);
    ddbs_buf_reset(&answer);
    ddbs_buf_reset(&out);
    gen_session_value(&sess, 1, GEN_CLEAN);
    if (ddbs_onepass_body_put_item("t", "id", "k", 1, "exp", 1700000100, sess.data, sess.len, &body, err, sizeof err) != 0)
      continue; /* (too deep: covered elsewhere) */
    const char *item = strstr(body.data, "\"Item\":");
    ddbs_buf_append_str(&answer, "{");
    ddbs_buf_append(&answer, item, body.len - (size_t)(item - body.data) - 1);
    ddbs_buf_append_str(&answer, "}");
    int rc = ddbs_onepass_parse_get_item(answer.data, answer.len, "id", "k", 1, "exp", 1700000000, NULL, NULL, &out, &found, err,
                                         sizeof err);
    if (rc != 0 || !found || out.len != sess.len || memcmp(out.data, sess.data, sess.len) != 0) {
      if (bad++ < 3) fprintf(stderr, "    round trip of %.200s\n      gave rc %d: %.200s\n", sess.data, rc, out.data);
    }
  }
  CHECK(bad == 0);
  ddbs_buf_free(&sess);
  ddbs_buf_free(&body);
  ddbs_buf_free(&answer);
  ddbs_buf_free(&out);
}

/* ddbs_number_is_canonical() must only say yes for texts ddbs_format_double() prints for their
 * own value; and should say yes for nearly all of those with up to 17 digits. */
static int canonical_by_reference(const char *t) {
  char again[32];
  double d = strtod(t, NULL);
  return isfinite(d) && ddbs_format_double(d, again) >= 0 && strcmp(again, t) == 0;
}

static void test_number_canonical(void) {
  static const struct {
    const char *t;
    int want;
  } cases[] = {
      {"0", 1}, {"-0", 0}, {"1", 1}, {"-1", 1}, {"100", 1}, {"1.5", 1}, {"1.50", 0}, {"01", 0},
      {"0.1", 1}, {".1", 0}, {"1.", 0}, {"+1", 0}, {"1e21", 0}, {"1e+21", 1}, {"1E+21", 0},
      {"1.5e+300", 1}, {"1e+021", 0}, {"100000000000000000000", 1}, {"1000000000000000000000", 0},
      {"0.000001", 1}, {"0.0000001", 0}, {"1e-7", 1}, {"1e-6", 0}, {"1.5e-7", 1}, {"15e-8", 0},
      {"0.30000000000000004", 1}, {"0.30000000000000001", 0}, {"0.3333333333333333", 1},
      {"0.33333333333333331", 0}, {"9007199254740991", 1}, {"9007199254740993", 0},
      {"1152921504606847000", 1}, {"1152921504606846976", 0}, {"999999999999999900000", 1},
      {"5.960464477539063e-8", -1}, {"5.960464477539062e-8", 1 /* (the double below 2^-24) */}, {"6.189700196426902e+26", -1},
      {"123456789012345678", 0}, {"41514555564571380", 1}, {"1.1920928955078125e-7", 1}, {"1.7976931348623157e+308", 0 /* (far exponents: not checked) */},
      {"", 0}, {"-", 0}, {"1e+", 0}, {"1e+0", 0}, {"0.0", 0}, {"1 ", 0}, {"1x", 0}, {"Infinity", 0},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    int got = ddbs_number_is_canonical(cases[i].t, strlen(cases[i].t));
    CHECK(got == cases[i].want || cases[i].want < 0); /* -1: a tie at a power of two; either */
    if (got != cases[i].want) fprintf(stderr, "    %s: %d\n", cases[i].t, got);
    if (got) CHECK(canonical_by_reference(cases[i].t));
  }
  /* random doubles' own texts, and texts near them */
  int unsound = 0, missed = 0, checked = 0;
  gen_state = 0x082EFA98EC4E6C89ull;
  for (int i = 0, n = diff_rounds(12000) * 8; i < n; i++) {
    double d = gen_double();
    char t[48];
    if (!isfinite(d) || ddbs_format_double(d, t) < 0) continue;
    checked++;
    if (!ddbs_number_is_canonical(t, strlen(t))) {
      /* allowed only outside what the check covers: exponents beyond +-22 for 16-17 digits, +-300 */
      double a = fabs(d);
      if (a > 1e-7 && a < 1e21 && missed++ < 5) fprintf(stderr, "    missed %s\n", t);
    }
    /* perturb: last digit +-1, one digit more, a 17-digit random fraction */
    char p[48];
    size_t n = strlen(t), digit = n;
    while (digit > 0 && !(t[digit - 1] >= '0' && t[digit - 1] <= '9' && (digit == n || t[digit] != 'e'))) digit--;
    for (int v = 0; v < 4; v++) {
      strcpy(p, t);
      char *e = strchr(p, 'e');
      size_t last = e ? (size_t)(e - p) - 1 : n - 1;
      if (v == 0 && p[last] > '0') p[last]--;
      else if (v == 1 && p[last] < '9') p[last]++;
      else if (v == 2 && !e && strchr(p, '.') && n < 40) { p[n] = (char)('1' + gen_below(9)); p[n + 1] = '\0'; }
      else if (v == 3) snprintf(p, sizeof p, "0.%016llu%c", (unsigned long long)(gen_next() % 10000000000000000ull),
                                (char)('1' + gen_below(9)));
      if (ddbs_number_is_canonical(p, strlen(p)) && !canonical_by_reference(p) && unsound++ < 5)
        fprintf(stderr, "    %s is not canonical\n", p);
    }
  }
  CHECK(checked > diff_rounds(12000) * 8 * 95 / 100);
  CHECK(unsound == 0);
  CHECK(missed == 0);
}

/* Regression and edge cases, each checked against the reference (and, where the one pass must
 * take it, that it did). */
static void test_fast_cases(void) {
  static const char *sessions[] = {
      "{\"a\":1,\"a\":2}",                 /* duplicate key: the reference keeps the last, first place */
      "{\"a\":1,\"\\u0061\":2}",           /* the same key, spelled differently */
      "{\"a\\u0000\":1}",                  /* NUL in a key: jansson refuses */
      "{\"x\":\"\\/\\u00e9\\ud83d\\ude00\\u001F\\u0008\"}", /* respelled */
      "[1.50,1E2,-0,0.0,1e-7,100e-2,0.30000000000000001,123456789012345678901234567890]",
      "[1e126]", "[-1e-131]", "[1e400]", "[5e-324]", "[9.99999999999999e+125]", "[1e-130]",
      "\"\\ud800\"", "\"\\udc00\\ud800\"", "\"\xed\xa0\x80\"", "\"\xc0\xaf\"", "\"\\u12\"",
      "  {  }  ", "{}x", "", " ", "[", "tru", "truex", "nul", "[1,]", "[01]", "{\"a\" 1}", "{,}",
      "\"\\u0000\"", "\"\x7f\"", "[\"\xef\xbb\xbf\"]", "\xef\xbb\xbf{}",
      /* a value a later repeat replaces cannot cause an error; the kept one can */
      "{\"a\":1e200,\"a\":1}", "{\"a\":1,\"a\":1e200}", "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],\"a\":2}",
      "{\"a\":{\"b\":1,\"b\":[2]},\"c\":3,\"a\":{\"d\":\"\\u00e9\",\"d\":null}}", "{\"a\":1e400,\"a\":1}",
      "{\"\":1,\"\":2}", "{\"b\":1,\"a\":2,\"b\":3,\"a\":4,\"c\":5}",
      /* numbers: integers are doubles here (2^64 and beyond), only infinity is refused */
      "[99999999999999999999,-9223372036854775809,1e308,1.7976931348623158e308]", "[1.7976931348623159e308]",
      "[0.0000000000000000000000000000000000000000000000000000000000000001e-400]", "[1e-400]",
  };
  int failures = 0;
  for (size_t i = 0; i < COUNT(sessions); i++) put_differential(sessions[i], strlen(sessions[i]), &failures);
  put_differential("{\"a\":\"x\0y\"}", 11, &failures); /* a raw NUL */
  put_differential("[1]\0", 4, &failures);
  /* a NUL right after a number or a literal: jansson 2.14 loses it; refused everywhere (ddb_ref.c) */
  put_differential("0\0", 2, &failures);
  put_differential("[1\0,2]", 6, &failures);
  put_differential("{\"a\":null\0}", 11, &failures);
  static const char *answers[] = {
      "{\"Item\":{" ID "\"session\":{\"M\":{}}},\"Item\":{\"session\":{\"S\":\"second\"}}}",
      "{\"Item\":{" ID "\"session\":{\"M\":{}},\"session\":{\"S\":\"second\"}}}",
      "{\"Item\":{" ID "\"expires\":{\"N\":\"1\"},\"session\":{\"M\":{}},\"expires\":{\"N\":\"9999999999\"}}}",
      "{\"\\u0049tem\":{\"session\":{\"S\":\"escaped Item key\"}}}",
      "{\"Item\":{" ID "\"s\\u0065ssion\":{\"S\":\"escaped session key\"},\"\\u0065xpires\":{\"N\":\"1\"}}}",
      "{\"Item\":{" ID "\"session\":{\"\\u0053\":\"escaped tag\"}}}",
      "{\"Item\":{" ID "\"session\":{\"S\":\"a\",\"S\":\"b\"}}}",
      "{\"Item\":{" ID "\"session\":{\"M\":{\"a\":{\"N\":\"1\"},\"a\":{\"N\":\"2\"}}}}}",
      "{\"Item\":{" ID "\"session\":{\"M\":{}},\"expires\":{\"N\":\"1\",\"N\":\"9999999999\"}}}",
      "{\"Item\":{" ID "\"session\":{\"M\":{}},\"expires\":{}}}",
      "{\"Item\":{" ID "\"session\":{\"M\":{}},\"expires\":{\"X\":{\"bad\"}}}}",
      "{\"Item\":{" ID "\"session\":{\"M\":{}},\"expires\":{\"SS\":[\"x\"]}}}",
      "{\"Item\":{" ID "\"session\":{\"M\":{}},\"expires\":{\"N\":\"\\u0031\"}}}",
      "{\"Item\":{" ID "\"session\":{\"M\":{}},\"expires\":{\"N\":\"1e400\"}}}",
      "{\"Item\":{" ID "\"session\":{\"M\":{}},\"expires\":{\"N\":\"-5\"}}}",
      "{\"Item\":{" ID "\"session\":{\"N\":\"1\\u0000\"}}}",
      "{\"Item\":{" ID "\"id\":{\"S\":1},\"session\":{\"M\":{}}}}", /* other attributes are not checked */
      "{\"Item\":{" ID "\"id\":{\"S\":1}}}",                        /* unless the item is the session */
      "{\"Item\":{" ID "\"session\":{\"M\":{}}},\"ConsumedCapacity\":{\"CapacityUnits\":1e400}}",
      "{\"Item\":{" ID "\"session\":{\"M\":{}}},\"ConsumedCapacity\":{\"CapacityUnits\":99999999999999999999}}",
      "{\"Item\":{" ID "\"session\":{\"M\":{}}},\"x\":{\"a\\u0000\":1}}",
      "{\"Item\":{" ID "\"session\":{\"M\":{}}}}garbage",
      "{\"Item\":{" ID "\"session\":{\"M\":{}}}} \n",
      "[{\"Item\":{}}]",
      "{\"Item\":{" ID "\"session\":{\"NS\":[\"1\",\"2.50\",\"-3E-2\",\"1e+21\"]},\"x\":{\"BS\":[]}}}",
      "{\"Item\":{" ID "\"session\":{\"BOOL\":true}}}", "{\"Item\":{" ID "\"session\":{\"NULL\":false}}}",
      "{\"Item\":{" ID "\"session\":{\"BOOLEAN\":true}}}", "{\"Item\":{" ID "\"session\":{\"SSS\":[]}}}",
      /* repeats: the last Item, the last attribute, the last member, the last tag */
      "{\"Item\":{\"session\":{\"S\":\"first\"}},\"Item\":{" ID "\"session\":{\"S\":\"second\"}}}",
      "{\"Item\":{" ID "\"session\":{\"M\":{\"a\":{\"N\":\"x\"},\"b\":{\"BOOL\":true},\"a\":{\"N\":\"1\"}}}}}",
      "{\"Item\":{" ID "\"session\":{\"M\":{\"a\":{\"N\":\"1\"},\"a\":{\"N\":\"x\"}}}}}",
      "{\"Item\":{" ID "\"session\":{\"S\":1,\"S\":\"b\"}}}", "{\"Item\":{" ID "\"session\":{\"S\":\"b\",\"S\":1}}}",
      "{\"Item\":{" ID "\"session\":{\"X\":1},\"session\":{\"S\":\"ok\"}}}",
      "{\"Item\":{" ID "\"expires\":{\"N\":\"x\"},\"expires\":{\"N\":\"1\"},\"session\":{\"M\":{}}}}",
      "{\"Item\":{" ID "\"expires\":{\"S\":\"1\",\"N\":\"1\"},\"session\":{\"M\":{}}}}",
      "{\"Item\":{" ID "\"a\":{\"S\":\"1\"},\"b\":{\"N\":\"2\"},\"a\":{\"L\":[]}}}",
      /* numbers jansson refuses anywhere in the answer; and those it takes */
      "{\"Item\":{" ID "\"session\":{\"M\":{}}},\"x\":[9223372036854775807,-9223372036854775808,1e308]}",
      "{\"Item\":{" ID "\"session\":{\"M\":{}}},\"x\":[9223372036854775808]}",
      "{\"Item\":{" ID "\"session\":{\"M\":{}}},\"x\":[-9223372036854775809]}",
      "{\"Item\":{" ID "\"session\":{\"M\":{}}},\"x\":[1.7976931348623159e308]}",
      "{\"Item\":{" ID "\"session\":{\"M\":{}}},\"x\":[1e-400]}",
      /* an expired item is not read further, nor one for another key */
      "{\"Item\":{" ID "\"expires\":{\"N\":\"1\"},\"session\":{\"X\":{}}}}",
      "{\"Item\":{\"sessionId\":{\"S\":\"x\"},\"session\":{\"X\":{}}}}",
      "{\"Item\":{\"session\":{\"X\":{}},\"sessionId\":{\"S\":\"x\"}}}",
  };
  for (size_t i = 0; i < COUNT(answers); i++)
    get_differential(answers[i], strlen(answers[i]), "expires", 1700000000, &failures);
  static const char nul_after[] = "{\"Item\":{\"sessionId\":{\"S\":\"abc\"},\"session\":{\"M\":{}}},\"C\":[1\0]}";
  get_differential(nul_after, sizeof nul_after - 1, "expires", 1700000000, &failures);
  const char *one = "{\"Item\":{" ID "\"session\":{\"M\":{}},\"\":{\"N\":\"1\"}}}";
  get_differential(one, strlen(one), "session", 1700000000, &failures); /* (bad arguments) */
  get_differential(one, strlen(one), "", 1700000000, &failures);
  CHECK(failures == 0);

  /* what the one pass must take itself */
  char err[256];
  ddbs_buf out = DDBS_BUF_INIT;
  const char *js = "{\"s\":\"\\\"\\\\\\n\\u0001\xc3\xa9\",\"n\":[0.1,-1.5,1e+21,1.5e-7,0.30000000000000004],\"e\":[]}";
  CHECK(ddbs_onepass_body_put_item("t", "id", "k", 1, "exp", 1, js, strlen(js), &out, err, sizeof err) == 0);
  const char *ddb =
      "{\"Item\":{" ID "\"session\":{\"M\":{\"n\":{\"N\":\"0.3333333333333333\"},\"m\":{\"N\":\"1.50\"},"
      "\"b\":{\"B\":\"QQ==\"},\"s\":{\"SS\":[\"\\u00e9\"]}}},\"expires\":{\"N\":\"1700000001\"}},"
      "\"ConsumedCapacity\":{\"TableName\":\"t\",\"CapacityUnits\":0.5}}";
  int found = 0;
  ddbs_buf_reset(&out);
  CHECK(ddbs_onepass_parse_get_item(ddb, strlen(ddb), "sessionId", "abc", 3, "expires", 1700000000, NULL, NULL, &out, &found, err,
                                    sizeof err) == 0);
  CHECK(found == 1);
  CHECK_STREQ(out.data, "{\"n\":0.3333333333333333,\"m\":1.5,\"b\":\"QQ==\",\"s\":[\"\xc3\xa9\"]}");
  ddbs_buf_free(&out);
}

/* The two-pass converters on what the one pass leaves to them: repeats in big objects (the sorted
 * path), values nested past its limits, nesting at jansson's own limit. */
static void test_two_pass_cases(void) {
  int failures = 0, declined = 0;
  ddbs_buf b = DDBS_BUF_INIT;
  /* objects of 5..200 members, some keys repeated, values of every kind */
  gen_state = 0x452821E638D01377ull;
  for (int round = 0; round < 60; round++) {
    unsigned n = 5 + gen_below(200), distinct = 1 + gen_below(n);
    ddbs_buf_reset(&b);
    ddbs_buf_append_char(&b, '{');
    for (unsigned i = 0; i < n; i++) {
      if (i) ddbs_buf_append_char(&b, ',');
      ddbs_buf_printf(&b, gen_chance(10) ? "\"k\\u00%02x\":" : "\"k%c\":", 'a' + (int)gen_below(distinct % 26 + 1));
      if (gen_chance(30)) ddbs_buf_printf(&b, "\"%u\"", gen_below(distinct));
      gen_session_value(&b, 2, GEN_ODD);
    }
    ddbs_buf_append_char(&b, '}');
    if (put_differential(b.data, b.len, &failures) == DDBS_ONEPASS_DECLINED) declined++;
    /* the same keys in an answer's session map (attribute values from the generator) */
    ddbs_buf ans = DDBS_BUF_INIT;
    ddbs_buf_append_str(&ans, "{\"Item\":{" ID "\"session\":{\"M\":{");
    for (unsigned i = 0; i < n; i++) {
      if (i) ddbs_buf_append_char(&ans, ',');
      ddbs_buf_printf(&ans, "\"k%u\":", gen_below(distinct));
      gen_attr(&ans, 2, GEN_ODD);
    }
    ddbs_buf_append_str(&ans, "}}}}");
    get_differential(ans.data, ans.len, "expires", 1700000000, &failures);
    ddbs_buf_free(&ans);
  }
  CHECK(declined > 30); /* (most have repeats) */
  /* nesting: DynamoDB's 32 (put), 64 attribute levels (get), jansson's 2048 */
  static const int depths[] = {31, 32, 33, 63, 64, 65, 200, 1022, 1023, 1024, 2046, 2047, 2048, 2049};
  for (size_t d = 0; d < COUNT(depths); d++) {
    for (int objects = 0; objects < 2; objects++) {
      for (int scalar = 0; scalar < 2; scalar++) {
        char *deep = nested(depths[d], objects);
        if (!scalar) { /* the innermost value an empty container instead of 1 */
          char *one = strchr(deep, '1');
          memmove(one + 1, one, strlen(one) + 1);
          one[0] = objects ? '{' : '[', one[1] = objects ? '}' : ']';
        }
        put_differential(deep, strlen(deep), &failures);
        ddbs_buf_reset(&b); /* a dropped value, nested that deep */
        ddbs_buf_printf(&b, "{\"a\":%s,\"a\":1}", deep);
        put_differential(b.data, b.len, &failures);
        ddbs_buf_reset(&b); /* in the answer, beside the item */
        ddbs_buf_printf(&b, "{\"Item\":{" ID "\"session\":{\"M\":{}}},\"x\":%s}", deep);
        get_differential(b.data, b.len, "expires", 1700000000, &failures);
        free(deep);
        ddbs_buf_reset(&b); /* L in L in the session */
        ddbs_buf_append_str(&b, "{\"Item\":{" ID "\"session\":");
        for (int i = 0; i < depths[d] / 2; i++) ddbs_buf_append_str(&b, objects ? "{\"M\":{\"a\":" : "{\"L\":[");
        ddbs_buf_append_str(&b, scalar ? "{\"N\":\"1\"}" : "{\"L\":[]}");
        for (int i = 0; i < depths[d] / 2; i++) ddbs_buf_append_str(&b, objects ? "}}" : "]}");
        ddbs_buf_append_str(&b, "}}");
        get_differential(b.data, b.len, "expires", 1700000000, &failures);
      }
    }
  }
  CHECK(failures == 0);
  ddbs_buf_free(&b);
}

/* ddbs_json_check_object: exactly one JSON object, as jansson reads JSON, nested at most 128 deep. */
static void test_json_check_object(void) {
  static const char *good[] = {
      "{}", " {} ", "\n\t\r {}\n", "{\"a\":1}", "{\"ConsumedCapacity\":{\"TableName\":\"t\",\"CapacityUnits\":1.0}}",
      "{\"a\":[1,-2.5e+3,0,-0,1E400,123456789012345678901234567890,true,false,null,\"\",{},[]]}",
      "{\"\xc3\xa9\":\"\xf0\x9f\x98\x80\\ud83d\\ude00\\u0000\\\"\\\\\\/\\b\\f\\n\\r\\t\"}", "{\"a\\u0000b\":1}",
      "{\"a\":1,\"a\":2}", "{ \"a\" : [ 1 , 2 ] , \"b\" : { } }",
  };
  static const char *bad[] = {
      "", " ", "{", "}", "{\"a\":1", "{\"a\":1}}", "{} {}", "{}x", "[]", "[{}]", "\"{}\"", "1", "null",
      "{\"a\"}", "{\"a\":}", "{a:1}", "{'a':1}", "{\"a\":1,}", "{,}", "{\"a\":[1,]}", "{\"a\":01}", "{\"a\":1.}",
      "{\"a\":.5}", "{\"a\":+1}", "{\"a\":-}", "{\"a\":1e}", "{\"a\":NaN}", "{\"a\":Infinity}", "{\"a\":tru}",
      "{\"a\":truex}", "{\"a\":nul}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\\u12g4\"}", "{\"a\":\"\\ud800\"}",
      "{\"a\":\"\\udc00\"}", "{\"a\":\"\\ud800\\u0041\"}", "{\"a\":\"\\ud800x\"}", "{\"a\":\"\xff\"}", "{\"a\":\"\xc0\x80\"}",
      "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xf4\x90\x80\x80\"}", "{\"a\":\"\xe4\xb8\"}", "{\"a\":\"\x01\"}",
      "{\"a\":\"\n\"}", "{\"a\":\"abc}", "\xef\xbb\xbf{}", "{\"a\":1}\xc3\xa9", "{\"a\":[}", "{\"a\":{]}", "{\"a\" 1}",
      "{\"a\":1 \"b\":2}", "{\"a\":\"\\\"}",
  };
  for (size_t i = 0; i < COUNT(good); i++) {
    int rc = ddbs_json_check_object(good[i], strlen(good[i]));
    CHECK(rc == 0);
    if (rc != 0) fprintf(stderr, "    refused %s\n", good[i]);
  }
  for (size_t i = 0; i < COUNT(bad); i++) {
    int rc = ddbs_json_check_object(bad[i], strlen(bad[i]));
    CHECK(rc == DDBS_E_RESPONSE);
    if (rc != DDBS_E_RESPONSE) fprintf(stderr, "    accepted %s\n", bad[i]);
    /* and jansson refuses them too (or takes them as something else than an object) */
    json_t *v = json_loadb(bad[i], strlen(bad[i]), JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    CHECK(!json_is_object(v));
    json_decref(v);
  }
  CHECK(ddbs_json_check_object("{}", 1) == DDBS_E_RESPONSE); /* only len bytes */
  CHECK(ddbs_json_check_object("{}\0", 3) == DDBS_E_RESPONSE); /* a NUL byte is not whitespace */
  CHECK(ddbs_json_check_object("\0{}", 3) == DDBS_E_RESPONSE);
  CHECK(ddbs_json_check_object("{\"a\":1\0}", 8) == DDBS_E_RESPONSE); /* (jansson 2.14 takes it) */
  CHECK(ddbs_json_check_object("{\"a\":\"\0\"}", 7) == DDBS_E_RESPONSE); /* nor a string's character */
  CHECK(ddbs_json_check_object("{}garbage", 2) == 0);
  CHECK(ddbs_json_check_object(NULL, 0) == DDBS_E_RESPONSE);
  /* nesting: 128 objects and arrays, not 129 */
  for (int objects = 0; objects < 2; objects++) {
    char *ok = nested(127, objects), *deep = nested(128, objects);
    ddbs_buf b = DDBS_BUF_INIT;
    ddbs_buf_printf(&b, "{\"x\":%s}", ok);
    CHECK(ddbs_json_check_object(b.data, b.len) == 0);
    ddbs_buf_reset(&b);
    ddbs_buf_printf(&b, "{\"x\":%s}", deep);
    CHECK(ddbs_json_check_object(b.data, b.len) == DDBS_E_RESPONSE);
    ddbs_buf_free(&b);
    free(ok);
    free(deep);
  }
  /* every truncation of a good answer is refused */
  const char *g = good[5];
  for (size_t n = 0; n < strlen(g); n++) CHECK(ddbs_json_check_object(g, n) == DDBS_E_RESPONSE);
}

/* ddbs_parse_error against the reference: the same result and the same code and message. */
static void test_parse_error_differential(void) {
  static const char *bodies[] = {
      "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException\",\"message\":\"Requested resource not found\"}",
      "{\"__type\":\"a#B\",\"Message\":\"upper\"}", "{\"__type\":\"a#B\",\"message\":5,\"Message\":\"upper\"}",
      "{\"__type\":\"a#B\",\"message\":\"lower\",\"Message\":\"upper\"}", "{\"__type\":\"a#B\",\"message\":null}",
      "{\"__type\":\"x\",\"__type\":\"y#Second\"}", "{\"__type\":\"y#First\",\"__type\":5}",
      "{\"\\u005f_type\":\"esc#Aped\",\"m\\u0065ssage\":\"m\\u00e9\\n\\u0000cut\"}", "{\"__type\":\"a:b#c\"}",
      "{\"__type\":\"#\"}", "{\"__type\":\"\"}", "{\"__type\":\"a#b#c\"}", " {\"__type\":\"ws\"} \n",
      "{\"__type\":\"x\"} x", "{\"__type\":\"x\",}", "[{\"__type\":\"x\"}]", "{\"__type\":\"x\",\"y\":99999999999999999999}",
      "{\"__type\":\"x\",\"y\":1e400}", "{\"__type\":\"x\",\"y\\u0000\":1}", "{\"__type\":\"x\\u0000y\",\"message\":\"\"}",
      "{\"__type\":\"\\ud83d\\ude00#\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\",\"message\":\"\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\"}",
      "", "x", "{", "{\"message\":\"no type\"}", "{\"__type\":5}", "<html>503</html>",
  };
  static const size_t sizes[] = {1, 2, 3, 5, 6, 64};
  int failures = 0;
  for (size_t i = 0; i < COUNT(bodies); i++) {
    for (size_t z = 0; z < COUNT(sizes); z++) {
      char c1[64], m1[64], c2[64], m2[64];
      size_t cs = sizes[z], ms = sizes[(z + 3) % COUNT(sizes)];
      int r1 = ddbs_parse_error(bodies[i], strlen(bodies[i]), c1, cs, m1, ms);
      int r2 = ddbs_ref_parse_error(bodies[i], strlen(bodies[i]), c2, cs, m2, ms);
      if (r1 != r2 || strcmp(c1, c2) != 0 || strcmp(m1, m2) != 0) {
        if (failures++ < 5)
          fprintf(stderr, "    %s (%zu, %zu): rc %d \"%s\" \"%s\", reference rc %d \"%s\" \"%s\"\n", bodies[i], cs, ms,
                  r1, c1, m1, r2, c2, m2);
      }
    }
  }
  CHECK(failures == 0);
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
  ctest_run("ddb_json: parse GetItem, bad arguments", test_parse_get_item_args);
  ctest_run("ddb_json: parse error", test_parse_error);
  ctest_run("ddb_json: parse error vs reference", test_parse_error_differential);
  ctest_run("ddb_json: check object", test_json_check_object);
  ctest_run("ddb_json: canonical number texts (verbatim copies)", test_number_canonical);
  ctest_run("ddb_json: converters, edge and regression cases", test_fast_cases);
  ctest_run("ddb_json: two-pass converters: repeats, nesting", test_two_pass_cases);
  ctest_run("ddb_json: PutItem vs reference, random sessions", test_put_differential);
  ctest_run("ddb_json: GetItem vs reference, random answers", test_get_differential);
  ctest_run("ddb_json: one-pass put then get gives the session back", test_fast_round_trip);
}
