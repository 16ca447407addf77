/* fuzz_common.h: helpers shared by the libFuzzer targets (see scripts/fuzz.sh). */
#ifndef DDBS_FUZZ_COMMON_H
#define DDBS_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* Reports a broken property with both outputs, and aborts (libFuzzer saves the input). */
__attribute__((unused)) static void fuzz_mismatch(const char *what, const ddbs_buf *a, const ddbs_buf *b, int ra, int rb) {
  size_t i = 0;
  while (a->data && b->data && i < a->len && i < b->len && a->data[i] == b->data[i]) i++;
  fprintf(stderr, "MISMATCH: %s (rc %d vs %d; lengths %zu vs %zu; first difference at byte %zu)\n", what, ra,
          rb, a->len, b->len, i);
  if (a->data) fprintf(stderr, "  a: %.300s\n", a->data + (i > 60 ? i - 60 : 0));
  if (b->data) fprintf(stderr, "  b: %.300s\n", b->data + (i > 60 ? i - 60 : 0));
  abort();
}

__attribute__((unused)) static int same_bytes(const ddbs_buf *a, const ddbs_buf *b) {
  return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

#endif
