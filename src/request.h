/* request.h: one DynamoDB operation, from its input to its result, and the pure decisions about
 * it: building the signed HTTP request, reading the answer's header fields, evaluating the answer
 * into a result or an error with its retry class, planning a retry, correcting for clock skew.
 * No curl, no libuv, no I/O, no clock: the time and the credentials are passed in.
 *
 * Threads: the owner (JavaScript) thread fills a request's input and reads its result once the
 * worker gave it back; in between the worker thread (client.c, conn.c) owns it. The functions
 * here run on the worker thread, or in the C unit tests. */
#ifndef DDBS_REQUEST_H
#define DDBS_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "blob.h"
#include "buf.h"
#include "errors.h"
#include "sigv4.h"

enum ddbs_op {
  DDBS_OP_GET_ITEM = 1,
  DDBS_OP_PUT_ITEM,
  DDBS_OP_DELETE_ITEM,
  DDBS_OP_RAW, /* any other operation: the body is given as JSON text (the generic signed call) */
  DDBS_OP_UPDATE_ITEM
};

enum ddbs_status {
  DDBS_PENDING = 0,
  DDBS_OK = 1,        /* success; result holds the session JSON (get), or the answer body (raw) */
  DDBS_NOT_FOUND = 2, /* get: no item, or an expired one */
  DDBS_FAILED = 3     /* err_* fields describe the failure */
};

/* What happened to one HTTP attempt on the wire (conn.c decides; evaluate reads it). */
typedef enum ddbs_tx {
  DDBS_TX_OK = 0,         /* a complete, well-framed answer was read */
  DDBS_TX_CONNECT_FAILED, /* DNS, TCP, proxy or TLS handshake: nothing was sent */
  DDBS_TX_TLS_REFUSED,    /* the server's certificate was refused: retrying cannot help */
  DDBS_TX_TIMEOUT,        /* the attempt's time ran out */
  DDBS_TX_SEND_FAILED,    /* the connection failed while the request was sent */
  DDBS_TX_RECV_FAILED,    /* the connection failed while the answer was read */
  DDBS_TX_NO_ANSWER,      /* the server closed the connection without answering */
  DDBS_TX_CUT_SHORT,      /* the server closed the connection in the middle of its answer */
  DDBS_TX_MALFORMED,      /* the answer's framing is wrong or ambiguous */
  DDBS_TX_TOO_LARGE,      /* the answer is larger than the cap */
  DDBS_TX_NO_MEMORY,
  DDBS_TX_FAILED          /* anything else (final) */
} ddbs_tx;

/* How a failed attempt may be retried. */
typedef enum ddbs_retry_class {
  DDBS_RETRY_NONE = 0,
  DDBS_RETRY_TRANSIENT = 1, /* network, 5xx, clock-skew refusals after a correction */
  DDBS_RETRY_THROTTLE = 2   /* throttling: a longer backoff */
} ddbs_retry_class;

typedef struct ddbs_request ddbs_request;

struct ddbs_request {
  /* --- input (owned by the request) --- */
  int op;
  char op_name[32]; /* "GetItem", "CreateTable", ... */
  char *key;
  size_t key_len;
  char *session; /* put: session JSON text */
  size_t session_len;
  long long expires; /* put, update: epoch seconds; < 0 none */
  /* conditional writes (put, update) */
  char *set_json; /* update: a JSON object of the session fields to set, or NULL */
  size_t set_len;
  char *remove_json; /* update: a JSON array of the session fields to remove, or NULL */
  size_t remove_len;
  int versioned;            /* put: write new_version; update: version + 1 */
  long long new_version;
  int require_exists;       /* the item must exist */
  long long expect_version; /* -2 no version condition; -1 the item must have none; >= 0 equal */
  /* the top-level attributes a write keeps (with the endpoint's user_key / created_key) */
  int user_mode;            /* 0 leave the user attribute alone; 1 set it to user; 2 remove it */
  char *user_id;            /* user_mode 1: the user id, UTF-8 */
  size_t user_id_len;
  long long created_at;     /* epoch seconds written once (if_not_exists); < 0: none */
  ddbs_buf body;     /* raw: the body; others: built on the worker thread */
  void *user;        /* the owner's pointer, untouched */

  /* --- result (valid once taken back from the client) --- */
  int status;
  /* DDBS_OK / DDBS_NOT_FOUND: DDBS_RESULT_META bytes (spaces) the owner may fill, then for a get
   * the session JSON, for a raw call the answer body, for the others nothing */
  ddbs_buf result;
  long long version;  /* get: the item's version (-1: none) */
  int stored_blob;    /* get: the session was stored as a blob (compressed or encrypted) */
  int unreadable;     /* get: a stored blob that does not decode (DDBS_NOT_FOUND) */
  double capacity;    /* capacity units the answers reported (ReturnConsumedCapacity), all attempts */
  int throttles;      /* attempts refused by throttling */
  char err_code[64]; /* a DynamoDB error name, or a local one (errors.h) */
  char err_message[512];
  char request_id[96];
  long http_status; /* 0 when no HTTP answer */
  int attempts;
  int retryable; /* 1: the last failure was of a kind that retrying could fix */

  /* --- worker-thread state (private) --- */
  ddbs_request *next;
  ddbs_request *next_wait;
  int in_slot_queue;
  void *conn;                            /* the connection carrying the attempt (conn.c) */
  int in_http;                           /* counted in the client's http_active */
  int stale_retried;                     /* this attempt moved off a reused, dead connection */
  unsigned long long attempt_started_ms; /* when this attempt began */
  unsigned long long attempt_deadline_ms;
  ddbs_buf wire;  /* the whole HTTP request, head and body */
  int wire_secret; /* wire has held a session token: wiped when freed */
  /* the answer */
  ddbs_buf response;
  size_t max_response_bytes;
  int response_too_large;
  char crc32[16];
  int has_crc32;
  long long server_time; /* the answer's Date header, epoch seconds (0: none) */
  char tx_detail[256];   /* how the transport failed (libcurl's words, or the reader's) */
  int skew_corrected;
  int answer_refused; /* the verdict refused the answer itself (not JSON, another key's item, a CRC
                         mismatch): the connection it came on cannot be trusted again */
  unsigned long long deadline_ms; /* whole operation */
  unsigned long long retry_at_ms; /* when waiting for a retry */
  int retry_cost;                 /* tokens taken from the retry budget for the pending retry */
};

/* An empty request of op whose input fields the caller fills with malloc'd memory (freed by
 * ddbs_request_free). NULL on allocation failure. */
ddbs_request *ddbs_request_new(int op, const char *op_name);
void ddbs_request_free(ddbs_request *r);

/* Marks r failed with a local code, or with a DynamoDB error name (aws_code). */
void ddbs_request_fail(ddbs_request *r, ddbs_error code, const char *message, int retryable);
void ddbs_request_fail_aws(ddbs_request *r, const char *aws_code, const char *message, int retryable);

/* ---- building */

typedef struct ddbs_endpoint {
  const char *host;           /* the Host header, exactly as signed */
  const char *region;
  const char *request_target; /* "/" (origin form) or "http://host/" (through a forward proxy) */
  const char *proxy_auth;     /* a Proxy-Authorization value for a forward proxy, or NULL */
  const char *user_agent;     /* or NULL */
  const char *table, *hash_key, *ttl_key, *version_key;
  const char *user_key, *created_key; /* the user and creation attributes (NULL: none) */
  int consistent_read;
  int report_capacity;                /* ask for ReturnConsumedCapacity TOTAL */
  const ddbs_blob_opts *blob;         /* compression / encryption of stored sessions; NULL: none.
                                         Its ctx belongs to the thread that builds and evaluates. */
} ddbs_endpoint;

#define DDBS_RESULT_META 48 /* bytes reserved at the start of a result (see ddbs_request.result) */

/* The operation's body (GetItem/PutItem/DeleteItem from the key and session; raw: as given).
 * 0, or -1 with r failed (SessionTooLarge, InvalidSession, OutOfMemory). */
int ddbs_request_build_body(ddbs_request *r, const ddbs_endpoint *ep);

/* The whole HTTP request into r->wire, signed with signer (its key already set for amz_date's day
 * and region) as access_key_id (and session_token, or NULL). Every header value is checked: one
 * holding CR, LF or NUL fails the request (SigningError) and nothing is written.
 * 0, or -1 with r failed. */
int ddbs_request_build_wire(ddbs_request *r, const ddbs_endpoint *ep, ddbs_sigv4_signer *signer,
                            const char *access_key_id, const char *session_token, const char amz_date[17]);

/* Starts reading a new answer: clears what the previous attempt read. */
void ddbs_request_reset_answer(ddbs_request *r);

/* A header line of the answer (the status line first): keeps x-amzn-RequestId, Date and
 * x-amz-crc32. date_cache may be NULL; else it remembers the last Date text and its value (it
 * changes once a second), so that most answers need no parsing. */
typedef struct ddbs_date_cache {
  char text[40];
  size_t len;
  long long value;
} ddbs_date_cache;
void ddbs_request_answer_header(ddbs_request *r, const char *line, size_t len, ddbs_date_cache *date_cache);

/* A piece of the answer's body. 0, or -1 when it would exceed r->max_response_bytes (then
 * response_too_large is set) or memory ran out. */
int ddbs_request_answer_body(ddbs_request *r, const char *data, size_t len);

/* ---- evaluating */

typedef struct ddbs_eval {
  const ddbs_endpoint *ep;
  long long local_now;        /* epoch seconds, the local clock (expiry is computed with it) */
  long long *clock_offset_s;  /* server clock - local clock, learnt from Date headers (updated) */
} ddbs_eval;

/* Decides on a finished attempt: tx says how the wire part ended (tx_detail has the words);
 * http_status, the answer fields and body were filled while reading. Fills r's result (status
 * DDBS_OK / DDBS_NOT_FOUND) or error (DDBS_FAILED) and returns how it may be retried.
 * Every 2xx answer must be one JSON object; a GetItem answer's item must carry the key asked for. */
ddbs_retry_class ddbs_evaluate(ddbs_request *r, ddbs_tx tx, const ddbs_eval *ev);

/* Fills the reserved field at the start of a successful request's result (DDBS_RESULT_META bytes,
 * padded with spaces): "<attempts> <throttles> <http status> <capacity> <version> <flags>", flags
 * "f" found, "b" stored as a blob, "u" a blob that does not decode, "-" none of them (lib/stats.js
 * reads it). Nothing for a failed request. */
void ddbs_request_write_meta(ddbs_request *r);

/* ---- retrying (the AWS SDKs' standard mode: capped exponential backoff with full jitter, and a
 * retry budget that failures spend and successes refill) */

#define DDBS_RETRY_BUDGET_MAX 500
typedef struct ddbs_retry_plan {
  unsigned long long at_ms; /* when to start the next attempt */
  int cost;                 /* tokens taken from the budget */
} ddbs_retry_plan;

/* 1 (and *plan, *budget reduced) when r may be tried again: attempts left, time left before
 * r->deadline_ms, budget left. random is any 64-bit random value (jitter). */
int ddbs_retry_decide(const ddbs_request *r, ddbs_retry_class kind, int max_attempts, long *budget,
                      uint64_t random, unsigned long long now_ms, ddbs_retry_plan *plan);
/* A success refunds the budget: all of a retry's cost, or one token. */
void ddbs_retry_refund(const ddbs_request *r, long *budget);

/* As the AWS SDKs: when the server's clock (server_time, from a Date header) and ours plus the
 * offset learnt so far differ by 5 minutes or more, the offset becomes the server's. Returns 1 when
 * it changed. */
int ddbs_clock_skew_update(long long *offset_s, long long server_time, long long local_now);

#endif
