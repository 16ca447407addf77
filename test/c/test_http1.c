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
  size_t used;     /* bytes of the input that belong to the response (or where an error stopped it) */
  int status, keep_alive, interim;
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
  o->interim = p->interim;
  snprintf(o->headers, sizeof o->headers, "%s", g.headers.data ? g.headers.data : "");
  snprintf(o->body, sizeof o->body, "%s", g.body.data ? g.body.data : "");
  snprintf(o->error, sizeof o->error, "%s", p->error);
  ddbs_buf_free(&g.headers);
  ddbs_buf_free(&g.body);
  free(p);
}

static int same(const outcome *a, const outcome *b) {
  return a->rc == b->rc && a->status == b->status && a->keep_alive == b->keep_alive && a->interim == b->interim &&
         a->used == b->used && strcmp(a->body, b->body) == 0 && strcmp(a->headers, b->headers) == 0;
}

/* The len bytes at text must give the same outcome fed whole, split in two at every stride-th
 * position (and at the end), and byte by byte; the whole run's outcome goes to *whole_out. */
static void check_n(const char *text, size_t len, size_t stride, int eof, int want_rc, int want_status, int want_keep,
                    const char *want_headers, const char *want_body, size_t want_used, outcome *whole_out) {
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
  for (size_t split = 0; split <= len; split = split < len && split + stride > len ? len : split + stride) {
    run(text, len, split, 0, eof, &o);
    if (!same(&o, &whole)) mismatches++;
  }
  run(text, len, 0, 1, eof, &o);
  if (!same(&o, &whole)) mismatches++;
  CHECK(mismatches == 0);
  if (mismatches) fprintf(stderr, "    %d splits differ for: %.60s\n", mismatches, text);
  if (whole_out) *whole_out = whole;
}

/* The response must give the same outcome in every split and byte by byte. */
static void check(const char *text, int eof, int want_rc, int want_status, int want_keep, const char *want_headers,
                  const char *want_body, size_t want_used) {
  check_n(text, strlen(text), 1, eof, want_rc, want_status, want_keep, want_headers, want_body, want_used, NULL);
}

/* An error (in every split and byte by byte) whose message contains what. */
static void check_error(const char *text, size_t len, const char *what) {
  outcome o;
  check_n(text, len, 1, 1, DDBS_HTTP1_ERROR, 0, 0, NULL, NULL, 0, &o);
  CHECK(strstr(o.error, what) != NULL);
  if (!strstr(o.error, what)) fprintf(stderr, "    error \"%s\", expected \"%s\" for: %.60s\n", o.error, what, text);
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
  /* no body for 204 and 304 even with a length. Changed on purpose (strict keep-alive): a 204 that
   * announces a body (non-zero length, or chunked) may be followed by one, so the connection is
   * not reused (keep_alive 0; it was 1). A 304's length is the representation's: kept alive. */
  check("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", 0, DDBS_HTTP1_DONE, 204, 0, NULL, "", 0);
  check("HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n", 0, DDBS_HTTP1_DONE, 204, 0, NULL, "", 0);
  check("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", 0, DDBS_HTTP1_DONE, 204, 1, NULL, "", 0);
  check("HTTP/1.1 204 No Content\r\n\r\n", 0, DDBS_HTTP1_DONE, 204, 1, NULL, "", 0);
  check("HTTP/1.1 304 Not Modified\r\n\r\n", 0, DDBS_HTTP1_DONE, 304, 1, NULL, "", 0);
  check("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", 0, DDBS_HTTP1_DONE, 304, 1, NULL, "", 0);
  /* the answer after a 204 on the same connection is not part of it */
  check("HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\n", 0, DDBS_HTTP1_DONE, 204, 1, "HTTP/1.1 204 No Content|", "",
        strlen("HTTP/1.1 204 No Content\r\n\r\n"));
  /* HTTP/1.0: keep-alive only when asked, and never with a body that runs to the close */
  check("HTTP/1.0 204 No Content\r\nConnection: keep-alive\r\n\r\n", 0, DDBS_HTTP1_DONE, 204, 1, NULL, "", 0);
  check("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nto the close", 1, DDBS_HTTP1_DONE, 200, 0, NULL,
        "to the close", 0);
  check("HTTP/1.0 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 1\r\n\r\nx", 0, DDBS_HTTP1_DONE, 200,
        0, NULL, "x", 0);
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
  /* Changed on purpose (RFC 9112 strictness): Transfer-Encoding with Content-Length, and
   * "gzip, chunked", were read as chunked (DONE); both are errors now (see test_framing). */
  check("HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 0,
        DDBS_HTTP1_ERROR, 0, 0, NULL, NULL, 0);
  check("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n", 0, DDBS_HTTP1_ERROR, 0, 0,
        NULL, NULL, 0);
  /* chunk extensions: token or quoted-string values, whitespace around ; and = */
  check("HTTP/1.1 200 OK\r\nTransfer-Encoding: CHUNKED\r\n\r\n"
        "1;a\r\nx\r\n1 ; a = b ; c=\"q \\\" s;\"\r\ny\r\n1;a=\"\"\r\nz\r\n0;last\r\n\r\n",
        0, DDBS_HTTP1_DONE, 200, 1, NULL, "xyz", 0);
  /* well-formed trailers are read and not given to the sink */
  check("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nA: 1\r\nB:\r\nC:\t2\t\r\n\r\n", 0,
        DDBS_HTTP1_DONE, 200, 1, "HTTP/1.1 200 OK|Transfer-Encoding: chunked|", "x", 0);
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
      "HTTP/1.1 600 High\r\n\r\n",
      "HTTP/1.1 999 High\r\nContent-Length: 0\r\n\r\n",
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

/* A string literal that may hold a NUL: pointer and length. */
#define S(lit) lit, sizeof(lit) - 1

/* A buffer of `prefix`, then `fill` repeated to make `count` bytes, then `suffix` (caller frees). */
static char *build(const char *prefix, const char *fill, size_t count, const char *suffix, size_t *len) {
  size_t a = strlen(prefix), f = strlen(fill), c = strlen(suffix);
  char *t = malloc(a + count + c + 1);
  memcpy(t, prefix, a);
  for (size_t i = 0; i < count; i++) t[a + i] = fill[i % f];
  memcpy(t + a + count, suffix, c + 1);
  *len = a + count + c;
  return t;
}

static void test_framing(void) {
  /* Transfer-Encoding with Content-Length, in either order */
  check_error(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\n{}\r\n0\r\n\r\n"), "both");
  check_error(S("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}"), "both");
  check_error(S("HTTP/1.1 304 Not Modified\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"), "both");
  /* Transfer-Encoding in an HTTP/1.0 answer */
  check_error(S("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"), "HTTP/1.0");
  check_error(S("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), "HTTP/1.0");
  /* anything but exactly "chunked" */
  const char *codings[] = {"gzip, chunked", "chunked, chunked", "identity", "", "chunked,", ",chunked", "chunked;q=1",
                           "chunked chunked", "gzip"};
  for (size_t i = 0; i < sizeof codings / sizeof codings[0]; i++) {
    char t[256];
    int k = snprintf(t, sizeof t, "HTTP/1.1 200 OK\r\nTransfer-Encoding: %s\r\n\r\n1\r\nz\r\n0\r\n\r\n", codings[i]);
    check_error(t, (size_t)k, "other than chunked");
  }
  /* two Transfer-Encoding lines make one list: "chunked, chunked" */
  check_error(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\ntransfer-encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n"),
              "twice");
  check_error(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding:\r\n\r\n1\r\nz\r\n0\r\n\r\n"), "twice");
  /* Content-Length: plain digits, one value */
  check_error(S("HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello"), "not a number");
  check_error(S("HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello"), "not a number");
  check_error(S("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello"), "not a number"); /* a list, even agreeing */
  check_error(S("HTTP/1.1 200 OK\r\nContent-Length: 5 5\r\n\r\nhello"), "not a number");
  check_error(S("HTTP/1.1 200 OK\r\nContent-Length: 0x5\r\n\r\nhello"), "not a number");
  check_error(S("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello"), "different");
  check_error(S("HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n"), "empty");
  /* whitespace around the number is not part of it; leading zeros are */
  check("HTTP/1.1 200 OK\r\nContent-Length: \t 002 \t\r\n\r\nab", 0, DDBS_HTTP1_DONE, 200, 1, NULL, "ab", 0);
  /* an interim answer's framing fields frame nothing */
  check("HTTP/1.1 100 Continue\r\nContent-Length: 5\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\n"
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        0, DDBS_HTTP1_DONE, 200, 1, "HTTP/1.1 100 Continue|HTTP/1.1 200 OK|Content-Length: 2|", "ok", 0);
}

static void test_status_and_interim_limit(void) {
  check_error(S("HTTP/1.1 600 Beyond\r\nContent-Length: 0\r\n\r\n"), "out of range");
  check_error(S("HTTP/1.1 000 Zero\r\nContent-Length: 0\r\n\r\n"), "out of range");
  check_error(S("HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n\r\n"), "101");
  check_error(S("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\n\r\n"), "101");
  check("HTTP/1.1 599 Edge\r\nContent-Length: 0\r\n\r\n", 0, DDBS_HTTP1_DONE, 599, 1, NULL, "", 0);
  /* DDBS_HTTP1_INTERIM_MAX interim answers are fine; one more is an error */
  const char *one = "HTTP/1.1 100 Continue\r\n\r\n", *fin = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  size_t k = strlen(one), len = 0;
  char *t = build("", one, k * DDBS_HTTP1_INTERIM_MAX, fin, &len);
  outcome o;
  check_n(t, len, 1, 0, DDBS_HTTP1_DONE, 200, 1, NULL, "ok", 0, &o);
  CHECK(o.interim == DDBS_HTTP1_INTERIM_MAX);
  free(t);
  t = build("", one, k * (DDBS_HTTP1_INTERIM_MAX + 1), fin, &len);
  check_n(t, len, 1, 1, DDBS_HTTP1_ERROR, 0, 0, NULL, NULL, 0, &o);
  CHECK(strstr(o.error, "too many interim") != NULL);
  CHECK(o.used == k * (DDBS_HTTP1_INTERIM_MAX + 1) - 2); /* stopped at the 17th status line */
  free(t);
  /* an endless stream of interim answers stops at the limit, fed piece by piece */
  ddbs_http1_reader *p = malloc(sizeof *p);
  ddbs_http1_reader_init(p);
  ddbs_http1_sink sink = {NULL, NULL, NULL};
  size_t used = 0;
  int rc = DDBS_HTTP1_MORE, i = 0;
  for (; i < 1000 && rc == DDBS_HTTP1_MORE; i++) rc = ddbs_http1_feed(p, one, k, &used, &sink);
  CHECK(rc == DDBS_HTTP1_ERROR && i == DDBS_HTTP1_INTERIM_MAX + 1);
  free(p);
}

static void test_line_limit(void) {
  const size_t max = DDBS_HTTP1_LINE_MAX;
  outcome o;
  size_t len;
  /* a 9000-byte header line arriving whole (it was only checked when split across reads) */
  const char *status = "HTTP/1.1 200 OK\r\n";
  char *t = build("HTTP/1.1 200 OK\r\nX-Big: ", "a", 9000 - 7, "\r\nContent-Length: 0\r\n\r\n", &len);
  check_n(t, len, 1, 1, DDBS_HTTP1_ERROR, 0, 0, NULL, NULL, 0, &o);
  CHECK(strstr(o.error, "too long") != NULL);
  CHECK(o.used == strlen(status) + max); /* where the line passed the limit, however it came */
  free(t);
  /* the limit counts the bytes before the LF, the CR included: max with a bare LF, max - 1 + CR */
  t = build("HTTP/1.1 200 OK\r\nX-Big: ", "b", max - 7, "\nContent-Length: 0\r\n\r\n", &len);
  check_n(t, len, 13, 0, DDBS_HTTP1_DONE, 200, 1, NULL, "", 0, NULL);
  free(t);
  t = build("HTTP/1.1 200 OK\r\nX-Big: ", "b", max - 8, "\r\nContent-Length: 0\r\n\r\n", &len);
  check_n(t, len, 13, 0, DDBS_HTTP1_DONE, 200, 1, NULL, "", 0, NULL);
  free(t);
  t = build("HTTP/1.1 200 OK\r\nX-Big: ", "b", max - 7, "\r\nContent-Length: 0\r\n\r\n", &len);
  check_n(t, len, 13, 1, DDBS_HTTP1_ERROR, 0, 0, NULL, NULL, 0, &o);
  CHECK(strstr(o.error, "too long") != NULL);
  free(t);
  /* the status line, a chunk-size line (long extension, or zeros), a trailer line */
  t = build("HTTP/1.1 200 ", "O", 9000, "\r\nContent-Length: 0\r\n\r\n", &len);
  check_n(t, len, 13, 1, DDBS_HTTP1_ERROR, 0, 0, NULL, NULL, 0, &o);
  CHECK(strstr(o.error, "too long") != NULL);
  free(t);
  t = build("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;", "e", 9000, "\r\nx\r\n0\r\n\r\n", &len);
  check_n(t, len, 13, 1, DDBS_HTTP1_ERROR, 0, 0, NULL, NULL, 0, &o);
  CHECK(strstr(o.error, "too long") != NULL);
  free(t);
  t = build("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "0", 9000, "1\r\nx\r\n0\r\n\r\n", &len);
  check_n(t, len, 13, 1, DDBS_HTTP1_ERROR, 0, 0, NULL, NULL, 0, &o);
  CHECK(strstr(o.error, "too long") != NULL);
  free(t);
  t = build("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nT: ", "t", 9000, "\r\n\r\n", &len);
  check_n(t, len, 13, 1, DDBS_HTTP1_ERROR, 0, 0, NULL, NULL, 0, &o);
  CHECK(strstr(o.error, "too long") != NULL);
  free(t);
}

static void test_bare_cr_and_controls(void) {
  /* a CR that is not right before the LF, in every kind of line */
  check_error(S("HTTP/1.1 200 O\rK\r\nContent-Length: 0\r\n\r\n"), "CR");
  check_error(S("HTTP/1.1 200 OK\rContent-Length: 0\r\n\r\n"), "CR");
  check_error(S("HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 0\r\n\r\n"), "CR");
  check_error(S("HTTP/1.1 200 OK\r\nX: a\r\r\nContent-Length: 0\r\n\r\n"), "CR");
  check_error(S("HTTP/1.1 200 OK\r\n\rContent-Length: 0\r\n\r\n"), "CR");
  check_error(S("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\r\nx"), "CR");
  check_error(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\r\nx\r\n0\r\n\r\n"), "CR");
  check_error(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;a\rb\r\nx\r\n0\r\n\r\n"), "CR");
  check_error(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\r\n0\r\n\r\n"), "CR");
  check_error(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nT: a\rb\r\n\r\n"), "CR");
  check_error(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\r\n"), "CR");
  /* NUL and other control characters (but HTAB) in values, names and the reason */
  check_error(S("HTTP/1.1 200 OK\r\nX: a\0b\r\nContent-Length: 0\r\n\r\n"), "control");
  check_error(S("HTTP/1.1 200 OK\r\nX: \x01\r\nContent-Length: 0\r\n\r\n"), "control");
  check_error(S("HTTP/1.1 200 OK\r\nX: \x1b[31m\r\nContent-Length: 0\r\n\r\n"), "control");
  check_error(S("HTTP/1.1 200 OK\r\nX: a\x7f\r\nContent-Length: 0\r\n\r\n"), "control");
  check_error(S("HTTP/1.1 200 OK\r\nX\0: a\r\nContent-Length: 0\r\n\r\n"), "control");
  check_error(S("HTTP/1.1 200 O\0K\r\nContent-Length: 0\r\n\r\n"), "control");
  check_error(S("HTTP/1.1 200 OK\r\nContent-Length: 0\0\r\n\r\n"), "control");
  /* HTAB and obs-text are fine in a value */
  check("HTTP/1.1 200 OK\r\nX: a\tb\r\nY: caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n", 0, DDBS_HTTP1_DONE, 200, 1,
        "HTTP/1.1 200 OK|X: a\tb|Y: caf\xc3\xa9|Content-Length: 0|", "", 0);
}

static void test_trailers_and_extensions(void) {
  const char *bad_trailers[] = {"NoColon", ": v", " folded", "Bad Name: x", "T(x): 1", "T: a\x01", "T : a"};
  for (size_t i = 0; i < sizeof bad_trailers / sizeof bad_trailers[0]; i++) {
    char t[256];
    int k = snprintf(t, sizeof t, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n%s\r\n\r\n",
                     bad_trailers[i]);
    check_error(t, (size_t)k, "trailer");
  }
  /* a framing field in the trailers frames nothing */
  check("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nContent-Length: 5\r\n\r\n", 0,
        DDBS_HTTP1_DONE, 200, 1, NULL, "x", 0);
  const char *bad_ext[] = {"1;",         "1;=b",     "1;a=",   "1;a=\"open", "1;a b",     "1 x",       "1;a=b c",
                           "1;a=\"\x01\"", "1;a=@",    "1;a\x01", "1,a",        "1;a=\"\\",  "1;a=b;",    "1\x0b",
                           " 1",         "1;a=\"x\"y"};
  for (size_t i = 0; i < sizeof bad_ext / sizeof bad_ext[0]; i++) {
    char t[256];
    int k = snprintf(t, sizeof t, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%s\r\nx\r\n0\r\n\r\n",
                     bad_ext[i]);
    check_error(t, (size_t)k, "chunk size");
  }
  /* trailers count against DDBS_HTTP1_HEAD_MAX together with the head: each part alone is within */
  const char *filler = "X-Filler: 0123456789ab\r\n"; /* 24 bytes */
  size_t hlen, tlen, len;
  char *head = build("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n", filler, 24 * 7000, "\r\n1\r\nx\r\n0\r\n", &hlen);
  char *tr = build("", filler, 24 * 4000, "\r\n", &tlen);
  char *t = malloc(hlen + tlen + 1);
  memcpy(t, head, hlen);
  memcpy(t + hlen, tr, tlen + 1);
  len = hlen + tlen;
  outcome o;
  check_n(t, len, 4099, 1, DDBS_HTTP1_ERROR, 0, 0, NULL, NULL, 0, &o);
  CHECK(strstr(o.error, "too large") != NULL);
  CHECK(o.used > hlen && o.used < len); /* in the trailers */
  free(t);
  /* the same trailers after a small head are fine */
  t = build("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n", filler, 24 * 4000, "\r\n", &len);
  check_n(t, len, 4099, 0, DDBS_HTTP1_DONE, 200, 1, NULL, "x", 0, NULL);
  free(t);
  free(head);
  free(tr);
}

static void test_field_value_ok(void) {
  CHECK(ddbs_http1_field_value_ok("", 0) == 1);
  CHECK(ddbs_http1_field_value_ok(S("AWS4-HMAC-SHA256 Credential=x/y, Signature=0f")) == 1);
  CHECK(ddbs_http1_field_value_ok(S("a\tb")) == 1);
  CHECK(ddbs_http1_field_value_ok(S("caf\xc3\xa9")) == 1);
  CHECK(ddbs_http1_field_value_ok(S("a\rb")) == 0);
  CHECK(ddbs_http1_field_value_ok(S("a\nb")) == 0);
  CHECK(ddbs_http1_field_value_ok(S("a\r\nEvil: 1")) == 0);
  CHECK(ddbs_http1_field_value_ok(S("a\0b")) == 0);
  CHECK(ddbs_http1_field_value_ok(S("\x7f")) == 0);
  CHECK(ddbs_http1_field_value_ok(S("\x1f")) == 0);
}

static void test_write_request_refuses(void) {
  ddbs_buf out = DDBS_BUF_INIT;
  const char *ok = "Host: example.com";
  const char *bad_fields[] = {
      "X-Amz-Security-Token: abc\r\nEvil: 1", "X-Amz-Security-Token: abc\n", "X-Amz-Security-Token: abc\r",
      "X-A: a\x01", "X-A: a\x7f", "X-A\r\nEvil: 1", "Host:example.com", "Host", ": x", "Ho st: x", "Host : x",
      "Host:", "", "Content-Length: 5", "transfer-encoding: chunked", "X(A): 1", "X-A:\tb"};
  for (size_t i = 0; i < sizeof bad_fields / sizeof bad_fields[0]; i++) {
    const char *fields[] = {ok, bad_fields[i]};
    /* an empty buffer stays empty (not even allocated); a filled one keeps its bytes and size */
    CHECK(ddbs_http1_write_request(&out, "/", fields, 2, "{}", 2) == DDBS_HTTP1_E_FIELD);
    CHECK(out.data == NULL && out.len == 0 && out.cap == 0);
    ddbs_buf_append_str(&out, "before");
    size_t cap = out.cap;
    CHECK(ddbs_http1_write_request(&out, "/", fields, 2, "{}", 2) == DDBS_HTTP1_E_FIELD);
    CHECK(out.len == 6 && out.cap == cap);
    CHECK_STREQ(out.data, "before");
    ddbs_buf_free(&out);
  }
  const char *bad_paths[] = {"", "/a b", "/a\r\nEvil: 1", "/a\n", "/a\r", "/\x01", "/\x7f", "/\t", "/caf\xc3\xa9"};
  for (size_t i = 0; i < sizeof bad_paths / sizeof bad_paths[0]; i++) {
    ddbs_buf_append_str(&out, "before");
    CHECK(ddbs_http1_write_request(&out, bad_paths[i], &ok, 1, NULL, 0) == DDBS_HTTP1_E_FIELD);
    CHECK(out.len == 6);
    CHECK_STREQ(out.data, "before");
    ddbs_buf_free(&out);
  }
  /* a field is a C string: what follows a NUL never reaches the wire */
  const char *nul[] = {"X-Amz-Security-Token: abc\0\r\nEvil: 1"};
  CHECK(ddbs_http1_write_request(&out, "/", nul, 1, NULL, 0) == 0);
  CHECK_STREQ(out.data, "POST / HTTP/1.1\r\nX-Amz-Security-Token: abc\r\nContent-Length: 0\r\n\r\n");
  ddbs_buf_reset(&out);
  /* HTAB, an empty value and obs-text are fine in a value */
  const char *fine[] = {"User-Agent: a\tb", "X-Empty: ", "X-Utf8: caf\xc3\xa9"};
  CHECK(ddbs_http1_write_request(&out, "/?a=1&b=%20", fine, 3, "x", 1) == 0);
  CHECK_STREQ(out.data, "POST /?a=1&b=%20 HTTP/1.1\r\nUser-Agent: a\tb\r\nX-Empty: \r\nX-Utf8: caf\xc3\xa9\r\n"
                        "Content-Length: 1\r\n\r\nx");
  ddbs_buf_free(&out);
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
  ctest_run("http1: Transfer-Encoding (chunked alone, not with Content-Length, not in HTTP/1.0), Content-Length",
            test_framing);
  ctest_run("http1: status codes 100..599, at most DDBS_HTTP1_INTERIM_MAX interim answers", test_status_and_interim_limit);
  ctest_run("http1: the line limit holds for every line, however it arrives", test_line_limit);
  ctest_run("http1: a bare CR in any line, control characters in fields, are errors", test_bare_cr_and_controls);
  ctest_run("http1: trailers (well-formed, within the header limit), chunk extensions", test_trailers_and_extensions);
  ctest_run("http1: ddbs_http1_field_value_ok", test_field_value_ok);
  ctest_run("http1: the request writer refuses fields and paths that could inject", test_write_request_refuses);
}
