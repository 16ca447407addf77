/* fuzz_update_item: ddbs_body_update_item with arbitrary fields to set and remove and arbitrary
 * conditions. Input: byte 0 flags (bit 0 set_json given, 1 remove_json given, 2 a cond, 3 its
 * version_key, 4 require_exists, 5 expires >= 0, 6 no ttl_key, 7 another version_key name), byte 1
 * the expected version (one of -3, -2, -1, 0, 1, 5, 2^53 - 1, 2^53), then the set_json text, a
 * 0x01 byte, and the remove_json text (without a 0x01: all of it is set_json).
 * Properties: no crash, leak or UB; the production function gives exactly what the jansson
 * reference gives (rc, body bytes; for DDBS_E_TOO_LARGE and DDBS_E_TOO_MANY the same message),
 * with a one-line error and the output as it was on failure; an accepted body is JSON without a
 * repeated key (so no two placeholders collide), each placeholder its expressions use is defined
 * and each one defined is used (DynamoDB refuses unused ones), no two #f placeholders name the
 * same field, ExpressionAttributeValues is never empty, and the expression fits DynamoDB's 4 KB.
 * The same set_json text is also written as a whole session (ddbs_body_write_session), checked
 * against the reference PutItem's session attribute. */
#include <stddef.h>
#include <stdint.h>

#include "ddb_json.h"
#include "ddb_json_internal.h"
#include "ddb_json_ref.h"
#include "fuzz_common.h"

/* An accepted update's body is well formed (ddbs_ref_expression_body_ok, an UpdateExpression
 * required). */
static void check_body(const ddbs_buf *out, const ddbs_buf *ref, int rc) {
  char why[96];
  if (!ddbs_ref_expression_body_ok(out->data + 1, out->len - 1, 1, why, sizeof why)) {
    fprintf(stderr, "UpdateItem body refused: %s\n", why);
    fuzz_mismatch("UpdateItem body is not well formed", out, ref, rc, rc);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const long long expects[] = {-3, -2, -1, 0, 1, 5, DDBS_MAX_VERSION, DDBS_MAX_VERSION + 1};
  static const char *version_keys[] = {"version", "v.e r\xc3\xa9\"", "session", "sessionId", "expires", ""};
  if (size < 2) return 0;
  unsigned flags = data[0];
  ddbs_write_cond cond = {(flags & 8) ? version_keys[(flags & 128) ? 1 + data[1] % 5 : 0] : NULL, 0, (flags & 16) != 0,
                          expects[data[1] % 8], NULL};
  /* copies of exactly their sizes, so that reading past the end is caught */
  const uint8_t *text = data + 2, *sep = memchr(text, 1, size - 2);
  size_t set_len = sep ? (size_t)(sep - text) : size - 2, rem_len = sep ? size - 2 - set_len - 1 : 0;
  char *set = malloc(set_len ? set_len : 1), *rem = malloc(rem_len ? rem_len : 1);
  if (!set || !rem) {
    free(set);
    free(rem);
    return 0;
  }
  memcpy(set, text, set_len);
  if (sep) memcpy(rem, sep + 1, rem_len);
  ddbs_buf out = DDBS_BUF_INIT, ref = DDBS_BUF_INIT;
  char e_out[256] = "", e_ref[256] = "";
  ddbs_buf_append_str(&out, "<");
  ddbs_buf_append_str(&ref, "<");
#define ARGS                                                                                                       \
  "sessions", "sessionId", "k\xc3\xa9y", 4, (flags & 64) ? NULL : "expires", (flags & 32) ? 1700000000LL : -1LL, \
      (flags & 1) ? set : NULL, set_len, (flags & 2) ? rem : NULL, rem_len, (flags & 4) ? &cond : NULL
  int rc = ddbs_body_update_item(ARGS, &out, e_out, sizeof e_out);
  int r_ref = ddbs_ref_body_update_item(ARGS, &ref, e_ref, sizeof e_ref);
#undef ARGS
  if (rc != r_ref || !same_bytes(&out, &ref)) fuzz_mismatch("UpdateItem body vs reference", &out, &ref, rc, r_ref);
  if (rc != 0 && (!e_out[0] || strchr(e_out, '\n'))) fuzz_mismatch("error without a one-line reason", &out, &ref, rc, r_ref);
  if (rc != 0 && out.len != 1) fuzz_mismatch("failed but wrote", &out, &ref, rc, r_ref);
  if ((rc == DDBS_E_TOO_LARGE || rc == DDBS_E_TOO_MANY) && strcmp(e_out, e_ref) != 0) {
    fprintf(stderr, "%s\n%s\n", e_out, e_ref);
    fuzz_mismatch("another size in the message", &out, &ref, rc, r_ref);
  }
  if (rc == 0) check_body(&out, &ref, rc);

  /* The whole session (ddbs_body_write_session) with set_json as the session, the user and
   * creation attributes by flag: it succeeds exactly when the jansson reference's PutItem does
   * (but for the item size, counted with the attributes), its body is well formed, and its :s value
   * is the reference PutItem's "session" attribute, byte for byte. */
  ddbs_item_attrs attrs = {"userId", (flags & 1) ? "u" : NULL, 1, (flags & 2) ? "createdAt" : NULL, 1700000000};
  ddbs_write_cond wcond = cond;
  wcond.attrs = (flags & 128) ? NULL : &attrs;
  if (wcond.version_key && wcond.new_version == 0) wcond.new_version = 3;
  ddbs_buf_reset(&out);
  ddbs_buf_reset(&ref);
  int w = ddbs_body_write_session("sessions", "sessionId", "k", 1, "expires", 1700000000LL, set, set_len, NULL, 0, 0,
                                  (flags & 4) ? &wcond : NULL, &out, e_out, sizeof e_out);
  int p = ddbs_ref_body_put_item("sessions", "sessionId", "k", 1, NULL, -1, set, set_len, &ref, e_ref, sizeof e_ref);
  if (w == DDBS_E_NOMEM || p == DDBS_E_NOMEM) goto done;
  char e_cond[256];
  int cond_bad = (flags & 4) && ddbs_check_cond("sessionId", "expires", &wcond, 0, e_cond, sizeof e_cond) != 0;
  if (!cond_bad && w != DDBS_E_TOO_LARGE && (w == 0) != (p == 0)) fuzz_mismatch("write_session vs reference PutItem", &out, &ref, w, p);
  if (w != 0 && out.len != 0) fuzz_mismatch("write_session failed but wrote", &out, &ref, w, p);
  if (w == 0) {
    char why[96];
    if (!ddbs_ref_expression_body_ok(out.data, out.len, 1, why, sizeof why)) {
      fprintf(stderr, "write_session body refused: %s\n", why);
      fuzz_mismatch("write_session body is not well formed", &out, &ref, w, p);
    }
    /* the reference: {"TableName":"sessions","Item":{"sessionId":{"S":"k"},"session":VALUE}} */
    static const char head[] = "{\"TableName\":\"sessions\",\"Item\":{\"sessionId\":{\"S\":\"k\"},\"session\":";
    const char *at = strstr(out.data, "\":s\":");
    size_t vlen = p == 0 && ref.len > sizeof head + 1 ? ref.len - (sizeof head - 1) - 2 : 0;
    if (!at || p != 0 || memcmp(ref.data, head, sizeof head - 1) != 0 ||
        strlen(at + 5) != vlen + 2 || memcmp(at + 5, ref.data + sizeof head - 1, vlen) != 0)
      fuzz_mismatch("write_session's session value differs from PutItem's", &out, &ref, w, p);
  }
done:
  ddbs_buf_free(&out);
  ddbs_buf_free(&ref);
  free(set);
  free(rem);
  return 0;
}
