/* fuzz_get_item: ddbs_parse_get_item on arbitrary bytes as the GetItem answer.
 * Properties: no crash, leak or UB; the public function gives exactly what the jansson reference
 * gives (rc, found, bytes, error message); whenever the fast path alone succeeds, the reference
 * succeeds too with the same found and byte-identical output; a declining fast path leaves the
 * output as it was. Each input is tried with ttl attribute "expires" and with none. */
#include <stddef.h>
#include <stdint.h>

#include "ddb_json.h"
#include "ddb_json_ref.h"
#include "fuzz_common.h"

static void one(const char *body, size_t len, const char *ttl_key) {
  const long long now = 1700000000;
  ddbs_buf pub = DDBS_BUF_INIT, fast = DDBS_BUF_INIT, ref = DDBS_BUF_INIT;
  char e_pub[256] = "", e_fast[256] = "", e_ref[256] = "";
  int f_pub = 7, f_fast = 7, f_ref = 7;
  ddbs_buf_append_str(&pub, "<");
  ddbs_buf_append_str(&fast, "<");
  ddbs_buf_append_str(&ref, "<");
  int r_pub = ddbs_parse_get_item(body, len, ttl_key, now, &pub, &f_pub, e_pub, sizeof e_pub);
  int r_fast = ddbs_fast_parse_get_item(body, len, ttl_key, now, &fast, &f_fast, e_fast, sizeof e_fast);
  int r_ref = ddbs_ref_parse_get_item(body, len, ttl_key, now, &ref, &f_ref, e_ref, sizeof e_ref);
  if (r_pub != r_ref || f_pub != f_ref || !same_bytes(&pub, &ref) || strcmp(e_pub, e_ref) != 0)
    fuzz_mismatch("public GetItem parser vs reference", &pub, &ref, r_pub, r_ref);
  if (r_fast == DDBS_FAST_DECLINED) {
    if (fast.len != 1 || f_fast != 0 || e_fast[0]) fuzz_mismatch("declined but changed its output", &fast, &ref, r_fast, r_ref);
  } else if (r_fast != r_ref || f_fast != f_ref || !same_bytes(&fast, &ref)) {
    fuzz_mismatch("fast GetItem parser vs reference", &fast, &ref, r_fast, r_ref);
  }
  if (r_ref == 0 && f_ref == 0 && ref.len != 1) fuzz_mismatch("not found but wrote", &ref, &fast, r_ref, r_fast);
  ddbs_buf_free(&pub);
  ddbs_buf_free(&fast);
  ddbs_buf_free(&ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* a copy of exactly size bytes, so that reading past the end is caught */
  char *body = malloc(size ? size : 1);
  if (!body) return 0;
  memcpy(body, data, size);
  one(body, size, "expires");
  one(body, size, NULL);
  free(body);
  return 0;
}
