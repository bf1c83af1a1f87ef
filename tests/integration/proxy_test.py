#!/usr/bin/env python3
"""tcp_demo (path in $TCP_DEMO) behind a real reverse proxy: Debian's nginx with upstream
keep-alive (tests/integration/nginx_proxy.conf), run as a child with its own prefix in a temporary
directory.

Usage: proxy_test.py CHECK
  keepalive        wrk through nginx for 3 s (GETs and POST echoes): no error, no non-2xx, nginx
                   logs nothing, and nginx reuses its upstream connections (the connections kio
                   accepted, counted with ss, stay within nginx's keepalive pool)
  idle_close       kio's idle timeout (100 ms) far below nginx's upstream keepalive_timeout
                   (60 s): bursts of GETs timed around kio's idle deadline, so nginx often picks a
                   pooled connection kio is closing. No 502/504: nginx retries an idempotent request
                   whose pooled connection fails before any response byte, and kio never drops a
                   request that reached it before its close (see the note below)
  idle_close_paused  kio's idle timeout (100 ms) below nginx's (60 s), POSTs in bursts 200-400 ms
                   apart: between bursts kio closes every pooled connection at its idle deadline
                   (counted: each burst needs new upstream connections) and nginx,
                   seeing the FIN on an idle pooled connection, drops it and opens another: no
                   502/504 even for non-idempotent requests, nginx logs nothing
  idle_close_post  the deployment rule for non-idempotent requests: nginx's upstream
                   keepalive_timeout (100 ms) below kio's idle timeout (300 ms), so nginx always
                   closes first; bursts of POSTs timed around both: no 502/504
  race_figures     not a test: the idle_close bursts with GETs and POSTs, printing how many
                   requests hit the race (nginx's retries) and how many POSTs got 502 (for
                   docs/reliability.md; run it with TCP_DEMO pointing at any build)
Exit status: 0 pass, 77 skip (nginx or wrk missing), anything else fail.

The race: kio closes an idle upstream connection at its deadline while nginx, which has not yet
seen the FIN, sends a request on it. No server can answer a request that arrives after its
close; HTTP/1.1 leaves that to the client (RFC 9112 section 9.3.1, RFC 9110 section 9.2.2), and
nginx retries it if it is idempotent. What kio must do is never close on a request that did
arrive before the close: it answers it (Connection.IdleDeadlineWithTheNextRequestAlreadyHere*).
"""
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (SKIP, Demo, check, die_with_parent, free_port, read_replies,  # noqa: E402
                     run, run_check, small_asan_quarantine)

HERE = Path(__file__).resolve().parent


def nginx_exe():
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)


class Nginx:
    """nginx_proxy.conf in a temporary prefix, proxying to 127.0.0.1:kio_port."""

    def __init__(self, kio_port, keepalive, upstream_idle):
        self.dir = tempfile.TemporaryDirectory(prefix="kio-nginx-")
        self.prefix = Path(self.dir.name)
        self.port = free_port()
        conf = (HERE / "nginx_proxy.conf").read_text()
        for k, v in {"PREFIX": str(self.prefix), "PORT": str(self.port),
                     "KIO_PORT": str(kio_port), "KEEPALIVE": str(keepalive),
                     "UPSTREAM_IDLE": upstream_idle}.items():
            conf = conf.replace(f"@{k}@", v)
        (self.prefix / "nginx.conf").write_text(conf)
        self.log = self.prefix / "error.log"
        self.proc = subprocess.Popen([nginx_exe(), "-p", str(self.prefix), "-c",
                                      str(self.prefix / "nginx.conf"), "-e", str(self.log)],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     preexec_fn=die_with_parent)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise_failure = self.proc.stdout.read() + self.log_text()
                    self.dir.cleanup()
                    check(False, "nginx exited at start: " + raise_failure)
                time.sleep(0.05)
        self.stop()
        check(False, "nginx did not start listening")

    def log_text(self):
        return self.log.read_text() if self.log.exists() else ""

    def log_lines(self, level_words=("[error]", "[crit]", "[alert]", "[emerg]")):
        return [line for line in self.log_text().splitlines() if any(w in line for w in level_words)]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.dir.cleanup()


class AcceptedConnections:
    """Counts the connections the server on `port` has had while this runs: `ss` samples of its
    established connections every 20 ms, plus, at the end, the ones in TIME-WAIT (a connection
    closed since the start leaves one on the side that closed first). Keyed by the peer's port."""

    def __init__(self, port):
        self.port = port
        self.seen = set()
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _ss(self, state):
        out = subprocess.run(["ss", "-Htan", "state", state,
                              f"( sport = :{self.port} or dport = :{self.port} )"],
                             capture_output=True, text=True, timeout=30).stdout
        peers = set()
        for line in out.splitlines():
            f = line.split()
            if len(f) < 4:
                continue
            local, peer = f[-2].rsplit(":", 1)[1], f[-1].rsplit(":", 1)[1]
            peers.add(int(peer) if int(local) == self.port else int(local))
        return peers

    def _sample(self):
        while not self.stop_flag.is_set():
            self.seen |= self._ss("established")
            time.sleep(0.02)

    def start(self):
        check(shutil.which("ss"), "ss (iproute2) is needed to count connections")
        self.before = self._ss("time-wait")
        self.thread.start()
        return self

    def stop(self):
        self.stop_flag.set()
        self.thread.join(30)
        self.seen |= self._ss("established") | (self._ss("time-wait") - self.before)
        return len(self.seen)


def wrk_lua(path):
    """GETs, and every 4th request a POST /echo of 1 KiB."""
    path.write_text("""
local n = 0
local body = string.rep("b", 1024)
request = function()
  n = n + 1
  if n % 4 == 0 then
    return wrk.format("POST", "/echo", {["Content-Length"] = #body}, body)
  end
  return wrk.format("GET", "/page/" .. n)
end
""")


def through(port, method, path, body=None):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = f"{method} {path} HTTP/1.1\r\nHost: t\r\n"
    if body is not None:
        head += f"Content-Length: {len(body)}\r\n"
    s.sendall(head.encode() + b"\r\n" + (body or b""))
    replies, end = read_replies(s, 1)
    s.close()
    check(replies, f"no answer through nginx ({end})")
    return replies[0]


def check_keepalive(demo):
    if not nginx_exe() or not shutil.which("wrk"):
        print("SKIP: nginx (Debian nginx-light) or wrk is not installed")
        return SKIP
    wrk_conns, pool = 16, 32
    ng = Nginx(demo.port, keepalive=pool, upstream_idle="60s")
    try:
        status, _, body = through(ng.port, "GET", "/x")
        check(status == 200 and body == b"Hello, World!", f"GET through nginx: {status} {body!r}")
        status, _, body = through(ng.port, "POST", "/echo", b"e" * 100000)
        check(status == 200 and body == b"e" * 100000, f"POST through nginx: {status}")
        counter = AcceptedConnections(demo.port).start()
        with tempfile.TemporaryDirectory() as d:
            lua = Path(d) / "mix.lua"
            wrk_lua(lua)
            out = run(["wrk", "-t2", f"-c{wrk_conns}", "-d3s", "-s", str(lua),
                       f"http://127.0.0.1:{ng.port}/"]).decode()
        conns = counter.stop()
        m = re.search(r"(\d+) requests in", out)
        check(m, "wrk printed no request count: " + out)
        requests = int(m.group(1))
        check("Socket errors" not in out and "Non-2xx" not in out, "wrk saw errors: " + out)
        check(requests >= 1000, f"only {requests} requests in 3 s: " + out)
        errors = ng.log_lines()
        check(not errors, f"nginx logged {len(errors)} errors: {errors[:5]}")
        # Every wrk connection needs at most one upstream connection at a time, and the pool
        # keeps them all: reuse means no more upstream connections than that (plus the two
        # requests above).
        check(conns <= wrk_conns + 2, f"kio accepted {conns} connections for {requests} requests "
              f"from {wrk_conns} wrk connections: nginx does not reuse them")
    finally:
        ng.stop()
    print(f"keepalive: wrk -c{wrk_conns} through nginx (upstream keepalive {pool}): {requests} "
          f"requests in 3 s, no errors, no non-2xx; kio accepted {conns} connections "
          f"({requests // max(conns, 1)} requests each)")
    return 0


def bursts(port, rounds, n, gap, method, seed=1):
    """`rounds` bursts of n concurrent requests (one keep-alive client connection each, to
    nginx), the next burst `gap()` seconds after the previous one was answered. Returns
    {status or error name: count}."""
    counts = {}
    lock = threading.Lock()
    go = threading.Barrier(n + 1)
    body = b"post body " * 10

    def client(i):
        s = None
        for _ in range(rounds):
            go.wait()
            try:
                if s is None:
                    s = socket.create_connection(("127.0.0.1", port), timeout=30)
                if method == "GET":
                    s.sendall(b"GET /r/%d HTTP/1.1\r\nHost: t\r\n\r\n" % i)
                else:
                    s.sendall(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n%s"
                              % (len(body), body))
                replies, end = read_replies(s, 1)
                if replies:
                    st, _, got = replies[0]
                    want = b"Hello, World!" if method == "GET" else body
                    key = st if st != 200 or got == want else "wrong body"
                else:
                    key = end
                    s.close()
                    s = None
            except OSError as e:
                key = type(e).__name__
                if s:
                    s.close()
                s = None
            with lock:
                counts[key] = counts.get(key, 0) + 1
            go.wait()
        if s:
            s.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for _ in range(rounds):
        go.wait()  # start a burst
        go.wait()  # every request of it answered
        time.sleep(gap())
    for t in threads:
        t.join(60)
    return counts


RACE_LINES = ("upstream prematurely closed", "Connection reset by peer")


def idle_close(demo, method, kio_idle, nginx_idle, gap, rounds=80, n=16):
    ng = Nginx(demo.port, keepalive=32, upstream_idle=nginx_idle)
    try:
        counter = AcceptedConnections(demo.port).start()
        t0 = time.time()
        counts = bursts(ng.port, rounds, n, gap, method)
        secs = time.time() - t0
        conns = counter.stop()
        lines = ng.log_lines()
        retried = sum(1 for line in lines if any(w in line for w in RACE_LINES))
    finally:
        ng.stop()
    return counts, retried, lines, conns, secs


def check_idle_close(demo, kio_idle=0.1):
    if not nginx_exe():
        print("SKIP: nginx (Debian nginx-light) is not installed")
        return SKIP
    rng = random.Random(1)
    counts, retried, lines, conns, secs = idle_close(
        demo, "GET", kio_idle, "60s", lambda: kio_idle * rng.uniform(0.8, 1.2))
    total = sum(counts.values())
    check(counts == {200: total}, f"answers through nginx: {counts}; nginx log: {lines[:5]}")
    other = [line for line in lines if not any(w in line for w in RACE_LINES)]
    check(not other, f"nginx logged other errors: {other[:5]}")
    print(f"idle_close: {total} GETs in {secs:.1f} s of bursts around kio's {kio_idle * 1000:.0f} "
          f"ms idle deadline (nginx keepalive_timeout 60 s): all 200; nginx hit the race and "
          f"retried {retried} times; kio accepted {conns} connections")
    return 0


def check_idle_close_post(demo, kio_idle=0.3):
    if not nginx_exe():
        print("SKIP: nginx (Debian nginx-light) is not installed")
        return SKIP
    rng = random.Random(2)
    counts, retried, lines, conns, secs = idle_close(
        demo, "POST", kio_idle, "100ms", lambda: rng.uniform(0.05, 0.2), rounds=60)
    total = sum(counts.values())
    check(counts == {200: total}, f"answers through nginx: {counts}; nginx log: {lines[:5]}")
    check(not lines, f"nginx logged errors: {lines[:5]}")
    print(f"idle_close_post: {total} POSTs in {secs:.1f} s of bursts 50-200 ms apart, nginx's "
          f"upstream keepalive_timeout 100 ms, kio's idle timeout {kio_idle * 1000:.0f} ms: all 200, "
          f"nginx logged nothing; kio accepted {conns} connections")
    return 0


def check_idle_close_paused(demo, kio_idle=0.1, rounds=40, n=16):
    if not nginx_exe():
        print("SKIP: nginx (Debian nginx-light) is not installed")
        return SKIP
    rng = random.Random(4)
    counts, retried, lines, conns, secs = idle_close(
        demo, "POST", kio_idle, "60s", lambda: rng.uniform(2 * kio_idle, 4 * kio_idle), rounds, n)
    total = sum(counts.values())
    check(counts == {200: total}, f"answers through nginx: {counts}; nginx log: {lines[:5]}")
    check(not lines, f"nginx logged errors: {lines[:5]}")
    # Every pause outlasts kio's idle timeout, so kio closed the whole pool each time and every
    # burst opened new upstream connections (fewer than n when a connection answered early in a
    # burst is reused within it). Were they kept, nginx would reuse at most n in all.
    check(conns >= rounds, f"kio accepted only {conns} connections for {rounds} bursts after a "
          f"pause past its idle timeout: it did not close the idle ones")
    print(f"idle_close_paused: {total} POSTs in {rounds} bursts, each after a pause of 2-4x kio's "
          f"{kio_idle * 1000:.0f} ms idle timeout (nginx keepalive_timeout 60 s), {secs:.1f} s: "
          f"all 200, nginx logged nothing; kio closed the idle pool between bursts and accepted "
          f"{conns} connections")
    return 0


def race_figures(demo, kio_idle=0.1, rounds=100):
    if not nginx_exe():
        print("SKIP: nginx (Debian nginx-light) is not installed")
        return SKIP
    for method in ("GET", "POST"):
        rng = random.Random(3)
        counts, retried, lines, conns, secs = idle_close(
            demo, method, kio_idle, "60s", lambda: kio_idle * rng.uniform(0.9, 1.1), rounds)
        failed = sum(1 for line in lines if any(w in line for w in RACE_LINES))
        print(f"{method}: {sum(counts.values())} requests in {secs:.1f} s, answers {counts}; "
              f"{failed} upstream failures logged by nginx (retried unless the answer was 502); "
              f"kio accepted {conns} connections")
    return 0


CHECKS = {  # name -> (check, tcp_demo arguments)
    "keepalive": (check_keepalive, []),
    "idle_close": (check_idle_close, ["--idle-timeout", "100"]),
    "idle_close_paused": (check_idle_close_paused, ["--idle-timeout", "100"]),
    "idle_close_post": (check_idle_close_post, ["--idle-timeout", "300"]),
    "race_figures": (race_figures, ["--idle-timeout", "100"]),
}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in CHECKS:
        print(__doc__)
        return 2
    fn, args = CHECKS[sys.argv[1]]
    small_asan_quarantine()
    return run_check(sys.argv[1], fn, Demo(*args))


if __name__ == "__main__":
    sys.exit(main())
