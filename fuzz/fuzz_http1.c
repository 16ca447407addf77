/* fuzz_http1: the HTTP/1.1 answer reader and the request writer (http1.c). The first input byte
 * chooses a split point pattern; the rest is what a server sent.
 * Reader property: fed whole, fed in pieces at the chosen splits and fed byte by byte, the reader
 * gives the same verdict, status, keep_alive, interim count, header lines and body, and stops at
 * the same byte (for an error too); and it never reads out of bounds or leaks (ASan, LSan).
 * Writer property: with the input (up to its first NUL) as a field and as the path, the writer
 * either refuses it and leaves the buffer as it was, or writes a head in which every CR is
 * followed by LF and every LF follows a CR, with exactly one line per field. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http1.h"

typedef struct out {
  ddbs_buf text; /* header lines and body, tagged */
  int rc, status, keep_alive, interim;
  size_t used;
} out;

static int on_header(void *user, const char *line, size_t len) {
  out *o = user;
  ddbs_buf_append(&o->text, "H:", 2);
  ddbs_buf_append(&o->text, line, len);
  ddbs_buf_append_char(&o->text, '\n');
  return 0;
}

static int on_body(void *user, const char *data, size_t len) {
  out *o = user;
  ddbs_buf_append(&o->text, data, len);
  return 0;
}

static void run(const uint8_t *data, size_t size, size_t step, unsigned pattern, out *o) {
  static ddbs_http1_reader p; /* large; one at a time */
  ddbs_http1_sink sink = {on_header, on_body, o};
  ddbs_http1_reader_init(&p);
  size_t fed = 0, used = 0;
  int rc = DDBS_HTTP1_MORE;
  unsigned k = 0;
  while (fed < size && rc == DDBS_HTTP1_MORE) {
    size_t n = step ? step : 1 + ((pattern >> (k++ % 8)) & 0x1f) * 7;
    if (n > size - fed) n = size - fed;
    rc = ddbs_http1_feed(&p, (const char *)data + fed, n, &used, &sink);
    if (rc == DDBS_HTTP1_MORE && used != n) abort();
    used += fed;
    fed += n;
  }
  if (rc == DDBS_HTTP1_MORE) rc = ddbs_http1_eof(&p);
  if (rc == DDBS_HTTP1_ERROR && !p.error[0]) abort(); /* an error always says why */
  o->rc = rc;
  o->status = p.status;
  o->keep_alive = p.keep_alive;
  o->interim = p.interim;
  o->used = used; /* an error is found at the same byte however the input is split */
}

/* The head in w (up to the blank line) is well-formed: CR only before LF, LF only after CR, and
 * lines lines (request line, fields, Content-Length). */
static void check_head(const ddbs_buf *w, int lines) {
  const char *end = strstr(w->data, "\r\n\r\n");
  if (!end) abort();
  int crlf = 0;
  for (const char *s = w->data; s < end + 2; s++) {
    if (*s == '\r' && s[1] != '\n') abort();
    if (*s == '\n' && (s == w->data || s[-1] != '\r')) abort();
    if (*s == '\n') crlf++;
  }
  if (crlf != lines) abort();
}

static void writer(const uint8_t *data, size_t size) {
  char f[512];
  size_t n = size < sizeof f - 1 ? size : sizeof f - 1;
  memcpy(f, data, n);
  f[n] = '\0';
  const char *fields[] = {"Host: example.com", f};
  ddbs_buf w = DDBS_BUF_INIT;
  int rc = ddbs_http1_write_request(&w, "/", fields, 2, "{}", 2);
  if (rc == 0) {
    check_head(&w, 4);
    const char *colon = strchr(f, ':');
    if (!colon || colon[1] != ' ' || !ddbs_http1_field_value_ok(colon + 2, strlen(colon + 2))) abort();
  } else if (rc != DDBS_HTTP1_E_FIELD || w.data || w.len || w.cap) {
    abort();
  }
  ddbs_buf_free(&w);
  rc = ddbs_http1_write_request(&w, f, fields, 1, NULL, 0);
  if (rc == 0) {
    check_head(&w, 3);
    const char *sp = strchr(w.data + 5, ' '); /* "POST <path> HTTP/1.1": the path has no space */
    if (!sp || strncmp(sp, " HTTP/1.1\r\n", 11) != 0 || (size_t)(sp - (w.data + 5)) != strlen(f)) abort();
  } else if (rc != DDBS_HTTP1_E_FIELD || w.data || w.len || w.cap) {
    abort();
  }
  ddbs_buf_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  unsigned pattern = data[0] * 2654435761u;
  data++;
  size--;
  out a = {DDBS_BUF_INIT, 0, 0, 0, 0, 0}, b = a, c = a;
  run(data, size, size ? size : 1, 0, &a);
  run(data, size, 0, pattern, &b);
  run(data, size, 1, 0, &c);
  const out *v[2] = {&b, &c};
  for (int i = 0; i < 2; i++) {
    if (v[i]->rc != a.rc || v[i]->status != a.status || v[i]->keep_alive != a.keep_alive ||
        v[i]->interim != a.interim || v[i]->used != a.used || v[i]->text.len != a.text.len ||
        (a.text.len && memcmp(v[i]->text.data, a.text.data, a.text.len) != 0)) {
      fprintf(stderr, "MISMATCH: split %d differs: rc %d/%d status %d/%d used %zu/%zu\n", i, v[i]->rc, a.rc,
              v[i]->status, a.status, v[i]->used, a.used);
      abort();
    }
  }
  ddbs_buf_free(&a.text);
  ddbs_buf_free(&b.text);
  ddbs_buf_free(&c.text);
  writer(data, size);
  return 0;
}
