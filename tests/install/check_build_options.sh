#!/usr/bin/env bash
# The build options do what README says: -Dtests=false needs neither GoogleTest nor Google
# Benchmark (benchmarks=auto follows tests), -Dtests=false -Ddemos=false configures the library
# alone, -Dbenchmarks=true builds benchmarks without tests. Configures scratch build directories
# (no compilation) and inspects their targets and dependencies.
# Usage: check_build_options.sh SOURCE_ROOT
set -uo pipefail
root=$1
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
fail=0

configure() {  # name, options...
  local dir=$scratch/$1
  shift
  if ! meson setup "$dir" "$root" "$@" >"$dir.log" 2>&1; then
    echo "FAIL meson setup $*:"; tail -20 "$dir.log"; fail=1; return 1
  fi
}
targets() { meson introspect --targets "$scratch/$1" | python3 -c '
import json, sys
for t in json.load(sys.stdin):
    print(t["subproject"] or "", t["defined_in"].split(sys.argv[1])[-1], t["name"])' "$root"; }
deps() { meson introspect --dependencies "$scratch/$1" | python3 -c '
import json, sys
print(" ".join(sorted(d["name"] for d in json.load(sys.stdin))))'; }
check() {  # description, condition...
  local what=$1
  shift
  if "$@"; then echo "ok $what"; else echo "FAIL $what"; fail=1; fi
}
# (The listings are captured first: grep -q in a pipe would stop reading early, and with
# pipefail the writer's broken pipe would count as a failure.)
has() { local t; t=$(targets "$1") && grep -q -- "$2" <<<"$t"; }
lacks() { local t; t=$(targets "$1") && ! grep -q -- "$2" <<<"$t"; }
dep_lacks() { local d; d=$(deps "$1") && ! grep -qw -- "$2" <<<"$d"; }

if configure no_tests -Dtests=false; then
  check "-Dtests=false builds no test" lacks no_tests /tests/
  check "-Dtests=false builds no benchmark (benchmarks=auto follows tests)" lacks no_tests /benchmarks/
  check "-Dtests=false needs no GoogleTest" dep_lacks no_tests gtest
  check "-Dtests=false needs no Google Benchmark" dep_lacks no_tests benchmark
  check "-Dtests=false still builds the demos" has no_tests /demo/
fi
if configure library -Dtests=false -Ddemos=false; then
  check "library only: just libkio" test "$(targets library | awk '{print $NF}' | sort -u)" = kio
  check "library only: liburing, fmt and threads" test "$(deps library)" = "fmt liburing threads"
fi
if configure bench -Dtests=false -Dbenchmarks=true -Ddemos=false; then
  check "-Dbenchmarks=true builds benchmarks without tests" has bench /benchmarks/
  check "-Dbenchmarks=true builds no test" lacks bench /tests/
fi
if configure no_bench -Dbenchmarks=false -Ddemos=false; then
  check "-Dbenchmarks=false with tests: no benchmark" lacks no_bench /benchmarks/
  check "-Dbenchmarks=false with tests: the tests" has no_bench /tests/
fi
exit $fail
