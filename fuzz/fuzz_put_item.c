/* fuzz_put_item: ddbs_body_put_item with arbitrary bytes as the session JSON text.
 * Properties: no crash, leak or UB; for every input the public function and the two-pass
 * converter give exactly what the jansson reference gives (rc, body bytes; for DDBS_E_TOO_LARGE
 * the same message, i.e. the same item size), with a one-line error; the one-pass converter either
 * declines (leaving the output as it was) or gives the same; an accepted body is valid JSON.
 * The same again for ddbs_body_put_item_cond with one of a few conditions (by the input's size),
 * whose bodies must hold no repeated key. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "ddb_json.h"
#include "ddb_json_ref.h"
#include "fuzz_common.h"

static void check(const char *who, int rc, const ddbs_buf *out, const char *err, int r_ref, const ddbs_buf *ref,
                  const char *e_ref) {
  if (rc != r_ref || !same_bytes(out, ref)) fuzz_mismatch(who, out, ref, rc, r_ref);
  if (rc != 0 && (!err[0] || strchr(err, '\n'))) fuzz_mismatch("error without a one-line reason", out, ref, rc, r_ref);
  if (rc == DDBS_E_TOO_LARGE && strcmp(err, e_ref) != 0) {
    fprintf(stderr, "%s\n%s\n", err, e_ref);
    fuzz_mismatch("another item size", out, ref, rc, r_ref);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *sess = malloc(size ? size : 1);
  if (!sess) return 0;
  memcpy(sess, data, size);
  ddbs_buf pub = DDBS_BUF_INIT, one = DDBS_BUF_INIT, two = DDBS_BUF_INIT, ref = DDBS_BUF_INIT;
  char e_pub[256] = "", e_one[256] = "", e_two[256] = "", e_ref[256] = "";
  ddbs_buf_append_str(&pub, "<");
  ddbs_buf_append_str(&one, "<");
  ddbs_buf_append_str(&two, "<");
  ddbs_buf_append_str(&ref, "<");
#define ARGS "sessions", "sessionId", "k\xc3\xa9y", 4, "expires", 1700000000, sess, size
  int r_pub = ddbs_body_put_item(ARGS, &pub, e_pub, sizeof e_pub);
  int r_one = ddbs_onepass_body_put_item(ARGS, &one, e_one, sizeof e_one);
  int r_two = ddbs_twopass_body_put_item(ARGS, &two, e_two, sizeof e_two);
  int r_ref = ddbs_ref_body_put_item(ARGS, &ref, e_ref, sizeof e_ref);
#undef ARGS
  check("public PutItem body vs reference", r_pub, &pub, e_pub, r_ref, &ref, e_ref);
  check("two-pass PutItem body vs reference", r_two, &two, e_two, r_ref, &ref, e_ref);
  if (r_one == DDBS_ONEPASS_DECLINED) {
    if (one.len != 1 || e_one[0])
      fuzz_mismatch("declined but changed its output", &one, &ref, r_one, r_ref);
  } else {
    check("one-pass PutItem body vs reference", r_one, &one, e_one, r_ref, &ref, e_ref);
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
  /* with a condition */
  static const ddbs_write_cond conds[] = {{"version", 1, 0, -1}, {"version", 7, 1, 6}, {NULL, 0, 1, -2},
                                          {"v\"\xc3\xa9", DDBS_MAX_VERSION, 1, -1}, {"version", 2, 0, -2}};
  const ddbs_write_cond *c = &conds[size % (sizeof conds / sizeof conds[0])];
  ddbs_buf_reset(&pub), ddbs_buf_reset(&one), ddbs_buf_reset(&two), ddbs_buf_reset(&ref);
  e_pub[0] = e_one[0] = e_two[0] = e_ref[0] = '\0';
  ddbs_buf_append_str(&pub, "<");
  ddbs_buf_append_str(&one, "<");
  ddbs_buf_append_str(&two, "<");
  ddbs_buf_append_str(&ref, "<");
#define ARGS "sessions", "sessionId", "k\xc3\xa9y", 4, "expires", 1700000000, sess, size, c
  r_pub = ddbs_body_put_item_cond(ARGS, &pub, e_pub, sizeof e_pub);
  r_one = ddbs_onepass_body_put_item_cond(ARGS, &one, e_one, sizeof e_one);
  r_two = ddbs_twopass_body_put_item_cond(ARGS, &two, e_two, sizeof e_two);
  r_ref = ddbs_ref_body_put_item_cond(ARGS, &ref, e_ref, sizeof e_ref);
#undef ARGS
  check("public conditional PutItem body vs reference", r_pub, &pub, e_pub, r_ref, &ref, e_ref);
  check("two-pass conditional PutItem body vs reference", r_two, &two, e_two, r_ref, &ref, e_ref);
  if (r_one == DDBS_ONEPASS_DECLINED) {
    if (one.len != 1 || e_one[0]) fuzz_mismatch("declined but changed its output (cond)", &one, &ref, r_one, r_ref);
  } else {
    check("one-pass conditional PutItem body vs reference", r_one, &one, e_one, r_ref, &ref, e_ref);
  }
  if (r_pub == 0) {
    json_error_t jerr;
    json_t *v = json_loadb(pub.data + 1, pub.len - 1, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &jerr);
    if (!v) {
      fprintf(stderr, "body is not JSON: %s\n", jerr.text);
      fuzz_mismatch("conditional PutItem body is not JSON", &pub, &ref, r_pub, r_ref);
    }
    json_decref(v);
  }
  ddbs_buf_free(&pub);
  ddbs_buf_free(&one);
  ddbs_buf_free(&two);
  ddbs_buf_free(&ref);
  free(sess);
  return 0;
}
