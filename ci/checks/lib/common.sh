# Sourced by ci/checks/NN-*.sh (it lives in a subfolder so ci/test does not run it as a check):
# the set-up steps the checks share. Each check still installs what it needs and runs on its own.

# need_debs <check> <package...>: installs the Debian packages that are not installed yet.
need_debs() {
  local check=$1
  shift
  local need=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
  done
  [ ${#need[@]} -eq 0 ] && return 0
  echo "$check: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends "${need[@]}" \
    || { apt-get update -q && apt-get install -y -q --no-install-recommends "${need[@]}"; }
}

# web_client [--rebuild]: playwright-core for the browser tests and the built client in web/dist
# (built when missing, or always with --rebuild).
web_client() {
  if [ ! -d web/node_modules/playwright-core ]; then (cd web && npm ci --no-audit --no-fund); fi
  if [ "${1:-}" = "--rebuild" ] || [ ! -s web/dist/index.html ]; then
    (cd web && npm run --silent build)
  fi
}

# host_binary: builds the host unless SELKIES_HOST_BIN names one, and exports SELKIES_HOST_BIN.
host_binary() {
  if [ -z "${SELKIES_HOST_BIN:-}" ]; then
    cargo build -j"${CARGO_BUILD_JOBS:-2}" --locked -p selkies-host --bin selkies-gstreamer
    export SELKIES_HOST_BIN="$PWD/target/debug/selkies-gstreamer"
  fi
}

# portable_so_checks <so> <symbol...>: the LD_PRELOAD library needs no glibc newer than 2.17
# (the portable tarball's floor) and exports every hook named.
portable_so_checks() {
  local so=$1 max syms sym
  shift
  file -L "$so" | sed 's/^/    /'
  echo "--- check: highest GLIBC_ symbol version <= 2.17"
  syms=$(objdump -T "$so")
  max=$(grep -o 'GLIBC_[0-9][0-9.]*' <<< "$syms" | sed 's/GLIBC_//' | sort -V | tail -1)
  echo "    highest: GLIBC_$max"
  if [ "$(printf '%s\n2.17\n' "$max" | sort -V | tail -1)" != "2.17" ]; then
    echo "FAIL: $so needs GLIBC_$max"; return 1
  fi
  for sym in "$@"; do
    grep -qE "\.text.* $sym\$" <<< "$syms" || { echo "FAIL: $so does not export $sym"; return 1; }
  done
  echo "    exports every hook"
}
