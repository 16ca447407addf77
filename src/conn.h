/* conn.h: the store's connections to DynamoDB and the transport on them.
 *
 * libcurl opens every connection (CURLOPT_CONNECT_ONLY: DNS, TCP, a proxy's CONNECT tunnel or
 * SOCKS handshake, TLS with peer and host verification) and carries the bytes
 * (curl_easy_send/recv); http1.c frames the requests and reads the answers. There is one transport:
 * direct, through a CONNECT tunnel (https endpoints behind an http proxy), through SOCKS, or to a
 * forward proxy (http endpoints behind an http proxy: the request target is the absolute URL).
 *
 * Safety checks taken over from libcurl, since we frame on its connections: a connection carries
 * one exchange at a time; before an idle connection is reused, anything readable on it (bytes the
 * server sent outside an exchange, or its close) closes it; an answer followed by extra bytes, an
 * answer that is not framed exactly, or one the evaluation refused closes its connection.
 *
 * Thread: the worker thread only (the pool is created and freed by its owner, client.c). */
#ifndef DDBS_CONN_H
#define DDBS_CONN_H

#include <curl/curl.h>
#include <stddef.h>

#include "request.h"

typedef struct ddbs_pool ddbs_pool;

/* An attempt finished: tx says how. For DDBS_TX_OK, the return value says whether the answer was
 * accepted (1: the connection may carry another exchange; 0: close it). r belongs to the callee
 * from the call on (the pool forgets it). */
typedef int (*ddbs_pool_done_fn)(void *owner, ddbs_request *r, ddbs_tx tx);

typedef struct ddbs_pool_config {
  const char *url;        /* the endpoint */
  const char *ca_file;    /* NULL: the system's CA store */
  const char *proxy;      /* NULL: none (no_proxy already applied by the caller) */
  ddbs_pool_done_fn done;
  void *owner;
} ddbs_pool_config;

/* NULL when out of memory. Strings are copied. */
ddbs_pool *ddbs_pool_new(const ddbs_pool_config *cfg);
void ddbs_pool_free(ddbs_pool *p);

/* 1 when requests go to a forward proxy (absolute-form request target). */
int ddbs_pool_forward_proxy(const ddbs_pool *p);

/* Puts r (its r->wire ready) on an idle connection that passes the reuse check, or on a new one.
 * 0, or -1 when no connection can be started (r untouched). */
int ddbs_pool_dispatch(ddbs_pool *p, ddbs_request *r, long connect_timeout_ms, long attempt_timeout_ms);

/* r is finished elsewhere while on a connection: the connection stops carrying it (a connection in
 * the middle of an exchange is closed; one still being set up is kept for the next request). */
void ddbs_pool_abandon(ddbs_pool *p, ddbs_request *r);

/* The sockets to wait on in the worker's poll (valid until the next call); returns how many. */
size_t ddbs_pool_poll_set(ddbs_pool *p, struct curl_waitfd **fds);
/* What that poll reported (revents filled in the array poll_set returned). */
void ddbs_pool_events(ddbs_pool *p, size_t n);
/* Fires connection set-up timers and attempt deadlines; returns ms until the next one, or -1. */
long ddbs_pool_timers(ddbs_pool *p, unsigned long long now_ms);
/* Once a second at most: closes idle connections that became readable (closed by the server, or
 * sent something unasked). */
void ddbs_pool_check_idle(ddbs_pool *p, unsigned long long now_ms);
/* Frees the connections closed during this pass (none of them is in a poll set any more). */
void ddbs_pool_reap(ddbs_pool *p);

/* The date cache used when reading answers' Date headers. */
ddbs_date_cache *ddbs_pool_date_cache(ddbs_pool *p);

/* libcurl versions, for the binding's checks. */
const char *ddbs_curl_ssl_version(void);
const char *ddbs_curl_version(void);
int ddbs_curl_threadsafe(void);

#endif
