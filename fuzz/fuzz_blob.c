/* fuzz_blob: the decoder of stored session blobs (blob.c) and the strict base64 decoder
 * (base64.c) on arbitrary bytes. Each input is used five ways:
 *   1. as a blob, with no keys set (compressed-only blobs decode, encrypted ones do not);
 *   2. as a blob, with a fixed key set of two keys (the seeds in fuzz/corpus/blob are encrypted
 *      with these keys, table and item key, so mutations reach past the header checks; they cannot
 *      forge the tag);
 *   3. as the payload of an authentic encrypted blob flagged compressed, sealed here from the
 *      format in blob.h (EVP directly): the zstd path behind the authentication, which mutations of
 *      (2) cannot reach. It must decode exactly as the same payload in a compressed-only blob (1);
 *   4. as base64 text;
 *   5. as bytes to base64-encode.
 * Properties: no crash, leak, UB or read past the input (copied to exactly-sized buffers); only
 * DDBS_BLOB_E_UNREADABLE (or NOMEM) as a failure; on failure out unchanged; a blob that decodes
 * gives text that encodes (compressed, encrypted, both) and decodes back to the same bytes (texts
 * up to 1 MiB); a
 * base64 text that decodes encodes back to exactly itself (canonical), and encode -> decode is the
 * identity. */
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "base64.h"
#include "blob.h"
#include "fuzz_common.h"

#define TABLE "sessions"
#define ITEM "sess:fuzz"

static ddbs_blob_key KEYS[2] = {{"k1", {0}}, {"rotated-key", {0}}};
static ddbs_blob_ctx *CTX; /* kept across inputs, as the store keeps one per thread */

static void init(void) {
  if (CTX) return;
  for (int i = 0; i < 32; i++) {
    KEYS[0].key[i] = 0x11;
    KEYS[1].key[i] = (unsigned char)(0x22 + i);
  }
  CTX = ddbs_blob_ctx_new();
  if (!CTX) abort();
}

static ddbs_blob_opts opts(int compress, size_t nkeys, size_t current, int use_ctx) {
  ddbs_blob_opts o;
  memset(&o, 0, sizeof o);
  o.compress = compress;
  o.keys = nkeys ? KEYS : NULL;
  o.nkeys = nkeys;
  o.current = current;
  o.ctx = use_ctx ? CTX : NULL;
  return o;
}

/* Decodes blob; checks the failure contract; returns the rc (text in *out after "P"). */
static int decode(const ddbs_blob_opts *o, const unsigned char *blob, size_t n, ddbs_buf *out) {
  char err[256];
  ddbs_buf_free(out);
  ddbs_buf_append(out, "P", 1);
  int rc = ddbs_blob_decode(o, TABLE, ITEM, sizeof ITEM - 1, blob, n, out, err, sizeof err);
  if (rc != 0 && rc != DDBS_BLOB_E_UNREADABLE && rc != DDBS_BLOB_E_NOMEM) {
    fprintf(stderr, "MISMATCH: decode returned %d (%s)\n", rc, err);
    abort();
  }
  if (rc != 0 && (out->len != 1 || out->data[0] != 'P' || out->data[1] != '\0')) {
    fprintf(stderr, "MISMATCH: a failed decode changed out (%s)\n", err);
    abort();
  }
  if (rc == 0 && (out->len < 1 || out->data[out->len] != '\0')) abort();
  return rc;
}

/* Text that decoded: every way of encoding it decodes back to it. (Texts over 1 MiB, which only
 * zstd frames of repeats give, are skipped to keep executions fast: the same code paths.) */
static void round_trip(const char *text, size_t n) {
  if (n > ((size_t)1 << 20)) return;
  static const int modes[][2] = {{1, 0}, {0, 2}, {1, 2}}; /* compress, nkeys */
  for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
    ddbs_blob_opts o = opts(modes[m][0], (size_t)modes[m][1], m % 2, (int)(n & 1));
    ddbs_buf blob = DDBS_BUF_INIT, back = DDBS_BUF_INIT;
    char err[256];
    int is_blob = -1;
    int rc = ddbs_blob_encode(&o, TABLE, ITEM, sizeof ITEM - 1, text, n, &blob, &is_blob, err, sizeof err);
    if (rc == DDBS_BLOB_E_NOMEM) goto next;
    if (rc != 0) {
      fprintf(stderr, "MISMATCH: encode of decoded text failed: %s\n", err);
      abort();
    }
    if (!is_blob) { /* compression only, and it did not shrink: stays a plain map */
      if (modes[m][1] != 0 || blob.len != 0) abort();
      goto next;
    }
    rc = decode(&o, (const unsigned char *)blob.data, blob.len, &back);
    if (rc == DDBS_BLOB_E_NOMEM) goto next;
    if (rc != 0 || back.len != n + 1 || memcmp(back.data + 1, text, n) != 0) {
      ddbs_buf want = DDBS_BUF_INIT;
      ddbs_buf_append(&want, "P", 1);
      ddbs_buf_append(&want, text, n);
      fuzz_mismatch("blob encode -> decode", &want, &back, 0, rc);
    }
  next:
    ddbs_buf_free(&blob);
    ddbs_buf_free(&back);
  }
}

/* An authentic encrypted blob (key 0) of payload with the given flags, as blob.h lays it out. */
static unsigned char *seal(const unsigned char *payload, size_t n, unsigned char flags, size_t *out_len) {
  const size_t id_len = 2, h = 3 + id_len;
  unsigned char *b = malloc(h + 12 + n + 16);
  if (!b) return NULL;
  b[0] = 1, b[1] = flags, b[2] = (unsigned char)id_len;
  memcpy(b + 3, "k1", 2);
  memset(b + h, 0x5c, 12);
  unsigned char aad[64];
  size_t a = 0;
  memcpy(aad, DDBS_BLOB_AAD_CONTEXT, 34), a = 34;
  memcpy(aad + a, "\0\0\0\x08" TABLE, 12), a += 12;
  memcpy(aad + a, "\0\0\0\x09" ITEM, 13), a += 13;
  memcpy(aad + a, b, h), a += h;
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int l = 0;
  int ok = c && EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, KEYS[0].key, b + h) == 1 &&
           EVP_EncryptUpdate(c, NULL, &l, aad, (int)a) == 1 &&
           (n == 0 || EVP_EncryptUpdate(c, b + h + 12, &l, payload, (int)n) == 1) &&
           EVP_EncryptFinal_ex(c, b + h + 12 + n, &l) == 1 &&
           EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, b + h + 12 + n) == 1;
  EVP_CIPHER_CTX_free(c);
  if (!ok) abort();
  *out_len = h + 12 + n + 16;
  return b;
}

static void fuzz_base64(const uint8_t *data, size_t size) {
  char *text = malloc(size ? size : 1); /* exactly size bytes */
  if (!text) return;
  memcpy(text, data, size);
  ddbs_buf bytes = DDBS_BUF_INIT, again = DDBS_BUF_INIT, back = DDBS_BUF_INIT;
  char err[128];
  int rc = ddbs_base64_decode(text, size, &bytes, err, sizeof err);
  if (rc != 0 && rc != DDBS_BASE64_E_INVALID && rc != DDBS_BASE64_E_NOMEM) abort();
  if (rc != 0 && bytes.len != 0) abort();
  if (rc == 0) { /* canonical: encodes back to exactly the text */
    if (ddbs_base64_encode((const unsigned char *)bytes.data, bytes.len, &again) == 0 &&
        (again.len != size || memcmp(again.data, text, size) != 0)) {
      ddbs_buf t = DDBS_BUF_INIT;
      ddbs_buf_append(&t, text, size);
      fuzz_mismatch("base64 decode -> encode", &t, &again, 0, 0);
    }
  }
  ddbs_buf_free(&again);
  /* encode -> decode is the identity */
  if (ddbs_base64_encode(data, size, &again) == 0) {
    rc = ddbs_base64_decode(again.data, again.len, &back, err, sizeof err);
    if (rc == 0 && (back.len != size || (size && memcmp(back.data, data, size) != 0))) {
      ddbs_buf t = DDBS_BUF_INIT;
      ddbs_buf_append(&t, data, size);
      fuzz_mismatch("base64 encode -> decode", &t, &back, 0, rc);
    }
    if (rc != 0 && rc != DDBS_BASE64_E_NOMEM) {
      fprintf(stderr, "MISMATCH: base64 refuses its own encoding: %s\n", err);
      abort();
    }
  }
  ddbs_buf_free(&bytes);
  ddbs_buf_free(&again);
  ddbs_buf_free(&back);
  free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  init();
  unsigned char *blob = malloc(size ? size : 1); /* exactly size bytes: reading past the end is caught */
  if (!blob) return 0;
  memcpy(blob, data, size);
  ddbs_buf out = DDBS_BUF_INIT, plain_out = DDBS_BUF_INIT;

  /* 1, 2: as a stored blob, without and with keys */
  ddbs_blob_opts none = opts(0, 0, 0, (int)(size & 1)), keyed = opts(0, 2, 0, (int)(size & 2));
  if (decode(&none, blob, size, &out) == 0) round_trip(out.data + 1, out.len - 1);
  if (decode(&keyed, blob, size, &out) == 0) round_trip(out.data + 1, out.len - 1);

  /* 3: as a zstd frame behind authentic encryption, against the same frame unencrypted */
  size_t sealed_len = 0;
  unsigned char *sealed = seal(blob, size, DDBS_BLOB_F_COMPRESSED | DDBS_BLOB_F_ENCRYPTED, &sealed_len);
  unsigned char *framed = malloc(size + 2);
  if (sealed && framed) {
    framed[0] = 1, framed[1] = DDBS_BLOB_F_COMPRESSED;
    memcpy(framed + 2, blob, size);
    int rs = decode(&keyed, sealed, sealed_len, &out);
    int rp = decode(&none, framed, size + 2, &plain_out);
    if (rs != DDBS_BLOB_E_NOMEM && rp != DDBS_BLOB_E_NOMEM && (rs != rp || !same_bytes(&out, &plain_out)))
      fuzz_mismatch("the same frame, encrypted and not", &out, &plain_out, rs, rp);
    if (rs == 0) round_trip(out.data + 1, out.len - 1);
  }
  free(sealed);
  free(framed);

  /* 4, 5: base64 */
  fuzz_base64(data, size);

  ddbs_buf_free(&out);
  ddbs_buf_free(&plain_out);
  free(blob);
  return 0;
}
