/* fuzz_evaluate.c: an arbitrary server answer, framed by http1.c and judged by request.c, for a
 * GetItem of key "bob" (or, by the first byte, another operation). Properties: no crash, no leak;
 * a GetItem that succeeds returns the session of an item whose key really is "bob" (checked with
 * jansson, independently of the converters); a success of any other operation had a 2xx answer
 * whose body is an object ({ ... }; ddbs_json_check_object accepts numbers of any size, which
 * jansson refuses, so jansson is not the oracle there); the consumed capacity read from any answer
 * is a finite number >= 0; a session stored as a blob that does not decode is a session not
 * found, never a failure (the blob decoder itself is fuzzed by fuzz_blob). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "http1.h"
#include "request.h"

/* consumed capacity read from every answer; stored blobs decoded with one key (its id "k") */
static ddbs_blob_key KEYS[1] = {{"k", {1, 2, 3}}};
static ddbs_blob_opts BLOB = {1, 16, 1, KEYS, 1, 0, NULL, NULL};
static ddbs_endpoint EP = {.host = "h", .region = "us-east-1", .request_target = "/", .table = "sessions",
                           .hash_key = "sessionId", .ttl_key = "expires", .consistent_read = 1,
                           .report_capacity = 1, .blob = &BLOB};

static int on_header(void *u, const char *line, size_t len) {
  ddbs_request_answer_header(u, line, len, NULL);
  return 0;
}
static int on_body(void *u, const char *d, size_t len) { return ddbs_request_answer_body(u, d, len); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int seeded;
  if (!seeded) {
    json_object_seed(1);
    BLOB.ctx = ddbs_blob_ctx_new(); /* (kept for the process, as the store's thread keeps its own) */
    seeded = 1;
  }
  if (size < 1) return 0;
  int op = DDBS_OP_GET_ITEM + data[0] % 4;
  data++;
  size--;
  ddbs_request *r = ddbs_request_new(op, "Op");
  r->key = strdup("bob");
  r->key_len = 3;
  r->attempts = 1;
  r->max_response_bytes = 1 << 16;
  ddbs_http1_reader *rd = malloc(sizeof *rd);
  ddbs_http1_reader_init(rd);
  ddbs_http1_sink sink = {on_header, on_body, r};
  size_t used = 0;
  int rc = ddbs_http1_feed(rd, (const char *)data, size, &used, &sink);
  if (rc == DDBS_HTTP1_MORE) rc = ddbs_http1_eof(rd);
  ddbs_tx tx = rc == DDBS_HTTP1_DONE ? DDBS_TX_OK : rc == DDBS_HTTP1_ABORTED ? DDBS_TX_TOO_LARGE : DDBS_TX_MALFORMED;
  r->http_status = rd->status;
  long long offset = 0;
  ddbs_eval ev = {&EP, 1000, &offset};
  ddbs_retry_class kind = ddbs_evaluate(r, tx, &ev);
  if ((r->status == DDBS_FAILED) != (r->err_code[0] != '\0')) abort();
  if (kind != DDBS_RETRY_NONE && r->status != DDBS_FAILED) abort();
  if (!(r->capacity >= 0 && r->capacity < 1e13)) abort(); /* (NaN fails too) */
  if (r->status == DDBS_OK || r->status == DDBS_NOT_FOUND) {
    if (tx != DDBS_TX_OK || rd->status < 200 || rd->status > 299) abort();
    if (r->result.len < DDBS_RESULT_META || strspn(r->result.data, " ") < DDBS_RESULT_META) abort();
    if (r->unreadable && (r->status != DDBS_NOT_FOUND || !r->stored_blob)) abort();
    const char *b = r->response.data ? r->response.data : "";
    size_t n = r->response.len, i = 0, j = n;
    while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n')) i++;
    while (j > i && (b[j - 1] == ' ' || b[j - 1] == '\t' || b[j - 1] == '\r' || b[j - 1] == '\n')) j--;
    if (j - i < 2 || b[i] != '{' || b[j - 1] != '}') abort(); /* a success always had a JSON object */
    if (op == DDBS_OP_GET_ITEM && r->status == DDBS_OK) {
      /* the GetItem reader accepts exactly what jansson accepts: an independent look at the key */
      json_t *root = json_loadb(b, n, JSON_ALLOW_NUL, NULL);
      if (!root) abort();
      json_t *s = json_object_get(json_object_get(json_object_get(root, "Item"), "sessionId"), "S");
      if (!json_is_string(s) || json_string_length(s) != 3 || memcmp(json_string_value(s), "bob", 3) != 0) {
        fprintf(stderr, "MISMATCH: a GetItem of bob succeeded with an item of another key\n");
        abort();
      }
      json_decref(root);
    }
  }
  free(rd);
  ddbs_request_free(r);
  return 0;
}
