#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/) with clang and runs each for a while.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [BUILD_DIR]     (defaults: 60, build/asan)
#
# BUILD_DIR is a build of the `asan` preset (clang-14, ASan + UBSan, the library with libFuzzer's
# coverage instrumentation, VOXGRAD_BUILD_FUZZ=ON): configured with that preset if it does not exist
# yet, refused if it was configured without VOXGRAD_BUILD_FUZZ. Builds the fuzz targets (nothing to do
# after `cmake --build --preset asan`), then runs fuzz_conv, fuzz_safetensors and fuzz_nifti side by side,
# each on a fresh copy of its committed seed corpus (tests/fuzz/corpus/<target>/ is never
# written), with -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10. Prints each target's
# stat::number_of_executed_units; exits non-zero if any target reports a finding (crash, sanitizer
# error, wrong result, timeout, leak or out-of-memory). Findings are copied to BUILD_DIR/fuzz-findings/.
# Environment: CXX overrides the compiler of a new BUILD_DIR; FUZZ_JOBS (default 2) the build
# parallelism; FUZZ_TARGETS (default "fuzz_conv fuzz_safetensors fuzz_nifti") the targets to run.
set -euo pipefail

seconds="${1:-60}"
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${2:-$root/build/asan}"
jobs="${FUZZ_JOBS:-2}"
targets="${FUZZ_TARGETS:-fuzz_conv fuzz_safetensors fuzz_nifti}"
: "${CXX:=clang++-14}"

if ! command -v "$CXX" >/dev/null; then
  echo "fuzz.sh: $CXX not found (Debian: apt-get install clang-14 libclang-rt-14-dev lld-14)" >&2
  exit 2
fi

if [ ! -f "$build/CMakeCache.txt" ]; then
  (cd "$root" && cmake --preset asan -B "$build" -DCMAKE_CXX_COMPILER="$CXX")
fi
if ! grep -q '^VOXGRAD_BUILD_FUZZ:BOOL=ON$' "$build/CMakeCache.txt"; then
  echo "fuzz.sh: $build was configured without VOXGRAD_BUILD_FUZZ=ON (use the asan preset's build/asan, or a new directory)" >&2
  exit 2
fi
# shellcheck disable=SC2086
cmake --build "$build" -j"$jobs" --target $targets

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$root/tests/fuzz/lsan.supp:print_suppressions=0}"

work="$build/fuzz-run"
findings="$build/fuzz-findings"
mkdir -p "$findings"
# The targets run side by side (libFuzzer is single-threaded; a 2-core machine has them share it), and
# their results are read in order once all have stopped.
pids=()
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
  "$build/tests/fuzz/$target" "$corpus" "${dict[@]}" -max_total_time="$seconds" -rss_limit_mb=2048 \
    -malloc_limit_mb=1024 -timeout=10 -print_final_stats=1 -artifact_prefix="$artifacts" >"$log" 2>&1 &
  pids+=($!)
done
status=0
i=0
for target in $targets; do
  corpus_name="${target#fuzz_}"
  artifacts="$work/$corpus_name-artifacts/"
  log="$work/$target.log"
  set +e
  wait "${pids[$i]}"
  rc=$?
  set -e
  i=$((i + 1))
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
