/* fuzz_number: ddbs_number_is_canonical, the check that lets the fast paths copy a number text
 * verbatim. Property: whenever it says yes, ddbs_format_double(strtod(text)) is that very text
 * (and when the text is a double's own formatting with up to 15 digits, it says yes). */
#include <stddef.h>
#include <stdint.h>

#include "ddb_json.h"
#include "ddb_json_ref.h"
#include "fuzz_common.h"

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
