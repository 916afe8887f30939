#!/usr/bin/env bash
# The WebSocket transport end to end (docs/connectivity.md "Two transports"): the real host,
# Xvfb, PulseAudio, Debian's Chromium, and nginx as the only way in. Loopback cases run in
# `unshare --net`; the reverse-proxy case builds its own namespaces (ip netns, veth) where the
# browser reaches nothing but nginx's port, so ICE fails and the client falls back on its own.
# Needs root and the apt packages of ci/install-deps (nginx among them) and `npm ci` in web/.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)

if [ ! -d web/node_modules/playwright-core ]; then (cd web && npm ci --no-audit --no-fund); fi
(cd web && npm run --silent build)
if [ -z "${SELKIES_HOST_BIN:-}" ]; then
  cargo build -j"${CARGO_BUILD_JOBS:-2}" --locked -p selkies-host --bin selkies-gstreamer
  export SELKIES_HOST_BIN="$PWD/target/debug/selkies-gstreamer"
fi

unshare --net -- bash -c 'ip link set lo up && exec node --test --test-concurrency=1 ci/e2e/ws-transport.test.mjs'
echo "72-ws-transport: $(( $(date +%s) - start )) s"
