#!/usr/bin/env bash
# Webcam interposer (docs/webcam.md): the portable .so (glibc <= 2.17); Debian's v4l2-ctl and
# GStreamer's v4l2src reading /dev/video0 through it (MMAP streaming and read() I/O) from
# webcam-feed's moving pattern, with the frame rate printed and the picture seen to change;
# an application opening the device before the camera is on (placeholder, then the camera) and
# a camera changing size mid-stream (ci/webcam/late-and-resize.sh);
# a hostile host (garbage, truncated, oversized records) and a host that dies mid-stream make
# the application fail with an error, never a signal; then the browser end to end
# (ci/e2e/webcam.test.mjs): Chromium's fake camera → our host → the interposer → v4l2-ctl.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
START=$(date +%s)

. ci/checks/lib/common.sh
need_debs 55-webcam v4l-utils gstreamer1.0-tools gstreamer1.0-plugins-good binutils python3-venv

echo "--- build: portable webcam interposer (cargo-zigbuild, x86_64-unknown-linux-gnu.2.17)"
SO=$(v4l2-interposer/build-portable.sh)
portable_so_checks "$SO" open open64 openat openat64 __open_2 __open64_2 fopen fopen64 close ioctl \
  read __read_chk mmap mmap64 dup dup2 dup3 stat stat64 lstat __xstat __xstat64

echo "--- build: webcam-feed"
cargo build --locked --release -p selkies-webcam 2>&1 | tail -1
FEED=target/release/webcam-feed

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
export SELKIES_WEBCAM_SOCKET=$WORK/webcam.sock
fail=0
ok() { echo "    ok   $*"; }
bad() { echo "    FAIL $*"; fail=1; }
# not_signal <label> <rc>: the application ended by itself (an exit code), not by a signal.
not_signal() {
  if [ "$2" -ge 128 ] && [ "$2" != 255 ]; then bad "$1 ended by signal $(( $2 - 128 ))"; else ok "$1 exited with $2 (no signal)"; fi
}
wait_socket() { for _ in $(seq 100); do [ -S "$SELKIES_WEBCAM_SOCKET" ] && return 0; sleep 0.05; done; return 1; }

W=1280 H=720
echo "--- check: v4l2-ctl and v4l2src under LD_PRELOAD, webcam-feed ${W}x${H} at 30 fps"
"$FEED" --socket "$SELKIES_WEBCAM_SOCKET" --width $W --height $H --fps 30 > "$WORK/feed.out" &
FEED_PID=$!; PIDS+=("$FEED_PID")
wait_socket || { echo "FAIL: webcam-feed did not listen"; cat "$WORK/feed.out"; exit 1; }

LD_PRELOAD="$SO" v4l2-ctl -d /dev/video0 --get-fmt-video > "$WORK/fmt.out" 2>&1 || true
grep -q "Width/Height      : $W/$H" "$WORK/fmt.out" && ok "G_FMT says ${W}x${H}" || { bad "G_FMT size"; cat "$WORK/fmt.out"; }
LD_PRELOAD="$SO" v4l2-ctl -d /dev/video0 --list-formats-ext > "$WORK/fmts.out" 2>&1 || true
for f in YUYV YU12 NV12; do
  grep -q "'$f'" "$WORK/fmts.out" && ok "ENUM_FMT offers $f" || bad "ENUM_FMT lacks $f"
done
grep -q "Size: Discrete ${W}x${H}" "$WORK/fmts.out" && ok "ENUM_FRAMESIZES ${W}x${H}" || bad "ENUM_FRAMESIZES"

# MMAP streaming: 150 frames for the rate, 30 written out to compare.
set +e
LD_PRELOAD="$SO" timeout 30 v4l2-ctl -d /dev/video0 --stream-mmap=4 --stream-count=150 > "$WORK/mmap.out" 2>&1
rc=$?
LD_PRELOAD="$SO" timeout 30 v4l2-ctl -d /dev/video0 --set-fmt-video=pixelformat=YUYV \
  --stream-mmap --stream-count=30 --stream-to="$WORK/mmap.raw" > /dev/null 2>&1
set -e
[ "$rc" = 0 ] && ok "v4l2-ctl --stream-mmap streamed 150 frames" || bad "v4l2-ctl --stream-mmap rc=$rc"
fps=$(tr '\r' '\n' < "$WORK/mmap.out" | grep -oE '[0-9.]+ fps' | tail -1 | cut -d' ' -f1)
echo "    v4l2-ctl --stream-mmap: ${fps:-?} fps (${W}x${H} YUYV)"
awk -v f="${fps:-0}" 'BEGIN { exit !(f >= 15) }' && ok "v4l2-ctl at >= 15 fps" || bad "v4l2-ctl at ${fps:-?} fps"

# frames_change <file> <frame bytes> <label>: whole frames, and they are not all the same.
frames_change() {
  python3 - "$1" "$2" "$3" <<'PY'
import hashlib, sys
path, size, label = sys.argv[1], int(sys.argv[2]), sys.argv[3]
data = open(path, "rb").read()
n = len(data) // size
distinct = {hashlib.md5(data[i * size:(i + 1) * size]).hexdigest() for i in range(n)}
ok = len(data) % size == 0 and n >= 10 and len(distinct) >= n // 2
print(f"    {'ok  ' if ok else 'FAIL'} {label}: {n} frames of {size} bytes, {len(distinct)} distinct")
sys.exit(0 if ok else 1)
PY
}
frames_change "$WORK/mmap.raw" $((W * H * 2)) "v4l2-ctl frames change" || fail=1
# Printed, not asserted: publish (host) → DQBUF (application) through the socket and the shim.
LD_PRELOAD="$SO" python3 ci/webcam/latency.py 150 2>&1 | sed 's/^/    /' || bad "latency measurement"

set +e
LD_PRELOAD="$SO" timeout 30 gst-launch-1.0 -v v4l2src device=/dev/video0 num-buffers=120 \
  ! video/x-raw,width=$W,height=$H ! fpsdisplaysink video-sink=fakesink text-overlay=false \
  > "$WORK/gst.out" 2>&1
rc=$?
LD_PRELOAD="$SO" timeout 30 gst-launch-1.0 -q v4l2src device=/dev/video0 io-mode=rw num-buffers=30 \
  ! video/x-raw,format=NV12,width=$W,height=$H ! filesink location="$WORK/rw.raw" > "$WORK/gst-rw.out" 2>&1
rc_rw=$?
set -e
[ "$rc" = 0 ] && ok "gst-launch v4l2src (MMAP) ran 120 buffers" || { bad "v4l2src rc=$rc"; tail -5 "$WORK/gst.out"; }
gfps=$(grep -oE 'average: [0-9.]+' "$WORK/gst.out" | tail -1 | cut -d' ' -f2)
echo "    gst-launch v4l2src (MMAP): ${gfps:-?} fps average"
awk -v f="${gfps:-0}" 'BEGIN { exit !(f >= 15) }' && ok "v4l2src at >= 15 fps" || bad "v4l2src at ${gfps:-?} fps"
[ "$rc_rw" = 0 ] && ok "gst-launch v4l2src io-mode=rw (read() I/O, NV12)" || { bad "v4l2src rw rc=$rc_rw"; cat "$WORK/gst-rw.out"; }
frames_change "$WORK/rw.raw" $((W * H * 3 / 2)) "read() frames change" || fail=1

echo "--- check: opened before the camera is on (placeholder), camera size change mid-stream"
ci/webcam/late-and-resize.sh "$SO" "$FEED" "$WORK" | sed 's/^/    /'
[ "${PIPESTATUS[0]}" = 0 ] || fail=1

echo "--- check: the host goes away mid-stream"
set +e
LD_PRELOAD="$SO" timeout 20 v4l2-ctl -d /dev/video0 --stream-mmap --stream-count=100000 > "$WORK/gone.out" 2>&1 &
V=$!
LD_PRELOAD="$SO" timeout 20 gst-launch-1.0 v4l2src device=/dev/video0 ! fakesink > "$WORK/gone-gst.out" 2>&1 &
G=$!
sleep 2
kill "$FEED_PID"; wait "$FEED_PID" 2>/dev/null
wait "$V"; rc_v=$?
wait "$G"; rc_g=$?
set -e
not_signal "v4l2-ctl" "$rc_v"
grep -q 'DQBUF.*Input/output error' "$WORK/gone.out" && ok "v4l2-ctl reports DQBUF EIO" || { bad "v4l2-ctl saw no EIO"; tail -3 "$WORK/gone.out"; }
[ "$rc_v" != 124 ] || bad "v4l2-ctl hung"
not_signal "gst-launch" "$rc_g"
[ "$rc_g" != 0 ] && [ "$rc_g" != 124 ] && ok "gst-launch failed with an error ($rc_g)" || bad "gst-launch rc=$rc_g"
set +e
LD_PRELOAD="$SO" timeout 10 v4l2-ctl -d /dev/video0 --all > "$WORK/none.out" 2>&1
rc=$?
set -e
not_signal "v4l2-ctl with no host" "$rc"
grep -q 'No such file or directory' "$WORK/none.out" && ok "open without a host is ENOENT" || bad "open without a host: $(head -1 "$WORK/none.out")"

echo "--- check: a hostile host (bad records) gives the application an error"
for mode in garbage truncated oversized; do
  rm -f "$SELKIES_WEBCAM_SOCKET"
  python3 ci/webcam/bad-host.py "$SELKIES_WEBCAM_SOCKET" "$mode" > "$WORK/bad.out" 2>&1 &
  B=$!; PIDS+=("$B")
  wait_socket
  set +e
  LD_PRELOAD="$SO" timeout 20 v4l2-ctl -d /dev/video0 --stream-mmap --stream-count=10 > "$WORK/bad-v.out" 2>&1
  rc_v=$?
  LD_PRELOAD="$SO" timeout 20 gst-launch-1.0 v4l2src device=/dev/video0 num-buffers=10 ! fakesink > "$WORK/bad-g.out" 2>&1
  rc_g=$?
  LD_PRELOAD="$SO" timeout 20 gst-launch-1.0 v4l2src device=/dev/video0 io-mode=rw num-buffers=10 ! fakesink > "$WORK/bad-r.out" 2>&1
  rc_r=$?
  set -e
  kill "$B" 2>/dev/null; wait "$B" 2>/dev/null || true
  not_signal "[$mode] gst-launch io-mode=rw" "$rc_r"
  [ "$rc_r" != 0 ] && [ "$rc_r" != 124 ] && ok "[$mode] read() I/O failed with an error" || bad "[$mode] read() rc=$rc_r"
  not_signal "[$mode] v4l2-ctl" "$rc_v"
  grep -q 'Input/output error' "$WORK/bad-v.out" && ok "[$mode] v4l2-ctl reports EIO" || { bad "[$mode] v4l2-ctl: no EIO"; tail -3 "$WORK/bad-v.out"; }
  not_signal "[$mode] gst-launch" "$rc_g"
  [ "$rc_g" != 0 ] && [ "$rc_g" != 124 ] && ok "[$mode] gst-launch failed with an error" || bad "[$mode] gst-launch rc=$rc_g"
done

if [ "${WEBCAM_SKIP_E2E:-0}" != 1 ] && [ -f ci/e2e/webcam.test.mjs ]; then
  echo "--- check: browser end to end (ci/e2e/webcam.test.mjs)"
  if [ ! -d web/node_modules/playwright-core ]; then (cd web && npm ci --no-audit --no-fund); fi
  (cd web && npm run -s build > /dev/null)
  if [ -z "${SELKIES_HOST_BIN:-}" ]; then
    cargo build -j"$CARGO_BUILD_JOBS" --locked -p selkies-host --bin selkies-gstreamer 2>&1 | tail -1
    export SELKIES_HOST_BIN="$PWD/target/debug/selkies-gstreamer"
  fi
  rm -f /tmp/selkies_config.json
  WEBCAM_SO="$SO" unshare --net -- bash -c 'ip link set lo up && exec node --test ci/e2e/webcam.test.mjs' 2>&1 \
    | sed 's/^/    /' | tee "$WORK/e2e.out"
  grep -qE '^    # fail 0' "$WORK/e2e.out" || fail=1
fi

echo "55-webcam: $(( $(date +%s) - START )) s"
[ "$fail" = 0 ] || { echo "55-webcam: FAILED"; exit 1; }
echo "55-webcam: all checks passed"
