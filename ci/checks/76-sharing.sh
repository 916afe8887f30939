#!/usr/bin/env bash
# Desktop sharing end to end (docs/sharing.md): one owner, three viewers and one player in five
# Chromium contexts against one host; role enforcement seen in xev and jstest (LD_PRELOAD
# interposer), live role change, link revocation, bad links and join floods. Needs root
# (unshare -n), the apt packages of ci/install-deps and `npm ci` in web/.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)

. ci/checks/lib/common.sh
need_debs 76-sharing xvfb x11-apps x11-utils xdotool pulseaudio chromium joystick iproute2 xclip
web_client --rebuild
host_binary
cargo build -j"${CARGO_BUILD_JOBS:-2}" --locked -p selkies-js-interposer
rm -f /tmp/selkies_config.json

unshare --net -- bash -c 'ip link set lo up && exec node --experimental-websocket --test --test-concurrency=1 ci/e2e/sharing.test.mjs'
echo "76-sharing: $(( $(date +%s) - start )) s"
