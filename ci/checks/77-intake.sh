#!/usr/bin/env bash
# Into the desktop (docs/microphone.md, docs/files.md): the file-transfer routes over the real
# accept loop (1 GiB upload resumed after a dropped connection (SELKIES_UPLOAD_TEST_MB, about
# 35 s here), the upload rate limit's achieved rate, hostile names, limits, a 1 GiB
# download streamed with flat RSS, auth and the disabled feature on every route), then the
# browser end to end in a loopback-only namespace: Chromium's fake microphone (a 1 kHz WAV) into
# the host's PulseAudio virtual source, found with parec and a Goertzel filter, latency printed;
# a picker upload and a listed download through the page; PNG clipboard images both ways.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)

# parec/pactl (pulseaudio-utils) drive and record the virtual microphone; xclip owns and reads
# the X CLIPBOARD as image/png in the clipboard-image case.
. ci/checks/lib/common.sh
need_debs 77-intake pulseaudio-utils xclip

SELKIES_UPLOAD_TEST_MB=${SELKIES_UPLOAD_TEST_MB:-1024} \
  cargo test -j"${CARGO_BUILD_JOBS:-2}" --locked -p selkies-host --test files_http -- --nocapture 2>&1 | grep -E '^(test |after the|upload of|1 GiB)|test result|panicked' || { echo "files_http failed"; exit 1; }

web_client --rebuild
host_binary
rm -f /tmp/selkies_config.json
unshare --net -- bash -c 'ip link set lo up && exec node --test --test-concurrency=1 --test-reporter=spec ci/e2e/intake.test.mjs'
echo "77-intake: $(( $(date +%s) - start )) s"
