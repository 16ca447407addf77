/* request.c: one DynamoDB operation's pure decisions (see request.h): its body, its signed wire
 * form, the answer's header fields, the verdict on an answer, retries and clock skew.
 * No curl, no libuv, no I/O, no clock (times are passed in). Thread: the worker thread, or tests. */
#include "request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "crc32.h"
#include "ddb_json.h"
#include "http1.h"

#define TARGET_PREFIX "DynamoDB_20120810."
#define RETRY_BASE_MS 25           /* transient errors */
#define RETRY_THROTTLE_BASE_MS 100 /* throttling errors: a longer base */
#define RETRY_CAP_MS 2000
#define RETRY_COST 5
#define RETRY_TIMEOUT_COST 10
#define MAX_FIELDS 8
static const char META_SPACES[DDBS_RESULT_META + 1] = "                                                ";

enum { DECODE_OK = 0, DECODE_UNREADABLE = 1, DECODE_NOMEM = 2 };

/* A stored blob in r->result (the JSON string of its base64 text, after the meta field) -> the
 * session JSON, in place of it. Without compression and encryption configured, a blob is still
 * read (turning the options off is safe): a store without keys reads what is not encrypted. */
static int decode_blob(ddbs_request *r, const ddbs_endpoint *ep) {
  static const ddbs_blob_opts none = {0, 0, 0, NULL, 0, 0, NULL, NULL};
  const ddbs_blob_opts *o = ep->blob ? ep->blob : &none;
  ddbs_buf raw = DDBS_BUF_INIT, json = DDBS_BUF_INIT;
  char err[200];
  const char *t = r->result.data + DDBS_RESULT_META;
  size_t n = r->result.len - DDBS_RESULT_META;
  int rc = DECODE_UNREADABLE;
  /* the converter wrote the B value as a JSON string: base64 needs no escapes */
  if (n < 2 || t[0] != '"' || t[n - 1] != '"') goto cleanup;
  int b = ddbs_base64_decode(t + 1, n - 2, &raw, err, sizeof err);
  if (b == DDBS_BASE64_E_NOMEM) rc = DECODE_NOMEM;
  if (b != 0) goto cleanup;
  if (ddbs_buf_append(&json, r->result.data, DDBS_RESULT_META) != 0) {
    rc = DECODE_NOMEM;
    goto cleanup;
  }
  int d = ddbs_blob_decode(o, ep->table, r->key, r->key_len, (const unsigned char *)raw.data, raw.len, &json, err,
                           sizeof err);
  if (d == DDBS_BLOB_E_NOMEM) rc = DECODE_NOMEM;
  if (d != 0) goto cleanup;
  ddbs_buf_free(&r->result); /* (ciphertext or compressed text: nothing secret) */
  r->result = json;
  json = (ddbs_buf)DDBS_BUF_INIT;
  rc = DECODE_OK;
cleanup:
  ddbs_buf_wipe_free(&raw);
  ddbs_buf_wipe_free(&json);
  return rc;
}

/* The whole session: a blob (compressed, encrypted) when the endpoint's options make it one, else
 * the map. 0 or a DDBS_E_* code (err says why). */
static int build_whole(ddbs_request *r, const ddbs_endpoint *ep, const ddbs_write_cond *cond, char *err,
                       size_t errlen) {
  if (!ep->blob)
    return ddbs_body_write_session(ep->table, ep->hash_key, r->key, r->key_len, ep->ttl_key, r->expires, r->session,
                                   r->session_len, NULL, 0, 0, cond, &r->body, err, errlen);
  ddbs_buf raw = DDBS_BUF_INIT, b64 = DDBS_BUF_INIT;
  int is_blob = 0, rc;
  int e = ddbs_blob_encode(ep->blob, ep->table, r->key, r->key_len, r->session, r->session_len, &raw, &is_blob, err,
                           errlen);
  if (e == DDBS_BLOB_E_NOMEM) {
    rc = DDBS_E_NOMEM;
  } else if (e == DDBS_BLOB_E_INPUT) {
    rc = DDBS_E_INPUT;
  } else if (e != 0) {
    rc = DDBS_E_INPUT; /* (the cipher or the compressor failed: nothing was written) */
  } else if (!is_blob) {
    rc = ddbs_body_write_session(ep->table, ep->hash_key, r->key, r->key_len, ep->ttl_key, r->expires, r->session,
                                 r->session_len, NULL, 0, 0, cond, &r->body, err, errlen);
  } else if (ddbs_base64_encode((const unsigned char *)raw.data, raw.len, &b64) != 0) {
    snprintf(err, errlen, "out of memory");
    rc = DDBS_E_NOMEM;
  } else {
    rc = ddbs_body_write_session(ep->table, ep->hash_key, r->key, r->key_len, ep->ttl_key, r->expires, NULL, 0,
                                 b64.data, b64.len, raw.len, cond, &r->body, err, errlen);
  }
  ddbs_buf_free(&raw); /* (compressed or encrypted: the plaintext never reached it unencrypted but
                          when compression alone applies, which is not secret either) */
  ddbs_buf_free(&b64);
  return rc;
}

const char *ddbs_error_name(ddbs_error e) {
  static const char *const names[] = {
      "",
#define DDBS_ERR_NAME(id, name) name,
      DDBS_LOCAL_ERRORS(DDBS_ERR_NAME)
#undef DDBS_ERR_NAME
  };
  return (int)e >= 0 && (int)e < DDBS_ERR_COUNT ? names[e] : "";
}

ddbs_request *ddbs_request_new(int op, const char *op_name) {
  ddbs_request *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->op = op;
  r->expires = -1;
  r->expect_version = -2;
  r->created_at = -1;
  r->version = -1;
  snprintf(r->op_name, sizeof r->op_name, "%s", op_name);
  return r;
}

void ddbs_request_free(ddbs_request *r) {
  if (!r) return;
  free(r->key);
  free(r->session);
  free(r->set_json);
  free(r->remove_json);
  free(r->user_id);
  ddbs_buf_free(&r->body);
  ddbs_buf_free(&r->result);
  ddbs_buf_free(&r->response);
  if (r->wire_secret) ddbs_buf_wipe_free(&r->wire); /* it held a session token */
  else ddbs_buf_free(&r->wire);
  free(r);
}

void ddbs_request_fail_aws(ddbs_request *r, const char *aws_code, const char *message, int retryable) {
  r->status = DDBS_FAILED;
  snprintf(r->err_code, sizeof r->err_code, "%s", aws_code);
  snprintf(r->err_message, sizeof r->err_message, "%s", message);
  r->retryable = retryable;
}

void ddbs_request_fail(ddbs_request *r, ddbs_error code, const char *message, int retryable) {
  ddbs_request_fail_aws(r, ddbs_error_name(code), message, retryable);
}

/* ------------------------------------------------------------------ building */

int ddbs_request_build_body(ddbs_request *r, const ddbs_endpoint *ep) {
  char err[512] = "";
  int rc = 0;
  /* a write names the version attribute only when it writes or checks a version */
  int uses_version = r->versioned || r->expect_version != -2;
  ddbs_item_attrs attrs = {r->user_mode && ep->user_key ? ep->user_key : NULL, r->user_mode == 1 ? r->user_id : NULL,
                           r->user_id_len, r->created_at >= 0 ? ep->created_key : NULL, r->created_at};
  ddbs_write_cond cond = {uses_version ? ep->version_key : NULL, r->versioned ? r->new_version : 0,
                          r->require_exists, r->expect_version,
                          attrs.user_key || attrs.created_key ? &attrs : NULL};
  switch (r->op) {
    case DDBS_OP_GET_ITEM:
      rc = ddbs_body_get_item(ep->table, ep->hash_key, r->key, r->key_len, ep->consistent_read, &r->body, err,
                              sizeof err);
      break;
    case DDBS_OP_PUT_ITEM: /* the whole session: an UpdateItem, which keeps what it does not own */
      memcpy(r->op_name, "UpdateItem", sizeof "UpdateItem");
      rc = build_whole(r, ep, &cond, err, sizeof err);
      /* the body holds it now; with encryption, the plaintext is not left in freed memory */
      if (ep->blob && ep->blob->nkeys > 0) ddbs_secure_zero(r->session, r->session_len);
      free(r->session);
      r->session = NULL;
      r->session_len = 0;
      break;
    case DDBS_OP_UPDATE_ITEM:
      rc = ddbs_body_update_item(ep->table, ep->hash_key, r->key, r->key_len, ep->ttl_key, r->expires, r->set_json,
                                 r->set_len, r->remove_json, r->remove_len, &cond, &r->body, err, sizeof err);
      break;
    case DDBS_OP_DELETE_ITEM:
      rc = ddbs_body_delete_item(ep->table, ep->hash_key, r->key, r->key_len, &r->body, err, sizeof err);
      break;
    default:
      return 0;
  }
  /* every data-plane answer says what it cost */
  if (rc == 0 && ep->report_capacity && r->body.len > 0 && r->body.data[r->body.len - 1] == '}') {
    r->body.len--;
    if (ddbs_buf_append_str(&r->body, ",\"ReturnConsumedCapacity\":\"TOTAL\"}") != 0) {
      ddbs_request_fail(r, DDBS_ERR_OUT_OF_MEMORY, "out of memory building the request", 0);
      return -1;
    }
  }
  if (rc == 0) return 0;
  if (rc == DDBS_E_TOO_LARGE) ddbs_request_fail(r, DDBS_ERR_SESSION_TOO_LARGE, err, 0);
  else if (rc == DDBS_E_TOO_MANY) ddbs_request_fail(r, DDBS_ERR_UPDATE_TOO_LARGE, err, 0);
  else if (rc == DDBS_E_INPUT) ddbs_request_fail(r, DDBS_ERR_INVALID_SESSION, err, 0);
  else ddbs_request_fail(r, DDBS_ERR_OUT_OF_MEMORY, err[0] ? err : "out of memory building the request", 0);
  return -1;
}

/* "Name: value" into buf (NUL-terminated, offsets kept); the value must be safe in a header. */
static int add_field(ddbs_buf *b, size_t *offs, int *n, const char *name, const char *value) {
  if (!ddbs_http1_field_value_ok(value, strlen(value))) return 1;
  offs[(*n)++] = b->len;
  return ddbs_buf_append_str(b, name) != 0 || ddbs_buf_append_str(b, value) != 0 || ddbs_buf_append(b, "", 1) != 0
             ? -1
             : 0;
}

int ddbs_request_build_wire(ddbs_request *r, const ddbs_endpoint *ep, ddbs_sigv4_signer *signer,
                            const char *access_key_id, const char *session_token, const char amz_date[17]) {
  char target[64];
  ddbs_buf auth = DDBS_BUF_INIT, fields = DDBS_BUF_INIT;
  size_t offs[MAX_FIELDS];
  const char *fv[MAX_FIELDS];
  int n = 0, bad = 0, rc = -1;
  int secret = session_token && session_token[0];

  snprintf(target, sizeof target, TARGET_PREFIX "%s", r->op_name);
  /* A token never stays behind in a block a later attempt's growth would free unwiped: a buffer
   * that held one is wiped and freed, and the new one is allocated at its final size. */
  if (r->wire_secret) ddbs_buf_wipe_free(&r->wire);
  else ddbs_buf_reset(&r->wire);
  r->wire_secret = 0;

  ddbs_sigv4_dynamodb sreq = {
      .access_key_id = access_key_id,
      .session_token = secret ? session_token : NULL,
      .region = ep->region,
      .amz_date = amz_date,
      .host = ep->host,
      .target = target,
      .body = r->body.data ? r->body.data : "",
      .body_len = r->body.len,
  };
  if (ddbs_sigv4_sign_dynamodb_with(signer, &sreq, &auth) != 0) {
    ddbs_request_fail(r, DDBS_ERR_SIGNING, "cannot sign the request (a credential, the region or the host holds a character a header cannot carry)", 0);
    goto cleanup;
  }
  /* all the fields at their final size at once: a block that holds the token is never
   * reallocated (which would leave a copy in freed memory), and it is wiped when freed */
  if (ddbs_buf_reserve(&fields, strlen(ep->host) + strlen(amz_date) + strlen(target) + auth.len +
                                    (secret ? strlen(session_token) : 0) +
                                    (ep->user_agent ? strlen(ep->user_agent) : 0) +
                                    (ep->proxy_auth ? strlen(ep->proxy_auth) : 0) + 256) != 0)
    goto oom;
#define FIELD(name, value)                                          \
  do {                                                              \
    int frc = add_field(&fields, offs, &n, name, value);            \
    if (frc < 0) goto oom;                                          \
    bad |= frc;                                                     \
  } while (0)
  FIELD("Host: ", ep->host);
  FIELD("Content-Type: ", DDBS_DYNAMODB_CONTENT_TYPE);
  FIELD("X-Amz-Date: ", amz_date);
  FIELD("X-Amz-Target: ", target);
  if (secret) FIELD("X-Amz-Security-Token: ", session_token);
  FIELD("Authorization: ", auth.data ? auth.data : "");
  if (ep->user_agent) FIELD("User-Agent: ", ep->user_agent);
  if (ep->proxy_auth) FIELD("Proxy-Authorization: ", ep->proxy_auth);
#undef FIELD
  if (bad) {
    /* the last line of defence: the options and credential sources refuse these values first */
    ddbs_request_fail(r, DDBS_ERR_SIGNING, "a header value (credentials, region or host) holds CR, LF or NUL: not sent", 0);
    goto cleanup;
  }
  for (int i = 0; i < n; i++) fv[i] = fields.data + offs[i];
  int wrc = ddbs_http1_write_request(&r->wire, ep->request_target ? ep->request_target : "/", fv, n,
                                     r->body.data, r->body.len);
  if (wrc == -1) goto oom;
  if (wrc != 0) {
    ddbs_request_fail(r, DDBS_ERR_SIGNING, "a header value holds CR, LF or NUL: not sent", 0);
    goto cleanup;
  }
  r->wire_secret = secret;
  rc = 0;
  goto cleanup;
oom:
  ddbs_request_fail(r, DDBS_ERR_OUT_OF_MEMORY, "out of memory preparing the HTTP request", 0);
cleanup:
  if (secret) ddbs_buf_wipe_free(&fields);
  else ddbs_buf_free(&fields);
  ddbs_buf_free(&auth);
  return rc;
}

/* ------------------------------------------------------------------ reading the answer */

void ddbs_request_reset_answer(ddbs_request *r) {
  ddbs_buf_reset(&r->response);
  r->response_too_large = 0;
  r->has_crc32 = 0;
  r->crc32[0] = '\0';
  r->server_time = 0;
  r->request_id[0] = '\0';
  r->http_status = 0;
  r->tx_detail[0] = '\0';
  r->skew_corrected = 0;
  r->answer_refused = 0;
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

static size_t value_end(const char *line, size_t n, size_t at) {
  while (n > at && (line[n - 1] == ' ' || line[n - 1] == '\t')) n--;
  return n;
}

static void copy_value(const char *line, size_t n, size_t at, char *out, size_t out_size) {
  size_t len = value_end(line, n, at) - at;
  if (len >= out_size) len = out_size - 1;
  memcpy(out, line + at, len);
  out[len] = '\0';
}

void ddbs_request_answer_header(ddbs_request *r, const char *line, size_t n, ddbs_date_cache *dc) {
  size_t at;
  if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) { /* a new answer: forget the fields of any before */
    r->has_crc32 = 0;
    r->request_id[0] = '\0';
    r->server_time = 0;
  } else if (header_is(line, n, "x-amzn-requestid", &at)) {
    copy_value(line, n, at, r->request_id, sizeof r->request_id);
  } else if (header_is(line, n, "date", &at)) {
    size_t len = value_end(line, n, at) - at;
    if (dc && len && len == dc->len && memcmp(dc->text, line + at, len) == 0) {
      r->server_time = dc->value;
    } else {
      r->server_time = ddbs_parse_http_date(line + at, len);
      if (dc && len < sizeof dc->text) {
        memcpy(dc->text, line + at, len);
        dc->len = len;
        dc->value = r->server_time;
      }
    }
  } else if (header_is(line, n, "x-amz-crc32", &at)) {
    copy_value(line, n, at, r->crc32, sizeof r->crc32);
    r->has_crc32 = 1;
  }
}

int ddbs_request_answer_body(ddbs_request *r, const char *data, size_t len) {
  if (r->max_response_bytes && (len > r->max_response_bytes || r->response.len > r->max_response_bytes - len)) {
    r->response_too_large = 1;
    return -1;
  }
  return ddbs_buf_append(&r->response, data, len) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------ evaluating */

static int in_list(const char *code, const char *const *codes) {
  for (int i = 0; codes[i]; i++)
    if (strcmp(code, codes[i]) == 0) return 1;
  return 0;
}

static const char *const THROTTLE_CODES[] = {"ProvisionedThroughputExceededException",
                                             "ThrottlingException",
                                             "Throttling",
                                             "RequestLimitExceeded",
                                             "LimitExceededException",
                                             "RequestThrottledException",
                                             "TooManyRequestsException",
                                             "SlowDown",
                                             NULL};
static const char *const SKEW_CODES[] = {"InvalidSignatureException", "SignatureDoesNotMatch", "RequestExpired",
                                         "RequestInTheFuture", "RequestTimeTooSkewed", "AuthFailure", NULL};
static const char *const TRANSIENT_CODES[] = {"InternalServerError", "InternalFailure", "ServiceUnavailable",
                                              "TransactionInProgressException", "RequestTimeout",
                                              "RequestTimeoutException", NULL};

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

static ddbs_retry_class transport_failure(ddbs_request *r, ddbs_tx tx) {
  char msg[400];
  const char *detail = r->tx_detail[0] ? r->tx_detail : NULL;
  switch (tx) {
    case DDBS_TX_TOO_LARGE:
      snprintf(msg, sizeof msg, "DynamoDB's answer to %s is larger than %zu bytes", r->op_name, r->max_response_bytes);
      ddbs_request_fail(r, DDBS_ERR_RESPONSE_TOO_LARGE, msg, 0);
      return DDBS_RETRY_NONE;
    case DDBS_TX_NO_MEMORY:
      ddbs_request_fail(r, DDBS_ERR_OUT_OF_MEMORY, "out of memory reading the answer", 0);
      return DDBS_RETRY_NONE;
    case DDBS_TX_TIMEOUT:
      snprintf(msg, sizeof msg, "%s timed out (%s)", r->op_name, detail ? detail : "no answer in time");
      ddbs_request_fail(r, DDBS_ERR_TIMEOUT, msg, 1);
      return DDBS_RETRY_TRANSIENT;
    case DDBS_TX_MALFORMED:
      /* the connection is closed: another attempt gets a fresh one */
      snprintf(msg, sizeof msg, "%s failed (the answer's HTTP framing is invalid: %s)", r->op_name,
               detail ? detail : "malformed");
      ddbs_request_fail(r, DDBS_ERR_NETWORKING, msg, 1);
      return DDBS_RETRY_TRANSIENT;
    case DDBS_TX_TLS_REFUSED:
    case DDBS_TX_FAILED:
      snprintf(msg, sizeof msg, "%s failed (%s)", r->op_name, detail ? detail : "the connection failed");
      ddbs_request_fail(r, DDBS_ERR_NETWORKING, msg, 0);
      return DDBS_RETRY_NONE;
    default:
      snprintf(msg, sizeof msg, "%s failed (%s)", r->op_name, detail ? detail : "the connection failed");
      ddbs_request_fail(r, DDBS_ERR_NETWORKING, msg, 1);
      return DDBS_RETRY_TRANSIENT;
  }
}

ddbs_retry_class ddbs_evaluate(ddbs_request *r, ddbs_tx tx, const ddbs_eval *ev) {
  char msg[480];
  r->answer_refused = 0;
  if (tx != DDBS_TX_OK) return transport_failure(r, tx);
  long status = r->http_status;
  if (r->server_time > 0 && ev->clock_offset_s)
    r->skew_corrected = ddbs_clock_skew_update(ev->clock_offset_s, r->server_time, ev->local_now);
  const char *body = r->response.data ? r->response.data : "";
  size_t len = r->response.len;
  if (r->has_crc32) {
    char *end = NULL;
    unsigned long want = strtoul(r->crc32, &end, 10);
    if (end == r->crc32 || *end != '\0' || (uint32_t)want != ddbs_crc32(body, len)) {
      snprintf(msg, sizeof msg, "the CRC32 of DynamoDB's answer to %s does not match its x-amz-crc32 header",
               r->op_name);
      ddbs_request_fail(r, DDBS_ERR_CRC32_MISMATCH, msg, 1);
      r->answer_refused = 1;
      return DDBS_RETRY_TRANSIENT;
    }
  }
  if (status >= 200 && status < 300 && !looks_like_error(body, len)) {
    char err[300] = "";
    double units = 0;
    ddbs_buf_reset(&r->result);
    if (ddbs_buf_append(&r->result, META_SPACES, DDBS_RESULT_META) != 0) {
      ddbs_request_fail(r, DDBS_ERR_OUT_OF_MEMORY, "out of memory reading the answer", 0);
      return DDBS_RETRY_NONE;
    }
    if (r->op == DDBS_OP_GET_ITEM) {
      int found = 0;
      long long version = -1;
      /* the local clock, as the expiry was computed with (set() in JavaScript, like koa-session's
       * own _expire): not the server's, even when signing uses the server's */
      int prc = ddbs_parse_get_item_capacity(body, len, ev->ep->hash_key, r->key, r->key_len, ev->ep->ttl_key,
                                             ev->local_now, ev->ep->version_key, &version, &r->result, &found,
                                             &units, err, sizeof err);
      if (prc == DDBS_E_MISMATCH) {
        /* never another key's session: a crossed answer (a desynchronised connection). The
         * connection is closed; another attempt runs on a fresh one. */
        ddbs_buf_reset(&r->result);
        snprintf(msg, sizeof msg, "DynamoDB's answer to GetItem is for another key than the one asked for (refused)");
        ddbs_request_fail(r, DDBS_ERR_INVALID_RESPONSE, msg, 1);
        r->answer_refused = 1;
        return DDBS_RETRY_TRANSIENT;
      }
      if (prc != 0) {
        ddbs_buf_reset(&r->result);
        snprintf(msg, sizeof msg, "DynamoDB's answer to GetItem cannot be read: %s", err);
        ddbs_request_fail(r, prc == DDBS_E_NOMEM ? DDBS_ERR_OUT_OF_MEMORY : DDBS_ERR_INVALID_RESPONSE, msg, 0);
        r->answer_refused = 1;
        return DDBS_RETRY_NONE;
      }
      r->version = found ? version : -1;
      if (found && r->result.len > DDBS_RESULT_META && r->result.data[DDBS_RESULT_META] == '"' &&
          ddbs_get_item_session_is_blob(body, len)) {
        r->stored_blob = 1;
        int drc = decode_blob(r, ev->ep);
        if (drc == DECODE_NOMEM) {
          ddbs_buf_reset(&r->result);
          ddbs_request_fail(r, DDBS_ERR_OUT_OF_MEMORY, "out of memory reading the answer", 0);
          return DDBS_RETRY_NONE;
        }
        if (drc == DECODE_UNREADABLE) { /* a user without a session, never a failed request */
          found = 0;
          r->unreadable = 1;
          ddbs_buf_reset(&r->result);
          ddbs_buf_append(&r->result, META_SPACES, DDBS_RESULT_META);
        }
      }
      if (ev->ep->report_capacity) r->capacity += units;
      r->status = found ? DDBS_OK : DDBS_NOT_FOUND;
      return DDBS_RETRY_NONE;
    }
    /* every other operation: the answer must be the JSON object DynamoDB sends */
    if (ddbs_json_check_object(body, len) != 0) {
      snprintf(msg, sizeof msg, "DynamoDB's answer to %s is not a JSON object (HTTP %ld): the outcome is unknown",
               r->op_name, status);
      ddbs_request_fail(r, DDBS_ERR_INVALID_RESPONSE, msg, 0);
      r->answer_refused = 1;
      return DDBS_RETRY_NONE;
    }
    if (ev->ep->report_capacity && ddbs_parse_consumed_capacity(body, len, &units) == 0) r->capacity += units;
    if (r->op == DDBS_OP_RAW) {
      if (ddbs_buf_append(&r->result, body, len) != 0) {
        ddbs_request_fail(r, DDBS_ERR_OUT_OF_MEMORY, "out of memory reading the answer", 0);
        return DDBS_RETRY_NONE;
      }
    }
    r->status = DDBS_OK;
    return DDBS_RETRY_NONE;
  }
  /* an error answer */
  char code[64] = "", message[400] = "";
  if (ddbs_parse_error(body, len, code, sizeof code, message, sizeof message) != 0) {
    ddbs_error local = status >= 500 ? DDBS_ERR_SERVER : DDBS_ERR_UNKNOWN;
    snprintf(code, sizeof code, "%s", ddbs_error_name(local));
    snprintf(message, sizeof message, "DynamoDB answered %s with HTTP %ld and no readable error", r->op_name, status);
  }
  int throttle = in_list(code, THROTTLE_CODES) || status == 429;
  int transient = in_list(code, TRANSIENT_CODES) || status == 500 || status == 502 || status == 503 || status == 504;
  /* refused for the time it was signed at, and this answer corrected our clock: worth a retry */
  if (r->skew_corrected && in_list(code, SKEW_CODES)) transient = 1;
  ddbs_request_fail_aws(r, code, message[0] ? message : code, throttle || transient);
  r->throttles += throttle;
  return throttle ? DDBS_RETRY_THROTTLE : transient ? DDBS_RETRY_TRANSIENT : DDBS_RETRY_NONE;
}

/* Appends the decimal text of v and a space at p; returns the end. */
static char *put_int(char *p, long long v) {
  char d[24];
  int n = 0;
  unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
  do d[n++] = (char)('0' + u % 10); while ((u /= 10) > 0);
  if (v < 0) *p++ = '-';
  while (n > 0) *p++ = d[--n];
  *p++ = ' ';
  return p;
}

void ddbs_request_write_meta(ddbs_request *r) {
  if ((r->status != DDBS_OK && r->status != DDBS_NOT_FOUND) || r->result.len < DDBS_RESULT_META) return;
  char meta[128], *p = meta;
  p = put_int(p, r->attempts);
  p = put_int(p, r->throttles);
  p = put_int(p, r->http_status);
  /* capacity units are whole or halves (transactions aside): those without snprintf's float path */
  double twice = r->capacity * 2;
  if (twice >= 0 && twice < 1e15 && twice == (double)(long long)twice) {
    p = put_int(p, (long long)twice / 2);
    if ((long long)twice & 1) memcpy(p - 1, ".5 ", 3), p += 2;
  } else {
    p += snprintf(p, 40, "%.6g ", r->capacity);
  }
  p = put_int(p, r->version);
  if (r->status == DDBS_OK) *p++ = 'f';
  if (r->stored_blob) *p++ = 'b';
  *p++ = r->unreadable ? 'u' : '-';
  size_t n = (size_t)(p - meta);
  if (n < DDBS_RESULT_META) memcpy(r->result.data, meta, n);
}

/* ------------------------------------------------------------------ retries, clock */

int ddbs_retry_decide(const ddbs_request *r, ddbs_retry_class kind, int max_attempts, long *budget,
                      uint64_t random, unsigned long long now_ms, ddbs_retry_plan *plan) {
  if (kind == DDBS_RETRY_NONE || r->attempts >= max_attempts) return 0;
  int cost = strcmp(r->err_code, ddbs_error_name(DDBS_ERR_TIMEOUT)) == 0 ? RETRY_TIMEOUT_COST : RETRY_COST;
  if (*budget < cost) return 0;
  unsigned long long base = kind == DDBS_RETRY_THROTTLE ? RETRY_THROTTLE_BASE_MS : RETRY_BASE_MS;
  int shift = r->attempts - 1 < 16 ? (r->attempts > 0 ? r->attempts - 1 : 0) : 16;
  unsigned long long ceiling = base << shift;
  if (ceiling > RETRY_CAP_MS) ceiling = RETRY_CAP_MS;
  unsigned long long delay = random % (ceiling + 1); /* full jitter */
  if (now_ms + delay + 1 >= r->deadline_ms) return 0;
  *budget -= cost;
  plan->cost = cost;
  plan->at_ms = now_ms + delay;
  return 1;
}

void ddbs_retry_refund(const ddbs_request *r, long *budget) {
  *budget += r->retry_cost ? r->retry_cost : 1;
  if (*budget > DDBS_RETRY_BUDGET_MAX) *budget = DDBS_RETRY_BUDGET_MAX;
}

int ddbs_clock_skew_update(long long *offset_s, long long server_time, long long local_now) {
  /* Signatures more than 15 minutes off are refused, so a host clock that drifted would otherwise
   * fail every request. */
  long long skew = server_time - local_now;
  long long diff = skew - *offset_s;
  if (diff < 300 && diff > -300) return 0;
  *offset_s = skew;
  return 1;
}
