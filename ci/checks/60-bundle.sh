#!/usr/bin/env bash
# Builds the portable tarball (bundle-scripts/build.sh) and verifies it: contents and exclusions,
# GLIBC ≤ 2.17 for the launcher and both interposers (the webcam one also loaded into Debian's
# v4l2-ctl against a stand-in frame socket), then — extracted under a path with spaces and
# non-ASCII into an otherwise empty root, chrooted, with only loopback networking — the bundle's
# own gst-inspect/gst-launch (x264, SRTP, webrtcbin and friends), X11 and PulseAudio capture from
# real servers, the launcher's --probe --json, and the same again after moving the directory
# (registry rebuilt).
# SELKIES_BUNDLE_BUILD_ARGS replaces build.sh's options (default --require-all: host, launcher
# and web client must be in the tarball; e.g. "--no-host" or "--require-all --rav1e");
# SELKIES_BUNDLE_TARBALL skips the build and checks that tarball.
set -euo pipefail
cd "$(dirname "$0")/../.."
. bundle-scripts/lib.sh
. bundle-scripts/chroot.sh
ensure_apt binutils file iproute2 util-linux tar gzip xvfb pulseaudio v4l-utils python3

fail() { echo "60-bundle: FAIL: $*" >&2; exit 1; }
say() { echo "60-bundle: $*"; }

if [ -n "${SELKIES_BUNDLE_TARBALL:-}" ]; then
  tarball="$SELKIES_BUNDLE_TARBALL"
else
  # shellcheck disable=SC2086
  tarball="$(bundle-scripts/build.sh ${SELKIES_BUNDLE_BUILD_ARGS:---require-all})"
fi
[ -f "$tarball" ] || fail "no tarball at '$tarball'"
say "tarball $tarball ($(stat -c %s "$tarball") bytes)"

# --- contents -------------------------------------------------------------------------------
listing="$(tar -tzf "$tarball")"
for must in selkies-gstreamer/selkies-gstreamer-run selkies-gstreamer/lib/glibc/ld-linux-x86-64.so.2 \
  selkies-gstreamer/lib/glibc/libc.so.6 selkies-gstreamer/lib/glibc/libpthread.so.0 \
  selkies-gstreamer/lib/glibc/VERSION selkies-gstreamer/lib/gcc/libgcc_s.so.1 \
  selkies-gstreamer/libexec/gst-plugin-scanner selkies-gstreamer/bin/gst-plugin-scanner \
  selkies-gstreamer/lib/gio/modules selkies-gstreamer/lib/gconv/gconv-modules \
  selkies-gstreamer/lib/gstreamer-1.0/libgstwebrtc.so selkies-gstreamer/lib/libnice.so.10 \
  selkies-gstreamer/share/selkies/bundle.json selkies-gstreamer/share/doc/licenses/libnice.copyright \
  selkies-gstreamer/lib/selkies_joystick_interposer.so selkies-gstreamer/lib/selkies_v4l2_interposer.so; do
  grep -qxF "$must" <<<"$listing" || grep -qxF "$must/" <<<"$listing" || fail "tarball lacks $must"
done
if grep -E '/(libcuda|libnvidia-|libnvcuvid|libGLX_|libEGL_)[^/]*$|_drv_video\.so$|/libicu|/libgupnp' <<<"$listing"; then
  fail "tarball ships host-only or UPnP/ICU libraries (above)"
fi
[ -z "$(grep '^selkies-gstreamer/lib/gio/modules/.' <<<"$listing")" ] || fail "lib/gio/modules is not empty"
say "contents ok: $(grep -c '^selkies-gstreamer/lib/[^/]*\.so' <<<"$listing") libraries, $(grep -c 'lib/gstreamer-1.0/.*\.so$' <<<"$listing") plugins"

work="$(mktemp -d /tmp/selkies-bundle-check.XXXXXX)"
trap 'rm -rf "$work"' EXIT
root="$work/root"
first="opt/selkies bundle ü"
bundle="$(bundle_extract "$tarball" "$root" "$first")"

# --- GLIBC floor of what runs on the host's glibc ---------------------------------------------
max_glibc() { objdump -T "$1" 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1; }
check_floor() {
  local f=$1 what=$2 v
  [ -f "$f" ] || { say "no $what in the bundle; floor check skipped"; return 0; }
  # Captured first: `cmd | grep -q` can kill cmd with SIGPIPE, which pipefail reports as failure.
  local headers; headers="$(readelf -l -d "$f")"
  if ! grep -q 'Requesting program interpreter' <<<"$headers" && ! grep -q NEEDED <<<"$headers"; then
    say "$what is static: no glibc requirement"; return 0
  fi
  v="$(max_glibc "$f")"
  [ -z "$v" ] && { say "$what needs no versioned glibc symbol"; return 0; }
  [ "$(printf '%s\nGLIBC_2.17\n' "$v" | sort -V | tail -1)" = GLIBC_2.17 ] ||
    fail "$what requires $v (> GLIBC_2.17)"
  say "$what: highest symbol version $v ≤ GLIBC_2.17"
}
check_floor "$bundle/selkies-gstreamer-run" launcher
check_floor "$bundle/lib/selkies_joystick_interposer.so" interposer
check_floor "$bundle/lib/selkies_v4l2_interposer.so" "webcam interposer"

# The bundled webcam interposer loads into a host application (Debian's v4l2-ctl, host glibc)
# and speaks the frame socket: G_FMT answers the size a stand-in host announces (640x480).
# LD_PRELOAD splits its list at spaces and this bundle's path has some on purpose: the .so is
# preloaded through a link without them, as the launcher exports it for such a bundle (checked
# in run_checks below).
webcam_check() {
  local sock="$work/webcam.sock" pid out rc=0
  ln -s "$bundle/lib/selkies_v4l2_interposer.so" "$work/v4l2-interposer.so"
  python3 ci/webcam/bad-host.py "$sock" garbage >/dev/null 2>&1 & pid=$!
  for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
  out="$(LD_PRELOAD="$work/v4l2-interposer.so" SELKIES_WEBCAM_SOCKET="$sock" \
    timeout 20 v4l2-ctl -d /dev/video0 --get-fmt-video 2>&1)" || rc=$?
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  if [ "$rc" != 0 ] || ! grep -q 'Width/Height *: 640/480' <<<"$out" || grep -qi 'cannot be preloaded' <<<"$out"; then
    fail "webcam interposer under v4l2-ctl: rc $rc, $out"
  fi
  say "webcam interposer: loads into v4l2-ctl and reads the announced 640x480"
}
webcam_check

# --- run inside the empty root -----------------------------------------------------------------
say "namespace interfaces: $(bundle_chroot_net | tr '\n' ' ')"
ms() { date +%s%3N; }

run_checks() {
  local dir=$1 label=$2 t0 t1 t2 el
  local rel="/${dir#"$root"/}"
  say "[$label] bundle at '$rel'"
  bundle_chroot "$root" -- "$rel/selkies-gstreamer-run" --version || fail "[$label] launcher --version"
  if [ -e "$dir/libexec/selkies-gstreamer" ]; then
    # The host's own closure: it loads under the bundled loader and parses its flags.
    bundle_chroot "$root" -- "$rel/bin/selkies-gstreamer" --help >"$work/host-help.txt" ||
      fail "[$label] selkies-gstreamer --help"
    say "[$label] host: $(sed -n 1p "$work/host-help.txt")"
  fi
  if [ -e "$dir/libexec/selkies-turn-rest" ]; then
    # Loads under the bundled loader and, with no settings, refuses to start (exit 2).
    local rc=0
    bundle_chroot "$root" -- "$rel/bin/selkies-turn-rest" >"$work/turn-rest.txt" 2>&1 || rc=$?
    { [ "$rc" = 2 ] && grep -q 'TURN_SHARED_SECRET is not set' "$work/turn-rest.txt"; } ||
      fail "[$label] selkies-turn-rest without settings: exit $rc, $(cat "$work/turn-rest.txt")"
    say "[$label] selkies-turn-rest: $(head -c 80 "$work/turn-rest.txt")…"
  fi
  t0=$(ms)
  bundle_chroot "$root" -- "$rel/bin/gst-inspect-1.0" webrtcbin >/dev/null || fail "[$label] gst-inspect webrtcbin"
  t1=$(ms)
  bundle_chroot "$root" -- "$rel/bin/gst-inspect-1.0" webrtcbin >/dev/null || fail "[$label] gst-inspect webrtcbin (warm)"
  t2=$(ms)
  say "[$label] registry: cold $((t1 - t0)) ms, warm $((t2 - t1)) ms (gst-inspect-1.0 webrtcbin)"
  for el in webrtcbin nicesrc nicesink dtlssrtpenc srtpenc sctpenc x264enc openh264enc x265enc \
    vp8enc vp9enc av1enc opusenc ximagesrc pulsesrc videoconvert videoscale rtph264pay \
    rtpvp8pay rtpopuspay rtpbin h264parse appsrc nvh264enc vah264enc; do
    case "$el" in
      nvh264enc|vah264enc) ;; # registered only where a GPU and driver exist
      *) bundle_chroot "$root" -- "$rel/bin/gst-inspect-1.0" "$el" >/dev/null 2>&1 ||
        fail "[$label] element $el missing" ;;
    esac
  done
  if grep -q libgstrsrtp.so "$dir/share/selkies/bundle.json"; then
    for el in rtpav1pay rtpgccbwe; do
      bundle_chroot "$root" -- "$rel/bin/gst-inspect-1.0" "$el" >/dev/null 2>&1 ||
        fail "[$label] element $el (gst-plugin-rtp) missing"
    done
  fi
  bundle_chroot "$root" -- "$rel/bin/gst-launch-1.0" -q videotestsrc num-buffers=30 ! \
    videoconvert ! x264enc ! rtph264pay ! fakesink || fail "[$label] x264 pipeline"
  # x265 is the 8-bit-only rebuild: the encoder must still open through x265_api_get.
  bundle_chroot "$root" -- "$rel/bin/gst-launch-1.0" -q videotestsrc num-buffers=10 ! \
    video/x-raw,width=320,height=240 ! x265enc ! h265parse ! fakesink || fail "[$label] x265 pipeline"
  # SRTP goes through libsrtp2 → NSS, which dlopens softokn: the failure of docs/bundle.md R5.
  bundle_chroot "$root" -- "$rel/bin/gst-launch-1.0" -q videotestsrc num-buffers=10 ! x264enc ! \
    rtph264pay ! 'application/x-rtp,ssrc=(uint)1' ! \
    srtpenc key=000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D ! fakesink ||
    fail "[$label] SRTP pipeline"
  if bundle_chroot "$root" -- "$rel/selkies-gstreamer-run" --probe --json >"$work/probe.json"; then
    grep -q '{' "$work/probe.json" || fail "[$label] --probe --json printed no JSON"
    say "[$label] probe: $(tr -d '\n ' <"$work/probe.json" | cut -c1-200)"
  else
    fail "[$label] selkies-gstreamer-run --probe --json"
  fi
  # A bundle path with spaces cannot stand in LD_PRELOAD: the launcher links the interposers
  # into the user's cache (HOME=/tmp, XDG_CACHE_HOME=/tmp/cache in the chroot).
  case "$rel" in
    *" "*|*:*)
      local link found=""
      for link in "$root"/tmp/cache/selkies-gstreamer/registry-*.preload/selkies_v4l2_interposer.so; do
        [ "$(readlink "$link" 2>/dev/null)" = "$rel/lib/selkies_v4l2_interposer.so" ] && found=$link
      done
      [ -n "$found" ] || fail "[$label] no link for LD_PRELOAD to $rel/lib/selkies_v4l2_interposer.so"
      say "[$label] interposers linked for LD_PRELOAD at ${found#"$root"}"
      ;;
  esac
  say "[$label] all checks passed"
}

# Capture from real servers on the host, reached through sockets bound into the root: Xvfb
# (ximagesrc; abstract sockets do not cross the network namespace, so the socket file is used)
# and PulseAudio (pulsesrc through the rebuilt client library).
capture_checks() {
  local rel="/${1#"$root"/}" display=:77 xpid papid
  mkdir -p "$root/tmp/pulse"
  Xvfb "$display" -screen 0 640x480x24 -nolisten tcp >"$work/xvfb.log" 2>&1 & xpid=$!
  HOME="$work" XDG_RUNTIME_DIR="$root/tmp/pulse" pulseaudio --daemonize=no -n --use-pid-file=no \
    --exit-idle-time=-1 -L "module-native-protocol-unix socket=$root/tmp/pulse/native auth-anonymous=1" \
    -L module-null-sink >"$work/pulse.log" 2>&1 & papid=$!
  for _ in $(seq 50); do
    [ -S "/tmp/.X11-unix/X${display#:}" ] && [ -S "$root/tmp/pulse/native" ] && break
    sleep 0.1
  done
  local rc=0
  BUNDLE_X11=1 bundle_chroot "$root" DISPLAY="$display" -- "$rel/bin/gst-launch-1.0" -q \
    ximagesrc num-buffers=10 ! videoconvert ! x264enc ! fakesink || rc=1
  bundle_chroot "$root" PULSE_SERVER=unix:/tmp/pulse/native -- "$rel/bin/gst-launch-1.0" -q \
    pulsesrc num-buffers=20 ! audioconvert ! opusenc ! fakesink || rc=$((rc | 2))
  kill "$xpid" "$papid" 2>/dev/null || true
  wait "$xpid" "$papid" 2>/dev/null || true
  [ $((rc & 1)) = 0 ] || fail "ximagesrc capture from Xvfb (log: $(tail -2 "$work/xvfb.log"))"
  [ $((rc & 2)) = 0 ] || fail "pulsesrc capture from PulseAudio (log: $(tail -2 "$work/pulse.log"))"
  say "capture ok: ximagesrc → x264enc from Xvfb, pulsesrc → opusenc from PulseAudio"
}

run_checks "$bundle" "extracted"
capture_checks "$bundle"
mkdir -p "$root/srv/moved élsewhere"
mv "$root/$first/selkies-gstreamer" "$root/srv/moved élsewhere/"
run_checks "$root/srv/moved élsewhere/selkies-gstreamer" "moved"
say "registries: $(find "$root/tmp/cache" -name '*.bin' | wc -l) (one per install path)"
say "passed"
