#!/usr/bin/env bash
# End to end (browser side): the full web client against the real host, Xvfb and
# Debian's Chromium in a loopback-only network namespace — drawer and stats overlay screenshots,
# live settings across a host restart, gamepads, touch, clipboard, cursors, resize and DPI.
# Screenshots go to $E2E_SCREENSHOTS (default: a fresh /tmp/selkies-screenshots-* printed by the run).
set -euo pipefail
cd "$(dirname "$0")/../.."

# xclip is the X client that owns/reads CLIPBOARD in the clipboard cases.
if ! dpkg-query -W -f='${Status}' xclip 2>/dev/null | grep -q "install ok installed"; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends xclip || { apt-get update -q && apt-get install -y -q --no-install-recommends xclip; }
fi

if [ ! -d web/node_modules/playwright-core ]; then (cd web && npm ci --no-audit --no-fund); fi
(cd web && npm run --silent build)
if [ -z "${SELKIES_HOST_BIN:-}" ]; then
  cargo build -j"${CARGO_BUILD_JOBS:-2}" --locked -p selkies-host --bin selkies-gstreamer
  export SELKIES_HOST_BIN="$PWD/target/debug/selkies-gstreamer"
fi

node --test ci/e2e/features.unit.test.mjs ci/e2e/prom.unit.test.mjs
exec unshare --net -- bash -c 'ip link set lo up && exec node --test --test-concurrency=1 --test-reporter=spec ci/e2e/desktop.test.mjs'
