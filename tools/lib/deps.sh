# Shared by tools/*: make sure Debian packages are installed.
#   ensure_packages pkg...   installs the missing ones with apt-get when root; otherwise prints
#                            the exact apt-get line to run and exits 1.

# Packages every kio build needs.
KIO_BUILD_PACKAGES=(g++ meson ninja-build pkg-config python3 liburing-dev libfmt-dev
                    libgtest-dev libbenchmark-dev)

# The independent HTTP parser the differential tests compare kio's with (tests/http/differential*,
# tests/fuzz/differential_fuzz.cpp): needed by every tool that builds the tests.
# promtool (Debian: prometheus) checks the /metrics output (tests/http/metrics_test.cpp).
KIO_TEST_PACKAGES=(libhttp-parser-dev prometheus)

missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
  done
}

ensure_packages() {
  local missing
  missing=$(missing_packages "$@" | tr '\n' ' ')
  [ -z "${missing// /}" ] && return 0
  if [ "$(id -u)" -eq 0 ]; then
    echo "installing: $missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086
    if ! apt-get install -y -q --no-install-recommends $missing >/dev/null; then
      apt-get update -q >/dev/null
      # shellcheck disable=SC2086
      apt-get install -y -q --no-install-recommends $missing >/dev/null || {
        echo "error: apt-get install $missing failed" >&2; exit 1; }
    fi
  else
    echo "missing Debian packages; run:" >&2
    echo "  sudo apt-get install -y $missing" >&2
    exit 1
  fi
}
