/* http1.c: HTTP/1.1 response reading and request-head writing (see http1.h).
 * Pure: no I/O, no allocation (the request writer appends to a caller's buffer). Thread: any;
 * a reader belongs to one connection (the client's worker thread).
 *
 * The reader is strict (RFC 9112) so that a misbehaving server or middlebox cannot desynchronise
 * a keep-alive connection (the answer to one request read as the answer to the next): anything
 * that leaves where an answer ends in doubt is an error, and the caller closes the connection.
 *
 * What it accepts: "HTTP/1.x ddd reason" status lines (ddd in 100..599, not 101; the reason
 * without control characters but HTAB); field lines "token: value" (no obs-fold; the value
 * without CR, NUL or other control characters but HTAB); up to DDBS_HTTP1_INTERIM_MAX interim
 * 1xx answers, skipped (their Content-Length, Transfer-Encoding and Connection ignored); a body
 * framed by exactly "Transfer-Encoding: chunked" (one field line, HTTP/1.1 only; extensions
 * checked and ignored; trailers checked, counted in DDBS_HTTP1_HEAD_MAX and ignored), by
 * Content-Length (plain digits; repeated only with the same value), or by the close of the
 * connection; none for 204 and 304. Lines may end in CRLF or a bare LF.
 * What it refuses: everything else, in particular Transfer-Encoding with Content-Length, any
 * other transfer coding or list ("gzip, chunked", "chunked, chunked", two field lines), a CR that
 * is not right before a line's LF, a line over DDBS_HTTP1_LINE_MAX bytes however it arrives,
 * a Content-Length list, sign or inner space, a chunk extension that is not
 * *( ";" token [ "=" ( token / quoted-string ) ] ), a trailer line that is not a field line.
 * An error is found at the same stream position however the bytes are split across feeds.
 *
 * The writer refuses (DDBS_HTTP1_E_FIELD, appending nothing) a path or field that could inject
 * a line or a field into the request: see http1.h. */
#include "http1.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

enum { S_STATUS, S_HEADERS, S_BODY_LEN, S_BODY_EOF, S_CHUNK_SIZE, S_CHUNK_DATA, S_CHUNK_CRLF, S_TRAILERS, S_DONE };

static int fail(ddbs_http1_reader *p, const char *msg) {
  snprintf(p->error, sizeof p->error, "%s", msg);
  return DDBS_HTTP1_ERROR;
}

static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

static int name_is(const char *s, size_t n, const char *lit) {
  size_t k = strlen(lit);
  if (n != k) return 0;
  for (size_t i = 0; i < k; i++)
    if (lower(s[i]) != lit[i]) return 0;
  return 1;
}

static int is_ows(char c) { return c == ' ' || c == '\t'; }

/* A control character that may not appear in a field value, a reason phrase or a chunk
 * extension: 0x00-0x1f but HTAB, and 0x7f. */
static int is_bad_ctl(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; }

/* tchar (RFC 9110 5.6.2): the characters of a token (a field name, a coding, an extension). */
static int is_tchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1;
  return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

int ddbs_http1_field_value_ok(const char *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (is_bad_ctl((unsigned char)v[i])) return 0;
  return 1;
}

/* Does the comma-separated list v contain token tok (case-insensitive)? */
static int list_has(const char *v, size_t n, const char *tok) {
  size_t i = 0;
  while (i < n) {
    while (i < n && (is_ows(v[i]) || v[i] == ',')) i++;
    size_t start = i;
    while (i < n && v[i] != ',') i++;
    size_t end = i;
    while (end > start && is_ows(v[end - 1])) end--;
    if (end > start && name_is(v + start, end - start, tok)) return 1;
  }
  return 0;
}

void ddbs_http1_reader_init(ddbs_http1_reader *p) {
  memset(p, 0, offsetof(ddbs_http1_reader, line));
  p->state = S_STATUS;
}

static void reset_fields(ddbs_http1_reader *p) {
  p->chunked = 0;
  p->has_length = 0;
  p->length = 0;
  p->conn_close = 0;
  p->conn_keep_alive = 0;
}

static int status_line(ddbs_http1_reader *p, const char *s, size_t n) {
  if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || s[7] < '0' || s[7] > '9' || s[8] != ' ')
    return fail(p, "the server's answer does not start with an HTTP/1.x status line");
  for (int i = 9; i < 12; i++)
    if (s[i] < '0' || s[i] > '9') return fail(p, "the server's status line has no 3-digit status code");
  if (n > 12 && s[12] != ' ') return fail(p, "the server's status line is malformed");
  if (n > 13 && !ddbs_http1_field_value_ok(s + 13, n - 13))
    return fail(p, "the server's status line has control characters");
  p->version_minor = s[7] - '0';
  p->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
  if (p->status < 100 || p->status > 599) return fail(p, "the server's status code is out of range");
  if (p->status == 101) return fail(p, "the server switched protocols (HTTP 101)");
  if (p->status < 200 && p->interim++ >= DDBS_HTTP1_INTERIM_MAX)
    return fail(p, "the server sent too many interim (1xx) answers");
  reset_fields(p);
  p->state = S_HEADERS;
  return DDBS_HTTP1_MORE;
}

/* Checks "name: value" (name a token, no obs-fold, the value without control characters but HTAB)
 * and finds the name and the value without its surrounding whitespace. what: "header" or
 * "trailer", for the messages. */
static int field_syntax(ddbs_http1_reader *p, const char *s, size_t n, size_t *name_len, const char **value,
                        size_t *value_len, int trailer) {
  if (is_ows(s[0]))
    return fail(p, trailer ? "the server sent a folded trailer line" : "the server sent a folded header line (obsolete line folding)");
  const char *colon = memchr(s, ':', n);
  if (!colon || colon == s)
    return fail(p, trailer ? "the server sent a trailer line without a name" : "the server sent a header line without a name");
  size_t nl = (size_t)(colon - s);
  for (size_t i = 0; i < nl; i++)
    if (!is_tchar((unsigned char)s[i]))
      return fail(p, trailer ? "the server sent a trailer name that is not a token"
                             : "the server sent a header name with spaces or control characters");
  const char *v = colon + 1, *end = s + n;
  while (v < end && is_ows(*v)) v++;
  while (end > v && is_ows(end[-1])) end--;
  if (!ddbs_http1_field_value_ok(v, (size_t)(end - v)))
    return fail(p, trailer ? "the server sent a trailer value with control characters"
                           : "the server sent a header value with control characters");
  *name_len = nl;
  *value = v;
  *value_len = (size_t)(end - v);
  return DDBS_HTTP1_MORE;
}

static int field_line(ddbs_http1_reader *p, const char *s, size_t n) {
  size_t name_len, vn;
  const char *v;
  if (field_syntax(p, s, n, &name_len, &v, &vn, 0) != DDBS_HTTP1_MORE) return DDBS_HTTP1_ERROR;
  if (p->status < 200) return DDBS_HTTP1_MORE; /* an interim answer's fields frame nothing */
  if (name_is(s, name_len, "content-length")) {
    unsigned long long x = 0;
    if (vn == 0) return fail(p, "the server sent an empty Content-Length");
    for (size_t i = 0; i < vn; i++) {
      if (v[i] < '0' || v[i] > '9') return fail(p, "the server sent a Content-Length that is not a number");
      if (x > (~0ULL - 9) / 10) return fail(p, "the server sent a Content-Length too large");
      x = x * 10 + (unsigned)(v[i] - '0');
    }
    if (p->has_length && x != p->length) return fail(p, "the server sent two different Content-Lengths");
    if (p->chunked) return fail(p, "the server sent both Transfer-Encoding and Content-Length");
    p->has_length = 1;
    p->length = x;
  } else if (name_is(s, name_len, "transfer-encoding")) {
    if (p->version_minor == 0) return fail(p, "the server sent Transfer-Encoding in an HTTP/1.0 answer");
    if (p->chunked) return fail(p, "the server sent Transfer-Encoding twice");
    if (!name_is(v, vn, "chunked")) return fail(p, "the server used a transfer coding other than chunked alone");
    if (p->has_length) return fail(p, "the server sent both Transfer-Encoding and Content-Length");
    p->chunked = 1;
  } else if (name_is(s, name_len, "connection")) {
    if (list_has(v, vn, "close")) p->conn_close = 1;
    if (list_has(v, vn, "keep-alive")) p->conn_keep_alive = 1;
  }
  return DDBS_HTTP1_MORE;
}

/* The empty line after the fields: how the body is framed. */
static int end_of_head(ddbs_http1_reader *p) {
  if (p->status < 200) { /* interim (100 Continue, 103 Early Hints): the real answer follows */
    p->state = S_STATUS;
    return DDBS_HTTP1_MORE;
  }
  p->keep_alive = p->version_minor >= 1 ? !p->conn_close : (p->conn_keep_alive && !p->conn_close);
  if (p->status == 204 || p->status == 304) {
    /* no body; a 204 that announced one may be followed by it: do not reuse the connection */
    if (p->status == 204 && (p->chunked || p->length)) p->keep_alive = 0;
    p->state = S_DONE;
  } else if (p->chunked) {
    p->state = S_CHUNK_SIZE;
  } else if (p->has_length) {
    p->remaining = p->length;
    p->state = p->length ? S_BODY_LEN : S_DONE;
  } else {
    p->keep_alive = 0; /* the close ends the body */
    p->state = S_BODY_EOF;
  }
  return p->state == S_DONE ? DDBS_HTTP1_DONE : DDBS_HTTP1_MORE;
}

/* chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ), then BWS, from s[i]. */
static int chunk_ext_ok(const char *s, size_t i, size_t n) {
  for (;;) {
    while (i < n && is_ows(s[i])) i++;
    if (i == n) return 1;
    if (s[i++] != ';') return 0;
    while (i < n && is_ows(s[i])) i++;
    size_t start = i;
    while (i < n && is_tchar((unsigned char)s[i])) i++;
    if (i == start) return 0;
    while (i < n && is_ows(s[i])) i++;
    if (i == n || s[i] != '=') continue;
    i++;
    while (i < n && is_ows(s[i])) i++;
    if (i < n && s[i] == '"') {
      for (i++;; i++) {
        if (i == n) return 0; /* unterminated */
        unsigned char c = (unsigned char)s[i];
        if (c == '"') break;
        if (c == '\\' && ++i == n) return 0;
        if (is_bad_ctl((unsigned char)s[i])) return 0;
      }
      i++;
    } else {
      start = i;
      while (i < n && is_tchar((unsigned char)s[i])) i++;
      if (i == start) return 0;
    }
  }
}

static int chunk_size_line(ddbs_http1_reader *p, const char *s, size_t n) {
  unsigned long long x = 0;
  size_t i = 0;
  for (; i < n; i++) {
    char c = lower(s[i]);
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) break;
    if (x > (~0ULL >> 4)) return fail(p, "the server sent a chunk too large");
    x = (x << 4) | (unsigned)d;
  }
  if (i == 0) return fail(p, "the server sent a malformed chunk size");
  if (!chunk_ext_ok(s, i, n)) return fail(p, "the server sent a malformed chunk size or extension");
  if (x == 0) {
    p->state = S_TRAILERS;
  } else {
    p->remaining = x;
    p->state = S_CHUNK_DATA;
  }
  return DDBS_HTTP1_MORE;
}

/* One complete line (without its LF; a CR before it removed). */
static int on_line(ddbs_http1_reader *p, const char *s, size_t n, const ddbs_http1_sink *sink) {
  switch (p->state) {
    case S_STATUS: {
      int rc = status_line(p, s, n);
      if (rc == DDBS_HTTP1_MORE && sink->header && sink->header(sink->user, s, n)) return DDBS_HTTP1_ABORTED;
      return rc;
    }
    case S_HEADERS: {
      if (n == 0) return end_of_head(p);
      int rc = field_line(p, s, n);
      if (rc == DDBS_HTTP1_MORE && p->status >= 200 && sink->header && sink->header(sink->user, s, n))
        return DDBS_HTTP1_ABORTED;
      return rc;
    }
    case S_CHUNK_SIZE:
      return chunk_size_line(p, s, n);
    case S_CHUNK_CRLF:
      if (n != 0) return fail(p, "the server sent chunk data longer than its size");
      p->state = S_CHUNK_SIZE;
      return DDBS_HTTP1_MORE;
    case S_TRAILERS: {
      if (n == 0) {
        p->state = S_DONE;
        return DDBS_HTTP1_DONE;
      }
      size_t name_len, vn;
      const char *v;
      return field_syntax(p, s, n, &name_len, &v, &vn, 1); /* well-formed, then ignored */
    }
    default:
      return fail(p, "internal: a line in a body state");
  }
}

/* A complete line with its CR (if any), without its LF: the checks common to every line. */
static int end_line(ddbs_http1_reader *p, const char *s, size_t n, const ddbs_http1_sink *sink) {
  if (p->state == S_STATUS || p->state == S_HEADERS || p->state == S_TRAILERS) {
    p->head_bytes += n + 1;
    if (p->head_bytes > DDBS_HTTP1_HEAD_MAX) return fail(p, "the server's header is too large");
  }
  if (n && s[n - 1] == '\r') n--;
  if (memchr(s, '\r', n)) return fail(p, "the server sent a CR that does not end a line");
  return on_line(p, s, n, sink);
}

static int line_state(int s) {
  return s == S_STATUS || s == S_HEADERS || s == S_CHUNK_SIZE || s == S_CHUNK_CRLF || s == S_TRAILERS;
}

int ddbs_http1_feed(ddbs_http1_reader *p, const char *data, size_t len, size_t *used, const ddbs_http1_sink *sink) {
  size_t i = 0;
  int rc = DDBS_HTTP1_MORE;
  if (used) *used = 0;
  if (p->state == S_DONE) return DDBS_HTTP1_DONE;
  if (p->error[0]) return DDBS_HTTP1_ERROR;
  p->received += len;
  while (i < len && rc == DDBS_HTTP1_MORE) {
    if (line_state(p->state)) {
      const char *start = data + i;
      const char *nl = memchr(start, '\n', len - i);
      size_t take = nl ? (size_t)(nl - start) : len - i;
      if (p->line_len + take > DDBS_HTTP1_LINE_MAX) {
        /* stop where the line passed the limit: the same place whether it came whole or not */
        i += DDBS_HTTP1_LINE_MAX - p->line_len;
        rc = fail(p, "the server sent a line that is too long");
        break;
      }
      if (!nl) { /* the line goes on in the next piece */
        memcpy(p->line + p->line_len, start, take);
        p->line_len += take;
        i = len;
        break;
      }
      const char *line = start; /* the whole line is in this piece: no copy */
      size_t n = take;
      if (p->line_len) {
        memcpy(p->line + p->line_len, start, take);
        line = p->line;
        n = p->line_len + take;
        p->line_len = 0;
      }
      i += take + 1;
      rc = end_line(p, line, n, sink);
      continue;
    }
    size_t avail = len - i, take = avail;
    if (p->state != S_BODY_EOF && take > p->remaining) take = (size_t)p->remaining;
    if (take && sink->body && sink->body(sink->user, data + i, take)) {
      rc = DDBS_HTTP1_ABORTED;
      break;
    }
    i += take;
    if (p->state == S_BODY_EOF) continue;
    p->remaining -= take;
    if (p->remaining == 0) {
      if (p->state == S_BODY_LEN) {
        p->state = S_DONE;
        rc = DDBS_HTTP1_DONE;
      } else {
        p->state = S_CHUNK_CRLF;
      }
    }
  }
  if (used) *used = i;
  return rc;
}

int ddbs_http1_eof(ddbs_http1_reader *p) {
  if (p->state == S_DONE) return DDBS_HTTP1_DONE;
  if (p->state == S_BODY_EOF) {
    p->state = S_DONE;
    p->keep_alive = 0;
    return DDBS_HTTP1_DONE;
  }
  if (!p->error[0]) {
    if (p->received == 0) fail(p, "the server closed the connection without answering");
    else if (p->state == S_STATUS || p->state == S_HEADERS) fail(p, "the server closed the connection in the middle of its header");
    else fail(p, "the server closed the connection before the end of its answer");
  }
  return DDBS_HTTP1_ERROR;
}

/* The length of field f when it is "Name: value" with Name a token other than the framing fields
 * and value free of control characters but HTAB; else (size_t)-1. One pass over f. */
static size_t request_field_len(const char *f) {
  size_t i = 0;
  while (is_tchar((unsigned char)f[i])) i++;
  if (i == 0 || f[i] != ':' || f[i + 1] != ' ') return (size_t)-1;
  if (name_is(f, i, "content-length") || name_is(f, i, "transfer-encoding")) return (size_t)-1;
  for (i += 2;; i++) {
    unsigned char c = (unsigned char)f[i];
    if (c < 0x20 || c == 0x7f) {
      if (c == 0) return i;
      if (c != '\t') return (size_t)-1;
    }
  }
}

int ddbs_http1_write_request(ddbs_buf *out, const char *path, const char *const *fields, int n,
                             const char *body, size_t body_len) {
  char cl[48];
  size_t path_len = 0;
  for (unsigned char c; (c = (unsigned char)path[path_len]) != 0; path_len++)
    if (c < 0x21 || c > 0x7e) return DDBS_HTTP1_E_FIELD; /* no space, control or non-ASCII byte */
  if (path_len == 0) return DDBS_HTTP1_E_FIELD;
  size_t need = path_len + 32 + sizeof cl + body_len;
  for (int i = 0; i < n; i++) {
    size_t k = request_field_len(fields[i]);
    if (k == (size_t)-1) return DDBS_HTTP1_E_FIELD;
    need += k + 2;
  }
  if (ddbs_buf_reserve(out, need) != 0) return DDBS_HTTP1_E_NOMEM;
  ddbs_buf_append(out, "POST ", 5);
  ddbs_buf_append(out, path, path_len);
  ddbs_buf_append(out, " HTTP/1.1\r\n", 11);
  for (int i = 0; i < n; i++) {
    ddbs_buf_append_str(out, fields[i]);
    ddbs_buf_append(out, "\r\n", 2);
  }
  int k = snprintf(cl, sizeof cl, "Content-Length: %zu\r\n\r\n", body_len);
  ddbs_buf_append(out, cl, (size_t)k);
  if (body_len) ddbs_buf_append(out, body, body_len);
  return 0;
}
