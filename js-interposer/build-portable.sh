#!/usr/bin/env bash
# Builds selkies_joystick_interposer.so so that it loads on glibc >= 2.17 (games in old
# containers): cargo-zigbuild links against zig's glibc 2.17 stubs, so no symbol newer than
# GLIBC_2.17 can be referenced. cargo-zigbuild and zig come from PyPI (ziglang) into a venv
# under .cache/ (no system install). Prints the path of the built library on stdout.
#
# Usage: js-interposer/build-portable.sh            (x86_64)
set -euo pipefail
cd "$(dirname "$0")/.."
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
PATH="$PWD/$VENV/bin:$PATH" cargo zigbuild -j"${CARGO_BUILD_JOBS:-2}" --release --locked \
  -p selkies-js-interposer --target x86_64-unknown-linux-gnu.2.17 >&2
echo "$PWD/target/x86_64-unknown-linux-gnu/release/libselkies_joystick_interposer.so"
