"""tools/demo: release build, a demo server (tcp_demo or di_server) under wrk, a short report.
See tools/demo for usage."""
import argparse
import os
import re
import shutil
import socket
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "benchmarks", "tools"))
sys.path.insert(0, os.path.join(ROOT, "tools", "lib"))
import packages  # noqa: E402  (the meson options tools/demo configures with)
from benchlib import cpu_ticks, free_port, wait_listening  # noqa: E402


def cpu_seconds(pid):
    """utime + stime of a process (all threads)."""
    return sum(cpu_ticks(pid)) / os.sysconf("SC_CLK_TCK")


def run(cmd, **kw):
    print("$ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kw)


def run_quiet(cmd):
    """Runs a build step; its output is shown only when it fails."""
    print("$ " + " ".join(cmd), flush=True)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        print(r.stdout[-6000:], flush=True)
        sys.exit(f"tools/demo: {cmd[0]} {cmd[1]} failed (exit status {r.returncode})")


def build(bdir, program):
    if not os.path.exists(os.path.join(bdir, "build.ninja")):
        run_quiet(["meson", "setup", bdir, ROOT, "--buildtype=release",
                   *packages.meson_options("demo")])
    run_quiet(["ninja", "-C", bdir, f"demo/{program}"])
    return os.path.join(bdir, "demo", program)


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def latency_ms(text, pct):
    m = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    if not m:
        return None
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v


def main():
    ap = argparse.ArgumentParser(prog="tools/demo")
    ap.add_argument("--duration", type=int, default=5, help="seconds of load (default 5)")
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--workers", type=int, default=0,
                    help="server workers (default: half the CPUs, at least 1; wrk gets the rest)")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--di", action="store_true",
                    help="run demo/di_server (kio::di services behind HTTP) instead of tcp_demo; "
                         "afterwards show its /stats and /services")
    ap.add_argument("--compare", action="store_true",
                    help="also run tools/bench-http --quick (kio vs Tokio)")
    args = ap.parse_args()

    bdir = os.path.join(os.environ.get("KIO_BUILD_ROOT", os.path.join(ROOT, "build")), "release")
    program = "di_server" if args.di else "tcp_demo"
    exe = build(bdir, program)

    cpus = sorted(os.sched_getaffinity(0))
    workers = args.workers or max(1, len(cpus) // 2)
    if len(cpus) > 1 and workers < len(cpus):
        server_cpus, wrk_cpus = cpus[-workers:], cpus[:-workers]
    else:
        server_cpus = wrk_cpus = cpus  # one CPU: server and wrk share it
    port = args.port
    if not port_free(port):
        new = free_port()
        print(f"port {port} is in use; using {new} instead")
        port = new

    cmd = ["taskset", "-c", ",".join(map(str, server_cpus)), exe, "--port", str(port),
           "--workers", str(workers)]
    print("$ " + " ".join(cmd), flush=True)
    server = subprocess.Popen(cmd)
    try:
        try:
            wait_listening(port, server)
        except RuntimeError as e:
            sys.exit(f"tools/demo: {program}: {e}")
        url = f"http://127.0.0.1:{port}/"
        if shutil.which("curl"):
            run(["curl", "-si", url])
            print()
        wrk = ["taskset", "-c", ",".join(map(str, wrk_cpus)), "wrk", "-t", str(len(wrk_cpus)),
               "-c", str(args.connections), "-d", f"{args.duration}s", "--latency", url]
        c0 = cpu_seconds(server.pid)
        print("$ " + " ".join(wrk), flush=True)
        out = subprocess.run(wrk, check=True, capture_output=True, text=True).stdout
        c1 = cpu_seconds(server.pid)
        print(out)
        if args.di and shutil.which("curl"):  # the per-core counters summed, the registry
            run(["curl", "-s", url + "stats"])
            print()
            run(["curl", "-s", url + "services"])
        m = re.search(r"(\d+) requests in", out)
        requests = int(m.group(1)) if m else 0
        rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        errors = re.search(r"Socket errors: (.*)", out)
        print(f"kio {program} summary")
        print(f"  server: {workers} worker(s) on CPU {','.join(map(str, server_cpus))}; "
              f"wrk: {len(wrk_cpus)} thread(s) on CPU {','.join(map(str, wrk_cpus))}; "
              f"{args.connections} connections, {args.duration} s")
        if rps:
            print(f"  requests/s        {float(rps.group(1)):,.0f}")
        p50, p99 = latency_ms(out, 50), latency_ms(out, 99)
        if p50 is not None and p99 is not None:
            print(f"  latency p50/p99   {p50:.2f} ms / {p99:.2f} ms")
        if requests:
            print(f"  server CPU        {(c1 - c0) * 1e6 / requests:.2f} µs per request")
        print(f"  non-2xx responses {bad.group(1) if bad else 0}; "
              f"socket errors {errors.group(1) if errors else 'none'}")
        if len(server_cpus) == len(cpus) and len(cpus) > 1:
            print("  note: server and wrk share the CPUs; wrk's own cost limits the req/s")
    finally:
        server.terminate()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
    if server.returncode not in (0, -15):
        sys.exit(f"tools/demo: {program} exited with status {server.returncode}")
    if args.compare:
        print()
        run([os.path.join(ROOT, "tools", "bench-http"), "--quick"])


if __name__ == "__main__":
    main()
