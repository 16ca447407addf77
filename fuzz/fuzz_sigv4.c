/* fuzz_sigv4: SigV4 from arbitrary bytes.
 *   1. the generic stages (sigv4_ref.c): the canonical request of an arbitrary method, path,
 *      query, headers and payload, then string to sign, signature and Authorization. Property: no
 *      crash, leak or UB; 0 or -1.
 *   2. the production DynamoDB signer (sigv4.c, one signer reused across inputs, its key switched)
 *      against the reference one-shot ddbs_sigv4_sign_dynamodb (the generic stages) on arbitrary
 *      access key id, token, region, date, host, target and body. Properties: the same return
 *      code and byte-identical output; on failure nothing appended; a request with CR or LF in a
 *      value sent as (part of) a header field is refused; on success the value is one line that
 *      starts "AWS4-HMAC-SHA256 Credential=<access key id>/".
 * The input is split at '\n': three fields (method, path, query), then "name:value" header lines
 * up to an empty line, then the payload. The first byte holds flags: bit 0 normalize_path; bit 1
 * region = field 0 (else "us-east-1"); bit 2 access key id = field 1 (else "AKIDEXAMPLE"); bit 3
 * amz_date = field 2 (else "20150830T123600Z"); bits 4-7 pick the signing key. For the DynamoDB
 * request, host = field 0, target = field 1, token = field 2; in these a VT (0x0b) becomes LF (the
 * split leaves none). */
#include <stddef.h>
#include <stdint.h>

#include "sigv4_ref.h"
#include "fuzz_common.h"

#define MAX_HEADERS 16
#define AMZ_DATE "20150830T123600Z"
#define SCOPE "20150830/us-east-1/service/aws4_request"

static int has_line_break(const char *s) { return s && (strchr(s, '\r') || strchr(s, '\n')); }

static void fuzz_generic(char *fields[3], ddbs_sigv4_header *headers, size_t nh, const char *payload,
                         size_t payload_len, int normalize) {
  ddbs_sigv4_request req = {fields[0], fields[1][0] ? fields[1] : NULL, fields[2], headers, nh,
                            payload, payload_len, normalize};
  ddbs_buf canonical = DDBS_BUF_INIT, signed_headers = DDBS_BUF_INIT, sts = DDBS_BUF_INIT, auth = DDBS_BUF_INIT;
  if (ddbs_sigv4_canonical_request(&req, &canonical, &signed_headers) == 0) {
    unsigned char key[32];
    char hex[65];
    if (ddbs_sigv4_string_to_sign(AMZ_DATE, SCOPE, canonical.data, canonical.len, &sts) == 0 &&
        ddbs_sigv4_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "service", key) == 0 &&
        ddbs_sigv4_signature(key, sts.data, sts.len, hex) == 0)
      ddbs_sigv4_authorization("AKIDEXAMPLE", SCOPE, signed_headers.data, hex, &auth);
  } else if (canonical.len || signed_headers.len) {
    abort(); /* a failure appends nothing */
  }
  ddbs_buf_free(&canonical);
  ddbs_buf_free(&signed_headers);
  ddbs_buf_free(&sts);
  ddbs_buf_free(&auth);
}

static ddbs_sigv4_signer *g_signer; /* reused across inputs, as the worker reuses its own */

static void fuzz_dynamodb(const ddbs_sigv4_dynamodb *d, unsigned key_pick) {
  unsigned char key[32];
  for (int i = 0; i < 32; i++) key[i] = (unsigned char)(key_pick * 31 + (unsigned)i);
  if (!g_signer && !(g_signer = ddbs_sigv4_signer_new())) abort();
  if (ddbs_sigv4_signer_set_key(g_signer, key) != 0) abort();
  ddbs_buf fast = DDBS_BUF_INIT, ref = DDBS_BUF_INIT;
  ddbs_buf_append_str(&fast, "x");
  ddbs_buf_append_str(&ref, "x");
  int rf = ddbs_sigv4_sign_dynamodb_with(g_signer, d, &fast);
  int rr = ddbs_sigv4_sign_dynamodb(d, key, &ref);
  if (rf != rr || !same_bytes(&fast, &ref)) fuzz_mismatch("signer vs reference", &fast, &ref, rf, rr);
  if (rf != 0 && rf != -1) abort();
  if (rf != 0 && fast.len != 1) abort(); /* a failure appends nothing */
  if (rf == 0) {
    if (has_line_break(d->access_key_id) || has_line_break(d->session_token) || has_line_break(d->region) ||
        has_line_break(d->host) || has_line_break(d->target))
      fuzz_mismatch("a value with CR/LF was signed", &fast, &ref, rf, rr);
    static const char prefix[] = "xAWS4-HMAC-SHA256 Credential=";
    size_t akid_len = strlen(d->access_key_id);
    if (fast.len < sizeof prefix - 1 + akid_len + 1 || memcmp(fast.data, prefix, sizeof prefix - 1) != 0 ||
        memcmp(fast.data + sizeof prefix - 1, d->access_key_id, akid_len) != 0 ||
        fast.data[sizeof prefix - 1 + akid_len] != '/' || strpbrk(fast.data, "\r\n") ||
        strlen(fast.data) != fast.len)
      fuzz_mismatch("malformed Authorization", &fast, &ref, rf, rr);
  }
  ddbs_buf_free(&fast);
  ddbs_buf_free(&ref);
}

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
  const char *payload = i < n ? copy + i : NULL;
  fuzz_generic(field, headers, nh, payload, n - i, data[0] & 1);

  /* the fields cannot hold LF (they are split at it): a VT (0x0b) in them stands for one */
  for (int f = 0; f < 3; f++)
    for (char *c = field[f]; *c; c++)
      if (*c == '\v') *c = '\n';

  ddbs_sigv4_dynamodb d = {(data[0] & 4) ? field[1] : "AKIDEXAMPLE", field[2],
                           (data[0] & 2) ? field[0] : "us-east-1", (data[0] & 8) ? field[2] : AMZ_DATE,
                           field[0], field[1], payload, n - i};
  fuzz_dynamodb(&d, data[0] >> 4);
  free(copy);
  return 0;
}
