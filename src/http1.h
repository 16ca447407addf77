/* http1.h: an incremental HTTP/1.1 response reader (status line, headers, a body framed by
 * Content-Length, chunked transfer coding or the connection's close), and the request head writer.
 * Pure: no I/O, no allocation; the caller feeds the bytes it received and gets header lines and
 * body pieces through a sink. Thread: any; a reader belongs to one connection.
 *
 * The client (client.c) uses it for requests on connections that libcurl opened (TCP, TLS) in
 * CURLOPT_CONNECT_ONLY mode: libcurl connects and encrypts; this file frames.
 *
 * The reader is strict (RFC 9112): whatever could make two parties disagree on where an answer
 * ends is an error, so that the caller closes the connection rather than read the rest of one
 * answer as the next one. Refused (DDBS_HTTP1_ERROR, reader->error says why):
 *   - a line (status, field, chunk size, trailer) of more than DDBS_HTTP1_LINE_MAX bytes before
 *     its LF, however it arrives; more than DDBS_HTTP1_HEAD_MAX bytes of header and trailer lines;
 *   - a CR anywhere but right before a line's LF; a control character (but HTAB) in the status
 *     line's reason or in a field value; a field name that is not a token; obsolete line folding;
 *   - a status code outside 100..599, a 101, more than DDBS_HTTP1_INTERIM_MAX interim answers;
 *   - Transfer-Encoding that is not exactly "chunked" (one field line, one coding), in an HTTP/1.0
 *     answer, or together with Content-Length;
 *   - Content-Length that is not plain digits (no sign, no spaces inside, no list), or repeated
 *     with another value;
 *   - a malformed chunk size or chunk extension, chunk data longer than its size, a trailer line
 *     that is not "name: value".
 * Accepted: lines ending in a bare LF; interim 1xx answers (their framing fields ignored); 204 and
 * 304 have no body. keep_alive: HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with
 * "Connection: keep-alive"; never for a body that runs to the close, nor for a 204 that announced
 * a body (Transfer-Encoding or a non-zero Content-Length). */
#ifndef DDBS_HTTP1_H
#define DDBS_HTTP1_H

#include <stddef.h>

#include "buf.h"

#define DDBS_HTTP1_LINE_MAX 8192          /* one line, CR included, LF not (longer: an error) */
#define DDBS_HTTP1_HEAD_MAX (256 * 1024)  /* all the header and trailer lines of one response */
#define DDBS_HTTP1_INTERIM_MAX 16         /* interim (1xx) answers before the final one */

enum {
  DDBS_HTTP1_MORE = 0,    /* the response is not complete: feed more (or eof) */
  DDBS_HTTP1_DONE = 1,    /* complete; *used tells how many of the fed bytes belong to it */
  DDBS_HTTP1_ERROR = -1,  /* malformed; reader->error says how */
  DDBS_HTTP1_ABORTED = -2 /* the sink refused a piece */
};

/* What ddbs_http1_write_request returns besides 0. */
enum {
  DDBS_HTTP1_E_NOMEM = -1, /* allocation failed */
  DDBS_HTTP1_E_FIELD = -2  /* a field or the path could break the request's framing: refused */
};

typedef struct ddbs_http1_sink {
  /* A header line without its CRLF: the status line first, then each field line. Nonzero: abort.
   * Interim (1xx) answers give their status line only; trailer lines are checked, not given. */
  int (*header)(void *user, const char *line, size_t len);
  /* A piece of the body (decoded from chunks). Nonzero: abort. */
  int (*body)(void *user, const char *data, size_t len);
  void *user;
} ddbs_http1_sink;

typedef struct ddbs_http1_reader {
  int state;
  int status;           /* the final (non-1xx) status code, once read */
  int interim;          /* interim (1xx) status lines read */
  int keep_alive;       /* after DONE: 1 when the connection may carry another request */
  int chunked;          /* Transfer-Encoding: chunked (seen once) */
  int has_length;
  unsigned long long length;    /* Content-Length */
  unsigned long long remaining; /* of the body or of the current chunk */
  size_t received;      /* bytes fed so far (0: nothing arrived yet) */
  size_t head_bytes;    /* header and trailer lines, LFs included */
  int version_minor;
  int conn_close, conn_keep_alive;
  size_t line_len;
  char error[128];
  char line[DDBS_HTTP1_LINE_MAX]; /* a line split across pieces (last: init does not clear it) */
} ddbs_http1_reader;

void ddbs_http1_reader_init(ddbs_http1_reader *p);

/* Feeds len bytes. Returns DDBS_HTTP1_MORE (all consumed), DDBS_HTTP1_DONE (*used bytes consumed,
 * the rest belongs to no response: the server sent more than it should), DDBS_HTTP1_ERROR or
 * DDBS_HTTP1_ABORTED. After an error, *used is where the reader stopped (the same stream position
 * however the bytes were split); an errored or done reader refuses further bytes. */
int ddbs_http1_feed(ddbs_http1_reader *p, const char *data, size_t len, size_t *used, const ddbs_http1_sink *sink);

/* The peer closed the connection: DDBS_HTTP1_DONE when the body was delimited by the close,
 * else DDBS_HTTP1_ERROR (error names what was cut short). */
int ddbs_http1_eof(ddbs_http1_reader *p);

/* 1 when the n bytes at v may be a field value on the wire: no CR, LF, NUL nor other control
 * character (0x00-0x1f, 0x7f) but HTAB; else 0. Bytes 0x80-0xff (obs-text) pass. */
int ddbs_http1_field_value_ok(const char *v, size_t n);

/* Appends "POST <path> HTTP/1.1\r\n", the given fields (NUL-terminated strings, count n) each with
 * CRLF, "Content-Length: <len>\r\n\r\n" and the body. Returns 0, DDBS_HTTP1_E_NOMEM, or
 * DDBS_HTTP1_E_FIELD when the path is empty or has a byte outside 0x21-0x7e, or a field is not
 * "Name: value" (Name a token, then ": ") or its value has a control character but HTAB (so no
 * CR or LF can reach the wire), or a field is Content-Length or Transfer-Encoding (the writer
 * frames the body itself). On any error nothing is appended: out is as it was. A field is a C
 * string: it ends at its first NUL, so a NUL inside a value cannot be seen here (check values
 * with ddbs_http1_field_value_ok where their length is known). */
int ddbs_http1_write_request(ddbs_buf *out, const char *path, const char *const *fields, int n,
                             const char *body, size_t body_len);

#endif
