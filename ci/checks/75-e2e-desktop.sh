#!/usr/bin/env bash
# End to end (browser side): the full web client against the real host, Xvfb and
# Debian's Chromium in a loopback-only network namespace — drawer and stats overlay screenshots,
# live settings across a host restart, gamepads, touch, clipboard, cursors, resize and DPI.
# Screenshots go to $E2E_SCREENSHOTS (default: a fresh /tmp/selkies-screenshots-* printed by the run).
set -euo pipefail
cd "$(dirname "$0")/../.."

# xclip is the X client that owns/reads CLIPBOARD in the clipboard cases.
. ci/checks/lib/common.sh
need_debs 75-e2e-desktop xclip

web_client --rebuild
host_binary

node --test ci/e2e/prom.unit.test.mjs
exec unshare --net -- bash -c 'ip link set lo up && exec node --test --test-concurrency=1 --test-reporter=spec ci/e2e/desktop.test.mjs'
