#!/usr/bin/env python3
# Description: builds tests/consumer, a project outside kio, against the installed kio and with kio
# as a Meson subproject, and runs it.
"""Usage: check_consumer.py installed BUILD_DIR | subproject

installed BUILD_DIR   `meson install` BUILD_DIR into a scratch DESTDIR (every header of kio/ must
                      be installed), then build the consumer with nothing but its kio.pc, with
                      g++ -O3 and clang++-19 -O2, each with -Wall -Wextra -Werror, and run it.
subproject            this checkout as the consumer's subprojects/kio (forced fallback, so an
                      installed kio.pc cannot stand in for it); build with g++ and run.
Both write every_header.cpp first: one #include per public header of kio/ (not detail/), so a
header that is not self-contained, not installed or that warns in users' code fails here.
Exit status: 0 pass, 1 fail, 77 skip (a compiler is missing; the others still ran).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONSUMER = ROOT / "tests" / "consumer"
SKIP = 77
COMPILERS = ["g++", "clang++-19"]
LEVELS = ["2", "3"]


class Failure(Exception):
    pass


def run(cmd, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if r.returncode != 0:
        raise Failure(f"$ {' '.join(map(str, cmd))}\n{r.stdout[-6000:]}")
    return r.stdout


def headers(root, public_only):
    base = root / "kio"
    return sorted(str(p.relative_to(root)) for p in base.rglob("*.hpp")
                  if not (public_only and "detail" in p.relative_to(base).parts))


def write_project(dest):
    dest.mkdir(parents=True)
    for f in ("meson.build", "consumer.cpp"):
        shutil.copy(CONSUMER / f, dest / f)
    lines = ["// Written by check_consumer.py: every public header of kio, as a user includes it."]
    lines += [f"#include <{h}>" for h in headers(ROOT, public_only=True)]
    (dest / "every_header.cpp").write_text("\n".join(lines) + "\n")


def build_and_run(project, bdir, env, options, expect_flags):
    run(["meson", "setup", str(bdir), str(project), *options], env=env)
    cmds = json.loads((bdir / "compile_commands.json").read_text())
    for c in cmds:  # the flags the check is about really are on the command lines
        line = c.get("command", " ".join(c.get("arguments", [])))
        missing = [f for f in expect_flags if f not in line.split()]
        if missing:
            raise Failure(f"{c['file']} compiled without {missing}: {line}")
    run(["ninja", "-C", str(bdir)], env=env)
    out = run([str(bdir / "consumer")], env=env, timeout=60)
    if "consumer: ok" not in out:
        raise Failure(f"{bdir.name}: consumer printed {out!r}")


def installed(build_dir, scratch):
    dest = scratch / "dest"
    run(["meson", "install", "-C", str(build_dir), "--destdir", str(dest), "--no-rebuild",
         "--quiet"])
    pcs = list(dest.rglob("kio.pc"))
    if not pcs:
        raise Failure("kio.pc was not installed")
    incs = list(dest.rglob("include/kio/kio.hpp"))
    if not incs:
        raise Failure("kio/kio.hpp was not installed")
    inc_root = incs[0].parent.parent
    missing = [h for h in headers(ROOT, public_only=False) if not (inc_root / h).exists()]
    if missing:
        raise Failure("headers not installed (add them to kio_headers in their module's "
                      "meson.build): " + ", ".join(missing))
    project = scratch / "consumer"
    write_project(project)
    env = dict(os.environ, PKG_CONFIG_PATH=str(pcs[0].parent), PKG_CONFIG_SYSROOT_DIR=str(dest))
    skipped = []
    for cxx in COMPILERS:
        if not shutil.which(cxx):
            skipped.append(cxx)
            continue
        # One optimisation level per compiler (g++ -O3, clang -O2) keeps CI short; every level
        # with each compiler is tests/install/header_warnings' job.
        for level in LEVELS[1:] if cxx == "g++" else LEVELS[:1]:
            bdir = scratch / f"build-{cxx}-O{level}"
            build_and_run(project, bdir, dict(env, CXX=cxx),
                          ["--wrap-mode=nofallback", "-Dbuildtype=release",
                           f"-Doptimization={level}"],
                          ["-Wall", "-Wextra", "-Werror", f"-O{level}"])
            print(f"ok installed kio, {cxx} -O{level} -Wall -Wextra -Werror", flush=True)
    return skipped


def subproject(scratch):
    project = scratch / "consumer"
    write_project(project)
    (project / "subprojects").mkdir()
    (project / "subprojects" / "kio").symlink_to(ROOT, target_is_directory=True)
    bdir = scratch / "build-subproject"
    # Without debug info: this checks the wiring (the fallback, the headers, linking), not code
    # generation, and -g doubles the time of building kio's library here.
    build_and_run(project, bdir, dict(os.environ, CXX="g++"),
                  ["--wrap-mode=forcefallback", "-Ddebug=false"], ["-Wall", "-Wextra", "-Werror"])
    info = json.loads(run(["meson", "introspect", "--projectinfo", str(bdir)]))
    if not any(s.get("name") == "kio" for s in info.get("subprojects", [])):
        raise Failure(f"kio was not built as a subproject: {info}")
    print("ok kio as a subproject (dependency('kio', fallback: 'kio')), g++", flush=True)
    return []


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("installed", "subproject") or \
            (sys.argv[1] == "installed") != (len(sys.argv) == 3):
        print(__doc__)
        return 2
    with tempfile.TemporaryDirectory(prefix="kio-consumer-") as tmp:
        try:
            if sys.argv[1] == "installed":
                skipped = installed(Path(sys.argv[2]).resolve(), Path(tmp))
            else:
                skipped = subproject(Path(tmp))
        except (Failure, subprocess.TimeoutExpired) as e:
            print(f"FAIL {sys.argv[1]}: {e}")
            return 1
    if skipped:
        print(f"SKIP {', '.join(skipped)}: not installed (tools/test installs it)")
        return SKIP
    return 0


if __name__ == "__main__":
    sys.exit(main())
