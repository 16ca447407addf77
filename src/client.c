/* client.c: the worker thread, its queue, its connections and curl multi handles (see client.h).
 *
 * Owner thread: ddbs_client_new, ddbs_client_submit, ddbs_client_take_completed,
 *               ddbs_client_set_credentials, ddbs_client_shutdown, ddbs_client_free.
 * Worker thread: everything static below worker_main(): it builds request bodies (ddb_json.c),
 *               signs them (sigv4.c), sends them on keep-alive connections that libcurl opened
 *               and http1.c frames (or, through a proxy, on libcurl's own HTTP), retries what
 *               can be retried (backoff with full jitter and a retry budget, as the AWS SDKs'
 *               standard mode), parses the answers and moves finished requests to the
 *               completion list, then calls notify().
 * Shared state (queue, completion list, credentials, flags) is guarded by c->lock. */
#include "client.h"

#include <curl/curl.h>
#include <poll.h>
#include <sys/socket.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "crc32.h"
#include "ddb_json.h"
#include "http1.h"
#include "sigv4.h"

#define TARGET_PREFIX "DynamoDB_20120810."
#define RETRY_BASE_MS 25            /* transient errors */
#define RETRY_THROTTLE_BASE_MS 100  /* throttling errors: a longer base */
#define RETRY_CAP_MS 2000
#define RETRY_BUDGET_MAX 500        /* tokens, as the AWS SDKs' standard retry mode */
#define RETRY_COST 5
#define RETRY_TIMEOUT_COST 10
#define EASY_POOL_MAX 64
#define CONN_FDS 4                  /* sockets libcurl may wait on while one connection is set up */

typedef struct ddbs_conn ddbs_conn;

struct ddbs_client {
  /* immutable after new() */
  char *url, *host, *region, *table, *hash_key, *ttl_key, *ca_file, *user_agent;
  char *proxy, *no_proxy; /* from the environment, as libcurl reads it (NULL: none) */
  int consistent_read;
  int max_attempts;
  long connect_timeout_ms, attempt_timeout_ms, total_timeout_ms;
  size_t max_response_bytes;
  int max_connections;
  ddbs_notify_fn notify;
  void *notify_user;

  uv_thread_t thread;
  int thread_started;
  CURLM *multi;
  int raw; /* 1: requests framed by http1.c on connections libcurl opened; 0: libcurl HTTP (proxy) */

  /* guarded by lock */
  uv_mutex_t lock;
  ddbs_request *queue_head, *queue_tail; /* submitted, not yet seen by the worker */
  ddbs_request *done_head, *done_tail;   /* completed, not yet taken */
  int notify_pending;
  int worker_waiting; /* the worker is (about to be) blocked in its poll: a submission must wake it */
  unsigned long long renotify_at_ms; /* the owner asked to be notified again at this time */
  int stopping; /* 1: drain then exit; */
  int aborting; /* 1: fail everything at once then exit */
  int joined;
  size_t outstanding;
  ddbs_buf akid, secret, token; /* credentials (wiped on change and free) */
  unsigned long cred_generation;

  /* worker-thread only */
  ddbs_request *active; /* admitted and not finished; linked through ->next */
  size_t active_count;
  ddbs_request *slot_head, *slot_tail; /* waiting for a connection slot; linked through ->next_wait */
  int http_active;                      /* attempts running in curl (<= max_connections) */
  int completed_unnotified;             /* complete() ran since the last notify_owner() */
  void *easy_pool[EASY_POOL_MAX];
  int easy_pool_len;
  ddbs_sigv4_signer *signer; /* the signing key, its HMAC pads absorbed (wiped on change and free) */
  CURLSH *share;             /* DNS and TLS sessions, shared by the connections (worker only) */
  ddbs_conn *conns;          /* every connection, linked through ->next */
  ddbs_conn *idle;           /* connected and free, most recently used first (->next_idle) */
  unsigned long long idle_checked_ms; /* when the idle connections were last looked at */
  struct curl_waitfd *wfds;  /* the connections' sockets for curl_multi_poll, and their owners */
  ddbs_conn **wmap;
  size_t wcap;
  char rbuf[65536];          /* what a connection's recv() returns, before http1.c reads it */
  char signing_date[9];
  unsigned long signing_generation;
  int has_signing_key;
  long retry_tokens;
  uint64_t rng;
  long long clock_offset_s; /* server clock - local clock, learnt from answers' Date headers */
  char last_date[40];       /* the last Date header seen, and its value */
  size_t last_date_len;
  long long last_date_time;
};

/* ------------------------------------------------------------------ small helpers */

static char *dup_or_null(const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s);
  char *p = malloc(n + 1);
  if (p) memcpy(p, s, n + 1);
  return p;
}

static unsigned long long now_ms(void) { return uv_hrtime() / 1000000ULL; }

static uint64_t next_random(ddbs_client *c) {
  /* xorshift64*: jitter only, not security */
  uint64_t x = c->rng;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  c->rng = x;
  return x * 0x2545F4914F6CDD1DULL;
}

static void set_error(ddbs_request *r, const char *code, const char *message, int retryable) {
  r->status = DDBS_FAILED;
  snprintf(r->err_code, sizeof r->err_code, "%s", code);
  snprintf(r->err_message, sizeof r->err_message, "%s", message);
  r->retryable = retryable;
}

/* ------------------------------------------------------------------ requests */

ddbs_request *ddbs_request_new(int op, const char *op_name) {
  ddbs_request *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->op = op;
  r->expires = -1;
  snprintf(r->op_name, sizeof r->op_name, "%s", op_name);
  return r;
}

void ddbs_request_free(ddbs_request *r) {
  if (!r) return;
  free(r->key);
  free(r->session);
  ddbs_buf_free(&r->body);
  ddbs_buf_free(&r->result);
  ddbs_buf_free(&r->response);
  if (r->hdr_secret) ddbs_buf_wipe_free(&r->hdrbuf); /* it held a session token */
  else ddbs_buf_free(&r->hdrbuf);
  if (r->easy) curl_easy_cleanup(r->easy);
  free(r);
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

/* ------------------------------------------------------------------ worker: curl callbacks */

/* Appends the answer to r->response, failing the transfer past the client's size cap. */
static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata) {
  ddbs_request *r = userdata;
  size_t n = size * nmemb;
  ddbs_client *c = r->client;
  if (c && c->max_response_bytes && r->response.len + n > c->max_response_bytes) {
    r->response_too_large = 1;
    return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
  }
  return ddbs_buf_append(&r->response, ptr, n) == 0 ? n : 0;
}

static int header_is(const char *line, size_t n, const char *name, size_t *value_at) {
  size_t k = strlen(name);
  if (n <= k || line[k] != ':') return 0;
  for (size_t i = 0; i < k; i++) {
    char a = line[i], b = name[i];
    if (a >= 'A' && a <= 'Z') a = (char)(a - 'A' + 'a');
    if (a != b) return 0;
  }
  size_t v = k + 1;
  while (v < n && (line[v] == ' ' || line[v] == '\t')) v++;
  *value_at = v;
  return 1;
}

static void copy_header_value(const char *line, size_t n, size_t at, char *out, size_t out_size) {
  size_t end = n;
  while (end > at && (line[end - 1] == '\r' || line[end - 1] == '\n' || line[end - 1] == ' ')) end--;
  size_t len = end - at;
  if (len >= out_size) len = out_size - 1;
  memcpy(out, line + at, len);
  out[len] = '\0';
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *userdata) {
  ddbs_request *r = userdata;
  size_t n = size * nmemb, at;
  if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) { /* a new response (e.g. after a redirect): reset */
    r->has_crc32 = 0;
    r->request_id[0] = '\0';
    r->server_time = 0;
  } else if (header_is(line, n, "x-amzn-requestid", &at)) {
    copy_header_value(line, n, at, r->request_id, sizeof r->request_id);
  } else if (header_is(line, n, "date", &at)) {
    size_t end = n;
    while (end > at && (line[end - 1] == '\r' || line[end - 1] == '\n' || line[end - 1] == ' ')) end--;
    /* the same text as the last answer's (it changes once a second): no need to parse it again */
    ddbs_client *c = r->client;
    size_t len = end - at;
    if (c && len == c->last_date_len && len && memcmp(c->last_date, line + at, len) == 0) {
      r->server_time = c->last_date_time;
    } else {
      r->server_time = ddbs_parse_http_date(line + at, len);
      if (c && len < sizeof c->last_date) {
        memcpy(c->last_date, line + at, len);
        c->last_date_len = len;
        c->last_date_time = r->server_time;
      }
    }
  } else if (header_is(line, n, "x-amz-crc32", &at)) {
    copy_header_value(line, n, at, r->crc32, sizeof r->crc32);
    r->has_crc32 = 1;
  }
  return n;
}

/* ------------------------------------------------------------------ worker: attempts */

/* Moves r to the completion list. The owner is notified once per pass of the worker loop
 * (notify_owner), not per request: one wake-up of the JavaScript thread for a batch. */
static void complete(ddbs_client *c, ddbs_request *r) {
  uv_mutex_lock(&c->lock);
  r->next = NULL;
  if (c->done_tail) c->done_tail->next = r;
  else c->done_head = r;
  c->done_tail = r;
  uv_mutex_unlock(&c->lock);
  c->completed_unnotified = 1;
}

static void notify_owner(ddbs_client *c) {
  if (!c->completed_unnotified) return;
  c->completed_unnotified = 0;
  int call = 0;
  uv_mutex_lock(&c->lock);
  if (c->done_head && !c->notify_pending) {
    c->notify_pending = 1;
    call = 1;
  }
  uv_mutex_unlock(&c->lock);
  if (call && c->notify) c->notify(c->notify_user);
}

static void active_remove(ddbs_client *c, ddbs_request *r) {
  ddbs_request **pp = &c->active;
  while (*pp && *pp != r) pp = &(*pp)->next;
  if (*pp) {
    *pp = r->next;
    c->active_count--;
  }
  r->next = NULL;
}

/* ------------------------------------------------------------------ worker: connections
 *
 * Without a proxy, libcurl only opens connections (CURLOPT_CONNECT_ONLY: TCP, TLS with its
 * certificate checks) and carries bytes (curl_easy_send/recv); http1.c writes the requests and
 * reads the answers, which costs a fraction of libcurl's per-transfer work (measured: about half
 * of the worker's CPU per request). Each connection has its own multi handle, so libcurl never
 * prunes or checks one connection while setting up another; DNS answers and TLS sessions are
 * shared through c->share. A connection carries one request at a time (keep-alive, no
 * pipelining); free ones wait in c->idle, most recent first. Idle ones the server closed are
 * found once a second (check_idle); one found only when a request on it gets no byte back moves
 * the request once to a fresh connection (as libcurl itself does for a reused connection). */
struct ddbs_conn {
  CURLM *multi;
  CURL *easy;
  curl_socket_t fd; /* once connected */
  int connecting;
  int dead;         /* closed; freed by conn_reap() at the end of the worker's pass */
  int uses;         /* answers read on it */
  curl_socket_t cfd[CONN_FDS]; /* while connecting: the sockets libcurl waits on */
  short cev[CONN_FDS];
  int ncfd;
  int timer_set;
  unsigned long long timer_at_ms;
  short want;       /* POLLIN or POLLOUT, while a request is on it */
  ddbs_request *req;
  size_t out_off;   /* bytes of req->hdrbuf sent */
  char curl_err[CURL_ERROR_SIZE];
  ddbs_conn *next, *next_idle;
  ddbs_http1_reader rd;
};

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
  k->timer_at_ms = now_ms() + (unsigned long long)(timeout_ms > 0 ? timeout_ms : 0);
  return 0;
}

static void unlink_idle(ddbs_client *c, ddbs_conn *k) {
  for (ddbs_conn **pp = &c->idle; *pp; pp = &(*pp)->next_idle) {
    if (*pp == k) {
      *pp = k->next_idle;
      break;
    }
  }
  k->next_idle = NULL;
}

/* Closes k (freed at the end of the pass: its sockets may still be in this pass's poll set). The
 * request on it, if any, is detached; the caller decides its fate. */
static void conn_close(ddbs_client *c, ddbs_conn *k) {
  if (k->dead) return;
  k->dead = 1;
  if (k->req) {
    k->req->conn = NULL;
    k->req = NULL;
  }
  unlink_idle(c, k);
}

static void conn_destroy(ddbs_conn *k) {
  if (k->easy) {
    curl_multi_remove_handle(k->multi, k->easy);
    curl_easy_cleanup(k->easy);
  }
  if (k->multi) curl_multi_cleanup(k->multi);
  free(k);
}

static void conn_reap(ddbs_client *c) {
  for (ddbs_conn **pp = &c->conns; *pp;) {
    ddbs_conn *k = *pp;
    if (!k->dead) {
      pp = &k->next;
      continue;
    }
    *pp = k->next;
    conn_destroy(k);
  }
}

/* Sockets are close-on-exec: a child process the application starts must not hold (and keep open)
 * the store's connections. libcurl 7.88 does not ask for it. */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a) {
  (void)clientp;
  (void)purpose;
  return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* The options every handle gets, on both paths: the endpoint, no signals, close-on-exec sockets,
 * TCP settings and TLS verification (peer and host name; a private CA file when given). */
static void set_connection_options(ddbs_client *c, CURL *e) {
  curl_easy_setopt(e, CURLOPT_URL, c->url);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  if (c->ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
}

/* Starts a new connection (its set-up runs in the worker's loop). NULL when libcurl cannot. */
static ddbs_conn *conn_new(ddbs_client *c, long connect_timeout, long attempt_timeout) {
  ddbs_conn *k = calloc(1, sizeof *k);
  if (!k) return NULL;
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
  set_connection_options(c, e);
  curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt(e, CURLOPT_PROXY, ""); /* this path runs only without a proxy */
  if (c->share) curl_easy_setopt(e, CURLOPT_SHARE, c->share);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, k->curl_err);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, attempt_timeout);
  if (curl_multi_add_handle(k->multi, e) != CURLM_OK) goto fail;
  k->next = c->conns;
  c->conns = k;
  return k;
fail:
  conn_destroy(k);
  return NULL;
}

static void release_easy(ddbs_client *c, ddbs_request *r) {
  ddbs_conn *k = r->conn;
  if (k && k->connecting) { /* still being set up: it can carry the next request */
    k->req = NULL;
    r->conn = NULL;
  } else if (k) {
    conn_close(c, k); /* abandoned in the middle: the connection cannot carry another */
  }
  if (r->in_http) {
    r->in_http = 0;
    c->http_active--;
  }
  if (!r->easy) return;
  curl_multi_remove_handle(c->multi, r->easy);
  if (c->easy_pool_len < EASY_POOL_MAX) {
    /* kept with its per-client options; the per-attempt ones are set again at the next use */
    curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, NULL); /* it points into the request */
    c->easy_pool[c->easy_pool_len++] = r->easy;
  } else {
    curl_easy_cleanup(r->easy);
  }
  r->easy = NULL;
}

static void slot_remove(ddbs_client *c, ddbs_request *r) {
  if (!r->in_slot_queue) return;
  ddbs_request **pp = &c->slot_head, *prev = NULL;
  while (*pp && *pp != r) {
    prev = *pp;
    pp = &(*pp)->next_wait;
  }
  if (*pp) {
    *pp = r->next_wait;
    if (c->slot_tail == r) c->slot_tail = prev;
  }
  r->next_wait = NULL;
  r->in_slot_queue = 0;
}

static void slot_push(ddbs_client *c, ddbs_request *r) {
  r->next_wait = NULL;
  r->in_slot_queue = 1;
  if (c->slot_tail) c->slot_tail->next_wait = r;
  else c->slot_head = r;
  c->slot_tail = r;
}

/* Hands r (in c->active, finished or failed) back to the owner. */
static void finish(ddbs_client *c, ddbs_request *r) {
  slot_remove(c, r);
  release_easy(c, r);
  active_remove(c, r);
  ddbs_buf_free(&r->response);
  complete(c, r);
}

static int build_body(ddbs_client *c, ddbs_request *r) {
  char err[512] = "";
  int rc = 0;
  switch (r->op) {
    case DDBS_OP_GET_ITEM:
      rc = ddbs_body_get_item(c->table, c->hash_key, r->key, r->key_len, c->consistent_read, &r->body, err,
                              sizeof err);
      break;
    case DDBS_OP_PUT_ITEM:
      rc = ddbs_body_put_item(c->table, c->hash_key, r->key, r->key_len, c->ttl_key, r->expires, r->session,
                              r->session_len, &r->body, err, sizeof err);
      free(r->session); /* the body holds it now */
      r->session = NULL;
      r->session_len = 0;
      break;
    case DDBS_OP_DELETE_ITEM:
      rc = ddbs_body_delete_item(c->table, c->hash_key, r->key, r->key_len, &r->body, err, sizeof err);
      break;
    default:
      return 0;
  }
  if (rc == 0) return 0;
  if (rc == DDBS_E_TOO_LARGE) set_error(r, "SessionTooLarge", err, 0);
  else if (rc == DDBS_E_INPUT) set_error(r, "InvalidSession", err, 0);
  else set_error(r, "OutOfMemory", err[0] ? err : "out of memory building the request", 0);
  return -1;
}

static int raw_dispatch(ddbs_client *c, ddbs_request *r, long connect_timeout, long attempt_timeout, int fresh);

/* Signs and starts one HTTP attempt. Returns 0, or -1 with r's error set. */
static int start_attempt(ddbs_client *c, ddbs_request *r) {
  char amz_date[17], target[64];
  ddbs_buf auth = DDBS_BUF_INIT;
  CURL *e = NULL;
  int rc = -1;
  long long unix_now = (long long)time(NULL) + c->clock_offset_s; /* the server's clock, as learnt */
  unsigned long long now = now_ms();

  r->attempts++;
  r->server_time = 0;
  r->skew_corrected = 0;
  r->has_crc32 = 0;
  r->response_too_large = 0;
  r->request_id[0] = '\0';
  r->http_status = 0;
  ddbs_buf_reset(&r->response);
  snprintf(target, sizeof target, TARGET_PREFIX "%s", r->op_name);
  if (ddbs_sigv4_format_amz_date(unix_now, amz_date) != 0) {
    set_error(r, "SigningError", "cannot format the request time", 0);
    goto cleanup;
  }

  uv_mutex_lock(&c->lock);
  if (c->akid.len == 0 || c->secret.len == 0) {
    uv_mutex_unlock(&c->lock);
    set_error(r, "CredentialsError", "no AWS credentials are set for the store", 0);
    goto cleanup;
  }
  if (!c->has_signing_key || c->signing_generation != c->cred_generation ||
      memcmp(c->signing_date, amz_date, 8) != 0) {
    unsigned char key[32];
    memcpy(c->signing_date, amz_date, 8);
    c->signing_date[8] = '\0';
    int key_ok = ddbs_sigv4_signing_key(c->secret.data, c->signing_date, c->region, "dynamodb", key) == 0 &&
                 ddbs_sigv4_signer_set_key(c->signer, key) == 0;
    ddbs_secure_zero(key, sizeof key);
    if (!key_ok) {
      uv_mutex_unlock(&c->lock);
      c->has_signing_key = 0;
      set_error(r, "SigningError", "cannot derive the signing key", 0);
      goto cleanup;
    }
    c->has_signing_key = 1;
    c->signing_generation = c->cred_generation;
  }
  ddbs_sigv4_dynamodb sreq = {
      .access_key_id = c->akid.data,
      .session_token = c->token.len ? c->token.data : NULL,
      .region = c->region,
      .amz_date = amz_date,
      .host = c->host,
      .target = target,
      .body = r->body.data ? r->body.data : "",
      .body_len = r->body.len,
  };
  int signed_ok = ddbs_sigv4_sign_dynamodb_with(c->signer, &sreq, &auth) == 0;
  /* The headers: exactly what was signed, plus Authorization; "Expect:" and "Accept:" remove
   * curl's own. Their text lives in r->hdrbuf (NUL-separated) and the list nodes in r->hnodes, so
   * an attempt allocates nothing here once the buffer has grown. The token is wiped with it. */
  size_t offs[DDBS_MAX_HEADERS];
  int nh = 0, ok = signed_ok;
  ddbs_buf_reset(&r->hdrbuf);
#define ADD_HEADER(name, value)                                                                      \
  do {                                                                                               \
    if (ok) {                                                                                        \
      offs[nh++] = r->hdrbuf.len;                                                                    \
      ok = ddbs_buf_append_str(&r->hdrbuf, name) == 0 && ddbs_buf_append_str(&r->hdrbuf, value) == 0 && \
           ddbs_buf_append(&r->hdrbuf, "", 1) == 0;                                                  \
    }                                                                                                \
  } while (0)
  ADD_HEADER("Host: ", c->host);
  ADD_HEADER("Content-Type: ", DDBS_DYNAMODB_CONTENT_TYPE);
  ADD_HEADER("X-Amz-Date: ", amz_date);
  ADD_HEADER("X-Amz-Target: ", target);
  if (c->token.len) {
    ADD_HEADER("X-Amz-Security-Token: ", c->token.data);
    r->hdr_secret = 1;
  }
  ADD_HEADER("Authorization: ", auth.data ? auth.data : "");
  if (!c->raw) {
    ADD_HEADER("Expect:", "");
    ADD_HEADER("Accept:", "");
  } else if (c->user_agent) {
    ADD_HEADER("User-Agent: ", c->user_agent);
  }
#undef ADD_HEADER
  uv_mutex_unlock(&c->lock);
  if (!signed_ok) {
    set_error(r, "SigningError", "cannot sign the request", 0);
    goto cleanup;
  }
  if (!ok) goto oom;
  long remaining = (long)(r->deadline_ms > now ? r->deadline_ms - now : 1);
  long attempt_timeout = c->attempt_timeout_ms < remaining ? c->attempt_timeout_ms : remaining;
  long connect_timeout = c->connect_timeout_ms < attempt_timeout ? c->connect_timeout_ms : attempt_timeout;
  r->client = c;
  r->curl_err[0] = '\0';

  if (c->raw) { /* the whole request in one buffer, framed here; sent on a connection */
    const char *fields[DDBS_MAX_HEADERS];
    ddbs_buf wire = DDBS_BUF_INIT;
    for (int i = 0; i < nh; i++) fields[i] = r->hdrbuf.data + offs[i];
    if (ddbs_http1_write_request(&wire, "/", fields, nh, r->body.data, r->body.len) != 0) {
      ddbs_buf_free(&wire);
      goto oom;
    }
    if (r->hdr_secret) ddbs_buf_wipe_free(&r->hdrbuf); /* it held the session token */
    else ddbs_buf_free(&r->hdrbuf);
    r->hdrbuf = wire; /* hdr_secret still tells whether to wipe it */
    r->stale_retried = 0;
    r->attempt_started_ms = now;
    r->attempt_deadline_ms = now + (unsigned long long)attempt_timeout;
    r->in_http = 1;
    c->http_active++;
    if (raw_dispatch(c, r, connect_timeout, attempt_timeout, 0) != 0) {
      r->in_http = 0;
      c->http_active--;
      set_error(r, "NetworkingError", "cannot open a connection (libcurl)", 1);
      goto cleanup;
    }
    rc = 0;
    goto cleanup;
  }

  for (int i = 0; i < nh; i++) {
    r->hnodes[i].data = r->hdrbuf.data + offs[i];
    r->hnodes[i].next = i + 1 < nh ? &r->hnodes[i + 1] : NULL;
  }

  if (c->easy_pool_len) {
    e = c->easy_pool[--c->easy_pool_len]; /* the per-client options are already set */
  } else {
    e = curl_easy_init();
    if (!e) goto oom;
    set_connection_options(c, e);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    if (c->user_agent) curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
    /* resolved once in ddbs_client_new: "" stops libcurl reading the environment per request */
    curl_easy_setopt(e, CURLOPT_PROXY, c->proxy ? c->proxy : "");
    curl_easy_setopt(e, CURLOPT_NOPROXY, c->no_proxy ? c->no_proxy : "");
  }
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body.data ? r->body.data : "");
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body.len);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, &r->hnodes[0]);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->curl_err);
  curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)r);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, attempt_timeout);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout);
  if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
    set_error(r, "NetworkingError", "cannot start the HTTP request", 1);
    curl_easy_cleanup(e);
    e = NULL;
    goto cleanup;
  }
  r->easy = e;
  r->in_http = 1;
  c->http_active++;
  rc = 0;
  goto cleanup;

oom:
  set_error(r, "OutOfMemory", "out of memory preparing the HTTP request", 0);
  if (e) curl_easy_cleanup(e);
cleanup:
  ddbs_buf_wipe_free(&auth);
  return rc;
}

static int is_throttle_code(const char *code) {
  static const char *const codes[] = {"ProvisionedThroughputExceededException",
                                      "ThrottlingException",
                                      "Throttling",
                                      "RequestLimitExceeded",
                                      "LimitExceededException",
                                      "RequestThrottledException",
                                      "TooManyRequestsException",
                                      "SlowDown",
                                      NULL};
  for (int i = 0; codes[i]; i++)
    if (strcmp(code, codes[i]) == 0) return 1;
  return 0;
}

static int is_clock_skew_code(const char *code) {
  static const char *const codes[] = {"InvalidSignatureException", "SignatureDoesNotMatch", "RequestExpired",
                                      "RequestInTheFuture", "RequestTimeTooSkewed", "AuthFailure", NULL};
  for (int i = 0; codes[i]; i++)
    if (strcmp(code, codes[i]) == 0) return 1;
  return 0;
}

static int is_transient_code(const char *code) {
  static const char *const codes[] = {"InternalServerError", "InternalFailure", "ServiceUnavailable",
                                      "TransactionInProgressException", "RequestTimeout",
                                      "RequestTimeoutException", NULL};
  for (int i = 0; codes[i]; i++)
    if (strcmp(code, codes[i]) == 0) return 1;
  return 0;
}

/* 1 when an answer's top-level object opens with "__type" (an AWS error body), whatever its status. */
static int looks_like_error(const char *body, size_t len) {
  static const char key[] = "\"__type\"";
  size_t k = sizeof key - 1, i = 0;
  while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t')) i++;
  if (i >= len || body[i] != '{') return 0;
  for (i++; i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t'); i++) {
  }
  return len - i >= k && memcmp(body + i, key, k) == 0;
}

/* Decides on a finished attempt: fills r's result or error. Returns 1 when it may be retried,
 * 2 when retryable due to throttling, 0 when final. */
static int evaluate(ddbs_client *c, ddbs_request *r, CURLcode res) {
  long status = 0;
  char msg[400];
  if (res != CURLE_OK) {
    if (r->response_too_large) {
      snprintf(msg, sizeof msg, "DynamoDB's answer to %s is larger than %zu bytes", r->op_name,
               c->max_response_bytes);
      set_error(r, "ResponseTooLarge", msg, 0);
      return 0;
    }
    int timeout = res == CURLE_OPERATION_TIMEDOUT;
    /* libcurl's own detail (which certificate check failed, which host could not be reached, ...)
     * when it gave one; it never holds credentials (the endpoint URL has none) */
    snprintf(msg, sizeof msg, "%s %s (%s)", r->op_name, timeout ? "timed out" : "failed",
             r->curl_err[0] ? r->curl_err : curl_easy_strerror(res));
    switch (res) {
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_RESOLVE_PROXY:
      case CURLE_COULDNT_CONNECT:
      case CURLE_OPERATION_TIMEDOUT:
      case CURLE_SEND_ERROR:
      case CURLE_RECV_ERROR:
      case CURLE_GOT_NOTHING:
      case CURLE_PARTIAL_FILE:
      case CURLE_WEIRD_SERVER_REPLY:
      case CURLE_HTTP2:
      case CURLE_SSL_CONNECT_ERROR:
        set_error(r, timeout ? "TimeoutError" : "NetworkingError", msg, 1);
        return 1;
      default:
        set_error(r, "NetworkingError", msg, 0);
        return 0;
    }
  }
  if (r->easy) {
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    r->http_status = status;
  } else {
    status = r->http_status; /* read by http1.c */
  }
  if (r->server_time > 0) {
    /* As the AWS SDKs: when the server's clock and ours (with the offset learnt so far) differ by
     * 5 minutes or more, sign with the server's from now on. Signatures more than 15 minutes off
     * are refused, so a host clock that drifted would otherwise fail every request. */
    long long skew = r->server_time - (long long)time(NULL);
    long long diff = skew - c->clock_offset_s;
    if (diff >= 300 || diff <= -300) {
      c->clock_offset_s = skew;
      r->skew_corrected = 1;
    }
  }
  const char *body = r->response.data ? r->response.data : "";
  size_t len = r->response.len;
  if (r->has_crc32) {
    char *end = NULL;
    unsigned long want = strtoul(r->crc32, &end, 10);
    if (end == r->crc32 || (uint32_t)want != ddbs_crc32(body, len)) {
      snprintf(msg, sizeof msg, "the CRC32 of DynamoDB's answer to %s does not match its x-amz-crc32 header",
               r->op_name);
      set_error(r, "CRC32CheckFailed", msg, 1);
      return 1;
    }
  }
  if (status >= 200 && status < 300 && !looks_like_error(body, len)) {
    char err[400] = "";
    if (r->op == DDBS_OP_GET_ITEM) {
      int found = 0;
      ddbs_buf_reset(&r->result);
      /* the local clock, as the expiry was computed with (set() in JavaScript, like koa-session's
       * own _expire): not the server's, even when signing uses the server's */
      int prc = ddbs_parse_get_item(body, len, c->ttl_key, (long long)time(NULL), &r->result, &found, err,
                                    sizeof err);
      if (prc != 0) {
        snprintf(msg, sizeof msg, "DynamoDB's answer to GetItem cannot be read: %s", err);
        set_error(r, prc == DDBS_E_NOMEM ? "OutOfMemory" : "InvalidResponse", msg, 0);
        return 0;
      }
      r->status = found ? DDBS_OK : DDBS_NOT_FOUND;
      return 0;
    }
    if (r->op == DDBS_OP_RAW) {
      ddbs_buf_reset(&r->result);
      if (ddbs_buf_append(&r->result, body, len) != 0) {
        set_error(r, "OutOfMemory", "out of memory reading the answer", 0);
        return 0;
      }
    }
    /* put/delete/raw: the body must be a JSON object */
    {
      size_t i = 0;
      while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t')) i++;
      if (i == len || body[i] != '{') {
        snprintf(msg, sizeof msg, "DynamoDB's answer to %s is not JSON (HTTP %ld)", r->op_name, status);
        set_error(r, "InvalidResponse", msg, 0);
        return 0;
      }
    }
    r->status = DDBS_OK;
    return 0;
  }
  /* an error answer */
  char code[64] = "", message[400] = "";
  if (ddbs_parse_error(body, len, code, sizeof code, message, sizeof message) != 0) {
    snprintf(code, sizeof code, "%s", status >= 500 ? "InternalServerError" : "UnknownError");
    snprintf(message, sizeof message, "DynamoDB answered %s with HTTP %ld and no readable error", r->op_name,
             status);
  }
  int throttle = is_throttle_code(code) || status == 429;
  int transient = is_transient_code(code) || status == 500 || status == 502 || status == 503 || status == 504;
  /* refused for the time it was signed at, and this answer corrected our clock: worth a retry */
  if (r->skew_corrected && is_clock_skew_code(code)) transient = 1;
  set_error(r, code, message[0] ? message : code, throttle || transient);
  return throttle ? 2 : transient ? 1 : 0;
}

/* Schedules a retry if allowed: attempts left, time left, budget left. Returns 1 when scheduled. */
static int schedule_retry(ddbs_client *c, ddbs_request *r, int kind) {
  if (r->attempts >= c->max_attempts) return 0;
  int cost = strcmp(r->err_code, "TimeoutError") == 0 ? RETRY_TIMEOUT_COST : RETRY_COST;
  if (c->retry_tokens < cost) return 0;
  unsigned long long base = kind == 2 ? RETRY_THROTTLE_BASE_MS : RETRY_BASE_MS;
  unsigned long long ceiling = base << (r->attempts - 1 < 16 ? r->attempts - 1 : 16);
  if (ceiling > RETRY_CAP_MS) ceiling = RETRY_CAP_MS;
  unsigned long long delay = next_random(c) % (ceiling + 1); /* full jitter */
  unsigned long long now = now_ms();
  if (now + delay + 1 >= r->deadline_ms) return 0;
  c->retry_tokens -= cost;
  r->retry_cost = cost;
  r->retry_at_ms = now + delay;
  return 1;
}

static void on_done(ddbs_client *c, ddbs_request *r, CURLcode res) {
  int kind = evaluate(c, r, res);
  release_easy(c, r);
  if (r->status == DDBS_FAILED && kind && schedule_retry(c, r, kind)) {
    r->status = DDBS_PENDING;
    return; /* stays in active, waiting for retry_at_ms */
  }
  if (r->status != DDBS_FAILED) {
    /* success refunds the budget a little (all of a retry's cost when it was a retry) */
    long refund = r->retry_cost ? r->retry_cost : 1;
    c->retry_tokens += refund;
    if (c->retry_tokens > RETRY_BUDGET_MAX) c->retry_tokens = RETRY_BUDGET_MAX;
  }
  finish(c, r);
}

/* ------------------------------------------------------------------ worker: requests on connections */

/* The attempt on k failed: res (and detail, libcurl-style) say how; the connection is closed. */
static void raw_fail(ddbs_client *c, ddbs_conn *k, CURLcode res, const char *detail) {
  ddbs_request *r = k->req;
  conn_close(c, k);
  if (!r) return;
  if (detail && detail[0]) snprintf(r->curl_err, sizeof r->curl_err, "%.*s", (int)sizeof r->curl_err - 1, detail);
  on_done(c, r, res);
}

/* The answer on k is complete. */
static void raw_done(ddbs_client *c, ddbs_conn *k) {
  ddbs_request *r = k->req;
  r->http_status = k->rd.status;
  k->req = NULL;
  r->conn = NULL;
  if (k->rd.keep_alive) {
    k->uses++;
    k->next_idle = c->idle;
    c->idle = k;
  } else {
    conn_close(c, k);
  }
  on_done(c, r, CURLE_OK);
}

/* Sending or receiving failed before the answer was complete. A reused connection that gave no
 * byte back was closed by the server while idle: the request moves, once, to another one. */
static void conn_io_error(ddbs_client *c, ddbs_conn *k, CURLcode res, const char *detail) {
  ddbs_request *r = k->req;
  if (r && k->uses > 0 && k->rd.received == 0 && !r->stale_retried) {
    r->stale_retried = 1;
    conn_close(c, k);
    c->idle_checked_ms = 0; /* its idle neighbours may be dead too: look before the next pass's attempts */
    long left = (long)(r->attempt_deadline_ms > now_ms() ? r->attempt_deadline_ms - now_ms() : 1);
    long connect_timeout = c->connect_timeout_ms < left ? c->connect_timeout_ms : left;
    if (raw_dispatch(c, r, connect_timeout, left, 1) == 0) return; /* a fresh connection */
    snprintf(r->curl_err, sizeof r->curl_err, "cannot open a connection (libcurl)");
    on_done(c, r, CURLE_FAILED_INIT);
    return;
  }
  raw_fail(c, k, res, detail);
}

static int http1_header(void *user, const char *line, size_t len) {
  on_header((char *)line, 1, len, user);
  return 0;
}

static int http1_body(void *user, const char *data, size_t len) {
  return on_body((char *)data, 1, len, user) == len ? 0 : 1;
}

/* curl_easy_send/recv failed with rc: libcurl's detail when it gave one. */
static void conn_curl_error(ddbs_client *c, ddbs_conn *k, CURLcode rc, CURLcode as, const char *what) {
  char detail[CURL_ERROR_SIZE + 64];
  snprintf(detail, sizeof detail, "%s: %s", what, k->curl_err[0] ? k->curl_err : curl_easy_strerror(rc));
  conn_io_error(c, k, as, detail);
}

static void conn_send(ddbs_client *c, ddbs_conn *k) {
  ddbs_request *r = k->req;
  while (k->out_off < r->hdrbuf.len) {
    size_t n = 0;
    CURLcode rc = curl_easy_send(k->easy, r->hdrbuf.data + k->out_off, r->hdrbuf.len - k->out_off, &n);
    if (rc == CURLE_AGAIN) {
      k->want = POLLOUT;
      return;
    }
    if (rc != CURLE_OK) {
      conn_curl_error(c, k, rc, CURLE_SEND_ERROR, "sending the request failed");
      return;
    }
    k->out_off += n;
  }
  k->want = POLLIN;
}

/* Reads what arrived on k (which carries a request: idle connections are looked at by
 * check_idle()). */
static void conn_recv(ddbs_client *c, ddbs_conn *k) {
  ddbs_http1_sink sink = {http1_header, http1_body, k->req};
  for (;;) {
    size_t n = 0;
    CURLcode rc = curl_easy_recv(k->easy, c->rbuf, sizeof c->rbuf, &n);
    if (rc == CURLE_AGAIN) return;
    if (rc != CURLE_OK) {
      conn_curl_error(c, k, rc, CURLE_RECV_ERROR, "receiving the answer failed");
      return;
    }
    if (n == 0) { /* the server closed the connection */
      if (ddbs_http1_eof(&k->rd) == DDBS_HTTP1_DONE) raw_done(c, k);
      else conn_io_error(c, k, k->rd.received ? CURLE_PARTIAL_FILE : CURLE_GOT_NOTHING, k->rd.error);
      return;
    }
    size_t used = 0;
    int prc = ddbs_http1_feed(&k->rd, c->rbuf, n, &used, &sink);
    if (prc == DDBS_HTTP1_MORE) continue;
    if (prc == DDBS_HTTP1_DONE) {
      if (used < n) k->rd.keep_alive = 0; /* bytes past the answer: do not trust the connection */
      raw_done(c, k);
    } else if (prc == DDBS_HTTP1_ABORTED) {
      raw_fail(c, k, CURLE_WRITE_ERROR, "the answer could not be stored");
    } else {
      raw_fail(c, k, CURLE_WEIRD_SERVER_REPLY, k->rd.error);
    }
    return;
  }
}

/* Puts r on a free connection (sending at once) or on a new one (sent once connected); fresh: a
 * new one in any case. */
static int raw_dispatch(ddbs_client *c, ddbs_request *r, long connect_timeout, long attempt_timeout, int fresh) {
  ddbs_conn *k = fresh ? NULL : c->idle;
  if (k) {
    c->idle = k->next_idle;
    k->next_idle = NULL;
  } else {
    k = conn_new(c, connect_timeout, attempt_timeout);
    if (!k) return -1;
  }
  k->req = r;
  r->conn = k;
  k->out_off = 0;
  k->want = POLLOUT;
  ddbs_http1_reader_init(&k->rd);
  if (k->connecting) {
    int running = 0;
    curl_multi_socket_action(k->multi, CURL_SOCKET_TIMEOUT, 0, &running); /* starts connecting */
  } else {
    conn_send(c, k);
  }
  return 0;
}

/* libcurl's part of a connection that is being set up: a socket event or its timer. */
static void conn_drive(ddbs_client *c, ddbs_conn *k, curl_socket_t fd, int ev) {
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
      raw_fail(c, k, res, k->curl_err);
      return;
    }
    k->connecting = 0;
    k->ncfd = 0;
    k->timer_set = 0;
    k->fd = sock;
    if (k->req) {
      conn_send(c, k);
    } else { /* its request went away while it was being set up: keep it for the next one */
      k->next_idle = c->idle;
      c->idle = k;
    }
    return;
  }
}

/* The connections' sockets for this pass's poll; returns how many. */
static size_t raw_poll_set(ddbs_client *c) {
  size_t need = 0, n = 0;
  for (ddbs_conn *k = c->conns; k; k = k->next) need += k->connecting ? (size_t)k->ncfd : k->req ? 1 : 0;
  if (need > c->wcap) {
    size_t cap = need + 16;
    struct curl_waitfd *w = realloc(c->wfds, cap * sizeof *w);
    if (w) c->wfds = w;
    ddbs_conn **m = realloc(c->wmap, cap * sizeof *m);
    if (m) c->wmap = m;
    if (!w || !m) return 0; /* out of memory: this pass waits on libcurl's own sockets only */
    c->wcap = cap;
  }
  for (ddbs_conn *k = c->conns; k; k = k->next) {
    if (k->dead) continue;
    if (k->connecting) {
      for (int i = 0; i < k->ncfd; i++) {
        c->wfds[n] = (struct curl_waitfd){k->cfd[i], k->cev[i], 0};
        c->wmap[n++] = k;
      }
    } else if (k->req) {
      c->wfds[n] = (struct curl_waitfd){k->fd, k->want, 0};
      c->wmap[n++] = k;
    }
  }
  return n;
}

/* What the poll reported for the connections, then their timers and deadlines. */
static void raw_events(ddbs_client *c, size_t n) {
  for (size_t i = 0; i < n; i++) {
    short rev = c->wfds[i].revents;
    ddbs_conn *k = c->wmap[i];
    if (!rev || k->dead) continue;
    if (k->connecting) {
      int ev = ((rev & POLLIN) ? CURL_CSELECT_IN : 0) | ((rev & POLLOUT) ? CURL_CSELECT_OUT : 0) |
               ((rev & (POLLERR | POLLHUP)) ? CURL_CSELECT_ERR : 0);
      conn_drive(c, k, c->wfds[i].fd, ev);
    } else if (k->req && c->wfds[i].fd == k->fd) {
      if (k->want == POLLOUT && (rev & (POLLOUT | POLLERR | POLLHUP))) conn_send(c, k);
      else if (rev & (POLLIN | POLLERR | POLLHUP)) conn_recv(c, k);
    }
  }
}

/* Once a second: idle connections that became readable were closed by the server (or it sent
 * something unasked): close them now rather than find out when a request is sent on one. */
static void check_idle(ddbs_client *c) {
  unsigned long long now = now_ms();
  if (!c->idle || now - c->idle_checked_ms < 1000) return;
  c->idle_checked_ms = now;
  struct pollfd pf[64];
  ddbs_conn *ks[64];
  ddbs_conn *k = c->idle;
  while (k) {
    int n = 0;
    for (; k && n < 64; k = k->next_idle) {
      pf[n] = (struct pollfd){(int)k->fd, POLLIN, 0};
      ks[n++] = k;
    }
    if (poll(pf, (nfds_t)n, 0) <= 0) continue;
    for (int i = 0; i < n; i++)
      if (pf[i].revents) conn_close(c, ks[i]); /* k (the next batch) is not among these */
  }
  conn_reap(c); /* now: no poll set refers to them */
}

/* Fires libcurl's connection timers and the attempts' deadlines; returns the ms until the next. */
static long raw_timers(ddbs_client *c) {
  unsigned long long now = now_ms(), next = 0;
  for (ddbs_conn *k = c->conns; k; k = k->next) {
    if (k->dead) continue;
    if (k->connecting && k->timer_set) {
      if (k->timer_at_ms <= now) {
        k->timer_set = 0;
        conn_drive(c, k, CURL_SOCKET_TIMEOUT, 0);
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
        raw_fail(c, k, CURLE_OPERATION_TIMEDOUT, detail);
      } else if (!next || r->attempt_deadline_ms < next) {
        next = r->attempt_deadline_ms;
      }
    }
  }
  if (!next) return -1;
  return next > now ? (long)(next - now) : 0;
}

static void admit(ddbs_client *c, ddbs_request *r) {
  r->next = c->active;
  c->active = r;
  c->active_count++;
  r->deadline_ms = now_ms() + (unsigned long long)c->total_timeout_ms;
  if (build_body(c, r) != 0) finish(c, r);
  else slot_push(c, r);
}

/* Starts waiting attempts while connection slots are free; fails those whose time ran out. */
static void pump(ddbs_client *c) {
  while (c->slot_head && c->http_active < c->max_connections) {
    ddbs_request *r = c->slot_head;
    slot_remove(c, r);
    if (now_ms() >= r->deadline_ms) {
      char msg[200];
      snprintf(msg, sizeof msg, "%s timed out waiting for a free connection (%d in use)", r->op_name,
               c->http_active);
      set_error(r, "TimeoutError", msg, 1);
      finish(c, r);
    } else if (start_attempt(c, r) != 0) {
      finish(c, r);
    }
  }
}

static void fail_all_active(ddbs_client *c) {
  while (c->active) {
    ddbs_request *r = c->active;
    set_error(r, "StoreClosed", "the store was closed before the request completed", 0);
    finish(c, r);
  }
}

static void worker_main(void *arg) {
  ddbs_client *c = arg;
  for (;;) {
    uv_mutex_lock(&c->lock);
    ddbs_request *incoming = c->queue_head;
    c->queue_head = c->queue_tail = NULL;
    int stopping = c->stopping, aborting = c->aborting;
    unsigned long long renotify_at = c->renotify_at_ms;
    int renotify = renotify_at && now_ms() >= renotify_at;
    if (renotify) c->renotify_at_ms = 0;
    uv_mutex_unlock(&c->lock);
    if (renotify && c->notify) c->notify(c->notify_user);

    while (incoming) {
      ddbs_request *r = incoming;
      incoming = r->next;
      if (aborting) {
        r->next = c->active;
        c->active = r;
        c->active_count++;
        set_error(r, "StoreClosed", "the store was closed before the request completed", 0);
        finish(c, r);
      } else {
        admit(c, r);
      }
    }
    if (aborting) fail_all_active(c);
    if ((stopping || aborting) && c->active_count == 0) {
      notify_owner(c);
      break;
    }

    int running = 0;
    curl_multi_perform(c->multi, &running);
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(c->multi, &left))) {
      if (m->msg != CURLMSG_DONE) continue;
      ddbs_request *found = NULL;
      curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&found);
      CURLcode res = m->data.result;
      if (found && found->easy == m->easy_handle) on_done(c, found, res);
      else curl_multi_remove_handle(c->multi, m->easy_handle);
    }
    if (c->raw) raw_timers(c); /* expired attempts first: their retries are scheduled below */
    notify_owner(c); /* before starting new attempts: the answers are ready now */

    /* due retries; and the earliest retry still waiting */
    unsigned long long now = now_ms(), next_due = 0;
    for (ddbs_request *r = c->active, *nx; r; r = nx) {
      nx = r->next;
      if (r->easy || !r->retry_at_ms) continue;
      if (r->retry_at_ms <= now) {
        r->retry_at_ms = 0;
        slot_push(c, r);
      } else if (!next_due || r->retry_at_ms < next_due) {
        next_due = r->retry_at_ms;
      }
    }
    if (c->raw) check_idle(c); /* before new attempts take idle connections */
    pump(c);
    long raw_next = c->raw ? raw_timers(c) : -1; /* connection set-up timers, attempt deadlines */
    notify_owner(c); /* requests that failed before any HTTP (bad input, timeouts waiting) */
    int timeout = 1000;
    if (c->slot_head) timeout = 50; /* re-check queued deadlines */
    if (renotify_at && !renotify) timeout = 1;
    if (next_due) {
      unsigned long long wait = next_due > now ? next_due - now : 0;
      if (wait < (unsigned long long)timeout) timeout = (int)wait;
    }
    if (raw_next >= 0 && raw_next < timeout) timeout = (int)raw_next;
    size_t nw = c->raw ? raw_poll_set(c) : 0; /* the connections' sockets, with libcurl's own */
    uv_mutex_lock(&c->lock);
    if (c->queue_head || c->stopping || c->aborting) timeout = 0; /* submitted meanwhile: no wait */
    c->worker_waiting = timeout > 0;
    uv_mutex_unlock(&c->lock);
    if (timeout > 0 || nw) curl_multi_poll(c->multi, nw ? c->wfds : NULL, (unsigned)nw, timeout, NULL);
    if (timeout > 0) {
      uv_mutex_lock(&c->lock);
      c->worker_waiting = 0;
      uv_mutex_unlock(&c->lock);
    }
    if (nw) raw_events(c, nw);
    conn_reap(c);
  }
}

/* ------------------------------------------------------------------ owner-thread API */

static char *env_value(const char *name) {
  const char *v = getenv(name);
  return v && *v ? dup_or_null(v) : NULL;
}

/* The proxy settings libcurl would read from the environment for this endpoint, read once (on the
 * owner thread) rather than by libcurl on every request (several getenv() calls each, and on the
 * worker thread while JavaScript may change process.env). The same precedence as libcurl:
 * https_proxy, HTTPS_PROXY (https endpoints) or http_proxy (http; never HTTP_PROXY), then
 * all_proxy, ALL_PROXY; and no_proxy, NO_PROXY. */
static void resolve_proxy(ddbs_client *c) {
  int https = c->url && strncmp(c->url, "https:", 6) == 0;
  c->proxy = https ? env_value("https_proxy") : env_value("http_proxy");
  if (!c->proxy && https) c->proxy = env_value("HTTPS_PROXY");
  if (!c->proxy) c->proxy = env_value("all_proxy");
  if (!c->proxy) c->proxy = env_value("ALL_PROXY");
  c->no_proxy = env_value("no_proxy");
  if (!c->no_proxy) c->no_proxy = env_value("NO_PROXY");
}

ddbs_client *ddbs_client_new(const ddbs_client_config *cfg, ddbs_notify_fn notify, void *user, char *err,
                             size_t errlen) {
  ddbs_client *c = calloc(1, sizeof *c);
  if (!c) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  if (uv_mutex_init(&c->lock) != 0) {
    free(c);
    snprintf(err, errlen, "cannot create a mutex");
    return NULL;
  }
  c->url = dup_or_null(cfg->url);
  c->host = dup_or_null(cfg->host);
  c->region = dup_or_null(cfg->region);
  c->table = dup_or_null(cfg->table);
  c->hash_key = dup_or_null(cfg->hash_key);
  c->ttl_key = dup_or_null(cfg->ttl_key);
  c->ca_file = dup_or_null(cfg->ca_file);
  c->user_agent = dup_or_null(cfg->user_agent);
  c->consistent_read = cfg->consistent_read;
  c->max_attempts = cfg->max_attempts > 0 ? cfg->max_attempts : 1;
  c->connect_timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 1000;
  c->attempt_timeout_ms = cfg->attempt_timeout_ms > 0 ? cfg->attempt_timeout_ms : 3000;
  c->total_timeout_ms = cfg->total_timeout_ms > 0 ? cfg->total_timeout_ms : 10000;
  c->max_response_bytes = cfg->max_response_bytes;
  c->max_connections = cfg->max_connections > 0 ? cfg->max_connections : 256;
  c->notify = notify;
  c->notify_user = user;
  c->retry_tokens = RETRY_BUDGET_MAX;
  c->rng = (uint64_t)uv_hrtime() ^ (uint64_t)(uintptr_t)c ^ 0x9E3779B97F4A7C15ULL;
  if (!c->rng) c->rng = 1;
  if (!c->url || !c->host || !c->region || !c->table || !c->hash_key || !c->ttl_key ||
      (cfg->ca_file && !c->ca_file) || (cfg->user_agent && !c->user_agent)) {
    snprintf(err, errlen, "out of memory");
    goto fail;
  }
  resolve_proxy(c);
  c->raw = c->proxy == NULL; /* through a proxy, libcurl speaks HTTP (absolute URIs, CONNECT) */
  if (c->raw) {
    c->share = curl_share_init();
    if (c->share) {
      curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
      curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    }
  }
  c->multi = curl_multi_init();
  if (!c->multi) {
    snprintf(err, errlen, "curl_multi_init failed");
    goto fail;
  }
  c->signer = ddbs_sigv4_signer_new();
  if (!c->signer) {
    snprintf(err, errlen, "cannot set up SHA-256 (OpenSSL)");
    goto fail;
  }
  curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)c->max_connections); /* keep every connection alive */
  curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
  if (uv_thread_create(&c->thread, worker_main, c) != 0) {
    snprintf(err, errlen, "cannot start the worker thread");
    goto fail;
  }
  c->thread_started = 1;
  return c;
fail:
  ddbs_client_free(c);
  return NULL;
}

int ddbs_client_set_credentials(ddbs_client *c, const char *akid, const char *secret, const char *token) {
  int rc = 0;
  uv_mutex_lock(&c->lock);
  ddbs_buf_wipe_free(&c->akid);
  ddbs_buf_wipe_free(&c->secret);
  ddbs_buf_wipe_free(&c->token);
  if (ddbs_buf_append_str(&c->akid, akid ? akid : "") != 0 ||
      ddbs_buf_append_str(&c->secret, secret ? secret : "") != 0 ||
      ddbs_buf_append_str(&c->token, token ? token : "") != 0)
    rc = -1;
  c->cred_generation++;
  uv_mutex_unlock(&c->lock);
  return rc;
}

int ddbs_client_submit(ddbs_client *c, ddbs_request *r) {
  uv_mutex_lock(&c->lock);
  if (c->stopping || c->aborting || !c->thread_started) {
    uv_mutex_unlock(&c->lock);
    return -1;
  }
  r->next = NULL;
  r->status = DDBS_PENDING;
  /* Only a request into an empty queue while the worker waits in its poll wakes it: a worker that
   * is awake looks at the queue before it waits again, and until it takes the queue a wake-up is
   * already on its way (saves a syscall per request under load). */
  int wake = c->queue_head == NULL && c->worker_waiting;
  if (c->queue_tail) c->queue_tail->next = r;
  else c->queue_head = r;
  c->queue_tail = r;
  c->outstanding++;
  uv_mutex_unlock(&c->lock);
  if (wake) curl_multi_wakeup(c->multi);
  return 0;
}

ddbs_request *ddbs_client_take_completed(ddbs_client *c) {
  uv_mutex_lock(&c->lock);
  ddbs_request *list = c->done_head;
  c->done_head = c->done_tail = NULL;
  c->notify_pending = 0;
  for (ddbs_request *r = list; r; r = r->next) c->outstanding--;
  uv_mutex_unlock(&c->lock);
  return list;
}

void ddbs_client_renotify_later(ddbs_client *c, unsigned delay_ms) {
  uv_mutex_lock(&c->lock);
  c->renotify_at_ms = now_ms() + (delay_ms ? delay_ms : 1);
  uv_mutex_unlock(&c->lock);
  curl_multi_wakeup(c->multi);
}

size_t ddbs_client_outstanding(ddbs_client *c) {
  uv_mutex_lock(&c->lock);
  size_t n = c->outstanding;
  uv_mutex_unlock(&c->lock);
  return n;
}

void ddbs_client_shutdown(ddbs_client *c, int abort) {
  if (!c) return;
  uv_mutex_lock(&c->lock);
  c->stopping = 1;
  if (abort) c->aborting = 1;
  int join = c->thread_started && !c->joined;
  if (join) c->joined = 1;
  uv_mutex_unlock(&c->lock);
  if (!join) return;
  curl_multi_wakeup(c->multi);
  uv_thread_join(&c->thread);
}

void ddbs_client_free(ddbs_client *c) {
  if (!c) return;
  ddbs_client_shutdown(c, 1);
  /* the thread is gone: everything is ours */
  while (c->active) { /* only when the thread never ran */
    ddbs_request *r = c->active;
    c->active = r->next;
    ddbs_request_free(r);
  }
  for (ddbs_request *lists[2] = {c->queue_head, c->done_head}, **l = lists; l < lists + 2; l++) {
    while (*l) {
      ddbs_request *r = *l;
      *l = r->next;
      ddbs_request_free(r);
    }
  }
  for (int i = 0; i < c->easy_pool_len; i++) curl_easy_cleanup(c->easy_pool[i]);
  while (c->conns) {
    ddbs_conn *k = c->conns;
    c->conns = k->next;
    conn_destroy(k);
  }
  if (c->share) curl_share_cleanup(c->share);
  free(c->wfds);
  free(c->wmap);
  if (c->multi) curl_multi_cleanup(c->multi);
  ddbs_buf_wipe_free(&c->akid);
  ddbs_buf_wipe_free(&c->secret);
  ddbs_buf_wipe_free(&c->token);
  ddbs_sigv4_signer_free(c->signer);
  free(c->url);
  free(c->host);
  free(c->region);
  free(c->table);
  free(c->hash_key);
  free(c->ttl_key);
  free(c->ca_file);
  free(c->user_agent);
  free(c->proxy);
  free(c->no_proxy);
  uv_mutex_destroy(&c->lock);
  free(c);
}
