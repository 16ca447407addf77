/* blob.h: the stored form of a session that is compressed, encrypted or both (issue 14), and its
 * codec. A session stays a plain DynamoDB map unless one of the two applies; then its JSON text
 * is stored as one binary (B) attribute holding a blob in the format below.
 * Pure: no I/O, no clock, no globals; randomness only from OpenSSL's RAND_bytes (the nonce).
 * Thread: any (the store calls it on its worker thread); a ddbs_blob_ctx is used by one thread at
 * a time. Crypto: OpenSSL EVP AES-256-GCM. Compression: zstd (bench/compress/RESULTS.md says why).
 *
 * Format, version 1 (one byte each unless said):
 *   [0] version   1 (DDBS_BLOB_VERSION); any other version is unreadable
 *   [1] flags     bit 0 (DDBS_BLOB_F_COMPRESSED): the payload is one zstd frame
 *                 bit 1 (DDBS_BLOB_F_ENCRYPTED):  the payload is encrypted
 *                 any other bit, or neither of the two, is unreadable
 *   encrypted:    [2] key id length L (1..DDBS_BLOB_KEY_ID_MAX), [3..3+L) the key id (no NUL),
 *                 12-byte nonce (random per write), the ciphertext (as long as the payload),
 *                 16-byte GCM tag
 *   not encrypted: [2..) the payload
 *   payload:      the session JSON, or one zstd frame of it (the content size in its header; a
 *                 content checksum too when the blob is not encrypted).
 * The header is the bytes before the nonce (version, flags and, when encrypted, L and the key id).
 * AES-256-GCM associated data, so that a ciphertext moved to another item key or table, or with
 * its flags or key id changed, does not authenticate:
 *   DDBS_BLOB_AAD_CONTEXT (34 bytes, no terminator)
 *   || u32be(strlen(table)) || table || u32be(key_len) || key || header.
 * Compression comes before encryption (the frame is encrypted).
 *
 * Policy. Encode: the JSON is compressed when compression is on and it is longer than threshold
 * bytes, and the frame is kept only when it is shorter than the JSON (else the payload is the
 * JSON); with no key set and no kept frame, the session stays a plain map (*is_blob = 0).
 * Decode: the blob alone says what to undo (compression or encryption may have been turned on or
 * off since it was written). An encrypted blob needs a key set holding its key id; any key of the
 * set decrypts (rotation: writes use the current one). A compressed-only blob is read with or
 * without keys, as the store reads plain map sessions when encryption is on: refusing it would log
 * out the sessions compressed before encryption was turned on, and would not stop anyone who can
 * write the table (they could write a plain map). A payload that decodes to more than
 * DDBS_BLOB_MAX_PLAIN is refused: before any allocation when the frame header gives its size,
 * as soon as the output passes the bound when not. The caller checks that the text is a JSON
 * object, as it does for plain sessions.
 * Nonces: 96 random bits per write; keep under 2^32 writes per key (NIST SP 800-38D) - rotate.
 *
 * Secrets: keys are never copied but into OpenSSL's cipher context (freed with OPENSSL_cleanse by
 * OpenSSL); scratch copies of the plaintext or of the compressed frame are wiped before they are
 * freed, and on a failed decode the bytes written into out are wiped. zstd's own work memory (a
 * ddbs_blob_ctx) is not: it holds fragments of recent sessions as freed heap memory would.
 * Messages (err) never hold key bytes, key ids from a blob, session content or item keys.
 *
 * Error convention: 0, or a negative DDBS_BLOB_E_* code with a one-line reason in err. */
#ifndef DDBS_BLOB_H
#define DDBS_BLOB_H

#include <stddef.h>

#include "buf.h"

#define DDBS_BLOB_VERSION 1
#define DDBS_BLOB_F_COMPRESSED 0x01
#define DDBS_BLOB_F_ENCRYPTED 0x02
#define DDBS_BLOB_KEY_ID_MAX 64
#define DDBS_BLOB_KEY_LEN 32
#define DDBS_BLOB_NONCE_LEN 12
#define DDBS_BLOB_TAG_LEN 16
#define DDBS_BLOB_AAD_CONTEXT "koa-session-dynamodb-store blob v1"
/* The most a blob adds to its payload: version, flags, key id length and id, nonce, tag. */
#define DDBS_BLOB_OVERHEAD_MAX (3 + DDBS_BLOB_KEY_ID_MAX + DDBS_BLOB_NONCE_LEN + DDBS_BLOB_TAG_LEN)
/* The largest session JSON encoded, and the largest payload decoded (16 MiB). */
#define DDBS_BLOB_MAX_PLAIN ((size_t)16 * 1024 * 1024)
/* Compression levels accepted (zstd's; 0 = zstd's default, 3). */
#define DDBS_BLOB_LEVEL_MIN 1
#define DDBS_BLOB_LEVEL_MAX 19

#define DDBS_BLOB_E_NOMEM -1      /* allocation failed */
#define DDBS_BLOB_E_INPUT -2      /* encode: bad options (level, keys, current) or JSON over DDBS_BLOB_MAX_PLAIN;
                                     both: a missing argument */
#define DDBS_BLOB_E_UNREADABLE -3 /* decode: the blob does not decode (the session reads as none) */
#define DDBS_BLOB_E_INTERNAL -4   /* RAND_bytes, the cipher or the compressor failed (not the blob's fault) */

typedef struct {
  char id[DDBS_BLOB_KEY_ID_MAX + 1]; /* NUL-terminated, 1..64 bytes */
  unsigned char key[DDBS_BLOB_KEY_LEN];
} ddbs_blob_key;

/* zstd compression and decompression contexts kept across calls (optional: with none, each call
 * creates and frees its own, which costs ~15 µs per call on 1 KB sessions; see RESULTS.md). */
typedef struct ddbs_blob_ctx ddbs_blob_ctx;
ddbs_blob_ctx *ddbs_blob_ctx_new(void); /* NULL when memory runs out */
void ddbs_blob_ctx_free(ddbs_blob_ctx *c); /* NULL is fine */

typedef struct {
  int compress;                   /* 0/1 */
  size_t threshold;               /* compress only JSON longer than this many bytes */
  int level;                      /* 0 (zstd's default) or DDBS_BLOB_LEVEL_MIN..MAX */
  const ddbs_blob_key *keys;      /* the key set; the caller owns it (ddbs_blob_keys_wipe) */
  size_t nkeys;                   /* 0: no encryption */
  size_t current;                 /* index in keys used for writes */
  ddbs_blob_ctx *ctx;             /* optional, see above; NULL = per call */
  const unsigned char *test_nonce; /* tests only: DDBS_BLOB_NONCE_LEN bytes; NULL = RAND_bytes */
} ddbs_blob_opts;

/* Encodes the session JSON (len bytes) of item key (key_len bytes) in table for storage. On
 * success *is_blob = 1 and the blob is appended to out, or *is_blob = 0 and out is untouched: the
 * session stays a plain map (see the policy above). table and key are needed only when nkeys > 0.
 * DDBS_BLOB_E_INPUT, DDBS_BLOB_E_NOMEM, DDBS_BLOB_E_INTERNAL: out as it was, *is_blob = 0. */
int ddbs_blob_encode(const ddbs_blob_opts *o, const char *table, const char *key, size_t key_len, const char *json,
                     size_t len, ddbs_buf *out, int *is_blob, char *err, size_t errlen);

/* Decodes a stored blob back to the session JSON text, appended to out (NUL-terminated).
 * DDBS_BLOB_E_UNREADABLE for anything that does not decode: an unknown version or flags, a
 * truncated blob, a bad key id length, an unknown key id, an encrypted blob with no keys set, a
 * failed authentication (wrong key, table or item key, altered bytes), a payload that is not exactly one zstd frame, does not decompress, or is larger than
 * DDBS_BLOB_MAX_PLAIN. DDBS_BLOB_E_NOMEM; DDBS_BLOB_E_INPUT (missing argument);
 * DDBS_BLOB_E_INTERNAL (OpenSSL or zstd could not be set up). On failure out is as it was (what
 * was written is wiped). Only o->keys, o->nkeys and o->ctx are used. */
int ddbs_blob_decode(const ddbs_blob_opts *o, const char *table, const char *key, size_t key_len,
                     const unsigned char *blob, size_t len, ddbs_buf *out, char *err, size_t errlen);

/* Zeroes n keys (ids and key bytes) in a way the compiler keeps. */
void ddbs_blob_keys_wipe(ddbs_blob_key *k, size_t n);

#endif
