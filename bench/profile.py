#!/usr/bin/python3
"""Where a voxgrad step's time goes, from a `perf record -e cpu-clock` profile of voxgrad_bench.

Sorts the samples by shared object and symbol (`perf report --sort dso,sym`) and puts every symbol
into one category by the function it belongs to (TBB task and lambda symbols carry their enclosing
function's name): convolution kernels, GroupNorm, ReLU, cat/copies (memmove/memcpy), Adam, other
element-wise ops, allocation (malloc/free/memset and the kernel's page faults and page clearing),
threading (with all of stripped libtbb). Samples in libraries only the start-up touches (libtorch's
and oneDNN's loading and registration, the dynamic linker, oneDNN's JIT code of the start-up probe,
libgomp) and in voxgrad_bench's own FMA-peak probe are left out of the total.
Standard library only.

    VOXGRAD_BENCH_PEAK_GFLOPS=234 perf record -e cpu-clock -F 499 -o unet.data -- \\
        build/release/bench/voxgrad_bench --benchmark_filter='^UNET/step/voxgrad$' --benchmark_min_time=3
    /usr/bin/python3 bench/profile.py unet.data --step-ms 1200 --conv-gflop 169.5 --peak 234

With --step-ms (the step's wall time from the benchmark), --conv-gflop (the benchmark's conv_GFLOP
counter) and --peak (GFLOP/s), it also prints each category's ms per step and the convolutions'
GFLOP/s and % of peak while they run (their share of the samples times the step time). On a
machine shared with other jobs, give --cpu-ms (the benchmark's CPU column: the process's CPU time
per step) and --threads instead: the convolutions' CPU time is then their share of it, and their
rate is the FLOPs over that CPU time divided by the threads (what they reach while they have the
cores, without the time they wait for them).
"""

import argparse
import re
import subprocess
import sys
from collections import defaultdict

THREADING = "threading (TBB, scheduler)"

# First match wins: the specific element-wise ops before the generic kernels they run in.
CATEGORIES = [
    ("convolution", r"direct::|direct_conv|conv3d|conv_transpose|im2col|col2im|vol2col|gebp|gemm|"
                    r"padded_sample|channel_sum|ConvGeometry|linear_map|WeightRun|ForwardRun|general_matrix|"
                    r"add_values<32|LaneSums<32"),
    ("GroupNorm", r"norm_stats|norm_backward|norm_forward|group_norm|GroupNorm|group_stats|plane_sums|sums_row|"
                  r"dx_row|plane_dx|affine_row|normalize_plane|masked_chunk|chunk_grad|NormLayout|norm_kernels"),
    ("ReLU", r"relu"),
    # memmove/memcpy are copies, not allocation: in the U-Net step almost all of them are the lane-wise
    # weight maps' packing of dY (std::copy), i.e. convolution work
    ("cat / copies (memmove)", r"\bcat\b|copy_into|concat|memmove|memcpy"),
    ("Adam", r"[Aa]dam|optim::"),
    ("other element-wise and reductions", r"binary_kernel|unary_kernel|reduce|mse|sum_|_sum|fill"),
    ("allocation and page faults", r"malloc|free|memset|_int_|unlink_chunk|page|mmap|munmap|"
                                   r"pte|folio|memcg|mem_cgroup|alloc_pages|lruvec|vma|mas_|rmqueue|zap_|"
                                   r"fault|brk|CachingAllocator|allocator|empty_cache"),
    (THREADING, r"tbb|sched|schedule|task_switch|futex|yield|irq|spin_unlock|rcu"),
]
# The benchmark's own start-up probe (the FMA peak it measures before the first benchmark).
STARTUP_SYMBOLS = re.compile(r"fma_loop|measure_fma_peak|voxgrad_bench::\(anonymous namespace\)::trial")
STARTUP_DSOS = re.compile(r"libtorch|libc10|ld-linux|\[JIT\]|libgomp|libpthreadpool|libdnnl|libprotobuf|libgflags|"
                          r"libglog|libsleef|libblas")


def read_profile(path):
    """[(percent, dso, symbol)] from perf report."""
    out = subprocess.run(["perf", "report", "-i", path, "--stdio", "--sort", "dso,sym", "--no-children"],
                         check=True, capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\S+(?: tid \d+)?)\s+\[[.k]\]\s+(.*)", line)
        if m:
            rows.append((float(m.group(1)), m.group(2), m.group(3)))
    return rows


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("perf_data")
    parser.add_argument("--step-ms", type=float, help="the step's wall time")
    parser.add_argument("--conv-gflop", type=float, help="nominal convolution GFLOP per step")
    parser.add_argument("--peak", type=float, help="FMA peak, GFLOP/s")
    parser.add_argument("--cpu-ms", type=float, help="the process's CPU time per step (instead of --step-ms)")
    parser.add_argument("--threads", type=int, default=2, help="threads of the run (with --cpu-ms)")
    parser.add_argument("--top", type=int, default=0, help="also list the N largest symbols of 'other'")
    args = parser.parse_args(argv[1:])

    shares = defaultdict(float)
    others = []
    startup = 0.0
    for pct, dso, sym in read_profile(args.perf_data):
        if STARTUP_DSOS.search(dso) or STARTUP_SYMBOLS.search(sym):
            startup += pct
            continue
        if "libtbb" in dso:  # TBB's scheduler and workers (stripped: addresses only)
            shares[THREADING] += pct
            continue
        for name, pattern in CATEGORIES:
            if re.search(pattern, sym):
                shares[name] += pct
                break
        else:
            shares["other"] += pct
            others.append((pct, dso, sym))
    total = sum(shares.values())
    if total == 0:
        print("no samples outside the start-up: did the benchmark filter match?", file=sys.stderr)
        return 1
    print(f"samples outside the start-up libraries: {total:.1f}% (start-up: {startup:.1f}%)")
    print()
    print("| part of the step | share | ms per step |")
    print("|---|---:|---:|")
    for name, _ in CATEGORIES + [("other", "")]:
        share = shares.get(name, 0.0) / total
        per_step = args.step_ms or (args.cpu_ms / args.threads if args.cpu_ms else None)
        ms = f"{share * per_step:.0f}" if per_step else "–"
        print(f"| {name} | {100 * share:.1f}% | {ms} |")
    if (args.step_ms or args.cpu_ms) and args.conv_gflop and shares["convolution"] > 0:
        share = shares["convolution"] / total
        conv_s = share * args.step_ms * 1e-3 if args.step_ms else share * args.cpu_ms * 1e-3 / args.threads
        gflops = args.conv_gflop / conv_s
        peak = f", {100 * gflops / args.peak:.0f}% of peak" if args.peak else ""
        basis = "wall" if args.step_ms else f"CPU ms / {args.threads} threads"
        print()
        print(f"convolutions: {conv_s * 1e3:.0f} ms per step ({basis}), {gflops:.0f} GFLOP/s while they run{peak}")
    if args.top:
        print()
        for pct, dso, sym in sorted(others, reverse=True)[:args.top]:
            print(f"  {100 * pct / total:5.2f}%  {dso}  {sym[:150]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
