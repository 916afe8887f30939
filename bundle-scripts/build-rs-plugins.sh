#!/usr/bin/env bash
# Builds the gst-plugins-rs plugins Debian 12 lacks (bundle-scripts/rs-plugins, pinned in its own
# Cargo.lock) against the system GStreamer 1.22. Prints `plugin PATH` and `licence NAME=PATH` lines.
# Usage: build-rs-plugins.sh [rtp] [rav1e]   (default: rtp; rav1e is slow, see docs/bundle.md)
set -euo pipefail
cd "$(dirname "$0")/.."
. bundle-scripts/lib.sh
cache="$(realpath -m "${SELKIES_BUNDLE_CACHE:-.cache/bundle}")"
out="$cache/rs-plugins"
target="$cache/rs-target"
[ $# -gt 0 ] || set -- rtp
ensure_apt pkg-config libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
mkdir -p "$out"
for plugin in "$@"; do
  case "$plugin" in
    rtp) pkg=selkies-gst-rsrtp lib=libgstselkiesrsrtp.so name=libgstrsrtp.so crate=gst-plugin-rtp ;;
    rav1e) pkg=selkies-gst-rav1e lib=libgstselkiesrav1e.so name=libgstrav1e.so crate=gst-plugin-rav1e
      ensure_apt nasm ;;
    *) echo "build-rs-plugins: unknown plugin $plugin (rtp, rav1e)" >&2; exit 2 ;;
  esac
  start=$(date +%s)
  cargo build --release --locked -j "${CARGO_BUILD_JOBS:-2}" \
    --manifest-path bundle-scripts/rs-plugins/Cargo.toml --target-dir "$target" -p "$pkg" >&2
  cp "$target/release/$lib" "$out/$name"
  # GStreamer derives the entry point from the file name: libgstrsrtp.so → gst_plugin_rsrtp_get_desc.
  sym="gst_plugin_${name#libgst}"; sym="${sym%.so}_get_desc"
  exports="$(nm -D --defined-only "$out/$name")"
  if ! grep -qw "$sym" <<<"$exports"; then
    echo "build-rs-plugins: $name does not export $sym" >&2
    exit 1
  fi
  echo "build-rs-plugins: $name built in $(( $(date +%s) - start )) s" >&2
  version="$(sed -n 's/^version = "\(.*\)"/\1/p' bundle-scripts/rs-plugins/Cargo.toml | sed -n 1p)"
  src="$(find "${CARGO_HOME:-$HOME/.cargo}/registry/src" -maxdepth 2 -type d -name "$crate-$version" | sed -n 1p)"
  cat "$src"/LICENSE* >"$out/$crate.LICENSE"
  echo "plugin $out/$name"
  echo "licence $crate=$out/$crate.LICENSE"
done
