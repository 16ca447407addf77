/* test_base64.c: tests for base64.c: the RFC 4648 vectors, the strict decoder's refusals (alphabet,
 * length, padding, non-canonical bits), the whole character table, round trips, and the output
 * buffer left as it was on failure. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "ctest.h"

static const char ALPHA[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static uint64_t rng_state;
static uint64_t rnd(void) { return ctest_splitmix64(&rng_state); }

/* Decodes text (n bytes) and returns the rc; the bytes in *out (fresh buffer). */
static int dec(const char *text, size_t n, ddbs_buf *out) {
  char err[128];
  ddbs_buf_free(out);
  return ddbs_base64_decode(text, n, out, err, sizeof err);
}

static void test_rfc4648_vectors(void) {
  static const char *const v[][2] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
                                     {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    ddbs_buf b = DDBS_BUF_INIT;
    CHECK(ddbs_base64_encode((const unsigned char *)v[i][0], strlen(v[i][0]), &b) == 0);
    CHECK_STREQ(b.data, v[i][1]);
    CHECK(b.len == strlen(v[i][1]));
    CHECK(ddbs_base64_encoded_len(strlen(v[i][0])) == strlen(v[i][1]));
    CHECK(dec(v[i][1], strlen(v[i][1]), &b) == 0);
    CHECK(b.len == strlen(v[i][0]));
    CHECK(b.len == 0 || memcmp(b.data, v[i][0], b.len) == 0);
    ddbs_buf_free(&b);
  }
  /* every byte value, and the encoder's NULL input for no bytes */
  unsigned char all[256];
  for (int i = 0; i < 256; i++) all[i] = (unsigned char)i;
  ddbs_buf b = DDBS_BUF_INIT, d = DDBS_BUF_INIT;
  CHECK(ddbs_base64_encode(all, 256, &b) == 0);
  CHECK(strncmp(b.data, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEy", 68) == 0);
  CHECK(strcmp(b.data + b.len - 8, "/P3+/w==") == 0);
  CHECK(dec(b.data, b.len, &d) == 0 && d.len == 256 && memcmp(d.data, all, 256) == 0);
  ddbs_buf_free(&b);
  CHECK(ddbs_base64_encode(NULL, 0, &b) == 0 && b.len == 0 && b.data && b.data[0] == '\0');
  ddbs_buf_free(&b);
  ddbs_buf_free(&d);
  CHECK(ddbs_base64_encoded_len(0) == 0);
  CHECK(ddbs_base64_encoded_len(1) == 4 && ddbs_base64_encoded_len(3) == 4 && ddbs_base64_encoded_len(4) == 8);
  CHECK(ddbs_base64_encoded_len((size_t)-1) == (size_t)-1);
}

static void test_refusals(void) {
  static const char *const bad[] = {
      "Zg",       "Zg=",      "Zm9",     "Z",        "Zg===",    "Zm9vY",    "Zm9v=",   /* length */
      "=Zg=",     "Z=g=",     "Zm=v",    "====",     "A===",     "Zm9v====", "Zg==Zg==", /* padding place */
      "Zm9v\n",   " Zm9v",    "Zm 9v",   "Zm9v\r\n", "Zm9\tv",                           /* whitespace */
      "Zm-_",     "Zm9v.A==", "Zm9v*A==", "Zh==",     "Zm9=",    "QR==",     "QUJ=",     /* alphabet, bits */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ddbs_buf b = DDBS_BUF_INIT;
    char err[128] = "";
    ddbs_buf_append_str(&b, "keep");
    int rc = ddbs_base64_decode(bad[i], strlen(bad[i]), &b, err, sizeof err);
    if (rc != DDBS_BASE64_E_INVALID) fprintf(stderr, "  accepted: \"%s\"\n", bad[i]);
    CHECK(rc == DDBS_BASE64_E_INVALID);
    CHECK(b.len == 4 && strcmp(b.data, "keep") == 0); /* out as it was */
    CHECK(strncmp(err, "base64: ", 8) == 0);
    ddbs_buf_free(&b);
  }
  /* a NUL and bytes over 0x7f are outside the alphabet */
  ddbs_buf b = DDBS_BUF_INIT;
  CHECK(dec("Zm9v\0AAA", 8, &b) == DDBS_BASE64_E_INVALID);
  CHECK(dec("Zm9v\xff" "AAA", 8, &b) == DDBS_BASE64_E_INVALID);
  CHECK(dec("Zm9vYmFy", 8, &b) == 0 && b.len == 6);
  /* the reason names the offset, not the text */
  char err[128];
  ddbs_buf_free(&b);
  CHECK(ddbs_base64_decode("Zm9vYm!y", 8, &b, err, sizeof err) == DDBS_BASE64_E_INVALID);
  CHECK(strstr(err, "offset 6") != NULL);
  CHECK(ddbs_base64_decode("Zm9vZh==", 8, &b, err, sizeof err) == DDBS_BASE64_E_INVALID);
  CHECK(strstr(err, "non-canonical") != NULL && strstr(err, "offset 5") != NULL);
  CHECK(ddbs_base64_decode("Zm9vZh==", 8, &b, NULL, 0) == DDBS_BASE64_E_INVALID); /* err optional */
  /* a failure after whole groups were written: out as it was, the written bytes gone */
  ddbs_buf_append_str(&b, "x");
  CHECK(ddbs_base64_decode("Zm9vYmFyZm9vYmFy!A==", 20, &b, err, sizeof err) == DDBS_BASE64_E_INVALID);
  CHECK(b.len == 1 && strcmp(b.data, "x") == 0 && b.data[2] == '\0' && b.data[3] == '\0');
  ddbs_buf_free(&b);
}

/* Every character in every position of a group, with and without padding. */
static void test_character_table(void) {
  ddbs_buf b = DDBS_BUF_INIT;
  for (int c = 0; c < 256; c++) {
    const char *pos = c ? strchr(ALPHA, c) : NULL;
    int valid = pos != NULL;
    unsigned v = valid ? (unsigned)(pos - ALPHA) : 0;
    char t[5] = "AAAA";
    for (int at = 0; at < 4; at++) {
      memcpy(t, "AAAA", 4);
      t[at] = (char)c;
      int rc = dec(t, 4, &b);
      if (c == '=' && at == 3) { /* "AAA=": padding, two bytes */
        CHECK(rc == 0 && b.len == 2);
        continue;
      }
      CHECK(rc == (valid ? 0 : DDBS_BASE64_E_INVALID));
      if (valid && rc == 0) {
        uint32_t got = (uint32_t)(unsigned char)b.data[0] << 16 | (uint32_t)(unsigned char)b.data[1] << 8 |
                       (unsigned char)b.data[2];
        CHECK(got == v << (6 * (3 - at)));
      }
    }
    /* "Q?==": canonical only when the character's low 4 bits are 0; "QU?=": low 2 bits */
    char p2[5] = {'Q', (char)c, '=', '=', 0}, p1[5] = {'Q', 'U', (char)c, '=', 0};
    CHECK(dec(p2, 4, &b) == (valid && (v & 15) == 0 ? 0 : DDBS_BASE64_E_INVALID));
    CHECK(dec(p1, 4, &b) == (valid && (v & 3) == 0 ? 0 : DDBS_BASE64_E_INVALID));
  }
  ddbs_buf_free(&b);
}

/* decode(encode(x)) == x for random bytes of many lengths; encode(decode(t)) == t for accepted
 * random texts (strictness makes the two a bijection); appending keeps what was there. */
static void test_round_trips(void) {
  rng_state = 20240514;
  ddbs_buf e = DDBS_BUF_INIT, d = DDBS_BUF_INIT;
  for (int iter = 0; iter < 600; iter++) {
    size_t n = iter < 300 ? (size_t)iter : (size_t)(rnd() % (iter == 599 ? 150000 : 5000));
    unsigned char *x = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++) x[i] = (unsigned char)rnd();
    ddbs_buf_reset(&e);
    ddbs_buf_reset(&d);
    ddbs_buf_append_str(&e, "pre:");
    ddbs_buf_append_str(&d, "pre:");
    CHECK(ddbs_base64_encode(x, n, &e) == 0);
    CHECK(e.len == 4 + ddbs_base64_encoded_len(n) && strlen(e.data) == e.len);
    CHECK(ddbs_base64_decode(e.data + 4, e.len - 4, &d, NULL, 0) == 0);
    CHECK(d.len == 4 + n && memcmp(d.data, "pre:", 4) == 0 && (n == 0 || memcmp(d.data + 4, x, n) == 0));
    free(x);
  }
  int accepted = 0;
  for (int iter = 0; iter < 20000; iter++) {
    char t[12];
    size_t n = 4 * (1 + rnd() % 3);
    for (size_t i = 0; i < n; i++) t[i] = ALPHA[rnd() % 64];
    if (rnd() % 2) t[n - 1] = '=';
    if (rnd() % 4 == 0) t[n - 2] = '=';
    if (rnd() % 8 == 0) t[rnd() % n] = "=-_ \n\0."[rnd() % 7];
    if (dec(t, n, &d) == 0) {
      accepted++;
      ddbs_buf_reset(&e);
      CHECK(ddbs_base64_encode((const unsigned char *)d.data, d.len, &e) == 0);
      CHECK(e.len == n && memcmp(e.data, t, n) == 0);
    }
  }
  CHECK(accepted > 1000);
  ddbs_buf_free(&e);
  ddbs_buf_free(&d);
}

void suite_base64(void) {
  ctest_run("base64: RFC 4648 vectors", test_rfc4648_vectors);
  ctest_run("base64: strict decoding refusals", test_refusals);
  ctest_run("base64: every character in every position", test_character_table);
  ctest_run("base64: round trips both ways", test_round_trips);
}
