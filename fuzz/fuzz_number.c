/* fuzz_number: the number texts of ddb_number.c.
 * Properties: whenever ddbs_number_is_canonical says yes (the converters then copy the text
 * verbatim), ddbs_format_double(strtod(text)) is that very text (and when the text is a double's
 * own formatting with up to 15 digits, it says yes); ddbs_json_number_len takes exactly the JSON
 * number tokens jansson takes, and ddbs_json_number_ok says what jansson says about their range,
 * with and without JSON_DECODE_INT_AS_REAL. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "ddb_number.h"
#include "fuzz_common.h"

static int json_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Does jansson read text as one number token: "[text]" as an array of one number, text not
 * padded with whitespace (which jansson would skip)? */
static int jansson_number(const char *text, size_t size, size_t flags) {
  char arr[80];
  /* (and no NUL: jansson loses one that follows a number, see ddb_ref.c) */
  if (size == 0 || json_ws(text[0]) || json_ws(text[size - 1]) || memchr(text, '\0', size)) return 0;
  arr[0] = '[';
  memcpy(arr + 1, text, size);
  arr[size + 1] = ']';
  json_t *a = json_loadb(arr, size + 2, flags, NULL);
  int ok = json_array_size(a) == 1 && json_is_number(json_array_get(a, 0));
  json_decref(a);
  return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char text[64], again[32];
  if (size >= sizeof text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  int canonical = ddbs_number_is_canonical(text, size);
  if (canonical) {
    char *end;
    double d = strtod(text, &end);
    if (end != text + size || ddbs_format_double(d, again) < 0 || strcmp(again, text) != 0) {
      fprintf(stderr, "claimed canonical: \"%s\" (it prints as \"%s\")\n", text, again);
      abort();
    }
  }
  /* the JSON grammar and jansson's range rules */
  int token = size > 0 && ddbs_json_number_len((const unsigned char *)text, size) == size;
  for (int as_real = 0; as_real < 2; as_real++) {
    int ours = token && ddbs_json_number_ok(text, size, as_real);
    int theirs = jansson_number(text, size, as_real ? JSON_DECODE_INT_AS_REAL : 0);
    if (ours != theirs) {
      fprintf(stderr, "number \"%s\" (int_as_real %d): ours %d, jansson %d\n", text, as_real, ours, theirs);
      abort();
    }
  }
  /* the other way: the formatting of the double the bytes spell (when they spell one) */
  if (size == 8) {
    double d;
    memcpy(&d, data, 8);
    int n = ddbs_format_double(d, again);
    if (n > 0) {
      size_t digits = 0;
      for (int i = 0; i < n && again[i] != 'e'; i++) digits += again[i] >= '0' && again[i] <= '9';
      int e = 0;
      const char *x = strchr(again, 'e');
      if (x) e = atoi(x + 1);
      if (digits <= 15 && e > -300 && e < 300 && !ddbs_number_is_canonical(again, (size_t)n)) {
        fprintf(stderr, "missed canonical: \"%s\"\n", again);
        abort();
      }
    }
  }
  return 0;
}
