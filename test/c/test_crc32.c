/* test_crc32.c: ddbs_crc32 (carry-less multiplication where the CPU has it) and the portable
 * table version against a bit-at-a-time reference, over every length and alignment that reaches
 * a different path (< 64 bytes, the 64-byte folds, the 16-byte folds, the table tail). */
#include <stdint.h>
#include <stdlib.h>

#include "crc32.h"
#include "ctest.h"

static uint32_t crc_bitwise(const unsigned char *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  while (n--) {
    c ^= *p++;
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return c ^ 0xFFFFFFFFu;
}

static unsigned char *random_bytes(size_t n, uint32_t seed) {
  unsigned char *b = malloc(n);
  for (size_t i = 0; b && i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    b[i] = (unsigned char)(seed >> 24);
  }
  return b;
}

static void known_values(void) {
  CHECK(ddbs_crc32("", 0) == 0);
  CHECK(ddbs_crc32("123456789", 9) == 0xCBF43926u); /* the CRC-32 check value */
  CHECK(ddbs_crc32_portable("123456789", 9) == 0xCBF43926u);
  /* 64 and more bytes take the folding path when the CPU has it */
  const char *fox = "The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog.";
  CHECK(ddbs_crc32(fox, strlen(fox)) == crc_bitwise((const unsigned char *)fox, strlen(fox)));
  /* an answer DynamoDB sends for an empty GetItem: {} (x-amz-crc32: 2745614147) */
  CHECK(ddbs_crc32("{}", 2) == 2745614147u);
  printf("  (crc32: %s)\n", ddbs_crc32_accelerated() ? "PCLMULQDQ folding" : "tables only");
}

static void every_length_and_alignment(void) {
  size_t max = 700;
  unsigned char *b = random_bytes(max + 16, 7);
  CHECK(b != NULL);
  if (!b) return;
  int bad = 0;
  for (size_t off = 0; off < 16; off++) {
    for (size_t n = 0; n <= max; n++) {
      uint32_t want = crc_bitwise(b + off, n);
      if (ddbs_crc32(b + off, n) != want || ddbs_crc32_portable(b + off, n) != want) bad++;
    }
  }
  CHECK(bad == 0);
  free(b);
}

static void large_buffers(void) {
  size_t sizes[] = {4096, 65536 + 5, 165000, 400 * 1024 + 13};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    unsigned char *b = random_bytes(sizes[i], (uint32_t)i + 1);
    CHECK(b != NULL);
    if (!b) continue;
    uint32_t want = crc_bitwise(b, sizes[i]);
    CHECK(ddbs_crc32(b, sizes[i]) == want);
    CHECK(ddbs_crc32_portable(b, sizes[i]) == want);
    b[sizes[i] / 2] ^= 1; /* one flipped bit changes it */
    CHECK(ddbs_crc32(b, sizes[i]) != want);
    free(b);
  }
}

void suite_crc32(void) {
  ctest_run("crc32: known values", known_values);
  ctest_run("crc32: every length 0..700 at 16 alignments, both versions", every_length_and_alignment);
  ctest_run("crc32: large buffers, and a flipped bit is seen", large_buffers);
}
