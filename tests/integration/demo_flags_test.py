#!/usr/bin/env python3
# Description: a demo's command line: bad flags get one line saying what is wrong, the usage and
# exit status 2; more workers than CPUs get the runtime's SetupError message; good flags serve.
"""Usage: demo_flags_test.py DEMO_EXECUTABLE      (exit status 0 pass, 1 fail)"""
import os
import signal
import socket
import subprocess
import sys
import time

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def run(exe, *args):
    """(exit status, stdout, stderr); a demo still running after 20 s (serving, when it should
    have refused its flags) is killed and reported as "still running"."""
    try:
        r = subprocess.run([exe, *args], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired as e:
        text = lambda b: b.decode(errors="replace") if isinstance(b, bytes) else (b or "")
        return "still running after 20 s", text(e.stdout), text(e.stderr)
    return r.returncode, r.stdout, r.stderr


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bad_flags(exe, name):
    cases = [
        (["--port", "abc"], "--port needs a whole number, got 'abc'"),
        (["--port", "70000"], "--port 70000 is out of range (1 to 65535)"),
        (["--port=0"], "--port 0 is out of range (1 to 65535)"),
        (["--port", "80x"], "--port needs a whole number, got '80x'"),
        (["--port"], "--port needs a value"),
        (["--workers", "-1"], "--workers -1 is out of range (0 to 1024)"),
        (["--workers", "99999999999999999999"],
         "--workers 99999999999999999999 is out of range (0 to 1024)"),
        (["--bogus"], "unknown option '--bogus'"),
        (["--port", "8080", "extra"], "unexpected argument 'extra'"),
    ]
    for args, message in cases:
        rc, out, err = run(exe, *args)
        lines = err.splitlines()
        label = f"{name} {' '.join(args)}"
        check(rc == 2, f"{label}: exit status {rc}, expected 2 (stderr: {err!r})")
        check(len(lines) == 2, f"{label}: expected 2 lines on stderr (error, usage), got {lines!r}")
        if lines:
            check(lines[0] == f"{name}: {message}",
                  f"{label}: first line {lines[0]!r}, expected {name + ': ' + message!r}")
        if len(lines) > 1:
            check(lines[1].startswith(f"usage: {name} ") and "--port" in lines[1],
                  f"{label}: second line is not the usage: {lines[1]!r}")
        check(out == "", f"{label}: printed on stdout (did it start?): {out!r}")
    if name == "tcp_demo":  # its text flag
        rc, out, err = run(exe, "--static")
        check(rc == 2 and err.startswith("tcp_demo: --static needs a value\nusage: tcp_demo "),
              f"tcp_demo --static: {rc} {err!r}")
    rc, out, err = run(exe, "--help")
    check(rc == 0 and out.startswith(f"usage: {name} "), f"{name} --help: {rc} {out!r} {err!r}")


def too_many_workers(exe, name):
    n = len(os.sched_getaffinity(0)) + 1
    rc, out, err = run(exe, "--port", str(free_port()), "--workers", str(n))
    check(rc == 1, f"{name} --workers {n}: exit status {rc}, expected 1 (stderr: {err!r})")
    check(f"{name}: kio: {n} workers requested" in err and "at most" in err,
          f"{name} --workers {n}: no SetupError message saying what to change: {err!r}")
    check("terminate called" not in err, f"{name} --workers {n}: uncaught exception: {err!r}")


def good_flags(exe, name):
    port = free_port()
    proc = subprocess.Popen([exe, f"--port={port}", "--workers", "1"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    check(False, f"{name} --port={port} --workers 1 did not start listening")
                    return
                time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
        check(proc.returncode == 0,
              f"{name}: exit status {proc.returncode} after SIGTERM: {out!r} {err!r}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    exe = sys.argv[1]
    name = os.path.basename(exe)
    bad_flags(exe, name)
    too_many_workers(exe, name)
    good_flags(exe, name)
    for f in failures:
        print("FAIL " + f)
    if not failures:
        print(f"ok {name}: bad flags, too many workers, good flags")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
