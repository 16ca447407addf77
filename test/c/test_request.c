/* test_request.c: tests for request.c (building, evaluating, retries, clock skew) and proxy.c.
 * The request layer is pure: answers are fed as the connection code would (status, header lines,
 * body pieces), with the time passed in. */
#include <stdlib.h>
#include <string.h>

#include "crc32.h"
#include "ctest.h"
#include "proxy.h"
#include "request.h"

static const ddbs_endpoint EP = {
    .host = "dynamodb.us-east-1.amazonaws.com",
    .region = "us-east-1",
    .request_target = "/",
    .table = "sessions",
    .hash_key = "sessionId",
    .ttl_key = "expires",
    .version_key = "version",
    .consistent_read = 1,
};

static ddbs_request *get_request(const char *key) {
  ddbs_request *r = ddbs_request_new(DDBS_OP_GET_ITEM, "GetItem");
  r->key = strdup(key);
  r->key_len = strlen(key);
  r->attempts = 1;
  r->deadline_ms = 100000;
  return r;
}

/* Feeds an answer: status, extra header lines ("Name: value", NULL-terminated), body. */
static ddbs_retry_class answer(ddbs_request *r, long status, const char *const *headers, const char *body,
                               long long *offset, long long now) {
  char line[64];
  ddbs_request_reset_answer(r);
  snprintf(line, sizeof line, "HTTP/1.1 %ld X", status);
  ddbs_request_answer_header(r, line, strlen(line), NULL);
  for (int i = 0; headers && headers[i]; i++) ddbs_request_answer_header(r, headers[i], strlen(headers[i]), NULL);
  if (body) ddbs_request_answer_body(r, body, strlen(body));
  r->http_status = status;
  ddbs_eval ev = {&EP, now, offset};
  return ddbs_evaluate(r, DDBS_TX_OK, &ev);
}

static void test_error_names(void) {
  CHECK_STREQ(ddbs_error_name(DDBS_ERR_NETWORKING), "NetworkingError");
  CHECK_STREQ(ddbs_error_name(DDBS_ERR_STORE_CLOSED), "StoreClosed");
  CHECK_STREQ(ddbs_error_name(DDBS_ERR_NONE), "");
  CHECK_STREQ(ddbs_error_name(DDBS_ERR_COUNT), "");
  CHECK_STREQ(ddbs_error_name((ddbs_error)-3), "");
  for (int e = 1; e < DDBS_ERR_COUNT; e++) CHECK(ddbs_error_name((ddbs_error)e)[0] != '\0');
}

static void test_get_item_answers(void) {
  long long off = 0;
  ddbs_request *r = get_request("bob");
  /* its own item: the result is DDBS_RESULT_META spaces (the owner's), then the session JSON; the
   * version in r->version */
  CHECK(answer(r, 200, NULL,
               "{\"Item\":{\"sessionId\":{\"S\":\"bob\"},\"version\":{\"N\":\"7\"},\"session\":{\"M\":{\"user\":{\"S\":\"bob\"}}},\"expires\":{\"N\":\"2000\"}}}",
               &off, 1000) == DDBS_RETRY_NONE);
  CHECK(r->status == DDBS_OK);
  CHECK(r->answer_refused == 0);
  CHECK(r->result.len > DDBS_RESULT_META && strspn(r->result.data, " ") == DDBS_RESULT_META);
  CHECK_STREQ(r->result.data + DDBS_RESULT_META, "{\"user\":\"bob\"}");
  CHECK(r->version == 7 && r->stored_blob == 0 && r->unreadable == 0);
  /* an item written by the 1.x package: no version */
  CHECK(answer(r, 200, NULL, "{\"Item\":{\"sessionId\":{\"S\":\"bob\"},\"session\":{\"M\":{}}}}", &off, 1000) == DDBS_RETRY_NONE);
  CHECK_STREQ(r->result.data + DDBS_RESULT_META, "{}");
  CHECK(r->version == -1);
  /* another key's item: refused, retryable on a fresh connection, nothing in the result */
  CHECK(answer(r, 200, NULL,
               "{\"Item\":{\"sessionId\":{\"S\":\"alice\"},\"session\":{\"M\":{\"user\":{\"S\":\"alice\"}}}}}", &off,
               1000) == DDBS_RETRY_TRANSIENT);
  CHECK(r->status == DDBS_FAILED);
  CHECK_STREQ(r->err_code, "InvalidResponse");
  CHECK(r->result.len == 0);
  CHECK(r->answer_refused == 1); /* its connection is closed */
  CHECK(strstr(r->err_message, "alice") == NULL && strstr(r->err_message, "bob") == NULL);
  /* an item without the key attribute: refused too */
  CHECK(answer(r, 200, NULL, "{\"Item\":{\"session\":{\"M\":{}}}}", &off, 1000) == DDBS_RETRY_TRANSIENT);
  CHECK_STREQ(r->err_code, "InvalidResponse");
  /* expired: not found */
  CHECK(answer(r, 200, NULL, "{\"Item\":{\"sessionId\":{\"S\":\"bob\"},\"session\":{\"M\":{}},\"expires\":{\"N\":\"999\"}}}",
               &off, 1000) == DDBS_RETRY_NONE);
  CHECK(r->status == DDBS_NOT_FOUND);
  /* no item */
  CHECK(answer(r, 200, NULL, "{}", &off, 1000) == DDBS_RETRY_NONE);
  CHECK(r->status == DDBS_NOT_FOUND);
  /* not JSON */
  CHECK(answer(r, 200, NULL, "<html>", &off, 1000) == DDBS_RETRY_NONE);
  CHECK_STREQ(r->err_code, "InvalidResponse");
  ddbs_request_free(r);
}

/* The consumed capacity an answer reports, and the field the worker fills for JavaScript. */
static void test_capacity_and_meta(void) {
  long long off = 0;
  ddbs_endpoint ep = EP;
  ep.report_capacity = 1;
  ddbs_request *r = get_request("bob");
  ddbs_eval ev = {&ep, 1000, &off};
  const char *body = "{\"Item\":{\"sessionId\":{\"S\":\"bob\"},\"version\":{\"N\":\"4\"},\"session\":{\"M\":{}}},"
                     "\"ConsumedCapacity\":{\"TableName\":\"t\",\"CapacityUnits\":0.5}}";
  for (int attempt = 1; attempt <= 2; attempt++) { /* a throttled attempt, then the answer */
    ddbs_request_reset_answer(r);
    r->attempts = attempt;
    const char *b = attempt == 1 ? "{\"__type\":\"x#ThrottlingException\",\"message\":\"slow down\"}" : body;
    r->http_status = attempt == 1 ? 400 : 200;
    ddbs_request_answer_body(r, b, strlen(b));
    ddbs_retry_class k = ddbs_evaluate(r, DDBS_TX_OK, &ev);
    CHECK(k == (attempt == 1 ? DDBS_RETRY_THROTTLE : DDBS_RETRY_NONE));
  }
  CHECK(r->status == DDBS_OK && r->capacity == 0.5 && r->throttles == 1);
  ddbs_request_write_meta(r);
  CHECK(strncmp(r->result.data, "2 1 200 0.5 4 f-", 16) == 0);
  CHECK(r->result.data[16] == ' ' && r->result.data[DDBS_RESULT_META - 1] == ' ');
  CHECK_STREQ(r->result.data + DDBS_RESULT_META, "{}");
  /* without report_capacity nothing is read; a miss: "n" not found */
  ddbs_request_reset_answer(r);
  r->http_status = 200;
  const char *miss = "{\"ConsumedCapacity\":{\"CapacityUnits\":1}}";
  ddbs_request_answer_body(r, miss, strlen(miss));
  ev.ep = &EP;
  ddbs_evaluate(r, DDBS_TX_OK, &ev);
  CHECK(r->status == DDBS_NOT_FOUND && r->capacity == 0.5);
  ddbs_request_write_meta(r);
  CHECK(strncmp(r->result.data, "2 1 200 0.5 -1 -", 16) == 0);
  ddbs_request_free(r);
}

static void test_write_answers_must_be_json_objects(void) {
  long long off = 0;
  const char *bad[] = {"", "<html>", "{\"truncated", "[]", "{} {}", "\"x\"", "{}x", NULL};
  for (int op = DDBS_OP_PUT_ITEM; op <= DDBS_OP_RAW; op++) {
    ddbs_request *r = ddbs_request_new(op, "PutItem");
    r->attempts = 1;
    for (int i = 0; bad[i]; i++) {
      CHECK(answer(r, 200, NULL, bad[i], &off, 1000) == DDBS_RETRY_NONE);
      CHECK(r->status == DDBS_FAILED);
      CHECK_STREQ(r->err_code, "InvalidResponse");
      CHECK(r->answer_refused == 1);
    }
    CHECK(answer(r, 200, NULL, " {\"ConsumedCapacity\":{\"CapacityUnits\":1}} ", &off, 1000) == DDBS_RETRY_NONE);
    CHECK(r->status == DDBS_OK);
    if (op == DDBS_OP_RAW) CHECK_STREQ(r->result.data + DDBS_RESULT_META, " {\"ConsumedCapacity\":{\"CapacityUnits\":1}} ");
    else CHECK(r->result.len == DDBS_RESULT_META);
    ddbs_request_free(r);
  }
}

static void test_error_classes(void) {
  long long off = 0;
  ddbs_request *r = ddbs_request_new(DDBS_OP_PUT_ITEM, "PutItem");
  r->attempts = 1;
  CHECK(answer(r, 400, NULL, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException\",\"message\":\"slow\"}",
               &off, 1000) == DDBS_RETRY_THROTTLE);
  CHECK_STREQ(r->err_code, "ProvisionedThroughputExceededException");
  CHECK_STREQ(r->err_message, "slow");
  CHECK(r->retryable == 1);
  CHECK(answer(r, 400, NULL, "{\"__type\":\"x#ValidationException\",\"Message\":\"bad\"}", &off, 1000) == DDBS_RETRY_NONE);
  CHECK_STREQ(r->err_code, "ValidationException");
  CHECK(r->retryable == 0);
  CHECK(r->answer_refused == 0); /* a DynamoDB error answer is a well-framed exchange */
  CHECK(answer(r, 500, NULL, "{\"__type\":\"x#InternalServerError\"}", &off, 1000) == DDBS_RETRY_TRANSIENT);
  CHECK(answer(r, 503, NULL, "gateway says no", &off, 1000) == DDBS_RETRY_TRANSIENT);
  CHECK_STREQ(r->err_code, "InternalServerError");
  CHECK(answer(r, 429, NULL, "", &off, 1000) == DDBS_RETRY_THROTTLE);
  CHECK(answer(r, 403, NULL, "nope", &off, 1000) == DDBS_RETRY_NONE);
  CHECK_STREQ(r->err_code, "UnknownError");
  /* a 200 carrying an error body is an error */
  CHECK(answer(r, 200, NULL, "{\"__type\":\"x#ConditionalCheckFailedException\"}", &off, 1000) == DDBS_RETRY_NONE);
  CHECK_STREQ(r->err_code, "ConditionalCheckFailedException");
  /* transport outcomes */
  ddbs_eval ev = {&EP, 1000, &off};
  struct {
    ddbs_tx tx;
    const char *code;
    ddbs_retry_class kind;
  } cases[] = {{DDBS_TX_CONNECT_FAILED, "NetworkingError", DDBS_RETRY_TRANSIENT},
               {DDBS_TX_TIMEOUT, "TimeoutError", DDBS_RETRY_TRANSIENT},
               {DDBS_TX_SEND_FAILED, "NetworkingError", DDBS_RETRY_TRANSIENT},
               {DDBS_TX_RECV_FAILED, "NetworkingError", DDBS_RETRY_TRANSIENT},
               {DDBS_TX_NO_ANSWER, "NetworkingError", DDBS_RETRY_TRANSIENT},
               {DDBS_TX_CUT_SHORT, "NetworkingError", DDBS_RETRY_TRANSIENT},
               {DDBS_TX_MALFORMED, "NetworkingError", DDBS_RETRY_TRANSIENT},
               {DDBS_TX_TLS_REFUSED, "NetworkingError", DDBS_RETRY_NONE},
               {DDBS_TX_FAILED, "NetworkingError", DDBS_RETRY_NONE},
               {DDBS_TX_TOO_LARGE, "ResponseTooLarge", DDBS_RETRY_NONE},
               {DDBS_TX_NO_MEMORY, "OutOfMemory", DDBS_RETRY_NONE}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    snprintf(r->tx_detail, sizeof r->tx_detail, "detail %zu", i);
    CHECK(ddbs_evaluate(r, cases[i].tx, &ev) == cases[i].kind);
    CHECK_STREQ(r->err_code, cases[i].code);
    CHECK(r->status == DDBS_FAILED);
    CHECK(r->retryable == (cases[i].kind != DDBS_RETRY_NONE));
    /* the transport's own words reach the message */
    if (cases[i].tx != DDBS_TX_TOO_LARGE && cases[i].tx != DDBS_TX_NO_MEMORY) CHECK(strstr(r->err_message, "detail") != NULL);
  }
  ddbs_request_free(r);
}

static void test_crc32_checked(void) {
  long long off = 0;
  char hdr[64];
  const char *body = "{\"Item\":{\"sessionId\":{\"S\":\"k\"},\"session\":{\"M\":{}}}}";
  ddbs_request *r = get_request("k");
  snprintf(hdr, sizeof hdr, "x-amz-crc32: %u", (unsigned)ddbs_crc32(body, strlen(body)));
  const char *good[] = {hdr, "x-amzn-RequestId: ABC", NULL};
  CHECK(answer(r, 200, good, body, &off, 1000) == DDBS_RETRY_NONE);
  CHECK(r->status == DDBS_OK);
  CHECK_STREQ(r->request_id, "ABC");
  const char *bad[] = {"X-Amz-Crc32: 12345", NULL};
  CHECK(answer(r, 200, bad, body, &off, 1000) == DDBS_RETRY_TRANSIENT);
  CHECK_STREQ(r->err_code, "CRC32CheckFailed");
  CHECK(r->answer_refused == 1);
  const char *junk[] = {"x-amz-crc32: 12x", NULL};
  CHECK(answer(r, 200, junk, body, &off, 1000) == DDBS_RETRY_TRANSIENT);
  ddbs_request_free(r);
}

static void test_clock_skew(void) {
  long long off = 0;
  CHECK(ddbs_clock_skew_update(&off, 1000 + 299, 1000) == 0 && off == 0);
  CHECK(ddbs_clock_skew_update(&off, 1000 - 299, 1000) == 0 && off == 0);
  CHECK(ddbs_clock_skew_update(&off, 1000 + 300, 1000) == 1 && off == 300);
  CHECK(ddbs_clock_skew_update(&off, 1000 + 400, 1000) == 0 && off == 300); /* within 5 min of the offset */
  CHECK(ddbs_clock_skew_update(&off, 1000 - 3600, 1000) == 1 && off == -3600);
  /* through evaluate: a refusal for the time, with a Date 20 minutes ahead, is retried once corrected */
  ddbs_request *r = ddbs_request_new(DDBS_OP_DELETE_ITEM, "DeleteItem");
  r->attempts = 1;
  off = 0;
  const char *date[] = {"Date: Thu, 01 Jan 1970 00:36:40 GMT", NULL}; /* 2200 s */
  CHECK(answer(r, 400, date, "{\"__type\":\"x#InvalidSignatureException\",\"message\":\"Signature expired\"}", &off,
               1000) == DDBS_RETRY_TRANSIENT);
  CHECK(off == 1200);
  CHECK(r->skew_corrected == 1);
  /* the same refusal without a correction is final */
  CHECK(answer(r, 400, date, "{\"__type\":\"x#InvalidSignatureException\"}", &off, 1000) == DDBS_RETRY_NONE);
  ddbs_request_free(r);
}

static void test_retry_decisions(void) {
  ddbs_request *r = ddbs_request_new(DDBS_OP_GET_ITEM, "GetItem");
  ddbs_retry_plan plan;
  long budget = DDBS_RETRY_BUDGET_MAX;
  r->attempts = 1;
  r->deadline_ms = 10000;
  ddbs_request_fail(r, DDBS_ERR_NETWORKING, "x", 1);
  CHECK(ddbs_retry_decide(r, DDBS_RETRY_NONE, 3, &budget, 7, 0, &plan) == 0);
  CHECK(ddbs_retry_decide(r, DDBS_RETRY_TRANSIENT, 3, &budget, 7, 0, &plan) == 1);
  CHECK(budget == DDBS_RETRY_BUDGET_MAX - 5 && plan.cost == 5);
  CHECK(plan.at_ms <= 25); /* first retry: at most the base */
  /* throttling: a longer base; later attempts: a larger ceiling, capped */
  r->attempts = 2;
  CHECK(ddbs_retry_decide(r, DDBS_RETRY_THROTTLE, 5, &budget, 1000000007ULL, 0, &plan) == 1);
  CHECK(plan.at_ms <= 200);
  r->attempts = 30;
  CHECK(ddbs_retry_decide(r, DDBS_RETRY_TRANSIENT, 100, &budget, ~0ULL, 0, &plan) == 1);
  CHECK(plan.at_ms <= 2000);
  /* no attempts left */
  r->attempts = 3;
  CHECK(ddbs_retry_decide(r, DDBS_RETRY_TRANSIENT, 3, &budget, 7, 0, &plan) == 0);
  /* no time left */
  r->attempts = 1;
  CHECK(ddbs_retry_decide(r, DDBS_RETRY_TRANSIENT, 3, &budget, 0, 9999, &plan) == 0);
  /* timeouts cost more; an empty budget refuses */
  ddbs_request_fail(r, DDBS_ERR_TIMEOUT, "x", 1);
  long b2 = 12;
  CHECK(ddbs_retry_decide(r, DDBS_RETRY_TRANSIENT, 3, &b2, 0, 0, &plan) == 1 && b2 == 2 && plan.cost == 10);
  CHECK(ddbs_retry_decide(r, DDBS_RETRY_TRANSIENT, 3, &b2, 0, 0, &plan) == 0 && b2 == 2);
  /* refunds */
  r->retry_cost = 10;
  ddbs_retry_refund(r, &b2);
  CHECK(b2 == 12);
  r->retry_cost = 0;
  ddbs_retry_refund(r, &b2);
  CHECK(b2 == 13);
  long full = DDBS_RETRY_BUDGET_MAX;
  ddbs_retry_refund(r, &full);
  CHECK(full == DDBS_RETRY_BUDGET_MAX);
  ddbs_request_free(r);
}

static void test_build_wire(void) {
  unsigned char key[32];
  ddbs_sigv4_signer *s = ddbs_sigv4_signer_new();
  CHECK(ddbs_sigv4_signing_key("secret", "20260101", "us-east-1", "dynamodb", key) == 0);
  CHECK(ddbs_sigv4_signer_set_key(s, key) == 0);
  ddbs_request *r = get_request("k");
  CHECK(ddbs_request_build_body(r, &EP) == 0);
  CHECK(ddbs_request_build_wire(r, &EP, s, "AKID", "TOKEN", "20260101T000000Z") == 0);
  CHECK(r->wire_secret == 1);
  CHECK(strncmp(r->wire.data, "POST / HTTP/1.1\r\nHost: dynamodb.us-east-1.amazonaws.com\r\n", 57) == 0);
  CHECK(strstr(r->wire.data, "\r\nX-Amz-Security-Token: TOKEN\r\n") != NULL);
  CHECK(strstr(r->wire.data, "\r\nX-Amz-Target: DynamoDB_20120810.GetItem\r\n") != NULL);
  CHECK(strstr(r->wire.data, "Credential=AKID/20260101/us-east-1/dynamodb/aws4_request") != NULL);
  /* header injection: refused, nothing to send */
  const char *bad_tokens[] = {"T\r\nX-Evil: 1", "T\nX", "T\rX", NULL};
  for (int i = 0; bad_tokens[i]; i++) {
    r->status = DDBS_PENDING;
    CHECK(ddbs_request_build_wire(r, &EP, s, "AKID", bad_tokens[i], "20260101T000000Z") == -1);
    CHECK(r->status == DDBS_FAILED);
    CHECK_STREQ(r->err_code, "SigningError");
    CHECK(r->wire.len == 0);
  }
  r->status = DDBS_PENDING;
  CHECK(ddbs_request_build_wire(r, &EP, s, "AK\r\nID", NULL, "20260101T000000Z") == -1);
  ddbs_endpoint ep = EP;
  ep.region = "us-east-1\r\nX: y";
  CHECK(ddbs_request_build_wire(r, &ep, s, "AKID", NULL, "20260101T000000Z") == -1);
  /* through a forward proxy: the absolute URL and Proxy-Authorization */
  ep = EP;
  ep.request_target = "http://127.0.0.1:8000/";
  ep.proxy_auth = "Basic dTpw";
  CHECK(ddbs_request_build_wire(r, &ep, s, "AKID", NULL, "20260101T000000Z") == 0);
  CHECK(strncmp(r->wire.data, "POST http://127.0.0.1:8000/ HTTP/1.1\r\n", 38) == 0);
  CHECK(strstr(r->wire.data, "\r\nProxy-Authorization: Basic dTpw\r\n") != NULL);
  CHECK(r->wire_secret == 0);
  ddbs_request_free(r);
  ddbs_sigv4_signer_free(s);
}

static void test_build_body_errors(void) {
  ddbs_request *r = ddbs_request_new(DDBS_OP_PUT_ITEM, "PutItem");
  r->key = strdup("k");
  r->key_len = 1;
  r->session = strdup("{not json");
  r->session_len = strlen(r->session);
  CHECK(ddbs_request_build_body(r, &EP) == -1);
  CHECK_STREQ(r->err_code, "InvalidSession");
  CHECK(r->session == NULL);
  ddbs_request_free(r);
  r = ddbs_request_new(DDBS_OP_PUT_ITEM, "PutItem");
  r->key = strdup("k");
  r->key_len = 1;
  size_t n = 500 * 1024;
  r->session = malloc(n + 16);
  strcpy(r->session, "{\"a\":\"");
  memset(r->session + 6, 'x', n);
  strcpy(r->session + 6 + n, "\"}");
  r->session_len = strlen(r->session);
  CHECK(ddbs_request_build_body(r, &EP) == -1);
  CHECK_STREQ(r->err_code, "SessionTooLarge");
  ddbs_request_free(r);
}

static void test_conditional_bodies(void) {
  /* put: version written, the item must exist */
  ddbs_request *r = ddbs_request_new(DDBS_OP_PUT_ITEM, "PutItem");
  r->key = strdup("k");
  r->key_len = 1;
  r->session = strdup("{\"a\":1}");
  r->session_len = strlen(r->session);
  r->expires = 2000;
  r->versioned = 1;
  r->new_version = 3;
  r->require_exists = 1;
  CHECK(ddbs_request_build_body(r, &EP) == 0);
  /* a whole session is an UpdateItem that sets the version (and keeps what it does not own) */
  CHECK(strstr(r->body.data, "\"UpdateExpression\":\"SET #s = :s, #t = :t, #ver = :nv\"") != NULL);
  CHECK(strstr(r->body.data, "\":nv\":{\"N\":\"3\"}") != NULL);
  CHECK(strstr(r->body.data, "attribute_exists(#k)") != NULL);
  CHECK_STREQ(r->op_name, "UpdateItem");
  ddbs_request_free(r);
  /* a plain put (no version, no condition): the 1.x item's attributes, no condition */
  r = ddbs_request_new(DDBS_OP_PUT_ITEM, "PutItem");
  r->key = strdup("k");
  r->key_len = 1;
  r->session = strdup("{}");
  r->session_len = 2;
  CHECK(ddbs_request_build_body(r, &EP) == 0);
  CHECK(strstr(r->body.data, "version") == NULL && strstr(r->body.data, "Condition") == NULL);
  ddbs_request_free(r);
  /* update: fields set and removed, version + 1, strict condition */
  r = ddbs_request_new(DDBS_OP_UPDATE_ITEM, "UpdateItem");
  r->key = strdup("k");
  r->key_len = 1;
  r->set_json = strdup("{\"size\":2,\"a.b\":\"x\"}");
  r->set_len = strlen(r->set_json);
  r->remove_json = strdup("[\"old\"]");
  r->remove_len = strlen(r->remove_json);
  r->expires = 2000;
  r->versioned = 1;
  r->require_exists = 1;
  r->expect_version = 4;
  CHECK(ddbs_request_build_body(r, &EP) == 0);
  CHECK(strstr(r->body.data, "\"UpdateExpression\"") != NULL);
  CHECK(strstr(r->body.data, "REMOVE") != NULL);
  CHECK(strstr(r->body.data, "if_not_exists") != NULL);
  CHECK(strstr(r->body.data, "\"a.b\"") != NULL); /* a field name only ever as an attribute name */
  ddbs_request_free(r);
  /* a field both set and removed: InvalidSession, nothing sent */
  r = ddbs_request_new(DDBS_OP_UPDATE_ITEM, "UpdateItem");
  r->key = strdup("k");
  r->key_len = 1;
  r->set_json = strdup("{\"a\":1}");
  r->set_len = strlen(r->set_json);
  r->remove_json = strdup("[\"a\"]");
  r->remove_len = strlen(r->remove_json);
  r->expires = 2000;
  CHECK(ddbs_request_build_body(r, &EP) == -1);
  CHECK_STREQ(r->err_code, "InvalidSession");
  ddbs_request_free(r);
}

static void test_response_cap(void) {
  ddbs_request *r = get_request("k");
  r->max_response_bytes = 10;
  CHECK(ddbs_request_answer_body(r, "12345", 5) == 0);
  CHECK(ddbs_request_answer_body(r, "12345", 5) == 0);
  CHECK(ddbs_request_answer_body(r, "1", 1) == -1);
  CHECK(r->response_too_large == 1);
  ddbs_request_reset_answer(r);
  CHECK(r->response.len == 0 && r->response_too_large == 0);
  ddbs_request_free(r);
}

static void test_noproxy(void) {
  CHECK(ddbs_noproxy_match("*", "anything.example") == 1);
  CHECK(ddbs_noproxy_match(" * ", "anything.example") == 1);
  CHECK(ddbs_noproxy_match("example.com", "example.com") == 1);
  CHECK(ddbs_noproxy_match("example.com", "api.example.com") == 1);
  CHECK(ddbs_noproxy_match(".example.com", "api.example.com") == 1);
  CHECK(ddbs_noproxy_match("example.com", "badexample.com") == 0);
  CHECK(ddbs_noproxy_match("EXAMPLE.com", "Api.Example.COM") == 1);
  CHECK(ddbs_noproxy_match("a.com, b.com", "b.com") == 1);
  CHECK(ddbs_noproxy_match("a.com b.com", "b.com") == 1);
  CHECK(ddbs_noproxy_match("localhost,127.0.0.1", "127.0.0.1") == 1);
  CHECK(ddbs_noproxy_match("127.0.0.1", "127.0.0.2") == 0);
  CHECK(ddbs_noproxy_match("127.0.0.0/8", "127.9.9.9") == 1);
  CHECK(ddbs_noproxy_match("10.0.0.0/8", "127.0.0.1") == 0);
  CHECK(ddbs_noproxy_match("::1", "[::1]") == 1);
  CHECK(ddbs_noproxy_match("fd00::/8", "fdab::1") == 1);
  CHECK(ddbs_noproxy_match("", "example.com") == 0);
  CHECK(ddbs_noproxy_match(NULL, "example.com") == 0);
  CHECK(ddbs_noproxy_match("*.example.com", "api.example.com") == 0); /* not a pattern in libcurl */
  CHECK(ddbs_proxy_kind_of("socks5h://p:1") == DDBS_PROXY_SOCKS);
  CHECK(ddbs_proxy_kind_of("http://p:1") == DDBS_PROXY_HTTP);
  CHECK(ddbs_proxy_kind_of("p:3128") == DDBS_PROXY_HTTP);
  CHECK(ddbs_proxy_kind_of("") == DDBS_PROXY_NONE);
}

static void test_proxy_auth(void) {
  ddbs_buf b = DDBS_BUF_INIT;
  CHECK(ddbs_proxy_basic_auth("http://p:3128", &b) == 1 && b.len == 0);
  CHECK(ddbs_proxy_basic_auth("http://user:pass@p:3128/", &b) == 0);
  CHECK_STREQ(b.data, "Basic dXNlcjpwYXNz");
  ddbs_buf_reset(&b);
  CHECK(ddbs_proxy_basic_auth("http://us%40er:p%3Ass@p:3128", &b) == 0); /* user "us@er", password "p:ss" */
  CHECK_STREQ(b.data, "Basic dXNAZXI6cDpzcw==");
  ddbs_buf_reset(&b);
  CHECK(ddbs_proxy_basic_auth("http://u%4@p", &b) == -1);
  CHECK(ddbs_proxy_basic_auth("user@p:1", &b) == 0);
  CHECK_STREQ(b.data, "Basic dXNlcjo=");
  ddbs_buf_wipe_free(&b);
}

void suite_request(void) {
  ctest_run("request: error names", test_error_names);
  ctest_run("request: GetItem answers are checked against the key asked for", test_get_item_answers);
  ctest_run("request: consumed capacity, throttles and the field for JavaScript", test_capacity_and_meta);
  ctest_run("request: 2xx answers to other operations must be one JSON object", test_write_answers_must_be_json_objects);
  ctest_run("request: error answers and transport outcomes map to codes and retry classes", test_error_classes);
  ctest_run("request: x-amz-crc32 is checked", test_crc32_checked);
  ctest_run("request: clock skew correction", test_clock_skew);
  ctest_run("request: retry decisions (attempts, time, budget, backoff)", test_retry_decisions);
  ctest_run("request: the wire form, signed; CR/LF in a header value refused", test_build_wire);
  ctest_run("request: bodies that cannot be built", test_build_body_errors);
  ctest_run("request: the answer size cap", test_response_cap);
  ctest_run("request: conditional PutItem and UpdateItem bodies", test_conditional_bodies);
  ctest_run("proxy: no_proxy matching and proxy kinds", test_noproxy);
  ctest_run("proxy: Basic credentials from the proxy URL", test_proxy_auth);
}
