/* buf.h: a growable byte buffer, always NUL-terminated. Pure; each buffer belongs to one thread
 * at a time. Used by every C unit to build request bodies, canonical requests and JSON text. */
#ifndef DDBS_BUF_H
#define DDBS_BUF_H

#include <stddef.h>

typedef struct ddbs_buf {
  char *data; /* NUL-terminated when non-NULL */
  size_t len;
  size_t cap;
} ddbs_buf;

#define DDBS_BUF_INIT {NULL, 0, 0}

/* All return 0 on success, -1 on allocation failure (the buffer is then unchanged). */
int ddbs_buf_reserve(ddbs_buf *b, size_t extra);
int ddbs_buf_append(ddbs_buf *b, const void *p, size_t n);
int ddbs_buf_append_str(ddbs_buf *b, const char *s);
int ddbs_buf_append_char(ddbs_buf *b, char c);
int ddbs_buf_printf(ddbs_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void ddbs_buf_reset(ddbs_buf *b);          /* len = 0, keeps memory */
void ddbs_buf_free(ddbs_buf *b);           /* frees memory */
void ddbs_buf_wipe_free(ddbs_buf *b);      /* zeroes the whole allocation, then frees (secrets) */
/* Detaches the data (caller frees it); the buffer becomes empty. Never NULL: "" when empty. */
char *ddbs_buf_detach(ddbs_buf *b, size_t *len);

/* A malloc'd copy of s (NULL for NULL, or when memory runs out). */
char *ddbs_strdup(const char *s);

/* Zeroes memory in a way the compiler does not remove. */
void ddbs_secure_zero(void *p, size_t n);

#endif
