#!/usr/bin/env bash
# The launcher (selkies-gstreamer-run): builds it static in release, checks it needs no
# GLIBC_ version above 2.17 (static: none at all), runs the launcher's tests against that
# static binary, then runs it in a chroot holding nothing but a minimal bundle.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

for p in binutils file gcc; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$p"
  fi
done

mapfile -t built < <(launcher/build-static.sh)
launcher="${built[0]}"
helper="${built[1]}"
echo "launcher: $launcher ($(stat -c %s "$launcher") bytes)"
file "$launcher"

# 1. glibc floor: static (no PT_INTERP, no NEEDED) or at most GLIBC_2.17.
if readelf -lW "$launcher" | grep -q 'Requesting program interpreter'; then
  max=$(objdump -T "$launcher" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
  echo "launcher is dynamic; highest symbol version: ${max:-none}"
  if [ -n "$max" ] && [ "$(printf '%s\nGLIBC_2.17\n' "$max" | sort -V | tail -1)" != "GLIBC_2.17" ]; then
    echo "FAIL: launcher needs $max (> GLIBC_2.17)"; exit 1
  fi
else
  if readelf -d "$launcher" | grep -q NEEDED; then
    echo "FAIL: launcher has no interpreter but NEEDs libraries"; exit 1
  fi
  versions=$(objdump -T "$launcher" 2>/dev/null | grep -c 'GLIBC_' || true)
  [ "$versions" = 0 ] || { echo "FAIL: static launcher references GLIBC_ versions"; exit 1; }
  echo "launcher is static-pie: needs no GLIBC_ version"
fi

# 2. The launcher's tests, with the static release binary as the launcher under test.
SELKIES_TEST_LAUNCHER="$launcher" cargo test --locked -p selkies-launcher

# 3. A root holding only a minimal bundle (no libc outside it): the static launcher starts,
#    finds no host glibc, picks the bundled loader, and the dlopen probe helper runs under it.
scratch=$(mktemp -d)
trap 'umount "$scratch/root/proc" 2>/dev/null || true; rm -rf "$scratch"' EXIT
b="$scratch/root/opt/a dir ü/selkies-gstreamer"
mkdir -p "$b/libexec" "$b/lib/glibc" "$b/lib/gstreamer-1.0" "$scratch/root/dev" "$scratch/root/proc"
mount -t proc proc "$scratch/root/proc"
cp "$launcher" "$b/selkies-gstreamer-run"
cp "$helper" "$b/libexec/selkies-gpu-probe"
for lib in ld-linux-x86-64.so.2 libc.so.6 libm.so.6 libgcc_s.so.1; do
  cp -L "/lib/x86_64-linux-gnu/$lib" "$b/lib/glibc/"
done
: > "$b/lib/gstreamer-1.0/libgstx264.so"
json=$(chroot "$scratch/root" "/opt/a dir ü/selkies-gstreamer/selkies-gstreamer-run" --probe --json)
echo "$json" | grep -q '"mode": "bundled"' || { echo "FAIL: chroot probe did not pick the bundled glibc"; echo "$json"; exit 1; }
echo "$json" | grep -q '"libraries_probed": true' || { echo "FAIL: probe helper did not run in the chroot"; echo "$json"; exit 1; }
echo "$json" | grep -q '"default_encoder": "x264enc"' || { echo "FAIL: wrong default encoder"; echo "$json"; exit 1; }
echo "chroot probe: bundled glibc, helper ran, default x264enc"
