/* blob.c: the stored-blob codec (see blob.h for the format and the policy): zstd compression,
 * AES-256-GCM encryption with the table and item key as associated data, and the bounded,
 * strict decoder.
 * Owns: per call, a scratch buffer (the compressed frame before encryption, the decrypted frame
 * before decompression, or a frame of unknown size while it is decompressed) that is wiped before
 * it is freed, and an OpenSSL cipher context (freed, which cleanses the key schedule); across calls,
 * a ddbs_blob_ctx's zstd contexts when the caller gives one.
 * Thread: any; reentrant, no globals. A ddbs_blob_ctx belongs to one thread at a time (the
 * store's worker).
 * Pure: no I/O, no clock; RAND_bytes for nonces. */
#include "blob.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <zstd.h>

/* The largest zstd window a frame may ask for when decompressed in streaming mode (a frame
 * without its content size): 2^24 = DDBS_BLOB_MAX_PLAIN. Frames this codec writes never need
 * more (zstd sizes the window to the input, at most 16 MiB). */
#define WINDOW_LOG_MAX 24

struct ddbs_blob_ctx {
  ZSTD_CCtx *cctx;
  ZSTD_DCtx *dctx;
};

ddbs_blob_ctx *ddbs_blob_ctx_new(void) { return calloc(1, sizeof(ddbs_blob_ctx)); }

void ddbs_blob_ctx_free(ddbs_blob_ctx *c) {
  if (!c) return;
  ZSTD_freeCCtx(c->cctx);
  ZSTD_freeDCtx(c->dctx);
  free(c);
}

void ddbs_blob_keys_wipe(ddbs_blob_key *k, size_t n) {
  if (k && n) ddbs_secure_zero(k, n * sizeof *k);
}

static int fail(char *err, size_t errlen, int code, const char *msg) {
  if (err && errlen) snprintf(err, errlen, "%s", msg);
  return code;
}

/* ---- zstd contexts: the caller's, or one for this call (*own set, freed by the caller) ---- */

static ZSTD_CCtx *get_cctx(const ddbs_blob_opts *o, ZSTD_CCtx **own) {
  if (!o->ctx) return *own = ZSTD_createCCtx();
  if (!o->ctx->cctx) o->ctx->cctx = ZSTD_createCCtx();
  return o->ctx->cctx;
}

static ZSTD_DCtx *get_dctx(const ddbs_blob_opts *o, ZSTD_DCtx **own) {
  if (!o->ctx) return *own = ZSTD_createDCtx();
  if (!o->ctx->dctx) o->ctx->dctx = ZSTD_createDCtx();
  return o->ctx->dctx;
}

/* ---- associated data ---- */

static int aad_part(EVP_CIPHER_CTX *c, const void *p, size_t n) {
  int outl = 0;
  if (n == 0) return 0;
  return EVP_CipherUpdate(c, NULL, &outl, p, (int)n) == 1 ? 0 : -1;
}

static int aad_counted(EVP_CIPHER_CTX *c, const void *p, size_t n) {
  unsigned char be[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8),
                         (unsigned char)n};
  if (aad_part(c, be, 4) != 0) return -1;
  return aad_part(c, p, n);
}

/* Feeds the associated data of blob.h to c (initialised with its key and nonce). */
static int feed_aad(EVP_CIPHER_CTX *c, const char *table, size_t table_len, const char *key, size_t key_len,
                    const unsigned char *hdr, size_t hdr_len) {
  if (aad_part(c, DDBS_BLOB_AAD_CONTEXT, sizeof DDBS_BLOB_AAD_CONTEXT - 1) != 0) return -1;
  if (aad_counted(c, table, table_len) != 0) return -1;
  if (aad_counted(c, key, key_len) != 0) return -1;
  return aad_part(c, hdr, hdr_len);
}

/* The lengths the associated data can carry (u32) and EVP's int lengths take. */
static int aad_lengths_ok(const char *table, size_t *table_len, const char *key, size_t key_len) {
  if (!table || (!key && key_len)) return 0;
  *table_len = strlen(table);
  return *table_len <= UINT32_MAX && key_len <= UINT32_MAX && *table_len <= INT_MAX && key_len <= INT_MAX;
}

/* ---- encode ---- */

int ddbs_blob_encode(const ddbs_blob_opts *o, const char *table, const char *key, size_t key_len, const char *json,
                     size_t len, ddbs_buf *out, int *is_blob, char *err, size_t errlen) {
  int rc = 0;
  ddbs_buf frame = DDBS_BUF_INIT; /* the compressed frame (session content: wiped) */
  ZSTD_CCtx *own_cctx = NULL;
  EVP_CIPHER_CTX *cipher = NULL;
  size_t len0 = out ? out->len : 0, total = 0;
  int wrote = 0;
  if (is_blob) *is_blob = 0;
  if (!o || !out || !is_blob || (!json && len))
    return fail(err, errlen, DDBS_BLOB_E_INPUT, "blob encode: missing argument");
  if (len > DDBS_BLOB_MAX_PLAIN)
    return fail(err, errlen, DDBS_BLOB_E_INPUT, "blob encode: the session JSON is over 16 MiB");
  if (o->level != 0 && (o->level < DDBS_BLOB_LEVEL_MIN || o->level > DDBS_BLOB_LEVEL_MAX))
    return fail(err, errlen, DDBS_BLOB_E_INPUT, "blob encode: compression level out of range (1..19, or 0)");
  const int encrypt = o->nkeys > 0;
  const ddbs_blob_key *k = NULL;
  size_t id_len = 0, table_len = 0;
  if (encrypt) {
    if (!o->keys || o->current >= o->nkeys)
      return fail(err, errlen, DDBS_BLOB_E_INPUT, "blob encode: the current key is not in the key set");
    k = &o->keys[o->current];
    const char *nul = memchr(k->id, '\0', sizeof k->id);
    id_len = nul ? (size_t)(nul - k->id) : 0;
    if (id_len == 0)
      return fail(err, errlen, DDBS_BLOB_E_INPUT, "blob encode: the current key's id is empty or too long");
    if (!aad_lengths_ok(table, &table_len, key, key_len))
      return fail(err, errlen, DDBS_BLOB_E_INPUT, "blob encode: missing or too long table name or item key");
  }

  /* compression */
  const unsigned char *payload = (const unsigned char *)json;
  size_t payload_len = len;
  unsigned char flags = 0;
  if (o->compress && len > o->threshold) {
    size_t bound = ZSTD_compressBound(len);
    if (ddbs_buf_reserve(&frame, bound) != 0) {
      rc = fail(err, errlen, DDBS_BLOB_E_NOMEM, "blob encode: out of memory");
      goto cleanup;
    }
    ZSTD_CCtx *cc = get_cctx(o, &own_cctx);
    if (!cc) {
      rc = fail(err, errlen, DDBS_BLOB_E_NOMEM, "blob encode: out of memory (compression context)");
      goto cleanup;
    }
    size_t r = ZSTD_CCtx_reset(cc, ZSTD_reset_session_and_parameters);
    if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, o->level);
    if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, encrypt ? 0 : 1);
    if (!ZSTD_isError(r)) r = ZSTD_compress2(cc, frame.data, frame.cap, json, len);
    if (ZSTD_isError(r)) {
      rc = fail(err, errlen, DDBS_BLOB_E_INTERNAL, "blob encode: compression failed");
      goto cleanup;
    }
    frame.len = r;
    if (r < len) { /* keep the frame only when it saves bytes */
      payload = (const unsigned char *)frame.data;
      payload_len = r;
      flags |= DDBS_BLOB_F_COMPRESSED;
    }
  }
  if (!encrypt && !flags) goto cleanup; /* stays a plain map */
  if (encrypt) flags |= DDBS_BLOB_F_ENCRYPTED;

  /* the blob */
  size_t hdr_len = encrypt ? 3 + id_len : 2;
  total = hdr_len + payload_len + (encrypt ? DDBS_BLOB_NONCE_LEN + DDBS_BLOB_TAG_LEN : 0);
  if (ddbs_buf_reserve(out, total) != 0) {
    rc = fail(err, errlen, DDBS_BLOB_E_NOMEM, "blob encode: out of memory");
    goto cleanup;
  }
  unsigned char *hdr = (unsigned char *)out->data + len0;
  wrote = 1;
  hdr[0] = DDBS_BLOB_VERSION;
  hdr[1] = flags;
  if (!encrypt) {
    if (payload_len) memcpy(hdr + 2, payload, payload_len);
  } else {
    hdr[2] = (unsigned char)id_len;
    memcpy(hdr + 3, k->id, id_len);
    unsigned char *nonce = hdr + hdr_len, *ct = nonce + DDBS_BLOB_NONCE_LEN, *tag = ct + payload_len;
    if (o->test_nonce) {
      memcpy(nonce, o->test_nonce, DDBS_BLOB_NONCE_LEN);
    } else if (RAND_bytes(nonce, DDBS_BLOB_NONCE_LEN) != 1) {
      rc = fail(err, errlen, DDBS_BLOB_E_INTERNAL, "blob encode: no random bytes for the nonce (RAND_bytes)");
      goto cleanup;
    }
    int outl = 0, finl = 0;
    cipher = EVP_CIPHER_CTX_new();
    if (!cipher) {
      rc = fail(err, errlen, DDBS_BLOB_E_NOMEM, "blob encode: out of memory (cipher context)");
      goto cleanup;
    }
    if (EVP_EncryptInit_ex(cipher, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(cipher, EVP_CTRL_GCM_SET_IVLEN, DDBS_BLOB_NONCE_LEN, NULL) != 1 ||
        EVP_EncryptInit_ex(cipher, NULL, NULL, k->key, nonce) != 1 ||
        feed_aad(cipher, table, table_len, key, key_len, hdr, hdr_len) != 0 ||
        (payload_len && EVP_EncryptUpdate(cipher, ct, &outl, payload, (int)payload_len) != 1) ||
        (size_t)outl != payload_len || EVP_EncryptFinal_ex(cipher, ct + outl, &finl) != 1 || finl != 0 ||
        EVP_CIPHER_CTX_ctrl(cipher, EVP_CTRL_GCM_GET_TAG, DDBS_BLOB_TAG_LEN, tag) != 1) {
      rc = fail(err, errlen, DDBS_BLOB_E_INTERNAL, "blob encode: encryption failed");
      goto cleanup;
    }
  }
  out->len = len0 + total;
  out->data[out->len] = '\0';
  *is_blob = 1;

cleanup:
  if (rc != 0 && wrote) { /* out as it was */
    ddbs_secure_zero(out->data + len0, total);
    out->len = len0;
    out->data[len0] = '\0';
  }
  EVP_CIPHER_CTX_free(cipher);
  ZSTD_freeCCtx(own_cctx);
  ddbs_buf_wipe_free(&frame);
  return rc;
}

/* ---- decode ---- */

/* Grows b (scratch holding plaintext) to at least cap bytes without leaving a copy behind:
 * a fresh allocation, a copy, the old one wiped and freed. */
static int grow_wiping(ddbs_buf *b, size_t cap) {
  if (cap <= b->cap) return 0;
  char *p = malloc(cap);
  if (!p) return -1;
  if (b->len) memcpy(p, b->data, b->len);
  p[b->len] = '\0';
  ddbs_buf_wipe_free(&(ddbs_buf){b->data, 0, b->cap});
  b->data = p;
  b->cap = cap;
  return 0;
}

/* Decompresses src, which must be exactly one zstd frame, appending at most DDBS_BLOB_MAX_PLAIN
 * bytes to out. On failure out is as it was (what was written wiped). */
static int unzstd(const ddbs_blob_opts *o, const unsigned char *src, size_t n, ddbs_buf *out, char *err,
                  size_t errlen) {
  int rc = 0;
  ZSTD_DCtx *own = NULL;
  ddbs_buf scratch = DDBS_BUF_INIT;
  size_t len0 = out->len, written = 0;
  if (n < 4 || ((uint32_t)src[0] | (uint32_t)src[1] << 8 | (uint32_t)src[2] << 16 | (uint32_t)src[3] << 24) !=
                   ZSTD_MAGICNUMBER)
    return fail(err, errlen, DDBS_BLOB_E_UNREADABLE, "stored session blob: the payload is not a zstd frame");
  size_t fsz = ZSTD_findFrameCompressedSize(src, n);
  if (ZSTD_isError(fsz) || fsz != n)
    return fail(err, errlen, DDBS_BLOB_E_UNREADABLE,
                "stored session blob: the payload is not exactly one zstd frame");
  unsigned long long cs = ZSTD_getFrameContentSize(src, n);
  if (cs == ZSTD_CONTENTSIZE_ERROR)
    return fail(err, errlen, DDBS_BLOB_E_UNREADABLE, "stored session blob: bad zstd frame header");
  if (cs != ZSTD_CONTENTSIZE_UNKNOWN && cs > DDBS_BLOB_MAX_PLAIN)
    return fail(err, errlen, DDBS_BLOB_E_UNREADABLE, "stored session blob: decompresses to over 16 MiB");
  ZSTD_DCtx *d = get_dctx(o, &own);
  if (!d) {
    rc = fail(err, errlen, DDBS_BLOB_E_NOMEM, "stored session blob: out of memory (decompression context)");
    goto cleanup;
  }
  if (cs != ZSTD_CONTENTSIZE_UNKNOWN) { /* one shot, straight into out */
    if (ddbs_buf_reserve(out, (size_t)cs) != 0) {
      rc = fail(err, errlen, DDBS_BLOB_E_NOMEM, "stored session blob: out of memory");
      goto cleanup;
    }
    written = (size_t)cs;
    size_t r = ZSTD_decompressDCtx(d, out->data + len0, (size_t)cs, src, n);
    if (ZSTD_isError(r) || r != cs) {
      rc = fail(err, errlen, DDBS_BLOB_E_UNREADABLE, "stored session blob: the payload does not decompress");
      goto cleanup;
    }
    out->len = len0 + (size_t)cs;
    out->data[out->len] = '\0';
    goto cleanup;
  }
  /* no content size: streaming into scratch, bounded in output and window */
  size_t r = ZSTD_DCtx_reset(d, ZSTD_reset_session_only);
  if (!ZSTD_isError(r)) r = ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, WINDOW_LOG_MAX);
  if (ZSTD_isError(r)) {
    rc = fail(err, errlen, DDBS_BLOB_E_INTERNAL, "stored session blob: decompression setup failed");
    goto cleanup;
  }
  /* the buffer grows up to one byte past the bound (and the NUL): a frame of exactly the bound
   * still has room to finish (its checksum), one byte more is seen as over it */
  const size_t limit = DDBS_BLOB_MAX_PLAIN + 2;
  size_t cap = n < limit / 4 ? n * 4 : limit;
  if (cap < 65536) cap = 65536;
  ZSTD_inBuffer in = {src, n, 0};
  int done = 0;
  /* each pass finishes, takes input, or grows the buffer (at most ~8 times); a pass that does
   * none of these ends the loop as a failure, and the number of passes is bounded anyway */
  for (int pass = 0; pass < 4096 && !done; pass++) {
    if (grow_wiping(&scratch, cap) != 0) {
      rc = fail(err, errlen, DDBS_BLOB_E_NOMEM, "stored session blob: out of memory");
      goto cleanup;
    }
    size_t in_before = in.pos;
    ZSTD_outBuffer ob = {scratch.data, cap - 1, scratch.len}; /* room for the NUL */
    r = ZSTD_decompressStream(d, &ob, &in);
    if (ZSTD_isError(r)) {
      rc = fail(err, errlen, DDBS_BLOB_E_UNREADABLE, "stored session blob: the payload does not decompress");
      goto cleanup;
    }
    size_t produced = ob.pos - scratch.len;
    scratch.len = ob.pos;
    if (scratch.len > DDBS_BLOB_MAX_PLAIN) {
      rc = fail(err, errlen, DDBS_BLOB_E_UNREADABLE, "stored session blob: decompresses to over 16 MiB");
      goto cleanup;
    }
    if (r == 0) { /* the frame is complete and flushed */
      done = 1;
    } else if (ob.pos == ob.size) { /* full: grow, up to the bound */
      if (cap >= limit) { /* (not reached: the length check above comes first) */
        rc = fail(err, errlen, DDBS_BLOB_E_UNREADABLE, "stored session blob: decompresses to over 16 MiB");
        goto cleanup;
      }
      cap = cap > limit / 2 ? limit : cap * 2;
    } else if (in.pos == in.size || (in.pos == in_before && produced == 0)) {
      break; /* room left and no input taken: the frame is cut short */
    }
  }
  if (!done) {
    rc = fail(err, errlen, DDBS_BLOB_E_UNREADABLE, "stored session blob: truncated zstd frame");
    goto cleanup;
  }
  if (in.pos != in.size) {
    rc = fail(err, errlen, DDBS_BLOB_E_UNREADABLE, "stored session blob: bytes after the zstd frame");
    goto cleanup;
  }
  if (ddbs_buf_append(out, scratch.data ? scratch.data : "", scratch.len) != 0) {
    rc = fail(err, errlen, DDBS_BLOB_E_NOMEM, "stored session blob: out of memory");
    goto cleanup;
  }

cleanup:
  if (rc != 0 && written) {
    ddbs_secure_zero(out->data + len0, written);
    out->len = len0;
    out->data[len0] = '\0';
  }
  ZSTD_freeDCtx(own);
  ddbs_buf_wipe_free(&scratch);
  return rc;
}

static const ddbs_blob_key *find_key(const ddbs_blob_opts *o, const unsigned char *id, size_t id_len) {
  for (size_t i = 0; i < o->nkeys; i++) {
    const ddbs_blob_key *k = &o->keys[i];
    if (memchr(k->id, '\0', sizeof k->id) == k->id + id_len && memcmp(k->id, id, id_len) == 0) return k;
  }
  return NULL;
}

int ddbs_blob_decode(const ddbs_blob_opts *o, const char *table, const char *key, size_t key_len,
                     const unsigned char *blob, size_t len, ddbs_buf *out, char *err, size_t errlen) {
  int rc = 0;
  EVP_CIPHER_CTX *cipher = NULL;
  ddbs_buf plain = DDBS_BUF_INIT; /* the decrypted frame (session content: wiped) */
  size_t written = 0;
  if (!o || !out || (!blob && len) || (o->nkeys && !o->keys))
    return fail(err, errlen, DDBS_BLOB_E_INPUT, "blob decode: missing argument");
  if (len < 2) return fail(err, errlen, DDBS_BLOB_E_UNREADABLE, "stored session blob: truncated");
  if (blob[0] != DDBS_BLOB_VERSION)
    return fail(err, errlen, DDBS_BLOB_E_UNREADABLE, "stored session blob: unknown format version");
  const unsigned char flags = blob[1];
  if (flags & ~(DDBS_BLOB_F_COMPRESSED | DDBS_BLOB_F_ENCRYPTED))
    return fail(err, errlen, DDBS_BLOB_E_UNREADABLE, "stored session blob: unknown flags");
  if (!flags)
    return fail(err, errlen, DDBS_BLOB_E_UNREADABLE, "stored session blob: neither compressed nor encrypted");
  const int compressed = flags & DDBS_BLOB_F_COMPRESSED;
  if (!(flags & DDBS_BLOB_F_ENCRYPTED)) { /* read whatever the key set (see the policy in blob.h) */
    if (len - 2 > DDBS_BLOB_MAX_PLAIN)
      return fail(err, errlen, DDBS_BLOB_E_UNREADABLE, "stored session blob: over 16 MiB");
    return unzstd(o, blob + 2, len - 2, out, err, errlen);
  }

  /* encrypted */
  if (!o->nkeys)
    return fail(err, errlen, DDBS_BLOB_E_UNREADABLE, "stored session blob: encrypted, and no keys are set");
  if (len < 3) return fail(err, errlen, DDBS_BLOB_E_UNREADABLE, "stored session blob: truncated");
  size_t id_len = blob[2];
  if (id_len < 1 || id_len > DDBS_BLOB_KEY_ID_MAX)
    return fail(err, errlen, DDBS_BLOB_E_UNREADABLE, "stored session blob: bad key id length");
  size_t hdr_len = 3 + id_len;
  if (len < hdr_len + DDBS_BLOB_NONCE_LEN + DDBS_BLOB_TAG_LEN)
    return fail(err, errlen, DDBS_BLOB_E_UNREADABLE, "stored session blob: truncated");
  size_t ct_len = len - hdr_len - DDBS_BLOB_NONCE_LEN - DDBS_BLOB_TAG_LEN;
  if (ct_len > DDBS_BLOB_MAX_PLAIN)
    return fail(err, errlen, DDBS_BLOB_E_UNREADABLE, "stored session blob: over 16 MiB");
  const ddbs_blob_key *k = find_key(o, blob + 3, id_len);
  if (!k) return fail(err, errlen, DDBS_BLOB_E_UNREADABLE, "stored session blob: unknown key id");
  size_t table_len = 0;
  if (!aad_lengths_ok(table, &table_len, key, key_len))
    return fail(err, errlen, DDBS_BLOB_E_INPUT, "blob decode: missing or too long table name or item key");
  const unsigned char *nonce = blob + hdr_len, *ct = nonce + DDBS_BLOB_NONCE_LEN, *tag = ct + ct_len;

  /* the plaintext goes to out when it is the JSON, to a scratch buffer when it is a frame */
  ddbs_buf *dst = compressed ? &plain : out;
  size_t dst0 = dst->len;
  if (ddbs_buf_reserve(dst, ct_len) != 0) {
    rc = fail(err, errlen, DDBS_BLOB_E_NOMEM, "stored session blob: out of memory");
    goto cleanup;
  }
  written = ct_len;
  unsigned char *pt = (unsigned char *)dst->data + dst0;
  int outl = 0, finl = 0;
  cipher = EVP_CIPHER_CTX_new();
  if (!cipher) {
    rc = fail(err, errlen, DDBS_BLOB_E_NOMEM, "stored session blob: out of memory (cipher context)");
    goto cleanup;
  }
  if (EVP_DecryptInit_ex(cipher, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
      EVP_CIPHER_CTX_ctrl(cipher, EVP_CTRL_GCM_SET_IVLEN, DDBS_BLOB_NONCE_LEN, NULL) != 1 ||
      EVP_DecryptInit_ex(cipher, NULL, NULL, k->key, nonce) != 1 ||
      feed_aad(cipher, table, table_len, key, key_len, blob, hdr_len) != 0 ||
      (ct_len && EVP_DecryptUpdate(cipher, pt, &outl, ct, (int)ct_len) != 1) || (size_t)outl != ct_len ||
      EVP_CIPHER_CTX_ctrl(cipher, EVP_CTRL_GCM_SET_TAG, DDBS_BLOB_TAG_LEN, (void *)(uintptr_t)tag) != 1) {
    rc = fail(err, errlen, DDBS_BLOB_E_INTERNAL, "stored session blob: decryption failed");
    goto cleanup;
  }
  if (EVP_DecryptFinal_ex(cipher, pt + outl, &finl) != 1 || finl != 0) {
    rc = fail(err, errlen, DDBS_BLOB_E_UNREADABLE,
              "stored session blob: authentication failed (another key, table or item, or altered bytes)");
    goto cleanup;
  }
  dst->len = dst0 + ct_len;
  dst->data[dst->len] = '\0';
  if (compressed) {
    written = 0; /* out untouched so far; unzstd restores it on failure */
    rc = unzstd(o, (const unsigned char *)plain.data, plain.len, out, err, errlen);
  }

cleanup:
  if (rc != 0 && written) { /* wipe what was decrypted: it is not authentic, or not wanted */
    ddbs_secure_zero(dst->data + dst0, written);
    dst->len = dst0;
    dst->data[dst0] = '\0';
  }
  EVP_CIPHER_CTX_free(cipher);
  ddbs_buf_wipe_free(&plain);
  return rc;
}
