/* conn.c: the connections and the one transport on them (see conn.h).
 *
 * Each connection has its own multi handle, so libcurl never prunes or checks one connection while
 * setting up another (libcurl 7.88 treats a detached CONNECT_ONLY connection as idle, and a busy
 * one with an unread answer as dead); DNS answers and TLS sessions are shared through one CURLSH.
 * A connection carries one exchange at a time (keep-alive, no pipelining); free ones wait in
 * p->idle, most recent first.
 *
 * Thread: the worker thread only. */
#include "conn.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "http1.h"
#include "proxy.h"

#define CONN_FDS 4 /* sockets libcurl may wait on while one connection is set up */

typedef struct ddbs_conn ddbs_conn;

struct ddbs_conn {
  CURLM *multi;
  CURL *easy;
  curl_socket_t fd; /* once connected */
  int connecting;
  int dead;         /* closed; freed by ddbs_pool_reap() at the end of the worker's pass */
  int uses;         /* answers read on it */
  curl_socket_t cfd[CONN_FDS]; /* while connecting: the sockets libcurl waits on */
  short cev[CONN_FDS];
  int ncfd;
  int timer_set;
  unsigned long long timer_at_ms;
  short want; /* POLLIN or POLLOUT, while a request is on it */
  ddbs_request *req;
  size_t out_off; /* bytes of req->wire sent */
  char curl_err[CURL_ERROR_SIZE];
  ddbs_conn *next, *next_idle;
  ddbs_pool *pool;
  ddbs_http1_reader rd;
};

struct ddbs_pool {
  char *url, *ca_file, *proxy;
  int forward;  /* requests to a forward proxy (absolute-form target) */
  int tunnel;   /* https endpoint behind an http proxy: CONNECT */
  ddbs_pool_done_fn done;
  void *owner;
  CURLSH *share;
  ddbs_conn *conns; /* every connection, linked through ->next */
  ddbs_conn *idle;  /* connected and free, most recently used first (->next_idle) */
  unsigned long long idle_checked_ms;
  struct curl_waitfd *wfds;
  ddbs_conn **wmap;
  size_t wcap;
  ddbs_date_cache date_cache;
  char rbuf[65536]; /* what a connection's recv() returns, before http1.c reads it */
};

static unsigned long long mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (unsigned long long)ts.tv_sec * 1000ULL + (unsigned long long)ts.tv_nsec / 1000000ULL;
}

/* ------------------------------------------------------------------ versions */

const char *ddbs_curl_ssl_version(void) {
  const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
  return v && v->ssl_version ? v->ssl_version : "";
}

const char *ddbs_curl_version(void) {
  const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
  return v && v->version ? v->version : "";
}

int ddbs_curl_threadsafe(void) {
#ifdef CURL_VERSION_THREADSAFE
  const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
  return v && (v->features & CURL_VERSION_THREADSAFE) ? 1 : 0;
#else
  return 0;
#endif
}

/* ------------------------------------------------------------------ libcurl's part of a connection */

static int conn_socket_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp) {
  ddbs_conn *k = userp;
  int i = 0;
  (void)e;
  (void)socketp;
  while (i < k->ncfd && k->cfd[i] != s) i++;
  if (what == CURL_POLL_REMOVE) {
    if (i < k->ncfd) {
      k->cfd[i] = k->cfd[k->ncfd - 1];
      k->cev[i] = k->cev[k->ncfd - 1];
      k->ncfd--;
    }
    return 0;
  }
  if (i == k->ncfd) {
    if (k->ncfd == CONN_FDS) return -1;
    k->ncfd++;
    k->cfd[i] = s;
  }
  k->cev[i] = (short)(((what & CURL_POLL_IN) ? POLLIN : 0) | ((what & CURL_POLL_OUT) ? POLLOUT : 0));
  return 0;
}

static int conn_timer_cb(CURLM *m, long timeout_ms, void *userp) {
  ddbs_conn *k = userp;
  (void)m;
  k->timer_set = timeout_ms >= 0;
  k->timer_at_ms = mono_ms() + (unsigned long long)(timeout_ms > 0 ? timeout_ms : 0);
  return 0;
}

/* Sockets are close-on-exec: a child process the application starts must not hold (and keep open)
 * the store's connections. libcurl 7.88 does not ask for it. */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a) {
  (void)clientp;
  (void)purpose;
  return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* How libcurl's failure to set up a connection is told to the evaluation. */
static ddbs_tx connect_outcome(CURLcode res) {
  switch (res) {
    case CURLE_OPERATION_TIMEDOUT:
      return DDBS_TX_TIMEOUT;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_CRL_BADFILE:
      return DDBS_TX_TLS_REFUSED;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_WEIRD_SERVER_REPLY:
#if LIBCURL_VERSION_NUM >= 0x074900
    case CURLE_PROXY:
#endif
      return DDBS_TX_CONNECT_FAILED;
    case CURLE_OUT_OF_MEMORY:
      return DDBS_TX_NO_MEMORY;
    default:
      return DDBS_TX_FAILED;
  }
}

/* ------------------------------------------------------------------ the pool's lists */

static void unlink_idle(ddbs_pool *p, ddbs_conn *k) {
  for (ddbs_conn **pp = &p->idle; *pp; pp = &(*pp)->next_idle) {
    if (*pp == k) {
      *pp = k->next_idle;
      break;
    }
  }
  k->next_idle = NULL;
}

/* Closes k (freed at the end of the pass: its sockets may still be in this pass's poll set). The
 * request on it, if any, is detached; the caller decides its fate. */
static void conn_close(ddbs_pool *p, ddbs_conn *k) {
  if (k->dead) return;
  k->dead = 1;
  if (k->req) {
    k->req->conn = NULL;
    k->req = NULL;
  }
  unlink_idle(p, k);
}

static void conn_destroy(ddbs_conn *k) {
  if (k->easy) {
    curl_multi_remove_handle(k->multi, k->easy);
    curl_easy_cleanup(k->easy);
  }
  if (k->multi) curl_multi_cleanup(k->multi);
  free(k);
}

void ddbs_pool_reap(ddbs_pool *p) {
  for (ddbs_conn **pp = &p->conns; *pp;) {
    ddbs_conn *k = *pp;
    if (!k->dead) {
      pp = &k->next;
      continue;
    }
    *pp = k->next;
    conn_destroy(k);
  }
}

/* Starts a new connection (its set-up runs in the worker's loop). NULL when libcurl cannot. */
static ddbs_conn *conn_new(ddbs_pool *p, long connect_timeout, long attempt_timeout) {
  ddbs_conn *k = calloc(1, sizeof *k);
  if (!k) return NULL;
  k->pool = p;
  k->fd = CURL_SOCKET_BAD;
  k->connecting = 1;
  k->multi = curl_multi_init();
  k->easy = curl_easy_init();
  if (!k->multi || !k->easy) goto fail;
  curl_multi_setopt(k->multi, CURLMOPT_SOCKETFUNCTION, conn_socket_cb);
  curl_multi_setopt(k->multi, CURLMOPT_SOCKETDATA, k);
  curl_multi_setopt(k->multi, CURLMOPT_TIMERFUNCTION, conn_timer_cb);
  curl_multi_setopt(k->multi, CURLMOPT_TIMERDATA, k);
  CURL *e = k->easy;
  curl_easy_setopt(e, CURLOPT_URL, p->url);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  if (p->ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, p->ca_file);
  curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
  /* the proxy was chosen by the caller (no_proxy applied): libcurl reads no environment */
  curl_easy_setopt(e, CURLOPT_PROXY, p->proxy ? p->proxy : "");
  curl_easy_setopt(e, CURLOPT_NOPROXY, "");
  if (p->tunnel) curl_easy_setopt(e, CURLOPT_HTTPPROXYTUNNEL, 1L);
  if (p->share) curl_easy_setopt(e, CURLOPT_SHARE, p->share);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, k->curl_err);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, attempt_timeout);
  if (curl_multi_add_handle(k->multi, e) != CURLM_OK) goto fail;
  k->next = p->conns;
  p->conns = k;
  return k;
fail:
  conn_destroy(k);
  return NULL;
}

/* ------------------------------------------------------------------ pool */

ddbs_pool *ddbs_pool_new(const ddbs_pool_config *cfg) {
  ddbs_pool *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->url = ddbs_strdup(cfg->url);
  p->ca_file = ddbs_strdup(cfg->ca_file);
  p->proxy = cfg->proxy && cfg->proxy[0] ? ddbs_strdup(cfg->proxy) : NULL;
  p->done = cfg->done;
  p->owner = cfg->owner;
  if (!p->url || (cfg->ca_file && !p->ca_file) || (cfg->proxy && cfg->proxy[0] && !p->proxy)) goto fail;
  int https = strncmp(p->url, "https:", 6) == 0;
  if (ddbs_proxy_kind_of(p->proxy) == DDBS_PROXY_HTTP) {
    p->tunnel = https; /* TLS end to end, through CONNECT */
    p->forward = !https;
  }
  p->share = curl_share_init();
  if (p->share) {
    curl_share_setopt(p->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(p->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }
  return p;
fail:
  ddbs_pool_free(p);
  return NULL;
}

void ddbs_pool_free(ddbs_pool *p) {
  if (!p) return;
  while (p->conns) {
    ddbs_conn *k = p->conns;
    p->conns = k->next;
    conn_destroy(k);
  }
  if (p->share) curl_share_cleanup(p->share);
  free(p->wfds);
  free(p->wmap);
  free(p->url);
  free(p->ca_file);
  if (p->proxy) ddbs_secure_zero(p->proxy, strlen(p->proxy)); /* it may hold a password */
  free(p->proxy);
  free(p);
}

int ddbs_pool_forward_proxy(const ddbs_pool *p) { return p->forward; }

ddbs_date_cache *ddbs_pool_date_cache(ddbs_pool *p) { return &p->date_cache; }

/* ------------------------------------------------------------------ exchanges */

/* The attempt on k ended (tx). For a complete answer, the owner's verdict decides whether k may
 * carry another exchange. */
static void conn_finish(ddbs_pool *p, ddbs_conn *k, ddbs_tx tx, int keep_alive) {
  ddbs_request *r = k->req;
  k->req = NULL;
  if (r) r->conn = NULL;
  if (tx != DDBS_TX_OK || !keep_alive) conn_close(p, k);
  if (!r) return;
  int accepted = p->done(p->owner, r, tx);
  if (k->dead) return;
  if (tx == DDBS_TX_OK && keep_alive && accepted) {
    k->uses++;
    k->next_idle = p->idle;
    p->idle = k;
  } else {
    conn_close(p, k);
  }
}

static void set_detail(ddbs_request *r, const char *detail) {
  if (r && detail && detail[0]) snprintf(r->tx_detail, sizeof r->tx_detail, "%.*s", (int)sizeof r->tx_detail - 1, detail);
}

static void conn_send(ddbs_pool *p, ddbs_conn *k);

/* Sending or receiving failed before the answer was complete. A reused connection that gave no
 * byte back was closed by the server while idle: the request moves, once, to a fresh one (as
 * libcurl itself does for a reused connection). */
static void conn_io_error(ddbs_pool *p, ddbs_conn *k, ddbs_tx tx, const char *detail) {
  ddbs_request *r = k->req;
  if (r && k->uses > 0 && k->rd.received == 0 && !r->stale_retried) {
    r->stale_retried = 1;
    conn_close(p, k);
    p->idle_checked_ms = 0; /* its idle neighbours may be dead too: look before the next pass's attempts */
    unsigned long long now = mono_ms();
    long left = (long)(r->attempt_deadline_ms > now ? r->attempt_deadline_ms - now : 1);
    if (ddbs_pool_dispatch(p, r, left, left) == 0) return;
    set_detail(r, "cannot open a connection (libcurl)");
    p->done(p->owner, r, DDBS_TX_FAILED);
    return;
  }
  set_detail(r, detail);
  conn_finish(p, k, tx, 0);
}

static void conn_curl_error(ddbs_pool *p, ddbs_conn *k, CURLcode rc, ddbs_tx tx, const char *what) {
  char detail[CURL_ERROR_SIZE + 64];
  snprintf(detail, sizeof detail, "%s: %s", what, k->curl_err[0] ? k->curl_err : curl_easy_strerror(rc));
  conn_io_error(p, k, tx, detail);
}

static void conn_send(ddbs_pool *p, ddbs_conn *k) {
  ddbs_request *r = k->req;
  while (k->out_off < r->wire.len) {
    size_t n = 0;
    CURLcode rc = curl_easy_send(k->easy, r->wire.data + k->out_off, r->wire.len - k->out_off, &n);
    if (rc == CURLE_AGAIN) {
      k->want = POLLOUT;
      return;
    }
    if (rc != CURLE_OK) {
      conn_curl_error(p, k, rc, DDBS_TX_SEND_FAILED, "sending the request failed");
      return;
    }
    k->out_off += n;
  }
  k->want = POLLIN;
}

static int sink_header(void *user, const char *line, size_t len) {
  ddbs_conn *k = user;
  ddbs_request_answer_header(k->req, line, len, &k->pool->date_cache);
  return 0;
}

static int sink_body(void *user, const char *data, size_t len) {
  ddbs_conn *k = user;
  return ddbs_request_answer_body(k->req, data, len);
}

/* Reads what arrived on k, which carries a request (idle connections are only looked at, never
 * read: anything on them closes them). */
static void conn_recv(ddbs_pool *p, ddbs_conn *k) {
  ddbs_http1_sink sink = {sink_header, sink_body, k};
  for (;;) {
    size_t n = 0;
    CURLcode rc = curl_easy_recv(k->easy, p->rbuf, sizeof p->rbuf, &n);
    if (rc == CURLE_AGAIN) return;
    if (rc != CURLE_OK) {
      conn_curl_error(p, k, rc, DDBS_TX_RECV_FAILED, "receiving the answer failed");
      return;
    }
    if (n == 0) { /* the server closed the connection */
      if (ddbs_http1_eof(&k->rd) == DDBS_HTTP1_DONE) {
        k->req->http_status = k->rd.status;
        conn_finish(p, k, DDBS_TX_OK, 0);
      } else {
        conn_io_error(p, k, k->rd.received ? DDBS_TX_CUT_SHORT : DDBS_TX_NO_ANSWER, k->rd.error);
      }
      return;
    }
    size_t used = 0;
    int prc = ddbs_http1_feed(&k->rd, p->rbuf, n, &used, &sink);
    if (prc == DDBS_HTTP1_MORE) continue;
    if (prc == DDBS_HTTP1_DONE) {
      k->req->http_status = k->rd.status;
      /* bytes past the answer belong to no request: the connection is not trusted again */
      conn_finish(p, k, DDBS_TX_OK, k->rd.keep_alive && used == n);
    } else if (prc == DDBS_HTTP1_ABORTED) {
      ddbs_request *r = k->req;
      conn_finish(p, k, r->response_too_large ? DDBS_TX_TOO_LARGE : DDBS_TX_NO_MEMORY, 0);
    } else {
      set_detail(k->req, k->rd.error);
      conn_finish(p, k, DDBS_TX_MALFORMED, 0);
    }
    return;
  }
}

/* The reuse check libcurl makes before it reuses a connection, which we must make too since we
 * frame on its connections: an idle connection on which anything is readable (bytes the server
 * sent outside an exchange, or its close) is not reused. 1: usable. */
static int idle_usable(ddbs_conn *k) {
  struct pollfd pf = {(int)k->fd, POLLIN, 0};
  int rc = poll(&pf, 1, 0);
  return rc == 0; /* readable, hung up, an error, or poll itself failing: not usable */
}

int ddbs_pool_dispatch(ddbs_pool *p, ddbs_request *r, long connect_timeout, long attempt_timeout) {
  ddbs_conn *k = NULL;
  while (!r->stale_retried && p->idle) {
    ddbs_conn *c = p->idle;
    p->idle = c->next_idle;
    c->next_idle = NULL;
    if (idle_usable(c)) {
      k = c;
      break;
    }
    conn_close(p, c);
  }
  if (!k) {
    k = conn_new(p, connect_timeout, attempt_timeout);
    if (!k) return -1;
  }
  k->req = r;
  r->conn = k;
  k->out_off = 0;
  k->want = POLLOUT;
  ddbs_http1_reader_init(&k->rd);
  ddbs_request_reset_answer(r);
  if (k->connecting) {
    int running = 0;
    curl_multi_socket_action(k->multi, CURL_SOCKET_TIMEOUT, 0, &running); /* starts connecting */
  } else {
    conn_send(p, k);
  }
  return 0;
}

void ddbs_pool_abandon(ddbs_pool *p, ddbs_request *r) {
  ddbs_conn *k = r->conn;
  if (!k) return;
  if (k->connecting) { /* still being set up: it can carry the next request */
    k->req = NULL;
    r->conn = NULL;
  } else {
    conn_close(p, k); /* abandoned in the middle: the connection cannot carry another */
  }
}

/* libcurl's part of a connection that is being set up: a socket event or its timer. */
static void conn_drive(ddbs_pool *p, ddbs_conn *k, curl_socket_t fd, int ev) {
  int running = 0, left = 0;
  curl_multi_socket_action(k->multi, fd, ev, &running);
  CURLMsg *m;
  while ((m = curl_multi_info_read(k->multi, &left))) {
    if (m->msg != CURLMSG_DONE || k->dead) continue;
    CURLcode res = m->data.result;
    curl_socket_t sock = CURL_SOCKET_BAD;
    if (res == CURLE_OK &&
        (curl_easy_getinfo(k->easy, CURLINFO_ACTIVESOCKET, &sock) != CURLE_OK || sock == CURL_SOCKET_BAD))
      res = CURLE_COULDNT_CONNECT;
    if (res != CURLE_OK) {
      char detail[CURL_ERROR_SIZE + 8];
      snprintf(detail, sizeof detail, "%s", k->curl_err[0] ? k->curl_err : curl_easy_strerror(res));
      set_detail(k->req, detail);
      conn_finish(p, k, connect_outcome(res), 0);
      return;
    }
    k->connecting = 0;
    k->ncfd = 0;
    k->timer_set = 0;
    k->fd = sock;
    if (k->req) {
      conn_send(p, k);
    } else { /* its request went away while it was being set up: keep it for the next one */
      k->next_idle = p->idle;
      p->idle = k;
    }
    return;
  }
}

size_t ddbs_pool_poll_set(ddbs_pool *p, struct curl_waitfd **fds) {
  size_t need = 0, n = 0;
  for (ddbs_conn *k = p->conns; k; k = k->next) need += k->connecting ? (size_t)k->ncfd : k->req ? 1 : 0;
  if (need > p->wcap) {
    size_t cap = need + 16;
    struct curl_waitfd *w = realloc(p->wfds, cap * sizeof *w);
    if (w) p->wfds = w;
    ddbs_conn **m = realloc(p->wmap, cap * sizeof *m);
    if (m) p->wmap = m;
    if (!w || !m) return 0; /* out of memory: this pass waits on its timeout only */
    p->wcap = cap;
  }
  for (ddbs_conn *k = p->conns; k; k = k->next) {
    if (k->dead) continue;
    if (k->connecting) {
      for (int i = 0; i < k->ncfd; i++) {
        p->wfds[n] = (struct curl_waitfd){k->cfd[i], k->cev[i], 0};
        p->wmap[n++] = k;
      }
    } else if (k->req) {
      p->wfds[n] = (struct curl_waitfd){k->fd, k->want, 0};
      p->wmap[n++] = k;
    }
  }
  *fds = p->wfds;
  return n;
}

void ddbs_pool_events(ddbs_pool *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    short rev = p->wfds[i].revents;
    ddbs_conn *k = p->wmap[i];
    if (!rev || k->dead) continue;
    if (k->connecting) {
      int ev = ((rev & POLLIN) ? CURL_CSELECT_IN : 0) | ((rev & POLLOUT) ? CURL_CSELECT_OUT : 0) |
               ((rev & (POLLERR | POLLHUP)) ? CURL_CSELECT_ERR : 0);
      conn_drive(p, k, p->wfds[i].fd, ev);
    } else if (k->req && p->wfds[i].fd == k->fd) {
      if (k->want == POLLOUT && (rev & (POLLOUT | POLLERR | POLLHUP))) conn_send(p, k);
      else if (rev & (POLLIN | POLLERR | POLLHUP)) conn_recv(p, k);
    }
  }
}

void ddbs_pool_check_idle(ddbs_pool *p, unsigned long long now) {
  if (!p->idle || now - p->idle_checked_ms < 1000) return;
  p->idle_checked_ms = now;
  struct pollfd pf[64];
  ddbs_conn *ks[64];
  ddbs_conn *k = p->idle;
  while (k) {
    int n = 0;
    for (; k && n < 64; k = k->next_idle) {
      pf[n] = (struct pollfd){(int)k->fd, POLLIN, 0};
      ks[n++] = k;
    }
    if (poll(pf, (nfds_t)n, 0) <= 0) continue;
    for (int i = 0; i < n; i++)
      if (pf[i].revents) conn_close(p, ks[i]); /* k (the next batch) is not among these */
  }
  ddbs_pool_reap(p); /* now: no poll set refers to them */
}

long ddbs_pool_timers(ddbs_pool *p, unsigned long long now) {
  unsigned long long next = 0;
  for (ddbs_conn *k = p->conns; k; k = k->next) {
    if (k->dead) continue;
    if (k->connecting && k->timer_set) {
      if (k->timer_at_ms <= now) {
        k->timer_set = 0;
        conn_drive(p, k, CURL_SOCKET_TIMEOUT, 0);
        if (k->dead) continue;
      }
      if (k->timer_set && (!next || k->timer_at_ms < next)) next = k->timer_at_ms;
    }
    if (k->req && !k->connecting) {
      ddbs_request *r = k->req;
      if (r->attempt_deadline_ms <= now) {
        char detail[160];
        snprintf(detail, sizeof detail, "Operation timed out after %llu milliseconds with %zu bytes received",
                 now - r->attempt_started_ms, k->rd.received);
        set_detail(r, detail);
        conn_finish(p, k, DDBS_TX_TIMEOUT, 0);
      } else if (!next || r->attempt_deadline_ms < next) {
        next = r->attempt_deadline_ms;
      }
    }
  }
  if (!next) return -1;
  return next > now ? (long)(next - now) : 0;
}
