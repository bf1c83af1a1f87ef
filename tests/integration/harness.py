"""Shared by the integration tests (tcp_demo_test, static_test, abuse_test, abuse_load_test,
proxy_test, soak): start the built tcp_demo (path in $TCP_DEMO) on a free port, talk HTTP/1.1
over raw sockets, and watch the server process (descriptors, RSS).

A check is a function taking the Demo; it raises Failure (or OSError) to fail and returns 0 (pass)
or SKIP. run_check() runs one, stops the server with SIGTERM (which must end it with status 0)
and prints the outcome.
"""
import ctypes
import os
import resource
import signal
import socket
import struct
import subprocess
import threading
import time

SKIP = 77


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def die_with_parent():
    """In the child: SIGKILL it if this script dies (no orphaned servers after a timeout)."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_nofile(need):
    """Raises this process's RLIMIT_NOFILE to its hard limit (children inherit it). Returns None
    when `need` descriptors fit, otherwise a message saying what to change."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < need:
        return (f"RLIMIT_NOFILE hard limit {hard} is below the {need} descriptors this check "
                f"needs (raise it: ulimit -Hn {need}, or LimitNOFILE= for a service)")
    return None


class Demo:
    """tcp_demo on a free port; stopped with SIGTERM, which must end it cleanly.
    `nofile`: the server's RLIMIT_NOFILE soft limit (default: inherited)."""

    def __init__(self, *extra, workers=2, nofile=None):
        exe = os.environ.get("TCP_DEMO")
        check(exe and os.path.exists(exe), "TCP_DEMO does not name the built tcp_demo")
        self.port = free_port()

        def setup():
            die_with_parent()
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE,
                                   (nofile, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
        self.proc = subprocess.Popen([exe, "--port", str(self.port), "--workers", str(workers),
                                      *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     preexec_fn=setup)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise Failure("tcp_demo exited early: " + self.proc.stdout.read())
                time.sleep(0.05)
        self.proc.kill()
        raise Failure("tcp_demo did not start listening")

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            out, _ = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise Failure("tcp_demo did not stop on SIGTERM")
        check(self.proc.returncode == 0, f"tcp_demo exit status {self.proc.returncode}: {out}")
        return out

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def run_check(name, fn, demo, what=""):
    """Runs check `fn(demo)`, then stops the server; prints and returns the exit status."""
    try:
        status = fn(demo)
    except (Failure, OSError, subprocess.TimeoutExpired) as e:
        print(f"FAIL {name}: {type(e).__name__}: {e}")
        demo.kill()
        return 1
    if demo.proc.poll() is None:
        try:
            demo.stop()
        except Failure as e:
            print(f"FAIL {name}: {e}")
            return 1
    print(f"{'SKIP' if status == SKIP else 'ok'} {name}{what}")
    return status


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, timeout=120, **kw)
    check(r.returncode == 0, f"{cmd[0]} failed ({r.returncode}): {r.stderr[-2000:]!r}")
    return r.stdout


def connect(demo, timeout=10):
    s = socket.create_connection(("127.0.0.1", demo.port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def parse_head(head):
    """(status, {lowercase name: value}) of a response head (bytes, without the blank line)."""
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, v = line.split(": ", 1)
        headers[k.lower()] = v
    return int(lines[0].split(" ")[1]), headers


def read_responses(sock, n, head_only=False):
    """Reads n Content-Length-framed responses; returns [(status, headers, body)]."""
    buf = b""
    out = []
    while len(out) < n:
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            chunk = sock.recv(65536)
            check(chunk, f"connection closed after {len(out)} of {n} responses")
            buf += chunk
            continue
        status, headers = parse_head(buf[:end])
        length = 0 if head_only else int(headers.get("content-length", "0"))
        while len(buf) < end + 4 + length:
            chunk = sock.recv(65536)
            check(chunk, "connection closed inside a body")
            buf += chunk
        out.append((status, headers, buf[end + 4:end + 4 + length]))
        buf = buf[end + 4 + length:]
    return out


def read_to_eof(sock):
    data = b""
    while True:
        chunk = sock.recv(65536)  # ConnectionResetError here means an unclean close
        if not chunk:
            return data
        data += chunk


def read_all(sock, limit=1 << 20):
    """Reads until EOF, a reset, the socket's timeout or `limit` bytes."""
    data = b""
    try:
        while len(data) < limit:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    return data


def sender(sock, data):
    """Sends in the background; the server may close before taking it all (that is its right)."""
    def run_():
        try:
            sock.sendall(data)
        except OSError:
            pass
    t = threading.Thread(target=run_, daemon=True)
    t.start()
    return t


def reset(sock):
    """Closes with an RST (SO_LINGER 0), as a crashing client or a middlebox would."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


# ---- watching the server ----------------------------------------------------------------------

def fd_count(demo):
    return len(os.listdir(f"/proc/{demo.proc.pid}/fd"))


def rss_kib(demo):
    with open(f"/proc/{demo.proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise Failure("no VmRSS")


def asan():
    return "ASAN_OPTIONS" in os.environ


def small_asan_quarantine():
    """Under ASan a freed block waits in a quarantine (256 MiB by default) before it is reused,
    so RSS would grow with every allocation; a small quarantine keeps RSS checks meaningful.
    Call before starting the server."""
    if asan() and "quarantine_size_mb" not in os.environ["ASAN_OPTIONS"]:
        os.environ["ASAN_OPTIONS"] += ":quarantine_size_mb=4"


def still_serves(demo):
    s = connect(demo)
    s.sendall(b"GET /after HTTP/1.1\r\nHost: t\r\n\r\n")
    (status, _, body), = read_responses(s, 1)
    s.close()
    check(status == 200 and body == b"Hello, World!", f"after the abuse: {status} {body!r}")


def wait_for(cond, seconds, step=0.05):
    """Polls cond() until it is true or `seconds` passed; returns its last value."""
    deadline = time.time() + seconds
    v = cond()
    while not v and time.time() < deadline:
        time.sleep(step)
        v = cond()
    return v


def settle_fds(demo, baseline, slack=2, seconds=10):
    """Waits for the server's descriptors to come back near the baseline (closes are async)."""
    wait_for(lambda: fd_count(demo) <= baseline + slack, seconds, 0.1)
    n = fd_count(demo)
    check(n <= baseline + slack, f"{n} descriptors open after the abuse, {baseline} before")
    return n


def warm_up(demo):
    """Sends 48 MiB through lingering connections, so every page of the cores' receive-buffer rings
    (1024 x 16 KiB per core by default) has been written once and is resident: RSS grows up to
    the rings' size as they warm up, then must stay flat. Returns the RSS after it."""
    line = b"GET / HTTP/1.1\r\nHost: t\r\nX-Warm: " + b"w" * (1 << 20) + b"\r\n\r\n"
    for _ in range(48):
        s = connect(demo)
        t = sender(s, line)
        read_all(s, limit=65536)
        t.join(15)
        s.close()
    return rss_kib(demo)
