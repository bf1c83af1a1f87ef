"""Shared by the integration tests (tcp_demo_test, static_test, abuse_test, abuse_load_test,
proxy_test, soak): start the built tcp_demo (path in $TCP_DEMO) on a free port, talk HTTP/1.1
over raw sockets, and watch the server process (descriptors, RSS).

A check is a function taking the Demo; it raises Failure (or OSError) to fail and returns 0 (pass)
or SKIP. run_check() runs one, stops the server with SIGTERM (which must end it with status 0)
and prints the outcome.
"""
import ctypes
import errno
import os
import random
import resource
import selectors
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


def idle_rss_kib(demo):
    """RSS once the server has been idle long enough to give memory back: a kio core that runs
    nothing for RuntimeOptions::idle_trim (1 s, tcp_demo's default) releases its frame pool's free
    slabs and trims the C heap. Waits 1.3 s, then reads until two readings 0.2 s apart agree (at
    most 2 s more)."""
    time.sleep(1.3)
    last = rss_kib(demo)
    deadline = time.time() + 2.0
    while time.time() < deadline:
        time.sleep(0.2)
        now = rss_kib(demo)
        if now == last:
            break
        last = now
    return last


def open_connections(port):
    """The server's TCP connections on `port` that still hold a socket: (state, peer) for every
    one that is neither listening nor in TIME-WAIT (ss, iproute2). A connection the client has
    closed but the server has not shows as CLOSE-WAIT."""
    out = subprocess.run(["ss", "-Htan", "state", "all", f"( sport = :{port} )"],
                         capture_output=True, text=True, timeout=30).stdout
    conns = []
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 5 and f[0] not in ("LISTEN", "TIME-WAIT"):
            conns.append((f[0], f[4]))
    return conns


def connection_fds(demo):
    """How many of the server's descriptors are TCP sockets other than its listeners (ss counts
    those on demo.port): the connections it holds, including ones reset by the peer, which no
    longer show in ss."""
    def is_socket(fd):
        try:
            return os.readlink(f"/proc/{demo.proc.pid}/fd/{fd}").startswith("socket:")
        except FileNotFoundError:  # closed since listdir
            return False
    socks = sum(1 for fd in os.listdir(f"/proc/{demo.proc.pid}/fd") if is_socket(fd))
    listeners = subprocess.run(["ss", "-Hltn", f"( sport = :{demo.port} )"], capture_output=True,
                               text=True, timeout=30).stdout.count("\n")
    return socks - listeners


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
    """Waits for the server's descriptors to come back near the baseline (closes are async; the
    slack covers the start-up probe connection, which may or may not be in the baseline) and
    for it to hold no connection socket at all (connection_fds: exact)."""
    wait_for(lambda: fd_count(demo) <= baseline + slack and connection_fds(demo) == 0, seconds,
             0.1)
    n = fd_count(demo)
    check(n <= baseline + slack, f"{n} descriptors open after the abuse, {baseline} before")
    held = connection_fds(demo)
    check(held == 0, f"the server still holds {held} connection socket(s) after the abuse; ss "
          f"(state, peer): {open_connections(demo.port)[:10]}")
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


# ---- many connections at once (selectors, one thread) -----------------------------------------

def open_many(port, n, seconds=120):
    """Opens n non-blocking connections to 127.0.0.1:port; returns the sockets once every one is
    connected (bounded by `seconds`)."""
    sel = selectors.DefaultSelector()
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.setblocking(False)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            e = s.connect_ex(("127.0.0.1", port))
            check(e in (0, errno.EINPROGRESS), f"connect: {os.strerror(e)}")
            socks.append(s)
            sel.register(s, selectors.EVENT_WRITE)
        pending = n
        deadline = time.time() + seconds
        while pending and time.time() < deadline:
            for key, _ in sel.select(1):
                err = key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                check(err == 0, f"connect failed: {os.strerror(err)}")
                sel.unregister(key.fileobj)
                pending -= 1
        check(pending == 0, f"{pending} of {n} connects did not complete in {seconds} s")
    except BaseException:
        for s in socks:
            s.close()
        raise
    finally:
        sel.close()
    return socks


def exchange_many(socks, request, response_end, seconds=120):
    """Sends `request` on every socket, then reads until each one's reply ends with
    `response_end`; fails on a close, a reset or a reply still missing after `seconds`."""
    sel = selectors.DefaultSelector()
    got = {}
    try:
        for s in socks:
            check(s.send(request) == len(request), "short send of a small request")
            got[s] = b""
            sel.register(s, selectors.EVENT_READ)
        left = len(socks)
        deadline = time.time() + seconds
        while left and time.time() < deadline:
            for key, _ in sel.select(1):
                s = key.fileobj
                data = s.recv(65536)
                check(data, f"connection closed with {left} replies missing")
                got[s] += data
                if got[s].endswith(response_end):
                    sel.unregister(s)
                    left -= 1
        check(left == 0, f"{left} of {len(socks)} replies missing after {seconds} s")
    finally:
        sel.close()


# ---- mixed load -------------------------------------------------------------------------------

HELLO = b"Hello, World!"


def read_replies(sock, n):
    """Reads up to n Content-Length-framed responses. Returns ([(status, headers, body)], end)
    where end is None (all n read), "eof", "reset" or "timeout" (what stopped it early)."""
    buf = b""
    out = []
    try:
        while len(out) < n:
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                status, headers = parse_head(buf[:end])
                length = int(headers.get("content-length", "0"))
                if len(buf) >= end + 4 + length:
                    out.append((status, headers, buf[end + 4:end + 4 + length]))
                    buf = buf[end + 4 + length:]
                    continue
            chunk = sock.recv(65536)
            if not chunk:
                return out, "eof"
            buf += chunk
    except ConnectionResetError:
        return out, "reset"
    except socket.timeout:
        return out, "timeout"
    return out, None


class Load:
    """Client threads driving tcp_demo with a mix of request kinds, each on its own keep-alive
    connection that it replaces now and then. Kinds:
      get       one GET, answered "Hello, World!"
      pipeline  2-16 GETs (every 4th an echo) in one write, answered in order
      echo      POST /echo of 1 B - 256 KiB, the body comes back
      new       GET with "Connection: close", then a new connection
      slow      a GET whose head is sent in pieces 5-20 ms apart (well inside the header timeout)
      reset     half a request, then an RST (the client cuts the connection)
    Every answer is checked (status 200, body). `errors` lists what went wrong; in
    `expect_shutdown` mode a close by the server is not an error, and requests are accounted for
    against `cutoff` (see unanswered()).

    Threading: run() starts the threads; stop() ends and joins them; counters are read after."""

    KINDS = ("get", "pipeline", "echo", "new", "slow", "reset")

    def __init__(self, port, threads=4, kinds=KINDS, expect_shutdown=False, seed=1):
        self.port = port
        self.nthreads = threads
        self.kinds = kinds
        self.expect_shutdown = expect_shutdown
        self.seed = seed
        self.stop_flag = threading.Event()
        self.cutoff = threading.Event()  # set just before the server is told to stop
        self.lock = threading.Lock()
        self.threads = []
        self.counts = {k: 0 for k in self.KINDS}  # requests answered, by kind
        self.answered = 0
        self.connections = 0
        self.errors = []
        self.max_latency = 0.0
        self.done_at = []  # completion times (time.time()) of answered requests, if recorded
        self.record_times = False
        # expect_shutdown accounting: requests sent before the cutoff...
        self.sent_before = 0
        self.unanswered_before = []     # ...with no answer and no "Connection: close" before them
        self.declared_unprocessed = 0   # ...after a response with "Connection: close"
        self.never_accepted = 0         # ...on a connection that never got any answer

    def run(self):
        for i in range(self.nthreads):
            t = threading.Thread(target=self._thread, args=(i,), daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def stop(self, seconds=60):
        self.stop_flag.set()
        for t in self.threads:
            t.join(seconds)
        check(not any(t.is_alive() for t in self.threads), "load threads did not finish")

    def error(self, what):
        with self.lock:
            if len(self.errors) < 50:
                self.errors.append(what)

    def _requests(self, kind, rng, n):
        """[(bytes, expected body)] for one step of `kind`."""
        if kind == "pipeline":
            out = []
            for i in range(rng.randint(2, 16)):
                if i % 4 == 3:
                    body = b"p%d-%d" % (n, i)
                    out.append((b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n%s"
                                % (len(body), body), body))
                else:
                    out.append((b"GET /p/%d HTTP/1.1\r\nHost: t\r\n\r\n" % i, HELLO))
            return out
        if kind == "echo":
            size = rng.choice([1, 100, 2048, 2049, 40000, 256 * 1024])
            body = (b"%d:" % n + bytes([97 + n % 26]) * size)[:size]
            return [(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % size
                     + body, body)]
        if kind == "new":
            return [(b"GET /new HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", HELLO)]
        return [(b"GET /g/%d HTTP/1.1\r\nHost: t\r\n\r\n" % n, HELLO)]

    def _thread(self, tid):
        rng = random.Random(self.seed * 1000 + tid)
        n = 0
        while not self.stop_flag.is_set():
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError as e:
                if not (self.expect_shutdown and self.cutoff.is_set()):
                    self.error(f"connect: {e}")
                time.sleep(0.05)
                if self.expect_shutdown and self.cutoff.is_set():
                    return
                continue
            with self.lock:
                self.connections += 1
            got_any = False
            keep = True
            for _ in range(rng.randint(10, 200)):
                if self.stop_flag.is_set() or not keep:
                    break
                kind = rng.choice(self.kinds)
                n += 1
                if kind == "reset":
                    try:
                        s.sendall(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n"
                                  b"\r\n" + b"r" * rng.randint(0, 999))
                    except OSError:
                        pass
                    reset(s)
                    s = None
                    break
                reqs = self._requests(kind, rng, n)
                t0 = time.time()
                try:
                    if kind == "slow":
                        raw = reqs[0][0]
                        for at in range(0, len(raw), 8):
                            s.sendall(raw[at:at + 8])
                            time.sleep(rng.uniform(0.005, 0.02))
                    else:
                        s.sendall(b"".join(r for r, _ in reqs))
                except OSError as e:
                    if not self.expect_shutdown:
                        self.error(f"{kind}: send: {e}")
                    keep = False
                before = not self.cutoff.is_set()
                replies, end = read_replies(s, len(reqs))
                latency = time.time() - t0
                closed_by_server = False
                for i, (status, headers, body) in enumerate(replies):
                    if status != 200 or body != reqs[i][1]:
                        self.error(f"{kind} {i}: status {status}, body {body[:40]!r} "
                                   f"(expected {reqs[i][1][:40]!r})")
                    if headers.get("connection") == "close":
                        closed_by_server = True
                        if i + 1 < len(replies):
                            self.error(f"{kind}: a response after Connection: close")
                with self.lock:
                    self.answered += len(replies)
                    self.counts[kind] += len(replies)
                    self.max_latency = max(self.max_latency, latency)
                    if self.record_times:
                        self.done_at.extend([time.time()] * len(replies))
                    if self.expect_shutdown and before:
                        self.sent_before += len(reqs)
                        missing = len(reqs) - len(replies)
                        if missing:
                            if closed_by_server:
                                self.declared_unprocessed += missing
                            elif not got_any and not replies:
                                self.never_accepted += missing
                            else:
                                self.unanswered_before.append(
                                    f"{kind}: {missing} of {len(reqs)} unanswered ({end})")
                got_any = got_any or bool(replies)
                if end is not None or len(replies) < len(reqs):
                    if not self.expect_shutdown:
                        self.error(f"{kind}: {len(replies)} of {len(reqs)} answered, then {end}")
                    keep = False
                elif kind == "new" or closed_by_server:
                    if kind == "new" and not closed_by_server:
                        self.error("new: no Connection: close on the answer")
                    keep = False
            if s is not None:
                s.close()
            if self.expect_shutdown and self.cutoff.is_set():
                return
