#!/usr/bin/env python3
"""Builds kio in each test configuration and runs its tests; called by tools/test.

Counts GoogleTest cases individually (from --gtest_output JSON); a test registered without the
gtest protocol counts as one case (exit 0 pass, 77 skip, anything else fail). A gtest binary that
crashes before writing its report counts as one failure. The last line printed is always
"N passed, N failed".
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SAN_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
    "TSAN_OPTIONS": "halt_on_error=1:second_deadlock_stack=1",
}

# Static checks (clang-tidy, clang-format, packaging, installed headers, the docs' programs) and the
# benchmark smoke runs do not depend on the compiler's instrumentation: they run in the gcc build only.
RUNTIME = ["core", "sync", "net", "fs", "http", "di", "multicore", "integration"]

# The sanitized builds compile kio at -O1 with line tables only (enough for symbolized reports; a
# third of -O2 -g's compile time) and, in clang-san and clang-tsan, the test programs themselves at
# -O0 (-Dtests_optimization; a third again), without the benchmarks. See
# tools/lib/ubsan-ignorelist.txt.
SAN_OPTS = ["-Doptimization=1", "-Ddebug=false", "-Dwerror=true", "-Db_lundef=false",
            "-Dbenchmarks=false",
            f"-Dcpp_args=-gline-tables-only -fsanitize-ignorelist={ROOT}/tools/lib/ubsan-ignorelist.txt"]

# name -> (compiler, meson options, suites to run (None = every suite))
CONFIGS = {
    # kio at -O2 without debug info (half the compile time of -O3 -g), the test programs at -O1.
    "gcc": ("g++", ["-Doptimization=2", "-Ddebug=false", "-Dwerror=true",
                    "-Dtests_optimization=1"], None),
    # Also builds and runs the libFuzzer targets (-Dfuzz=true adds coverage instrumentation to
    # everything; the tests do not mind, and it saves CI a fourth build of kio).
    "clang-san": ("clang++-19", [*SAN_OPTS, "-Db_sanitize=address,undefined",
                                 "-Dtests_optimization=0", "-Dfuzz=true"], [*RUNTIME, "fuzz"]),
    "clang-tsan": ("clang++-19", [*SAN_OPTS, "-Db_sanitize=thread", "-Ddemos=false",
                                  "-Dtests_optimization=0"], ["tsan"]),
    # Only the libFuzzer targets (tests/fuzz): tools/fuzz's build (--only clang-fuzz); not part of
    # the default run, where clang-san runs them.
    "clang-fuzz": ("clang++-19", [*SAN_OPTS, "-Db_sanitize=address,undefined", "-Dfuzz=true",
                                  "-Ddemos=false"], ["fuzz"]),
}
DEFAULT = ["gcc", "clang-san", "clang-tsan"]


def log(msg):
    print(msg, flush=True)


def suite_targets(bdir, suites):
    """Ninja targets (test executables and what they depend on) of the tests in `suites`."""
    tests = json.loads(subprocess.run(["meson", "introspect", "--tests", str(bdir)],
                                      capture_output=True, text=True, check=True).stdout)
    targets = json.loads(subprocess.run(["meson", "introspect", "--targets", str(bdir)],
                                        capture_output=True, text=True, check=True).stdout)
    by_id = {t["id"]: t for t in targets}
    out = set()
    for t in tests:
        if not any(s.split(":")[-1] in suites for s in t.get("suite", [])):
            continue
        exe = os.path.relpath(t["cmd"][0], bdir)
        if not exe.startswith(".."):  # an interpreter (python3) is not a target
            out.add(exe)
        for dep in t.get("depends", []):
            if dep in by_id:
                for f in by_id[dep]["filename"]:
                    out.add(os.path.relpath(f, bdir))
    return sorted(out)


def build(name, cxx, opts, suites=None, background=False):
    """Configures and builds one configuration; returns its build directory, None on failure.
    background: at the lowest CPU priority (nice 19), beside the previous
    configuration's tests, which then keep the CPUs whenever they want them."""
    bdir = Path(os.environ.get("KIO_BUILD_ROOT", ROOT / "build")) / name
    env = dict(os.environ, CXX=cxx)
    low = ["nice", "-n", "19"] if background else []
    if not (bdir / "build.ninja").exists():
        r = subprocess.run(["meson", "setup", str(bdir), *opts], cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            log(r.stdout[-4000:])
            return None
    else:
        subprocess.run(["meson", "configure", str(bdir), *opts], cwd=ROOT, env=env,
                       stdout=subprocess.DEVNULL, check=False)
    t0 = time.time()
    targets = suite_targets(bdir, suites) if suites else []
    r = subprocess.run([*low, "ninja", "-C", str(bdir), *targets], cwd=ROOT, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        log(r.stdout[-6000:])
        return None
    log(f"built {name} in {time.time() - t0:.0f}s" + (" (in the background)" if background else ""))
    return bdir


def run_one(cfg, t, extra):
    """Runs one registered test; returns (passed, failed, skipped, failed_names)."""
    cmd = list(t["cmd"])
    env = dict(os.environ, **SAN_ENV, **(t.get("env") or {}))
    timeout = t.get("timeout") or 300
    if any(s.split(":")[-1] == "fuzz" for s in t.get("suite", [])) and \
            os.environ.get("KIO_FUZZ_SECONDS"):
        timeout = max(timeout, int(os.environ["KIO_FUZZ_SECONDS"]) + 300)
    is_gtest = t.get("protocol") == "gtest"
    report = None
    if is_gtest:
        fd, report = tempfile.mkstemp(suffix=".json", prefix="kio-test-")
        os.close(fd)
        os.unlink(report)
        cmd += [f"--gtest_output=json:{report}", *extra]
    t0 = time.time()
    try:
        r = subprocess.run(cmd, cwd=t.get("workdir") or ROOT, env=env, timeout=timeout,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           errors="replace")
        out, rc = r.stdout, r.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        rc = "timeout"
    except OSError as e:  # e.g. the executable was not built
        out, rc = f"cannot run {cmd[0]}: {e}", "not runnable"
    secs = time.time() - t0
    label = f"{cfg}/{t['name']}"
    if is_gtest and report and os.path.exists(report):
        data = json.load(open(report))
        os.unlink(report)
        passed = failed = skipped = 0
        names = []
        for suite in data.get("testsuites", []):
            for case in suite.get("testsuite", []):
                full = f"{label}:{suite['name']}.{case['name']}"
                if case.get("result") == "SKIPPED" or case.get("status") == "NOTRUN":
                    skipped += 1
                elif case.get("failures"):
                    failed += 1
                    names.append(full)
                else:
                    passed += 1
        # A sanitizer report at exit (leaks) fails the binary even when every case passed.
        if rc != 0 and failed == 0:
            failed += 1
            names.append(f"{label}: exit status {rc} after all cases passed")
    elif is_gtest:
        passed, failed, skipped, names = 0, 1, 0, [f"{label}: crashed or timed out ({rc})"]
    else:
        if rc == 0:
            passed, failed, skipped, names = 1, 0, 0, []
        elif rc == 77:
            passed, failed, skipped, names = 0, 0, 1, []
        else:
            passed, failed, skipped, names = 0, 1, 0, [f"{label}: exit status {rc}"]
    status = "ok  " if failed == 0 else "FAIL"
    log(f"{status} {label:<40} {passed:4d} passed {failed:3d} failed {skipped:3d} skipped  {secs:6.1f}s")
    if not failed and any(x.split(":")[-1] == "fuzz" for x in t.get("suite", [])):
        lines = out.strip().splitlines()
        if lines:
            log(f"     {lines[-1]}")  # the fuzz target's exec count
    if failed:
        tail = out[-8000:]
        log("---- output (tail) ----\n" + tail + "\n----")
    return passed, failed, skipped, names


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=sorted(CONFIGS), action="append",
                    help=f"configurations to run (default: {', '.join(DEFAULT)})")
    ap.add_argument("--filter", help="run only tests whose name contains this")
    ap.add_argument("--fuzz-seconds", type=int, help="run each fuzz target this long (default 12)")
    ap.add_argument("extra", nargs="*", help="extra arguments for gtest binaries")
    args = ap.parse_args()
    if args.fuzz_seconds:
        os.environ["KIO_FUZZ_SECONDS"] = str(args.fuzz_seconds)

    totals = [0, 0, 0]
    failures = []
    selected = [(name, cfg) for name, cfg in CONFIGS.items()
                if (name in args.only if args.only else name in DEFAULT)]
    # The first configuration builds at full speed; each next one builds in the background, at
    # the lowest priority, while the tests of the one before run one at a time (they leave a CPU
    # idle much of the time: single-threaded programs, servers waiting for timeouts). Its tests
    # start once both are done.
    builder = ThreadPoolExecutor(max_workers=1)
    next_build = None
    for i, (name, (cxx, opts, suites)) in enumerate(selected):
        bdir = build(name, cxx, opts, suites) if next_build is None else next_build.result()
        next_build = None
        if i + 1 < len(selected):
            n2, (cxx2, opts2, suites2) = selected[i + 1]
            next_build = builder.submit(build, n2, cxx2, opts2, suites2, True)
        if bdir is None:
            log(f"FAIL build {name}")
            totals[1] += 1
            failures.append(f"{name}: build failed")
            continue
        tests = json.loads(subprocess.run(["meson", "introspect", "--tests", str(bdir)],
                                          capture_output=True, text=True, check=True).stdout)
        chosen = []
        for t in tests:
            tsuites = [s.split(":")[-1] for s in t.get("suite", [])]
            if suites is not None and not any(s in suites for s in tsuites):
                continue
            if args.filter and args.filter not in t["name"]:
                continue
            chosen.append(t)
        # Tests one at a time (several are timing-sensitive), except the fuzz targets: each
        # libFuzzer process uses one CPU, so they run side by side, one per CPU, at the end.
        fuzz = [t for t in chosen if any(x.split(":")[-1] == "fuzz" for x in t.get("suite", []))]
        results = [run_one(name, t, args.extra) for t in chosen if t not in fuzz]
        with ThreadPoolExecutor(max_workers=max(1, len(os.sched_getaffinity(0)))) as pool:
            results += list(pool.map(lambda t: run_one(name, t, args.extra), fuzz))
        for p, f, s, names in results:
            totals[0] += p
            totals[1] += f
            totals[2] += s
            failures += names

    builder.shutdown()
    if failures:
        log("\nfailed:")
        for f in failures:
            log(f"  {f}")
    if totals[2]:
        log(f"{totals[2]} skipped")
    print(f"{totals[0]} passed, {totals[1]} failed", flush=True)
    return 1 if totals[1] else 0


if __name__ == "__main__":
    sys.exit(main())
