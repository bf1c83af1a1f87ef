#!/usr/bin/env python3
"""kio's demo/echo_server against a plain epoll echo server (benchmarks/echo/epoll_echo.cpp).

Called by tools/bench-echo. For each message size (64 B, 16 KiB) and connection count (50,
1,000), both servers run as fresh processes, one after the other and in alternating order every
round, pinned with taskset to the server CPUs, while benchmarks/echo/echo_load (closed loop: one
message in flight per connection, every echo verified) runs pinned to the client CPUs. Each run
records messages/s and the server's CPU time per message: utime+stime from /proc/PID/stat read
when the load tool starts and stops counting (after its warm-up). Prints medians over the rounds
and kio/epoll ratios (throughput: >1 is kio faster; CPU per message: <1 is kio cheaper), and
writes benchmarks/results/echo-<date>.json and .md (--out to change the directory).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks" / "tools"))
import benchlib  # noqa: E402  (machine description, revision, dates)
from benchlib import cpu_ticks, free_port, raise_nofile, wait_listening  # noqa: E402
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def build(build_dir):
    if not (build_dir / "build.ninja").exists():
        subprocess.run(["meson", "setup", str(build_dir), "-Dbuildtype=release", "-Db_ndebug=true",
                        *benchlib.packages.meson_options("bench-echo")],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    targets = ["demo/echo_server", "benchmarks/echo/epoll_echo", "benchmarks/echo/echo_load"]
    subprocess.run(["ninja", "-C", str(build_dir), *targets], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)


def run_one(args, bdir, server, size, conns):
    port = free_port()
    workers = str(len(expand_cpus(args.server_cpus)))
    if server == "kio":
        cmd = [str(bdir / "demo" / "echo_server"), "--port", str(port), "--workers", workers]
    else:
        cmd = [str(bdir / "benchmarks" / "echo" / "epoll_echo"), "--port", str(port),
               "--threads", workers]
    srv = subprocess.Popen(["taskset", "-c", args.server_cpus, *cmd], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           preexec_fn=raise_nofile)
    try:
        wait_listening(port, srv)
        load = subprocess.Popen(
            ["taskset", "-c", args.client_cpus, str(bdir / "benchmarks" / "echo" / "echo_load"),
             "--port", str(port), "--connections", str(conns), "--size", str(size),
             "--seconds", str(args.seconds), "--warmup", str(args.warmup),
             "--threads", str(len(expand_cpus(args.client_cpus)))],
            stdout=subprocess.PIPE, text=True, preexec_fn=raise_nofile)
        t0 = t1 = None
        result = None
        for line in load.stdout:
            line = line.strip()
            if line == "counting":
                t0 = sum(cpu_ticks(srv.pid))
            elif line == "stopped":
                t1 = sum(cpu_ticks(srv.pid))
            elif line.startswith("messages="):
                result = dict(kv.split("=") for kv in line.split())
        if load.wait() != 0 or result is None or t0 is None or t1 is None:
            raise RuntimeError(f"echo_load failed ({server}, {size} B, {conns} conns): {result}")
        msgs = int(result["messages"])
        cpu_s = (t1 - t0) / CLK_TCK
        return {"msgs_per_sec": float(result["msgs_per_sec"]),
                "cpu_us_per_msg": cpu_s * 1e6 / msgs if msgs else float("nan"),
                "server_cpu_s": cpu_s, "messages": msgs}
    finally:
        srv.terminate()
        try:
            srv.wait(timeout=10)
        except subprocess.TimeoutExpired:
            srv.kill()
            srv.wait()


def expand_cpus(spec):
    cpus = []
    for part in spec.split(","):
        if "-" in part:
            a, b = part.split("-")
            cpus += list(range(int(a), int(b) + 1))
        else:
            cpus.append(int(part))
    return cpus


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="1 round of 2 s per run (~20 s total)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--warmup", type=float, default=1)
    ap.add_argument("--sizes", default="64,16384")
    ap.add_argument("--connections", default="50,1000")
    ap.add_argument("--server-cpus", default="0", help="taskset list for the server (default 0)")
    ap.add_argument("--client-cpus", default="1", help="taskset list for the load (default 1)")
    ap.add_argument("--servers", default="kio,epoll")
    ap.add_argument("--out", help="directory for echo-<date>.json/.md (default benchmarks/results;"
                    " with --quick the build directory)")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.warmup = 1, 2, 0.5

    machine, started = benchlib.machine_info(), benchlib.now_iso()
    root = Path(os.environ.get("KIO_BUILD_ROOT", ROOT / "build"))
    bdir = root / "bench-echo"
    log(f"building (release) in {bdir}")
    build(bdir)
    if args.out is None:
        args.out = str(bdir if args.quick else ROOT / "benchmarks" / "results")

    sizes = [int(s) for s in args.sizes.split(",")]
    conns_list = [int(c) for c in args.connections.split(",")]
    servers = args.servers.split(",")
    samples = {}
    for r in range(args.rounds):
        for size in sizes:
            for conns in conns_list:
                order = servers if r % 2 == 0 else list(reversed(servers))
                for server in order:
                    s = run_one(args, bdir, server, size, conns)
                    samples.setdefault((size, conns, server), []).append(s)
                    log(f"round {r + 1}/{args.rounds} {server:5} {size:6} B {conns:5} conns: "
                        f"{s['msgs_per_sec']:10.0f} msg/s  {s['cpu_us_per_msg']:6.2f} us CPU/msg")

    rows = []
    lines = []
    print(f"\nserver CPUs {args.server_cpus}, client CPUs {args.client_cpus}, "
          f"{args.rounds} round(s) x {args.seconds:g} s, medians\n")
    cols = ["size", "conns"]
    for s in servers:
        cols += [f"{s} msg/s", f"{s} us CPU/msg"]
    if "kio" in servers and "epoll" in servers:
        cols += ["kio/epoll msg/s", "kio/epoll CPU/msg"]
    lines.append("| " + " | ".join(cols) + " |")
    lines.append("|" + "---|" * len(cols))
    print(lines[0])
    print(lines[1])
    for size in sizes:
        for conns in conns_list:
            row = {"size": size, "connections": conns}
            cells = [str(size), str(conns)]
            for server in servers:
                runs = samples[(size, conns, server)]
                m = statistics.median(x["msgs_per_sec"] for x in runs)
                c = statistics.median(x["cpu_us_per_msg"] for x in runs)
                row[server] = {"msgs_per_sec": m, "cpu_us_per_msg": c, "runs": runs}
                cells += [f"{m:,.0f}", f"{c:.2f}"]
            if "kio" in row and "epoll" in row:
                rt = row["kio"]["msgs_per_sec"] / row["epoll"]["msgs_per_sec"]
                rc = row["kio"]["cpu_us_per_msg"] / row["epoll"]["cpu_us_per_msg"]
                row["ratio_msgs"] = rt
                row["ratio_cpu"] = rc
                cells += [f"{rt:.2f}", f"{rc:.2f}"]
            rows.append(row)
            lines.append("| " + " | ".join(cells) + " |")
            print(lines[-1])
    write_results(args, rows, lines, machine, started)


def write_results(args, rows, table, machine, started):
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"echo-{benchlib.today()}"
    versions = benchlib.tool_versions()
    doc = {"started": started, "machine": machine, "versions": versions, "args": vars(args),
           "results": rows}
    stem.with_suffix(".json").write_text(json.dumps(doc, indent=1))
    m = machine
    md = [f"# Echo benchmark: kio demo/echo_server vs a plain epoll loop — {started}", "",
          "## Machine", "",
          f"- CPU: {m['cpu']} ({m['cpus_online']} CPUs online, {m['virtualisation']})",
          f"- Memory: {m['memory_gib']} GiB; kernel {m['kernel']}; {m['os']}",
          f"- Load average when the run started: {m['loadavg_at_start']:.2f}",
          f"- kio {versions['kio']} built with `{versions['cxx']}` (meson release)",
          f"- Setup: server on CPUs {args.server_cpus}, load generator (benchmarks/echo/echo_load,"
          f" closed loop, every echo verified) on CPUs {args.client_cpus}; {args.rounds}"
          f" interleaved round(s) of {args.seconds:g} s per cell; medians", "",
          *([f"**Warning:** other work was running (1-minute load {m['loadavg_at_start']:.1f} at"
             " the start); absolute numbers are noisy, the interleaved ratios less so.", ""]
            if m["loadavg_at_start"] > 1.5 else []),
          "## Medians", "", *table, "",
          "kio/epoll: above 1 is better for msg/s, below 1 is better for CPU per message.", "",
          "- Server CPU per message = (utime + stime of the server process while the load tool"
          " counts, from /proc/PID/stat) / messages echoed.",
          f"- Reproduce: `tools/bench-echo --rounds {args.rounds} --seconds {args.seconds:g}`;"
          " raw runs are in the JSON file next to this one.", ""]
    stem.with_suffix(".md").write_text("\n".join(md))
    log(f"\nwrote {stem}.json and {stem}.md")


if __name__ == "__main__":
    main()
