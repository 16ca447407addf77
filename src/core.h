/* core.h: the C core as the binding (addon.cc) sees it; the one header the binding includes. No
 * curl, libuv or jansson types.
 *
 * A ddbs_client owns one worker thread, its connections (conn.c), a submission queue and a
 * completion list (client.c). The owner thread (JavaScript's) creates requests (request.h),
 * submits them, and takes completed ones back after notify() fired; building bodies, signing,
 * HTTP, retries and evaluating answers happen on the worker thread.
 *
 * Threads: everything here is called on the owner thread, except notify(), which the worker calls. */
#ifndef DDBS_CORE_H
#define DDBS_CORE_H

#include <stddef.h>

#include "buf.h"
#include "errors.h"
#include "request.h"

typedef struct ddbs_client ddbs_client;

typedef void (*ddbs_notify_fn)(void *user);

typedef struct ddbs_client_config {
  const char *url;  /* endpoint, e.g. "https://dynamodb.us-east-1.amazonaws.com" */
  const char *host; /* the Host header value exactly as sent (and signed) */
  const char *region;
  const char *table;
  const char *hash_key;
  const char *ttl_key;
  const char *version_key;   /* the version attribute (conditional writes); NULL: none */
  const char *user_key;      /* the user attribute (users option); NULL: none */
  const char *created_key;   /* the creation time attribute; NULL: none */
  int report_capacity;       /* ask every data-plane request for ReturnConsumedCapacity TOTAL */
  /* stored blobs (blob.h): compression, and encryption with nkeys keys (copied, wiped on free) */
  int compress;
  size_t compress_threshold;
  int compress_level;
  const char *const *key_ids;     /* nkeys ids */
  const unsigned char *keys;      /* nkeys * 32 bytes */
  size_t nkeys;
  size_t current_key;
  int consistent_read;
  int max_attempts;          /* 1 .. 100 */
  long connect_timeout_ms;   /* per connection attempt */
  long attempt_timeout_ms;   /* per HTTP attempt */
  long total_timeout_ms;     /* whole operation, retries included */
  const char *ca_file;       /* NULL: the system's CA store */
  const char *user_agent;
  const char *proxy;         /* NULL: none */
  const char *no_proxy;      /* NULL: none */
  size_t max_response_bytes; /* larger answers fail */
  int max_connections;       /* HTTP attempts at once; more wait for a free slot */
} ddbs_client_config;

/* Process-wide set-up, once per environment that loads the addon (refcounted by libcurl):
 * checks libcurl's thread safety and initialises it. 0, or -1 with err. */
int ddbs_core_global_init(char *err, size_t errlen);
void ddbs_core_global_cleanup(void);

/* Creates the client and starts its thread. Returns NULL and fills err on failure (a header value
 * holding CR, LF or NUL is refused here). */
ddbs_client *ddbs_client_new(const ddbs_client_config *cfg, ddbs_notify_fn notify, void *user, char *err,
                             size_t errlen);

/* Replaces the credentials used for requests signed from now on. Copies (and later wipes) them.
 * -1 (nothing changed) when a value holds a control character or memory runs out. */
int ddbs_client_set_credentials(ddbs_client *c, const char *access_key_id, const char *secret_access_key,
                                const char *session_token);

/* Hands r to the worker thread. Returns 0, or -1 when the client is shut down (r stays the caller's). */
int ddbs_client_submit(ddbs_client *c, ddbs_request *r);

/* Takes every completed request (a list linked through ->next, oldest first); NULL when none. */
ddbs_request *ddbs_client_take_completed(ddbs_client *c);

/* The owner is busy and leaves completions for later: notify() is called again (from the worker
 * thread) after delay_ms, without the owner having taken anything. */
void ddbs_client_renotify_later(ddbs_client *c, unsigned delay_ms);

/* Stops the thread and joins it. abort = 0: waits until every submitted request has completed;
 * abort = 1: fails what is in flight with StoreClosed at once. Idempotent. Completed requests stay
 * available to ddbs_client_take_completed. */
void ddbs_client_shutdown(ddbs_client *c, int abort);

/* Shuts down (aborting) if needed, frees every request still held, wipes the credentials. */
void ddbs_client_free(ddbs_client *c);

/* Library versions, for the OpenSSL match check. */
const char *ddbs_curl_ssl_version(void);
const char *ddbs_curl_version(void);
int ddbs_curl_threadsafe(void); /* 1 when libcurl reports CURL_VERSION_THREADSAFE */

/* The Authorization value the store would send (for cross-checks from JavaScript): signs with the
 * production signer. 0, or -1 (a bad value). */
int ddbs_core_sign(const char *access_key_id, const char *secret, const char *session_token, const char *region,
                   const char *amz_date, const char *host, const char *target, const char *body, size_t body_len,
                   ddbs_buf *authorization);

#endif
