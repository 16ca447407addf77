/* client.c: the worker thread, its submission queue and completion list, admission to connection
 * slots, credentials and the signing key, and retry scheduling (see core.h).
 *
 * Owner thread: ddbs_client_new, _submit, _take_completed, _set_credentials, _renotify_later,
 *               _shutdown, _free.
 * Worker thread: everything static below worker_main(): it admits requests, builds and signs them
 *               (request.c), hands them to the connections (conn.c), decides on the answers
 *               (request.c), schedules retries, and moves finished requests to the completion
 *               list, then calls notify() once per pass.
 * Shared state (queue, completion list, credentials, flags) is guarded by c->lock. */
#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "conn.h"
#include "core.h"
#include "http1.h"
#include "proxy.h"
#include "sigv4.h"

struct ddbs_client {
  /* immutable after new() */
  char *url, *host, *region, *table, *hash_key, *ttl_key, *version_key, *user_key, *created_key, *user_agent,
      *request_target;
  ddbs_buf proxy_auth; /* a forward proxy's Proxy-Authorization value (wiped) */
  ddbs_endpoint ep;    /* points into the strings above */
  int max_attempts;
  long connect_timeout_ms, attempt_timeout_ms, total_timeout_ms;
  size_t max_response_bytes;
  int max_connections;
  ddbs_notify_fn notify;
  void *notify_user;

  uv_thread_t thread;
  int thread_started;
  CURLM *multi; /* only to wait: curl_multi_poll on the connections' sockets, curl_multi_wakeup */

  /* guarded by lock */
  uv_mutex_t lock;
  ddbs_request *queue_head, *queue_tail; /* submitted, not yet seen by the worker */
  ddbs_request *done_head, *done_tail;   /* completed, not yet taken */
  int notify_pending;
  int worker_waiting; /* the worker is (about to be) blocked in its poll: a submission must wake it */
  unsigned long long renotify_at_ms; /* the owner asked to be notified again at this time */
  int stopping;                      /* 1: drain then exit */
  int aborting;                      /* 1: fail everything at once then exit */
  int joined;
  ddbs_buf akid, secret, token; /* credentials (wiped on change and free) */
  unsigned long cred_generation;

  /* worker-thread only */
  ddbs_pool *pool;
  ddbs_request *active; /* admitted and not finished; linked through ->next */
  size_t active_count;
  ddbs_request *slot_head, *slot_tail; /* waiting for a connection slot; linked through ->next_wait */
  int http_active;                     /* attempts on connections (<= max_connections) */
  int completed_unnotified;            /* complete() ran since the last notify_owner() */
  ddbs_sigv4_signer *signer; /* the signing key, its HMAC pads absorbed (wiped on change and free) */
  ddbs_blob_key *blob_keys;  /* the encryption keys (wiped on free) */
  ddbs_blob_opts blob;       /* ep.blob points here when compression or encryption is on; its zstd
                                contexts are used by the worker thread only */
  char signing_date[9];
  unsigned long signing_generation;
  int has_signing_key;
  long retry_tokens;
  uint64_t rng;
  long long clock_offset_s; /* server clock - local clock, learnt from answers' Date headers */
};

/* ------------------------------------------------------------------ small helpers */

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

/* ------------------------------------------------------------------ process-wide */

int ddbs_core_global_init(char *err, size_t errlen) {
  if (!ddbs_curl_threadsafe()) {
    snprintf(err, errlen,
             "this libcurl is not thread-safe (CURL_VERSION_THREADSAFE missing); libcurl 7.84 or newer is needed");
    return -1;
  }
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    snprintf(err, errlen, "curl_global_init failed");
    return -1;
  }
  return 0;
}

void ddbs_core_global_cleanup(void) { curl_global_cleanup(); }

int ddbs_core_sign(const char *akid, const char *secret, const char *token, const char *region, const char *amz_date,
                   const char *host, const char *target, const char *body, size_t body_len, ddbs_buf *authorization) {
  unsigned char key[32];
  char date8[9];
  int rc = -1;
  ddbs_sigv4_signer *s = ddbs_sigv4_signer_new();
  if (!s || strlen(amz_date) != 16) goto cleanup;
  memcpy(date8, amz_date, 8);
  date8[8] = '\0';
  if (ddbs_sigv4_signing_key(secret, date8, region, "dynamodb", key) != 0 || ddbs_sigv4_signer_set_key(s, key) != 0)
    goto cleanup;
  ddbs_sigv4_dynamodb r = {
      .access_key_id = akid,
      .session_token = token && token[0] ? token : NULL,
      .region = region,
      .amz_date = amz_date,
      .host = host,
      .target = target,
      .body = body,
      .body_len = body_len,
  };
  rc = ddbs_sigv4_sign_dynamodb_with(s, &r, authorization) == 0 ? 0 : -1;
cleanup:
  ddbs_secure_zero(key, sizeof key);
  ddbs_sigv4_signer_free(s);
  return rc;
}

/* ------------------------------------------------------------------ worker: completion */

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

/* r leaves its connection slot (and its connection, if it is still on one). */
static void release_slot(ddbs_client *c, ddbs_request *r) {
  if (r->conn) ddbs_pool_abandon(c->pool, r);
  if (r->in_http) {
    r->in_http = 0;
    c->http_active--;
  }
}

/* Hands r (in c->active, finished or failed) back to the owner. */
static void finish(ddbs_client *c, ddbs_request *r) {
  slot_remove(c, r);
  release_slot(c, r);
  active_remove(c, r);
  ddbs_buf_free(&r->response);
  if (r->wire_secret) ddbs_buf_wipe_free(&r->wire);
  else ddbs_buf_free(&r->wire);
  r->wire_secret = 0;
  ddbs_request_write_meta(r); /* (here, not on the JavaScript thread) */
  complete(c, r);
}

/* ------------------------------------------------------------------ worker: attempts */

/* Sets the signing key for amz_date's day when the credentials or the day changed. Under c->lock. */
static int ensure_signing_key(ddbs_client *c, const char amz_date[17]) {
  if (c->has_signing_key && c->signing_generation == c->cred_generation && memcmp(c->signing_date, amz_date, 8) == 0)
    return 0;
  unsigned char key[32];
  memcpy(c->signing_date, amz_date, 8);
  c->signing_date[8] = '\0';
  int ok = ddbs_sigv4_signing_key(c->secret.data, c->signing_date, c->region, "dynamodb", key) == 0 &&
           ddbs_sigv4_signer_set_key(c->signer, key) == 0;
  ddbs_secure_zero(key, sizeof key);
  c->has_signing_key = ok;
  c->signing_generation = c->cred_generation;
  return ok ? 0 : -1;
}

/* Signs and starts one HTTP attempt. Returns 0, or -1 with r's error set. */
static int start_attempt(ddbs_client *c, ddbs_request *r) {
  char amz_date[17];
  long long unix_now = (long long)time(NULL) + c->clock_offset_s; /* the server's clock, as learnt */
  unsigned long long now = now_ms();
  int rc;

  r->attempts++;
  if (ddbs_sigv4_format_amz_date(unix_now, amz_date) != 0) {
    ddbs_request_fail(r, DDBS_ERR_SIGNING, "cannot format the request time", 0);
    return -1;
  }
  uv_mutex_lock(&c->lock);
  if (c->akid.len == 0 || c->secret.len == 0) {
    uv_mutex_unlock(&c->lock);
    ddbs_request_fail(r, DDBS_ERR_CREDENTIALS, "no AWS credentials are set for the store", 0);
    return -1;
  }
  if (ensure_signing_key(c, amz_date) != 0) {
    uv_mutex_unlock(&c->lock);
    ddbs_request_fail(r, DDBS_ERR_SIGNING, "cannot derive the signing key", 0);
    return -1;
  }
  rc = ddbs_request_build_wire(r, &c->ep, c->signer, c->akid.data, c->token.len ? c->token.data : NULL, amz_date);
  uv_mutex_unlock(&c->lock);
  if (rc != 0) return -1;

  long remaining = (long)(r->deadline_ms > now ? r->deadline_ms - now : 1);
  long attempt_timeout = c->attempt_timeout_ms < remaining ? c->attempt_timeout_ms : remaining;
  long connect_timeout = c->connect_timeout_ms < attempt_timeout ? c->connect_timeout_ms : attempt_timeout;
  r->max_response_bytes = c->max_response_bytes;
  r->stale_retried = 0;
  r->attempt_started_ms = now;
  r->attempt_deadline_ms = now + (unsigned long long)attempt_timeout;
  r->in_http = 1;
  c->http_active++;
  if (ddbs_pool_dispatch(c->pool, r, connect_timeout, attempt_timeout) != 0) {
    r->in_http = 0;
    c->http_active--;
    ddbs_request_fail(r, DDBS_ERR_NETWORKING, "cannot open a connection (libcurl)", 1);
    return -1;
  }
  return 0;
}

/* The pool's verdict callback: an attempt ended. Returns 1 when its answer was accepted (the
 * connection may carry another exchange): a well-formed answer, success or a DynamoDB error. */
static int on_attempt_done(void *owner, ddbs_request *r, ddbs_tx tx) {
  ddbs_client *c = owner;
  ddbs_eval ev = {&c->ep, (long long)time(NULL), &c->clock_offset_s};
  ddbs_retry_class kind = ddbs_evaluate(r, tx, &ev);
  /* a DynamoDB error answer is a well-framed exchange; a refused answer is not */
  int accepted = tx == DDBS_TX_OK && !r->answer_refused;
  release_slot(c, r);
  ddbs_retry_plan plan;
  if (r->status == DDBS_FAILED &&
      ddbs_retry_decide(r, kind, c->max_attempts, &c->retry_tokens, next_random(c), now_ms(), &plan)) {
    r->status = DDBS_PENDING;
    r->retry_cost = plan.cost;
    r->retry_at_ms = plan.at_ms;
    return accepted; /* stays in active, waiting for retry_at_ms */
  }
  if (r->status != DDBS_FAILED) ddbs_retry_refund(r, &c->retry_tokens);
  finish(c, r);
  return accepted;
}

static void admit(ddbs_client *c, ddbs_request *r) {
  r->next = c->active;
  c->active = r;
  c->active_count++;
  r->deadline_ms = now_ms() + (unsigned long long)c->total_timeout_ms;
  if (ddbs_request_build_body(r, &c->ep) != 0) finish(c, r);
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
      ddbs_request_fail(r, DDBS_ERR_TIMEOUT, msg, 1);
      finish(c, r);
    } else if (start_attempt(c, r) != 0) {
      finish(c, r);
    }
  }
}

static void fail_all_active(ddbs_client *c) {
  while (c->active) {
    ddbs_request *r = c->active;
    ddbs_request_fail(r, DDBS_ERR_STORE_CLOSED, "the store was closed before the request completed", 0);
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
        ddbs_request_fail(r, DDBS_ERR_STORE_CLOSED, "the store was closed before the request completed", 0);
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

    ddbs_pool_timers(c->pool, now_ms()); /* expired attempts first: their retries are scheduled below */
    notify_owner(c);                      /* before starting new attempts: the answers are ready now */

    /* due retries; and the earliest retry still waiting */
    unsigned long long now = now_ms(), next_due = 0;
    for (ddbs_request *r = c->active, *nx; r; r = nx) {
      nx = r->next;
      if (r->in_http || !r->retry_at_ms) continue;
      if (r->retry_at_ms <= now) {
        r->retry_at_ms = 0;
        slot_push(c, r);
      } else if (!next_due || r->retry_at_ms < next_due) {
        next_due = r->retry_at_ms;
      }
    }
    ddbs_pool_check_idle(c->pool, now); /* before new attempts take idle connections */
    pump(c);
    long pool_next = ddbs_pool_timers(c->pool, now_ms()); /* set-up timers, attempt deadlines */
    notify_owner(c); /* requests that failed before any HTTP (bad input, timeouts waiting) */
    int timeout = 1000;
    if (c->slot_head) timeout = 50; /* re-check queued deadlines */
    if (renotify_at && !renotify) timeout = 1;
    if (next_due) {
      unsigned long long wait = next_due > now ? next_due - now : 0;
      if (wait < (unsigned long long)timeout) timeout = (int)wait;
    }
    if (pool_next >= 0 && pool_next < timeout) timeout = (int)pool_next;
    struct curl_waitfd *fds = NULL;
    size_t nw = ddbs_pool_poll_set(c->pool, &fds);
    uv_mutex_lock(&c->lock);
    if (c->queue_head || c->stopping || c->aborting) timeout = 0; /* submitted meanwhile: no wait */
    c->worker_waiting = timeout > 0;
    uv_mutex_unlock(&c->lock);
    if (timeout > 0 || nw) curl_multi_poll(c->multi, nw ? fds : NULL, (unsigned)nw, timeout, NULL);
    if (timeout > 0) {
      uv_mutex_lock(&c->lock);
      c->worker_waiting = 0;
      uv_mutex_unlock(&c->lock);
    }
    if (nw) ddbs_pool_events(c->pool, nw);
    ddbs_pool_reap(c->pool);
  }
}

/* ------------------------------------------------------------------ owner-thread API */

/* A value that goes into a request header: no control characters (CR, LF, NUL, ...). */
static int header_safe(const char *s) { return !s || ddbs_http1_field_value_ok(s, strlen(s)); }

/* The host part of a URL ("http://h:1/" -> "h"; "[::1]" kept with brackets). */
static void url_host(const char *url, char *out, size_t size) {
  const char *s = strstr(url, "://");
  s = s ? s + 3 : url;
  const char *at = NULL;
  size_t auth = strcspn(s, "/?#");
  for (size_t i = 0; i < auth; i++)
    if (s[i] == '@') at = s + i;
  if (at) {
    auth -= (size_t)(at + 1 - s);
    s = at + 1;
  }
  size_t n = auth;
  if (s[0] == '[') {
    const char *close = memchr(s, ']', auth);
    n = close ? (size_t)(close - s) + 1 : auth;
  } else {
    const char *colon = memchr(s, ':', auth);
    if (colon) n = (size_t)(colon - s);
  }
  if (n >= size) n = size - 1;
  memcpy(out, s, n);
  out[n] = '\0';
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
  if (!header_safe(cfg->host) || !header_safe(cfg->region) || !header_safe(cfg->user_agent) ||
      !header_safe(cfg->url) || !header_safe(cfg->proxy)) {
    snprintf(err, errlen, "the endpoint, region, user agent or proxy holds a control character");
    goto fail;
  }
  c->url = ddbs_strdup(cfg->url);
  c->host = ddbs_strdup(cfg->host);
  c->region = ddbs_strdup(cfg->region);
  c->table = ddbs_strdup(cfg->table);
  c->hash_key = ddbs_strdup(cfg->hash_key);
  c->ttl_key = ddbs_strdup(cfg->ttl_key);
  c->version_key = ddbs_strdup(cfg->version_key);
  c->user_key = ddbs_strdup(cfg->user_key);
  c->created_key = ddbs_strdup(cfg->created_key);
  c->user_agent = ddbs_strdup(cfg->user_agent);
  if (cfg->nkeys > 0) {
    if (!cfg->key_ids || !cfg->keys || cfg->current_key >= cfg->nkeys) {
      snprintf(err, errlen, "the encryption keys are incomplete");
      goto fail;
    }
    c->blob_keys = calloc(cfg->nkeys, sizeof *c->blob_keys);
    if (!c->blob_keys) {
      snprintf(err, errlen, "out of memory");
      goto fail;
    }
    c->blob.nkeys = cfg->nkeys; /* (set now: free wipes them) */
    for (size_t i = 0; i < cfg->nkeys; i++) {
      size_t idlen = cfg->key_ids[i] ? strlen(cfg->key_ids[i]) : 0;
      if (idlen == 0 || idlen > DDBS_BLOB_KEY_ID_MAX) {
        snprintf(err, errlen, "an encryption key id is empty or longer than %d bytes", DDBS_BLOB_KEY_ID_MAX);
        goto fail;
      }
      memcpy(c->blob_keys[i].id, cfg->key_ids[i], idlen + 1);
      memcpy(c->blob_keys[i].key, cfg->keys + i * DDBS_BLOB_KEY_LEN, DDBS_BLOB_KEY_LEN);
    }
  }
  if (cfg->compress || cfg->nkeys > 0) {
    c->blob.compress = cfg->compress != 0;
    /* an encrypted session is a blob whatever its size: compression then applies to every
     * session it makes shorter (the threshold only keeps small sessions readable maps) */
    c->blob.threshold = cfg->nkeys > 0 ? 0 : cfg->compress_threshold;
    c->blob.level = cfg->compress_level;
    c->blob.keys = c->blob_keys;
    c->blob.current = cfg->current_key;
    c->blob.ctx = ddbs_blob_ctx_new();
    if (!c->blob.ctx) {
      snprintf(err, errlen, "out of memory");
      goto fail;
    }
  }
  c->max_attempts = cfg->max_attempts > 0 ? cfg->max_attempts : 1;
  c->connect_timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 1000;
  c->attempt_timeout_ms = cfg->attempt_timeout_ms > 0 ? cfg->attempt_timeout_ms : 3000;
  c->total_timeout_ms = cfg->total_timeout_ms > 0 ? cfg->total_timeout_ms : 10000;
  c->max_response_bytes = cfg->max_response_bytes;
  c->max_connections = cfg->max_connections > 0 ? cfg->max_connections : 256;
  c->notify = notify;
  c->notify_user = user;
  c->retry_tokens = DDBS_RETRY_BUDGET_MAX;
  c->rng = (uint64_t)uv_hrtime() ^ (uint64_t)(uintptr_t)c ^ 0x9E3779B97F4A7C15ULL;
  if (!c->rng) c->rng = 1;
  if (!c->url || !c->host || !c->region || !c->table || !c->hash_key || !c->ttl_key ||
      (cfg->user_agent && !c->user_agent) || (cfg->version_key && !c->version_key) ||
      (cfg->user_key && !c->user_key) || (cfg->created_key && !c->created_key)) {
    snprintf(err, errlen, "out of memory");
    goto fail;
  }
  /* the proxy: none when the endpoint's host is in no_proxy (libcurl's rules) */
  char host[256];
  url_host(c->url, host, sizeof host);
  const char *proxy = cfg->proxy && cfg->proxy[0] && !ddbs_noproxy_match(cfg->no_proxy, host) ? cfg->proxy : NULL;
  ddbs_pool_config pc = {c->url, cfg->ca_file, proxy, on_attempt_done, c};
  c->pool = ddbs_pool_new(&pc);
  if (!c->pool) {
    snprintf(err, errlen, "out of memory");
    goto fail;
  }
  if (ddbs_pool_forward_proxy(c->pool)) {
    /* a forward proxy gets the absolute URL, and the proxy's credentials (libcurl sends nothing) */
    size_t n = strlen(c->url);
    c->request_target = malloc(n + 2);
    if (!c->request_target) {
      snprintf(err, errlen, "out of memory");
      goto fail;
    }
    memcpy(c->request_target, c->url, n + 1);
    const char *authority = strstr(c->url, "://");
    if (!strchr(authority ? authority + 3 : c->url, '/')) strcat(c->request_target, "/");
    if (ddbs_proxy_basic_auth(proxy, &c->proxy_auth) < 0) {
      snprintf(err, errlen, "the proxy URL's user name or password is malformed");
      goto fail;
    }
  }
  c->ep = (ddbs_endpoint){
      .host = c->host,
      .region = c->region,
      .request_target = c->request_target ? c->request_target : "/",
      .proxy_auth = c->proxy_auth.len ? c->proxy_auth.data : NULL,
      .user_agent = c->user_agent,
      .table = c->table,
      .hash_key = c->hash_key,
      .ttl_key = c->ttl_key,
      .version_key = c->version_key,
      .user_key = c->user_key,
      .created_key = c->created_key,
      .consistent_read = cfg->consistent_read,
      .report_capacity = cfg->report_capacity,
      .blob = c->blob.ctx ? &c->blob : NULL,
  };
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

static int credential_ok(const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; p && *p; p++)
    if (*p < 0x20 || *p == 0x7f) return 0;
  return 1;
}

int ddbs_client_set_credentials(ddbs_client *c, const char *akid, const char *secret, const char *token) {
  int rc = 0;
  if (!credential_ok(akid) || !credential_ok(secret) || !credential_ok(token)) return -1;
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
   * is awake looks at the queue before it waits again (saves a syscall per request under load). */
  int wake = c->queue_head == NULL && c->worker_waiting;
  if (c->queue_tail) c->queue_tail->next = r;
  else c->queue_head = r;
  c->queue_tail = r;
  uv_mutex_unlock(&c->lock);
  if (wake) curl_multi_wakeup(c->multi);
  return 0;
}

ddbs_request *ddbs_client_take_completed(ddbs_client *c) {
  uv_mutex_lock(&c->lock);
  ddbs_request *list = c->done_head;
  c->done_head = c->done_tail = NULL;
  c->notify_pending = 0;
  uv_mutex_unlock(&c->lock);
  return list;
}

void ddbs_client_renotify_later(ddbs_client *c, unsigned delay_ms) {
  uv_mutex_lock(&c->lock);
  c->renotify_at_ms = now_ms() + (delay_ms ? delay_ms : 1);
  uv_mutex_unlock(&c->lock);
  curl_multi_wakeup(c->multi);
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
  ddbs_pool_free(c->pool);
  if (c->multi) curl_multi_cleanup(c->multi);
  ddbs_buf_wipe_free(&c->akid);
  ddbs_buf_wipe_free(&c->secret);
  ddbs_buf_wipe_free(&c->token);
  ddbs_buf_wipe_free(&c->proxy_auth);
  ddbs_sigv4_signer_free(c->signer);
  if (c->blob_keys) {
    ddbs_blob_keys_wipe(c->blob_keys, c->blob.nkeys);
    free(c->blob_keys);
  }
  ddbs_blob_ctx_free(c->blob.ctx);
  free(c->url);
  free(c->host);
  free(c->region);
  free(c->table);
  free(c->hash_key);
  free(c->ttl_key);
  free(c->version_key);
  free(c->user_key);
  free(c->created_key);
  free(c->user_agent);
  free(c->request_target);
  uv_mutex_destroy(&c->lock);
  free(c);
}
