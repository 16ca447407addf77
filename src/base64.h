/* base64.h: standard base64 (RFC 4648 section 4: the "+/" alphabet, "=" padding), the text of
 * DynamoDB's binary (B) values in its JSON protocol, which carry the stored session blobs
 * (blob.h). Encoding appends to a ddbs_buf; decoding is strict, so that every byte string has
 * exactly one accepted text: only the 64 alphabet characters, a length that is a multiple of 4,
 * "=" only as the last one or two characters of the text, and the unused bits of the last
 * character before the padding zero (RFC 4648 section 3.5: non-canonical text is refused). No
 * whitespace, no line breaks, no URL-safe alphabet.
 * Pure: no I/O, no globals but constant tables. Thread: any. Table-driven, four characters to
 * three bytes per step (blobs are up to 400 KB). */
#ifndef DDBS_BASE64_H
#define DDBS_BASE64_H

#include <stddef.h>

#include "buf.h"

#define DDBS_BASE64_E_NOMEM -1   /* allocation failed (out unchanged) */
#define DDBS_BASE64_E_INVALID -2 /* the text is not canonical base64 (out unchanged) */

/* The length of the base64 text of n bytes: 4 * ceil(n / 3); (size_t)-1 when that overflows. */
size_t ddbs_base64_encoded_len(size_t n);

/* Appends the base64 text of the n bytes at in to out (NUL-terminated as every ddbs_buf).
 * 0, or DDBS_BASE64_E_NOMEM with out unchanged. in may be NULL when n is 0. */
int ddbs_base64_encode(const unsigned char *in, size_t n, ddbs_buf *out);

/* Appends the bytes of the n characters of base64 text at in to out. 0; DDBS_BASE64_E_INVALID
 * when the text is not canonical base64 (err: what and at which offset; never the text itself);
 * DDBS_BASE64_E_NOMEM. On failure out is as it was (the bytes written are zeroed first). The
 * empty text decodes to no bytes. err may be NULL (errlen 0). */
int ddbs_base64_decode(const char *in, size_t n, ddbs_buf *out, char *err, size_t errlen);

#endif
