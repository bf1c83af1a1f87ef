#!/usr/bin/env python3
"""Real clients against the built tcp_demo (path in $TCP_DEMO).

Usage: tcp_demo_test.py CHECK    (curl | http_client | ab | wrk_pipeline | keepalive |
                                  pipelining | malformed | port_taken)
Each check starts tcp_demo on a free port, drives it, stops it with SIGTERM and requires a clean
exit. Exit status: 0 pass, 77 skip (a client program is missing), anything else fail.
"""
import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (SKIP, Demo, check, connect, die_with_parent, read_responses,  # noqa: E402
                     read_to_eof, run, run_check)

# ---- checks ---------------------------------------------------------------------------------

def check_curl(demo):
    if not shutil.which("curl"):
        return SKIP
    out = run(["curl", "-s", "-i", demo.url("/")]).decode()
    check(out.startswith("HTTP/1.1 200 OK\r\n"), "curl GET status: " + out)
    check("Content-Type: text/plain\r\n" in out and "Content-Length: 13\r\n" in out, out)
    check(out.endswith("\r\n\r\nHello, World!"), "curl GET body: " + out)

    out = run(["curl", "-s", "-i", "--http1.0", demo.url("/any/path?x=1")]).decode()
    check(out.startswith("HTTP/1.1 200 OK\r\n") and "Connection: close\r\n" in out, out)
    check(out.endswith("Hello, World!"), out)

    body = b"".join(b"chunk %d of a streamed upload\n" % i for i in range(20000))
    with tempfile.NamedTemporaryFile() as f:
        f.write(body)
        f.flush()
        out = run(["curl", "-s", "-H", "Transfer-Encoding: chunked", "--data-binary",
                   "@" + f.name, demo.url("/echo")])
        check(out == body, f"chunked upload echo: {len(out)} bytes back of {len(body)}")

    # curl prints the interim response on stderr with -v, the body on stdout.
    r = subprocess.run(["curl", "-s", "-v", "-X", "PUT", "-H", "Expect: 100-continue",
                        "--data-binary", "expected", demo.url("/echo")], capture_output=True,
                       timeout=30)
    check(r.stdout == b"expected", "100-continue echo: %r" % r.stdout)
    check(b"100 Continue" in r.stderr, "no 100 Continue seen")

    out = run(["curl", "-s", "-I", demo.url("/")]).decode()
    check(out.startswith("HTTP/1.1 200 OK") and "Content-Length: 13" in out, "HEAD: " + out)

    r = subprocess.run(["curl", "-s", "-v", demo.url("/a"), demo.url("/b"), demo.url("/c")],
                       capture_output=True, timeout=30)
    check(r.stdout == b"Hello, World!" * 3, r.stdout)
    check(r.stderr.count(b"Re-using existing connection") + r.stderr.count(b"Reusing existing")
          >= 2, "curl did not reuse the connection")

    out = run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "DELETE",
               demo.url("/")]).decode()
    check(out == "405", "DELETE / gives " + out)
    return 0


def check_http_client(demo):
    conn = http.client.HTTPConnection("127.0.0.1", demo.port, timeout=10)
    conn.request("GET", "/")
    r = conn.getresponse()
    check(r.status == 200 and r.read() == b"Hello, World!", "first GET")
    first_sock = conn.sock
    for i in range(10000):
        if i % 10 == 0:
            body = b"body %d" % i
            conn.request("POST", "/echo", body=body)
            r = conn.getresponse()
            check(r.status == 200 and r.read() == body, f"echo {i}")
        else:
            conn.request("GET", f"/page/{i}")
            r = conn.getresponse()
            check(r.status == 200 and r.read() == b"Hello, World!", f"GET {i}")
    check(conn.sock is first_sock, "http.client had to reconnect: keep-alive broken")

    def parts():
        for i in range(100):
            yield b"part %d;" % i
    conn.request("POST", "/echo", body=parts(), encode_chunked=True,
                 headers={"Transfer-Encoding": "chunked"})
    r = conn.getresponse()
    check(r.read() == b"".join(b"part %d;" % i for i in range(100)), "chunked via http.client")
    conn.close()
    return 0


def check_ab(demo):
    if not shutil.which("ab"):
        return SKIP
    out = run(["ab", "-k", "-q", "-n", "5000", "-c", "8", demo.url("/")]).decode()
    check(re.search(r"Complete requests:\s+5000\b", out), out)
    check(re.search(r"Failed requests:\s+0\b", out), out)
    check(re.search(r"Keep-Alive requests:\s+5000\b", out), out)
    check("Non-2xx" not in out, out)
    return 0


def check_wrk_pipeline(demo):
    if not shutil.which("wrk"):
        return SKIP
    script = """
init = function(args)
  local r = {}
  for i = 1, 16 do r[i] = wrk.format(nil, "/p" .. i) end
  req = table.concat(r)
end
request = function() return req end
"""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as f:
        f.write(script)
        f.flush()
        out = run(["wrk", "-t1", "-c8", "-d2s", "-s", f.name, demo.url("/")]).decode()
    m = re.search(r"(\d+) requests in", out)
    check(m and int(m.group(1)) >= 1000, "wrk made too few requests: " + out)
    check("Socket errors" not in out and "Non-2xx" not in out, out)
    return 0


def check_keepalive(demo):
    s = connect(demo)
    req = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"
    for i in range(10000):
        s.sendall(req)
        (status, _, body), = read_responses(s, 1)
        check(status == 200 and body == b"Hello, World!", f"request {i}")
    s.close()
    return 0


def check_pipelining(demo):
    s = connect(demo)
    for n in range(1, 65):
        batch = b"".join(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n%s"
                         % (len(b"req-%d-%d" % (n, i)), b"req-%d-%d" % (n, i)) for i in range(n))
        s.sendall(batch)
        rs = read_responses(s, n)
        check([b for _, _, b in rs] == [b"req-%d-%d" % (n, i) for i in range(n)],
              f"batch of {n} out of order or incomplete")
    # a batch split at awkward places
    stream = b"".join(b"GET /%d HTTP/1.1\r\nHost: t\r\n\r\n" % i for i in range(50))
    for at in range(0, len(stream), 7):
        s.sendall(stream[at:at + 7])
        time.sleep(0.0005)
    rs = read_responses(s, 50)
    check(all(st == 200 for st, _, _ in rs), "split batch")
    s.close()
    return 0


def check_malformed(demo):
    cases = [
        (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
        (b"GET / HTTP/1.1\nHost: x\n\n", 400),
        (b"GET / HTTP/1.1\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400),  # a TLS ClientHello
        (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        (b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 10000 + b"\r\n\r\n", 431),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
        (b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 501),
        (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n", 413),
        (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
        (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    ]
    for raw, want in cases:
        s = connect(demo)
        s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n" + raw + b"x" * 50000)
        data = read_to_eof(s)  # must end with EOF, not a reset
        s.close()
        parts = data.split(b"\r\n\r\n", 1)
        check(data.startswith(b"HTTP/1.1 200 OK\r\n"), f"{raw[:30]!r}: first response lost")
        rest = parts[1][len(b"Hello, World!"):]
        check(rest.startswith(b"HTTP/1.1 %d " % want),
              f"{raw[:30]!r}: expected {want}, got {rest[:40]!r}")
        check(b"Connection: close\r\n" in rest, f"{raw[:30]!r}: no Connection: close")
    return 0


def check_port_taken(demo):
    """A second tcp_demo on the first one's port, and one on a port another process holds with
    SO_REUSEPORT, must refuse to start with the "port N is taken" message (issue 11, defect 4:
    they used to join the port and split its traffic)."""
    exe = os.environ["TCP_DEMO"]

    def second(port):
        p = subprocess.run([exe, "--port", str(port), "--workers", "2"], capture_output=True,
                           text=True, timeout=20, preexec_fn=die_with_parent)
        return p.returncode, p.stdout + p.stderr

    code, out = second(demo.port)
    check(code == 1, f"a second tcp_demo on port {demo.port}: exit {code}: {out}")
    check(f"port {demo.port} is taken" in out, f"no 'port N is taken' message: {out}")
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        holder.bind(("0.0.0.0", 0))
        holder.listen(16)
        port = holder.getsockname()[1]
        code, out = second(port)
    check(code == 1, f"tcp_demo on a port held with SO_REUSEPORT: exit {code}: {out}")
    check(f"port {port} is taken" in out, f"no 'port N is taken' message: {out}")
    # The first demo still answers.
    s = connect(demo)
    s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    status = read_responses(s, 1)[0][0]
    s.close()
    check(status == 200, f"the first demo answered {status}")
    return 0


CHECKS = {
    "curl": check_curl,
    "http_client": check_http_client,
    "ab": check_ab,
    "wrk_pipeline": check_wrk_pipeline,
    "keepalive": check_keepalive,
    "pipelining": check_pipelining,
    "malformed": check_malformed,
    "port_taken": check_port_taken,
}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in CHECKS:
        print(__doc__)
        return 2
    return run_check(sys.argv[1], CHECKS[sys.argv[1]], Demo())


if __name__ == "__main__":
    sys.exit(main())
