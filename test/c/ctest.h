/* ctest.h: a minimal unit-test harness for the C core (plain gcc, no Node).
 * A test case is a function; CHECK records failures with file:line; the runner prints
 * "N passed, N failed" (test cases) as its last line and exits non-zero on any failure. */
#ifndef DDBS_CTEST_H
#define DDBS_CTEST_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern int ctest_case_failed;  /* set by CHECK within the current case */
extern int ctest_passed, ctest_failed, ctest_skipped;
extern const char *ctest_case_name;

#define CHECK(cond)                                                                    \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      ctest_case_failed = 1;                                                           \
      fprintf(stderr, "  FAIL %s (%s:%d): %s\n", ctest_case_name, __FILE__, __LINE__, #cond); \
    }                                                                                  \
  } while (0)

#define CHECK_STREQ(a, b)                                                              \
  do {                                                                                 \
    const char *ctest_a_ = (a), *ctest_b_ = (b);                                       \
    if (!ctest_a_ || !ctest_b_ || strcmp(ctest_a_, ctest_b_) != 0) {                   \
      ctest_case_failed = 1;                                                           \
      fprintf(stderr, "  FAIL %s (%s:%d): %s == %s\n    got:      \"%s\"\n    expected: \"%s\"\n", \
              ctest_case_name, __FILE__, __LINE__, #a, #b, ctest_a_ ? ctest_a_ : "(null)",  \
              ctest_b_ ? ctest_b_ : "(null)");                                         \
    }                                                                                  \
  } while (0)

/* Runs fn as one test case named name. */
void ctest_run(const char *name, void (*fn)(void));
/* Records a skipped case with a reason (printed). */
void ctest_skip(const char *name, const char *why);

/* Suites, one per test file. */
void suite_sigv4(void);
void suite_ddb_json(void);
void suite_ddb_update(void);
void suite_crc32(void);
void suite_http1(void);
void suite_request(void);
void suite_blob(void);
void suite_base64(void);

/* splitmix64: a repeatable pseudo-random sequence for randomised cases; *state is the seed. */
static inline uint64_t ctest_splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

#endif
