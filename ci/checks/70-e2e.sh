#!/usr/bin/env bash
# End to end: the real host streaming an Xvfb screen and a PulseAudio null sink to Debian's
# Chromium (playwright-core), all inside a loopback-only network namespace so nothing leaves
# the machine. Needs root (unshare -n), the apt packages of ci/install-deps and `npm ci` in web/.
set -euo pipefail
cd "$(dirname "$0")/../.."

. ci/checks/lib/common.sh
web_client
host_binary

node --test ci/e2e/xev.unit.test.mjs ci/e2e/sdp.unit.test.mjs
exec unshare --net -- bash -c 'ip link set lo up && exec node --test --test-concurrency=1 ci/e2e/e2e.test.mjs'
