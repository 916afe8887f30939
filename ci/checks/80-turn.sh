#!/usr/bin/env bash
# End to end through a real TURN server: Debian's coturn on 127.0.0.1:3478, the host with
# shared-secret, static, --rtc_config_json and --turn_rest_uri (selkies-turn-rest) TURN settings,
# and Debian's Chromium forced to relay-only ICE, all in a loopback-only network namespace. Needs root (unshare -n), the apt
# packages of ci/install-deps (coturn is installed here if missing) and `npm ci` in web/.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! dpkg-query -W -f='${Status}' coturn 2>/dev/null | grep -q "install ok installed"; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends coturn || { apt-get update -q && apt-get install -y -q --no-install-recommends coturn; }
fi

if [ ! -d web/node_modules/playwright-core ]; then (cd web && npm ci --no-audit --no-fund); fi
[ -s web/dist/index.html ] || (cd web && npm run --silent build)
if [ -z "${SELKIES_HOST_BIN:-}" ]; then
  cargo build -j"${CARGO_BUILD_JOBS:-2}" --locked -p selkies-host --bin selkies-gstreamer
  export SELKIES_HOST_BIN="$PWD/target/debug/selkies-gstreamer"
fi
if [ -z "${SELKIES_TURN_REST_BIN:-}" ]; then
  cargo build -j"${CARGO_BUILD_JOBS:-2}" --locked -p selkies-turn-rest --bin selkies-turn-rest
  export SELKIES_TURN_REST_BIN="$PWD/target/debug/selkies-turn-rest"
fi

exec unshare --net -- bash -c 'ip link set lo up && exec node --test --test-concurrency=1 --test-reporter=spec ci/e2e/turn.test.mjs'
