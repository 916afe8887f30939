#!/usr/bin/env bash
# Builds selkies_joystick_interposer.so so that it loads on glibc >= 2.17 (games in old
# containers): cargo-zigbuild links against zig's glibc 2.17 stubs, so no symbol newer than
# GLIBC_2.17 can be referenced. cargo-zigbuild and zig come from PyPI into a venv under .cache/.
# Prints the path of the built library on stdout; everything else goes to stderr.
#
#   js-interposer/build-portable.sh           x86_64 (rustup toolchain)
#   js-interposer/build-portable.sh --i686    32-bit, for 32-bit games (Wine, old Steam titles)
#
# rustup has no i686 std here, so the 32-bit build uses Debian's own compiler: rustc-web plus the
# i686 std rlibs of the same version from the i386 archive, all extracted from .debs under
# .cache/i686 (no dpkg architecture is added and nothing is installed system-wide). Only the
# i386 main index is read: the security index is often mid-sync for i386.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=../interposer-rt/zigbuild-env.sh
. interposer-rt/zigbuild-env.sh

if [ "${1:-}" != "--i686" ]; then
  cargo zigbuild -j"${CARGO_BUILD_JOBS:-2}" --release --locked \
    -p selkies-js-interposer --target x86_64-unknown-linux-gnu.2.17 >&2
  echo "$ROOT/target/x86_64-unknown-linux-gnu/release/libselkies_joystick_interposer.so"
  exit 0
fi

P=$ROOT/.cache/i686
R=$P/root
if [ ! -x "$P/rustc" ]; then
  mkdir -p "$P/lists/partial" "$P/cache/archives/partial" "$P/debs"
  touch "$P/status"
  I386=(-o APT::Architecture=i386 -o APT::Architectures=i386 -o "Dir::State::Lists=$P/lists"
        -o "Dir::Cache=$P/cache" -o "Dir::State::Status=$P/status" -o Debug::NoLocking=1)
  # A failing (mid-sync) security index is reported but does not matter: main is enough.
  apt-get -q "${I386[@]}" update >&2 || true
  V=$(apt-cache "${I386[@]}" show libstd-rust-web-dev | awk '/^Version:/{print $2; exit}')
  [ -n "$V" ] || { echo "build-portable: no i386 libstd-rust-web-dev in the Debian index" >&2; exit 2; }
  MM=$(echo "$V" | sed -E 's/^([0-9]+\.[0-9]+).*/\1/')
  LLVM=$(apt-cache depends "libstd-rust-web-$MM=$V" | awk '/Depends: libllvm/{print $2; exit}')
  echo "build-portable: Debian rustc-web $V ($LLVM)" >&2
  rm -rf "$P/debs"/* "$R" && mkdir -p "$R"
  (cd "$P/debs" && apt-get -q download "rustc-web=$V" "libstd-rust-web-$MM=$V" "libstd-rust-web-dev=$V" "$LLVM" >&2 \
     && apt-get -q "${I386[@]}" download "libstd-rust-web-dev=$V" >&2) 2> >(grep -v 'unsandboxed' >&2)
  for d in "$P"/debs/*_amd64.deb; do dpkg-deb -x "$d" "$R"; done
  dpkg-deb -x "$P"/debs/libstd-rust-web-dev_*_i386.deb "$P/i386"
  cp -a "$P/i386/usr/lib/rustlib/i686-unknown-linux-gnu" "$R/usr/lib/rustlib/"
  rm -rf "$P/i386"
  printf '#!/bin/sh\nLD_LIBRARY_PATH="%s/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "%s/usr/bin/rustc" "$@"\n' \
    "$R" "$R" > "$P/rustc.new"
  chmod +x "$P/rustc.new" && mv "$P/rustc.new" "$P/rustc"
fi
# Debian's rustc is older than the workspace MSRV; the interposer and its wire crate stay within
# what it supports (checked by this build). A separate target dir keeps the two compilers'
# artefacts apart.
CARGO_TARGET_DIR=$ROOT/target/i686-debian RUSTC=$P/rustc cargo zigbuild -j"${CARGO_BUILD_JOBS:-2}" \
  --release --locked --ignore-rust-version -p selkies-js-interposer --target i686-unknown-linux-gnu.2.17 >&2
echo "$ROOT/target/i686-debian/i686-unknown-linux-gnu/release/libselkies_joystick_interposer.so"
