#!/usr/bin/env bash
# Builds the launcher as a static-pie binary (glibc crt-static: no GLIBC_ version needed at run
# time, starts even where the host has no libc) and the dynamic probe helper that it runs
# through the bundle's loader. The static build uses its own target dir so the RUSTFLAGS do not
# invalidate the workspace's shared release build.
# Prints two lines: the launcher path, then the probe helper path (libexec/selkies-gpu-probe).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${CARGO_BUILD_JOBS:-2}"
target=x86_64-unknown-linux-gnu
RUSTFLAGS="-C target-feature=+crt-static" \
  cargo build --release --locked -j"$jobs" -p selkies-launcher --bin selkies-gstreamer-run \
  --target "$target" --target-dir target/static >&2
cargo build --release --locked -j"$jobs" -p selkies-launcher --bin selkies-gpu-probe >&2
echo "$PWD/target/static/$target/release/selkies-gstreamer-run"
echo "$PWD/target/release/selkies-gpu-probe"
