/* ctest_main.c: runs every suite and prints "N passed, N failed". */
#include <signal.h>
#include <stdio.h>

#include "ctest.h"

int ctest_case_failed, ctest_passed, ctest_failed, ctest_skipped;
const char *ctest_case_name = "";

void ctest_run(const char *name, void (*fn)(void)) {
  ctest_case_name = name;
  ctest_case_failed = 0;
  fn();
  if (ctest_case_failed) {
    ctest_failed++;
    printf("not ok - %s\n", name);
  } else {
    ctest_passed++;
    printf("ok - %s\n", name);
  }
}

void ctest_skip(const char *name, const char *why) {
  ctest_skipped++;
  printf("skip - %s: %s\n", name, why);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  suite_sigv4();
  suite_ddb_json();
  suite_ddb_update();
  suite_crc32();
  suite_http1();
  suite_request();
  suite_blob();
  suite_base64();
  if (ctest_skipped)
    printf("%d passed, %d failed, %d skipped\n", ctest_passed, ctest_failed, ctest_skipped);
  else
    printf("%d passed, %d failed\n", ctest_passed, ctest_failed);
  return ctest_failed ? 1 : 0;
}
