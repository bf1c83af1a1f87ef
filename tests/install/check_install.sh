#!/usr/bin/env bash
# Installs the build into a scratch DESTDIR, then compiles outside.cpp with nothing but
# `pkg-config --cflags --libs kio` and runs it.
# Usage: check_install.sh BUILD_DIR SOURCE CXX...
set -euo pipefail
build=$1 src=$2
shift 2
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$build" --destdir "$dest" --no-rebuild --quiet
pc=$(find "$dest" -name kio.pc -print -quit)
[ -n "$pc" ] || { echo "kio.pc was not installed" >&2; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$dest
# shellcheck disable=SC2046
"$@" -std=c++20 -Wall -Wextra -Werror "$src" -o "$dest/outside" $(pkg-config --cflags --libs kio)
"$dest/outside"
