#!/usr/bin/env python3
# Description: every C++ file of the repository is formatted with its .clang-format
# (clang-format-19 --dry-run -Werror).
"""Usage: format_test.py [CLANG_FORMAT]   (exit status 0 pass, 1 fail, 77 skip: no clang-format-19)

Fix what it reports with:  git ls-files -z '*.cpp' '*.hpp' '*.h' '*.cc' | xargs -0 clang-format-19 -i
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXTS = (".cpp", ".hpp", ".h", ".cc")
PRUNE = {".git", "subprojects", "__pycache__", "target", "node_modules"}


def cpp_files():
    try:
        r = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-co", "--exclude-standard",
                            *[f"*{e}" for e in EXTS]], capture_output=True, text=True)
        if r.returncode == 0:
            return sorted(f for f in r.stdout.splitlines() if (ROOT / f).exists())
    except FileNotFoundError:  # no git on this machine
        pass
    out = []  # not a git checkout (e.g. a copied tree): walk it, skipping build directories
    for d, dirs, files in os.walk(ROOT):
        rel = Path(d).relative_to(ROOT)
        dirs[:] = [x for x in dirs if x not in PRUNE and not x.startswith(".")
                   and not (rel == Path(".") and x.startswith("build"))]
        out += [str(rel / f) for f in files if f.endswith(EXTS)]
    return sorted(out)


def main():
    exe = sys.argv[1] if len(sys.argv) > 1 else shutil.which("clang-format-19")
    if not exe:
        print("SKIP: clang-format-19 is not installed (tools/test installs it)")
        return 77
    files = cpp_files()
    if not files:
        print("FAIL: found no C++ files")
        return 1
    bad = []
    for i in range(0, len(files), 50):
        chunk = files[i:i + 50]
        r = subprocess.run([exe, "--dry-run", "-Werror", *chunk], cwd=ROOT, capture_output=True,
                           text=True)
        if r.returncode != 0:
            bad += sorted({line.split(":", 1)[0] for line in r.stderr.splitlines()
                           if ": error:" in line} or set(chunk))
            print(r.stderr[-4000:])
    if bad:
        print(f"FAIL: {len(bad)} of {len(files)} files are not formatted:\n  " + "\n  ".join(bad))
        print("fix: clang-format-19 -i " + " ".join(bad))
        return 1
    print(f"ok: {len(files)} C++ files formatted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
