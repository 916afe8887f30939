#!/usr/bin/env bash
# Launcher overhead: time from exec of selkies-gstreamer-run to the host's main, against
# exec'ing the host directly. Uses a trivial C "host" that exits at once, in a throwaway
# bundle. Usage: launcher/bench-overhead.sh [LAUNCHER] [RUNS]   (prints ms per run)
set -euo pipefail
cd "$(dirname "$0")/.."
launcher="${1:-$(launcher/build-static.sh | head -1)}"
helper="$PWD/target/release/selkies-gpu-probe"
runs="${2:-200}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
b="$tmp/bench dir/selkies-gstreamer"
mkdir -p "$b/libexec" "$b/lib/gstreamer-1.0" "$b/bin"
cp "$launcher" "$b/selkies-gstreamer-run"
[ -f "$helper" ] && cp "$helper" "$b/libexec/selkies-gpu-probe"
printf 'int main(void){return 0;}\n' > "$tmp/h.c"
cc -O2 -o "$b/libexec/selkies-gstreamer" "$tmp/h.c"
: > "$b/lib/gstreamer-1.0/libgstx264.so"
export RUST_LOG=warn DISPLAY=:0
per_run() { # command... -> ms per run
  local start end
  start=$(date +%s%N)
  for _ in $(seq "$runs"); do "$@" >/dev/null 2>&1; done
  end=$(date +%s%N)
  awk -v ns=$((end - start)) -v n="$runs" 'BEGIN { printf "%.2f", ns / n / 1e6 }'
}
direct=$(per_run "$b/libexec/selkies-gstreamer")
via=$(per_run "$b/selkies-gstreamer-run" --no_xvfb --no_pulseaudio --encoder=x264enc)
probe=$(per_run "$b/selkies-gstreamer-run" --no_xvfb --no_pulseaudio)
echo "host exec'd directly:                      $direct ms"
echo "via launcher (encoder given, no services): $via ms"
echo "via launcher with encoder probe:           $probe ms"
