/* fuzz_attr_to_json: jansson-parsed arbitrary JSON -> ddbs_attr_to_json_text (and ddbs_item_size).
 * Properties: no crash, leak or UB; a failure leaves the output as it was; a success appends
 * valid JSON; and the GetItem reader agrees with it on {"Item":{"sessionId":{"S":"k"},"session":<the same
 * text>}}. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "ddb_json.h"
#include "ddb_json_ref.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  json_error_t jerr;
  json_t *attr = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
  if (!attr) return 0;
  ddbs_buf out = DDBS_BUF_INIT, wrapped = DDBS_BUF_INIT, got = DDBS_BUF_INIT;
  char err[256] = "";
  ddbs_buf_append_str(&out, "<");
  int rc = ddbs_attr_to_json_text(attr, &out, err, sizeof err);
  if (rc != 0 && (out.len != 1 || !err[0])) abort();
  if (rc == 0) {
    json_t *back = json_loadb(out.data + 1, out.len - 1, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &jerr);
    if (!back) {
      fprintf(stderr, "not JSON (%s): %.300s\n", jerr.text, out.data);
      abort();
    }
    json_decref(back);
  }
  (void)ddbs_item_size(attr);
  /* the same attribute value as the session of a GetItem answer */
  int found = 0;
  ddbs_buf_append_str(&wrapped, "{\"Item\":{\"sessionId\":{\"S\":\"k\"},\"session\":");
  ddbs_buf_append(&wrapped, data, size);
  ddbs_buf_append_str(&wrapped, "}}");
  ddbs_buf_append_str(&got, "<");
  int grc = ddbs_parse_get_item(wrapped.data, wrapped.len, "sessionId", "k", 1, NULL, 0, NULL, NULL, &got, &found, err, sizeof err);
  if (grc == 0 && rc == 0 && !same_bytes(&got, &out)) fuzz_mismatch("GetItem session vs attr_to_json_text", &got, &out, grc, rc);
  /* (the answer may fail where the value alone did not: two more levels of nesting for jansson) */
  if (grc == 0 && (rc != 0 || !found)) fuzz_mismatch("GetItem accepted what attr_to_json_text refused", &got, &out, grc, rc);
  json_decref(attr);
  ddbs_buf_free(&out);
  ddbs_buf_free(&wrapped);
  ddbs_buf_free(&got);
  return 0;
}
