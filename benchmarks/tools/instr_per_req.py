#!/usr/bin/env python3
"""Instructions (user and kernel) and CPU per request of an HTTP server under wrk, from perf stat.

Robust against a busy machine where CPU time is not: instruction counts do not depend on what
else runs. Used to compare code changes (before/after) on the request path.

  benchmarks/tools/instr_per_req.py build/release/demo/tcp_demo --workers 1
  benchmarks/tools/instr_per_req.py --mode plain --connections 500 -- build/release/demo/tcp_demo

The server command gets "--port N" appended; it is pinned to --server-cpu, wrk to --client-cpu.
Prints one line per run: requests, instructions:u and :k per request, CPU µs per request.
Instruction counts need a hardware PMU: on a VM without one perf reports them "not supported"
and this prints 0 for them (CPU time is still printed); --record (perf record -g, cpu-clock
sampling) works everywhere.
"""
import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402
from benchlib import ROOT, cpu_ticks, free_port, raise_nofile  # noqa: E402

CLK_TCK = 100


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--mode", choices=("plain", "pipelined"), default="pipelined")
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--server-cpu", default="1")
    ap.add_argument("--client-cpu", default="0")
    ap.add_argument("--record", metavar="PERF_DATA", help="perf record -g into this file instead")
    ap.add_argument("server", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = [w for w in a.server if w != "--"]
    for _ in range(a.runs):
        port = free_port()
        srv = subprocess.Popen(["taskset", "-c", a.server_cpu, *cmd, "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               preexec_fn=raise_nofile)
        try:
            benchlib.wait_listening(port, srv, 15)
            wrk = ["taskset", "-c", a.client_cpu, "wrk", "-t1", f"-c{a.connections}",
                   f"-d{a.duration}s"]
            if a.mode == "pipelined":
                wrk += ["-s", str(ROOT / "benchmarks/wrk/pipeline.lua"), f"http://127.0.0.1:{port}/",
                        "--", "16"]
            else:
                wrk += [f"http://127.0.0.1:{port}/"]
            subprocess.run(wrk[:4] + ["-d1s"] + wrk[5:], capture_output=True, preexec_fn=raise_nofile)
            u0, s0 = cpu_ticks(srv.pid)
            if a.record:
                perf = ["perf", "record", "-g", "-o", a.record, "-p", str(srv.pid), "--"]
            else:
                perf = ["perf", "stat", "-x,", "-e", "instructions:u,instructions:k", "-p",
                        str(srv.pid), "--"]
            p = subprocess.run(perf + wrk, capture_output=True, text=True, preexec_fn=raise_nofile)
            u1, s1 = cpu_ticks(srv.pid)
            reqs = int(re.search(r"(\d+) requests in", p.stdout).group(1))
            line = f"{a.mode} c={a.connections}: {reqs} requests"
            if not a.record:
                counts = {}
                for l in p.stderr.splitlines():
                    f = l.split(",")
                    if len(f) > 2 and f[0].isdigit():
                        counts[f[2]] = int(f[0])
                line += (f", instructions/req user {counts.get('instructions:u', 0) / reqs:,.0f}"
                         f" kernel {counts.get('instructions:k', 0) / reqs:,.0f}")
            line += (f", CPU us/req {(u1 - u0 + s1 - s0) / CLK_TCK * 1e6 / reqs:.2f} "
                     f"(user {(u1 - u0) / CLK_TCK * 1e6 / reqs:.2f})")
            print(line, flush=True)
        finally:
            srv.terminate()
            srv.wait(10)


if __name__ == "__main__":
    main()
