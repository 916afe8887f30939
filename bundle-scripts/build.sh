#!/usr/bin/env bash
# Builds every input of the portable tarball, then runs selkies-bundle, which fetches Debian 12
# packages, computes the ELF closure, writes dist/selkies-gstreamer-portable-v<ver>_amd64.tar.gz
# and prints the size breakdown. The last line of stdout is the tarball path.
#
#   bundle-scripts/build.sh [--no-host] [--rav1e] [--no-rs-plugins] [--require-all] [selkies-bundle args...]
#
# --no-host        skip building the host (GStreamer-only bundle, for fast relocation checks)
# --rav1e          also build gst-plugin-rav1e (rav1enc); slow, see docs/bundle.md
# --no-rs-plugins  skip gst-plugin-rtp (rtpav1pay, rtpgccbwe)
# --require-all    fail when host, TURN-REST service, launcher or web client is missing (release builds)
set -euo pipefail
cd "$(dirname "$0")/.."
. bundle-scripts/lib.sh
export SELKIES_BUNDLE_CACHE="$(realpath -m "${SELKIES_BUNDLE_CACHE:-.cache/bundle}")"
jobs="${CARGO_BUILD_JOBS:-2}"
build_host=1 rs_plugins=(rtp) pass=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-host) build_host=0 ;;
    --rav1e) rs_plugins+=(rav1e) ;;
    --no-rs-plugins) rs_plugins=() ;;
    *) pass+=("$1") ;;
  esac
  shift
done
step() { echo "=== bundle: $* ($(date +%T))" >&2; }
warn() { echo "bundle: WARNING: $*" >&2; }
ensure_apt binutils dpkg-dev file
# apt-get download needs package lists; a fresh container may have none.
compgen -G "/var/lib/apt/lists/*_Packages*" >/dev/null || apt-get update -q >&2
args=(--cache "$SELKIES_BUNDLE_CACHE")

step "host binary"
if [ "$build_host" = 1 ]; then
  if cargo build --release -j "$jobs" -p selkies-host >&2; then
    args+=(--host target/release/selkies-gstreamer)
  else
    warn "selkies-host did not build; the tarball will not contain the host"
  fi
fi

step "TURN-REST service"
if cargo build --release -j "$jobs" -p selkies-turn-rest --bin selkies-turn-rest >&2; then
  args+=(--turn-rest target/release/selkies-turn-rest)
else
  warn "selkies-turn-rest did not build; the tarball will not contain it"
fi

step "launcher (static) and probe helper"
if [ -x launcher/build-static.sh ]; then
  # Prints the static launcher, then the dynamic probe helper (libexec/selkies-gpu-probe).
  mapfile -t built < <(launcher/build-static.sh)
  launcher="${built[0]:-}" helper="${built[1]:-}"
else
  # Until launcher/build-static.sh exists: the same static build, separate target dir so the
  # shared release build is not invalidated.
  RUSTFLAGS="-C target-feature=+crt-static" cargo build --release -j "$jobs" -p selkies-launcher \
    --bin selkies-gstreamer-run --target x86_64-unknown-linux-gnu --target-dir target/static >&2
  launcher=target/static/x86_64-unknown-linux-gnu/release/selkies-gstreamer-run
  cargo build --release -j "$jobs" -p selkies-launcher --bin selkies-gpu-probe >&2 &&
    helper=target/release/selkies-gpu-probe
fi
[ -n "$launcher" ] && [ -f "$launcher" ] || { echo "bundle: launcher did not build" >&2; exit 1; }
args+=(--launcher "$launcher")
if [ -n "${helper:-}" ] && [ -f "$helper" ]; then
  args+=(--probe-helper "$helper")
else
  warn "selkies-gpu-probe did not build"
fi

step "joystick interposer"
interposer=""
if [ -x js-interposer/build-portable.sh ]; then
  interposer="$(js-interposer/build-portable.sh | tail -1)"
elif cargo build --release -j "$jobs" -p selkies-js-interposer >&2; then
  interposer=target/release/libselkies_joystick_interposer.so
fi
if [ -n "$interposer" ] && [ -f "$interposer" ]; then args+=(--interposer "$interposer"); else warn "no interposer"; fi

step "webcam interposer"
webcam=""
if [ -x v4l2-interposer/build-portable.sh ]; then
  webcam="$(v4l2-interposer/build-portable.sh | tail -1)"
fi
if [ -n "$webcam" ] && [ -f "$webcam" ]; then args+=(--webcam-interposer "$webcam"); else warn "no webcam interposer"; fi

step "web client"
if [ ! -f web/dist/index.html ] && [ -f web/package.json ] && grep -q '"build"' web/package.json; then
  (cd web && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run build) >&2 ||
    warn "web client did not build"
fi
if [ -f web/dist/index.html ]; then args+=(--web web/dist); else warn "no web/dist: share/selkies-web will be missing"; fi

step "from Debian source: libnice without UPnP, libsrtp2 on OpenSSL, PulseAudio client without D-Bus/systemd, 8-bit x265"
for lib in libnice libsrtp2 pulseaudio x265; do
  dir="$(bundle-scripts/build-source-lib.sh "$lib" | tail -1)"
  args+=(--override-libs "$dir" --licence "$lib=$dir/copyright")
done

if [ ${#rs_plugins[@]} -gt 0 ]; then
  step "gst-plugins-rs: ${rs_plugins[*]}"
  rs_out="$(bundle-scripts/build-rs-plugins.sh "${rs_plugins[@]}")"
  while read -r kind value; do
    case "$kind" in
      plugin) args+=(--extra-plugin "$value") ;;
      licence) args+=(--licence "$value") ;;
    esac
  done <<<"$rs_out"
fi

step "selkies-bundle"
# Own target dir: the shared target/release is often locked by other release builds.
cargo build --release -j "$jobs" -p selkies-bundle --target-dir "$SELKIES_BUNDLE_CACHE/target" >&2
# -a: a plain open of /dev/stderr truncates the caller's log when stderr is a file (ci/test > log).
"$SELKIES_BUNDLE_CACHE/target/release/selkies-bundle" "${args[@]}" "${pass[@]}" | tee -a /dev/stderr | sed -n 's/^tarball: //p' | tail -1
