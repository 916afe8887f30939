#!/usr/bin/env bash
# End to end through a real TURN server: Debian's coturn on 127.0.0.1:3478, the host with
# shared-secret, static, --rtc_config_json and --turn_rest_uri (selkies-turn-rest) TURN settings,
# and Debian's Chromium forced to relay-only ICE, all in a loopback-only network namespace. Needs root (unshare -n), the apt
# packages of ci/install-deps (coturn is installed here if missing) and `npm ci` in web/.
set -euo pipefail
cd "$(dirname "$0")/../.."

. ci/checks/lib/common.sh
need_debs 80-turn coturn

web_client
host_binary
if [ -z "${SELKIES_TURN_REST_BIN:-}" ]; then
  cargo build -j"${CARGO_BUILD_JOBS:-2}" --locked -p selkies-turn-rest --bin selkies-turn-rest
  export SELKIES_TURN_REST_BIN="$PWD/target/debug/selkies-turn-rest"
fi

exec unshare --net -- bash -c 'ip link set lo up && exec node --test --test-concurrency=1 --test-reporter=spec ci/e2e/turn.test.mjs'
