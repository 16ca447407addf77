/* proxy.c: proxy decisions (see proxy.h). Pure; any thread. */
#include "proxy.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

ddbs_proxy_kind ddbs_proxy_kind_of(const char *proxy) {
  if (!proxy || !*proxy) return DDBS_PROXY_NONE;
  if (strncasecmp(proxy, "socks", 5) == 0) return DDBS_PROXY_SOCKS;
  return DDBS_PROXY_HTTP;
}

/* Parses an IPv4 or IPv6 literal into 16 bytes; returns the address family, or 0. */
static int parse_ip(const char *s, size_t n, unsigned char out[16]) {
  char tmp[64];
  if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
    s++;
    n -= 2;
  }
  if (n == 0 || n >= sizeof tmp) return 0;
  memcpy(tmp, s, n);
  tmp[n] = '\0';
  if (inet_pton(AF_INET, tmp, out) == 1) return AF_INET;
  if (inet_pton(AF_INET6, tmp, out) == 1) return AF_INET6;
  return 0;
}

static int prefix_match(const unsigned char *a, const unsigned char *b, int bits) {
  int whole = bits / 8, rest = bits % 8;
  if (memcmp(a, b, (size_t)whole) != 0) return 0;
  if (!rest) return 1;
  unsigned char mask = (unsigned char)(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

static int entry_matches(const char *e, size_t n, const char *host, size_t hn) {
  unsigned char hip[16], eip[16];
  int hfam = parse_ip(host, hn, hip);
  if (hfam) {
    const char *slash = memchr(e, '/', n);
    size_t an = slash ? (size_t)(slash - e) : n;
    int efam = parse_ip(e, an, eip);
    if (efam != hfam) return 0;
    int maxbits = efam == AF_INET ? 32 : 128, bits = maxbits;
    if (slash) {
      bits = 0;
      size_t i = an + 1;
      if (i == n) return 0;
      for (; i < n; i++) {
        if (e[i] < '0' || e[i] > '9' || bits > maxbits) return 0;
        bits = bits * 10 + (e[i] - '0');
      }
      if (bits > maxbits) return 0;
    }
    return prefix_match(hip, eip, bits);
  }
  if (n && e[0] == '.') {
    e++;
    n--;
  }
  if (n == 0 || n > hn) return 0;
  if (strncasecmp(host + hn - n, e, n) != 0) return 0;
  return n == hn || host[hn - n - 1] == '.';
}

int ddbs_noproxy_match(const char *no_proxy, const char *host) {
  if (!no_proxy || !host) return 0;
  size_t hn = strlen(host);
  if (hn && host[hn - 1] == '.') hn--; /* a fully qualified name */
  const char *p = no_proxy;
  while (*p == ' ' || *p == '\t') p++;
  if (p[0] == '*' && (p[1] == '\0' || p[1] == ' ' || p[1] == ',')) {
    const char *q = p + 1;
    while (*q == ' ' || *q == '\t') q++;
    if (*q == '\0') return 1;
  }
  while (*p) {
    while (*p == ',' || *p == ' ' || *p == '\t') p++;
    const char *start = p;
    while (*p && *p != ',' && *p != ' ' && *p != '\t') p++;
    size_t n = (size_t)(p - start);
    if (n == 1 && start[0] == '*') return 1;
    if (n && entry_matches(start, n, host, hn)) return 1;
  }
  return 0;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Percent-decodes s[0..n) into out (at most n bytes). -1 on a bad escape. */
static long pct_decode(const char *s, size_t n, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '%') {
      if (i + 2 >= n) return -1;
      int a = hexval(s[i + 1]), b = hexval(s[i + 2]);
      if (a < 0 || b < 0) return -1;
      out[o++] = (char)(a * 16 + b);
      i += 2;
    } else {
      out[o++] = s[i];
    }
  }
  return (long)o;
}

static int base64_append(ddbs_buf *out, const unsigned char *in, size_t n) {
  static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (ddbs_buf_reserve(out, (n + 2) / 3 * 4 + 1) != 0) return -1;
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
    char q[4] = {tbl[(v >> 18) & 63], tbl[(v >> 12) & 63], i + 1 < n ? tbl[(v >> 6) & 63] : '=',
                 i + 2 < n ? tbl[v & 63] : '='};
    ddbs_buf_append(out, q, 4);
  }
  return 0;
}

int ddbs_proxy_basic_auth(const char *proxy, ddbs_buf *out) {
  if (!proxy) return 1;
  const char *s = strstr(proxy, "://");
  s = s ? s + 3 : proxy;
  size_t auth_end = strcspn(s, "/?#");
  const char *at = NULL;
  for (size_t i = 0; i < auth_end; i++)
    if (s[i] == '@') at = s + i; /* the last '@' of the authority ends the userinfo */
  if (!at) return 1;
  size_t un = (size_t)(at - s);
  char plain[1024];
  if (un >= sizeof plain) return -1;
  const char *colon = memchr(s, ':', un);
  size_t user_n = colon ? (size_t)(colon - s) : un;
  long a = pct_decode(s, user_n, plain);
  if (a < 0) return -1;
  size_t o = (size_t)a;
  plain[o++] = ':';
  if (colon) {
    long b = pct_decode(colon + 1, un - user_n - 1, plain + o);
    if (b < 0) return -1;
    o += (size_t)b;
  }
  int rc = ddbs_buf_append_str(out, "Basic ") == 0 && base64_append(out, (const unsigned char *)plain, o) == 0 ? 0 : -1;
  ddbs_secure_zero(plain, sizeof plain);
  return rc;
}
