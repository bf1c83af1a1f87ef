#!/usr/bin/env python3
"""Description: demo/di_server (kio::di services behind HTTP; path in $DI_SERVER) driven over HTTP.

Starts it with two workers on a free port, sends requests over several connections (so both
cores answer), checks that /stats sums the per-core counters, that /services is the registry's
snapshot as JSON (every service active, the Routes slots bound), and that SIGINT stops it cleanly
(its flags are checked by demo_flags_test.py, as every demo's).
Exit status: 0 pass, 77 skip, anything else fail.
"""
import ctypes
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time

SKIP = 77


def die_with_parent():
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)  # a new connection each time
    c.request("GET", path)
    r = c.getresponse()
    body = r.read().decode()
    c.close()
    return r.status, body


def main():
    exe = os.environ.get("DI_SERVER")
    if not exe or not os.path.exists(exe):
        print("DI_SERVER does not name the built di_server")
        return 1
    if len(os.sched_getaffinity(0)) < 2:
        print("skip: di_server --workers 2 needs two CPUs")
        return SKIP
    port = free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--workers", "2"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, preexec_fn=die_with_parent)
    try:
        deadline = time.time() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, f"di_server exited: {proc.stdout.read()}"
                assert time.time() < deadline, "di_server did not listen within 20 s"
                time.sleep(0.05)
        cores = set()
        for _ in range(40):
            status, body = get(port, "/")
            assert status == 200 and body.startswith("hello from core "), (status, body)
            cores.add(body.split()[3])
        status, body = get(port, "/stats")
        assert status == 200, (status, body)
        stats = json.loads(body)
        assert len(stats["per_core"]) == 2 and sum(stats["per_core"]) == stats["requests"], stats
        assert stats["requests"] == 41, stats  # the 40 above and this one
        status, body = get(port, "/services")
        assert status == 200, (status, body)
        services = {s["name"]: s for s in json.loads(body)}
        assert set(services) == {"Config", "Counter", "Routes"}, services.keys()
        assert services["Config"]["placement"] == "core 0", services["Config"]
        for s in services.values():
            for i in s["instances"]:
                assert i["state"] == "active" and not i["error"], (s["name"], i)
        routes = services["Routes"]["instances"]
        assert [i["core"] for i in routes] == [0, 1], routes
        for i in routes:
            assert [sl["slot"] for sl in i["slots"]] == \
                ["Ref<Counter>", "Remote<Config>", "PerCore<Counter>"], i["slots"]
            assert all(sl["bound"] and not sl["waiting_for"] for sl in i["slots"]), i["slots"]
        print(f"cores answering: {sorted(cores)}; stats {stats}")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out = proc.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError("di_server did not stop within 30 s of SIGINT")
    assert proc.returncode == 0, f"di_server exited with {proc.returncode}:\n{out}"
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as e:
        print(f"FAIL: {e}")
        sys.exit(1)
