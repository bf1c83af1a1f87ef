#!/usr/bin/env python3
"""Runs kio's Google Benchmark programs (benchmarks/micro) in a release build; called by
tools/bench-micro.

Builds kio with -Dbuildtype=release in <build root>/release, runs every executable defined in
benchmarks/micro with --benchmark_format=json, prints name, items/s and ns per item (per
iteration when a benchmark reports no items), and writes benchmarks/results/micro-<date>.json
and .md (raw Google Benchmark output included).
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402
from benchlib import ROOT, die, log  # noqa: E402

# Goals stated in the project's issues, checked on every run: benchmark name -> minimum items/s.
# Issue 3: >= 10 M cross-core messages/s one way, batched; a submit_to round trip <= 2 us with
# both cores busy polling (i.e. >= 500 k round trips/s).
TARGETS = {
    "BM_TaskCreateAwaitDestroy": 50e6,
    "BM_CrossCoreMessages/256/real_time": 10e6,
    "BM_SubmitToRoundTrip/real_time": 0.5e6,
}

# Issue 9 (kio::di, Ichor's workloads on this 2-CPU machine): limits on a benchmark's counter
# (di_bench reports the Ichor-style timed region as wall_ms and the run's peak RSS as
# peak_rss_MB): (benchmark, counter, maximum, what). "x<name>" as the maximum means "times that
# benchmark's value of the same counter".
DI_TARGETS = [
    ("BM_DiStart/10000", "wall_ms", 20.0, "10,000 services < 20 ms"),
    ("BM_DiStart/100000", "wall_ms", ("x", 10.0, "BM_DiStart/10000"),
     "100,000 services < 10 x the 10,000 time"),
    ("BM_DiStartStop/1000000", "wall_ms", 250.0, "1,000,000 start&stop cycles < 250 ms"),
    # Not one of the targets: runtime removals stay O(1) each (quadratic was 3.7x).
    ("BM_DiRemove/20000", "wall_ms", ("x", 2.5, "BM_DiRemove/10000"),
     "removing 20,000 services < 2.5 x removing 10,000"),
    ("BM_DiCoroutines/5000000", "wall_ms", 80.0, "5 M coroutines < 80 ms"),
    ("BM_DiEvents/5000000", "wall_ms", 120.0, "5 M events < 120 ms"),
    ("BM_DiEvents/5000000", "peak_rss_MB", 64.0, "5 M events < 64 MB peak RSS"),
]

# Programs that need two CPUs (a two-worker runtime): run on --multicore-cpus instead of --cpus.
# di_bench's single-core benchmarks use one worker (on the first CPU of the set); its _AllCores
# ones use every CPU of the set.
MULTICORE_PROGRAMS = {"multicore_bench", "di_bench"}

TIME_UNIT_NS = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}


def micro_executables(bdir):
    out = subprocess.run(["meson", "introspect", "--targets", str(bdir)], capture_output=True,
                         text=True, check=True).stdout
    exes = []
    for t in json.loads(out):
        if t["type"] != "executable":
            continue
        src_dir = Path(t["defined_in"]).parent
        if src_dir == ROOT / "benchmarks" / "micro":
            exes.extend(Path(f) for f in t["filename"])
    return sorted(exes)


def run_one(exe, args):
    cmd = [str(exe), "--benchmark_format=json"]
    cpus = args.multicore_cpus if exe.name in MULTICORE_PROGRAMS else args.cpus
    if cpus:
        cmd = ["taskset", "-c", cpus, *cmd]
    if args.filter:
        cmd.append(f"--benchmark_filter={args.filter}")
    if args.min_time:
        cmd.append(f"--benchmark_min_time={args.min_time}")
    if args.repetitions > 1:
        cmd += [f"--benchmark_repetitions={args.repetitions}",
                "--benchmark_report_aggregates_only=true"]
    log(f"running {exe.name} ...")
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        log(p.stderr[-3000:])
        die(f"{exe.name} exited with status {p.returncode} (a benchmark reported an error?)")
    try:
        return json.loads(p.stdout)
    except json.JSONDecodeError:
        die(f"{exe.name} did not print JSON:\n{p.stdout[-2000:]}")


def summarise(program, data, repetitions):
    rows = []
    for b in data.get("benchmarks", []):
        if repetitions > 1 and b.get("aggregate_name") not in (None, "median"):
            continue
        if b.get("error_occurred"):
            rows.append({"program": program, "name": b["name"], "error": b.get("error_message")})
            continue
        unit = TIME_UNIT_NS[b.get("time_unit", "ns")]
        name = b.get("run_name", b["name"])
        items = b.get("items_per_second")
        extra = {k: v for k, v in b.items() if k not in KNOWN_KEYS}
        rows.append({
            "program": program,
            "name": name,
            "items_per_second": items,
            "ns_per_item": 1e9 / items if items else b["real_time"] * unit,
            "real_ns_per_iteration": b["real_time"] * unit,
            "cpu_ns_per_iteration": b["cpu_time"] * unit,
            "bytes_per_second": b.get("bytes_per_second"),
            "counters": extra,
        })
    return rows


KNOWN_KEYS = {"name", "family_index", "per_family_instance_index", "run_name", "run_type",
              "repetitions", "repetition_index", "threads", "iterations", "real_time", "cpu_time",
              "time_unit", "items_per_second", "bytes_per_second", "aggregate_name",
              "aggregate_unit", "error_occurred", "error_message", "label"}


def fmt_rate(v):
    if v is None:
        return "-"
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if v >= div:
            return f"{v / div:.2f}{suffix}"
    return f"{v:.1f}"


def table(rows):
    lines = [f"{'benchmark':<44} {'items/s':>10} {'ns/item':>10} {'cpu ns/iter':>12}  counters"]
    for r in rows:
        if "error" in r:
            lines.append(f"{r['name']:<44} ERROR: {r['error']}")
            continue
        counters = " ".join(f"{k}={v:.3g}" for k, v in r["counters"].items()
                            if isinstance(v, (int, float)))
        lines.append(f"{r['name']:<44} {fmt_rate(r['items_per_second']):>10} "
                     f"{r['ns_per_item']:>10.1f} {r['cpu_ns_per_iteration']:>12.1f}  {counters}")
    return "\n".join(lines)


def check_targets(rows):
    out = []
    for name, minimum in TARGETS.items():
        r = next((r for r in rows if r.get("name") == name), None)
        if r is None or r.get("items_per_second") is None:
            continue
        ok = r["items_per_second"] >= minimum
        out.append({"benchmark": name, "target_items_per_second": minimum,
                    "measured": r["items_per_second"], "met": ok})
    return out


def counter_of(rows, name, counter):
    r = next((r for r in rows if r.get("name") == name), None)
    return None if r is None else r.get("counters", {}).get(counter)


def check_di_targets(rows):
    out = []
    for name, counter, limit, what in DI_TARGETS:
        value = counter_of(rows, name, counter)
        if value is None:
            continue
        if isinstance(limit, tuple):
            _, factor, base_name = limit
            base = counter_of(rows, base_name, counter)
            if base is None:
                continue
            limit = factor * base
        out.append({"benchmark": name, "counter": counter, "limit": limit, "measured": value,
                    "met": value < limit, "what": what})
    return out


def markdown(result):
    m = result["machine"]
    o = result["options"]
    lines = [f"# kio micro-benchmarks — {result['date']}", "",
             f"- CPU: {m['cpu']} ({m['cpus_online']} CPUs online, {m['virtualisation']}); "
             f"kernel {m['kernel']}; {m['os']}",
             f"- kio {result['versions'].get('kio')}, `{result['versions'].get('cxx')}`, meson "
             f"release; pinned to CPUs {o['cpus'] or '(not pinned)'} (two-worker cross-core "
             f"benchmarks: {o.get('multicore_cpus') or '(not pinned)'}); "
             f"{'median of ' + str(o['repetitions']) + ' repetitions' if o['repetitions'] > 1 else 'one run'}",
             f"- Load average when the run started: {m['loadavg_at_start']:.2f}", "",
             "| program | benchmark | items/s | ns per item | CPU ns per iteration | counters |",
             "|---|---|---:|---:|---:|---|"]
    for r in result["summary"]:
        if "error" in r:
            lines.append(f"| {r['program']} | {r['name']} | error: {r['error']} | | | |")
            continue
        counters = ", ".join(f"{k} {v:.3g}" for k, v in r["counters"].items()
                             if isinstance(v, (int, float)))
        lines.append(f"| {r['program']} | {r['name']} | {fmt_rate(r['items_per_second'])} | "
                     f"{r['ns_per_item']:.1f} | {r['cpu_ns_per_iteration']:.1f} | {counters} |")
    for t in result["targets"]:
        lines += ["", f"Target: {t['benchmark']} ≥ {fmt_rate(t['target_items_per_second'])}/s — "
                      f"measured {fmt_rate(t['measured'])}/s: {'met' if t['met'] else 'NOT met'}."]
    for t in result.get("di_targets", []):
        lines += ["", f"Target (kio::di): {t['what']} — {t['benchmark']} {t['counter']} "
                      f"{t['measured']:.1f} (limit {t['limit']:.1f}): "
                      f"{'met' if t['met'] else 'NOT met'}."]
    lines += ["", "Reproduce: `tools/bench-micro`; raw Google Benchmark JSON is in the .json file.",
              ""]
    return "\n".join(lines)


def main(argv):
    ap = argparse.ArgumentParser(prog="tools/bench-micro", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--filter", help="regex passed as --benchmark_filter")
    ap.add_argument("--min-time", help="seconds per benchmark (--benchmark_min_time)")
    ap.add_argument("--repetitions", type=int, default=3,
                    help="repetitions; the median is reported (default 3)")
    ap.add_argument("--cpus", default="1",
                    help="taskset CPU list (default 1; '' to not pin). kio's worker pins itself to "
                         "the first CPU of this set")
    ap.add_argument("--multicore-cpus", default="0,1",
                    help="taskset CPU list for the cross-core benchmarks (%s; default 0,1: they "
                         "need two CPUs)" % ", ".join(sorted(MULTICORE_PROGRAMS)))
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--out", help="directory for micro-<date>.json/.md (default benchmarks/results)")
    args = ap.parse_args(argv)

    benchlib.ensure_packages("bench-micro")  # tools/lib/packages.txt
    bdir = benchlib.build_root() / "release"
    if not args.no_build:
        benchlib.build_kio_release()
    exes = micro_executables(bdir) if (bdir / "build.ninja").exists() else []
    if not exes:
        die(f"no benchmark executables in {bdir}/benchmarks/micro")
    raw, rows = {}, []
    for exe in exes:
        if not exe.is_file():
            die(f"{exe} is not built")
        data = run_one(exe, args)
        raw[exe.name] = data
        rows += summarise(exe.name, data, args.repetitions)
    result = {
        "date": benchlib.now_iso(),
        "machine": benchlib.machine_info(),
        "versions": benchlib.tool_versions(),
        "options": vars(args),
        "summary": rows,
        "targets": check_targets(rows),
        "di_targets": check_di_targets(rows),
        "raw": raw,
    }
    out_dir = Path(args.out) if args.out else benchlib.RESULTS
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"micro-{benchlib.today()}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    stem.with_suffix(".md").write_text(markdown(result))
    log("")
    log(table(rows))
    for t in result["targets"]:
        log(f"target {t['benchmark']} >= {fmt_rate(t['target_items_per_second'])}/s: measured "
            f"{fmt_rate(t['measured'])}/s — {'met' if t['met'] else 'NOT MET'}")
    for t in result["di_targets"]:
        log(f"target {t['what']}: {t['benchmark']} {t['counter']} = {t['measured']:.1f} "
            f"(limit {t['limit']:.1f}) — {'met' if t['met'] else 'NOT MET'}")
    log(f"\nwrote {stem}.json, {stem}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
