#!/usr/bin/env bash
# Compiles handler_signature_cases.cpp once per case: case 0 must compile; every other case must
# fail with exactly one error, kio's static_assert naming the broken rule.
# Usage: handler_signature_check.sh SOURCE_ROOT CASES_CPP CXX...
set -uo pipefail
root=$1 src=$2
shift 2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
fail=0
compile() { "$@" -std=c++20 -fsyntax-only -I"$root" "$src" >"$out" 2>&1; }

if ! compile "$@" -DKIO_CASE=0; then
  echo "FAIL case 0: the right signatures do not compile:"; cat "$out"; fail=1
fi
declare -A want=(
  [1]='must return kio::http::Response (synchronous) or kio::Task<kio::http::Response>'
  [2]='must be callable with kio::http::Request&'
  [3]='must be callable with kio::http::Request&'
  [4]='must return kio::http::Response (synchronous) or kio::Task<kio::http::Response>'
  [5]='must be copy-constructible'
)
for c in 1 2 3 4 5; do
  if compile "$@" -DKIO_CASE="$c"; then
    echo "FAIL case $c: compiled, but the handler signature is wrong"; fail=1; continue
  fi
  if ! grep -qF "kio::http handler: ${want[$c]}" "$out"; then
    echo "FAIL case $c: no readable message ('${want[$c]}'); the compiler said:"
    head -20 "$out"; fail=1; continue
  fi
  errors=$(grep -c 'error:' "$out")
  if [ "$errors" -ne 1 ]; then
    echo "FAIL case $c: $errors errors instead of the one static_assert:"; grep 'error:' "$out"; fail=1
    continue
  fi
  echo "ok case $c: $(grep -m1 -o 'kio::http handler: [^;]*' "$out")"
done
exit $fail
