#!/usr/bin/env bash
# Compiles user_code_warnings.cpp, a user program instantiating kio's public templates, with
# -Wall -Wextra -Wpedantic -Wshadow -Werror at -O2 and at -O3 (some warnings, such as
# -Wmaybe-uninitialized, only appear with optimisation): kio's headers must not warn in users'
# builds. Usage: check_warnings.sh SOURCE_ROOT USER_CODE_CPP CXX...
set -uo pipefail
root=$1 src=$2
shift 2
fail=0
for opt in -O2 -O3; do
  if out=$("$@" -std=c++20 "$opt" -Wall -Wextra -Wpedantic -Wshadow -Werror -I"$root" \
             -c "$src" -o /dev/null 2>&1); then
    echo "ok $opt: no warning"
  else
    echo "FAIL $opt: kio's headers warn (or the program does not compile) in user code:"
    echo "$out" | head -40
    fail=1
  fi
done
exit $fail
