#!/usr/bin/env bash
# Builds selkies_v4l2_interposer.so so that it loads on glibc >= 2.17 (applications in old
# containers), exactly as js-interposer/build-portable.sh does for the joystick interposer:
# cargo-zigbuild links against zig's glibc 2.17 stubs, so no symbol newer than GLIBC_2.17 can be
# referenced. Shares that script's venv under .cache/. Prints the library's path on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=.cache/zigvenv
if [ ! -x "$VENV/bin/cargo-zigbuild" ]; then
  if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    echo "build-portable: installing python3-venv" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2 && apt-get install -y -q --no-install-recommends python3-venv >&2
  fi
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q 'cargo-zigbuild==0.24.*' >&2
fi
export PATH="$ROOT/$VENV/bin:$PATH"
cargo zigbuild -j"${CARGO_BUILD_JOBS:-2}" --release --locked \
  -p selkies-v4l2-interposer --target x86_64-unknown-linux-gnu.2.17 >&2
echo "$ROOT/target/x86_64-unknown-linux-gnu/release/libselkies_v4l2_interposer.so"
