#!/usr/bin/python3
"""Summarise a voxgrad_bench JSON file (--benchmark_out=FILE --benchmark_out_format=json) as
Markdown tables: per case and pass, voxgrad and libtorch median times, the speed-up
(libtorch ms / voxgrad ms, so > 1 means voxgrad is faster), GFLOP/s, % of the measured FMA peak
and peak extra memory; then the geometric-mean speed-ups. When the file has oneDNN runs, a second
table: voxgrad, oneDNN with the reorders from/to plain NCDHW, oneDNN kernel only, the two ratios,
% of peak of each, geometric means and issue 12's targets. Then the whole-model steps (autoencoder,
autograd chain, U-Net). Standard library only.

    /usr/bin/python3 bench/compare.py bench.json            # medians over the repetitions
    /usr/bin/python3 bench/compare.py --stat min bench.json # fastest repetition (less sensitive
                                                            # to other processes on the cores)
    /usr/bin/python3 bench/compare.py all.json rerun_C3.json # later files replace their benchmarks
    /usr/bin/python3 bench/compare.py --time cpu bench.json # process CPU time instead of wall time
                                                            # (a rough view on a machine shared
                                                            # with other jobs)
"""

import argparse
import json
import math
import statistics
import sys
from collections import defaultdict

UNIT_TO_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}
CASE_ORDER = ["C1", "C2", "C3", "C4", "C5", "C6", "T1", "T2", "T3"]
PASSES = [("fwd", "forward"), ("fwdbwd", "forward+backward")]
MODELS = [("AE", "step", "autoencoder training step"), ("CHAIN", "fwdbwd", "10 000-op autograd chain")]
IMPLS = ["voxgrad", "libtorch"]
ONEDNN_FLOOR_CASES = ["C1", "C2", "C3", "C5", "T1", "T2"]  # issue 12: ≥ 70% of peak forward+backward


def load(paths):
    """Reads one or more JSON files; a benchmark present in several files is taken from the last."""
    context = {}
    runs = defaultdict(list)   # (case, pass, impl) -> per-repetition entries
    medians = {}               # (case, pass, impl) -> median aggregate entry
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        context = context or data.get("context", {})
        file_runs, file_medians = parse(data)
        for key, entries in file_runs.items():
            runs[key] = entries
            medians.pop(key, None)
        for key, entry in file_medians.items():
            medians[key] = entry
            if key not in file_runs:
                runs.pop(key, None)
    return context, runs, medians


def parse(data):
    runs = defaultdict(list)
    medians = {}
    for b in data.get("benchmarks", []):
        if b.get("error_occurred"):
            print(f"warning: {b['name']}: {b.get('error_message', 'error')}", file=sys.stderr)
            continue
        parts = b.get("run_name", b["name"]).split("/")
        if len(parts) < 3:
            continue
        key = tuple(parts[:3])
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                medians[key] = b
        else:
            runs[key].append(b)
    return runs, medians


TIME_FIELD = "real_time"  # --time cpu: "cpu_time"
PEAK_OVERRIDE = None  # --peak X: % of peak recomputed from GFLOP/s against X


def peak_of(e, counter, gflops_counter):
    """% of peak from the file, or GFLOP/s over --peak."""
    if PEAK_OVERRIDE and gflops_counter in e:
        return 100.0 * e[gflops_counter] / PEAK_OVERRIDE
    return e.get(counter, float("nan"))


def summary(key, runs, medians, stat):
    """ms (median or min over the repetitions), min ms, max ms, GFLOP/s, %peak and memory."""
    entries = runs.get(key)
    if entries:
        times = sorted(e[TIME_FIELD] * UNIT_TO_MS[e["time_unit"]] for e in entries)
        pick = statistics.median if stat == "median" else min
        rate = statistics.median if stat == "median" else max
        return {"ms": pick(times), "min": times[0], "max": times[-1], "n": len(times),
                "gflops": rate(e.get("GFLOP/s", float("nan")) for e in entries),
                "peak": rate(peak_of(e, "%peak", "GFLOP/s") for e in entries),
                "mem": statistics.median(e.get("mem_MiB", float("nan")) for e in entries),
                "conv_peak": rate(peak_of(e, "conv_%peak", "conv_GFLOP/s") for e in entries),
                "label": entries[-1].get("label", "")}
    e = medians.get(key)
    if e:
        ms = e[TIME_FIELD] * UNIT_TO_MS[e["time_unit"]]
        return {"ms": ms, "min": ms, "max": ms, "n": 1, "gflops": e.get("GFLOP/s", float("nan")),
                "peak": peak_of(e, "%peak", "GFLOP/s"), "mem": e.get("mem_MiB", float("nan")),
                "conv_peak": peak_of(e, "conv_%peak", "conv_GFLOP/s"), "label": e.get("label", "")}
    return None


def geomean(values):
    return math.exp(sum(math.log(x) for x in values) / len(values))


def onednn_table(cases, runs, medians, stat, context):
    """voxgrad against oneDNN with reorders and kernel-only; ratio = oneDNN ms / voxgrad ms."""
    if not any(summary((c, p, "onednn"), runs, medians, stat) for c in cases for p, _ in PASSES):
        return
    print()
    print(f"oneDNN: {context.get('onednn', '?')}")
    print(f"VOXGRAD_MAX_ISA: {context.get('VOXGRAD_MAX_ISA', '?')} · settle: {context.get('settle_ms', '?')} ms "
          f"of untimed calls before each timed loop · {context.get('onednn_spin', '')}")
    print()
    print("| case | pass | voxgrad ms | oneDNN+reorders ms | oneDNN kernel ms | vs +reorders | vs kernel | "
          "voxgrad % peak | +reorders % peak | kernel % peak | voxgrad MiB | oneDNN+reorders MiB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    ratios = defaultdict(lambda: defaultdict(list))  # pass -> "reorders"/"kernel" -> [(case, ratio)]
    labels = {}
    for case in cases:
        for p, label in PASSES:
            ours = summary((case, p, "voxgrad"), runs, medians, stat)
            full = summary((case, p, "onednn"), runs, medians, stat)
            kern = summary((case, p, "onednn_kernel"), runs, medians, stat)
            if full is None and kern is None:
                continue
            cells = []
            for name, theirs in (("reorders", full), ("kernel", kern)):
                r = theirs["ms"] / ours["ms"] if ours and theirs else None
                if r is not None:
                    ratios[p][name].append((case, r))
                cells.append(f"{r:.2f}×" if r is not None else "–")
            if p == "fwdbwd" and full:
                labels[case] = full["label"]
            print(f"| {case} | {label} | {fmt_ms(ours)} | {fmt_ms(full)} | {fmt_ms(kern)} | {cells[0]} | {cells[1]} | "
                  f"{fmt(ours and ours['peak'], '.0f')} | {fmt(full and full['peak'], '.0f')} | "
                  f"{fmt(kern and kern['peak'], '.0f')} | {fmt(ours and ours['mem'], '.0f')} | "
                  f"{fmt(full and full['mem'], '.0f')} |")
    print()
    print("ratio = oneDNN ms / voxgrad ms (> 1: voxgrad faster); oneDNN's MiB counts its scratchpad only "
          "(its tensors are allocated once, outside the measured call)")
    for p, label in PASSES:
        for name, text in (("reorders", "oneDNN with reorders"), ("kernel", "oneDNN kernel-only")):
            r = ratios[p][name]
            if r:
                worst = min(r, key=lambda cr: cr[1])
                print(f"{label}: geometric mean {geomean([x for _, x in r]):.2f}× against {text} over {len(r)} "
                      f"cases (worst {worst[0]} {worst[1]:.2f}×)")
    fb = ratios["fwdbwd"]
    if fb["reorders"] or fb["kernel"]:
        below = [f"{c} {x:.2f}×" for c, x in fb["reorders"] if x < 1.0]
        geo_r = geomean([x for _, x in fb["reorders"]]) if fb["reorders"] else float("nan")
        geo_k = geomean([x for _, x in fb["kernel"]]) if fb["kernel"] else float("nan")
        print(f"issue 12 targets (forward+backward): cases below 1.0× oneDNN-with-reorders: "
              f"{', '.join(below) if below else 'none'}; geometric mean {geo_r:.2f}× (≥ 1.5 asked) against "
              f"reorders, {geo_k:.2f}× (≥ 1.1 asked) against kernel-only")
        floor = []
        for case in ONEDNN_FLOOR_CASES:
            s = summary((case, "fwdbwd", "voxgrad"), runs, medians, stat)
            if s:
                need = 80 if case == "C3" else 70
                floor.append(f"{case} {s['peak']:.0f}%{'' if s['peak'] >= need else f' (< {need})'}")
        if floor:
            print(f"voxgrad forward+backward % of peak (≥ 70 asked, C3 ≥ 80): {', '.join(floor)}")
    if labels:
        print()
        print("oneDNN's implementations (forward+backward) and the numerics check against voxgrad:")
        for case, text in labels.items():
            print(f"- {case}: {text}")


def fmt_ms(s):
    if s is None:
        return "–"
    text = f"{s['ms']:.3g}" if s["ms"] < 100 else f"{s['ms']:.0f}"
    if s["n"] > 1 and s["max"] > 1.15 * s["min"]:  # show the spread when the repetitions disagree
        text += f" ({s['min']:.3g}–{s['max']:.3g})"
    return text


def fmt(v, spec):
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("json", nargs="+",
                        help="output of --benchmark_out=FILE --benchmark_out_format=json; with several "
                             "files, a benchmark found in more than one is taken from the last")
    parser.add_argument("--stat", choices=["median", "min"], default="median",
                        help="statistic over the repetitions (default: median)")
    parser.add_argument("--time", choices=["real", "cpu"], default="real",
                        help="wall time (default) or the process's CPU time (all threads; spinning counts)")
    parser.add_argument("--peak", type=float,
                        help="FMA peak in GFLOP/s for the %% columns instead of the one measured at start-up "
                             "(e.g. a quiet machine's figure when the run's own measurement was disturbed)")
    args = parser.parse_args(argv[1:])
    global TIME_FIELD, PEAK_OVERRIDE
    PEAK_OVERRIDE = args.peak
    TIME_FIELD = "cpu_time" if args.time == "cpu" else "real_time"
    context, runs, medians = load(args.json)
    keys = set(runs) | set(medians)
    cases = [c for c in CASE_ORDER if any(k[0] == c for k in keys)]
    reps = max((len(v) for v in runs.values()), default=1)

    print(f"threads: {context.get('threads', '?')} · FMA peak: "
          f"{f'{args.peak} GFLOP/s (--peak)' if args.peak else context.get('fma_peak', '?')} · copies: "
          f"{context.get('copy_bandwidth', '? (not measured by this binary)')}")
    print(f"cpu: {context.get('cpu_model', '?')}, {context.get('num_cpus', '?')} CPUs · "
          f"{context.get('libtorch', 'libtorch: ?')} · BLAS: {context.get('blas_libraries', '?')}")
    print(f"{reps} repetition(s) of the small cases, {args.stat} shown (range in brackets when the repetitions "
          f"differ by > 15%) · speed-up = libtorch ms / voxgrad ms · {context.get('date', '')}"
          f"{' · PROCESS CPU TIME, not wall time' if args.time == 'cpu' else ''}")
    print()
    if cases:
        print("| case | pass | voxgrad ms | libtorch ms | speed-up | voxgrad GFLOP/s | voxgrad % peak | "
              "libtorch GFLOP/s | libtorch % peak | voxgrad MiB | libtorch MiB |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    speedups = defaultdict(list)
    for case in cases:
        for p, label in PASSES:
            ours = summary((case, p, "voxgrad"), runs, medians, args.stat)
            theirs = summary((case, p, "libtorch"), runs, medians, args.stat)
            if ours is None and theirs is None:
                continue
            ratio = theirs["ms"] / ours["ms"] if ours and theirs else None
            if ratio is not None:
                speedups[p].append((case, ratio))
            print(f"| {case} | {label} | {fmt_ms(ours)} | {fmt_ms(theirs)} | "
                  f"{fmt(ratio, '.2f') + '×' if ratio is not None else '–'} | "
                  f"{fmt(ours and ours['gflops'], '.0f')} | {fmt(ours and ours['peak'], '.0f')} | "
                  f"{fmt(theirs and theirs['gflops'], '.0f')} | {fmt(theirs and theirs['peak'], '.0f')} | "
                  f"{fmt(ours and ours['mem'], '.0f')} | {fmt(theirs and theirs['mem'], '.0f')} |")
    print()
    for p, label in PASSES:
        r = speedups.get(p)
        if not r:
            continue
        geo = math.exp(sum(math.log(x) for _, x in r) / len(r))
        worst = min(r, key=lambda cr: cr[1])
        print(f"{label}: geometric-mean speed-up {geo:.2f}× over {len(r)} cases "
              f"(worst {worst[0]} {worst[1]:.2f}×, best {max(r, key=lambda cr: cr[1])[0]} "
              f"{max(x for _, x in r):.2f}×)")
    if not speedups:
        if cases:
            print("(no libtorch runs in this file)")
    else:
        fb = speedups.get("fwdbwd", [])
        if fb:
            geo = math.exp(sum(math.log(x) for _, x in fb) / len(fb))
            below = [f"{c} {x:.2f}×" for c, x in fb if x < 0.8]
            print(f"issue 5 targets: forward+backward geometric mean {geo:.2f}× (≥ 2.0 asked); "
                  f"cases below 0.8×: {', '.join(below) if below else 'none'}")
        c3 = summary(("C3", "fwdbwd", "voxgrad"), runs, medians, args.stat)
        if c3:
            print(f"C3 forward+backward: {fmt(c3['peak'], '.0f')}% of peak (≥ 72% asked)")
        over = []
        for case in cases:
            ours = summary((case, "fwdbwd", "voxgrad"), runs, medians, args.stat)
            theirs = summary((case, "fwdbwd", "libtorch"), runs, medians, args.stat)
            if ours and theirs and ours["mem"] > theirs["mem"]:
                over.append(f"{case} {ours['mem']:.0f} vs {theirs['mem']:.0f} MiB")
        if speedups:
            print(f"forward+backward extra memory above libtorch's: {', '.join(over) if over else 'none'}")
    model_rows = []
    for case, p, label in MODELS:
        ours = summary((case, p, "voxgrad"), runs, medians, args.stat)
        theirs = summary((case, p, "libtorch"), runs, medians, args.stat)
        if ours is None and theirs is None:
            continue
        ratio = ours["ms"] / theirs["ms"] if ours and theirs else None
        per_op = ""
        if case == "CHAIN":
            per_op = (f" · per op: voxgrad {fmt(ours and ours['ms'] * 1e3 / 10000, '.2f')} µs, "
                      f"libtorch {fmt(theirs and theirs['ms'] * 1e3 / 10000, '.2f')} µs")
        model_rows.append(f"{label}: voxgrad {fmt_ms(ours)} ms, libtorch {fmt_ms(theirs)} ms, "
                          f"voxgrad/libtorch time {fmt(ratio, '.2f')}"
                          f"{' (≤ 0.5 asked)' if case == 'AE' else ' (≤ 1.0 asked)'}{per_op}"
                          f" · extra MiB {fmt(ours and ours['mem'], '.0f')} / {fmt(theirs and theirs['mem'], '.0f')}")
    if model_rows:
        print()
        for row in model_rows:
            print(row)
    onednn_table(cases, runs, medians, args.stat, context)
    unet_summary(runs, medians, args.stat)
    map_table(runs, medians, args.stat)
    return 0


def phase(key, runs, medians, counter):
    """Median of a counter over the repetitions (None when absent)."""
    entries = runs.get(key) or ([medians[key]] if key in medians else [])
    values = [e[counter] for e in entries if counter in e]
    return statistics.median(values) if values else None


def unet_summary(runs, medians, stat):
    ours = summary(("UNET", "step", "voxgrad"), runs, medians, stat)
    theirs = summary(("UNET", "step", "libtorch"), runs, medians, stat)
    convs = summary(("UNET", "convs", "voxgrad"), runs, medians, stat)
    if not (ours or theirs or convs):
        return
    print()
    print("| U-Net training step (64³, batch 2, base 16, MSE + Adam) | voxgrad | libtorch | libtorch / voxgrad |")
    print("|---|---:|---:|---:|")
    ratio = theirs["ms"] / ours["ms"] if ours and theirs else None
    print(f"| step ms | {fmt_ms(ours)} | {fmt_ms(theirs)} | {fmt(ratio, '.2f')}× (≥ 2.5 asked) |")
    mem = ours["mem"] / theirs["mem"] if ours and theirs and theirs["mem"] > 0 else None
    print(f"| peak extra MiB of a step | {fmt(ours and ours['mem'], '.0f')} | {fmt(theirs and theirs['mem'], '.0f')} | "
          f"voxgrad/libtorch {fmt(mem, '.2f')} (≤ 0.7 asked) |")
    print(f"| conv FLOPs over the step's time, % of peak | {fmt(ours and ours['conv_peak'], '.0f')} | "
          f"{fmt(theirs and theirs['conv_peak'], '.0f')} | |")
    for counter, text in (("fwd_ms", "forward ms (median step)"), ("bwd_ms", "zero_grad + backward ms"),
                          ("optim_ms", "Adam step ms")):
        vals = [phase(("UNET", "step", impl), runs, medians, counter) for impl in ("voxgrad", "libtorch")]
        print(f"| {text} | {fmt(vals[0], '.0f')} | {fmt(vals[1], '.0f')} | |")
    if convs:
        share = f", {100 * convs['ms'] / ours['ms']:.0f}% of the step's time" if ours else ""
        print(f"| the step's 15 convolutions alone (UNET/convs) | {fmt_ms(convs)} ms, "
              f"{fmt(convs['conv_peak'], '.0f')}% of peak{share} | | |")


def map_table(runs, medians, stat):
    """MAP/<case>/<map>/voxgrad: a conv3d's forward, adjoint and weight maps, each timed alone."""
    cases = sorted({k[1] for k in list(runs) + list(medians) if k[0] == "MAP"})
    if not cases:
        return
    print()
    print("| case | forward ms | adjoint ms | weight ms | forward % peak | adjoint % peak | weight % peak |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for case in cases:
        s = [summary(("MAP", case, m), runs, medians, stat) for m in ("forward", "adjoint", "weight")]
        ms = " | ".join(fmt_ms(x) if x else "–" for x in s)
        pk = " | ".join(fmt(x and x["peak"], ".0f") for x in s)
        print(f"| {case} | {ms} | {pk} |")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
