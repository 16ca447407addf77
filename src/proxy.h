/* proxy.h: which proxy a request goes through, and how (pure decisions on the proxy settings the
 * JavaScript side resolved from the environment with libcurl's precedence, see lib/config.js).
 * No I/O; any thread (the client's owner thread, at creation). */
#ifndef DDBS_PROXY_H
#define DDBS_PROXY_H

#include <stddef.h>

#include "buf.h"

typedef enum ddbs_proxy_kind {
  DDBS_PROXY_NONE = 0,
  DDBS_PROXY_HTTP,  /* http:// or https:// (or no scheme, as libcurl reads it) */
  DDBS_PROXY_SOCKS  /* socks4, socks4a, socks5, socks5h */
} ddbs_proxy_kind;

ddbs_proxy_kind ddbs_proxy_kind_of(const char *proxy);

/* 1 when host (a name or an IP literal, without port; IPv6 with or without brackets) is excluded
 * from proxying by a no_proxy list, with libcurl's rules: "*" alone excludes everything; entries
 * are separated by commas or spaces; a name matches itself and its subdomains (a leading dot is
 * ignored); an IP address matches exactly or by CIDR prefix ("10.0.0.0/8", "fd00::/8"). Case
 * does not matter. */
int ddbs_noproxy_match(const char *no_proxy, const char *host);

/* "Basic base64(user:password)" from the percent-decoded user and password of a forward proxy's
 * URL, appended to out (a secret: the caller wipes it). 0 when the URL holds credentials, 1 when it
 * holds none (nothing appended), -1 on a malformed URL or out of memory. */
int ddbs_proxy_basic_auth(const char *proxy, ddbs_buf *out);

#endif
