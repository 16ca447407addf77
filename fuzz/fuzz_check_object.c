/* fuzz_check_object: ddbs_json_check_object on arbitrary bytes, against jansson.
 * The contract: the check accepts exactly the RFC 8259 texts whose value is an object, with
 * strict UTF-8, no lone surrogate escapes, objects and arrays nested at most DDBS_CHECK_MAX_DEPTH
 * deep. jansson (json_loadb, JSON_ALLOW_NUL) reads the same language but for three differences,
 * which are the only ones allowed: it refuses numbers out of its range (a double's, or a long
 * long's for integers: json_error_numeric_overflow) and NUL in object keys
 * (json_error_null_byte_in_key), which RFC 8259 allows; and it takes nesting up to 2048 levels.
 * (And jansson 2.14 loses a NUL byte that follows a number or a literal: "{\"a\":1\0}" reads as an
 * object. A raw NUL is never JSON, so the check refuses it.)
 * Properties: no crash, leak or UB; jansson takes an object the check refuses only when it nests
 * deeper than the limit (or for that NUL); the check takes nothing jansson refuses except for
 * those two errors. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "ddb_json.h"
#include "fuzz_common.h"

/* Containers nested in v, v itself included. */
static int depth_of(json_t *v) {
  int max = 0;
  if (json_is_object(v)) {
    const char *k;
    json_t *m;
    json_object_foreach(v, k, m) {
      int d = depth_of(m);
      if (d > max) max = d;
    }
  } else if (json_is_array(v)) {
    size_t i;
    json_t *m;
    json_array_foreach(v, i, m) {
      int d = depth_of(m);
      if (d > max) max = d;
    }
  } else {
    return 0;
  }
  return max + 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *body = malloc(size ? size : 1); /* exactly size bytes: reading past the end is caught */
  if (!body) return 0;
  memcpy(body, data, size);
  int rc = ddbs_json_check_object(body, size);
  if (rc != 0 && rc != DDBS_E_RESPONSE) abort();
  json_error_t jerr;
  json_t *v = json_loadb(body, size, JSON_ALLOW_NUL, &jerr);
  if (rc != 0 && json_is_object(v) && depth_of(v) <= DDBS_CHECK_MAX_DEPTH && !memchr(body, '\0', size)) {
    fprintf(stderr, "MISMATCH: jansson takes an object (depth %d) the check refuses: %.300s\n", depth_of(v), body);
    abort();
  }
  if (rc == 0 && !json_is_object(v)) {
    enum json_error_code code = json_error_code(&jerr);
    if (v || (code != json_error_numeric_overflow && code != json_error_null_byte_in_key)) {
      fprintf(stderr, "MISMATCH: the check takes what jansson refuses (%s): %.300s\n", v ? "not an object" : jerr.text,
              body);
      abort();
    }
  }
  json_decref(v);
  free(body);
  return 0;
}
