#!/usr/bin/env python3
# Description: every meson dependency() and find_program() comes from a Debian package that the
# tools configuring its directory install (tools/lib/packages.txt), so they work on a new machine.
"""Usage: packages_test.py [--packages FILE] [--self-test]

For each tool (an entry of tools/lib/packages.txt named after a script in tools/):
  1. configure a scratch build with the tool's meson options and ask meson which meson.build files
     that reads (an outside project nested in a directory, such as tests/consumer, belongs to the
     tools that read the nearest meson.build above it);
  2. collect the dependency('NAME') and find_program('NAME') calls in those files;
  3. find the Debian package that provides each: its NAME.pc or CMake config file (dpkg -S), or
     the program on PATH; `threads` and the like come with the compiler; dependencies this project
     declares itself (meson.override_dependency) and programs in the source tree need nothing;
  4. fail, naming the file, the package and the tool, when that package is neither in the tool's
     list nor installed along with one (a Depends of a listed package, followed recursively, or the
     base system every Debian has).
Also checks that every script in tools/ installs its list (calls `ensure_tool_packages NAME`) and
that tools/lib/deps.sh (bash) and tools/lib/packages.py read the file alike.

--self-test: runs the check with nlohmann-json3-dev taken out of every list and requires it to
fail naming that package and tools/demo (demo/pong.cpp needs nlohmann_json): the check can fail.
Exit status: 0 pass, 1 fail, 77 skip (no dpkg: not a Debian machine).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "lib"))
import packages  # noqa: E402

SKIP = 77
# Dependencies meson resolves without a package of their own (the compiler and libc provide them).
BUILTIN = {"threads", "dl", "rt", "openmp", "atomic"}
SYSTEM_BIN = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]
PRUNE = {".git", "subprojects", "__pycache__", "node_modules", "target"}


def meson_calls(text):
    """[(kind, name, line)] for dependency('NAME'...) and find_program('NAME'...) calls with a
    literal first name; comments are skipped."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        code, quote = [], False
        for ch in line:  # cut a '#' comment that is not inside a string
            if ch == "'":
                quote = not quote
            if ch == "#" and not quote:
                break
            code.append(ch)
        for m in re.finditer(r"\b(dependency|find_program)\(\s*'([^']+)'", "".join(code)):
            out.append((m.group(1), m.group(2), n))
    return out


def own_dependencies(files):
    """Names the project declares itself: meson.override_dependency('NAME', ...)."""
    names = set()
    for f in files:
        names |= set(re.findall(r"override_dependency\(\s*'([^']+)'", Path(f).read_text()))
    return names


def all_meson_files(root):
    out = []
    for d, dirs, files in os.walk(root):
        rel = Path(d).relative_to(root)
        dirs[:] = [x for x in dirs if x not in PRUNE and not x.startswith(".") and
                   not (rel == Path(".") and x.startswith("build"))]
        if "meson.build" in files:
            out.append(Path(d) / "meson.build")
    return sorted(out)


def configured_files(root, options, scratch):
    """The meson.build files a build configured with `options` reads."""
    bdir = Path(tempfile.mkdtemp(prefix="setup-", dir=scratch))
    r = subprocess.run(["meson", "setup", str(bdir), str(root), "--wrap-mode=nodownload", *options],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"meson setup {' '.join(options)} failed on this machine:\n"
                           + r.stdout[-3000:])
    out = subprocess.run(["meson", "introspect", "--buildsystem-files", str(bdir)],
                         capture_output=True, text=True, check=True).stdout
    return {Path(f).resolve() for f in json.loads(out) if f.endswith("meson.build")}


def dpkg_owners(patterns):
    """Installed packages owning a file that matches one of these dpkg -S patterns."""
    r = subprocess.run(["dpkg", "-S", *patterns], capture_output=True, text=True)
    owners = set()
    for line in r.stdout.splitlines():
        pkgs, _, _ = line.partition(": ")
        if "diversion" in line:
            continue
        owners |= {p.strip().split(":")[0] for p in pkgs.split(",")}
    return owners


def providers(kind, name, meson_file):
    """(packages, how) providing a dependency or program; packages empty = nothing needed;
    None = unknown."""
    if kind == "dependency":
        if name in BUILTIN:
            return set(), "built in"
        found = dpkg_owners([f"*/pkgconfig/{name}.pc"])
        if found:
            return found, f"{name}.pc"
        found = dpkg_owners([f"*/{name}Config.cmake", f"*/{name}-config.cmake",
                             f"*/{name.lower()}-config.cmake"])
        if found:
            return found, f"CMake config of {name}"
        return None, f"no installed package ships {name}.pc or a CMake config for {name}"
    if (meson_file.parent / name).exists():
        return set(), "in the source tree"
    # Where Debian installs programs (this machine's PATH may put other copies first).
    paths = [f"{d}/{name}" for d in SYSTEM_BIN if os.path.exists(f"{d}/{name}")]
    if not paths:
        return None, f"program {name} is not installed from a Debian package on this machine"
    found = dpkg_owners(sorted(set(paths) | {os.path.realpath(p) for p in paths}))
    return (found, paths[0]) if found else (None, f"no Debian package owns {paths[0]}")


def installed_packages():
    """{name: (essential_or_required, [[alternatives] per Depends/Pre-Depends entry], provides)}"""
    fmt = "${Package}\\t${db:Status-Abbrev}\\t${Essential}\\t${Priority}\\t${Provides}\\t" \
          "${Pre-Depends}\\t${Depends}\\n"
    out = subprocess.run(["dpkg-query", "-W", "-f", fmt], capture_output=True, text=True,
                         check=True).stdout
    db = {}

    def names(field):
        groups = []
        for group in filter(None, (g.strip() for g in field.split(","))):
            alts = [re.sub(r"\s*\(.*?\)|\s*\[.*?\]", "", a).strip().split(":")[0]
                    for a in group.split("|")]
            groups.append([a for a in alts if a])
        return groups

    for line in out.splitlines():
        f = line.split("\t")
        if len(f) < 7 or not f[1].startswith("ii"):
            continue
        base = f[2] == "yes" or f[3] == "required"
        deps = names(f[5]) + names(f[6])
        provides = [g[0] for g in names(f[4])]
        db[f[0]] = (base, deps, provides)
    return db


def closure(listed, db):
    """Packages a new machine has after installing `listed` (apt-get --no-install-recommends):
    the base system plus the Depends of each, recursively."""
    provided_by = {}
    for p, (_, _, provides) in db.items():
        for v in provides:
            provided_by.setdefault(v, []).append(p)
    todo = [p for p, (base, _, _) in db.items() if base] + list(listed)
    seen = set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        if p not in db:
            todo += provided_by.get(p, [])  # a virtual package: its installed providers
            continue
        for alts in db[p][1]:
            # apt takes the first alternative; if this machine lacks it, the first one it has.
            pick = next((a for a in alts if a in db or a in provided_by), None)
            if pick:
                todo.append(pick)
    return seen


def check(root, pkg_file, scratch, checked):
    """Returns a list of problems (empty: pass); appends what it checked to `checked`."""
    table = packages.entries(pkg_file)
    tools_dir = root / "tools"
    scripts = sorted(p.name for p in tools_dir.iterdir() if p.is_file() and os.access(p, os.X_OK))
    problems = []
    for s in scripts:
        text = (tools_dir / s).read_text(errors="replace")
        if s not in table:
            problems.append(f"tools/{s} has no entry in {pkg_file.name}: add '{s}: ...' with the "
                            f"Debian packages it needs")
        elif not re.search(rf"^\s*ensure_tool_packages\s+{re.escape(s)}\b", text, re.M):
            problems.append(f"tools/{s} does not install its list: call `ensure_tool_packages {s}`"
                            f" (tools/lib/deps.sh) before anything else needs a package")
    tools = [s for s in scripts if s in table]

    # deps.sh and packages.py must read the file alike.
    for name in table:
        r = subprocess.run(["bash", "-c", 'source "$0"; tool_packages "$1"; echo ---; '
                            'tool_meson_options "$1"', str(root / "tools/lib/deps.sh"), name],
                           capture_output=True, text=True, env=dict(os.environ,
                                                                    KIO_PACKAGES_FILE=str(pkg_file)))
        sh_pkgs, _, sh_opts = r.stdout.partition("---\n")
        if (r.returncode != 0 or sh_pkgs.split() != packages.packages(name, table) or
                sh_opts.split() != packages.meson_options(name, table)):
            problems.append(f"entry '{name}': tools/lib/deps.sh reads {sh_pkgs.split()} "
                            f"{sh_opts.split()} but packages.py reads "
                            f"{packages.packages(name, table)} {packages.meson_options(name, table)}"
                            f" {r.stderr.strip()}")

    every = all_meson_files(root)
    own = own_dependencies(every) | {"kio"}
    db = installed_packages()
    reads = {}  # option tuple -> configured files
    owners = {}  # meson file -> tools
    for t in tools:
        opts = tuple(packages.meson_options(t, table))
        if opts not in reads:
            reads[opts] = configured_files(root, list(opts), scratch)
        for f in reads[opts]:
            owners.setdefault(f, set()).add(t)
    for f in every:  # an outside project nested in a directory: the tools reading that directory
        f = f.resolve()
        if f in owners:
            continue
        for parent in f.parents[1:]:
            if parent / "meson.build" in owners:
                owners[f] = owners[parent / "meson.build"]
                break
            if parent == root:
                break

    closures = {t: closure(packages.packages(t, table), db) for t in tools}
    for f in sorted(owners):
        rel = f.relative_to(root)
        for kind, name, line in meson_calls(f.read_text()):
            if kind == "dependency" and name in own:
                continue
            pkgs, how = providers(kind, name, f)
            if pkgs is None:
                problems.append(f"{rel}:{line}: {kind}('{name}'): {how}; install the Debian "
                                f"package that provides it and add it to the lists of "
                                f"{', '.join('tools/' + t for t in sorted(owners[f]))} in "
                                f"tools/lib/packages.txt (or, if meson provides it itself, to "
                                f"BUILTIN in {Path(__file__).name})")
                continue
            tools_here = ", ".join(sorted(owners[f]))
            checked.append(f"{rel}:{line}: {kind}('{name}') <- "
                           f"{' or '.join(sorted(pkgs)) or how} [{tools_here}]")
            if not pkgs:
                continue
            for t in sorted(owners[f]):
                if not pkgs & closures[t]:
                    problems.append(f"{rel}:{line}: {kind}('{name}') comes from Debian package "
                                    f"{' or '.join(sorted(pkgs))} ({how}), which tools/{t} does "
                                    f"not install: add it to the '{t}' entry (or a group it "
                                    f"includes) in tools/lib/packages.txt")
    return problems


def main():
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument("--packages", type=Path, default=packages.FILE)
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    if not shutil.which("dpkg") or not shutil.which("dpkg-query"):
        print("SKIP: dpkg not found; this check needs a Debian system")
        return SKIP
    checked = []
    with tempfile.TemporaryDirectory(prefix="kio-packages-test-") as scratch:
        pkg_file = args.packages
        if args.self_test:
            pkg_file = Path(scratch) / "packages.txt"
            pkg_file.write_text(re.sub(r"(?<=\s)nlohmann-json3-dev(?=\s)", "",
                                       args.packages.read_text()))
        try:
            problems = check(ROOT, pkg_file.resolve(), scratch, checked)
        except RuntimeError as e:
            print(f"FAIL: {e}")
            return 1
    if args.self_test:
        hit = [p for p in problems if "nlohmann-json3-dev" in p and "tools/demo " in p
               and "demo/meson.build" in p]
        if not hit:
            print("FAIL: with nlohmann-json3-dev taken out of the lists the check did not name it "
                  "for tools/demo; it reported:\n  " + "\n  ".join(problems or ["nothing"]))
            return 1
        print("ok: the check fails as it should:\n  " + "\n  ".join(hit))
        return 0
    print("checked (file: call <- Debian package [tools]):\n  " + "\n  ".join(checked))
    for p in problems:
        print("FAIL: " + p)
    if problems:
        return 1
    print("ok: every meson dependency and program is installed by the tools that need it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
