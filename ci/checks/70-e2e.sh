#!/usr/bin/env bash
# End to end: the real host streaming an Xvfb screen and a PulseAudio null sink to Debian's
# Chromium (playwright-core), all inside a loopback-only network namespace so nothing leaves
# the machine. Needs root (unshare -n), the apt packages of ci/install-deps and `npm ci` in web/.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -d web/node_modules/playwright-core ]; then (cd web && npm ci --no-audit --no-fund); fi
[ -s web/dist/index.html ] || (cd web && npm run --silent build)
if [ -z "${SELKIES_HOST_BIN:-}" ]; then
  cargo build -j"${CARGO_BUILD_JOBS:-2}" --locked -p selkies-host --bin selkies-gstreamer
  export SELKIES_HOST_BIN="$PWD/target/debug/selkies-gstreamer"
fi

node --test ci/e2e/xev.unit.test.mjs ci/e2e/sdp.unit.test.mjs
exec unshare --net -- bash -c 'ip link set lo up && exec node --test --test-concurrency=1 ci/e2e/e2e.test.mjs'
