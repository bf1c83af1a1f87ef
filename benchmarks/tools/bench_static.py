#!/usr/bin/env python3
"""Static files: kio (demo/tcp_demo --static DIR) against nginx serving the same directory.

Called by tools/bench-static. One directory holds a 4 KiB and a 1 MiB file (random bytes, made
here). For every file size the servers run one after the other, in alternating order every round,
each as a fresh process pinned with taskset to the server CPU (one worker each: kio --workers 1,
nginx worker_processes 1 from benchmarks/nginx/static.conf) while wrk runs pinned to the client
CPU. Each run records req/s, the server's CPU per request (utime+stime of the server process — for
nginx its worker — from /proc/PID/stat around the wrk run, io-wq kernel threads included, since
they belong to the process) and the user part of it. Every response is checked once before the
runs (status 200, length, bytes). Medians over the rounds; ratios are kio / nginx.

Servers: kio (FileSend::sendfile, the default), kio-splice (FileSend::splice: IORING_OP_SPLICE
through a per-core pipe), nginx.

Writes benchmarks/results/static-<date>.{json,md} (--quick: <build root>/bench-quick/).
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402
from benchlib import ROOT, cpu_ticks, die, free_port, log, raise_nofile  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
NGINX_CONF = ROOT / "benchmarks" / "nginx" / "static.conf"
SIZES = {"4k": 4096, "1m": 1 << 20}
KNOWN = ("kio", "kio-splice", "nginx")


class Server:
    def __init__(self, name, args, www, log_dir):
        self.name = name
        self.port = free_port()
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"static-{name}.log"
        self.log_file = open(self.log_path, "ab")
        if name.startswith("kio"):
            cmd = [str(args.kio_binary), "--workers", "1", "--port", str(self.port), "--static",
                   str(www)] + (["--splice"] if name == "kio-splice" else [])
        else:
            prefix = log_dir / f"nginx-{self.port}"
            prefix.mkdir(parents=True, exist_ok=True)
            conf = NGINX_CONF.read_text().replace("@PORT@", str(self.port)).replace(
                "@ROOT@", str(www)).replace("@PREFIX@", str(prefix))
            (prefix / "nginx.conf").write_text(conf)
            cmd = [args.nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
                   "-e", str(prefix / "error.log")]
        self.proc = subprocess.Popen(["taskset", "-c", args.server_cpus, *cmd],
                                     stdin=subprocess.DEVNULL, stdout=self.log_file,
                                     stderr=subprocess.STDOUT, preexec_fn=raise_nofile)
        try:
            benchlib.wait_listening(self.port, self.proc, timeout=15)
        except RuntimeError as e:
            self.stop()
            die(f"{name}: {e}; log: {self.log_path}")
        self.pid = self.proc.pid if name.startswith("kio") else self._nginx_worker()

    def _nginx_worker(self):
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

    def url(self, name):
        return f"http://127.0.0.1:{self.port}/{name}"

    def check_alive(self, what):
        if self.proc.poll() is not None:
            die(f"{self.name} died during {what} (status {self.proc.returncode}); log: {self.log_path}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM if self.name.startswith("kio") else signal.SIGQUIT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()


def fetch(port, path):
    """One GET over a fresh connection; returns (status, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"GET /{path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(1 << 20):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def run_wrk(args, url, duration):
    cmd = ["taskset", "-c", args.client_cpus, "wrk", f"-t{args.wrk_threads}",
           f"-c{args.connections}", f"-d{duration:g}s", url]
    p = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=raise_nofile,
                       timeout=duration + 60)
    if p.returncode != 0:
        die(f"wrk failed ({p.returncode}): {' '.join(cmd)}\n{p.stdout}{p.stderr}")
    out = p.stdout
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    reqs = re.search(r"^\s*(\d+) requests in", out, re.M)
    if not rps or not reqs:
        die(f"cannot parse wrk output:\n{out}")
    errors = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors += sum(map(int, m.groups()))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        errors += int(m.group(1))
    mbs = re.search(r"^Transfer/sec:\s+([\d.]+)(\w+)", out, re.M)
    return {"rps": float(rps.group(1)), "requests": int(reqs.group(1)), "errors": errors,
            "transfer": f"{mbs.group(1)}{mbs.group(2)}/s" if mbs else None}, out


def measure(args, name, www, size_name):
    srv = Server(name, args, www, args.log_dir)
    try:
        status, body = fetch(srv.port, f"{size_name}.bin")
        if status != 200 or hashlib.sha256(body).hexdigest() != args.digests[size_name]:
            die(f"{name} served {size_name}.bin wrongly (status {status}, {len(body)} bytes)")
        if args.warmup > 0:
            run_wrk(args, srv.url(f"{size_name}.bin"), args.warmup)
        u0, s0 = cpu_ticks(srv.pid)
        r, raw = run_wrk(args, srv.url(f"{size_name}.bin"), args.duration)
        u1, s1 = cpu_ticks(srv.pid)
        srv.check_alive("the wrk run")
        (args.log_dir / f"static-wrk-{name}-{size_name}.txt").write_text(raw)
        reqs = r["requests"] or 1
        r["server_cpu_s"] = (u1 - u0 + s1 - s0) / CLK_TCK
        r["cpu_us_per_req"] = r["server_cpu_s"] * 1e6 / reqs
        r["user_us_per_req"] = (u1 - u0) / CLK_TCK * 1e6 / reqs
        r["loadavg_1m"] = os.getloadavg()[0]
    finally:
        srv.stop()
    return r


def summarise(runs, servers):
    out = []
    for size in SIZES:
        for name in servers:
            rs = [r for r in runs if r["server"] == name and r["size"] == size]
            if not rs:
                continue
            out.append({"server": name, "size": size, "rounds": len(rs),
                        "rps": statistics.median(r["rps"] for r in rs),
                        "cpu_us_per_req": statistics.median(r["cpu_us_per_req"] for r in rs),
                        "user_us_per_req": statistics.median(r["user_us_per_req"] for r in rs),
                        "errors": sum(r["errors"] for r in rs)})
    return out


def ratios(summary, num, den="nginx"):
    by = {(s["server"], s["size"]): s for s in summary}
    out = []
    for size in SIZES:
        a, b = by.get((num, size)), by.get((den, size))
        if a and b:
            out.append({"server": num, "size": size, "rps": a["rps"] / b["rps"],
                        "cpu_per_req": a["cpu_us_per_req"] / b["cpu_us_per_req"],
                        "user_cpu_per_req": (a["user_us_per_req"] / b["user_us_per_req"]
                                             if b["user_us_per_req"] else None)})
    return out


def markdown(res):
    o = res["options"]
    lines = [f"# Static files: kio vs nginx — {res['date']}", "",
             "Written by `tools/bench-static` (benchmarks/tools/bench_static.py).", "",
             f"Machine: {res['machine']['cpu']}, {res['machine']['cpus_online']} CPUs, "
             f"{res['machine']['memory_gib']} GiB, kernel {res['machine']['kernel']}, "
             f"{res['machine']['os']}. kio {res['versions']['kio']}, {res['versions']['cxx']}, "
             f"{res['versions']['nginx']}, {res['versions']['wrk']}.", "",
             f"Setup: one server worker on CPU {o['server_cpus']}, wrk ({o['wrk_threads']} "
             f"thread(s), {o['connections']} keep-alive connections) on CPU {o['client_cpus']}; "
             f"{o['rounds']} interleaved round(s) of {o['duration']} s (+{o['warmup']} s warm-up) "
             f"per cell; medians. 1-minute load average at the start: "
             f"{res['machine']['loadavg_at_start']:.2f}, median during the runs: "
             f"{res['median_loadavg_1m']:.2f}.", ""]
    if res["noisy"]:
        lines += ["**The machine was busy with other work during this run**: absolute numbers are "
                  "noisy; the interleaved rounds keep the ratios fairer than the absolutes.", ""]
    lines += ["| file | server | req/s | server CPU µs/req | of which user µs/req | errors |",
              "|---|---|---:|---:|---:|---:|"]
    for s in res["summary"]:
        lines.append(f"| {s['size']} | {s['server']} | {s['rps']:,.0f} | {s['cpu_us_per_req']:.2f} "
                     f"| {s['user_us_per_req']:.2f} | {s['errors']} |")
    lines += ["", "Ratios to nginx (below 1 is better for CPU, above 1 for req/s):", "",
              "| file | server | req/s | CPU per request | user CPU per request |",
              "|---|---|---:|---:|---:|"]
    for q in res["ratios"]:
        u = "-" if q["user_cpu_per_req"] is None else f"{q['user_cpu_per_req']:.2f}x"
        lines.append(f"| {q['size']} | {q['server']} | {q['rps']:.2f}x | {q['cpu_per_req']:.2f}x "
                     f"| {u} |")
    lines += ["", "Target (issue 13): kio's server CPU per request ≤ 1.0 × nginx's at both sizes.",
              ""]
    for t in res["targets"]:
        lines.append(f"- {t['size']}: {t['ratio']:.2f}x — {'met' if t['met'] else 'NOT met'}")
    lines += ["", "Raw runs are in the JSON file next to this one.", ""]
    return "\n".join(lines)


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="tools/bench-static", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--servers", default="kio,kio-splice,nginx", help="comma list of " + ", ".join(KNOWN))
    ap.add_argument("--sizes", default="4k,1m", help="comma list of 4k, 1m")
    ap.add_argument("--connections", type=int, default=50, help="wrk connections (default 50)")
    ap.add_argument("--duration", type=float, default=8, help="seconds per wrk run (default 8)")
    ap.add_argument("--warmup", type=float, default=1, help="seconds of wrk before each run (1)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    ap.add_argument("--server-cpus", default="1", help="taskset CPU for the servers (default 1)")
    ap.add_argument("--client-cpus", default="0", help="taskset CPU for wrk (default 0)")
    ap.add_argument("--wrk-threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="1 round of 3 s; results in <build root>/bench-quick")
    ap.add_argument("--no-build", action="store_true", help="use the tcp_demo already built")
    ap.add_argument("--kio-binary", help="tcp_demo to run (default <build root>/release/demo/tcp_demo)")
    ap.add_argument("--out", help="directory for static-<date>.json/.md (default benchmarks/results)")
    args = ap.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.rounds = 3, 1, 1
    args.servers = [s for s in args.servers.split(",") if s]
    for s in args.servers:
        if s not in KNOWN:
            ap.error(f"unknown server {s!r}")
    args.sizes = [s for s in args.sizes.split(",") if s]
    for s in args.sizes:
        if s not in SIZES:
            ap.error(f"unknown size {s!r}")
    return args


def main(argv):
    args = parse_args(argv)
    broot = benchlib.build_root()
    args.log_dir = broot / "bench-logs"
    out_dir = Path(args.out) if args.out else (broot / "bench-quick" if args.quick else benchlib.RESULTS)
    # tools/lib/packages.txt (tools/bench-static installed the first entry already)
    benchlib.ensure_packages("bench-static",
                             *(["bench-static-nginx"] if "nginx" in args.servers else []))
    args.nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if "nginx" in args.servers and not Path(args.nginx).exists():
        die("nginx not found (tools/bench-static installs Debian's nginx-light when run as root)")
    if not args.no_build and not args.kio_binary:
        benchlib.build_kio_release(["demo/tcp_demo"])
    args.kio_binary = Path(args.kio_binary) if args.kio_binary else broot / "release" / "demo" / "tcp_demo"
    if any(s.startswith("kio") for s in args.servers) and not args.kio_binary.is_file():
        die(f"{args.kio_binary} does not exist (run without --no-build or pass --kio-binary)")

    www = broot / "bench-static-www"
    www.mkdir(parents=True, exist_ok=True)
    args.digests = {}
    for name, size in SIZES.items():
        p = www / f"{name}.bin"
        if not p.is_file() or p.stat().st_size != size:
            p.write_bytes(os.urandom(size))
        args.digests[name] = hashlib.sha256(p.read_bytes()).hexdigest()
    os.chmod(www, 0o755)

    load0 = os.getloadavg()[0]
    total = len(args.sizes) * len(args.servers) * args.rounds
    log(f"load average {load0:.2f} at the start; {total} runs of {args.duration:g} s: servers on CPU "
        f"{args.server_cpus}, wrk on CPU {args.client_cpus} ({args.connections} connections)")
    runs, n = [], 0
    for rnd in range(args.rounds):
        order = args.servers if rnd % 2 == 0 else list(reversed(args.servers))
        for size in args.sizes:
            for name in order:
                n += 1
                r = measure(args, name, www, size)
                r.update(server=name, size=size, round=rnd + 1)
                runs.append(r)
                log(f"[{n}/{total}] round {rnd + 1} {size:>3} {name:<10} {r['rps']:>10,.0f} req/s  "
                    f"cpu {r['cpu_us_per_req']:.2f} us/req (user {r['user_us_per_req']:.2f})  "
                    f"{r['transfer']}  errors {r['errors']}")
    summary = summarise(runs, args.servers)
    rat = [q for s in args.servers if s != "nginx" for q in ratios(summary, s)]
    loads = [r["loadavg_1m"] for r in runs]
    busy = 2  # the server and wrk each keep one CPU busy
    noisy = statistics.median(loads) > busy + 0.5
    targets = [{"size": q["size"], "ratio": q["cpu_per_req"], "met": q["cpu_per_req"] <= 1.0}
               for q in rat if q["server"] == "kio"]
    res = {
        "date": benchlib.now_iso(),
        "machine": dict(benchlib.machine_info(), loadavg_at_start=load0),
        "versions": benchlib.tool_versions([("wrk", ["wrk", "-v"]), ("nginx", [args.nginx, "-v"])]),
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                    if k != "digests"},
        "runs": runs, "summary": summary, "ratios": rat, "targets": targets,
        "median_loadavg_1m": statistics.median(loads), "noisy": noisy,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"static-{benchlib.today()}"
    stem.with_suffix(".json").write_text(json.dumps(res, indent=2) + "\n")
    md = markdown(res)
    stem.with_suffix(".md").write_text(md)
    log("\n" + md)
    log(f"wrote {stem}.json, {stem}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
