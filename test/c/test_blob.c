/* test_blob.c: tests for blob.c, the stored-session blob codec: differential round trips of many
 * pseudo-random sessions (seeded) through compression, encryption, both and neither; threshold
 * boundaries; every bit flip and every truncation of encrypted blobs; blobs moved to another
 * item key or table; key rotation; unknown versions, flags and key ids; zstd frames that are not
 * exactly one frame, and zip bombs (with and without the content size in the frame header);
 * a known-answer blob computed with Node's crypto; option errors; messages free of secrets.
 * seal() below builds encrypted blobs from the format as blob.h documents it (EVP directly), so
 * the layout and the associated data are checked against an independent writer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <zstd.h>

#include "blob.h"
#include "ctest.h"

#define TABLE "sessions"
#define ITEM "sess:abc"
#define ITEM_LEN (sizeof ITEM - 1)
#define MARK "SECRETMARK" /* in every session text: must never show in a message */

static uint64_t rng_state;
static uint64_t rnd(void) { return ctest_splitmix64(&rng_state); }

static ddbs_blob_key KEYS[3]; /* A, B, and C: A's id with other key bytes */

static void init_keys(void) {
  memset(KEYS, 0, sizeof KEYS);
  strcpy(KEYS[0].id, "key-alpha-2024");
  strcpy(KEYS[1].id, "key-bravo-2025");
  strcpy(KEYS[2].id, "key-alpha-2024");
  for (int i = 0; i < 32; i++) {
    KEYS[0].key[i] = (unsigned char)(0x10 + i);
    KEYS[1].key[i] = (unsigned char)(0x90 + i);
    KEYS[2].key[i] = (unsigned char)(0x10 + i);
  }
  KEYS[2].key[31] ^= 1;
}

static ddbs_blob_opts opts(int compress, size_t threshold, const ddbs_blob_key *keys, size_t nkeys, size_t current) {
  ddbs_blob_opts o;
  memset(&o, 0, sizeof o);
  o.compress = compress;
  o.threshold = threshold;
  o.keys = keys;
  o.nkeys = nkeys;
  o.current = current;
  return o;
}

static const char *const WORDS[] = {"cart", "user", "preferences", "theme", "dark", "en-GB", "items", "sku",
                                    "qty", "price", "options", "color", "navy", "recentlyViewed", "/products/"};

/* A session-like JSON text of about target bytes (the exact target when under 32 bytes), or, one
 * time in five, target random bytes (incompressible, any byte: the codec does not parse). */
static void gen(ddbs_buf *b, size_t target, int *random_bytes) {
  ddbs_buf_reset(b);
  *random_bytes = rnd() % 5 == 0;
  if (*random_bytes || target < 32) {
    for (size_t i = 0; i < target; i++)
      ddbs_buf_append_char(b, *random_bytes ? (char)rnd() : (char)(' ' + rnd() % 95));
    return;
  }
  ddbs_buf_printf(b, "{\"user\":{\"id\":%u,\"name\":\"" MARK "\"},\"csrf\":\"%016llx%016llx\",\"items\":[",
                  (unsigned)(rnd() % 100000), (unsigned long long)rnd(), (unsigned long long)rnd());
  for (int i = 0; b->len + 2 < target; i++) {
    ddbs_buf_printf(b, "%s{\"%s\":\"%s-%u\",\"%s\":%u,\"%s\":%u.%02u}", i ? "," : "", WORDS[rnd() % 15],
                    WORDS[rnd() % 15], (unsigned)(rnd() % 1000), WORDS[rnd() % 15], (unsigned)(rnd() % 10),
                    WORDS[rnd() % 15], (unsigned)(rnd() % 500), (unsigned)(rnd() % 100));
  }
  ddbs_buf_append_str(b, "]}");
}

/* No key bytes, key ids, item key or session text in a message. */
static int clean_message(const char *err) {
  return strstr(err, MARK) == NULL && strstr(err, ITEM) == NULL && strstr(err, "key-alpha") == NULL &&
         strstr(err, "key-bravo") == NULL && strchr(err, '\n') == NULL;
}

/* Decodes blob into a buffer holding "Q" first; checks the rc, that a failure leaves "Q" alone,
 * and on success that the text follows "Q". Returns the rc. */
static int decode_check(const ddbs_blob_opts *o, const char *table, const char *key, size_t key_len,
                        const unsigned char *blob, size_t n, const char *expect, size_t expect_len) {
  ddbs_buf d = DDBS_BUF_INIT;
  char err[256] = "";
  ddbs_buf_append_str(&d, "Q");
  int rc = ddbs_blob_decode(o, table, key, key_len, blob, n, &d, err, sizeof err);
  if (rc == 0) {
    CHECK(expect && d.len == 1 + expect_len && (expect_len == 0 || memcmp(d.data + 1, expect, expect_len) == 0));
    CHECK(d.data[d.len] == '\0');
  } else {
    CHECK(d.len == 1 && strcmp(d.data, "Q") == 0);
    CHECK(err[0] != '\0' && clean_message(err));
  }
  ddbs_buf_free(&d);
  return rc;
}

/* Encodes json; checks the not-blob case leaves out ("PFX") untouched. The blob (or nothing) is
 * left in *blob (fresh). Returns is_blob, or -1 on an encode error. */
static int encode_check(const ddbs_blob_opts *o, const char *json, size_t n, ddbs_buf *blob) {
  ddbs_buf out = DDBS_BUF_INIT;
  char err[256] = "";
  int is_blob = -7;
  ddbs_buf_append_str(&out, "PFX");
  int rc = ddbs_blob_encode(o, TABLE, ITEM, ITEM_LEN, json, n, &out, &is_blob, err, sizeof err);
  CHECK(rc == 0);
  if (rc != 0) fprintf(stderr, "    encode: %s\n", err);
  CHECK(memcmp(out.data, "PFX", 3) == 0);
  ddbs_buf_free(blob);
  if (rc == 0 && is_blob) ddbs_buf_append(blob, out.data + 3, out.len - 3);
  if (rc == 0 && !is_blob) CHECK(out.len == 3 && out.data[3] == '\0');
  ddbs_buf_free(&out);
  return rc == 0 ? is_blob : -1;
}

/* Many sessions, sizes 0..200 KB (log-spread, plus both ends), through the four modes. */
static void test_round_trips(void) {
  rng_state = 14;
  ddbs_blob_ctx *ctx = ddbs_blob_ctx_new();
  CHECK(ctx != NULL);
  ddbs_buf json = DDBS_BUF_INIT, blob = DDBS_BUF_INIT;
  int blobs[4] = {0}, compressed = 0, expected_compressed = 0;
  for (int mode = 0; mode < 4; mode++) { /* 0 neither, 1 compress, 2 encrypt, 3 both */
    for (int iter = 0; iter < 60; iter++) {
      size_t target = iter == 0 ? 0 : iter == 1 ? 200 * 1024 : (size_t)(rnd() % ((size_t)1 << (rnd() % 18 + 1)));
      if (target > 200 * 1024) target = 200 * 1024;
      int random_bytes;
      gen(&json, target, &random_bytes);
      size_t n = json.len;
      static const size_t thresholds[] = {0, 64, 1024};
      ddbs_blob_opts o = opts(mode & 1, thresholds[iter % 3], KEYS, mode & 2 ? 2 : 0, iter % 2);
      o.level = iter % 4 == 0 ? 0 : (int)(1 + rnd() % 9);
      o.ctx = iter % 3 == 1 ? NULL : ctx;
      int is_blob = encode_check(&o, json.data, n, &blob);
      CHECK(is_blob == 0 || is_blob == 1);
      /* session JSON this long always shrinks (shorter texts may not: the random token) */
      int expect_compressed = (mode & 1) && n > o.threshold && !random_bytes && n >= 256;
      expected_compressed += expect_compressed;
      if (mode == 0) CHECK(is_blob == 0);
      if (mode & 2) CHECK(is_blob == 1);
      if (mode == 1 && (n <= o.threshold || random_bytes)) CHECK(is_blob == 0); /* random bytes do not shrink */
      if (expect_compressed) CHECK(is_blob == 1);
      if (is_blob != 1) continue;
      blobs[mode]++;
      const unsigned char *b = (const unsigned char *)blob.data;
      CHECK(b[0] == DDBS_BLOB_VERSION);
      if (expect_compressed) CHECK(b[1] & DDBS_BLOB_F_COMPRESSED);
      if (b[1] & DDBS_BLOB_F_COMPRESSED) compressed++;
      CHECK(((b[1] & DDBS_BLOB_F_ENCRYPTED) != 0) == ((mode & 2) != 0));
      CHECK((b[1] & DDBS_BLOB_F_COMPRESSED) == 0 || blob.len < n + DDBS_BLOB_OVERHEAD_MAX);
      if (mode == 2) CHECK(blob.len == n + 3 + strlen(KEYS[o.current].id) + 12 + 16);
      /* the same options decode it; so do options that write differently (decode reads the blob) */
      CHECK(decode_check(&o, TABLE, ITEM, ITEM_LEN, b, blob.len, json.data, n) == 0);
      ddbs_blob_opts other = opts(0, 0, KEYS, mode & 2 ? 2 : 0, 0);
      CHECK(decode_check(&other, TABLE, ITEM, ITEM_LEN, b, blob.len, json.data, n) == 0);
      /* the opposite encryption setting: an encrypted blob needs the keys; a compressed-only blob
       * reads with keys set too (as plain maps do: encryption turned on later) */
      ddbs_blob_opts flip = opts(0, 0, KEYS, mode & 2 ? 0 : 2, 0);
      CHECK(decode_check(&flip, TABLE, ITEM, ITEM_LEN, b, blob.len, json.data, n) ==
            (mode & 2 ? DDBS_BLOB_E_UNREADABLE : 0));
    }
  }
  CHECK(blobs[0] == 0 && blobs[1] > 20 && blobs[2] == 60 && blobs[3] == 60);
  CHECK(compressed >= expected_compressed && expected_compressed > 30);
  ddbs_buf_free(&json);
  ddbs_buf_free(&blob);
  ddbs_blob_ctx_free(ctx);
}

static void test_threshold_boundaries(void) {
  char text[2100];
  memset(text, 'a', sizeof text);
  static const size_t thresholds[] = {0, 1, 100, 1024, 2000};
  ddbs_buf blob = DDBS_BUF_INIT;
  for (size_t t = 0; t < sizeof thresholds / sizeof thresholds[0]; t++) {
    size_t T = thresholds[t];
    ddbs_blob_opts plain = opts(1, T, NULL, 0, 0), enc = opts(1, T, KEYS, 1, 0);
    if (T >= 32) {
      CHECK(encode_check(&plain, text, T, &blob) == 0); /* len == threshold: stays plain */
      CHECK(encode_check(&plain, text, T + 1, &blob) == 1); /* threshold + 1: compressed */
      CHECK(blob.len > 2 && (unsigned char)blob.data[1] == DDBS_BLOB_F_COMPRESSED);
      CHECK(decode_check(&plain, TABLE, ITEM, ITEM_LEN, (unsigned char *)blob.data, blob.len, text, T + 1) == 0);
      CHECK(encode_check(&enc, text, T, &blob) == 1);
      CHECK((unsigned char)blob.data[1] == DDBS_BLOB_F_ENCRYPTED);
      CHECK(encode_check(&enc, text, T + 1, &blob) == 1);
      CHECK((unsigned char)blob.data[1] == (DDBS_BLOB_F_ENCRYPTED | DDBS_BLOB_F_COMPRESSED));
      CHECK(decode_check(&enc, TABLE, ITEM, ITEM_LEN, (unsigned char *)blob.data, blob.len, text, T + 1) == 0);
    } else {
      /* tiny texts: over the threshold, but a zstd frame is longer than them, so not kept */
      CHECK(encode_check(&plain, text, T, &blob) == 0);
      CHECK(encode_check(&plain, text, T + 1, &blob) == 0);
      CHECK(encode_check(&enc, text, T + 1, &blob) == 1);
      CHECK((unsigned char)blob.data[1] == DDBS_BLOB_F_ENCRYPTED);
    }
  }
  /* compression off: never compressed, whatever the length */
  ddbs_blob_opts off = opts(0, 0, NULL, 0, 0);
  CHECK(encode_check(&off, text, sizeof text, &blob) == 0);
  /* the empty session */
  ddbs_blob_opts both = opts(1, 0, KEYS, 1, 0);
  CHECK(encode_check(&both, "", 0, &blob) == 1);
  CHECK(blob.len == 3 + 14 + 12 + 16 && (unsigned char)blob.data[1] == DDBS_BLOB_F_ENCRYPTED);
  CHECK(decode_check(&both, TABLE, ITEM, ITEM_LEN, (unsigned char *)blob.data, blob.len, "", 0) == 0);
  ddbs_buf_free(&blob);
}

/* Every bit flip (and every byte inverted) of small encrypted blobs fails to decode. */
static void test_flips_and_truncations(void) {
  const char *json = "{\"user\":\"" MARK "\",\"cart\":[{\"sku\":\"SKU-1\"},{\"sku\":\"SKU-1\"},{\"sku\":\"SKU-1\"}]}";
  size_t n = strlen(json);
  ddbs_blob_opts cases[3] = {opts(0, 0, KEYS, 2, 0), opts(1, 0, KEYS, 2, 1), opts(1, 0, NULL, 0, 0)};
  ddbs_buf blob = DDBS_BUF_INIT;
  for (int c = 0; c < 3; c++) {
    CHECK(encode_check(&cases[c], json, n, &blob) == 1);
    unsigned char *b = (unsigned char *)blob.data;
    size_t len = blob.len;
    CHECK(b[1] == (c == 0 ? DDBS_BLOB_F_ENCRYPTED : c == 1 ? 3 : DDBS_BLOB_F_COMPRESSED));
    CHECK(decode_check(&cases[c], TABLE, ITEM, ITEM_LEN, b, len, json, n) == 0);
    int flips_failed = 0, flips = 0;
    for (size_t i = 0; i < len; i++) {
      for (int bit = 0; bit <= 8; bit++) {
        unsigned char mask = bit == 8 ? 0xff : (unsigned char)(1u << bit);
        b[i] ^= mask;
        int rc = decode_check(&cases[c], TABLE, ITEM, ITEM_LEN, b, len, json, n);
        b[i] ^= mask;
        flips++;
        flips_failed += rc == DDBS_BLOB_E_UNREADABLE;
        CHECK(rc == DDBS_BLOB_E_UNREADABLE || c == 2); /* encrypted: always */
      }
    }
    if (c < 2) CHECK(flips_failed == flips);
    /* compressed only (no authentication): zstd's checksum catches nearly all */
    if (c == 2) CHECK(flips_failed > flips * 9 / 10);
    /* every truncation, and one byte more */
    for (size_t cut = 0; cut < len; cut++)
      CHECK(decode_check(&cases[c], TABLE, ITEM, ITEM_LEN, b, cut, json, n) == DDBS_BLOB_E_UNREADABLE);
    ddbs_buf_append_char(&blob, 0);
    CHECK(decode_check(&cases[c], TABLE, ITEM, ITEM_LEN, (unsigned char *)blob.data, blob.len, json, n) ==
          DDBS_BLOB_E_UNREADABLE);
  }
  ddbs_buf_free(&blob);
}

/* A blob moved to another item key or table does not decrypt; the length prefixes keep
 * (table "ab", key "c") apart from (table "a", key "bc"). */
static void test_moved(void) {
  const char *json = "{\"user\":\"" MARK "\"}";
  size_t n = strlen(json);
  ddbs_blob_opts o = opts(1, 0, KEYS, 1, 0);
  ddbs_buf out = DDBS_BUF_INIT;
  int is_blob = 0;
  char err[256];
  CHECK(ddbs_blob_encode(&o, TABLE, ITEM, ITEM_LEN, json, n, &out, &is_blob, err, sizeof err) == 0 && is_blob);
  const unsigned char *b = (const unsigned char *)out.data;
  CHECK(decode_check(&o, TABLE, ITEM, ITEM_LEN, b, out.len, json, n) == 0);
  CHECK(decode_check(&o, TABLE, "sess:abd", 8, b, out.len, json, n) == DDBS_BLOB_E_UNREADABLE);
  CHECK(decode_check(&o, TABLE, ITEM, ITEM_LEN - 1, b, out.len, json, n) == DDBS_BLOB_E_UNREADABLE);
  CHECK(decode_check(&o, TABLE, "", 0, b, out.len, json, n) == DDBS_BLOB_E_UNREADABLE);
  CHECK(decode_check(&o, "sessions-b", ITEM, ITEM_LEN, b, out.len, json, n) == DDBS_BLOB_E_UNREADABLE);
  CHECK(decode_check(&o, "Sessions", ITEM, ITEM_LEN, b, out.len, json, n) == DDBS_BLOB_E_UNREADABLE);
  ddbs_buf_reset(&out);
  CHECK(ddbs_blob_encode(&o, "ab", "c", 1, json, n, &out, &is_blob, err, sizeof err) == 0 && is_blob);
  b = (const unsigned char *)out.data;
  CHECK(decode_check(&o, "ab", "c", 1, b, out.len, json, n) == 0);
  CHECK(decode_check(&o, "a", "bc", 2, b, out.len, json, n) == DDBS_BLOB_E_UNREADABLE);
  CHECK(decode_check(&o, "abc", "", 0, b, out.len, json, n) == DDBS_BLOB_E_UNREADABLE);
  /* an item key with a NUL inside is bytes, not a C string */
  ddbs_buf_reset(&out);
  CHECK(ddbs_blob_encode(&o, TABLE, "a\0b", 3, json, n, &out, &is_blob, err, sizeof err) == 0 && is_blob);
  b = (const unsigned char *)out.data;
  CHECK(decode_check(&o, TABLE, "a\0b", 3, b, out.len, json, n) == 0);
  CHECK(decode_check(&o, TABLE, "a\0c", 3, b, out.len, json, n) == DDBS_BLOB_E_UNREADABLE);
  ddbs_buf_free(&out);
}

static void test_key_rotation(void) {
  const char *json = "{\"user\":\"" MARK "\",\"n\":1}";
  size_t n = strlen(json);
  ddbs_buf a = DDBS_BUF_INIT, b = DDBS_BUF_INIT;
  ddbs_blob_opts only_a = opts(0, 0, &KEYS[0], 1, 0), a_b_cur_b = opts(0, 0, KEYS, 2, 1),
                 only_b = opts(0, 0, &KEYS[1], 1, 0), a_changed = opts(0, 0, &KEYS[2], 1, 0);
  CHECK(encode_check(&only_a, json, n, &a) == 1); /* written with A */
  CHECK(decode_check(&a_b_cur_b, TABLE, ITEM, ITEM_LEN, (unsigned char *)a.data, a.len, json, n) == 0);
  CHECK(decode_check(&only_b, TABLE, ITEM, ITEM_LEN, (unsigned char *)a.data, a.len, json, n) ==
        DDBS_BLOB_E_UNREADABLE);
  /* the same id with other key bytes: authentication fails */
  CHECK(decode_check(&a_changed, TABLE, ITEM, ITEM_LEN, (unsigned char *)a.data, a.len, json, n) ==
        DDBS_BLOB_E_UNREADABLE);
  CHECK(encode_check(&a_b_cur_b, json, n, &b) == 1); /* writes use the current key, B */
  CHECK((unsigned char)b.data[2] == strlen(KEYS[1].id) && memcmp(b.data + 3, KEYS[1].id, strlen(KEYS[1].id)) == 0);
  CHECK(decode_check(&only_b, TABLE, ITEM, ITEM_LEN, (unsigned char *)b.data, b.len, json, n) == 0);
  CHECK(decode_check(&only_a, TABLE, ITEM, ITEM_LEN, (unsigned char *)b.data, b.len, json, n) ==
        DDBS_BLOB_E_UNREADABLE);
  /* a key id is matched whole: "key-alpha-2024" is not "key-alpha-20245" nor "key-alpha-202" */
  ddbs_blob_key near[2];
  memcpy(&near[0], &KEYS[0], sizeof near[0]);
  memcpy(&near[1], &KEYS[0], sizeof near[1]);
  strcpy(near[0].id, "key-alpha-20245");
  strcpy(near[1].id, "key-alpha-202");
  ddbs_blob_opts nearo = opts(0, 0, near, 2, 0);
  char err[256] = "";
  ddbs_buf d = DDBS_BUF_INIT;
  CHECK(ddbs_blob_decode(&nearo, TABLE, ITEM, ITEM_LEN, (unsigned char *)a.data, a.len, &d, err, sizeof err) ==
        DDBS_BLOB_E_UNREADABLE);
  CHECK(strstr(err, "unknown key id") != NULL && clean_message(err));
  ddbs_blob_keys_wipe(near, 2);
  unsigned char zero[sizeof near] = {0};
  CHECK(memcmp(near, zero, sizeof near) == 0);
  ddbs_blob_keys_wipe(NULL, 0);
  ddbs_buf_free(&a);
  ddbs_buf_free(&b);
  ddbs_buf_free(&d);
}

/* Builds an encrypted blob the way blob.h documents it, with any flags and payload (EVP
 * directly: the independent writer). out needs n + DDBS_BLOB_OVERHEAD_MAX bytes. */
static size_t seal(unsigned char *out, const ddbs_blob_key *k, const char *table, const char *item, size_t item_len,
                   unsigned char flags, const unsigned char *payload, size_t n) {
  size_t id_len = strlen(k->id), h = 3 + id_len;
  out[0] = 1;
  out[1] = flags;
  out[2] = (unsigned char)id_len;
  memcpy(out + 3, k->id, id_len);
  for (int i = 0; i < 12; i++) out[h + i] = (unsigned char)(0x5a + i);
  unsigned char aad[512];
  size_t a = 0, tl = strlen(table);
  memcpy(aad, DDBS_BLOB_AAD_CONTEXT, 34);
  a = 34;
  aad[a++] = 0, aad[a++] = 0, aad[a++] = (unsigned char)(tl >> 8), aad[a++] = (unsigned char)tl;
  memcpy(aad + a, table, tl);
  a += tl;
  aad[a++] = 0, aad[a++] = 0, aad[a++] = (unsigned char)(item_len >> 8), aad[a++] = (unsigned char)item_len;
  memcpy(aad + a, item, item_len);
  a += item_len;
  memcpy(aad + a, out, h);
  a += h;
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int l = 0;
  int ok = c && EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, k->key, out + h) == 1 &&
           EVP_EncryptUpdate(c, NULL, &l, aad, (int)a) == 1 &&
           (n == 0 || EVP_EncryptUpdate(c, out + h + 12, &l, payload, (int)n) == 1) &&
           EVP_EncryptFinal_ex(c, out + h + 12 + n, &l) == 1 &&
           EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + h + 12 + n) == 1;
  CHECK(ok);
  EVP_CIPHER_CTX_free(c);
  return h + 12 + n + 16;
}

static void test_format_errors(void) {
  const char *json = "{\"user\":\"" MARK "\",\"a\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}";
  size_t n = strlen(json);
  ddbs_blob_opts plain = opts(1, 0, NULL, 0, 0), enc = opts(1, 0, KEYS, 2, 0);
  ddbs_buf z = DDBS_BUF_INIT, e = DDBS_BUF_INIT;
  CHECK(encode_check(&plain, json, n, &z) == 1);
  unsigned char *zb = (unsigned char *)z.data;
  /* versions and flags */
  static const unsigned char versions[] = {0, 2, 0x81, 0xff};
  for (size_t i = 0; i < sizeof versions; i++) {
    zb[0] = versions[i];
    CHECK(decode_check(&plain, TABLE, ITEM, ITEM_LEN, zb, z.len, json, n) == DDBS_BLOB_E_UNREADABLE);
  }
  zb[0] = 1;
  static const unsigned char flags[] = {0, 0x05, 0x09, 0x41, 0x81, 0xfd};
  for (size_t i = 0; i < sizeof flags; i++) {
    zb[1] = flags[i];
    CHECK(decode_check(&plain, TABLE, ITEM, ITEM_LEN, zb, z.len, json, n) == DDBS_BLOB_E_UNREADABLE);
  }
  zb[1] = 1;
  CHECK(decode_check(&plain, TABLE, ITEM, ITEM_LEN, zb, z.len, json, n) == 0);
  CHECK(decode_check(&plain, TABLE, ITEM, ITEM_LEN, NULL, 0, json, n) == DDBS_BLOB_E_UNREADABLE);
  CHECK(decode_check(&plain, TABLE, ITEM, ITEM_LEN, zb, 1, json, n) == DDBS_BLOB_E_UNREADABLE);
  /* a compressed-only blob where encryption is on reads (written before it was turned on); an
   * encrypted one where it is off does not */
  CHECK(decode_check(&enc, TABLE, ITEM, ITEM_LEN, zb, z.len, json, n) == 0);
  CHECK(encode_check(&enc, json, n, &e) == 1);
  unsigned char *eb = (unsigned char *)e.data;
  CHECK(decode_check(&plain, TABLE, ITEM, ITEM_LEN, eb, e.len, json, n) == DDBS_BLOB_E_UNREADABLE);
  /* key id length 0 and 65; an unknown key id */
  unsigned char saved = eb[2];
  eb[2] = 0;
  CHECK(decode_check(&enc, TABLE, ITEM, ITEM_LEN, eb, e.len, json, n) == DDBS_BLOB_E_UNREADABLE);
  eb[2] = 65;
  CHECK(decode_check(&enc, TABLE, ITEM, ITEM_LEN, eb, e.len, json, n) == DDBS_BLOB_E_UNREADABLE);
  eb[2] = saved;
  eb[3] = 'K';
  char err[256] = "";
  ddbs_buf d = DDBS_BUF_INIT;
  CHECK(ddbs_blob_decode(&enc, TABLE, ITEM, ITEM_LEN, eb, e.len, &d, err, sizeof err) == DDBS_BLOB_E_UNREADABLE);
  CHECK(strstr(err, "unknown key id") != NULL);
  eb[3] = 'k';
  /* flags changed on an encrypted blob: unknown, or caught by the associated data */
  eb[1] = 0x06;
  CHECK(decode_check(&enc, TABLE, ITEM, ITEM_LEN, eb, e.len, json, n) == DDBS_BLOB_E_UNREADABLE);
  eb[1] = DDBS_BLOB_F_ENCRYPTED;
  CHECK(ddbs_blob_decode(&enc, TABLE, ITEM, ITEM_LEN, eb, e.len, &d, err, sizeof err) == DDBS_BLOB_E_UNREADABLE);
  CHECK(strstr(err, "authentication failed") != NULL && clean_message(err));
  eb[1] = 3;
  CHECK(decode_check(&enc, TABLE, ITEM, ITEM_LEN, eb, e.len, json, n) == 0);

  /* the independent writer: its blobs decode, and flags it authenticates still decide */
  unsigned char sealed[4096];
  size_t sl = seal(sealed, &KEYS[1], TABLE, ITEM, ITEM_LEN, DDBS_BLOB_F_ENCRYPTED, (const unsigned char *)json, n);
  CHECK(decode_check(&enc, TABLE, ITEM, ITEM_LEN, sealed, sl, json, n) == 0);
  sl = seal(sealed, &KEYS[1], TABLE, ITEM, ITEM_LEN, 3, zb + 2, z.len - 2); /* the frame, encrypted */
  CHECK(decode_check(&enc, TABLE, ITEM, ITEM_LEN, sealed, sl, json, n) == 0);
  sl = seal(sealed, &KEYS[1], TABLE, ITEM, ITEM_LEN, 3, (const unsigned char *)json, n); /* not a frame */
  CHECK(decode_check(&enc, TABLE, ITEM, ITEM_LEN, sealed, sl, json, n) == DDBS_BLOB_E_UNREADABLE);
  sl = seal(sealed, &KEYS[1], TABLE, ITEM, ITEM_LEN, 0x0a, (const unsigned char *)json, n); /* unknown flag */
  CHECK(decode_check(&enc, TABLE, ITEM, ITEM_LEN, sealed, sl, json, n) == DDBS_BLOB_E_UNREADABLE);
  sl = seal(sealed, &KEYS[1], TABLE, ITEM, ITEM_LEN, 3, zb + 2, 0); /* compressed, empty payload */
  CHECK(decode_check(&enc, TABLE, ITEM, ITEM_LEN, sealed, sl, json, n) == DDBS_BLOB_E_UNREADABLE);
  sl = seal(sealed, &KEYS[1], TABLE, ITEM, ITEM_LEN, 2, zb + 2, 0); /* the empty session */
  CHECK(decode_check(&enc, TABLE, ITEM, ITEM_LEN, sealed, sl, "", 0) == 0);

  /* zstd: not exactly one frame */
  unsigned char two[4096];
  size_t fl = z.len - 2;
  two[0] = 1, two[1] = 1;
  memcpy(two + 2, zb + 2, fl);
  memcpy(two + 2 + fl, zb + 2, fl); /* two frames */
  CHECK(decode_check(&plain, TABLE, ITEM, ITEM_LEN, two, 2 + 2 * fl, json, n) == DDBS_BLOB_E_UNREADABLE);
  static const unsigned char skippable[] = {0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 'a', 'b', 'c', 'd'};
  memcpy(two + 2 + fl, skippable, sizeof skippable); /* a frame, then a skippable frame */
  CHECK(decode_check(&plain, TABLE, ITEM, ITEM_LEN, two, 2 + fl + sizeof skippable, json, n) ==
        DDBS_BLOB_E_UNREADABLE);
  memcpy(two + 2, skippable, sizeof skippable); /* only a skippable frame */
  CHECK(decode_check(&plain, TABLE, ITEM, ITEM_LEN, two, 2 + sizeof skippable, json, n) == DDBS_BLOB_E_UNREADABLE);
  memcpy(two + 2, "{\"a\":1}", 7); /* flagged compressed, but JSON */
  CHECK(decode_check(&plain, TABLE, ITEM, ITEM_LEN, two, 9, json, n) == DDBS_BLOB_E_UNREADABLE);
  ddbs_buf_free(&z);
  ddbs_buf_free(&e);
  ddbs_buf_free(&d);
}

/* A compressed-only blob: a zstd frame of src, written with or without its content size, with a
 * content checksum (fresh buffer *f). */
static void frame_of(ddbs_buf *f, const void *src, size_t n, int with_size) {
  ZSTD_CCtx *c = ZSTD_createCCtx();
  ddbs_buf_free(f);
  ddbs_buf_append(f, "\x01\x01", 2); /* a compressed-only blob header */
  CHECK(c && ddbs_buf_reserve(f, ZSTD_compressBound(n)) == 0);
  ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 1);
  ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, with_size);
  ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1); /* 4 bytes after the content: the bound must allow them */
  size_t r = ZSTD_compress2(c, f->data + 2, f->cap - 3, src, n);
  CHECK(!ZSTD_isError(r));
  f->len = 2 + r;
  CHECK(ZSTD_getFrameContentSize(f->data + 2, r) == (with_size ? n : ZSTD_CONTENTSIZE_UNKNOWN));
  ZSTD_freeCCtx(c);
}

/* Small frames that decompress past DDBS_BLOB_MAX_PLAIN are refused, with the content size in
 * the header (before allocating) and without it (streaming, bounded); exactly the bound passes. */
static void test_zip_bombs(void) {
  size_t big = DDBS_BLOB_MAX_PLAIN + 1;
  char *zeros = calloc(1, big);
  CHECK(zeros != NULL);
  if (!zeros) return;
  ddbs_blob_ctx *ctx = ddbs_blob_ctx_new();
  ddbs_buf f = DDBS_BUF_INIT, d = DDBS_BUF_INIT;
  char err[256];
  for (int with_size = 0; with_size <= 1; with_size++) {
    for (int use_ctx = 0; use_ctx <= 1; use_ctx++) {
      ddbs_blob_opts o = opts(1, 0, NULL, 0, 0);
      o.ctx = use_ctx ? ctx : NULL;
      frame_of(&f, zeros, big, with_size);
      CHECK(f.len < 4096); /* small */
      ddbs_buf_reset(&d);
      CHECK(ddbs_blob_decode(&o, TABLE, ITEM, ITEM_LEN, (unsigned char *)f.data, f.len, &d, err, sizeof err) ==
            DDBS_BLOB_E_UNREADABLE);
      CHECK(strstr(err, "16 MiB") != NULL);
      CHECK(d.len == 0);
      frame_of(&f, zeros, big - 1, with_size); /* exactly the bound */
      CHECK(ddbs_blob_decode(&o, TABLE, ITEM, ITEM_LEN, (unsigned char *)f.data, f.len, &d, err, sizeof err) == 0);
      CHECK(d.len == DDBS_BLOB_MAX_PLAIN && d.data[0] == 0 && d.data[d.len - 1] == 0);
      ddbs_buf_free(&d);
    }
  }
  /* a bomb inside an authentic encrypted blob */
  frame_of(&f, zeros, big, 0);
  unsigned char *sealed = malloc(f.len + DDBS_BLOB_OVERHEAD_MAX);
  size_t sl = seal(sealed, &KEYS[0], TABLE, ITEM, ITEM_LEN, 3, (unsigned char *)f.data + 2, f.len - 2);
  ddbs_blob_opts enc = opts(1, 0, KEYS, 1, 0);
  CHECK(decode_check(&enc, TABLE, ITEM, ITEM_LEN, sealed, sl, NULL, 0) == DDBS_BLOB_E_UNREADABLE);
  free(sealed);
  /* encode refuses JSON over the bound */
  ddbs_blob_opts o = opts(1, 0, NULL, 0, 0);
  int is_blob = 5;
  ddbs_buf_free(&d);
  CHECK(ddbs_blob_encode(&o, TABLE, ITEM, ITEM_LEN, zeros, big, &d, &is_blob, err, sizeof err) == DDBS_BLOB_E_INPUT);
  CHECK(is_blob == 0 && d.len == 0 && strstr(err, "16 MiB") != NULL);
  /* frames without a content size: the streaming path, sizes around its buffer growth */
  rng_state = 99;
  ddbs_buf json = DDBS_BUF_INIT;
  static const size_t sizes[] = {0, 1, 1000, 65535, 65536, 65537, 200000, 1000000};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    int rb;
    gen(&json, sizes[i], &rb);
    frame_of(&f, json.data, json.len, 0);
    o.ctx = i % 2 ? ctx : NULL;
    const char *expect = json.data ? json.data : "";
    CHECK(decode_check(&o, TABLE, ITEM, ITEM_LEN, (unsigned char *)f.data, f.len, expect, json.len) == 0);
    for (size_t cut = 2; cut < f.len; cut += 1 + f.len / 50) /* truncated in streaming mode */
      CHECK(decode_check(&o, TABLE, ITEM, ITEM_LEN, (unsigned char *)f.data, cut, expect, json.len) ==
            DDBS_BLOB_E_UNREADABLE);
  }
  ddbs_buf_free(&json);
  ddbs_buf_free(&f);
  ddbs_buf_free(&d);
  ddbs_blob_ctx_free(ctx);
  free(zeros);
}

/* The layout, byte for byte, against a blob computed with Node's crypto (OpenSSL underneath, but
 * the associated data and layout written independently):
 *   key = 00..1f, id "k1", nonce a0..ab, table "sessions", item "sess:abc",
 *   aad = "koa-session-dynamodb-store blob v1" + u32be(8) + "sessions" + u32be(8) + "sess:abc" + 01 02 02 "k1"
 *   blob = 01 02 02 "k1" + nonce + aes-256-gcm(json) + tag */
static void test_known_answer(void) {
  static const char expect_hex[] =
      "0102026b31a0a1a2a3a4a5a6a7a8a9aaab9d3a095e20b920854004e3b22556e2b05296686d2f31d29b62655110a356819b2395e518";
  const char *json = "{\"user\":\"ada\",\"n\":1}";
  ddbs_blob_key k;
  memset(&k, 0, sizeof k);
  strcpy(k.id, "k1");
  for (int i = 0; i < 32; i++) k.key[i] = (unsigned char)i;
  unsigned char nonce[12];
  for (int i = 0; i < 12; i++) nonce[i] = (unsigned char)(0xa0 + i);
  ddbs_blob_opts o = opts(1, 1024, &k, 1, 0);
  o.test_nonce = nonce;
  ddbs_buf out = DDBS_BUF_INIT;
  int is_blob = 0;
  char err[256];
  CHECK(ddbs_blob_encode(&o, "sessions", "sess:abc", 8, json, strlen(json), &out, &is_blob, err, sizeof err) == 0);
  CHECK(is_blob == 1 && out.len * 2 == strlen(expect_hex));
  char hex[256] = "";
  for (size_t i = 0; i < out.len && i < 120; i++) snprintf(hex + 2 * i, 3, "%02x", (unsigned char)out.data[i]);
  CHECK_STREQ(hex, expect_hex);
  CHECK(decode_check(&o, "sessions", "sess:abc", 8, (unsigned char *)out.data, out.len, json, strlen(json)) == 0);
  /* without the test nonce: a fresh random nonce each time */
  ddbs_buf again = DDBS_BUF_INIT;
  o.test_nonce = NULL;
  CHECK(ddbs_blob_encode(&o, "sessions", "sess:abc", 8, json, strlen(json), &again, &is_blob, err, sizeof err) == 0);
  ddbs_buf third = DDBS_BUF_INIT;
  CHECK(ddbs_blob_encode(&o, "sessions", "sess:abc", 8, json, strlen(json), &third, &is_blob, err, sizeof err) == 0);
  CHECK(again.len == out.len && third.len == out.len);
  CHECK(memcmp(again.data + 5, out.data + 5, 12) != 0 && memcmp(again.data + 5, third.data + 5, 12) != 0);
  CHECK(decode_check(&o, "sessions", "sess:abc", 8, (unsigned char *)again.data, again.len, json, strlen(json)) == 0);
  ddbs_buf_free(&out);
  ddbs_buf_free(&again);
  ddbs_buf_free(&third);
}

static void test_option_errors(void) {
  const char *json = "{\"user\":\"" MARK "\",\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}";
  size_t n = strlen(json);
  ddbs_buf out = DDBS_BUF_INIT;
  char err[256];
  int is_blob;
  ddbs_buf_append_str(&out, "keep");
  ddbs_blob_key bad[2];
  memcpy(bad, KEYS, sizeof bad);
  bad[0].id[0] = '\0';                          /* empty id */
  memset(bad[1].id, 'x', sizeof bad[1].id);     /* no NUL: longer than 64 */
  struct {
    ddbs_blob_opts o;
    const char *table;
  } cases[] = {
      {opts(1, 0, NULL, 0, 0), TABLE}, {opts(1, 0, NULL, 0, 0), TABLE}, {opts(1, 0, NULL, 0, 0), TABLE},
      {opts(0, 0, KEYS, 2, 2), TABLE}, {opts(0, 0, NULL, 2, 0), TABLE}, {opts(0, 0, bad, 2, 0), TABLE},
      {opts(0, 0, bad, 2, 1), TABLE},  {opts(0, 0, KEYS, 2, 0), NULL},
  };
  cases[0].o.level = 20;
  cases[1].o.level = -1;
  cases[2].o.level = 1000;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    is_blob = 3;
    err[0] = '\0';
    CHECK(ddbs_blob_encode(&cases[i].o, cases[i].table, ITEM, ITEM_LEN, json, n, &out, &is_blob, err, sizeof err) ==
          DDBS_BLOB_E_INPUT);
    CHECK(is_blob == 0 && out.len == 4 && strcmp(out.data, "keep") == 0);
    CHECK(err[0] && clean_message(err));
  }
  ddbs_blob_opts ok = opts(1, 0, NULL, 0, 0);
  ok.level = DDBS_BLOB_LEVEL_MAX;
  CHECK(ddbs_blob_encode(&ok, NULL, NULL, 0, json, n, &out, &is_blob, err, sizeof err) == 0 && is_blob == 1);
  ok.level = DDBS_BLOB_LEVEL_MIN;
  CHECK(ddbs_blob_encode(&ok, NULL, NULL, 0, json, n, &out, &is_blob, err, sizeof err) == 0 && is_blob == 1);
  CHECK(ddbs_blob_encode(NULL, TABLE, ITEM, ITEM_LEN, json, n, &out, &is_blob, err, sizeof err) == DDBS_BLOB_E_INPUT);
  CHECK(ddbs_blob_encode(&ok, TABLE, ITEM, ITEM_LEN, json, n, &out, NULL, err, sizeof err) == DDBS_BLOB_E_INPUT);
  CHECK(ddbs_blob_encode(&ok, TABLE, ITEM, ITEM_LEN, NULL, 1, &out, &is_blob, err, sizeof err) == DDBS_BLOB_E_INPUT);
  /* decode: missing arguments */
  ddbs_blob_opts enc = opts(0, 0, KEYS, 2, 0);
  ddbs_buf blob = DDBS_BUF_INIT;
  CHECK(encode_check(&enc, json, n, &blob) == 1);
  ddbs_buf_reset(&out);
  CHECK(ddbs_blob_decode(&enc, NULL, ITEM, ITEM_LEN, (unsigned char *)blob.data, blob.len, &out, err, sizeof err) ==
        DDBS_BLOB_E_INPUT);
  CHECK(ddbs_blob_decode(&enc, TABLE, NULL, 3, (unsigned char *)blob.data, blob.len, &out, err, sizeof err) ==
        DDBS_BLOB_E_INPUT);
  CHECK(ddbs_blob_decode(NULL, TABLE, ITEM, ITEM_LEN, (unsigned char *)blob.data, blob.len, &out, err, sizeof err) ==
        DDBS_BLOB_E_INPUT);
  CHECK(ddbs_blob_decode(&enc, TABLE, ITEM, ITEM_LEN, NULL, 3, &out, err, sizeof err) == DDBS_BLOB_E_INPUT);
  CHECK(out.len == 0);
  /* err may be absent */
  CHECK(ddbs_blob_decode(&enc, "other", ITEM, ITEM_LEN, (unsigned char *)blob.data, blob.len, &out, NULL, 0) ==
        DDBS_BLOB_E_UNREADABLE);
  ddbs_buf_free(&out);
  ddbs_buf_free(&blob);
  ddbs_blob_keys_wipe(bad, 2);
}

/* One context through many calls, failing ones between them. */
static void test_context_reuse(void) {
  rng_state = 7;
  ddbs_blob_ctx *ctx = ddbs_blob_ctx_new();
  ddbs_buf json = DDBS_BUF_INIT, blob = DDBS_BUF_INIT, f = DDBS_BUF_INIT;
  for (int i = 0; i < 40; i++) {
    int rb;
    gen(&json, 100 + rnd() % 20000, &rb);
    ddbs_blob_opts o = opts(1, 0, i % 2 ? KEYS : NULL, i % 2 ? 1 : 0, 0);
    o.ctx = ctx;
    o.level = 1 + i % 19;
    int is_blob = encode_check(&o, json.data, json.len, &blob);
    if (is_blob == 1) {
      CHECK(decode_check(&o, TABLE, ITEM, ITEM_LEN, (unsigned char *)blob.data, blob.len, json.data, json.len) == 0);
      CHECK(decode_check(&o, TABLE, ITEM, ITEM_LEN, (unsigned char *)blob.data, blob.len / 2, json.data, json.len) ==
            DDBS_BLOB_E_UNREADABLE);
    }
    frame_of(&f, json.data, json.len, 0); /* a truncated streaming frame, then a good one */
    ddbs_blob_opts p = opts(0, 0, NULL, 0, 0);
    p.ctx = ctx;
    CHECK(decode_check(&p, TABLE, ITEM, ITEM_LEN, (unsigned char *)f.data, f.len - 1, json.data, json.len) ==
          DDBS_BLOB_E_UNREADABLE);
    CHECK(decode_check(&p, TABLE, ITEM, ITEM_LEN, (unsigned char *)f.data, f.len, json.data, json.len) == 0);
  }
  ddbs_buf_free(&json);
  ddbs_buf_free(&blob);
  ddbs_buf_free(&f);
  ddbs_blob_ctx_free(ctx);
  ddbs_blob_ctx_free(NULL);
}

void suite_blob(void) {
  init_keys();
  ctest_run("blob: round trips of random sessions (neither, compress, encrypt, both)", test_round_trips);
  ctest_run("blob: threshold boundaries", test_threshold_boundaries);
  ctest_run("blob: every bit flip and truncation fails", test_flips_and_truncations);
  ctest_run("blob: moved to another item key or table fails", test_moved);
  ctest_run("blob: key rotation", test_key_rotation);
  ctest_run("blob: unknown version, flags, key id; not one zstd frame", test_format_errors);
  ctest_run("blob: zip bombs refused, the bound itself passes", test_zip_bombs);
  ctest_run("blob: known-answer layout (Node crypto), fresh nonces", test_known_answer);
  ctest_run("blob: option and argument errors", test_option_errors);
  ctest_run("blob: one context through many calls", test_context_reuse);
  ddbs_blob_keys_wipe(KEYS, 3);
}
