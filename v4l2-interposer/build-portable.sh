#!/usr/bin/env bash
# Builds selkies_v4l2_interposer.so so that it loads on glibc >= 2.17 (applications in old
# containers), exactly as js-interposer/build-portable.sh does for the joystick interposer:
# cargo-zigbuild links against zig's glibc 2.17 stubs, so no symbol newer than GLIBC_2.17 can be
# referenced. Both use interposer-rt/zigbuild-env.sh. Prints the library's path on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=../interposer-rt/zigbuild-env.sh
. interposer-rt/zigbuild-env.sh
cargo zigbuild -j"${CARGO_BUILD_JOBS:-2}" --release --locked \
  -p selkies-v4l2-interposer --target x86_64-unknown-linux-gnu.2.17 >&2
echo "$ROOT/target/x86_64-unknown-linux-gnu/release/libselkies_v4l2_interposer.so"
