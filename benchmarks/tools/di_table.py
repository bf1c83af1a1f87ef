#!/usr/bin/env python3
"""kio::di against Ichor's workloads: runs di_bench, prints a markdown table beside Ichor's numbers.

Usage: benchmarks/tools/di_table.py [BUILD_DIR (default build/rel)] [--repetitions N] [--cpus 0,1]
                                    [--json OUT.json]
BUILD_DIR is a release build (meson setup build/rel -Dbuildtype=release; ninja -C build/rel
benchmarks/micro/di_bench). Each workload runs single-core (1 worker) and on all CPUs of --cpus
(BM_*_AllCores); every run is its own process, timed from before the Registry is built until
reg.stop() returned (benchmarks/micro/di_bench.cpp). Reported: the median of --repetitions of
wall_ms, worker 0's CPU time in that region (less sensitive to other load on a shared machine),
rate and peak RSS, the issue 9 target, and the load average before and after.
Ichor's figures are its published ones (../shared/seeds/000_*: 7950X, gcc 13.1.1, libstdc++
std allocator; 8 threads for "all cores"), in ms.
"""
import argparse
import json
import os
import subprocess
import sys

ICHOR = {  # workload -> (single-thread ms, peak RSS MB, 8-thread ms, peak RSS MB), seed 000 std/std
    "BM_DiStart/10000": (3588.3, 35.3, 20777.4, 266.2),
    "BM_DiStartStop/1000000": (1228.7, 6.6, 1958.3, 6.8),
    "BM_DiCoroutines/5000000": (444.4, 6.6, 882.1, 6.8),
    "BM_DiEvents/5000000": (769.6, 286.8, 1354.7, 2486.4),
}
TARGET = {  # issue 9, on this 2-CPU machine
    "BM_DiStart/10000": "< 20 ms",
    "BM_DiStart/100000": "< 10 x the 10,000 time",
    "BM_DiStartStop/1000000": "< 250 ms",
    "BM_DiCoroutines/5000000": "< 80 ms",
    "BM_DiEvents/5000000": "< 120 ms, < 64 MB",
}
ORDER = ["BM_DiStart/10000", "BM_DiStart/100000", "BM_DiStartStop/1000000",
         "BM_DiCoroutines/5000000", "BM_DiEvents/5000000"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default="build/rel")
    ap.add_argument("--repetitions", type=int, default=3)
    ap.add_argument("--cpus", default="0,1")
    ap.add_argument("--json", help="also write di_bench's raw JSON here")
    ap.add_argument("--from", dest="source", help="format this earlier --json file; run nothing")
    a = ap.parse_args()
    if a.source:
        with open(a.source) as f:
            data = json.load(f)
        load0 = load1 = float("nan")
    else:
        exe = os.path.join(a.build, "benchmarks", "micro", "di_bench")
        if not os.path.exists(exe):
            sys.exit(f"{exe} is not built: ninja -C {a.build} benchmarks/micro/di_bench")
        load0 = os.getloadavg()[0]
        out = subprocess.run(["taskset", "-c", a.cpus, exe, "--benchmark_format=json",
                              "--benchmark_min_time=0.05",
                              f"--benchmark_repetitions={a.repetitions}"],
                             capture_output=True, text=True)
        load1 = os.getloadavg()[0]
        if out.returncode != 0:
            sys.exit(f"di_bench failed ({out.returncode}):\n{out.stderr[-3000:]}")
        data = json.loads(out.stdout)
        if a.json:
            with open(a.json, "w") as f:
                f.write(out.stdout)
    med = {}
    for b in data["benchmarks"]:
        if b.get("aggregate_name", "median") == "median":
            med[b["run_name"] if "run_name" in b else b["name"]] = b
    print(f"load average {load0:.1f} before, {load1:.1f} after; CPUs {a.cpus}; "
          f"median of {a.repetitions}\n")
    print("| workload | kio 1 core: wall ms / CPU ms / rate / peak RSS MB | kio all cores (N): "
          "wall ms / CPU ms / rate | target | Ichor 1T ms (RSS MB) | Ichor 8T ms (RSS MB) |")
    print("|---|---|---|---|---|---|")
    for name in ORDER:
        one = med.get(name)
        allc = med.get(name.replace("/", "_AllCores/"))
        if not one:
            continue
        c = one
        cell1 = (f"{c['wall_ms']:,.1f} / {c['worker0_cpu_ms']:,.1f} / {c['rate_per_s'] / 1e6:.2f} M/s"
                 f" / {c['peak_rss_MB']:.1f}")
        cell2 = "-"
        if allc:
            cell2 = (f"({allc['workers']:.0f}) {allc['wall_ms']:,.1f} / "
                     f"{allc['worker0_cpu_ms']:,.1f} / {allc['rate_per_s'] / 1e6:.2f} M/s / "
                     f"{allc['peak_rss_MB']:.1f} MB")
        ich = ICHOR.get(name)
        i1 = f"{ich[0]:,.0f} ({ich[1]:.0f})" if ich else "-"
        i8 = f"{ich[2]:,.0f} ({ich[3]:.0f})" if ich else "-"
        print(f"| `{name}` | {cell1} | {cell2} | {TARGET.get(name, '')} | {i1} | {i8} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
