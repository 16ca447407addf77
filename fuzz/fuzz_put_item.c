/* fuzz_put_item: ddbs_body_put_item with arbitrary bytes as the session JSON text.
 * Properties: no crash, leak or UB; the public function gives exactly what the jansson reference
 * gives (rc, body bytes, error message); whenever the fast path alone returns anything but
 * "declined", the reference returns the same code and the same bytes; a declining fast path
 * leaves the output as it was; an accepted body is valid JSON. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "ddb_json.h"
#include "ddb_json_ref.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *sess = malloc(size ? size : 1);
  if (!sess) return 0;
  memcpy(sess, data, size);
  ddbs_buf pub = DDBS_BUF_INIT, fast = DDBS_BUF_INIT, ref = DDBS_BUF_INIT;
  char e_pub[256] = "", e_fast[256] = "", e_ref[256] = "";
  ddbs_buf_append_str(&pub, "<");
  ddbs_buf_append_str(&fast, "<");
  ddbs_buf_append_str(&ref, "<");
  int r_pub = ddbs_body_put_item("sessions", "sessionId", "k\xc3\xa9y", 4, "expires", 1700000000, sess, size, &pub,
                                 e_pub, sizeof e_pub);
  int r_fast = ddbs_fast_body_put_item("sessions", "sessionId", "k\xc3\xa9y", 4, "expires", 1700000000, sess, size,
                                       &fast, e_fast, sizeof e_fast);
  int r_ref = ddbs_ref_body_put_item("sessions", "sessionId", "k\xc3\xa9y", 4, "expires", 1700000000, sess, size,
                                     &ref, e_ref, sizeof e_ref);
  if (r_pub != r_ref || !same_bytes(&pub, &ref) || strcmp(e_pub, e_ref) != 0)
    fuzz_mismatch("public PutItem body vs reference", &pub, &ref, r_pub, r_ref);
  if (r_fast == DDBS_FAST_DECLINED) {
    if (fast.len != 1 || e_fast[0]) fuzz_mismatch("declined but changed its output", &fast, &ref, r_fast, r_ref);
  } else if (r_fast != r_ref || !same_bytes(&fast, &ref) || (r_fast != 0 && strcmp(e_fast, e_ref) != 0)) {
    fuzz_mismatch("fast PutItem body vs reference", &fast, &ref, r_fast, r_ref);
  }
  if (r_pub == 0) {
    json_error_t jerr;
    json_t *v = json_loadb(pub.data + 1, pub.len - 1, JSON_ALLOW_NUL, &jerr);
    if (!v) {
      fprintf(stderr, "body is not JSON: %s\n", jerr.text);
      fuzz_mismatch("PutItem body is not JSON", &pub, &ref, r_pub, r_ref);
    }
    json_decref(v);
  }
  ddbs_buf_free(&pub);
  ddbs_buf_free(&fast);
  ddbs_buf_free(&ref);
  free(sess);
  return 0;
}
