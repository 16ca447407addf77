/* fuzz_parse_error: ddbs_parse_error on arbitrary bytes, with buffers of several sizes.
 * Properties: no crash, leak or UB; the same result, code and message as the jansson reference
 * (ddbs_ref_parse_error); code and message are always NUL-terminated within their buffers; on
 * failure both are empty; a truncated copy never ends in a cut UTF-8 sequence (the source string
 * is valid UTF-8, as jansson guarantees). */
#include <stddef.h>
#include <stdint.h>

#include "ddb_json.h"
#include "ddb_json_ref.h"
#include "fuzz_common.h"

static int utf8_complete_tail(const char *s) {
  size_t n = strlen(s), i = n;
  /* find the start of the last sequence */
  while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) i--;
  if (i == 0) return n == 0 || ((unsigned char)s[0] & 0xC0) != 0x80;
  unsigned c = (unsigned char)s[i - 1];
  size_t want = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
  return n - (i - 1) == want;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const size_t sizes[] = {1, 2, 5, 64, 400};
  char *body = malloc(size ? size : 1);
  if (!body) return 0;
  memcpy(body, data, size);
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    char code[400], message[400];
    size_t cs = sizes[i], ms = sizes[(i + 2) % 5];
    memset(code, 'x', sizeof code);
    memset(message, 'x', sizeof message);
    int rc = ddbs_parse_error(body, size, code, cs, message, ms);
    char ref_code[400], ref_message[400];
    int ref_rc = ddbs_ref_parse_error(body, size, ref_code, cs, ref_message, ms);
    if (rc != ref_rc || strcmp(code, ref_code) != 0 || strcmp(message, ref_message) != 0) {
      fprintf(stderr, "MISMATCH: error answer (sizes %zu, %zu): rc %d \"%s\" \"%s\", reference rc %d \"%s\" \"%s\"\n", cs,
              ms, rc, code, message, ref_rc, ref_code, ref_message);
      abort();
    }
    if (!memchr(code, '\0', cs) || !memchr(message, '\0', ms)) abort();
    if (rc != 0 && (code[0] || message[0])) abort();
    if (rc != 0 && rc != DDBS_E_RESPONSE) abort();
    if (!utf8_complete_tail(code) || !utf8_complete_tail(message)) {
      fprintf(stderr, "cut UTF-8: code \"%s\" message \"%s\"\n", code, message);
      abort();
    }
  }
  ddbs_parse_error(body, size, NULL, 0, NULL, 0);
  free(body);
  return 0;
}
