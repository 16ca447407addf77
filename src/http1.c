/* http1.c: HTTP/1.1 response reading and request-head writing (see http1.h).
 * Pure: no I/O, no allocation (the request writer appends to a caller's buffer). Thread: any;
 * a reader belongs to one connection (the client's worker thread).
 *
 * What it accepts (RFC 9112): "HTTP/1.x ddd reason" status lines; field lines "name: value"
 * (no obs-fold); interim 1xx responses, skipped; a body framed by Transfer-Encoding: chunked
 * (extensions and trailers ignored), by Content-Length (duplicates must agree), or by the close
 * of the connection; none for 204 and 304. Lines may end in CRLF or a bare LF. */
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

/* Does the comma-separated list v contain token tok (case-insensitive)? Which is last? */
static int list_has(const char *v, size_t n, const char *tok, int *is_last) {
  int found = 0;
  size_t i = 0;
  while (i < n) {
    while (i < n && (is_ows(v[i]) || v[i] == ',')) i++;
    size_t start = i;
    while (i < n && v[i] != ',') i++;
    size_t end = i;
    while (end > start && is_ows(v[end - 1])) end--;
    if (end > start) {
      int match = name_is(v + start, end - start, tok);
      if (is_last) *is_last = match;
      if (match) found = 1;
    }
  }
  return found;
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
  p->version_minor = s[7] - '0';
  p->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
  if (p->status < 100) return fail(p, "the server's status code is out of range");
  if (p->status == 101) return fail(p, "the server switched protocols (HTTP 101)");
  reset_fields(p);
  p->state = S_HEADERS;
  return DDBS_HTTP1_MORE;
}

static int field_line(ddbs_http1_reader *p, const char *s, size_t n) {
  if (is_ows(s[0])) return fail(p, "the server sent a folded header line (obsolete line folding)");
  const char *colon = memchr(s, ':', n);
  if (!colon || colon == s) return fail(p, "the server sent a header line without a name");
  size_t name_len = (size_t)(colon - s);
  for (size_t i = 0; i < name_len; i++)
    if (is_ows(s[i]) || (unsigned char)s[i] < 0x21 || s[i] == 0x7f)
      return fail(p, "the server sent a header name with spaces or control characters");
  const char *v = colon + 1, *end = s + n;
  while (v < end && is_ows(*v)) v++;
  while (end > v && is_ows(end[-1])) end--;
  size_t vn = (size_t)(end - v);
  if (name_is(s, name_len, "content-length")) {
    unsigned long long x = 0;
    if (vn == 0) return fail(p, "the server sent an empty Content-Length");
    for (size_t i = 0; i < vn; i++) {
      if (v[i] < '0' || v[i] > '9') return fail(p, "the server sent a Content-Length that is not a number");
      if (x > (~0ULL - 9) / 10) return fail(p, "the server sent a Content-Length too large");
      x = x * 10 + (unsigned)(v[i] - '0');
    }
    if (p->has_length && x != p->length) return fail(p, "the server sent two different Content-Lengths");
    p->has_length = 1;
    p->length = x;
  } else if (name_is(s, name_len, "transfer-encoding")) {
    int last = 0;
    if (!list_has(v, vn, "chunked", &last) || !last)
      return fail(p, "the server used a transfer coding other than chunked");
    p->chunked = 1;
  } else if (name_is(s, name_len, "connection")) {
    if (list_has(v, vn, "close", NULL)) p->conn_close = 1;
    if (list_has(v, vn, "keep-alive", NULL)) p->conn_keep_alive = 1;
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
  while (i < n && is_ows(s[i])) i++;
  if (i < n && s[i] != ';') return fail(p, "the server sent a malformed chunk size");
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
    case S_TRAILERS:
      if (n == 0) {
        p->state = S_DONE;
        return DDBS_HTTP1_DONE;
      }
      return DDBS_HTTP1_MORE;
    default:
      return fail(p, "internal: a line in a body state");
  }
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
      const char *nl = memchr(data + i, '\n', len - i);
      size_t take = nl ? (size_t)(nl - (data + i)) : len - i;
      int in_head = p->state == S_STATUS || p->state == S_HEADERS;
      if (in_head) {
        p->head_bytes += take + (nl ? 1 : 0);
        if (p->head_bytes > DDBS_HTTP1_HEAD_MAX) {
          rc = fail(p, "the server's header is too large");
          break;
        }
      }
      const char *line;
      size_t n;
      if (p->line_len == 0 && nl) { /* the whole line is in this piece: no copy */
        line = data + i;
        n = take;
      } else {
        if (p->line_len + take > sizeof p->line) {
          rc = fail(p, "the server sent a header line that is too long");
          break;
        }
        memcpy(p->line + p->line_len, data + i, take);
        p->line_len += take;
        line = p->line;
        n = p->line_len;
      }
      if (!nl) {
        i = len;
        break;
      }
      i += take + 1;
      if (n && line[n - 1] == '\r') n--;
      p->line_len = 0;
      rc = on_line(p, line, n, sink);
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

int ddbs_http1_write_request(ddbs_buf *out, const char *path, const char *const *fields, int n,
                             const char *body, size_t body_len) {
  char cl[48];
  size_t need = strlen(path) + 32 + sizeof cl + body_len;
  for (int i = 0; i < n; i++) need += strlen(fields[i]) + 2;
  if (ddbs_buf_reserve(out, need) != 0) return -1;
  ddbs_buf_append_str(out, "POST ");
  ddbs_buf_append_str(out, path);
  ddbs_buf_append_str(out, " HTTP/1.1\r\n");
  for (int i = 0; i < n; i++) {
    ddbs_buf_append_str(out, fields[i]);
    ddbs_buf_append(out, "\r\n", 2);
  }
  int k = snprintf(cl, sizeof cl, "Content-Length: %zu\r\n\r\n", body_len);
  ddbs_buf_append(out, cl, (size_t)k);
  if (body_len) ddbs_buf_append(out, body, body_len);
  return 0;
}
