"""Shared by tools/bench-http and tools/bench-micro: packages, builds, machine description."""
import datetime
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "lib"))
import packages  # noqa: E402  (tools/lib/packages.txt: Debian packages and meson options per tool)
RESULTS = ROOT / "benchmarks" / "results"
TOKIO_DIR = ROOT / "benchmarks" / "rust" / "tcp"
HYPER_DIR = ROOT / "benchmarks" / "rust" / "hyper"


def log(msg=""):
    print(msg, flush=True)


def die(msg):
    print(f"error: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def build_root():
    return Path(os.environ.get("KIO_BUILD_ROOT", ROOT / "build"))


def ensure_packages(*entries, extra=()):
    """Installs the missing Debian packages of these tools/lib/packages.txt entries (and `extra`)
    through tools/lib/deps.sh (apt-get as root, otherwise prints the apt-get line and exits)."""
    packages.ensure(*entries, extra=extra)


def build_kio_release(targets=()):
    """Configures (once) and builds kio with -Dbuildtype=release in <build root>/release.
    Tests are not built. Returns the build directory."""
    bdir = build_root() / "release"
    env = dict(os.environ)
    env.setdefault("CXX", "g++")
    opts = ["-Dbuildtype=release", *packages.meson_options("release")]
    if not (bdir / "build.ninja").exists():
        r = subprocess.run(["meson", "setup", str(bdir), *opts], cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            log(r.stdout[-4000:])
            die(f"meson setup {bdir} failed")
    log(f"building kio (release) in {bdir} ...")
    r = subprocess.run(["ninja", "-C", str(bdir), *targets], cwd=ROOT, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        log(r.stdout[-6000:])
        die(f"building kio in {bdir} failed")
    return bdir


def build_cargo(crate_dir, target_name, binary):
    """Builds a Rust baseline offline from Debian's crates into <build root>/<target_name>;
    returns the binary's path."""
    cargo = shutil.which("cargo")
    if cargo is None:
        die("cargo not found (tools/bench-http installs Debian's 'cargo' package when run as root)")
    target = build_root() / target_name
    # Cargo.lock is not checked in: it is resolved offline against the local Debian registry, and
    # a lock file written by another cargo version may be unreadable.
    (crate_dir / "Cargo.lock").unlink(missing_ok=True)
    env = dict(os.environ, CARGO_TARGET_DIR=str(target))
    log(f"building {crate_dir.relative_to(ROOT)} ({cargo}) in {target} ...")
    # cwd matters: cargo finds <crate>/.cargo/config.toml (the offline source) from it.
    r = subprocess.run([cargo, "build", "--release", "--offline", "--quiet"], cwd=crate_dir,
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        log(r.stdout[-4000:])
        die(f"cargo build of {crate_dir.relative_to(ROOT)} failed (are its Debian crates "
            f"installed: librust-tokio-dev, librust-hyper-dev?)")
    return target / "release" / binary


def build_tokio():
    """Builds the Tokio baseline offline from Debian's crates; returns the binary's path."""
    return build_cargo(TOKIO_DIR, "tokio", "tokio_server")


def _first_line(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (r.stdout or r.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return None


def machine_info():
    cpu = None
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    os_name = None
    try:
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    mem_kib = None
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    virt = None
    try:
        virt = "hypervisor" if " hypervisor" in open("/proc/cpuinfo").read() else "bare metal"
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cpus_online": os.cpu_count(),
        "cpus_allowed": len(os.sched_getaffinity(0)),
        "memory_gib": round(mem_kib / 1048576, 1) if mem_kib else None,
        "kernel": platform.release(),
        "os": os_name,
        "virtualisation": virt,
        "loadavg_at_start": os.getloadavg()[0],
    }


def git_revision():
    rev = _first_line(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return f"{rev}{'+dirty' if dirty else ''}" if rev else None


def tool_versions(extra=()):
    v = {
        "kio": git_revision(),
        "cxx": _first_line([os.environ.get("CXX", "g++"), "--version"]),
    }
    for name, cmd in extra:
        v[name] = _first_line(cmd)
    return v


def today():
    return datetime.date.today().isoformat()


def now_iso():
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


# ---- processes under test ------------------------------------------------------------------


def raise_nofile():
    """Raises the soft open-files limit to the hard one (use as preexec_fn for servers/clients)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_ticks(pid):
    """(utime, stime) of a process, in clock ticks (all its threads, live and exited)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)


def wait_listening(port, proc, timeout=10.0):
    """Waits until 127.0.0.1:port accepts a connection; RuntimeError if `proc` exits first or
    the timeout passes."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not accept connections on port {port} "
                                   f"within {timeout:g} s")
            time.sleep(0.05)
