#!/usr/bin/env python3
"""Soak: tcp_demo (path in $TCP_DEMO) under mixed load for a while; its RSS and descriptor count
must stay flat and nothing may go wrong. tools/soak runs it for 5 minutes on a release build;
tools/test runs it for 30 s (gcc configuration only, test `soak_30s`).

Usage: soak.py [--seconds N] [--threads N]
Load (harness.Load, 8 client threads): keep-alive GETs, pipelined batches with echoes, new
connections ("Connection: close"), slow clients (heads trickled in pieces), resets mid-request,
echo bodies of 1 B - 256 KiB. The first fifth of the run (at least 5 s) warms up (receive-buffer
rings, frame pool, allocator arenas reach their working size); from then on RSS and descriptors
are sampled every second.

Assertions:
  errors    zero: every answer has status 200 and the right body, the server never closes or
            resets a connection the client did not cut, connects never fail, and the server logs
            nothing between its start-up line and the SIGTERM that stops it
  RSS       flat: the highest sample of the last third of the measured period may exceed the
            highest of the first third by at most 2 MiB. The load's working set is bounded (8
            connections, bodies up to 256 KiB, so at most a few MiB in flight, all of which
            the warm-up has already needed), so any lasting growth is a leak; 2 MiB is the
            noise of allocator arenas handing out a new chunk (a few hundred KiB measured), and
            over a 30 s run it still catches a leak of about 45 bytes per request (5 min:
            about 5 bytes).
  fds       flat: never more than the idle count + 2 per client thread + 8 (each thread has one
            connection, plus one the server may still be closing), and back to the idle count
            (+2) once the load stops
Exit status: 0 pass, anything else fail. The figures are printed either way.
"""
import argparse
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Demo, Failure, Load, check, connection_fds, fd_count,  # noqa: E402
                     open_connections, rss_kib, settle_fds, still_serves, wait_for, warm_up)

RSS_TOLERANCE_KIB = 2 * 1024


def soak(demo, seconds, threads):
    idle_fds = fd_count(demo)
    warm_up(demo)
    load = Load(demo.port, threads=threads, seed=7)
    samples = []  # (seconds since the start, RSS KiB, fds)
    t0 = time.time()
    load.run()
    warm = max(5.0, seconds / 5)
    stop_sampling = threading.Event()

    def sample():
        while not stop_sampling.wait(1.0):
            samples.append((time.time() - t0, rss_kib(demo), fd_count(demo)))
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        while time.time() - t0 < seconds and not load.errors and demo.proc.poll() is None:
            time.sleep(0.2)
    finally:
        stop_sampling.set()
        sampler.join(10)
        load.stop()
    secs = time.time() - t0
    check(demo.proc.poll() is None, "the server died")
    check(not load.errors, f"{len(load.errors)} errors (first ones): {load.errors[:5]}")
    still_serves(demo)
    end_fds = settle_fds(demo, idle_fds, seconds=30)
    # Every client has closed: the server must have closed every connection too (linger_timeout,
    # 1 s, bounds the last ones).
    wait_for(lambda: connection_fds(demo) == 0, 5, 0.2)
    held, left = connection_fds(demo), open_connections(demo.port)
    check(held == 0 and not left, f"the server still holds {held} connection socket(s) 5 s "
          f"after the load stopped; ss (state, peer): {left[:10]}")
    end_rss = rss_kib(demo)

    measured = [s for s in samples if s[0] >= warm]
    check(len(measured) >= 6, f"only {len(measured)} samples after the warm-up")
    third = len(measured) // 3
    first = max(s[1] for s in measured[:third])
    last = max(s[1] for s in measured[-third:])
    max_fds = max(s[2] for s in measured)
    fd_bound = idle_fds + 2 * threads + 8
    figures = (
        f"soak: {secs:.0f} s, {threads} client threads: {load.answered} requests answered "
        f"({load.answered / secs:.0f}/s) over {load.connections} connections; by kind "
        f"{ {k: v for k, v in load.counts.items() if k != 'reset'} }, plus resets mid-request; "
        f"slowest answer {load.max_latency * 1000:.0f} ms; errors 0\n"
        f"soak: RSS (KiB) after the {warm:.0f} s warm-up: first third max {first}, last third max "
        f"{last} (growth {last - first}, tolerance {RSS_TOLERANCE_KIB}), lowest "
        f"{min(s[1] for s in measured)}, after the load {end_rss}\n"
        f"soak: descriptors idle {idle_fds}, under load {min(s[2] for s in measured)}-{max_fds} "
        f"(bound {fd_bound}), after the load {end_fds}")
    print(figures, flush=True)
    check(last - first <= RSS_TOLERANCE_KIB,
          f"RSS grew by {last - first} KiB over the run (tolerance {RSS_TOLERANCE_KIB} KiB)")
    check(max_fds <= fd_bound, f"{max_fds} descriptors open under load (bound {fd_bound})")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--threads", type=int, default=8)
    args = ap.parse_args()
    demo = Demo()
    try:
        soak(demo, args.seconds, args.threads)
        out = demo.stop()
    except (Failure, OSError) as e:
        print(f"FAIL soak: {type(e).__name__}: {e}")
        demo.kill()
        return 1
    # After "tcp_demo: http://... on N workers", only the stop itself may be logged.
    logged = [line for line in out.strip().splitlines()[1:] if "received SIGTERM" not in line]
    if logged:
        print(f"FAIL soak: the server logged {len(logged)} lines: {logged[:5]}")
        return 1
    print("ok soak")
    return 0


if __name__ == "__main__":
    sys.exit(main())
