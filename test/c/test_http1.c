/* test_http1.c: tests for http1.c, the HTTP/1.1 response reader and request writer.
 * Every response is also fed in every two-piece split and one byte at a time: the reader must give
 * the same header lines, body and verdict however the bytes arrive. */
#include <stdlib.h>
#include <string.h>

#include "ctest.h"
#include "http1.h"

typedef struct got {
  ddbs_buf headers; /* header lines, each followed by '|' */
  ddbs_buf body;
  int refuse_body;  /* the sink refuses the body */
} got;

static int on_header(void *user, const char *line, size_t len) {
  got *g = user;
  ddbs_buf_append(&g->headers, line, len);
  ddbs_buf_append_char(&g->headers, '|');
  return 0;
}

static int on_body(void *user, const char *data, size_t len) {
  got *g = user;
  if (g->refuse_body) return 1;
  ddbs_buf_append(&g->body, data, len);
  return 0;
}

typedef struct outcome {
  int rc;          /* of the last feed, or of eof when fed everything and asked */
  size_t used;     /* bytes of the input that belong to the response */
  int status, keep_alive;
  char headers[1024], body[4096], error[128];
} outcome;

/* Feeds text in pieces of `step` bytes (0: first `split` bytes, then the rest); then eof if asked. */
static void run(const char *text, size_t len, size_t split, size_t step, int eof, outcome *o) {
  ddbs_http1_reader *p = malloc(sizeof *p);
  got g = {DDBS_BUF_INIT, DDBS_BUF_INIT, 0};
  ddbs_http1_sink sink = {on_header, on_body, &g};
  memset(o, 0, sizeof *o);
  ddbs_http1_reader_init(p);
  size_t off = 0;
  int rc = DDBS_HTTP1_MORE;
  size_t fed = 0; /* bytes handed to the reader (off: bytes it took) */
  while (fed < len && rc == DDBS_HTTP1_MORE) {
    size_t n = step ? step : (fed < split ? split - fed : len - fed);
    if (n > len - fed) n = len - fed;
    size_t used = 0;
    rc = ddbs_http1_feed(p, text + fed, n, &used, &sink);
    if (rc == DDBS_HTTP1_MORE && used != n) rc = 99; /* MORE must consume everything */
    off = fed + used;
    fed += n;
  }
  if (rc == DDBS_HTTP1_MORE && eof) rc = ddbs_http1_eof(p);
  o->rc = rc;
  o->used = off;
  o->status = p->status;
  o->keep_alive = p->keep_alive;
  snprintf(o->headers, sizeof o->headers, "%s", g.headers.data ? g.headers.data : "");
  snprintf(o->body, sizeof o->body, "%s", g.body.data ? g.body.data : "");
  snprintf(o->error, sizeof o->error, "%s", p->error);
  ddbs_buf_free(&g.headers);
  ddbs_buf_free(&g.body);
  free(p);
}

/* The response must give the same outcome in every split and byte by byte. */
static void check(const char *text, int eof, int want_rc, int want_status, int want_keep, const char *want_headers,
                  const char *want_body, size_t want_used) {
  size_t len = strlen(text);
  outcome whole, o;
  run(text, len, len, 0, eof, &whole);
  CHECK(whole.rc == want_rc);
  if (whole.rc != want_rc) fprintf(stderr, "    rc %d (error: %s) for: %.60s\n", whole.rc, whole.error, text);
  if (want_rc == DDBS_HTTP1_DONE) {
    CHECK(whole.status == want_status);
    CHECK(whole.keep_alive == want_keep);
    if (want_headers) CHECK_STREQ(whole.headers, want_headers);
    if (want_body) CHECK_STREQ(whole.body, want_body);
    CHECK(whole.used == (want_used ? want_used : len));
  } else if (want_rc == DDBS_HTTP1_ERROR) {
    CHECK(whole.error[0] != '\0');
  }
  int mismatches = 0;
  for (size_t split = 0; split <= len; split++) {
    run(text, len, split, 0, eof, &o);
    if (o.rc != whole.rc || o.status != whole.status || strcmp(o.body, whole.body) != 0 ||
        strcmp(o.headers, whole.headers) != 0 || o.keep_alive != whole.keep_alive || o.used != whole.used)
      mismatches++;
  }
  run(text, len, 0, 1, eof, &o);
  if (o.rc != whole.rc || strcmp(o.body, whole.body) != 0 || strcmp(o.headers, whole.headers) != 0 ||
      o.used != whole.used)
    mismatches++;
  CHECK(mismatches == 0);
}

static void test_content_length(void) {
  check("HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nx-amz-crc32: 2745614147\r\n"
        "Content-Length: 2\r\n\r\n{}",
        0, DDBS_HTTP1_DONE, 200, 1,
        "HTTP/1.1 200 OK|Content-Type: application/x-amz-json-1.0|x-amz-crc32: 2745614147|Content-Length: 2|", "{}", 0);
  /* bare LF line ends; an empty body; a status line without a reason */
  check("HTTP/1.1 200\nContent-Length: 0\n\n", 0, DDBS_HTTP1_DONE, 200, 1, "HTTP/1.1 200|Content-Length: 0|", "", 0);
  /* the same length twice is fine */
  check("HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\ncontent-length:3\r\n\r\nabc", 0, DDBS_HTTP1_DONE, 400, 1,
        NULL, "abc", 0);
  /* bytes after the answer are not part of it */
  const char *two = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 200 OK\r\n";
  check(two, 0, DDBS_HTTP1_DONE, 200, 1, NULL, "{}", strlen("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"));
}

static void test_connection_and_versions(void) {
  check("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", 0, DDBS_HTTP1_DONE, 200, 0, NULL, "x", 0);
  check("HTTP/1.1 200 OK\r\nConnection: Keep-Alive, CLOSE\r\nContent-Length: 1\r\n\r\nx", 0, DDBS_HTTP1_DONE, 200, 0,
        NULL, "x", 0);
  check("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", 0, DDBS_HTTP1_DONE, 200, 0, NULL, "x", 0);
  check("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx", 0, DDBS_HTTP1_DONE, 200, 1, NULL,
        "x", 0);
  /* no length, not chunked: the body runs to the close */
  check("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", 1, DDBS_HTTP1_DONE, 200, 0, NULL,
        "until the end", 0);
  check("HTTP/1.1 200 OK\r\n\r\nmore to come", 0, DDBS_HTTP1_MORE, 0, 0, NULL, NULL, 0);
  /* no body for 204 and 304 even with a length */
  check("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", 0, DDBS_HTTP1_DONE, 204, 1, NULL, "", 0);
  check("HTTP/1.1 304 Not Modified\r\n\r\n", 0, DDBS_HTTP1_DONE, 304, 1, NULL, "", 0);
}

static void test_interim(void) {
  /* 100 Continue and 103 are skipped: their lines reach the sink, the final status wins */
  check("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        0, DDBS_HTTP1_DONE, 200, 1, "HTTP/1.1 100 Continue|HTTP/1.1 103 Early Hints|HTTP/1.1 200 OK|Content-Length: 2|",
        "ok", 0);
}

static void test_chunked(void) {
  check("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n1;ext=1\r\n \r\nA  \r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n",
        0, DDBS_HTTP1_DONE, 200, 1, "HTTP/1.1 200 OK|Transfer-Encoding: chunked|", "hello 0123456789", 0);
  /* chunked wins over a Content-Length; "gzip, chunked" ends in chunked (the body is not decoded) */
  check("HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 0,
        DDBS_HTTP1_DONE, 200, 1, NULL, "{}", 0);
  check("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n", 0, DDBS_HTTP1_DONE, 200, 1,
        NULL, "z", 0);
  /* cut short */
  check("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", 1, DDBS_HTTP1_ERROR, 0, 0, NULL, NULL, 0);
}

static void test_errors(void) {
  const char *bad[] = {
      "HTTP/2 200 OK\r\n\r\n",
      "ICY 200 OK\r\n\r\n",
      "HTTP/1.1 2x0 OK\r\n\r\n",
      "HTTP/1.1 200OK\r\n\r\n",
      "HTTP/1.1 099 Low\r\n\r\n",
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nab",
      "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
      "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
      "HTTP/1.1 200 OK\r\n: no name\r\n\r\n",
      "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
      "HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) check(bad[i], 1, DDBS_HTTP1_ERROR, 0, 0, NULL, NULL, 0);
  /* cut short, at each stage; and nothing at all */
  check("", 1, DDBS_HTTP1_ERROR, 0, 0, NULL, NULL, 0);
  check("HTTP/1.1 200 OK\r\nContent-Le", 1, DDBS_HTTP1_ERROR, 0, 0, NULL, NULL, 0);
  check("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345", 1, DDBS_HTTP1_ERROR, 0, 0, NULL, NULL, 0);
  outcome o;
  run("", 0, 0, 0, 1, &o);
  CHECK(strstr(o.error, "without answering") != NULL);
  /* a line longer than the limit, and a header larger than the limit */
  size_t n = DDBS_HTTP1_LINE_MAX + 64;
  char *big = malloc(n + 64);
  memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
  memset(big + 20, 'a', n);
  memcpy(big + 20 + n, "\r\n\r\n", 5);
  run(big, strlen(big), 0, 1000, 1, &o);
  CHECK(o.rc == DDBS_HTTP1_ERROR && strstr(o.error, "too long") != NULL);
  free(big);
  ddbs_http1_reader *p = malloc(sizeof *p);
  ddbs_http1_reader_init(p);
  ddbs_http1_sink sink = {NULL, NULL, NULL};
  size_t used = 0;
  int rc = ddbs_http1_feed(p, "HTTP/1.1 200 OK\r\n", 17, &used, &sink);
  for (int i = 0; i < 40000 && rc == DDBS_HTTP1_MORE; i++) rc = ddbs_http1_feed(p, "X-Filler: 0123456789\r\n", 22, &used, &sink);
  CHECK(rc == DDBS_HTTP1_ERROR && strstr(p->error, "too large") != NULL);
  /* after an error, more bytes do not revive it */
  CHECK(ddbs_http1_feed(p, "\r\n", 2, &used, &sink) == DDBS_HTTP1_ERROR);
  free(p);
}

static void test_sink_refuses(void) {
  got g = {DDBS_BUF_INIT, DDBS_BUF_INIT, 1};
  ddbs_http1_sink sink = {on_header, on_body, &g};
  ddbs_http1_reader *p = malloc(sizeof *p);
  ddbs_http1_reader_init(p);
  const char *t = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
  size_t used = 0;
  CHECK(ddbs_http1_feed(p, t, strlen(t), &used, &sink) == DDBS_HTTP1_ABORTED);
  ddbs_buf_free(&g.headers);
  ddbs_buf_free(&g.body);
  free(p);
}

static void test_write_request(void) {
  ddbs_buf out = DDBS_BUF_INIT;
  const char *fields[] = {"Host: 127.0.0.1:8000", "X-Amz-Target: DynamoDB_20120810.GetItem"};
  CHECK(ddbs_http1_write_request(&out, "/", fields, 2, "{}", 2) == 0);
  CHECK_STREQ(out.data, "POST / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nX-Amz-Target: DynamoDB_20120810.GetItem\r\n"
                        "Content-Length: 2\r\n\r\n{}");
  ddbs_buf_reset(&out);
  CHECK(ddbs_http1_write_request(&out, "/", NULL, 0, NULL, 0) == 0);
  CHECK_STREQ(out.data, "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  ddbs_buf_free(&out);
}

void suite_http1(void) {
  ctest_run("http1: Content-Length bodies, in every split and byte by byte", test_content_length);
  ctest_run("http1: Connection, HTTP/1.0, body to the close, 204/304", test_connection_and_versions);
  ctest_run("http1: interim 1xx answers are skipped", test_interim);
  ctest_run("http1: chunked bodies (extensions, trailers), cut short", test_chunked);
  ctest_run("http1: malformed answers and limits are errors with a reason", test_errors);
  ctest_run("http1: a sink that refuses the body aborts", test_sink_refuses);
  ctest_run("http1: the request writer", test_write_request);
}
