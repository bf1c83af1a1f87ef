#!/usr/bin/env bash
# tools/lib/fresh_box.sh — run a command on a "fresh Debian box": a minimal Debian bookworm
# (debootstrap --variant=minbase) with this checkout copied in, so a tool can be tried the way a
# new user first runs it, without touching the packages installed on this machine.
#
#   tools/lib/fresh_box.sh tools/demo --duration 2
#   tools/lib/fresh_box.sh bash -c 'tools/test --only gcc --filter packages'
#
# Needs root (chroot, mounts). The minimal system is made once and cached in
# ${KIO_FRESH_BOX_CACHE:-/var/tmp/kio-fresh-box}/base; every run starts from it unchanged (an
# overlay mount whose writable layer is deleted afterwards). The checkout (tracked and untracked,
# not ignored, files of the working tree) is copied to /src/kio inside; the command runs there.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
source "$repo/tools/lib/deps.sh"

[ "$(id -u)" -eq 0 ] || { echo "fresh_box.sh: needs root (chroot and mounts)" >&2; exit 1; }
[ $# -gt 0 ] || { sed -n '2,12p' "$0" >&2; exit 2; }
ensure_tool_packages fresh-box

cache=${KIO_FRESH_BOX_CACHE:-/var/tmp/kio-fresh-box}
mirror=${KIO_FRESH_BOX_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$cache"
if [ ! -e "$cache/base/.complete" ]; then
  rm -rf "$cache/base"
  echo "fresh_box: creating a minimal Debian bookworm in $cache/base (once)" >&2
  debootstrap --variant=minbase bookworm "$cache/base" "$mirror" >"$cache/debootstrap.log" 2>&1 || {
    echo "fresh_box: debootstrap failed; see $cache/debootstrap.log" >&2; exit 1; }
  touch "$cache/base/.complete"
fi

run=$(mktemp -d "$cache/run.XXXXXX")
root=$run/root
mkdir -p "$run/upper" "$run/work" "$root"
cleanup() {
  for m in "$root/dev/pts" "$root/dev" "$root/proc" "$root"; do
    mountpoint -q "$m" && umount -l "$m"
  done
  rm -rf "$run"
}
trap cleanup EXIT
mount -t overlay overlay -o "lowerdir=$cache/base,upperdir=$run/upper,workdir=$run/work" "$root"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
cp /etc/resolv.conf "$root/etc/resolv.conf"

mkdir -p "$root/src/kio"
(cd "$repo" && git ls-files -z -co --exclude-standard | tar --null -T - -cf -) | tar -C "$root/src/kio" -xf -

# A clean environment, as a login on the new machine would have it.
chroot "$root" /usr/bin/env -i HOME=/root TERM="${TERM:-dumb}" LANG=C.UTF-8 \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  /bin/bash -c 'cd /src/kio && exec "$@"' fresh_box "$@"
