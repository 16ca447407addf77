/* buf.c: growable NUL-terminated byte buffer (see buf.h). Pure, no globals. */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ddbs_buf_reserve(ddbs_buf *b, size_t extra) {
  if (extra >= (size_t)-1 - b->len) return -1; /* len + extra + 1 would overflow */
  size_t need = b->len + extra + 1;
  if (need <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) {
    if (cap > ((size_t)-1) / 2) { cap = need; break; }
    cap *= 2;
  }
  char *p = realloc(b->data, cap);
  if (!p) return -1;
  b->data = p;
  b->cap = cap;
  return 0;
}

int ddbs_buf_append(ddbs_buf *b, const void *p, size_t n) {
  if (ddbs_buf_reserve(b, n) != 0) return -1;
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int ddbs_buf_append_str(ddbs_buf *b, const char *s) { return ddbs_buf_append(b, s, strlen(s)); }

int ddbs_buf_append_char(ddbs_buf *b, char c) { return ddbs_buf_append(b, &c, 1); }

int ddbs_buf_printf(ddbs_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char small[256];
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return -1;
  if ((size_t)n < sizeof small) return ddbs_buf_append(b, small, (size_t)n);
  if (ddbs_buf_reserve(b, (size_t)n) != 0) return -1;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return 0;
}

void ddbs_buf_reset(ddbs_buf *b) {
  b->len = 0;
  if (b->data) b->data[0] = '\0';
}

void ddbs_buf_free(ddbs_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

void ddbs_secure_zero(void *p, size_t n) {
#if defined(__GNUC__) || defined(__clang__)
  /* memset, with a barrier that makes the compiler assume the zeroes are read: not optimized away */
  if (!n) return;
  memset(p, 0, n);
  __asm__ __volatile__("" : : "r"(p) : "memory");
#else
  volatile unsigned char *v = p;
  while (n--) *v++ = 0;
#endif
}

void ddbs_buf_wipe_free(ddbs_buf *b) {
  if (b->data) ddbs_secure_zero(b->data, b->cap);
  ddbs_buf_free(b);
}

char *ddbs_buf_detach(ddbs_buf *b, size_t *len) {
  char *p = b->data;
  if (len) *len = b->len;
  if (!p) {
    p = malloc(1);
    if (p) p[0] = '\0';
  }
  b->data = NULL;
  b->len = b->cap = 0;
  return p;
}

char *ddbs_strdup(const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s);
  char *p = malloc(n + 1);
  if (p) memcpy(p, s, n + 1);
  return p;
}
