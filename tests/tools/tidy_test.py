#!/usr/bin/env python3
# Description: clang-tidy-19 (the repository's .clang-tidy) finds nothing in kio/: every kio/*.cpp
# of the build's compile database, and a file including every public header.
"""Usage: tidy_test.py BUILD_DIR [CLANG_TIDY]   (exit status 0 pass, 1 fail, 77 skip: no clang-tidy-19)

Runs one clang-tidy-19 per CPU in parallel. Any warning fails the test; each is printed with
its check name. The check list and the reasons for what is left out are in .clang-tidy.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def tidy(exe, args):
    r = subprocess.run([exe, "--quiet", f"--config-file={ROOT / '.clang-tidy'}", *args], capture_output=True, text=True, cwd=ROOT)
    warnings = [line for line in r.stdout.splitlines() if ": warning: " in line or ": error: " in line]
    if r.returncode != 0 and not warnings:
        warnings = [f"{args[0]}: clang-tidy exit status {r.returncode}: {r.stderr[-2000:]}"]
    return r.stdout, warnings


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__)
        return 2
    exe = sys.argv[2] if len(sys.argv) == 3 else shutil.which("clang-tidy-19")
    if not exe:
        print("SKIP: clang-tidy-19 is not installed (tools/test installs it)")
        return 77
    bdir = Path(sys.argv[1]).resolve()
    db = json.loads((bdir / "compile_commands.json").read_text())
    kio_dir = ROOT / "kio"
    sources = sorted({str(Path(c["directory"], c["file"]).resolve()) for c in db
                      if Path(c["directory"], c["file"]).resolve().is_relative_to(kio_dir)})
    if not sources:
        print(f"FAIL: no kio/ sources in {bdir}/compile_commands.json")
        return 1
    with tempfile.TemporaryDirectory(prefix="kio-tidy-") as tmp:
        every = Path(tmp) / "every_header.cpp"
        headers = sorted(p.relative_to(ROOT) for p in kio_dir.rglob("*.hpp")
                         if "detail" not in p.relative_to(kio_dir).parts)
        every.write_text("".join(f'#include "{h}"\n' for h in headers))
        jobs = [["-p", str(bdir), s] for s in sources]
        jobs.append([str(every), "--", "-std=c++20", f"-I{ROOT}"])
        with ThreadPoolExecutor(max_workers=max(1, len(os.sched_getaffinity(0)))) as pool:
            results = list(pool.map(lambda a: tidy(exe, a), jobs))
    found = sorted({w for _, ws in results for w in ws})
    for w in found:
        print(w.replace(str(ROOT) + "/", ""))
    if found:
        print(f"FAIL: clang-tidy-19: {len(found)} finding(s) in kio/ (.clang-tidy lists the checks)")
        return 1
    print(f"ok: clang-tidy-19 clean on {len(sources)} kio/ sources and {len(headers)} public headers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
