#!/usr/bin/env bash
# Run by ci/checks/55-webcam.sh (or alone: late-and-resize.sh SO FEED WORKDIR). Two cases of
# docs/webcam.md "Sizes" with webcam-feed standing in for the host:
#  1. the application opens /dev/video0 before the camera is on: it gets the placeholder size
#     (640x480) and black frames at once, then the camera's pattern (1280x720, scaled to 640x480
#     by the interposer) without reopening;
#  2. the camera changes size (1280x720 -> 640x360) while the application streams: it keeps its
#     1280x720 and the frames keep changing.
# Prints one "ok"/"FAIL" line per assertion; exit status 1 on any failure.
set -uo pipefail
SO=$1 FEED=$2 WORK=$3
export SELKIES_WEBCAM_SOCKET=$WORK/late.sock
fail=0
wait_socket() { for _ in $(seq 100); do [ -S "$SELKIES_WEBCAM_SOCKET" ] && return 0; sleep 0.05; done; return 1; }

# analyse <file> <w> <h> <label> <resized:0|1>: YUYV frames; counts black (placeholder) frames
# at the start, then requires pattern frames after them, all distinct from each other.
analyse() {
  python3 - "$@" <<'PY'
import hashlib, sys
path, w, h, label, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
size = w * h * 2
data = open(path, "rb").read()
n = len(data) // size
frames = [data[i * size:(i + 1) * size] for i in range(n)]
def black(f):
    return f[0::2].count(16) == len(f) // 2 and f[1::2].count(128) == len(f) // 2
kinds = ["black" if black(f) else "picture" for f in frames]
lead = next((i for i, k in enumerate(kinds) if k != "black"), n)
pics = frames[lead:]
distinct = len({hashlib.md5(f).hexdigest() for f in pics})
ok = len(data) % size == 0
if mode == "late":
    ok = ok and lead >= 10 and len(pics) >= 10 and "black" not in kinds[lead:] and distinct >= len(pics) // 2
    print(f"{'ok  ' if ok else 'FAIL'} {label}: {n} frames {w}x{h}: {lead} black placeholders, then {len(pics)} pattern frames ({distinct} distinct)")
else:
    ok = ok and lead == 0 and n >= 60 and distinct >= n // 2
    print(f"{'ok  ' if ok else 'FAIL'} {label}: {n} frames {w}x{h} across the camera's size change, {distinct} distinct")
sys.exit(0 if ok else 1)
PY
}

# 1. Open first, camera 3 s later.
rm -f "$SELKIES_WEBCAM_SOCKET"
"$FEED" --socket "$SELKIES_WEBCAM_SOCKET" --width 1280 --height 720 --fps 30 --delay-ms 3000 > "$WORK/late-feed.out" &
F=$!
wait_socket || { echo "FAIL webcam-feed did not listen"; kill $F; exit 1; }
LD_PRELOAD="$SO" v4l2-ctl -d /dev/video0 --get-fmt-video > "$WORK/late-fmt.out" 2>&1
grep -q "Width/Height      : 640/480" "$WORK/late-fmt.out" && echo "ok   before the camera: G_FMT 640x480 (placeholder), no error" \
  || { echo "FAIL before the camera: $(head -3 "$WORK/late-fmt.out")"; fail=1; }
LD_PRELOAD="$SO" timeout 30 v4l2-ctl -d /dev/video0 --set-fmt-video=pixelformat=YUYV --stream-mmap=4 \
  --stream-count=150 --stream-to="$WORK/late.raw" > "$WORK/late-v.out" 2>&1
rc=$?
kill $F; wait $F 2>/dev/null
[ $rc = 0 ] && echo "ok   v4l2-ctl opened before the camera streamed 150 frames" || { echo "FAIL v4l2-ctl rc=$rc: $(tail -2 "$WORK/late-v.out")"; fail=1; }
analyse "$WORK/late.raw" 640 480 "placeholder then camera" late || fail=1

# 2. Size change mid-stream: 1280x720 for 60 frames, then 640x360.
rm -f "$SELKIES_WEBCAM_SOCKET"
"$FEED" --socket "$SELKIES_WEBCAM_SOCKET" --width 1280 --height 720 --fps 30 --resize-after 60 --resize-to 640x360 > "$WORK/rs-feed.out" &
F=$!
wait_socket || { echo "FAIL webcam-feed did not listen"; kill $F; exit 1; }
LD_PRELOAD="$SO" timeout 30 v4l2-ctl -d /dev/video0 --set-fmt-video=pixelformat=YUYV --stream-mmap=4 \
  --stream-count=150 --stream-to="$WORK/rs.raw" > "$WORK/rs-v.out" 2>&1
rc=$?
LD_PRELOAD="$SO" timeout 10 v4l2-ctl -d /dev/video0 --get-fmt-video > "$WORK/rs-fmt.out" 2>&1
grep -q "resized to 640x360" "$WORK/rs-feed.out" && echo "ok   the feed changed size mid-stream" || { echo "FAIL the feed did not resize"; fail=1; }
kill $F; wait $F 2>/dev/null
[ $rc = 0 ] && echo "ok   v4l2-ctl streamed through the size change (rc 0)" || { echo "FAIL v4l2-ctl rc=$rc: $(tail -2 "$WORK/rs-v.out")"; fail=1; }
analyse "$WORK/rs.raw" 1280 720 "size change" resize || fail=1
grep -q "Width/Height      : 640/360" "$WORK/rs-fmt.out" && echo "ok   a new open gets the camera's new size 640x360" \
  || { echo "FAIL new open: $(grep Width "$WORK/rs-fmt.out")"; fail=1; }
exit $fail
