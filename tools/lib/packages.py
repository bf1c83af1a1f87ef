"""tools/lib/packages.txt from Python: the Debian packages and meson options of each tool.

    import packages                       # with tools/lib on sys.path
    packages.packages("demo")             # ['g++', 'meson', ..., 'wrk', 'curl']
    packages.meson_options("demo")        # ['-Dtests=false', ...]
    packages.ensure("bench-http-plot")    # installs them (through tools/lib/deps.sh)

The format is described at the top of packages.txt; tools/lib/deps.sh reads the same file in bash
(tests/tools/packages_test.py checks that both read it alike).
"""
import subprocess
import sys
from pathlib import Path

LIB = Path(__file__).resolve().parent
FILE = LIB / "packages.txt"


def entries(path=FILE):
    """{name: [words as written]} in file order."""
    out = {}
    cur = None
    for n, raw in enumerate(Path(path).read_text().splitlines(), 1):
        line = raw.split("#", 1)[0]
        if not line.strip():
            continue
        if line[0].isspace():
            if cur is None:
                raise ValueError(f"{path}:{n}: an indented line before any entry")
            out[cur] += line.split()
            continue
        name, sep, rest = line.partition(":")
        if not sep:
            raise ValueError(f"{path}:{n}: expected 'NAME: WORD...'")
        cur = name.strip()
        out.setdefault(cur, []).extend(rest.split())
    return out


def words(name, table=None, path=FILE, _depth=0):
    """The words of entry `name`, @includes expanded, duplicates removed (first one kept)."""
    table = entries(path) if table is None else table
    if name not in table:
        raise KeyError(f"{path} has no entry '{name}'")
    if _depth > 16:
        raise ValueError(f"{path}: @includes nest too deep at '{name}' (a cycle?)")
    out = []
    for w in table[name]:
        for x in (words(w[1:], table, path, _depth + 1) if w.startswith("@") else [w]):
            if x not in out:
                out.append(x)
    return out


def packages(name, table=None, path=FILE):
    return [w for w in words(name, table, path) if not w.startswith("meson:")]


def meson_options(name, table=None, path=FILE):
    return [w[len("meson:"):] for w in words(name, table, path) if w.startswith("meson:")]


def ensure(*names, extra=()):
    """Installs the packages of the named entries (plus `extra`) that are missing: apt-get as root,
    otherwise prints the apt-get line and exits 1."""
    pkgs = [p for n in names for p in packages(n)] + list(extra)
    if not pkgs:
        return
    r = subprocess.run(["bash", "-c", 'source "$0" && ensure_packages "$@"', str(LIB / "deps.sh"),
                        *pkgs])
    if r.returncode != 0:
        sys.exit(r.returncode)
