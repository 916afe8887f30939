# Sourced by ci/bench-abr and ci/checks/84-abr.sh: coturn, and rtpgccbwe on GST_PLUGIN_PATH.
# Debian 12 has no gst-plugins-rs package; the bundle builds the plugin (docs/bundle.md) and a
# build already made is reused.
if ! command -v turnserver >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends coturn || { apt-get update -q && apt-get install -y -q --no-install-recommends coturn; }
fi
if ! gst-inspect-1.0 rtpgccbwe >/dev/null 2>&1; then
  rs_plugins="$(realpath -m "${SELKIES_BUNDLE_CACHE:-.cache/bundle}")/rs-plugins"
  [ -f "$rs_plugins/libgstrsrtp.so" ] || bundle-scripts/build-rs-plugins.sh rtp >/dev/null
  export GST_PLUGIN_PATH="$rs_plugins${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
fi
