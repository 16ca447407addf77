/* fuzz_sigv4: the SigV4 canonical request (and the rest of the signing chain) from arbitrary
 * method, path, query, header and payload bytes. Property: no crash, leak or UB; 0 or -1. The
 * input is split at '\n': method, path, query, then "name:value" header lines up to an empty
 * line, then the payload. The first byte's low bit selects normalize_path. */
#include <stddef.h>
#include <stdint.h>

#include "sigv4.h"
#include "fuzz_common.h"

#define MAX_HEADERS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  char *copy = malloc(size + 1);
  if (!copy) return 0;
  memcpy(copy, data + 1, size - 1);
  copy[size - 1] = '\0';
  size_t n = size - 1;
  char *field[3] = {NULL, NULL, NULL};
  ddbs_sigv4_header headers[MAX_HEADERS];
  size_t nh = 0, i = 0;
  for (int f = 0; f < 3; f++) { /* method, path, query: NUL-terminated strings */
    field[f] = copy + i;
    while (i < n && copy[i] != '\n') i++;
    if (i < n) copy[i++] = '\0';
  }
  while (i < n && nh < MAX_HEADERS) { /* header lines: may hold NUL bytes (lengths are given) */
    size_t start = i;
    while (i < n && copy[i] != '\n') i++;
    size_t end = i;
    if (i < n) i++;
    if (end == start) break;
    char *colon = memchr(copy + start, ':', end - start);
    if (!colon) continue;
    headers[nh].name = copy + start;
    headers[nh].name_len = (size_t)(colon - (copy + start));
    headers[nh].value = colon + 1;
    headers[nh].value_len = end - (size_t)(colon + 1 - copy);
    nh++;
  }
  ddbs_sigv4_request req = {field[0], field[1][0] ? field[1] : NULL, field[2], headers, nh,
                            i < n ? copy + i : NULL, n - i, data[0] & 1};
  ddbs_buf canonical = DDBS_BUF_INIT, signed_headers = DDBS_BUF_INIT, sts = DDBS_BUF_INIT, auth = DDBS_BUF_INIT;
  if (ddbs_sigv4_canonical_request(&req, &canonical, &signed_headers) == 0) {
    unsigned char key[32];
    char hex[65];
    if (ddbs_sigv4_string_to_sign("20150830T123600Z", "20150830/us-east-1/service/aws4_request", canonical.data,
                                  canonical.len, &sts) == 0 &&
        ddbs_sigv4_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "service", key) == 0 &&
        ddbs_sigv4_signature(key, sts.data, sts.len, hex) == 0)
      ddbs_sigv4_authorization("AKIDEXAMPLE", "20150830/us-east-1/service/aws4_request", signed_headers.data, hex,
                               &auth);
  }
  /* the DynamoDB one-call path with arbitrary host/target/token/body */
  ddbs_buf dauth = DDBS_BUF_INIT;
  unsigned char dkey[32] = {1, 2, 3};
  ddbs_sigv4_dynamodb d = {"AKIDEXAMPLE", field[2], "us-east-1", "20150830T123600Z", field[0], field[1],
                           i < n ? copy + i : NULL, n - i};
  ddbs_sigv4_sign_dynamodb(&d, dkey, &dauth);
  ddbs_buf_free(&canonical);
  ddbs_buf_free(&signed_headers);
  ddbs_buf_free(&sts);
  ddbs_buf_free(&auth);
  ddbs_buf_free(&dauth);
  free(copy);
  return 0;
}
