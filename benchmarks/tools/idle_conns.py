#!/usr/bin/env python3
"""Opens N keep-alive HTTP connections to a server, makes one request on each, and holds them.

Used by tools/bench-http to measure a server's memory per idle keep-alive connection: the harness
reads the server's RSS, starts this client, waits for "ready", reads the RSS again, asks "check"
(answered with how many connections the server still holds open), then closes stdin to end it.

  idle_conns.py --port 8080 --count 10000

Protocol on stdout: "ready <open> <failed>" once every connection got its response (or failed),
then "open <n>" after each "check" line read from stdin, and "burst <done> <failed>" after a
"burst N" line: every open connection in turn sends N pipelined requests in one write and reads
all N responses (counted by bytes: the first response's length, the Date being of fixed length),
then idles again. Exits when stdin closes.
"""
import argparse
import errno
import resource
import selectors
import socket
import sys
import time

REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"


def raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = need if hard == resource.RLIM_INFINITY else min(need, hard)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def response_complete(data):
    """True once `data` holds one full response (headers + Content-Length body)."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return False
    length = 0
    for line in data[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    return len(data) >= end + 4 + length


def open_all(host, port, count, batch):
    """Connects `count` sockets (at most `batch` in flight), sends one request on each and waits
    for every response. Returns (open sockets, failures)."""
    sel = selectors.DefaultSelector()
    done, failed = [], 0
    pending = 0
    started = 0
    deadline = time.monotonic() + 120
    while (started < count or pending) and time.monotonic() < deadline:
        while started < count and pending < batch:
            s = Sock(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            rc = s.connect_ex((host, port))
            if rc not in (0, errno.EINPROGRESS):
                s.close()
                failed += 1
                started += 1
                continue
            sel.register(s, selectors.EVENT_WRITE, {"state": "connect", "buf": b""})
            started += 1
            pending += 1
        for key, _ in sel.select(timeout=1.0):
            s, st = key.fileobj, key.data
            try:
                if st["state"] == "connect":
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        raise OSError(err, "connect")
                    s.send(REQUEST)  # 36 bytes always fit an empty send buffer
                    st["state"] = "read"
                    sel.modify(s, selectors.EVENT_READ, st)
                else:
                    chunk = s.recv(4096)
                    if not chunk:
                        raise OSError(errno.ECONNRESET, "closed by server")
                    st["buf"] += chunk
                    if response_complete(st["buf"]):
                        if not st["buf"].startswith(b"HTTP/1.1 200"):
                            raise OSError(errno.EPROTO, "unexpected response")
                        sel.unregister(s)
                        s.response_length = len(st["buf"])
                        done.append(s)
                        pending -= 1
            except OSError:
                sel.unregister(s)
                s.close()
                failed += 1
                pending -= 1
    for key in list(sel.get_map().values()):
        key.fileobj.close()
        failed += 1
    return done, failed


def count_open(socks):
    """Connections the server has not closed: recv would block (no EOF, no data)."""
    n = 0
    for s in socks:
        try:
            if s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT):
                n += 1  # unexpected data, but still open
        except BlockingIOError:
            n += 1
        except OSError:
            pass
    return n


def burst(socks, n):
    """Each connection in turn: N pipelined requests in one write, then read all N responses."""
    done = failed = 0
    for s in socks:
        try:
            length = s.response_length
            s.setblocking(True)
            s.settimeout(30)
            s.sendall(REQUEST * n)
            want, got = length * n, 0
            while got < want:
                chunk = s.recv(1 << 20)
                if not chunk:
                    raise OSError(errno.ECONNRESET, "closed by server")
                got += len(chunk)
            if got != want:
                raise OSError(errno.EPROTO, f"{got} bytes, expected {want}")
            s.setblocking(False)
            done += 1
        except OSError:
            failed += 1
    return done, failed


class Sock(socket.socket):
    """A socket that remembers the length of the response to REQUEST."""
    response_length = 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--batch", type=int, default=256, help="connections in flight while opening")
    args = ap.parse_args()

    limit = raise_nofile(args.count + 64)
    if limit < args.count + 16:
        print(f"error: RLIMIT_NOFILE is {limit}, need {args.count + 16}", file=sys.stderr)
        return 1
    socks, failed = open_all(args.host, args.port, args.count, args.batch)
    print(f"ready {len(socks)} {failed}", flush=True)
    for line in sys.stdin:
        words = line.split()
        if words == ["check"]:
            print(f"open {count_open(socks)}", flush=True)
        elif len(words) == 2 and words[0] == "burst":
            ok, bad = burst(socks, int(words[1]))
            print(f"burst {ok} {bad}", flush=True)
    for s in socks:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
