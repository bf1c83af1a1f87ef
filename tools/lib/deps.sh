# Shared by tools/*: install the Debian packages a tool needs, as listed in tools/lib/packages.txt.
#   ensure_tool_packages NAME [pkg...]   installs the packages of entry NAME (and any extra ones)
#   ensure_packages pkg...               installs the missing ones of these packages
#   tool_packages NAME                   prints the packages of entry NAME, one per line
#   tool_meson_options NAME              prints its meson options (meson:... words), one per line
# Installing uses apt-get when run as root; otherwise it prints the exact apt-get line to run and
# exits 1. Pure bash: it runs before python3 is installed on a new machine.

KIO_PACKAGES_FILE=${KIO_PACKAGES_FILE:-$(dirname "${BASH_SOURCE[0]}")/packages.txt}

# The words of entry NAME with @includes expanded, one per line.
tool_words() {
  local name=$1 depth=${2:-0} line cur="" found=0 w
  local -a words=()
  if [ "$depth" -gt 16 ]; then
    echo "error: $KIO_PACKAGES_FILE: @includes nest too deep at '$name' (a cycle?)" >&2
    return 1
  fi
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%%#*}
    [ -z "${line//[[:space:]]/}" ] && continue
    if [[ $line =~ ^[[:space:]] ]]; then
      [ "$cur" = "$name" ] && read -ra w <<<"$line" && words+=("${w[@]}")
      continue
    fi
    cur=${line%%:*}
    if [ "$cur" = "$name" ]; then
      found=1
      read -ra w <<<"${line#*:}"
      words+=("${w[@]}")
    fi
  done <"$KIO_PACKAGES_FILE"
  if [ "$found" -eq 0 ]; then
    echo "error: $KIO_PACKAGES_FILE has no entry '$name'" >&2
    return 1
  fi
  for w in "${words[@]}"; do
    if [ "${w#@}" != "$w" ]; then
      tool_words "${w#@}" $((depth + 1)) || return 1
    else
      echo "$w"
    fi
  done
}

tool_packages() {
  local words
  words=$(tool_words "$1") || return 1
  grep -v '^meson:' <<<"$words" | awk '!seen[$0]++'
}

tool_meson_options() {
  local words
  words=$(tool_words "$1") || return 1
  grep '^meson:' <<<"$words" | sed 's/^meson://' | awk '!seen[$0]++'
}

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

ensure_tool_packages() {
  local name=$1 pkgs
  shift
  pkgs=$(tool_packages "$name") || exit 1
  # shellcheck disable=SC2086
  ensure_packages $pkgs "$@"
}
