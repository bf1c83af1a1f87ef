#!/usr/bin/env python3
"""Real clients against tcp_demo --static DIR (path in $TCP_DEMO).

Usage: static_test.py CHECK [--splice]   (curl | concurrent | disconnect)
  curl        a 10 MiB file's checksum through curl, HEAD, Range (206) and 416, 304 for
              If-None-Match and If-Modified-Since, every traversal attempt with its status
  concurrent  1,000 concurrent downloads of a small file, each verified
  disconnect  clients that reset mid-file: the server keeps serving and closes their files
--splice runs the server with FileSend::splice instead of sendfile.
Exit status: 0 pass, 77 skip (curl missing), anything else fail.
"""
import asyncio
import hashlib
import os
import resource
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import SKIP, Demo, Failure, check, raise_nofile, run  # noqa: E402


def make_tree(base):
    root = Path(base) / "www"
    (root / "sub").mkdir(parents=True)
    big = os.urandom(10 << 20)
    (root / "big.bin").write_bytes(big)
    (root / "small.txt").write_bytes(b"small file\n" * 400)
    (root / "index.html").write_text("<h1>root</h1>\n")
    (root / "sub" / "page.html").write_text("<p>page</p>\n")
    (Path(base) / "secret.txt").write_text("outside\n")
    os.symlink("../secret.txt", root / "escape")
    return root, big


def curl_status(demo, path, *opts):
    out = run(["curl", "-s", "--path-as-is", "-o", "/dev/null", "-w", "%{http_code}", *opts,
               demo.url(path)])
    return int(out.decode())


def check_curl(demo, root, big):
    if not shutil.which("curl"):
        return SKIP
    body = run(["curl", "-s", "-f", demo.url("/big.bin")])
    check(hashlib.sha256(body).hexdigest() == hashlib.sha256(big).hexdigest(),
          f"10 MiB checksum differs ({len(body)} bytes)")
    head = run(["curl", "-s", "-I", demo.url("/big.bin")]).decode()
    check(head.startswith("HTTP/1.1 200 OK") and f"Content-Length: {len(big)}\r\n" in head, head)
    check("Content-Type: application/octet-stream" in head and "ETag: " in head, head)
    page = run(["curl", "-s", "-i", demo.url("/sub/page.html")]).decode()
    check("Content-Type: text/html; charset=utf-8" in page and page.endswith("<p>page</p>\n"), page)

    part = run(["curl", "-s", "-r", "1000-1999", demo.url("/big.bin")])
    check(part == big[1000:2000], f"range 1000-1999: {len(part)} bytes")
    check(curl_status(demo, "/big.bin", "-r", "1000-1999") == 206, "range status")
    tail = run(["curl", "-s", "-r", "-100", demo.url("/big.bin")])
    check(tail == big[-100:], "suffix range")
    r416 = run(["curl", "-s", "-i", "-r", f"{len(big)}-", demo.url("/big.bin")]).decode("latin-1")
    check(r416.startswith("HTTP/1.1 416 ") and f"Content-Range: bytes */{len(big)}" in r416, r416)

    etag = next(line.split(": ", 1)[1] for line in head.split("\r\n") if line.startswith("ETag: "))
    lm = next(line.split(": ", 1)[1] for line in head.split("\r\n")
              if line.startswith("Last-Modified: "))
    check(curl_status(demo, "/big.bin", "-H", f"If-None-Match: {etag}") == 304, "If-None-Match")
    check(curl_status(demo, "/big.bin", "-H", 'If-None-Match: "other"') == 200, "INM mismatch")
    check(curl_status(demo, "/big.bin", "-H", f"If-Modified-Since: {lm}") == 304, "IMS")
    check(curl_status(demo, "/big.bin", "-z", "Sun, 06 Nov 1994 08:49:37 GMT") == 200, "old IMS")

    for path, want in [("/", 200), ("/sub", 301), ("/sub/", 404), ("/missing", 404),
                       ("/../secret.txt", 403), ("/sub/../../secret.txt", 403),
                       ("/%2e%2e/secret.txt", 403), ("/%2E%2e%2Fsecret.txt", 403),
                       ("/escape", 403), ("/small.txt%00.html", 404), ("/%zz", 400)]:
        got = curl_status(demo, path)
        check(got == want, f"GET {path}: {got}, expected {want}")
    return 0


async def one_download(port, want):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(b"GET /small.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    await w.drain()
    data = await r.read()  # to EOF
    w.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return head.startswith(b"HTTP/1.1 200 OK") and body == want


async def downloads(port, n, want):
    sem = asyncio.Semaphore(n)

    async def go():
        async with sem:
            return await asyncio.wait_for(one_download(port, want), 60)
    return await asyncio.gather(*(go() for _ in range(n)))


def check_concurrent(demo, root, big):
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < 1100:  # main() raised it if it could
        print(f"SKIP: RLIMIT_NOFILE {resource.getrlimit(resource.RLIMIT_NOFILE)} is below 1100 "
              "(raise ulimit -Hn)")
        return SKIP
    want = (root / "small.txt").read_bytes()
    results = asyncio.run(downloads(demo.port, 1000, want))
    check(all(results), f"{results.count(False)} of 1000 downloads failed")
    return 0


def fds_under(pid, prefix):
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith(prefix):
                n += 1
        except OSError:
            pass
    return n


def check_disconnect(demo, root, big):
    pid = demo.proc.pid
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", demo.port), timeout=10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
        s.recv(4096)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()  # reset with most of the file unsent
        t0 = time.time()
        out = run(["curl", "-s", "-f", demo.url("/small.txt")]) if shutil.which("curl") else None
        check(out is None or out == (root / "small.txt").read_bytes(), "small file after a reset")
        check(time.time() - t0 < 5, "the server stalled after a client reset mid-file")
    deadline = time.time() + 5
    inside = str(root) + "/"  # the served files (the root directory itself stays open)
    while fds_under(pid, inside) > 0 and time.time() < deadline:
        time.sleep(0.05)
    check(fds_under(pid, inside) == 0, "files of aborted transfers are still open")
    return 0


CHECKS = {"curl": check_curl, "concurrent": check_concurrent, "disconnect": check_disconnect}


def main():
    args = sys.argv[1:]
    splice = "--splice" in args
    args = [a for a in args if a != "--splice"]
    if len(args) != 1 or args[0] not in CHECKS:
        print(__doc__)
        return 2
    # 1,000 connections at once: the client and the server (which inherits it) need the fds.
    raise_nofile(1100)
    with tempfile.TemporaryDirectory() as base:
        root, big = make_tree(base)
        demo = Demo("--static", str(root), *(["--splice"] if splice else []))
        try:
            status = CHECKS[args[0]](demo, root, big)
        except (Failure, OSError, subprocess.TimeoutExpired, asyncio.TimeoutError) as e:
            print(f"FAIL {args[0]}: {type(e).__name__}: {e}")
            demo.proc.kill()
            demo.proc.wait()
            return 1
        demo.stop()
    print(f"{'SKIP' if status == SKIP else 'ok'} {args[0]}{' (splice)' if splice else ''}")
    return status


if __name__ == "__main__":
    sys.exit(main())
