/* client.h: the worker thread that talks to DynamoDB.
 *
 * A ddbs_client owns one thread (created with libuv's uv_thread_create), one curl multi handle with
 * its keep-alive connections, a submission queue (mutex + curl_multi_wakeup) and a completion list.
 * The owner thread (the JavaScript thread) creates requests, submits them, and takes completed ones
 * back after the notify callback fired; everything else (building bodies, signing, HTTP, retries,
 * parsing answers) happens on the worker thread. Nothing here knows about Node.
 *
 * Threads: ddbs_client_new/submit/take_completed/set_credentials/shutdown/free are called on the
 * owner thread; notify() is called on the worker thread. */
#ifndef DDBS_CLIENT_H
#define DDBS_CLIENT_H

#include <curl/curl.h>
#include <stddef.h>

#include "buf.h"

typedef struct ddbs_client ddbs_client;

#define DDBS_MAX_HEADERS 8

enum ddbs_op {
  DDBS_OP_GET_ITEM = 1,
  DDBS_OP_PUT_ITEM,
  DDBS_OP_DELETE_ITEM,
  DDBS_OP_RAW /* a control-plane operation whose body was built by ddb_control.c */
};

enum ddbs_status {
  DDBS_PENDING = 0,
  DDBS_OK = 1,        /* success; result holds the session JSON (get), or the answer body (raw) */
  DDBS_NOT_FOUND = 2, /* get: no item, or an expired one */
  DDBS_FAILED = 3     /* err_* fields describe the failure */
};

typedef struct ddbs_request ddbs_request;

struct ddbs_request {
  /* --- input (owned by the request) --- */
  int op;
  char op_name[32]; /* "GetItem", "CreateTable", ... */
  char *key;
  size_t key_len;
  char *session; /* put: session JSON text */
  size_t session_len;
  long long expires; /* put: epoch seconds; < 0 none */
  ddbs_buf body;     /* raw: the body; others: built on the worker thread */
  void *user;        /* the owner's pointer, untouched */

  /* --- result (valid once taken back from ddbs_client_take_completed) --- */
  int status;
  ddbs_buf result;
  char err_code[64];     /* AWS error name, or a local one (NetworkingError, TimeoutError, ...) */
  char err_message[512];
  char request_id[96];
  long http_status;      /* 0 when no HTTP answer */
  int attempts;
  int retryable;         /* 1: the last failure was of a kind that retrying could fix */

  /* --- worker-thread state (private) --- */
  ddbs_client *client;
  ddbs_request *next;
  ddbs_request *next_wait;
  int in_slot_queue;
  void *easy;                                 /* libcurl HTTP (through a proxy) */
  void *conn;                                 /* else: the connection framing it (http1.c) */
  int in_http;                                /* counted in the client's http_active */
  int stale_retried;                          /* this attempt moved off a reused, dead connection */
  unsigned long long attempt_started_ms;      /* on a connection: when this attempt began */
  unsigned long long attempt_deadline_ms;     /* and when it times out */
  ddbs_buf hdrbuf;                            /* curl: the attempt's header lines, NUL-separated;
                                                 connection: the whole request (head and body) */
  int hdr_secret;                             /* hdrbuf has held a session token: wiped on free */
  struct curl_slist hnodes[DDBS_MAX_HEADERS]; /* list nodes pointing into hdrbuf */
  ddbs_buf response;
  char crc32[16];
  int has_crc32;
  int response_too_large;
  char curl_err[CURL_ERROR_SIZE]; /* libcurl's detailed message for a failed attempt */
  long long server_time;          /* the answer's Date header, epoch seconds (0: none) */
  int skew_corrected;             /* this answer moved the client's clock offset */
  unsigned long long deadline_ms;  /* whole operation */
  unsigned long long retry_at_ms;  /* when waiting for a retry */
  int retry_cost;                  /* tokens taken from the retry budget for the pending retry */
};

typedef void (*ddbs_notify_fn)(void *user);

typedef struct ddbs_client_config {
  const char *url;  /* endpoint, e.g. "https://dynamodb.us-east-1.amazonaws.com" */
  const char *host; /* the Host header value exactly as sent (and signed) */
  const char *region;
  const char *table;
  const char *hash_key;
  const char *ttl_key;
  int consistent_read;
  int max_attempts;          /* >= 1 */
  long connect_timeout_ms;   /* per connection attempt */
  long attempt_timeout_ms;   /* per HTTP attempt */
  long total_timeout_ms;     /* whole operation, retries included */
  const char *ca_file;       /* NULL: the system's CA store */
  const char *user_agent;
  size_t max_response_bytes; /* larger answers fail */
  int max_connections;       /* HTTP attempts at once; more wait for a free slot (default 256) */
} ddbs_client_config;

/* Creates the client and starts its thread. Returns NULL and fills err on failure. */
ddbs_client *ddbs_client_new(const ddbs_client_config *cfg, ddbs_notify_fn notify, void *user, char *err,
                             size_t errlen);

/* Replaces the credentials used for requests signed from now on. Copies (and later wipes) them. */
int ddbs_client_set_credentials(ddbs_client *c, const char *access_key_id, const char *secret_access_key,
                                const char *session_token);

/* An empty request of op whose input fields the caller fills with malloc'd memory (freed by
 * ddbs_request_free). NULL on allocation failure. */
ddbs_request *ddbs_request_new(int op, const char *op_name);
void ddbs_request_free(ddbs_request *r);

/* Hands r to the worker thread. Returns 0, or -1 when the client is shut down (r stays the caller's). */
int ddbs_client_submit(ddbs_client *c, ddbs_request *r);

/* Takes every completed request (a list linked through ->next, oldest first); NULL when none. */
ddbs_request *ddbs_client_take_completed(ddbs_client *c);

/* The owner is busy and leaves completions for later: notify() is called again (from the worker
 * thread) after delay_ms, without the owner having taken anything. Completions arriving meanwhile
 * do not notify (the pending notification stands). */
void ddbs_client_renotify_later(ddbs_client *c, unsigned delay_ms);

/* Number of requests submitted and not yet taken back. */
size_t ddbs_client_outstanding(ddbs_client *c);

/* Stops the thread and joins it. abort = 0: waits until every submitted request has completed;
 * abort = 1: fails what is in flight with "StoreClosed" at once. Idempotent. Completed requests
 * stay available to ddbs_client_take_completed. */
void ddbs_client_shutdown(ddbs_client *c, int abort);

/* Shuts down (aborting) if needed, frees every request still held, wipes the credentials. */
void ddbs_client_free(ddbs_client *c);

/* The libcurl SSL backend's version string (e.g. "OpenSSL/3.0.19"), for the OpenSSL match check. */
const char *ddbs_curl_ssl_version(void);
const char *ddbs_curl_version(void);
/* 1 when libcurl reports CURL_VERSION_THREADSAFE. */
int ddbs_curl_threadsafe(void);

#endif
