#!/usr/bin/env bash
# Desktop sharing end to end (docs/sharing.md): one owner, three viewers and one player in five
# Chromium contexts against one host; role enforcement seen in xev and jstest (LD_PRELOAD
# interposer), live role change, link revocation, bad links and join floods. Needs root
# (unshare -n), the apt packages of ci/install-deps and `npm ci` in web/.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)

need=()
for p in xvfb x11-apps x11-utils xdotool pulseaudio chromium joystick iproute2 xclip; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "76-sharing: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q && apt-get install -y -q --no-install-recommends "${need[@]}"
fi
if [ ! -d web/node_modules/playwright-core ]; then (cd web && npm ci --no-audit --no-fund); fi
(cd web && npm run --silent build)
if [ -z "${SELKIES_HOST_BIN:-}" ]; then
  cargo build -j"${CARGO_BUILD_JOBS:-2}" --locked -p selkies-host --bin selkies-gstreamer
  export SELKIES_HOST_BIN="$PWD/target/debug/selkies-gstreamer"
fi
cargo build -j"${CARGO_BUILD_JOBS:-2}" --locked -p selkies-js-interposer
rm -f /tmp/selkies_config.json

unshare --net -- bash -c 'ip link set lo up && exec node --experimental-websocket --test --test-concurrency=1 ci/e2e/sharing.test.mjs'
echo "76-sharing: $(( $(date +%s) - start )) s"
