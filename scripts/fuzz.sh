#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/) with clang and runs each for a while.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [BUILD_DIR]     (defaults: 60, build/h_fuzz)
#
# Configures BUILD_DIR with CC=clang-14 CXX=clang++-14 -DVOXGRAD_BUILD_FUZZ=ON (only if not yet
# configured), builds with -j2, then runs fuzz_conv, fuzz_safetensors and fuzz_nifti one after the other, each
# on a fresh copy of its committed seed corpus (tests/fuzz/corpus/<target>/ is never written), with
# ASan + UBSan, -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10. Prints each target's
# stat::number_of_executed_units; exits non-zero if any target reports a finding (crash, sanitizer
# error, wrong result, timeout, leak or out-of-memory). Findings are copied to BUILD_DIR/fuzz-findings/.
# Environment: CC / CXX override the compilers; FUZZ_JOBS (default 2) the build parallelism;
# FUZZ_TARGETS (default "fuzz_conv fuzz_safetensors fuzz_nifti") the targets to run.
set -euo pipefail

seconds="${1:-60}"
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${2:-$root/build/h_fuzz}"
jobs="${FUZZ_JOBS:-2}"
targets="${FUZZ_TARGETS:-fuzz_conv fuzz_safetensors fuzz_nifti}"
: "${CC:=clang-14}" "${CXX:=clang++-14}"

if ! command -v "$CXX" >/dev/null; then
  echo "fuzz.sh: $CXX not found (Debian: apt-get install clang-14 libclang-rt-14-dev)" >&2
  exit 2
fi

if [ ! -f "$build/CMakeCache.txt" ]; then
  # -O1 and line tables only, as libFuzzer's documentation builds (it compiles faster than -O2 -g).
  CC="$CC" CXX="$CXX" cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVOXGRAD_BUILD_FUZZ=ON \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only -DNDEBUG" -DVOXGRAD_BUILD_TESTS=OFF -DVOXGRAD_BUILD_EXAMPLES=OFF
fi
# shellcheck disable=SC2086
cmake --build "$build" -j"$jobs" --target $targets

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$root/tests/fuzz/lsan.supp:print_suppressions=0}"

work="$build/fuzz-run"
findings="$build/fuzz-findings"
mkdir -p "$findings"
status=0
for target in $targets; do
  corpus_name="${target#fuzz_}"
  seeds="$root/tests/fuzz/corpus/$corpus_name"
  corpus="$work/$corpus_name"
  artifacts="$work/$corpus_name-artifacts/"
  rm -rf "$corpus" "$artifacts"
  mkdir -p "$corpus" "$artifacts"
  cp -r "$seeds"/. "$corpus"/  # the committed corpus stays as it is
  dict=()
  [ -f "$root/tests/fuzz/$corpus_name.dict" ] && dict=(-dict="$root/tests/fuzz/$corpus_name.dict")
  log="$work/$target.log"
  echo "fuzz.sh: $target for ${seconds}s (log: $log)"
  set +e
  "$build/tests/fuzz/$target" "$corpus" "${dict[@]}" -max_total_time="$seconds" -rss_limit_mb=2048 \
    -malloc_limit_mb=1024 -timeout=10 -print_final_stats=1 -artifact_prefix="$artifacts" >"$log" 2>&1
  rc=$?
  set -e
  grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb|^stat::new_units_added' "$log" | awk '!seen[$0]++' |
    sed "s/^/  $target /"
  if [ "$rc" -ne 0 ] || compgen -G "$artifacts*" >/dev/null; then
    echo "fuzz.sh: $target FOUND A PROBLEM (exit $rc); last lines of $log:" >&2
    tail -n 40 "$log" >&2
    cp -r "$artifacts". "$findings"/ 2>/dev/null || true
    echo "fuzz.sh: reproducer(s) in $findings (rerun: $build/tests/fuzz/$target FILE)" >&2
    status=1
  fi
done
exit "$status"
