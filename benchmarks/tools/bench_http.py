#!/usr/bin/env python3
"""kio's demo/tcp_demo against a hand-written io_uring loop (benchmarks/uring_http, raw liburing),
the Tokio baseline (benchmarks/rust/tcp), hyper 0.14 (benchmarks/rust/hyper) and nginx
(benchmarks/nginx/hello.conf) under wrk.

Called by tools/bench-http. For every connection count (default 50, 500, 2000) and mode (plain
keep-alive, and 16-deep pipelining via benchmarks/wrk/pipeline.lua) the servers run one after the
other, in alternating order every round, each as a fresh process pinned with taskset to the
server CPUs while wrk is pinned to the client CPUs. Each run records req/s, p50/p99 (wrk
--latency), errors, the server's CPU time per request (utime+stime from /proc/PID/stat around
the wrk run) and peak RSS (VmHWM). Then, per server: syscalls per request at 500 connections
(perf tracepoints, or strace -c), and memory per idle keep-alive connection (RSS delta with
10,000 idle connections, benchmarks/tools/idle_conns.py), measured twice: after one request on each
connection, and again after every connection sent a burst of 600 pipelined requests and went idle
(--burst).

Writes benchmarks/results/<date>.{json,md,png} (--quick writes to <build root>/bench-quick/).
"""
import argparse
import json
import os
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402
import idle_conns  # noqa: E402
import report_http  # noqa: E402
from benchlib import ROOT, cpu_ticks, die, free_port, log, raise_nofile  # noqa: E402

TOKIO = "tokio"
LOOP = "uring-loop"  # benchmarks/uring_http: the hand-written io_uring loop
HYPER = "hyper"  # benchmarks/rust/hyper: hyper 0.14 on current-thread Tokio runtimes
NGINX = "nginx"  # nginx-light with benchmarks/nginx/hello.conf (`return 200`)
KNOWN_SERVERS = ("kio", LOOP, TOKIO, HYPER, NGINX, "tokio-multi")
NGINX_CONF = ROOT / "benchmarks" / "nginx" / "hello.conf"
PIPELINE_LUA = ROOT / "benchmarks" / "wrk" / "pipeline.lua"
IDLE_CLIENT = ROOT / "benchmarks" / "tools" / "idle_conns.py"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---- processes -----------------------------------------------------------------------------------

def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


class Server:
    """One server process: started pinned to `cpus`, waited for until it accepts connections."""

    def __init__(self, name, cmd, cpus, log_dir):
        self.name = name
        self.port = free_port()
        log_dir.mkdir(parents=True, exist_ok=True)
        if name == NGINX:
            # nginx reads its port from the configuration: write one per run.
            prefix = log_dir / f"nginx-{self.port}"
            prefix.mkdir(parents=True, exist_ok=True)
            conf = NGINX_CONF.read_text().replace("@PORT@", str(self.port)).replace(
                "@PREFIX@", str(prefix))
            (prefix / "nginx.conf").write_text(conf)
            argv = ["taskset", "-c", cpus, *cmd, "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
                    "-e", str(prefix / "error.log")]
        else:
            argv = ["taskset", "-c", cpus, *cmd, "--port", str(self.port)]
        self.log_path = log_dir / f"{name}.log"
        self.log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log_file,
                                     stderr=subprocess.STDOUT, preexec_fn=raise_nofile)
        self.pid = self.proc.pid  # taskset execs the server: same pid
        try:
            benchlib.wait_listening(self.port, self.proc, timeout=15)
        except RuntimeError:
            if self.proc.poll() is not None:
                self.log_file.close()
                tail = self.log_path.read_text(errors="replace")[-2000:]
                die(f"{name} exited with status {self.proc.returncode} at start:\n{tail}")
            self.stop()
            die(f"{name} did not accept connections on port {self.port} within 15 s")
        if name == NGINX:
            # Measure the worker process (one worker serves every connection; the master idles).
            self.pid = self._only_child()

    def _only_child(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                kids = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
            except OSError:
                kids = []
            if kids:
                return int(kids[0])
            time.sleep(0.05)
        self.stop()
        die("nginx started no worker process")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/"

    def cpu_ticks(self):
        return cpu_ticks(self.pid)

    def peak_rss_kib(self):
        return status_kib(self.pid, "VmHWM")

    def rss_kib(self):
        return status_kib(self.pid, "VmRSS")

    def check_alive(self, what):
        if self.proc.poll() is not None:
            die(f"{self.name} died during {what} (status {self.proc.returncode}); log: {self.log_path}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT if self.name == NGINX else signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()


# ---- wrk -----------------------------------------------------------------------------------------

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk_cmd(args, conns, mode, url, duration):
    threads = max(1, min(args.wrk_threads, conns))
    cmd = ["taskset", "-c", args.client_cpus, "wrk", f"-t{threads}", f"-c{conns}",
           f"-d{duration:g}s", "--latency"]
    if mode == "pipelined":
        return cmd + ["-s", str(PIPELINE_LUA), url, "--", str(args.pipeline)]
    return cmd + [url]


def parse_wrk(out, mode):
    def num(pattern, default=None, conv=float):
        m = re.search(pattern, out, re.M)
        return conv(m.group(1)) if m else default

    r = {
        "rps": num(r"^Requests/sec:\s+([\d.]+)"),
        "requests": num(r"^\s*(\d+) requests in", conv=int),
        "p50_ms": None,
        "p99_ms": None,
    }
    if r["rps"] is None or r["requests"] is None:
        raise ValueError(f"cannot parse wrk output:\n{out}")
    # wrk's coordinated-omission correction assumes one request in flight per connection; with
    # pipelining it inserts samples below the recorded minimum and the percentiles come out wrong
    # (often 0). Only plain runs report percentiles.
    if mode == "plain":
        for pct, key in (("50", "p50_ms"), ("99", "p99_ms")):
            m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
            if m:
                r[key] = float(m.group(1)) * UNITS[m.group(2)]
    # The largest latency wrk saw (not affected by its correction): shows stalls.
    m = re.search(r"^\s+Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)\s", out, re.M)
    r["max_latency_ms"] = float(m.group(1)) * UNITS[m.group(2)] if m else None
    errs = {"connect": 0, "read": 0, "write": 0, "timeout": 0, "non2xx": 0}
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errs.update(zip(("connect", "read", "write", "timeout"), map(int, m.groups())))
    errs["non2xx"] = num(r"Non-2xx or 3xx responses: (\d+)", 0, int)
    r["errors"] = errs
    return r


def run_wrk(args, conns, mode, url, duration):
    cmd = wrk_cmd(args, conns, mode, url, duration)
    p = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=raise_nofile,
                       timeout=duration + 60)
    if p.returncode != 0:
        die(f"wrk failed ({p.returncode}): {' '.join(cmd)}\n{p.stdout}{p.stderr}")
    return parse_wrk(p.stdout, mode), p.stdout


# ---- phases --------------------------------------------------------------------------------------

def measure_run(args, name, cmd, conns, mode, tag):
    srv = Server(name, cmd, args.server_cpus, args.log_dir)
    try:
        if args.warmup > 0:
            run_wrk(args, conns, mode, srv.url, args.warmup)
        (u0, s0) = srv.cpu_ticks()
        r, raw = run_wrk(args, conns, mode, srv.url, args.duration)
        (u1, s1) = srv.cpu_ticks()
        (args.log_dir / f"wrk-{tag}.txt").write_text(raw)
        srv.check_alive("the wrk run")
        r["server_cpu_s"] = (u1 - u0 + s1 - s0) / CLK_TCK
        r["server_user_s"] = (u1 - u0) / CLK_TCK  # the server's own code (the rest is kernel)
        reqs = r["requests"]
        r["cpu_us_per_req"] = r["server_cpu_s"] * 1e6 / reqs if reqs else None
        r["user_us_per_req"] = r["server_user_s"] * 1e6 / reqs if reqs else None
        r["peak_rss_kib"] = srv.peak_rss_kib()
        r["loadavg_1m"] = os.getloadavg()[0]
    finally:
        srv.stop()
    return r


def parse_perf(path):
    counts = {}
    for line in Path(path).read_text().splitlines():
        f = line.split(",")
        if len(f) < 3 or not f[0].isdigit():
            continue
        name = f[2].replace("syscalls:sys_enter_", "").replace("raw_syscalls:sys_enter", "total")
        counts[name] = counts.get(name, 0) + int(f[0])
    return counts


def parse_strace(text):
    counts = {}
    for line in text.splitlines():
        f = line.split()
        # % time, seconds, usecs/call, calls, [errors], syscall
        if len(f) >= 5 and f[0].replace(".", "").isdigit() and f[3].isdigit():
            counts[f[-1]] = int(f[3])
    counts["total"] = sum(v for k, v in counts.items() if k != "total")
    return counts


def have_perf():
    try:
        r = subprocess.run(["perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter", "--", "true"],
                           capture_output=True, text=True, timeout=20)
        return r.returncode == 0 and "raw_syscalls" in r.stderr
    except (OSError, subprocess.SubprocessError):
        return False


def measure_syscalls(args, name, cmd, mode, use_perf):
    """Syscalls per request at --syscall-connections, counted during one wrk run."""
    conns = args.syscall_connections
    srv = Server(name, cmd, args.server_cpus, args.log_dir)
    try:
        run_wrk(args, conns, mode, srv.url, 1)
        out_path = args.log_dir / f"syscalls-{name}-{mode}.txt"
        wrk = wrk_cmd(args, conns, mode, srv.url, args.syscall_duration)
        if use_perf:
            # perf counts the server's syscalls for exactly the lifetime of the wrk command.
            cmd_perf = ["perf", "stat", "-x,", "-o", str(out_path), "-e", "raw_syscalls:sys_enter",
                        "-e", "syscalls:sys_enter_*", "-p", str(srv.pid), "--", *wrk]
            p = subprocess.run(cmd_perf, capture_output=True, text=True, preexec_fn=raise_nofile)
            if p.returncode != 0:
                die(f"perf stat failed: {p.stderr[-2000:]}")
            counts = parse_perf(out_path)
            wrk_out = p.stdout
        else:
            st = subprocess.Popen(["strace", "-c", "-f", "-p", str(srv.pid), "-o", str(out_path)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)  # let strace attach to every thread
            p = subprocess.run(wrk, capture_output=True, text=True, preexec_fn=raise_nofile)
            st.send_signal(signal.SIGINT)
            st.wait(timeout=30)
            counts = parse_strace(out_path.read_text())
            wrk_out = p.stdout
        r = parse_wrk(wrk_out, mode)
        srv.check_alive("the syscall count")
    finally:
        srv.stop()
    reqs = r["requests"] or 1
    per_req = {k: v / reqs for k, v in sorted(counts.items(), key=lambda kv: -kv[1])
               if v / reqs >= 0.001}
    return {
        "method": "perf raw_syscalls:sys_enter" if use_perf else "strace -c -f",
        "connections": conns,
        "requests": r["requests"],
        "rps_while_counting": r["rps"],
        "syscalls": counts.get("total", 0),
        "per_request": counts.get("total", 0) / reqs,
        "by_syscall_per_request": per_req,
    }


def warm_pools(port, nbytes):
    """Streams `nbytes` of pipelined requests through one connection (reading every response)
    before the first RSS reading, so that memory a server allocates once per core and touches
    gradually -- kio's receive-buffer ring (1,024 x 16 KiB per core, filled by the kernel in ring
    order), allocator arenas -- is counted in neither reading. Every server gets the same."""
    req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(req)
        first = b""
        while not idle_conns.response_complete(first):
            chunk = s.recv(4096)
            if not chunk:
                return
            first += chunk
        length = len(first)
        count = nbytes // len(req)
        got = [0]

        def reader():
            want = length * count
            while got[0] < want:
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                got[0] += len(chunk)

        t = threading.Thread(target=reader)
        t.start()
        batch = req * 1024
        for _ in range(count // 1024):
            s.sendall(batch)
        s.sendall(req * (count % 1024))
        t.join(timeout=120)


def measure_idle(args, name, cmd):
    """Server RSS growth per idle keep-alive connection: after one request on each connection,
    then (unless --burst 0) after each connection sent a burst of pipelined requests, read every
    response and went idle again."""
    srv = Server(name, cmd, args.server_cpus, args.log_dir)
    client = None
    try:
        with socket.create_connection(("127.0.0.1", srv.port)) as s:  # warm lazy initialisation
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            s.recv(4096)
        if args.warm_bytes:
            warm_pools(srv.port, args.warm_bytes)
        # Every reading is taken 2 s after the last traffic: a kio core that idled for 1 s has
        # given back what it cached (RuntimeOptions::idle_trim), before the baseline as after.
        time.sleep(2.0)
        before = srv.rss_kib()
        client = subprocess.Popen(
            ["taskset", "-c", args.client_cpus, sys.executable, str(IDLE_CLIENT), "--port",
             str(srv.port), "--count", str(args.idle_connections)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, preexec_fn=raise_nofile)
        line = client.stdout.readline().split()
        if not line or line[0] != "ready":
            die(f"idle connection client failed against {name}")
        opened, failed = int(line[1]), int(line[2])
        time.sleep(2.0)
        after = srv.rss_kib()

        def ask(cmd):
            client.stdin.write(cmd + "\n")
            client.stdin.flush()
            return client.stdout.readline().split()

        still_open = int(ask("check")[1])
        srv.check_alive("the idle-connection test")
        r = {
            "connections_requested": args.idle_connections,
            "opened": opened,
            "failed": failed,
            "still_open_at_measurement": still_open,
            "rss_before_kib": before,
            "rss_after_kib": after,
            "bytes_per_connection": (after - before) * 1024 / still_open if still_open else None,
        }
        if args.burst > 0:
            t0 = time.monotonic()
            reply = ask(f"burst {args.burst}")  # "burst <connections done> <failed>"
            r["burst_requests"] = args.burst
            r["burst_seconds"] = round(time.monotonic() - t0, 1)
            r["burst_failed"] = int(reply[2]) if len(reply) > 2 else None
            time.sleep(2.0)  # idle again (see above)
            r["rss_after_burst_kib"] = srv.rss_kib()
            open_after = int(ask("check")[1])
            r["still_open_after_burst"] = open_after
            r["bytes_per_connection_after_burst"] = (
                (r["rss_after_burst_kib"] - before) * 1024 / open_after if open_after else None)
            srv.check_alive("the burst test")
        return r
    finally:
        if client:
            client.stdin.close()
            try:
                client.wait(timeout=30)
            except subprocess.TimeoutExpired:
                client.kill()
        srv.stop()


# ---- main ----------------------------------------------------------------------------------------

def summarise(runs, servers, scenarios):
    summary = []
    for conns, mode in scenarios:
        for name in servers:
            rs = [r for r in runs if r["server"] == name and r["connections"] == conns
                  and r["mode"] == mode]
            if not rs:
                continue

            def med(key):
                vals = [r[key] for r in rs if r.get(key) is not None]
                return statistics.median(vals) if vals else None

            summary.append({
                "server": name, "connections": conns, "mode": mode, "rounds": len(rs),
                "rps": med("rps"), "p50_ms": med("p50_ms"), "p99_ms": med("p99_ms"),
                "cpu_us_per_req": med("cpu_us_per_req"), "peak_rss_kib": med("peak_rss_kib"),
                "user_us_per_req": med("user_us_per_req"),
                "errors": sum(sum(r["errors"].values()) for r in rs),
                "rps_min": min(r["rps"] for r in rs), "rps_max": max(r["rps"] for r in rs),
            })
    return summary


def ratios(summary, num="kio", den=TOKIO):
    out = []
    keys = {(s["server"], s["connections"], s["mode"]): s for s in summary}
    for s in summary:
        if s["server"] != num:
            continue
        d = keys.get((den, s["connections"], s["mode"]))
        if not d:
            continue

        def q(k):
            return s[k] / d[k] if s.get(k) and d.get(k) else None

        out.append({"connections": s["connections"], "mode": s["mode"], "rps": q("rps"),
                    "p50": q("p50_ms"), "p99": q("p99_ms"), "cpu_per_req": q("cpu_us_per_req"),
                    "user_cpu_per_req": q("user_us_per_req"),
                    "peak_rss": q("peak_rss_kib")})
    return out


# Goals from the HTTP issues (10: the hot path), checked on every run:
# (baseline server, connections, mode, ratio key, limit, text).
TARGETS = [
    *[(LOOP, c, "plain", "cpu_per_req", 1.03,
       f"plain keep-alive, {c} connections: server CPU per request <= 1.03 x the io_uring loop's")
      for c in (50, 500, 2000)],
    *[(b, c, "pipelined", "cpu_per_req", lim,
       f"pipelined, {c} connections: server CPU per request <= {lim:.2f} x {b}'s")
      for c in (50, 500) for b, lim in ((LOOP, 1.10), (TOKIO, 1.00), (HYPER, 0.60))],
]


def check_targets(ratio_rows_by_baseline):
    """ratio_rows_by_baseline: {baseline server: ratios(summary, "kio", baseline)}."""
    out = []
    for den, conns, mode, key, limit, text in TARGETS:
        rows = ratio_rows_by_baseline.get(den, [])
        q = next((q for q in rows if q["connections"] == conns and q["mode"] == mode), None)
        if q is None or q.get(key) is None:
            continue
        met = q[key] <= limit if key == "cpu_per_req" else q[key] < limit
        out.append({"target": text, "baseline": den, "ratio": q[key], "limit": limit, "met": met})
    return out


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="tools/bench-http", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--servers", default=f"kio,{LOOP},{TOKIO},{HYPER},{NGINX}",
                    help="comma list of kio, uring-loop (benchmarks/uring_http, the hand-written "
                         "io_uring loop), tokio (current-thread runtimes, one per worker), "
                         "tokio-multi (work-stealing runtime), hyper (hyper 0.14 on current-thread "
                         "runtimes), nginx (nginx-light, one worker, `return 200`) "
                         "(default: kio,uring-loop,tokio,hyper,nginx)")
    ap.add_argument("--extra-server", action="append", default=[], metavar="NAME=COMMAND",
                    help="also benchmark COMMAND (shell words; must accept '--port N' appended and "
                         "serve the same Hello, World!), e.g. a hand-written io_uring loop")
    ap.add_argument("--connections", default="50,500,2000", help="comma list (default 50,500,2000)")
    ap.add_argument("--modes", default="plain,pipelined", help="plain and/or pipelined")
    ap.add_argument("--pipeline", type=int, default=16, help="pipelining depth (default 16)")
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    ap.add_argument("--warmup", type=int, default=1, help="seconds of wrk before each run (1)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    ap.add_argument("--server-cpus", default="1", help="taskset CPU list for servers (default 1)")
    ap.add_argument("--client-cpus", default="0", help="taskset CPU list for wrk (default 0)")
    ap.add_argument("--workers", type=int, default=0,
                    help="server workers (default: number of --server-cpus)")
    ap.add_argument("--wrk-threads", type=int, default=0,
                    help="wrk threads (default: number of --client-cpus)")
    ap.add_argument("--syscall-connections", type=int, default=500)
    ap.add_argument("--syscall-duration", type=int, default=5)
    ap.add_argument("--idle-connections", type=int, default=10000)
    ap.add_argument("--burst", type=int, default=600,
                    help="after the idle measurement, every idle connection sends this many "
                         "pipelined requests, reads the responses and idles again; RSS is measured "
                         "once more (0: skip; default 600)")
    ap.add_argument("--no-syscalls", action="store_true", help="skip the syscalls-per-request runs")
    ap.add_argument("--no-idle", action="store_true", help="skip the idle-connection memory test")
    ap.add_argument("--warm-bytes", type=int, default=32 << 20,
                    help="pipelined request bytes sent through one connection before the first "
                         "RSS reading of the idle test (default 32 MiB; 0: none)")
    ap.add_argument("--memory-only", action="store_true",
                    help="only the idle-connection memory test (RSS before/after opening "
                         "--idle-connections, and after a --burst): prints, writes nothing")
    ap.add_argument("--quick", action="store_true",
                    help="about half a minute: 500 connections, 1 round of 3 s (+1 s warm-up) "
                         "per server and mode, no syscall/idle runs; results go to "
                         "<build root>/bench-quick, not benchmarks/results")
    ap.add_argument("--no-build", action="store_true", help="use the binaries already built")
    ap.add_argument("--kio-binary", help="tcp_demo to run (default: <build root>/release/demo/tcp_demo)")
    ap.add_argument("--out", help="directory for <date>.json/.md/.png (default benchmarks/results)")
    args = ap.parse_args(argv)
    if args.quick:
        args.connections = "500" if args.connections == "50,500,2000" else args.connections
        args.duration, args.warmup, args.rounds = 3, 1, 1
        args.no_syscalls = args.no_idle = True
    args.servers = [s for s in args.servers.split(",") if s]
    for s in args.servers:
        if s not in KNOWN_SERVERS:
            ap.error(f"unknown server {s!r}")
    extra = {}
    for spec in args.extra_server:
        name, sep, cmd = spec.partition("=")
        if not sep or not name or not cmd.strip() or name in args.servers or name in extra:
            ap.error(f"--extra-server wants a new NAME=COMMAND, got {spec!r}")
        extra[name] = shlex.split(cmd)
    args.extra_server = extra
    args.servers += list(extra)
    args.connections = [int(c) for c in args.connections.split(",") if c]
    args.modes = [m for m in args.modes.split(",") if m]
    for m in args.modes:
        if m not in ("plain", "pipelined"):
            ap.error(f"unknown mode {m!r}")
    ncpus = lambda spec: len(expand_cpus(spec))  # noqa: E731
    args.workers = args.workers or ncpus(args.server_cpus)
    args.wrk_threads = args.wrk_threads or ncpus(args.client_cpus)
    return args


def expand_cpus(spec):
    cpus = set()
    for part in spec.split(","):
        if "-" in part:
            a, b = part.split("-")
            cpus.update(range(int(a), int(b) + 1))
        elif part:
            cpus.add(int(part))
    return sorted(cpus)


def main(argv):
    args = parse_args(argv)
    broot = benchlib.build_root()
    args.log_dir = broot / "bench-logs"  # server logs and raw wrk output of the last run
    out_dir = Path(args.out) if args.out else (broot / "bench-quick" if args.quick
                                               else benchlib.RESULTS)
    overlap = set(expand_cpus(args.server_cpus)) & set(expand_cpus(args.client_cpus))
    if overlap:
        log(f"warning: server and client CPU sets overlap ({sorted(overlap)})")

    need_tokio = any(s.startswith("tokio") for s in args.servers)
    need_hyper = HYPER in args.servers
    entries = ["bench-http"]  # tools/lib/packages.txt (tools/bench-http installed these already)
    if NGINX in args.servers:
        entries += ["bench-http-nginx"]
    if not args.no_build and (need_tokio or need_hyper):
        entries += (["bench-http-tokio"] if need_tokio else []) + \
                   (["bench-http-hyper"] if need_hyper else []) + \
                   ([] if benchlib.shutil.which("cargo") else ["bench-http-cargo"])
    if not args.quick:
        entries += ["bench-http-plot"]
    if not args.no_syscalls:
        entries += ["bench-http-syscalls"]
    benchlib.ensure_packages(*entries)

    commands = {}
    loop_bin = broot / "release" / "benchmarks" / "uring_http" / "uring_http"
    if not args.no_build:
        # Only the servers' targets: quicker, and independent of the rest of the tree.
        targets = (["demo/tcp_demo"] if "kio" in args.servers and not args.kio_binary else []) + \
                  (["benchmarks/uring_http/uring_http"] if LOOP in args.servers else [])
        if targets:
            benchlib.build_kio_release(targets)
    if LOOP in args.servers:
        if not loop_bin.is_file():
            die(f"hand-written loop {loop_bin} does not exist (run without --no-build)")
        commands[LOOP] = [str(loop_bin), "--workers", str(args.workers)]
    if "kio" in args.servers:
        kio_bin = Path(args.kio_binary) if args.kio_binary else broot / "release" / "demo" / "tcp_demo"
        if not kio_bin.is_file():
            die(f"kio server binary {kio_bin} does not exist: demo/tcp_demo is built from "
                f"demo/tcp_demo.cpp (the HTTP demo); build it, pass --kio-binary, or run with "
                f"--servers tokio")
        commands["kio"] = [str(kio_bin), "--workers", str(args.workers)]
    if need_tokio:
        tokio_bin = (benchlib.build_tokio() if not args.no_build
                     else broot / "tokio" / "release" / "tokio_server")
        if not tokio_bin.is_file():
            die(f"Tokio baseline {tokio_bin} does not exist (run without --no-build)")
        if "tokio" in args.servers:
            commands["tokio"] = [str(tokio_bin), "--workers", str(args.workers), "--flavor", "current"]
        if "tokio-multi" in args.servers:
            commands["tokio-multi"] = [str(tokio_bin), "--workers", str(args.workers),
                                       "--flavor", "multi"]

    if need_hyper:
        hyper_bin = (benchlib.build_cargo(benchlib.HYPER_DIR, "hyper", "hyper_server")
                     if not args.no_build else broot / "hyper" / "release" / "hyper_server")
        if not hyper_bin.is_file():
            die(f"hyper baseline {hyper_bin} does not exist (run without --no-build)")
        commands[HYPER] = [str(hyper_bin), "--workers", str(args.workers)]
    if NGINX in args.servers:
        nginx = benchlib.shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(nginx).is_file():
            die("nginx not found (tools/bench-http installs Debian's nginx-light when run as root)")
        if args.workers != 1:
            log("note: nginx runs one worker process (benchmarks/nginx/hello.conf) whatever --workers says")
        commands[NGINX] = [nginx]

    commands.update(args.extra_server)
    commands = {name: commands[name] for name in args.servers}  # tables follow --servers' order
    if args.memory_only:
        for name in args.servers:
            m = measure_idle(args, name, commands[name])
            log(f"idle     {name:<11} {json.dumps(m)}")
        return 0
    scenarios = [(c, m) for c in args.connections for m in args.modes]
    total = len(scenarios) * len(args.servers) * args.rounds
    log(f"{total} runs of {args.duration:g} s (+{args.warmup:g} s warm-up): servers on CPUs "
        f"{args.server_cpus} ({args.workers} worker(s)), wrk on CPUs {args.client_cpus} "
        f"({args.wrk_threads} thread(s))")
    runs = []
    n = 0
    for rnd in range(args.rounds):
        order = args.servers if rnd % 2 == 0 else list(reversed(args.servers))
        for conns, mode in scenarios:
            for name in order:
                n += 1
                r = measure_run(args, name, commands[name], conns, mode,
                                f"{name}-{conns}-{mode}-round{rnd + 1}")
                r.update(server=name, connections=conns, mode=mode, round=rnd + 1)
                runs.append(r)
                errs = sum(r["errors"].values())
                p99 = f"{r['p99_ms']:.2f} ms" if r["p99_ms"] is not None else "-"
                log(f"[{n}/{total}] round {rnd + 1} {conns:>5} {mode:<9} {name:<11} "
                    f"{r['rps']:>11,.0f} req/s  p99 {p99:>9}  "
                    f"cpu {r['cpu_us_per_req'] or 0:.2f} us/req (user "
                    f"{r['user_us_per_req'] or 0:.2f})  errors {errs}")

    syscalls = {}
    if not args.no_syscalls:
        use_perf = have_perf()
        for name in args.servers:
            syscalls[name] = {}
            for mode in args.modes:
                syscalls[name][mode] = s = measure_syscalls(args, name, commands[name], mode,
                                                            use_perf)
                log(f"syscalls {name:<11} {mode:<9} {s['per_request']:.3f} per request "
                    f"({s['method']})")
    idle = {}
    if not args.no_idle:
        for name in args.servers:
            idle[name] = m = measure_idle(args, name, commands[name])
            bpc = m["bytes_per_connection"]
            log(f"idle     {name:<11} {m['still_open_at_measurement']} connections open, "
                f"{bpc:,.0f} bytes RSS per connection" if bpc is not None
                else f"idle     {name:<11} no connection stayed open")
            if m.get("bytes_per_connection_after_burst") is not None:
                log(f"burst    {name:<11} {m['still_open_after_burst']} connections open after "
                    f"{m['burst_requests']} pipelined requests each: "
                    f"{m['bytes_per_connection_after_burst']:,.0f} bytes RSS per connection")

    summary = summarise(runs, args.servers, scenarios)
    busy = args.workers + args.wrk_threads
    loads = [r["loadavg_1m"] for r in runs]
    noisy = bool(loads) and statistics.median(loads) > busy + 0.5
    if noisy:
        log(f"\nwarning: the machine was busy with other work (median 1-minute load "
            f"{statistics.median(loads):.1f}, the benchmark itself accounts for about {busy}): "
            f"numbers are noisy; interleaving keeps the kio/Tokio and kio/loop ratios fairer than the absolutes")
    result = {
        "date": benchlib.now_iso(),
        "machine": benchlib.machine_info(),
        "versions": benchlib.tool_versions([
            ("wrk", ["wrk", "-v"]), ("rustc", ["rustc", "--version"]),
            ("tokio", ["dpkg-query", "-W", "-f=${Version}", "librust-tokio-dev"]),
            ("hyper", ["dpkg-query", "-W", "-f=${Version}", "librust-hyper-dev"]),
            ("nginx", ["dpkg-query", "-W", "-f=${Version}", "nginx-light"])]),
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "servers": {k: " ".join(v) for k, v in commands.items()},
        "runs": runs,
        "summary": summary,
        "ratios_kio_over_loop": ratios(summary, "kio", LOOP),
        "ratios_kio_over_tokio": ratios(summary, "kio", TOKIO),
        "ratios_kio_over_hyper": ratios(summary, "kio", HYPER),
        "ratios_kio_over_nginx": ratios(summary, "kio", NGINX),
        "targets": check_targets({b: ratios(summary, "kio", b) for b in (LOOP, TOKIO, HYPER)}),
        "syscalls": syscalls,
        "idle_memory": idle,
        "median_loadavg_1m": statistics.median(loads) if loads else None,
        "noisy": noisy,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / benchlib.today()
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    md = report_http.markdown(result, chart=stem.with_suffix(".png").name)
    log("")
    log(report_http.console_table(result))
    chart_ok = False if args.quick else report_http.chart(result, stem.with_suffix(".png"))
    if not chart_ok:
        md = md.replace(f"![chart]({stem.with_suffix('.png').name})\n", "")
    stem.with_suffix(".md").write_text(md)
    log(f"\nwrote {stem}.json, {stem}.md" + (f", {stem}.png" if chart_ok else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
