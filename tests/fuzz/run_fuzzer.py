#!/usr/bin/env python3
"""Runs one libFuzzer target for a bounded time and prints its exec count.

usage: run_fuzzer.py EXE SEED_DIR WORK_DIR [--dict FILE] [--seconds N]

The fuzzer starts from the committed seeds (SEED_DIR, never written) plus what earlier runs kept in
WORK_DIR (new inputs go there). Duration: --seconds, else $KIO_FUZZ_SECONDS, else 12. A crash or a
failed check exits non-zero; the input is saved as crash-<target>-* in WORK_DIR's parent and shown.
The last line is "fuzz <target>: <execs> execs in <s> s (<rate>/s), <n> new inputs kept".
"""
import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("exe")
    ap.add_argument("seeds")
    ap.add_argument("work")
    ap.add_argument("--dict")
    ap.add_argument("--seconds", type=int, default=int(os.environ.get("KIO_FUZZ_SECONDS", "12")))
    args = ap.parse_args()

    exe = Path(args.exe)
    name = exe.name.removeprefix("fuzz_")
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    seeds = Path(args.seeds)
    if not seeds.is_dir() or not any(seeds.iterdir()):
        print(f"fuzz {name}: no seed corpus at {seeds}", flush=True)
        return 1
    prefix = str(work.parent / f"crash-{name}-")
    cmd = [str(exe), f"-max_total_time={args.seconds}", "-timeout=10", "-rss_limit_mb=2048",
           "-max_len=8192", "-print_final_stats=1", f"-artifact_prefix={prefix}",
           str(work), str(seeds)]
    if args.dict:
        cmd.insert(1, f"-dict={args.dict}")
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    t0 = time.time()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       errors="replace", env=env)
    secs = time.time() - t0
    out = r.stdout
    m = re.search(r"stat::number_of_executed_units:\s*(\d+)", out) or \
        re.search(r"Done (\d+) runs", out)
    execs = int(m.group(1)) if m else 0
    corpus = sum(1 for _ in work.iterdir())
    if r.returncode != 0:
        print(out[-6000:], flush=True)
        for crash in sorted(work.parent.glob(f"crash-{name}-*")):
            data = crash.read_bytes()
            print(f"input {crash} ({len(data)} bytes): {data[:600]!r}", flush=True)
        print(f"fuzz {name}: FAILED (exit {r.returncode}) after {execs} execs in {secs:.0f} s",
              flush=True)
        return 1
    print(f"fuzz {name}: {execs} execs in {secs:.0f} s ({execs / max(secs, 1e-9):.0f}/s), "
          f"{corpus} new inputs kept", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
