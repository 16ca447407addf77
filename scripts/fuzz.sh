#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ (clang, -fsanitize=fuzzer,address,undefined) and runs each
# for FUZZ_SECONDS (default 60) on a scratch corpus (fuzz/corpus-work/<target>, gitignored) seeded
# from fuzz/corpus/<target>. Prints per target: executions, coverage, new corpus entries, crashes.
# Exits non-zero if any target crashed (crash inputs are kept in fuzz/build/artifacts/).
#
#   bash scripts/fuzz.sh                       all targets, 60 s each
#   FUZZ_SECONDS=600 bash scripts/fuzz.sh get_item put_item
#   FUZZ_JOBS=2 ...                            run targets two at a time
#   CC=clang-14 ...                            the compiler (default: clang, else clang-14)
#
# Reproduce a crash: fuzz/build/fuzz_<target> fuzz/build/artifacts/<target>-crash-...
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_EACH=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-1}
ALL_TARGETS=(get_item put_item update_item parse_error attr_to_json number check_object sigv4 http1 evaluate blob)
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=("${ALL_TARGETS[@]}")

CC=${CC:-}
if [ -z "$CC" ]; then
  if command -v clang >/dev/null; then CC=clang; elif command -v clang-14 >/dev/null; then CC=clang-14; else
    echo "fuzz.sh: clang not found (apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 2; fi
fi

max_len() {
  case "$1" in
    get_item) echo 8192 ;;
    put_item) echo 8192 ;;
    update_item) echo 8192 ;;
    attr_to_json) echo 4096 ;;
    parse_error) echo 1024 ;;
    sigv4) echo 2048 ;;
    number) echo 63 ;;
    check_object) echo 2048 ;;
    http1) echo 4096 ;;
    evaluate) echo 4096 ;;
    blob) echo 4096 ;;
    *) echo 4096 ;;
  esac
}
sources() {
  case "$1" in
    sigv4) echo "src/sigv4.c src/sigv4_ref.c src/buf.c" ;;
    http1) echo "src/http1.c src/buf.c" ;;
    blob) echo "src/blob.c src/base64.c src/buf.c" ;;
    evaluate) echo "src/request.c src/http1.c src/crc32.c src/sigv4.c src/buf.c src/ddb_number.c src/ddb_json.c src/ddb_update.c src/ddb_ref.c src/blob.c src/base64.c" ;;
    update_item) echo "src/ddb_number.c src/ddb_json.c src/ddb_update.c src/ddb_ref.c src/buf.c" ;;
    *) echo "src/ddb_number.c src/ddb_json.c src/ddb_ref.c src/buf.c" ;;
  esac
}
# compiler and linker flags some targets need beyond jansson and libcrypto
extra_flags() {
  case "$1" in
    blob|evaluate) pkg-config --cflags --libs libzstd ;;
  esac
}

BUILD=fuzz/build
mkdir -p "$BUILD/artifacts" fuzz/corpus-work
CFLAGS="-std=c11 -D_POSIX_C_SOURCE=200809L -g -O1 -fno-omit-frame-pointer -Wall -Wextra \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Isrc -Ifuzz \
  $(pkg-config --cflags jansson libcrypto)"
LIBS="$(pkg-config --libs jansson libcrypto)"

for t in "${TARGETS[@]}"; do
  [ -f "fuzz/fuzz_$t.c" ] || { echo "fuzz.sh: no target fuzz/fuzz_$t.c" >&2; exit 2; }
  echo "== build fuzz_$t"
  # shellcheck disable=SC2046
  $CC $CFLAGS -o "$BUILD/fuzz_$t" "fuzz/fuzz_$t.c" $(sources "$t") $LIBS $(extra_flags "$t")
done

run_one() {
  local t=$1 work="fuzz/corpus-work/$1" log="$BUILD/fuzz_$1.log" dict=()
  mkdir -p "$work"
  [ -d "fuzz/corpus/$t" ] && cp -n fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
  case "$t" in get_item|put_item|update_item|attr_to_json|parse_error|number|check_object) dict=(-dict=fuzz/json.dict) ;; esac
  # leaks are reported by LeakSanitizer (detect_leaks=1); a slow input (> 10 s) counts as a crash
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$BUILD/fuzz_$t" "$work" "${dict[@]}" -max_len="$(max_len "$t")" -max_total_time="$SECONDS_EACH" \
      -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$t-" \
      >"$log" 2>&1
}

pids=()
status=0
for t in "${TARGETS[@]}"; do
  echo "== run fuzz_$t for ${SECONDS_EACH}s (log: $BUILD/fuzz_$t.log)"
  run_one "$t" &
  pids+=($!)
  if [ ${#pids[@]} -ge "$JOBS" ]; then
    for p in "${pids[@]}"; do wait "$p" || true; done
    pids=()
  fi
done
for p in "${pids[@]}"; do wait "$p" || true; done

printf '\n%-14s %12s %8s %8s %8s  %s\n' target executions cov ft corpus crashes
for t in "${TARGETS[@]}"; do
  log="$BUILD/fuzz_$t.log"
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
  crashes=$(grep -cE '^==[0-9]+==ERROR|^MISMATCH|runtime error:|SUMMARY: libFuzzer|deadly signal' "$log" || true)
  printf '%-14s %12s %8s %8s %8s  %s\n' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$crashes"
  if [ "$crashes" != 0 ] || ! grep -q 'Done [0-9]* runs' "$log"; then
    status=1
    echo "   -> $t FAILED; see $log; inputs: $(ls "$BUILD"/artifacts/"$t"-* 2>/dev/null | tr '\n' ' ')"
    grep -m3 -E 'MISMATCH|ERROR|runtime error' "$log" | sed 's/^/      /'
  fi
done
exit $status
