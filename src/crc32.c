/* crc32.c: CRC-32 of response bodies (DynamoDB's x-amz-crc32), checked on the client's worker
 * thread for every answer, so it is on the hot path of large sessions: 165 KB per 100 KB get.
 *
 * Two implementations with the same results:
 * - slice-by-8 tables (portable, ~1.5 GB/s), built once per process (pthread_once);
 * - on x86-64 CPUs with PCLMULQDQ and SSE4.1, folding by carry-less multiplication, after Gopal,
 *   Ozturk et al., "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ Instruction"
 *   (Intel, 2009), with the bit-reflected constants of its appendix, as zlib-ng and Chromium's
 *   zlib do (~10x faster). Compiled with a function-level target attribute and chosen at run time,
 *   so the module still loads on CPUs without it.
 * Pure; thread: any. */
#include "crc32.h"

#include <pthread.h>
#include <string.h>

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    crc_table[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; i++)
    for (int t = 1; t < 8; t++) crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xFF];
}

/* Continues the (pre-inverted) state crc over n bytes with the tables. */
static uint32_t crc_tables(uint32_t crc, const unsigned char *s, size_t n) {
  while (n >= 8) {
    uint32_t lo = crc ^ ((uint32_t)s[0] | (uint32_t)s[1] << 8 | (uint32_t)s[2] << 16 | (uint32_t)s[3] << 24);
    uint32_t hi = (uint32_t)s[4] | (uint32_t)s[5] << 8 | (uint32_t)s[6] << 16 | (uint32_t)s[7] << 24;
    crc = crc_table[7][lo & 0xFF] ^ crc_table[6][(lo >> 8) & 0xFF] ^ crc_table[5][(lo >> 16) & 0xFF] ^
          crc_table[4][lo >> 24] ^ crc_table[3][hi & 0xFF] ^ crc_table[2][(hi >> 8) & 0xFF] ^
          crc_table[1][(hi >> 16) & 0xFF] ^ crc_table[0][hi >> 24];
    s += 8;
    n -= 8;
  }
  while (n--) crc = (crc >> 8) ^ crc_table[0][(crc ^ *s++) & 0xFF];
  return crc;
}

uint32_t ddbs_crc32_portable(const void *p, size_t n) {
  pthread_once(&crc_once, crc_init);
  return crc_tables(0xFFFFFFFFu, (const unsigned char *)p, n) ^ 0xFFFFFFFFu;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define DDBS_CRC_CLMUL 1
#include <immintrin.h>

/* Folds n bytes (n >= 64, a multiple of 16) into the pre-inverted state crc; returns the new
 * pre-inverted state. */
__attribute__((target("pclmul,sse4.1"))) static uint32_t crc_clmul(uint32_t crc, const unsigned char *buf,
                                                                    size_t n) {
  const __m128i k1k2 = _mm_set_epi64x(0x01c6e41596LL, 0x0154442bd4LL);
  const __m128i k3k4 = _mm_set_epi64x(0x00ccaa009eLL, 0x01751997d0LL);
  const __m128i k5k0 = _mm_set_epi64x(0, 0x0163cd6124LL);
  const __m128i poly = _mm_set_epi64x(0x01f7011641LL, 0x01db710641LL);
  const __m128i mask32 = _mm_setr_epi32(~0, 0, ~0, 0);
  __m128i x1, x2, x3, x4, x5, x6, x7, x8;

  x1 = _mm_loadu_si128((const __m128i *)(const void *)(buf + 0x00));
  x2 = _mm_loadu_si128((const __m128i *)(const void *)(buf + 0x10));
  x3 = _mm_loadu_si128((const __m128i *)(const void *)(buf + 0x20));
  x4 = _mm_loadu_si128((const __m128i *)(const void *)(buf + 0x30));
  x1 = _mm_xor_si128(x1, _mm_cvtsi32_si128((int)crc));
  buf += 64;
  n -= 64;

  /* four 128-bit lanes, folded 512 bits at a time */
  while (n >= 64) {
    x5 = _mm_clmulepi64_si128(x1, k1k2, 0x00);
    x6 = _mm_clmulepi64_si128(x2, k1k2, 0x00);
    x7 = _mm_clmulepi64_si128(x3, k1k2, 0x00);
    x8 = _mm_clmulepi64_si128(x4, k1k2, 0x00);
    x1 = _mm_clmulepi64_si128(x1, k1k2, 0x11);
    x2 = _mm_clmulepi64_si128(x2, k1k2, 0x11);
    x3 = _mm_clmulepi64_si128(x3, k1k2, 0x11);
    x4 = _mm_clmulepi64_si128(x4, k1k2, 0x11);
    x1 = _mm_xor_si128(_mm_xor_si128(x1, x5), _mm_loadu_si128((const __m128i *)(const void *)(buf + 0x00)));
    x2 = _mm_xor_si128(_mm_xor_si128(x2, x6), _mm_loadu_si128((const __m128i *)(const void *)(buf + 0x10)));
    x3 = _mm_xor_si128(_mm_xor_si128(x3, x7), _mm_loadu_si128((const __m128i *)(const void *)(buf + 0x20)));
    x4 = _mm_xor_si128(_mm_xor_si128(x4, x8), _mm_loadu_si128((const __m128i *)(const void *)(buf + 0x30)));
    buf += 64;
    n -= 64;
  }

  /* the four lanes into one */
  x5 = _mm_clmulepi64_si128(x1, k3k4, 0x00);
  x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, k3k4, 0x11), x2), x5);
  x5 = _mm_clmulepi64_si128(x1, k3k4, 0x00);
  x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, k3k4, 0x11), x3), x5);
  x5 = _mm_clmulepi64_si128(x1, k3k4, 0x00);
  x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, k3k4, 0x11), x4), x5);

  /* the remaining 16-byte blocks */
  while (n >= 16) {
    x2 = _mm_loadu_si128((const __m128i *)(const void *)buf);
    x5 = _mm_clmulepi64_si128(x1, k3k4, 0x00);
    x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, k3k4, 0x11), x2), x5);
    buf += 16;
    n -= 16;
  }

  /* 128 bits -> 64 */
  x2 = _mm_clmulepi64_si128(x1, k3k4, 0x10);
  x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), x2);
  x2 = _mm_srli_si128(x1, 4);
  x1 = _mm_and_si128(x1, mask32);
  x1 = _mm_xor_si128(_mm_clmulepi64_si128(x1, k5k0, 0x00), x2);

  /* Barrett reduction to 32 bits */
  x2 = _mm_and_si128(x1, mask32);
  x2 = _mm_clmulepi64_si128(x2, poly, 0x10);
  x2 = _mm_and_si128(x2, mask32);
  x2 = _mm_clmulepi64_si128(x2, poly, 0x00);
  x1 = _mm_xor_si128(x1, x2);
  return (uint32_t)_mm_extract_epi32(x1, 1);
}

static int have_clmul(void) {
  return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
}
#endif

int ddbs_crc32_accelerated(void) {
#ifdef DDBS_CRC_CLMUL
  return have_clmul();
#else
  return 0;
#endif
}

uint32_t ddbs_crc32(const void *p, size_t n) {
  const unsigned char *s = (const unsigned char *)p;
  uint32_t crc = 0xFFFFFFFFu;
  pthread_once(&crc_once, crc_init);
#ifdef DDBS_CRC_CLMUL
  if (n >= 64 && have_clmul()) {
    size_t bulk = n & ~(size_t)15;
    crc = crc_clmul(crc, s, bulk);
    s += bulk;
    n -= bulk;
  }
#endif
  return crc_tables(crc, s, n) ^ 0xFFFFFFFFu;
}
