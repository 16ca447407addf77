/* test_sigv4.c: tests for sigv4.c (the production signer) and sigv4_ref.c (the generic stages,
 * its reference).
 * 1. AWS's SigV4 test suite (header signing), read in place from SIGV4_SUITE_DIR: for every case
 *    folder, request.txt is parsed here, then each generic stage is checked byte for byte against
 *    the expected files: canonical request, string to sign (from the expected canonical request
 *    and from ours), signature (from the expected string to sign, with ddbs_sigv4_signing_key's
 *    key) and the Authorization header of header-signed-request.txt (the whole chain). The query-*
 *    (presigned) files are not used.
 * 2. Hand-made cases with expected values written out here (or computed by an independent signer,
 *    Python's hmac/hashlib, when the tests were written): the DynamoDB signer against the
 *    reference one-shot ddbs_sigv4_sign_dynamodb (the generic stages) and known answers, the
 *    requests both refuse (CR/LF in a header value among them), 600 signatures of one reused
 *    signer against the reference, the AWS documentation's signing-key example, dates, hashes,
 *    canonicalization edge cases, errors. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "buf.h"
#include "ctest.h"
#include "sigv4_ref.h"

#ifndef SIGV4_SUITE_DIR
#define SIGV4_SUITE_DIR "../../../shared/sigv4-test-suite"
#endif

#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define MAX_VECTOR_HEADERS 64
/* A header from two string literals. */
#define HDR(n, v) {(n), sizeof(n) - 1, (v), sizeof(v) - 1}

/* Like CHECK_STREQ for a (data, len) buffer against a NUL-terminated expectation. */
#define CHECK_BUF_EQ(buf, expected)                                                            \
  do {                                                                                         \
    const ddbs_buf *cb_ = (buf);                                                               \
    const char *ce_ = (expected);                                                              \
    CHECK_STREQ(cb_->data ? cb_->data : "", ce_);                                              \
    CHECK(cb_->len == strlen(ce_));                                                            \
  } while (0)

/* ---- file helpers ---- */

static int read_file(const char *dir, const char *name, ddbs_buf *out) {
  char path[4096];
  int rc = -1;
  FILE *f = NULL;
  if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) goto cleanup;
  f = fopen(path, "rb");
  if (!f) goto cleanup;
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    if (ddbs_buf_append(out, chunk, n) != 0) goto cleanup;
  if (ferror(f)) goto cleanup;
  if (ddbs_buf_append(out, "", 0) != 0) goto cleanup; /* NUL-terminated even when empty */
  rc = 0;
cleanup:
  if (f) fclose(f);
  return rc;
}

/* ---- one test vector ---- */

typedef struct vector {
  const char *name;
  char dir[4096];
  json_t *context;
  const char *access_key_id, *secret, *token, *region, *service;
  int normalize, sign_body, omit_session_token;
  char amz_date[17];
  char date8[9];
  char scope[256];
  char body_hex[65];
  ddbs_buf request;  /* request.txt, split in place (NULs after method, path, query) */
  ddbs_sigv4_request req;
  ddbs_sigv4_header headers[MAX_VECTOR_HEADERS + 3];
  ddbs_buf expected_creq, expected_sts, expected_sig, signed_request;
  const char *expected_auth; /* into signed_request */
  ddbs_buf load_error;
} vector;

static vector g_vec; /* the vector the current case runs on (ctest cases take no argument) */

static void vector_free(vector *v) {
  if (v->context) json_decref(v->context);
  ddbs_buf_free(&v->request);
  ddbs_buf_free(&v->expected_creq);
  ddbs_buf_free(&v->expected_sts);
  ddbs_buf_free(&v->expected_sig);
  ddbs_buf_free(&v->signed_request);
  ddbs_buf_free(&v->load_error);
  memset(v, 0, sizeof *v);
}

static int fail_load(vector *v, const char *why) {
  ddbs_buf_reset(&v->load_error);
  ddbs_buf_append_str(&v->load_error, why);
  return -1;
}

static int add_header(vector *v, const char *name, const char *value, size_t value_len) {
  if (v->req.header_count >= sizeof v->headers / sizeof v->headers[0]) return -1;
  ddbs_sigv4_header *h = &v->headers[v->req.header_count++];
  h->name = name;
  h->name_len = strlen(name);
  h->value = value;
  h->value_len = value_len;
  return 0;
}

/* Parses request.txt in place: "METHOD SP path[?query] SP HTTP/x.y", header lines (a line that
 * starts with SP or HT continues the previous header: obs-fold, kept raw in the value for the
 * signer to fold), an empty line, then the body. Lines end with LF or CRLF. */
static int parse_request(vector *v) {
  char *p = v->request.data, *end = v->request.data + v->request.len;
  char *eol = memchr(p, '\n', (size_t)(end - p));
  if (!eol) return fail_load(v, "request.txt: no request line");
  char *line_end = (eol > p && eol[-1] == '\r') ? eol - 1 : eol;
  char *sp1 = memchr(p, ' ', (size_t)(line_end - p));
  if (!sp1) return fail_load(v, "request.txt: no space after the method");
  char *sp2 = line_end;
  while (sp2 > sp1 && sp2[-1] != ' ') sp2--;
  if (sp2 <= sp1 + 1 || strncmp(sp2, "HTTP/", 5) != 0) return fail_load(v, "request.txt: no HTTP version");
  sp2--; /* the space before HTTP/ : the path may itself hold spaces (get-space-*) */
  *sp1 = '\0';
  *sp2 = '\0';
  v->req.method = p;
  v->req.path = sp1 + 1;
  char *q = strchr(sp1 + 1, '?');
  if (q) {
    *q = '\0';
    v->req.query = q + 1;
  }

  p = eol + 1;
  ddbs_sigv4_header *last = NULL;
  while (p < end) {
    eol = memchr(p, '\n', (size_t)(end - p));
    char *next = eol ? eol + 1 : end;
    line_end = eol ? eol : end;
    if (line_end > p && line_end[-1] == '\r') line_end--;
    if (line_end == p) { /* blank line: the body follows */
      p = next;
      v->req.payload = p;
      v->req.payload_len = (size_t)(end - p);
      return 0;
    }
    if (*p == ' ' || *p == '\t') {
      if (!last) return fail_load(v, "request.txt: continuation line without a header");
      last->value_len = (size_t)(line_end - last->value); /* extend over the fold */
    } else {
      char *colon = memchr(p, ':', (size_t)(line_end - p));
      if (!colon) return fail_load(v, "request.txt: header line without ':'");
      if (v->req.header_count >= MAX_VECTOR_HEADERS) return fail_load(v, "request.txt: too many headers");
      last = &v->headers[v->req.header_count++];
      last->name = p;
      last->name_len = (size_t)(colon - p);
      last->value = colon + 1;
      last->value_len = (size_t)(line_end - (colon + 1));
    }
    p = next;
  }
  v->req.payload = end;
  v->req.payload_len = 0;
  return 0;
}

static const char *ctx_string(json_t *obj, const char *key) {
  json_t *s = json_object_get(obj, key);
  return json_is_string(s) ? json_string_value(s) : NULL;
}

static int ctx_bool(json_t *obj, const char *key) { return json_is_true(json_object_get(obj, key)); }

static int parse_context(vector *v) {
  ddbs_buf text = DDBS_BUF_INIT;
  json_error_t err;
  int rc = -1;
  if (read_file(v->dir, "context.json", &text) != 0) {
    fail_load(v, "cannot read context.json");
    goto cleanup;
  }
  v->context = json_loadb(text.data, text.len, 0, &err);
  if (!v->context) {
    fail_load(v, "context.json: invalid JSON");
    goto cleanup;
  }
  json_t *creds = json_object_get(v->context, "credentials");
  v->access_key_id = ctx_string(creds, "access_key_id");
  v->secret = ctx_string(creds, "secret_access_key");
  v->token = ctx_string(creds, "token");
  v->region = ctx_string(v->context, "region");
  v->service = ctx_string(v->context, "service");
  const char *ts = ctx_string(v->context, "timestamp");
  v->normalize = ctx_bool(v->context, "normalize");
  v->sign_body = ctx_bool(v->context, "sign_body");
  v->omit_session_token = ctx_bool(v->context, "omit_session_token");
  if (!v->access_key_id || !v->secret || !v->region || !v->service || !ts) {
    fail_load(v, "context.json: a required field is missing");
    goto cleanup;
  }
  /* "2015-08-30T12:36:00Z" -> "20150830T123600Z" */
  size_t w = 0;
  for (const char *c = ts; *c && w < 16; c++)
    if (*c != '-' && *c != ':') v->amz_date[w++] = *c;
  v->amz_date[w] = '\0';
  if (w != 16 || v->amz_date[8] != 'T' || v->amz_date[15] != 'Z') {
    fail_load(v, "context.json: unexpected timestamp format");
    goto cleanup;
  }
  memcpy(v->date8, v->amz_date, 8);
  v->date8[8] = '\0';
  if (snprintf(v->scope, sizeof v->scope, "%s/%s/%s/aws4_request", v->date8, v->region, v->service) >=
      (int)sizeof v->scope) {
    fail_load(v, "context.json: scope too long");
    goto cleanup;
  }
  rc = 0;
cleanup:
  ddbs_buf_free(&text);
  return rc;
}

static int vector_load(vector *v, const char *dir, const char *name) {
  v->name = name;
  if (snprintf(v->dir, sizeof v->dir, "%s/%s", dir, name) >= (int)sizeof v->dir)
    return fail_load(v, "path too long");
  if (parse_context(v) != 0) return -1;
  if (read_file(v->dir, "request.txt", &v->request) != 0) return fail_load(v, "cannot read request.txt");
  if (read_file(v->dir, "header-canonical-request.txt", &v->expected_creq) != 0 ||
      read_file(v->dir, "header-string-to-sign.txt", &v->expected_sts) != 0 ||
      read_file(v->dir, "header-signature.txt", &v->expected_sig) != 0 ||
      read_file(v->dir, "header-signed-request.txt", &v->signed_request) != 0)
    return fail_load(v, "cannot read an expected header-*.txt file");
  if (parse_request(v) != 0) return -1;
  v->req.headers = v->headers;
  v->req.normalize_path = v->normalize;

  /* What the signer adds before signing (the suite's expected canonical requests show it):
   * X-Amz-Date always; X-Amz-Security-Token when there is a token not to be omitted;
   * X-Amz-Content-Sha256 (the payload hash) when sign_body. */
  if (add_header(v, "X-Amz-Date", v->amz_date, 16) != 0) return fail_load(v, "too many headers");
  if (v->token && v->token[0] && !v->omit_session_token &&
      add_header(v, "X-Amz-Security-Token", v->token, strlen(v->token)) != 0)
    return fail_load(v, "too many headers");
  if (v->sign_body) {
    if (ddbs_sigv4_sha256_hex(v->req.payload, v->req.payload_len, v->body_hex) != 0)
      return fail_load(v, "sha256 failed");
    if (add_header(v, "X-Amz-Content-Sha256", v->body_hex, 64) != 0) return fail_load(v, "too many headers");
  }

  /* The Authorization header of the signed request (a line "Authorization:<value>"). */
  const char *a = strstr(v->signed_request.data, "\nAuthorization:");
  if (!a) return fail_load(v, "header-signed-request.txt: no Authorization line");
  a += strlen("\nAuthorization:");
  char *eol = strchr(a, '\n');
  if (eol) {
    *eol = '\0';
    if (eol > a && eol[-1] == '\r') eol[-1] = '\0';
  }
  v->expected_auth = a;
  return 0;
}

/* ---- vector cases ---- */

static void vector_load_failed(void) {
  fprintf(stderr, "  FAIL %s: %s\n", ctest_case_name, g_vec.load_error.data ? g_vec.load_error.data : "?");
  CHECK(!"vector could be loaded");
}

static void vector_canonical_request(void) {
  ddbs_buf creq = DDBS_BUF_INIT, sh = DDBS_BUF_INIT;
  CHECK(ddbs_sigv4_canonical_request(&g_vec.req, &creq, &sh) == 0);
  CHECK_BUF_EQ(&creq, g_vec.expected_creq.data);
  /* the signed headers are the expected canonical request's second-to-last line */
  const char *last_nl = strrchr(g_vec.expected_creq.data, '\n');
  const char *prev = last_nl;
  while (prev && prev > g_vec.expected_creq.data && prev[-1] != '\n') prev--;
  if (last_nl && prev) {
    char expected_sh[1024];
    size_t n = (size_t)(last_nl - prev);
    CHECK(n < sizeof expected_sh);
    if (n < sizeof expected_sh) {
      memcpy(expected_sh, prev, n);
      expected_sh[n] = '\0';
      CHECK_BUF_EQ(&sh, expected_sh);
    }
  }
  ddbs_buf_free(&creq);
  ddbs_buf_free(&sh);
}

static void vector_string_to_sign(void) {
  ddbs_buf sts = DDBS_BUF_INIT, creq = DDBS_BUF_INIT, sh = DDBS_BUF_INIT, sts2 = DDBS_BUF_INIT;
  /* stage 2 alone, from the expected canonical request */
  CHECK(ddbs_sigv4_string_to_sign(g_vec.amz_date, g_vec.scope, g_vec.expected_creq.data, g_vec.expected_creq.len,
                                  &sts) == 0);
  CHECK_BUF_EQ(&sts, g_vec.expected_sts.data);
  /* stages 1-2 chained */
  CHECK(ddbs_sigv4_canonical_request(&g_vec.req, &creq, &sh) == 0);
  CHECK(ddbs_sigv4_string_to_sign(g_vec.amz_date, g_vec.scope, creq.data, creq.len, &sts2) == 0);
  CHECK_BUF_EQ(&sts2, g_vec.expected_sts.data);
  ddbs_buf_free(&sts);
  ddbs_buf_free(&creq);
  ddbs_buf_free(&sh);
  ddbs_buf_free(&sts2);
}

static void vector_signature(void) {
  unsigned char key[32];
  char hex[65];
  ddbs_buf creq = DDBS_BUF_INIT, sh = DDBS_BUF_INIT, sts = DDBS_BUF_INIT, auth = DDBS_BUF_INIT;
  CHECK(ddbs_sigv4_signing_key(g_vec.secret, g_vec.date8, g_vec.region, g_vec.service, key) == 0);
  /* stage 4 alone, from the expected string to sign */
  CHECK(ddbs_sigv4_signature(key, g_vec.expected_sts.data, g_vec.expected_sts.len, hex) == 0);
  CHECK_STREQ(hex, g_vec.expected_sig.data);
  /* the whole chain, up to the Authorization header of the signed request */
  CHECK(ddbs_sigv4_canonical_request(&g_vec.req, &creq, &sh) == 0);
  CHECK(ddbs_sigv4_string_to_sign(g_vec.amz_date, g_vec.scope, creq.data, creq.len, &sts) == 0);
  CHECK(ddbs_sigv4_signature(key, sts.data, sts.len, hex) == 0);
  CHECK_STREQ(hex, g_vec.expected_sig.data);
  CHECK(ddbs_sigv4_authorization(g_vec.access_key_id, g_vec.scope, sh.data, hex, &auth) == 0);
  CHECK_BUF_EQ(&auth, g_vec.expected_auth);
  ddbs_secure_zero(key, sizeof key);
  ddbs_buf_free(&creq);
  ddbs_buf_free(&sh);
  ddbs_buf_free(&sts);
  ddbs_buf_free(&auth);
}

static int is_case_dir(const char *dir, const char *name) {
  char path[4096];
  struct stat st;
  if (name[0] == '.') return 0;
  if (snprintf(path, sizeof path, "%s/%s/request.txt", dir, name) >= (int)sizeof path) return 0;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int cmp_str_ptr(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_vectors(void) {
  const char *dir = SIGV4_SUITE_DIR;
  char **names = NULL;
  size_t count = 0, cap = 0;
  DIR *d = opendir(dir);
  if (!d) {
    ctest_skip("sigv4 test suite", SIGV4_SUITE_DIR " not found; vector tests skipped");
    return;
  }
  struct dirent *e;
  int oom = 0;
  while ((e = readdir(d)) != NULL) {
    if (!is_case_dir(dir, e->d_name)) continue;
    if (count == cap) {
      size_t ncap = cap ? cap * 2 : 64;
      char **nn = realloc(names, ncap * sizeof *nn);
      if (!nn) {
        oom = 1;
        break;
      }
      names = nn;
      cap = ncap;
    }
    size_t len = strlen(e->d_name);
    names[count] = malloc(len + 1);
    if (!names[count]) {
      oom = 1;
      break;
    }
    memcpy(names[count++], e->d_name, len + 1);
  }
  closedir(d);
  if (oom) fprintf(stderr, "  out of memory listing %s\n", dir);
  if (count == 0) ctest_skip("sigv4 test suite", SIGV4_SUITE_DIR " holds no case folders; vector tests skipped");
  qsort(names, count, sizeof *names, cmp_str_ptr);

  for (size_t i = 0; i < count; i++) {
    char case_name[512];
    memset(&g_vec, 0, sizeof g_vec);
    if (vector_load(&g_vec, dir, names[i]) != 0) {
      snprintf(case_name, sizeof case_name, "sigv4 vector %s: load", names[i]);
      ctest_run(case_name, vector_load_failed);
    } else {
      snprintf(case_name, sizeof case_name, "sigv4 vector %s: canonical request", names[i]);
      ctest_run(case_name, vector_canonical_request);
      snprintf(case_name, sizeof case_name, "sigv4 vector %s: string to sign", names[i]);
      ctest_run(case_name, vector_string_to_sign);
      snprintf(case_name, sizeof case_name, "sigv4 vector %s: signature and Authorization", names[i]);
      ctest_run(case_name, vector_signature);
    }
    vector_free(&g_vec);
    free(names[i]);
  }
  free(names);
}

/* ---- hand-made cases ---- */

static void test_signing_key_docs_example(void) {
  unsigned char key[32];
  char hex[65] = {0};
  static const char *const hx = "0123456789abcdef";
  CHECK(ddbs_sigv4_signing_key(SECRET, "20120215", "us-east-1", "iam", key) == 0);
  for (int i = 0; i < 32; i++) {
    hex[2 * i] = hx[key[i] >> 4];
    hex[2 * i + 1] = hx[key[i] & 15];
  }
  CHECK_STREQ(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
  /* a secret longer than the stack buffer takes the heap path; bad date8 fails and wipes key */
  char long_secret[300];
  memset(long_secret, 'k', sizeof long_secret - 1);
  long_secret[sizeof long_secret - 1] = '\0';
  CHECK(ddbs_sigv4_signing_key(long_secret, "20120215", "us-east-1", "iam", key) == 0);
  CHECK(ddbs_sigv4_signing_key(SECRET, "2012021", "us-east-1", "iam", key) == -1);
  unsigned char zero[32] = {0};
  CHECK(memcmp(key, zero, 32) == 0);
  CHECK(ddbs_sigv4_signing_key(NULL, "20120215", "us-east-1", "iam", key) == -1);
}

static void test_parse_http_date(void) {
  const char *d = "Wed, 25 Nov 2026 20:20:59 GMT";
  CHECK(ddbs_parse_http_date(d, strlen(d)) == 1795638059LL);
  d = "Thu, 01 Jan 1970 00:00:00 GMT";
  CHECK(ddbs_parse_http_date(d, strlen(d)) == 0);
  d = "Tue, 29 Feb 2000 23:59:59 GMT"; /* leap day */
  CHECK(ddbs_parse_http_date(d, strlen(d)) == 951868799LL);
  d = "Sun, 30 Aug 2015 12:36:00 GMT";
  CHECK(ddbs_parse_http_date(d, strlen(d)) == 1440938160LL);
  d = "Fri, 31 Dec 9999 23:59:59 GMT";
  CHECK(ddbs_parse_http_date(d, strlen(d)) == 253402300799LL);
  /* round trip with the amz-date formatter over a range of times */
  int bad = 0;
  static const char *days[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
  static const char *mons[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (long long t = 0; t < 4102444800LL; t += 86400LL * 37 + 3671) {
    char amz[17], http[40];
    ddbs_sigv4_format_amz_date(t, amz);
    int mon = (amz[4] - '0') * 10 + (amz[5] - '0');
    snprintf(http, sizeof http, "%s, %.2s %s %.4s %.2s:%.2s:%.2s GMT", days[(t / 86400) % 7], amz + 6, mons[mon - 1], amz,
             amz + 9, amz + 11, amz + 13);
    if (ddbs_parse_http_date(http, strlen(http)) != t) bad++;
  }
  CHECK(bad == 0);
  /* what is not an IMF-fixdate: 0 */
  const char *no[] = {"", "garbage", "Wed, 25 Nov 2026 20:20:59", "Wed, 25 Foo 2026 20:20:59 GMT",
                      "Wed, 32 Nov 2026 20:20:59 GMT", "Wed, 25 Nov 2026 24:00:00 GMT", "Wednesday, 25-Nov-26 20:20:59 GMT",
                      "Wed, 25 Nov 1969 20:20:59 GMT", "Wed, 25 ovN 2026 20:20:59 GMT"};
  for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) CHECK(ddbs_parse_http_date(no[i], strlen(no[i])) == 0);
  char longer[100];
  memset(longer, 'x', sizeof longer);
  CHECK(ddbs_parse_http_date(longer, sizeof longer) == 0);
}

static void test_format_amz_date(void) {
  char out[17];
  CHECK(ddbs_sigv4_format_amz_date(0, out) == 0);
  CHECK_STREQ(out, "19700101T000000Z");
  CHECK(ddbs_sigv4_format_amz_date(1440938160, out) == 0);
  CHECK_STREQ(out, "20150830T123600Z");
  CHECK(ddbs_sigv4_format_amz_date(951868799, out) == 0); /* leap day */
  CHECK_STREQ(out, "20000229T235959Z");
  CHECK(ddbs_sigv4_format_amz_date(-1, out) == 0);
  CHECK_STREQ(out, "19691231T235959Z");
  CHECK(ddbs_sigv4_format_amz_date(253402300799LL, out) == 0);
  CHECK_STREQ(out, "99991231T235959Z");
  CHECK(ddbs_sigv4_format_amz_date(253402300800LL, out) == -1); /* year 10000: not 4 digits */
}

static void test_sha256_hex(void) {
  char hex[65];
  CHECK(ddbs_sigv4_sha256_hex("", 0, hex) == 0);
  CHECK_STREQ(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(ddbs_sigv4_sha256_hex(NULL, 0, hex) == 0);
  CHECK_STREQ(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(ddbs_sigv4_sha256_hex("abc", 3, hex) == 0);
  CHECK_STREQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(ddbs_sigv4_sha256_hex(NULL, 1, hex) == -1);
}

#define DDB_BODY "{\"TableName\":\"sessions\",\"Key\":{\"id\":{\"S\":\"abc\"}},\"ConsistentRead\":true}"
#define DDB_HOST "dynamodb.us-east-1.amazonaws.com"
#define DDB_TARGET "DynamoDB_20120810.GetItem"
#define DDB_DATE "20150830T123600Z"
#define DDB_TOKEN "FwoGZXIvYXdzEXAMPLESESSIONTOKEN+/="

/* Signs r with the production signer (a fresh one, key set) and appends to out; its return code. */
static int signer_sign(const ddbs_sigv4_dynamodb *r, const unsigned char key[32], ddbs_buf *out) {
  ddbs_sigv4_signer *s = ddbs_sigv4_signer_new();
  int rc = s && ddbs_sigv4_signer_set_key(s, key) == 0 ? ddbs_sigv4_sign_dynamodb_with(s, r, out) : -2;
  ddbs_sigv4_signer_free(s);
  return rc;
}

/* Checks the production signer against the reference (the generic stages, sigv4_ref.c) and
 * against an expected value. */
static void check_dynamodb(const ddbs_sigv4_dynamodb *r, const char *expected_auth, const char *expected_sh) {
  unsigned char key[32];
  char date8[9];
  ddbs_buf fast = DDBS_BUF_INIT, generic = DDBS_BUF_INIT;
  memcpy(date8, r->amz_date, 8);
  date8[8] = '\0';
  CHECK(ddbs_sigv4_signing_key(SECRET, date8, r->region, "dynamodb", key) == 0);
  CHECK(signer_sign(r, key, &fast) == 0);
  CHECK(ddbs_sigv4_sign_dynamodb(r, key, &generic) == 0);
  CHECK_STREQ(fast.data, generic.data);
  if (expected_auth) CHECK_STREQ(fast.data, expected_auth);
  /* the SignedHeaders= part */
  const char *s = fast.data ? strstr(fast.data, "SignedHeaders=") : NULL;
  const char *e = s ? strstr(s, ", Signature=") : NULL;
  CHECK(s && e);
  if (s && e) {
    s += strlen("SignedHeaders=");
    CHECK((size_t)(e - s) == strlen(expected_sh) && memcmp(s, expected_sh, strlen(expected_sh)) == 0);
  }
  ddbs_buf_free(&fast);
  ddbs_buf_free(&generic);
}

static void test_dynamodb_no_token(void) {
  /* Expected Authorization computed with Python's hmac/hashlib (an independent signer). */
  ddbs_sigv4_dynamodb r = {"AKIDEXAMPLE", NULL, "us-east-1", DDB_DATE, DDB_HOST, DDB_TARGET,
                           DDB_BODY, strlen(DDB_BODY)};
  check_dynamodb(&r,
                 "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/dynamodb/aws4_request, "
                 "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
                 "Signature=1d1bdcc044a1c83f3ad14ecccae48f72f08dc94f2b61e092b49db711ca9585c2",
                 "content-type;host;x-amz-date;x-amz-target");
  r.session_token = ""; /* empty token = none */
  check_dynamodb(&r,
                 "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/dynamodb/aws4_request, "
                 "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
                 "Signature=1d1bdcc044a1c83f3ad14ecccae48f72f08dc94f2b61e092b49db711ca9585c2",
                 "content-type;host;x-amz-date;x-amz-target");
  /* local endpoint with a port, empty body, another region and date */
  ddbs_sigv4_dynamodb l = {"AKIDEXAMPLE", NULL, "eu-west-1", "20240229T235959Z", "127.0.0.1:8000",
                           "DynamoDB_20120810.DeleteItem", NULL, 0};
  check_dynamodb(&l,
                 "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240229/eu-west-1/dynamodb/aws4_request, "
                 "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
                 "Signature=f019982fef8ce64c782465deed3dd4cefc40e29e512720f947bfdfce1f9b1c27",
                 "content-type;host;x-amz-date;x-amz-target");
  /* spaces and tabs are folded for signing (and may be sent as they are): both paths agree */
  ddbs_sigv4_dynamodb w = {"AKIDEXAMPLE", " tok\t\ten  ", "us-east-1", DDB_DATE, "  h  ", "\tDynamoDB_20120810. GetItem ",
                           "{}", 2};
  check_dynamodb(&w, NULL, "content-type;host;x-amz-date;x-amz-security-token;x-amz-target");
}

static void test_dynamodb_session_token(void) {
  ddbs_sigv4_dynamodb r = {"AKIDEXAMPLE", DDB_TOKEN, "us-east-1", DDB_DATE, DDB_HOST, DDB_TARGET,
                           DDB_BODY, strlen(DDB_BODY)};
  check_dynamodb(&r,
                 "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/dynamodb/aws4_request, "
                 "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, "
                 "Signature=87de8900b7223525990a4c66d18c3b8014c83b4af1fe931ecb2d757084fcf56f",
                 "content-type;host;x-amz-date;x-amz-security-token;x-amz-target");
  /* a token larger than the signer's stack buffer (heap path) */
  char *big = malloc(5001);
  CHECK(big != NULL);
  if (!big) return;
  for (int i = 0; i < 5000; i++) big[i] = (char)('A' + i % 26);
  big[5000] = '\0';
  r.session_token = big;
  check_dynamodb(&r, NULL, "content-type;host;x-amz-date;x-amz-security-token;x-amz-target");
  free(big);
}

/* Both the signer and the reference refuse r (-1) and append nothing to a buffer holding "keep". */
static void check_refused(const ddbs_sigv4_dynamodb *r, const unsigned char key[32], int line) {
  ddbs_buf a = DDBS_BUF_INIT, b = DDBS_BUF_INIT;
  ddbs_buf_append_str(&a, "keep");
  ddbs_buf_append_str(&b, "keep");
  int rc_fast = signer_sign(r, key, &a), rc_ref = ddbs_sigv4_sign_dynamodb(r, key, &b);
  if (rc_fast != -1 || rc_ref != -1 || a.len != 4 || b.len != 4)
    fprintf(stderr, "  (request refused at test_sigv4.c:%d: signer %d, reference %d)\n", line, rc_fast, rc_ref);
  CHECK(rc_fast == -1);
  CHECK(rc_ref == -1);
  CHECK_BUF_EQ(&a, "keep");
  CHECK_BUF_EQ(&b, "keep");
  ddbs_buf_free(&a);
  ddbs_buf_free(&b);
}
#define CHECK_REFUSED(r, key) check_refused((r), (key), __LINE__)

static void test_dynamodb_appends_and_errors(void) {
  unsigned char key[32];
  ddbs_buf out = DDBS_BUF_INIT, ref = DDBS_BUF_INIT;
  ddbs_sigv4_dynamodb r = {"AKIDEXAMPLE", NULL, "us-east-1", DDB_DATE, DDB_HOST, DDB_TARGET,
                           DDB_BODY, strlen(DDB_BODY)};
  CHECK(ddbs_sigv4_signing_key(SECRET, "20150830", "us-east-1", "dynamodb", key) == 0);
  ddbs_buf_append_str(&out, "Authorization: ");
  ddbs_buf_append_str(&ref, "Authorization: ");
  CHECK(signer_sign(&r, key, &out) == 0);
  CHECK(ddbs_sigv4_sign_dynamodb(&r, key, &ref) == 0);
  static const char expected[] = "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/dynamodb/"
                                 "aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
                                 "Signature=1d1bdcc044a1c83f3ad14ecccae48f72f08dc94f2b61e092b49db711ca9585c2";
  CHECK_BUF_EQ(&out, expected);
  CHECK_BUF_EQ(&ref, expected);

  ddbs_sigv4_dynamodb bad = r;
  bad.amz_date = "2015-08-30T12:36";
  CHECK_REFUSED(&bad, key);
  bad.amz_date = "20150830T1236000";
  CHECK_REFUSED(&bad, key);
  bad.amz_date = NULL;
  CHECK_REFUSED(&bad, key);
  bad = r;
  bad.host = NULL;
  CHECK_REFUSED(&bad, key);
  bad = r;
  bad.access_key_id = NULL;
  CHECK_REFUSED(&bad, key);
  bad = r;
  bad.region = NULL;
  CHECK_REFUSED(&bad, key);
  bad = r;
  bad.target = NULL;
  CHECK_REFUSED(&bad, key);
  bad = r;
  bad.body = NULL; /* with body_len > 0 */
  CHECK_REFUSED(&bad, key);
  CHECK_REFUSED(NULL, key);
  /* the region's limit: DDBS_SIGV4_MAX_REGION bytes signs, one more is refused */
  char region[DDBS_SIGV4_MAX_REGION + 2];
  memset(region, 'r', sizeof region - 1);
  region[sizeof region - 1] = '\0';
  bad = r;
  bad.region = region;
  CHECK_REFUSED(&bad, key);
  region[DDBS_SIGV4_MAX_REGION] = '\0';
  ddbs_buf_reset(&out);
  ddbs_buf_reset(&ref);
  CHECK(signer_sign(&bad, key, &out) == 0);
  CHECK(ddbs_sigv4_sign_dynamodb(&bad, key, &ref) == 0);
  CHECK(out.len > 0 && out.len == ref.len && strcmp(out.data, ref.data) == 0);
  /* no signer, or one without a key */
  ddbs_buf_reset(&out);
  CHECK(ddbs_sigv4_sign_dynamodb_with(NULL, &r, &out) == -1);
  ddbs_sigv4_signer *s = ddbs_sigv4_signer_new();
  CHECK(s != NULL);
  CHECK(ddbs_sigv4_sign_dynamodb_with(s, &r, &out) == -1);
  CHECK(ddbs_sigv4_signer_set_key(s, key) == 0);
  CHECK(ddbs_sigv4_sign_dynamodb_with(s, &r, NULL) == -1);
  CHECK(ddbs_sigv4_sign_dynamodb(&r, NULL, &out) == -1);
  CHECK(ddbs_sigv4_sign_dynamodb(&r, key, NULL) == -1);
  CHECK(out.len == 0);
  ddbs_sigv4_signer_free(s);
  ddbs_buf_free(&out);
  ddbs_buf_free(&ref);
}

/* A CR or LF in a value sent as a header field (or inside one: the Authorization's Credential=)
 * would split the HTTP request, yet signs fine, since signing folds it into a space: refused. */
static void test_dynamodb_refuses_line_breaks(void) {
  unsigned char key[32];
  CHECK(ddbs_sigv4_signing_key(SECRET, "20150830", "us-east-1", "dynamodb", key) == 0);
  const ddbs_sigv4_dynamodb r = {"AKIDEXAMPLE", DDB_TOKEN, "us-east-1", DDB_DATE, DDB_HOST, DDB_TARGET,
                                 DDB_BODY, strlen(DDB_BODY)};
  /* the case that motivated the rule: a session token with "\r\n" (an injected header) */
  {
    ddbs_sigv4_signer *s = ddbs_sigv4_signer_new();
    ddbs_buf out = DDBS_BUF_INIT;
    ddbs_sigv4_dynamodb t = r;
    t.session_token = "FwoGZXIvYXdzEXAMPLE\r\nX-Injected: 1";
    CHECK(s != NULL);
    CHECK(ddbs_sigv4_signer_set_key(s, key) == 0);
    CHECK(ddbs_sigv4_sign_dynamodb_with(s, &t, &out) == -1);
    CHECK(out.len == 0 && out.data == NULL); /* nothing appended (not even allocated) */
    ddbs_buf_append_str(&out, "Authorization: ");
    CHECK(ddbs_sigv4_sign_dynamodb_with(s, &t, &out) == -1);
    CHECK_BUF_EQ(&out, "Authorization: ");
    /* the same signer still signs a good request afterwards */
    CHECK(ddbs_sigv4_sign_dynamodb_with(s, &r, &out) == 0);
    CHECK(out.len > strlen("Authorization: "));
    ddbs_sigv4_signer_free(s);
    ddbs_buf_free(&out);
  }
  /* every field, CR alone, LF alone, CRLF; at the start, inside and at the end (where folding
   * would have trimmed it away entirely) */
  static const char *const breaks[] = {"\r", "\n", "\r\n"};
  enum { F_AKID, F_TOKEN, F_REGION, F_HOST, F_TARGET, F_COUNT };
  int refused = 0, total = 0;
  for (int f = 0; f < F_COUNT; f++) {
    for (size_t b = 0; b < sizeof breaks / sizeof breaks[0]; b++) {
      for (int where = 0; where < 3; where++) {
        char value[64];
        const char *base = f == F_AKID ? "AKIDEXAMPLE" : f == F_TOKEN ? "token" : f == F_REGION ? "us-east-1"
                           : f == F_HOST ? DDB_HOST : DDB_TARGET;
        if (where == 0) snprintf(value, sizeof value, "%s%s", breaks[b], base);
        else if (where == 1) snprintf(value, sizeof value, "%.3s%s%s", base, breaks[b], base + 3);
        else snprintf(value, sizeof value, "%s%s", base, breaks[b]);
        ddbs_sigv4_dynamodb t = r;
        if (f == F_AKID) t.access_key_id = value;
        if (f == F_TOKEN) t.session_token = value;
        if (f == F_REGION) t.region = value;
        if (f == F_HOST) t.host = value;
        if (f == F_TARGET) t.target = value;
        ddbs_buf a = DDBS_BUF_INIT, b2 = DDBS_BUF_INIT;
        int rc_fast = signer_sign(&t, key, &a), rc_ref = ddbs_sigv4_sign_dynamodb(&t, key, &b2);
        total++;
        if (rc_fast == -1 && rc_ref == -1 && a.len == 0 && b2.len == 0) refused++;
        else fprintf(stderr, "  not refused: field %d, break %zu, position %d (signer %d, reference %d)\n", f, b, where,
                     rc_fast, rc_ref);
        ddbs_buf_free(&a);
        ddbs_buf_free(&b2);
      }
    }
  }
  CHECK(total == 45);
  CHECK(refused == total);
}

/* One signer reused across many requests, keys switched back and forth (as the worker does at
 * midnight or on new credentials): every Authorization equals the reference's (the generic stages
 * with one-shot HMAC() and EVP_Digest(), an independent path). */
static void test_dynamodb_signer_reuse(void) {
  const char *dates[3] = {"20150830T123600Z", "20240229T235959Z", "20150830T000000Z"};
  const char *regions[3] = {"us-east-1", "eu-west-1", "us-east-1"};
  unsigned char keys[3][32];
  char body[5001];
  for (size_t i = 0; i < sizeof body - 1; i++) body[i] = (char)(' ' + (i * 7) % 95);
  body[5000] = '\0';
  for (int k = 0; k < 3; k++) {
    char date8[9];
    memcpy(date8, dates[k], 8);
    date8[8] = '\0';
    CHECK(ddbs_sigv4_signing_key(SECRET, date8, regions[k], "dynamodb", keys[k]) == 0);
  }
  ddbs_sigv4_signer *s = ddbs_sigv4_signer_new();
  CHECK(s != NULL);
  if (!s) return;
  ddbs_buf out = DDBS_BUF_INIT, generic = DDBS_BUF_INIT;
  ddbs_sigv4_dynamodb r = {"AKIDEXAMPLE", NULL, "us-east-1", DDB_DATE, DDB_HOST, DDB_TARGET, DDB_BODY, 0};
  CHECK(ddbs_sigv4_sign_dynamodb_with(s, &r, &out) == -1); /* no key yet */
  CHECK(out.len == 0);
  int mismatches = 0, failures = 0, compared = 0;
  for (int i = 0; i < 600; i++) {
    int k = (i / 7) % 3; /* runs of the same key, then a switch */
    r.amz_date = dates[k];
    r.region = regions[k];
    r.body = body;
    r.body_len = i < 580 ? (size_t)(i * 13) % 400 : 5000 - (size_t)i;
    r.session_token = i % 5 == 0 ? DDB_TOKEN : NULL;
    ddbs_buf_reset(&out);
    ddbs_buf_reset(&generic);
    if (ddbs_sigv4_signer_set_key(s, keys[k]) != 0 || ddbs_sigv4_sign_dynamodb_with(s, &r, &out) != 0 ||
        ddbs_sigv4_sign_dynamodb(&r, keys[k], &generic) != 0) {
      failures++;
      continue;
    }
    compared++;
    if (strcmp(out.data, generic.data) != 0) mismatches++;
  }
  CHECK(failures == 0);
  CHECK(mismatches == 0);
  CHECK(compared == 600);
  /* the known answer, after all that reuse */
  r = (ddbs_sigv4_dynamodb){"AKIDEXAMPLE", NULL, "us-east-1", DDB_DATE, DDB_HOST, DDB_TARGET, DDB_BODY, strlen(DDB_BODY)};
  ddbs_buf_reset(&out);
  CHECK(ddbs_sigv4_signer_set_key(s, keys[0]) == 0);
  CHECK(ddbs_sigv4_sign_dynamodb_with(s, &r, &out) == 0);
  CHECK_STREQ(out.data, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/dynamodb/aws4_request, "
                        "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
                        "Signature=1d1bdcc044a1c83f3ad14ecccae48f72f08dc94f2b61e092b49db711ca9585c2");
  CHECK(ddbs_sigv4_signer_set_key(NULL, keys[0]) == -1);
  CHECK(ddbs_sigv4_signer_set_key(s, NULL) == -1);
  CHECK(ddbs_sigv4_sign_dynamodb_with(NULL, &r, &out) == -1);
  ddbs_sigv4_signer_free(s);
  ddbs_sigv4_signer_free(NULL);
  ddbs_buf_free(&out);
  ddbs_buf_free(&generic);
}

/* Canonical request of a GET with the given path/query/headers (no body). */
static void canon(const char *path, const char *query, int normalize, const ddbs_sigv4_header *h, size_t n,
                  ddbs_buf *out, ddbs_buf *sh) {
  ddbs_sigv4_request req = {"GET", path, query, h, n, NULL, 0, normalize};
  CHECK(ddbs_sigv4_canonical_request(&req, out, sh) == 0);
}

#define EMPTY_HASH "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define HOST_ONLY "host:h\n\nhost\n" EMPTY_HASH

static void check_canon(const char *path, const char *query, int normalize, const char *expected) {
  ddbs_sigv4_header host = HDR("Host", "h");
  ddbs_buf out = DDBS_BUF_INIT, sh = DDBS_BUF_INIT;
  canon(path, query, normalize, &host, 1, &out, &sh);
  CHECK_BUF_EQ(&out, expected);
  CHECK_BUF_EQ(&sh, "host");
  ddbs_buf_free(&out);
  ddbs_buf_free(&sh);
}

static void test_canonical_uri(void) {
  check_canon(NULL, NULL, 1, "GET\n/\n\n" HOST_ONLY);
  check_canon("", NULL, 0, "GET\n/\n\n" HOST_ONLY);
  check_canon("/a/b/..", NULL, 1, "GET\n/a\n\n" HOST_ONLY);
  check_canon("/a/b/../", NULL, 1, "GET\n/a/\n\n" HOST_ONLY);
  check_canon("/a/./b/.", NULL, 1, "GET\n/a/b\n\n" HOST_ONLY);
  check_canon("/../../a", NULL, 1, "GET\n/a\n\n" HOST_ONLY);
  check_canon("a//b", NULL, 1, "GET\n/a/b\n\n" HOST_ONLY);
  check_canon("/..a/.b./...", NULL, 1, "GET\n/..a/.b./...\n\n" HOST_ONLY);
  /* encoded once as given: '%' itself is encoded (the double encoding AWS wants) */
  check_canon("/a%20b/c+d/\xc3\xa9!*", NULL, 1, "GET\n/a%2520b/c%2Bd/%C3%A9%21%2A\n\n" HOST_ONLY);
  check_canon("/a%20b/./c d", NULL, 0, "GET\n/a%2520b/./c%20d\n\n" HOST_ONLY);
}

static void test_canonical_query(void) {
  check_canon("/", "", 1, "GET\n/\n\n" HOST_ONLY);
  check_canon("/", "&&", 1, "GET\n/\n\n" HOST_ONLY);
  /* empty values, keys without '=', duplicate keys sorted by value */
  check_canon("/", "b=2&a&a=1&c=&a=0", 1, "GET\n/\na=&a=0&a=1&b=2&c=\n" HOST_ONLY);
  /* decode then encode: %7e -> ~, lowercase escapes -> uppercase, invalid escapes stay literal,
   * '+' is literal, '=' inside a value is encoded, space encoded %20 */
  check_canon("/", "k%7e=%2fx%2F&z=%zz&p=a+b&e=x=y&s=a b&t=%4", 1,
              "GET\n/\ne=x%3Dy&k~=%2Fx%2F&p=a%2Bb&s=a%20b&t=%254&z=%25zz\n" HOST_ONLY);
  /* sorted by encoded key: "%E1..." < "A" < "a" */
  check_canon("/", "a=1&A=2&\xe1\x88\xb4=3", 1, "GET\n/\n%E1%88%B4=3&A=2&a=1\n" HOST_ONLY);
}

static void test_canonical_headers(void) {
  ddbs_sigv4_header h[] = {
      HDR("X-B", "  two\t words  "),
      HDR("host", "h"),
      HDR("x-a", "first"),
      HDR("X-A", "second\r\n   line"),
      HDR("x-empty", "   "),
      HDR("X-a", ""),
  };
  ddbs_buf out = DDBS_BUF_INIT, sh = DDBS_BUF_INIT;
  canon("/", NULL, 1, h, sizeof h / sizeof h[0], &out, &sh);
  CHECK_BUF_EQ(&out, "GET\n/\n\nhost:h\nx-a:first,second line,\nx-b:two words\nx-empty:\n\n"
                     "host;x-a;x-b;x-empty\n" EMPTY_HASH);
  CHECK_BUF_EQ(&sh, "host;x-a;x-b;x-empty");
  ddbs_buf_free(&out);
  ddbs_buf_free(&sh);
}

/* More headers and parameters than the stack arrays hold; expected text built independently. */
static void test_canonical_many(void) {
  enum { NH = 40, NP = 20 };
  ddbs_sigv4_header h[NH];
  char names[NH][16], values[NH][16];
  ddbs_buf query = DDBS_BUF_INIT, expected = DDBS_BUF_INIT, exp_sh = DDBS_BUF_INIT;
  ddbs_buf out = DDBS_BUF_INIT, sh = DDBS_BUF_INIT;
  for (int i = 0; i < NH; i++) { /* given in reverse order */
    snprintf(names[i], sizeof names[i], "X-H%02d", NH - 1 - i);
    snprintf(values[i], sizeof values[i], "v%02d", NH - 1 - i);
    h[i] = (ddbs_sigv4_header){names[i], strlen(names[i]), values[i], strlen(values[i])};
  }
  for (int i = NP - 1; i >= 0; i--) ddbs_buf_printf(&query, "%sp%02d=v", i == NP - 1 ? "" : "&", i);
  ddbs_buf_append_str(&expected, "GET\n/x\n");
  for (int i = 0; i < NP; i++) ddbs_buf_printf(&expected, "%sp%02d=v", i ? "&" : "", i);
  ddbs_buf_append_str(&expected, "\n");
  for (int i = 0; i < NH; i++) {
    ddbs_buf_printf(&expected, "x-h%02d:v%02d\n", i, i);
    ddbs_buf_printf(&exp_sh, "%sx-h%02d", i ? ";" : "", i);
  }
  ddbs_buf_printf(&expected, "\n%s\n%s", exp_sh.data, EMPTY_HASH);
  canon("/x", query.data, 1, h, NH, &out, &sh);
  CHECK_BUF_EQ(&out, expected.data);
  CHECK_BUF_EQ(&sh, exp_sh.data);
  ddbs_buf_free(&query);
  ddbs_buf_free(&expected);
  ddbs_buf_free(&exp_sh);
  ddbs_buf_free(&out);
  ddbs_buf_free(&sh);
}

static void test_errors_leave_buffers_unchanged(void) {
  ddbs_buf out = DDBS_BUF_INIT, sh = DDBS_BUF_INIT;
  ddbs_buf_append_str(&out, "keep");
  ddbs_buf_append_str(&sh, "keep");
  ddbs_sigv4_header bad[] = {HDR("Host", "h"), HDR("Bad Name", "v")};
  ddbs_sigv4_request req = {"GET", "/", "a=1", bad, 2, NULL, 0, 1};
  CHECK(ddbs_sigv4_canonical_request(&req, &out, &sh) == -1);
  CHECK_BUF_EQ(&out, "keep");
  CHECK_BUF_EQ(&sh, "keep");
  ddbs_sigv4_header colon[] = {HDR("a:b", "v")};
  req.headers = colon;
  req.header_count = 1;
  CHECK(ddbs_sigv4_canonical_request(&req, &out, &sh) == -1);
  ddbs_sigv4_header empty[] = {HDR("", "v")};
  req.headers = empty;
  CHECK(ddbs_sigv4_canonical_request(&req, &out, &sh) == -1);
  req.headers = NULL; /* with header_count 1 */
  CHECK(ddbs_sigv4_canonical_request(&req, &out, &sh) == -1);
  req.header_count = 0;
  req.method = "G T";
  CHECK(ddbs_sigv4_canonical_request(&req, &out, &sh) == -1);
  req.method = "GET";
  req.payload_len = 3; /* with payload NULL */
  CHECK(ddbs_sigv4_canonical_request(&req, &out, &sh) == -1);
  CHECK(ddbs_sigv4_canonical_request(NULL, &out, &sh) == -1);
  CHECK_BUF_EQ(&out, "keep");
  CHECK_BUF_EQ(&sh, "keep");

  char hex[65];
  unsigned char key[32] = {0};
  CHECK(ddbs_sigv4_string_to_sign(NULL, "s", "c", 1, &out) == -1);
  CHECK(ddbs_sigv4_string_to_sign("d", "s", NULL, 1, &out) == -1);
  CHECK(ddbs_sigv4_signature(key, NULL, 1, hex) == -1);
  char short_hex[65] = "abc";
  CHECK(ddbs_sigv4_authorization("AK", "s", "host", short_hex, &out) == -1); /* not 64 hex chars */
  CHECK_BUF_EQ(&out, "keep");
  ddbs_buf_free(&out);
  ddbs_buf_free(&sh);
}

static void test_string_to_sign_and_authorization(void) {
  /* The AWS documentation's IAM ListUsers example (GET https://iam.amazonaws.com/?Action=ListUsers&
   * Version=2010-05-08, 20150830T123600Z): canonical request hash f536975d..., signature 5d672d79... */
  ddbs_sigv4_header h[] = {
      HDR("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
      HDR("Host", "iam.amazonaws.com"),
      HDR("X-Amz-Date", "20150830T123600Z"),
  };
  ddbs_sigv4_request req = {"GET", "/", "Action=ListUsers&Version=2010-05-08", h, 3, NULL, 0, 1};
  ddbs_buf creq = DDBS_BUF_INIT, sh = DDBS_BUF_INIT, sts = DDBS_BUF_INIT, auth = DDBS_BUF_INIT;
  unsigned char key[32];
  char hex[65];
  const char *scope = "20150830/us-east-1/iam/aws4_request";
  CHECK(ddbs_sigv4_canonical_request(&req, &creq, &sh) == 0);
  CHECK(ddbs_sigv4_string_to_sign("20150830T123600Z", scope, creq.data, creq.len, &sts) == 0);
  CHECK_BUF_EQ(&sts, "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n"
                     "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
  CHECK(ddbs_sigv4_signing_key(SECRET, "20150830", "us-east-1", "iam", key) == 0);
  CHECK(ddbs_sigv4_signature(key, sts.data, sts.len, hex) == 0);
  CHECK_STREQ(hex, "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
  CHECK(ddbs_sigv4_authorization("AKIDEXAMPLE", scope, sh.data, hex, &auth) == 0);
  CHECK_BUF_EQ(&auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
                      "SignedHeaders=content-type;host;x-amz-date, "
                      "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
  ddbs_buf_free(&creq);
  ddbs_buf_free(&sh);
  ddbs_buf_free(&sts);
  ddbs_buf_free(&auth);
}

void suite_sigv4(void) {
  ctest_run("sigv4 signing key: AWS documentation example (iam, 20120215)", test_signing_key_docs_example);
  ctest_run("sigv4 format_amz_date", test_format_amz_date);
  ctest_run("http date (Date header) parsing", test_parse_http_date);
  ctest_run("sigv4 sha256_hex", test_sha256_hex);
  ctest_run("sigv4 stages: AWS documentation IAM ListUsers example", test_string_to_sign_and_authorization);
  ctest_run("sigv4 canonical URI: normalization and encoding", test_canonical_uri);
  ctest_run("sigv4 canonical query: decode, encode, sort, empty values", test_canonical_query);
  ctest_run("sigv4 canonical headers: case, trim, fold, duplicates, sort", test_canonical_headers);
  ctest_run("sigv4 canonical request: 40 headers and 20 parameters", test_canonical_many);
  ctest_run("sigv4 errors leave buffers unchanged", test_errors_leave_buffers_unchanged);
  ctest_run("sigv4 dynamodb: no session token, signer = reference = expected", test_dynamodb_no_token);
  ctest_run("sigv4 dynamodb: session token, signer = reference = expected", test_dynamodb_session_token);
  ctest_run("sigv4 dynamodb: appends to the buffer; bad input refused by both", test_dynamodb_appends_and_errors);
  ctest_run("sigv4 dynamodb: CR/LF in any header value refused, nothing appended", test_dynamodb_refuses_line_breaks);
  ctest_run("sigv4 dynamodb: one signer, 600 requests, keys switched = reference", test_dynamodb_signer_reuse);
  run_vectors();
}
