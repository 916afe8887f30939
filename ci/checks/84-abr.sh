#!/usr/bin/env bash
# Adaptive bitrate end to end: the host with and without --congestion_control, Debian's Chromium
# relay-only through coturn, and the userspace impairment relay (ci/e2e/impair.mjs) in front of
# coturn so every media packet crosses it; all in a loopback-only network namespace. Also the
# relay's unit tests. Needs root (unshare -n), the apt packages of ci/install-deps (coturn is
# installed here if missing), `npm ci` in web/, and rtpgccbwe (ci/abr-env.sh: the build that
# 60-bundle.sh left in .cache/bundle/rs-plugins, else built here, ~7 min on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)
. ci/abr-env.sh
if [ ! -d web/node_modules/playwright-core ]; then (cd web && npm ci --no-audit --no-fund); fi
[ -s web/dist/index.html ] || (cd web && npm run --silent build)
if [ -z "${SELKIES_HOST_BIN:-}" ]; then
  cargo build -j"${CARGO_BUILD_JOBS:-2}" --locked -p selkies-host --bin selkies-gstreamer
  export SELKIES_HOST_BIN="$PWD/target/debug/selkies-gstreamer"
fi
node --test ci/e2e/impair.unit.test.mjs
unshare --net -- bash -c 'ip link set lo up && exec node --test --test-concurrency=1 ci/e2e/abr.test.mjs'
echo "84-abr: $(( $(date +%s) - start )) s"
