/* http1.h: an incremental HTTP/1.1 response reader (status line, headers, a body framed by
 * Content-Length, chunked transfer coding or the connection's close), and the request head writer.
 * Pure: no I/O, no allocation; the caller feeds the bytes it received and gets header lines and
 * body pieces through a sink. Thread: any; a reader belongs to one connection.
 *
 * The client (client.c) uses it for requests on connections that libcurl opened (TCP, TLS) in
 * CURLOPT_CONNECT_ONLY mode: libcurl connects and encrypts; this file frames. */
#ifndef DDBS_HTTP1_H
#define DDBS_HTTP1_H

#include <stddef.h>

#include "buf.h"

#define DDBS_HTTP1_LINE_MAX 8192          /* one header line (longer: an error) */
#define DDBS_HTTP1_HEAD_MAX (256 * 1024)  /* all the header lines of one response */

enum {
  DDBS_HTTP1_MORE = 0,    /* the response is not complete: feed more (or eof) */
  DDBS_HTTP1_DONE = 1,    /* complete; *used tells how many of the fed bytes belong to it */
  DDBS_HTTP1_ERROR = -1,  /* malformed; reader->error says how */
  DDBS_HTTP1_ABORTED = -2 /* the sink refused a piece */
};

typedef struct ddbs_http1_sink {
  /* A header line without its CRLF: the status line first, then each field line. Nonzero: abort. */
  int (*header)(void *user, const char *line, size_t len);
  /* A piece of the body (decoded from chunks). Nonzero: abort. */
  int (*body)(void *user, const char *data, size_t len);
  void *user;
} ddbs_http1_sink;

typedef struct ddbs_http1_reader {
  int state;
  int status;           /* the final (non-1xx) status code, once read */
  int keep_alive;       /* after DONE: 1 when the connection may carry another request */
  int chunked;
  int has_length;
  unsigned long long length;    /* Content-Length */
  unsigned long long remaining; /* of the body or of the current chunk */
  size_t received;      /* bytes fed so far (0: nothing arrived yet) */
  size_t head_bytes;
  int version_minor;
  int conn_close, conn_keep_alive;
  size_t line_len;
  char error[128];
  char line[DDBS_HTTP1_LINE_MAX]; /* a line split across pieces (last: init does not clear it) */
} ddbs_http1_reader;

void ddbs_http1_reader_init(ddbs_http1_reader *p);

/* Feeds len bytes. Returns DDBS_HTTP1_MORE (all consumed), DDBS_HTTP1_DONE (*used bytes consumed,
 * the rest belongs to no response: the server sent more than it should), DDBS_HTTP1_ERROR or
 * DDBS_HTTP1_ABORTED. */
int ddbs_http1_feed(ddbs_http1_reader *p, const char *data, size_t len, size_t *used, const ddbs_http1_sink *sink);

/* The peer closed the connection: DDBS_HTTP1_DONE when the body was delimited by the close,
 * else DDBS_HTTP1_ERROR (error names what was cut short). */
int ddbs_http1_eof(ddbs_http1_reader *p);

/* Appends "POST <path> HTTP/1.1\r\n", the given "Name: value" fields (NUL-separated strings in
 * fields, count n) each with CRLF, "Content-Length: <len>\r\n\r\n" and the body. 0 or -1 (memory). */
int ddbs_http1_write_request(ddbs_buf *out, const char *path, const char *const *fields, int n,
                             const char *body, size_t body_len);

#endif
