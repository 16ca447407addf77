/* fuzz_http1: the HTTP/1.1 answer reader (http1.c). The first input byte chooses a split point
 * pattern; the rest is what a server sent. Property: fed whole, fed in pieces at the chosen splits
 * and fed byte by byte, the reader gives the same verdict, the same header lines and body, and
 * consumes the same bytes; and it never reads out of bounds or leaks (ASan, LeakSanitizer). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http1.h"

typedef struct out {
  ddbs_buf text; /* header lines and body, tagged */
  int rc, status, keep_alive;
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
  o->rc = rc;
  o->status = p.status;
  o->keep_alive = p.keep_alive;
  o->used = rc == DDBS_HTTP1_DONE ? used : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  unsigned pattern = data[0] * 2654435761u;
  data++;
  size--;
  out a = {DDBS_BUF_INIT, 0, 0, 0, 0}, b = a, c = a;
  run(data, size, size ? size : 1, 0, &a);
  run(data, size, 0, pattern, &b);
  run(data, size, 1, 0, &c);
  const out *v[2] = {&b, &c};
  for (int i = 0; i < 2; i++) {
    if (v[i]->rc != a.rc || v[i]->status != a.status || v[i]->keep_alive != a.keep_alive || v[i]->used != a.used ||
        v[i]->text.len != a.text.len || (a.text.len && memcmp(v[i]->text.data, a.text.data, a.text.len) != 0)) {
      fprintf(stderr, "split %d differs: rc %d/%d status %d/%d used %zu/%zu\n", i, v[i]->rc, a.rc, v[i]->status,
              a.status, v[i]->used, a.used);
      abort();
    }
  }
  ddbs_buf_free(&a.text);
  ddbs_buf_free(&b.text);
  ddbs_buf_free(&c.text);
  return 0;
}
