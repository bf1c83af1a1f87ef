#!/usr/bin/env python3
"""Compiles and links every C++ program shown in the docs against the installed kio.

Every ```cpp block of README.md and docs/*.md that contains `main(` is a snippet. The build is
installed into a scratch DESTDIR (`meson install`), then each snippet is compiled and linked, as
a user outside the project would, with nothing but `pkg-config --cflags --libs kio`. The
compiler's messages name the Markdown file and line of the block.

Markers: an HTML comment on the line before the fence changes what happens to the block.
    <!-- snippet: needs di -->      the snippet uses kio/di, not installed yet: it is skipped with
                                    a message. Once kio/<module>/ IS installed the marker is an
                                    error (remove it so the snippet is compiled), so no skip
                                    outlives its reason.
    <!-- snippet: needs kio/http/metrics.hpp -->   the same for one header.
Several at once: `needs di, kio/http/metrics.hpp`. Any other `snippet:` marker is an error.

Speaks enough of GoogleTest's command line for tools/test and `meson test` to count one case
per snippet: --gtest_output=json:FILE / xml:FILE, --gtest_filter=PATTERN[:PATTERN...][-NEG...],
--gtest_list_tests. A self-check case compiles a known-broken snippet (tests/docs/broken.md) and
fails unless that is reported as a failure at the right file and line.

Usage: check_snippets.py BUILD_DIR SOURCE_DIR CXX [CXX args...] [--gtest_*...]
       check_snippets.py --list SOURCE_DIR      (print the snippets found, compile nothing)
"""
import concurrent.futures
import fnmatch
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from xml.sax.saxutils import escape, quoteattr

FENCE_OPEN = re.compile(r"^(\s*)```\s*(cpp|c\+\+)\s*$")
FENCE_CLOSE = re.compile(r"^\s*```\s*$")
MARKER = re.compile(r"^\s*<!--\s*snippet:\s*(.*?)\s*-->\s*$")
HAS_MAIN = re.compile(r"\bmain\s*\(")
SELF_CHECK_FILE = "broken.md"


class Snippet:
    def __init__(self, path, rel, line, code, needs, problem=None):
        self.path = path  # absolute path of the Markdown file
        self.rel = rel  # as shown in messages (relative to the source root)
        self.line = line  # 1-based line of the first code line
        self.code = code
        self.needs = needs
        self.problem = problem  # a marker error, reported as a failure

    @property
    def suite(self):
        return re.sub(r"[^A-Za-z0-9]", "_", self.rel)

    @property
    def name(self):
        return f"line_{self.line}"


def parse_marker(text):
    """Returns (needs, problem) for the text inside `<!-- snippet: ... -->`."""
    m = re.fullmatch(r"needs\s+(.+)", text)
    if not m:
        return [], f"unknown snippet marker '{text}' (known: 'needs MODULE-OR-HEADER[, ...]')"
    mods = [x.strip() for x in m.group(1).split(",") if x.strip()]
    bad = [x for x in mods if not re.fullmatch(r"[a-z_]+|[A-Za-z0-9_/.]+\.hpp", x)]
    if not mods or bad:
        return [], (f"bad list in snippet marker '{text}' (modules or headers, e.g. 'needs di' "
                    "or 'needs kio/http/metrics.hpp')")
    return mods, None


def extract(path, rel):
    """Every ```cpp block of `path` that contains main(), with its marker."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    out = []
    pending = None  # (needs, problem, line) of a marker waiting for its block
    i = 0
    while i < len(lines):
        m = MARKER.match(lines[i])
        if m:
            needs, problem = parse_marker(m.group(1))
            pending = (needs, f"{rel}:{i + 1}: {problem}" if problem else None, i + 1)
            i += 1
            continue
        fence = FENCE_OPEN.match(lines[i])
        if fence:
            indent = len(fence.group(1))
            start = i + 1
            j = start
            while j < len(lines) and not FENCE_CLOSE.match(lines[j]):
                j += 1
            if j == len(lines):
                out.append(Snippet(path, rel, start, "", [],
                                   f"{rel}:{i + 1}: ```cpp block is never closed"))
                break
            code = "\n".join(l[indent:] if l[:indent].strip() == "" else l
                             for l in lines[start:j]) + "\n"
            needs, problem = (pending[0], pending[1]) if pending else ([], None)
            if HAS_MAIN.search(code):
                out.append(Snippet(path, rel, start + 1, code, needs, problem))
            elif pending:
                out.append(Snippet(path, rel, start + 1, code, [],
                                   f"{rel}:{pending[2]}: snippet marker on a block without "
                                   "main() (only programs are compiled): remove it"))
            pending = None
            i = j + 1
            continue
        if pending and lines[i].strip():
            out.append(Snippet(path, rel, pending[2], "", [],
                               f"{rel}:{pending[2]}: snippet marker not followed by a ```cpp "
                               "block"))
            pending = None
        i += 1
    return out


def doc_files(src):
    files = [os.path.join(src, "README.md")]
    files += sorted(glob.glob(os.path.join(src, "docs", "*.md")))
    return [f for f in files if os.path.isfile(f)]


def find_snippets(src):
    snippets = []
    for f in doc_files(src):
        snippets += extract(f, os.path.relpath(f, src))
    return snippets


# ---- gtest command line ------------------------------------------------------------------------

def parse_gtest_args(argv):
    rest, opts = [], {"output": None, "filter": "*", "list": False}
    for a in argv:
        if a.startswith("--gtest_output="):
            opts["output"] = a.split("=", 1)[1]
        elif a.startswith("--gtest_filter="):
            opts["filter"] = a.split("=", 1)[1]
        elif a == "--gtest_list_tests":
            opts["list"] = True
        elif a.startswith("--gtest_"):
            pass  # other gtest flags (colour, repeat...) do not apply
        else:
            rest.append(a)
    return rest, opts


def selected(full, flt):
    pos, _, neg = flt.partition("-")
    pos_pats = [p for p in pos.split(":") if p] or ["*"]
    neg_pats = [p for p in neg.split(":") if p]
    return any(fnmatch.fnmatchcase(full, p) for p in pos_pats) and not any(
        fnmatch.fnmatchcase(full, p) for p in neg_pats)


def write_report(dest, cases):
    """cases: list of (suite, name, status, message, seconds); status: pass, fail, skip."""
    if not dest:
        return
    kind, _, path = dest.partition(":")
    suites = {}
    for c in cases:
        suites.setdefault(c[0], []).append(c)
    if kind == "json":
        data = {"tests": len(cases), "failures": sum(c[2] == "fail" for c in cases),
                "testsuites": []}
        for s, cs in suites.items():
            entries = []
            for _, name, status, msg, secs in cs:
                e = {"name": name, "status": "RUN", "time": f"{secs:.3f}s", "classname": s,
                     "result": "SKIPPED" if status == "skip" else "COMPLETED"}
                if status == "fail":
                    e["failures"] = [{"failure": msg, "type": ""}]
                if status == "skip":
                    e["skipped"] = [{"message": msg}]
                entries.append(e)
            data["testsuites"].append({"name": s, "tests": len(cs), "testsuite": entries})
        with open(path, "w") as f:
            json.dump(data, f, indent=2)
    elif kind == "xml":
        with open(path, "w") as f:
            f.write('<?xml version="1.0" encoding="UTF-8"?>\n')
            f.write(f'<testsuites tests="{len(cases)}" '
                    f'failures="{sum(c[2] == "fail" for c in cases)}" name="AllTests">\n')
            for s, cs in suites.items():
                f.write(f'  <testsuite name={quoteattr(s)} tests="{len(cs)}" '
                        f'failures="{sum(c[2] == "fail" for c in cs)}">\n')
                for _, name, status, msg, secs in cs:
                    res = "skipped" if status == "skip" else "completed"
                    f.write(f'    <testcase name={quoteattr(name)} classname={quoteattr(s)} '
                            f'status="run" result="{res}" time="{secs:.3f}">')
                    if status == "fail":
                        f.write(f'<failure message={quoteattr(msg[:200])}>{escape(msg)}'
                                '</failure>')
                    elif status == "skip":
                        f.write(f'<skipped message={quoteattr(msg)}/>')
                    f.write("</testcase>\n")
                f.write("  </testsuite>\n")
            f.write("</testsuites>\n")


# ---- compiling ---------------------------------------------------------------------------------

def install(build, dest):
    r = subprocess.run(["meson", "install", "-C", build, "--destdir", dest, "--no-rebuild",
                        "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        return None, "meson install failed:\n" + r.stdout
    pcs = glob.glob(os.path.join(dest, "**", "kio.pc"), recursive=True)
    if not pcs:
        return None, "kio.pc was not installed"
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pcs[0]),
               PKG_CONFIG_SYSROOT_DIR=dest)
    r = subprocess.run(["pkg-config", "--cflags", "--libs", "kio"], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        return None, "pkg-config --cflags --libs kio failed:\n" + r.stdout
    flags = r.stdout.split()
    incs = [f[2:] for f in flags if f.startswith("-I")]
    return (flags, incs), None


def what(need):
    """`di` -> kio/di/ (a module folder); `kio/http/metrics.hpp` -> that header."""
    return need if need.endswith(".hpp") else f"kio/{need}/"


def installed_need(incs, need):
    if need.endswith(".hpp"):
        return any(os.path.isfile(os.path.join(i, need)) for i in incs)
    return any(os.path.isdir(os.path.join(i, "kio", need)) for i in incs)


def compile_one(cxx, flags, sn, workdir):
    # The snippet is written to a file with the Markdown file's relative path, padded with empty
    # lines so its code sits on the lines it has in the Markdown file: the compiler's messages
    # then name that file and line, quote the right lines, and g++ treats the code as its main
    # file (with a #line directive instead, -Wsubobject-linkage fires on coroutine lambdas).
    base = f"{sn.suite}_{sn.line}"
    root = os.path.join(workdir, base)
    src = os.path.join(root, sn.rel)
    os.makedirs(os.path.dirname(src), exist_ok=True)
    with open(src, "w") as f:
        f.write("\n" * (sn.line - 1) + sn.code)
    cmd = [*cxx, "-std=c++20", "-Wall", "-Wextra", "-Werror", "-fdiagnostics-color=never",
           "-x", "c++", sn.rel, "-x", "none", "-o", os.path.join(workdir, base + ".out"), *flags]
    r = subprocess.run(cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, errors="replace")
    return r.returncode == 0, r.stdout, cmd


def check(sn, cxx, flags, incs, workdir):
    """Returns (status, message) for one snippet."""
    where = f"{sn.rel}:{sn.line}"
    if sn.problem:
        return "fail", sn.problem
    missing = [m for m in sn.needs if not installed_need(incs, m)]
    present = [m for m in sn.needs if m not in missing]
    if present:
        return "fail", (f"{where}: the snippet is marked `needs {', '.join(sn.needs)}` but "
                        f"{what(present[0])} is installed now: remove "
                        f"'{', '.join(present)}' from the <!-- snippet: needs ... --> marker on "
                        "the line before the block, so the snippet is compiled")
    if missing:
        return "skip", (f"{where}: needs {', '.join(what(m) for m in missing)}, which this kio "
                        "does not install yet (marker <!-- snippet: needs ... -->)")
    ok, out, cmd = compile_one(cxx, flags, sn, workdir)
    if ok:
        return "pass", ""
    return "fail", (f"{where}: this ```cpp block does not compile and link against the "
                    f"installed kio.\ncommand: {' '.join(cmd)}\n{out.strip()}")


def self_check(cxx, flags, incs, workdir, here):
    """A known-broken snippet must be reported as a failure naming its file and line."""
    fixture = os.path.join(here, SELF_CHECK_FILE)
    sns = extract(fixture, SELF_CHECK_FILE)
    if len(sns) != 1:
        return "fail", f"{fixture}: expected exactly one snippet, found {len(sns)}"
    status, msg = check(sns[0], cxx, flags, incs, workdir)
    want = f"{SELF_CHECK_FILE}:{sns[0].line + 2}"  # the broken statement's line
    if status != "fail":
        return "fail", f"the broken snippet in {fixture} was not reported as failing ({status})"
    if want not in msg:
        return "fail", f"the compiler's message does not name {want}:\n{msg}"
    return "pass", ""


def main(argv):
    if len(argv) >= 2 and argv[1] == "--list":
        for sn in find_snippets(argv[2]):
            tag = f" (needs {', '.join(sn.needs)})" if sn.needs else ""
            print(f"{sn.rel}:{sn.line}{tag}{'  PROBLEM: ' + sn.problem if sn.problem else ''}")
        return 0
    args, gt = parse_gtest_args(argv[1:])
    if len(args) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    build, src, cxx = args[0], args[1], args[2:]
    here = os.path.dirname(os.path.abspath(__file__))

    snippets = find_snippets(src)
    plan = [(sn.suite, sn.name, sn) for sn in snippets]
    plan.append(("self_check", "broken_snippet_is_reported", None))
    plan = [p for p in plan if selected(f"{p[0]}.{p[1]}", gt["filter"])]
    if gt["list"]:
        last = None
        for s, n, _ in plan:
            if s != last:
                print(f"{s}.")
                last = s
            print(f"  {n}")
        return 0
    if not any(sn.code for sn in snippets):
        msg = f"no ```cpp block with main() found in {', '.join(doc_files(src))}"
        print(msg)
        write_report(gt["output"], [("snippets", "found", "fail", msg, 0.0)])
        return 1

    cases = []
    with tempfile.TemporaryDirectory(prefix="kio-snippets-") as tmp:
        dest = os.path.join(tmp, "dest")
        installed, err = install(build, dest)

        def run(entry):
            suite, name, sn = entry
            t0 = time.time()
            if installed is None:
                status, msg = "fail", err
            elif sn is None:
                status, msg = self_check(cxx, *installed, tmp, here)
            else:
                status, msg = check(sn, cxx, *installed, tmp)
            return suite, name, status, msg, time.time() - t0

        # Two compilers at a time (KIO_SNIPPET_JOBS): the suite runs on small shared machines.
        jobs = max(1, int(os.environ.get("KIO_SNIPPET_JOBS", "2")))
        with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
            for (suite, name, sn), case in zip(plan, pool.map(run, plan)):
                status, msg, secs = case[2], case[3], case[4]
                label = f"{sn.rel}:{sn.line}" if sn else f"{suite}.{name}"
                print(f"[{status.upper():>4}] {label} ({secs:.1f}s)", flush=True)
                if msg:
                    print("       " + msg.replace("\n", "\n       "), flush=True)
                cases.append(case)
    write_report(gt["output"], cases)
    failed = sum(c[2] == "fail" for c in cases)
    print(f"{len(cases)} snippet cases: {sum(c[2] == 'pass' for c in cases)} passed, "
          f"{failed} failed, {sum(c[2] == 'skip' for c in cases)} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
