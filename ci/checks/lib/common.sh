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
