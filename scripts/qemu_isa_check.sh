#!/usr/bin/env bash
# Runs the conv tests, and those of the loops that round by FMA (core/detail/fma_loop.h) and of the
# normalisation loops (ops/detail/norm_loops.h), of a portable build (-DVOXGRAD_NATIVE=OFF, as a
# distribution would package it) on CPUs this machine may not be: Debian's qemu-user emulating a
# Haswell (AVX2 + FMA, no AVX-512) and a Westmere (SSE4.2, no AVX). Each must pick its own kernels
# (the test CpuIsa.* checks the set cpuid reports against VOXGRAD_EXPECT_ISA), give the reference
# results and never execute an instruction the CPU lacks (qemu stops the process with SIGILL).
#
#   scripts/qemu_isa_check.sh [BUILD_DIR]     (default build/portable)
#
# Emulation is slow: the filter below runs the per-ISA tests, the hand-picked conv references and the
# gradient checks and a short sweep of the Winograd path, not the long random sweeps (those run natively
# per ISA in ctest: avx2.*, baseline.*).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build/portable}"
qemu="$(command -v qemu-x86_64 || true)"
if [ -z "$qemu" ]; then
  echo "qemu_isa_check.sh: qemu-x86_64 not found (Debian: apt-get install qemu-user)" >&2
  exit 2
fi
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DVOXGRAD_NATIVE=OFF -DVOXGRAD_BUILD_EXAMPLES=OFF
fi
cmake --build "$build" -j2 --target ops_test_conv_isa ops_test_conv_reference_cases ops_test_conv_grad \
  ops_test_conv_winograd core_test_fma_loop nn_test_normalization_isa
# The hand-picked conv references but the thread-count one (its layers are large, and its point, the
# same bits for 1 and 2 threads, is checked natively per ISA by ctest's avx2.* and baseline.*: under
# -cpu Haswell it alone took 144 s of the references' 330).
filter='ConvReference.*:-ConvReference.ThreadCountDoesNotChangeResults'
grad_filter='ConvGrad*.Conv3d*:ConvGrad*.ConvTranspose3d*'
# The Winograd path (AVX2 transforms under Haswell; not taken under Westmere): a few configs of each op.
winograd_filter='ConvWinograd.QuickSweep:ConvWinograd.TakesOnlyTheShapesItServes'
# Each job below runs its test programs in turn; the three jobs run side by side on the two cores.
# Emulated AVX2 is the slow part (the references above took 186 s under -cpu Haswell against 30 s
# under -cpu Westmere, ConvIsa 90 s against 8 s), so the Haswell runs are split in two jobs of about
# the same length (shard 0 of the references holds the 84 s streamed-output test).
# A job is "model isa program|filter[|shard/shards] ..." (gtest filters hold colons).
run_job() {
  local model="$1" isa="$2" status=0
  shift 2
  for t in "$@"; do
    local exe f shard="" start=$SECONDS
    IFS='|' read -r exe f shard <<< "$t"
    local log="$build/qemu-$model-$exe${shard:+-${shard%/*}}.log"
    local env=(VOXGRAD_EXPECT_ISA="$isa")
    [ -n "$shard" ] && env+=(GTEST_SHARD_INDEX="${shard%/*}" GTEST_TOTAL_SHARDS="${shard#*/}")
    if env "${env[@]}" "$qemu" -cpu "$model" "$build/tests/$exe" --gtest_filter="$f" --gtest_brief=1 \
        > "$log" 2>&1; then
      echo "qemu -cpu $model ($isa): $exe${shard:+ shard $shard} passed ($((SECONDS - start)) s)"
    else
      echo "qemu -cpu $model ($isa): $exe${shard:+ shard $shard} FAILED ($((SECONDS - start)) s)" >&2
      echo "$log" >> "$failed"  # its tail is printed once every job is done, not amid the others' lines
      status=1
    fi
  done
  return $status
}
# The gradient checks (slow under emulation) on the AVX2 CPU only: the baseline kernels' gradients
# are checked natively (ctest's baseline.ops.*); here the point is dispatch and SIGILL.
failed="$(mktemp)"
trap 'rm -f "$failed"' EXIT
pids=()
run_job Haswell avx2 "ops_test_conv_reference_cases|$filter|0/2" "core_test_fma_loop|*" \
  "ops_test_conv_grad|$grad_filter" &
pids+=($!)
run_job Haswell avx2 "ops_test_conv_isa|*" "nn_test_normalization_isa|*" \
  "ops_test_conv_reference_cases|$filter|1/2" "ops_test_conv_winograd|$winograd_filter" &
pids+=($!)
run_job Westmere baseline "ops_test_conv_isa|*" "core_test_fma_loop|*" "nn_test_normalization_isa|*" \
  "ops_test_conv_reference_cases|$filter" "ops_test_conv_winograd|$winograd_filter" &
pids+=($!)
status=0
for pid in "${pids[@]}"; do
  wait "$pid" || status=1
done
while read -r log; do
  echo "--- $log (last 40 lines):" >&2
  tail -40 "$log" >&2
done < "$failed"
exit $status
