/* fuzz_get_item: ddbs_parse_get_item on arbitrary bytes as the GetItem answer.
 * Properties: no crash, leak or UB; for every input the public function and the two-pass reader
 * give exactly what the jansson reference gives (rc, found, version, bytes), with a one-line
 * error; the one-pass reader either declines (leaving the output as it was, *version -1) or gives
 * the same; *version is -1 unless found. The key asked for is sessionId "abc" (the seeds' key:
 * answers for it and for other keys both occur); each input is tried with ttl attribute "expires"
 * and version attribute "version", with the ttl only, and with neither. */
#include <stddef.h>
#include <stdint.h>

#include "ddb_json.h"
#include "ddb_json_ref.h"
#include "fuzz_common.h"

static void check(const char *who, int rc, int found, const ddbs_buf *out, const char *err, int r_ref, int f_ref,
                  const ddbs_buf *ref) {
  if (rc != r_ref || found != f_ref || !same_bytes(out, ref)) fuzz_mismatch(who, out, ref, rc, r_ref);
  if (rc != 0 && (!err[0] || strchr(err, '\n'))) fuzz_mismatch("error without a one-line reason", out, ref, rc, r_ref);
}

static void try_answer(const char *body, size_t len, const char *ttl_key, const char *version_key) {
  const long long now = 1700000000;
  ddbs_buf pub = DDBS_BUF_INIT, one = DDBS_BUF_INIT, two = DDBS_BUF_INIT, ref = DDBS_BUF_INIT;
  char e_pub[256] = "", e_one[256] = "", e_two[256] = "", e_ref[256] = "";
  int f_pub = 7, f_one = 7, f_two = 7, f_ref = 7;
  long long v_pub = 7, v_one = 7, v_two = 7, v_ref = 7;
  ddbs_buf_append_str(&pub, "<");
  ddbs_buf_append_str(&one, "<");
  ddbs_buf_append_str(&two, "<");
  ddbs_buf_append_str(&ref, "<");
#define ARGS body, len, "sessionId", "abc", 3, ttl_key, now, version_key
  int r_pub = ddbs_parse_get_item(ARGS, &v_pub, &pub, &f_pub, e_pub, sizeof e_pub);
  int r_one = ddbs_onepass_parse_get_item(ARGS, &v_one, &one, &f_one, e_one, sizeof e_one);
  int r_two = ddbs_twopass_parse_get_item(ARGS, &v_two, &two, &f_two, e_two, sizeof e_two);
  int r_ref = ddbs_ref_parse_get_item(ARGS, &v_ref, &ref, &f_ref, e_ref, sizeof e_ref);
#undef ARGS
  check("public GetItem reader vs reference", r_pub, f_pub, &pub, e_pub, r_ref, f_ref, &ref);
  check("two-pass GetItem reader vs reference", r_two, f_two, &two, e_two, r_ref, f_ref, &ref);
  if (v_pub != v_ref || v_two != v_ref) fuzz_mismatch("another version", &pub, &ref, (int)v_pub, (int)v_ref);
  if (v_ref != -1 && (f_ref != 1 || !version_key || v_ref < 0 || v_ref > DDBS_MAX_VERSION))
    fuzz_mismatch("a version without an item", &pub, &ref, (int)v_pub, (int)v_ref);
  if (r_one == DDBS_ONEPASS_DECLINED) {
    if (one.len != 1 || f_one != 0 || e_one[0] || v_one != -1)
      fuzz_mismatch("declined but changed its output", &one, &ref, r_one, r_ref);
  } else {
    check("one-pass GetItem reader vs reference", r_one, f_one, &one, e_one, r_ref, f_ref, &ref);
    if (v_one != v_ref) fuzz_mismatch("another version (one pass)", &one, &ref, (int)v_one, (int)v_ref);
  }
  if (r_ref == 0 && f_ref == 0 && ref.len != 1) fuzz_mismatch("not found but wrote", &ref, &one, r_ref, r_one);
  if (r_ref == DDBS_E_MISMATCH && strstr(e_pub, "abc")) fuzz_mismatch("the key in a message", &pub, &ref, r_pub, r_ref);
  ddbs_buf_free(&pub);
  ddbs_buf_free(&one);
  ddbs_buf_free(&two);
  ddbs_buf_free(&ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* a copy of exactly size bytes, so that reading past the end is caught */
  char *body = malloc(size ? size : 1);
  if (!body) return 0;
  memcpy(body, data, size);
  try_answer(body, size, "expires", "version");
  try_answer(body, size, "expires", NULL);
  try_answer(body, size, NULL, NULL);
  free(body);
  return 0;
}
