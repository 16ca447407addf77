/* base64.c: RFC 4648 base64 encoding and strict decoding (see base64.h).
 * Owns nothing: it writes into the caller's ddbs_buf, reserved once for the whole result.
 * Thread: any; reentrant, no globals but the constant tables below. */
#include "base64.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char ALPHABET[64] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Character -> its 6-bit value; 0x80 for everything else ("=" included: padding is handled
 * apart, at the end of the text only). */
#define X 0x80
static const unsigned char VALUE[256] = {
     X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  /* 0x00 */
     X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  /* 0x10 */
     X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X, 62,  X,  X,  X, 63,  /* 0x20 */
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61,  X,  X,  X,  X,  X,  X,  /* 0x30 */
     X,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,  /* 0x40 */
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,  X,  X,  X,  X,  X,  /* 0x50 */
     X, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,  /* 0x60 */
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51,  X,  X,  X,  X,  X,  /* 0x70 */
    /* 0x80..0xff: none */
     X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
     X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
     X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
     X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
     X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
     X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
     X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
     X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
};
#undef X

size_t ddbs_base64_encoded_len(size_t n) {
  size_t groups = n / 3 + (n % 3 != 0);
  if (groups > ((size_t)-1) / 4) return (size_t)-1;
  return groups * 4;
}

int ddbs_base64_encode(const unsigned char *in, size_t n, ddbs_buf *out) {
  size_t need = ddbs_base64_encoded_len(n);
  if (need == (size_t)-1 || ddbs_buf_reserve(out, need) != 0) return DDBS_BASE64_E_NOMEM;
  char *w = out->data + out->len;
  size_t i = 0;
  for (; n - i >= 3; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    w[0] = ALPHABET[v >> 18];
    w[1] = ALPHABET[(v >> 12) & 63];
    w[2] = ALPHABET[(v >> 6) & 63];
    w[3] = ALPHABET[v & 63];
    w += 4;
  }
  if (n - i == 1) {
    uint32_t v = (uint32_t)in[i] << 16;
    w[0] = ALPHABET[v >> 18];
    w[1] = ALPHABET[(v >> 12) & 63];
    w[2] = '=';
    w[3] = '=';
    w += 4;
  } else if (n - i == 2) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
    w[0] = ALPHABET[v >> 18];
    w[1] = ALPHABET[(v >> 12) & 63];
    w[2] = ALPHABET[(v >> 6) & 63];
    w[3] = '=';
    w += 4;
  }
  out->len += need;
  out->data[out->len] = '\0';
  return 0;
}

/* Writes the reason, restores out (zeroing what was written) and returns DDBS_BASE64_E_INVALID. */
static int refuse(ddbs_buf *out, size_t len0, size_t written, char *err, size_t errlen, const char *what, size_t at) {
  if (written) ddbs_secure_zero(out->data + len0, written);
  out->len = len0;
  if (out->data) out->data[len0] = '\0';
  if (err && errlen) snprintf(err, errlen, "base64: %s at offset %zu", what, at);
  return DDBS_BASE64_E_INVALID;
}

/* The offset of the first character of the 4 at p that is not in the alphabet. */
static size_t first_bad(const unsigned char *p) {
  size_t k = 0;
  while (k < 3 && !(VALUE[p[k]] & 0x80)) k++;
  return k;
}

int ddbs_base64_decode(const char *in, size_t n, ddbs_buf *out, char *err, size_t errlen) {
  const unsigned char *p = (const unsigned char *)in;
  size_t len0 = out->len;
  if (n == 0) return 0;
  if (n % 4 != 0) return refuse(out, len0, 0, err, errlen, "length not a multiple of 4", n);
  /* padding: only the last one or two characters */
  size_t pad = p[n - 1] == '=' ? (p[n - 2] == '=' ? 2 : 1) : 0;
  size_t out_n = n / 4 * 3 - pad;
  if (ddbs_buf_reserve(out, out_n) != 0) return DDBS_BASE64_E_NOMEM;
  unsigned char *w = (unsigned char *)out->data + len0;
  size_t full = pad ? n - 4 : n; /* the groups without padding */
  size_t i = 0;
  for (; i < full; i += 4) {
    unsigned a = VALUE[p[i]], b = VALUE[p[i + 1]], c = VALUE[p[i + 2]], d = VALUE[p[i + 3]];
    if ((a | b | c | d) & 0x80)
      return refuse(out, len0, (size_t)(w - ((unsigned char *)out->data + len0)), err, errlen,
                    "character outside the base64 alphabet", i + first_bad(p + i));
    uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | d;
    w[0] = (unsigned char)(v >> 16);
    w[1] = (unsigned char)(v >> 8);
    w[2] = (unsigned char)v;
    w += 3;
  }
  size_t written = (size_t)(w - ((unsigned char *)out->data + len0));
  if (pad) {
    unsigned a = VALUE[p[i]], b = VALUE[p[i + 1]];
    unsigned c = pad == 1 ? VALUE[p[i + 2]] : 0;
    if ((a | b | c) & 0x80)
      return refuse(out, len0, written, err, errlen, "character outside the base64 alphabet", i + first_bad(p + i));
    uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6;
    if (pad == 2 ? (v & 0xffff) != 0 : (v & 0xff) != 0)
      return refuse(out, len0, written, err, errlen, "non-canonical bits before the padding", i + 3 - pad);
    w[0] = (unsigned char)(v >> 16);
    if (pad == 1) w[1] = (unsigned char)(v >> 8);
  }
  out->len = len0 + out_n;
  out->data[out->len] = '\0';
  return 0;
}
