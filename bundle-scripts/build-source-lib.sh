#!/usr/bin/env bash
# Rebuilds one Debian 12 library from its Debian source (apt-get source, Debian patches applied)
# with a leaner configuration, same version and soname, so Debian's plugins link it unchanged:
#   libnice   without UPnP-IGD, OpenSSL instead of GnuTLS: drops gupnp-igd → gupnp → libxml2 →
#             ICU (~42 MB of libraries webrtcbin never uses)
#   libsrtp2  with OpenSSL instead of NSS: drops nss3/nspr/softokn/freebl/sqlite (~5 MB) and
#             NSS's dlopen of softokn, which broke SRTP when relocated
#   pulseaudio  client libraries only (libpulse, libpulsecommon) without D-Bus, systemd, X11 and
#             asyncns: drops libdbus, libsystemd → gcrypt, gpg-error, lz4, cap (~1.2 MB compressed)
#   x265      8-bit only: Debian's libx265 carries the 8, 10 and 12-bit encoders (16 MB); the
#             streamer only encodes 8-bit 4:2:0 (≈1.3 MB compressed saved)
# Usage: build-source-lib.sh libnice|libsrtp2|pulseaudio|x265. Prints the directory holding the
# libraries and the Debian copyright file.
set -euo pipefail
cd "$(dirname "$0")/.."
. bundle-scripts/lib.sh
cache="$(realpath -m "${SELKIES_BUNDLE_CACHE:-.cache/bundle}")"
export SELKIES_BUNDLE_CACHE="$cache"
case "${1:-}" in
  libnice)
    binpkg=libnice10 sonames=(libnice.so.10) forbid='gupnp|gnutls|icu'
    opts=(-Dgupnp=disabled -Dcrypto-library=openssl -Dgstreamer=disabled -Dexamples=disabled
      -Dtests=disabled -Dintrospection=disabled -Dgtk_doc=disabled) ;;
  libsrtp2)
    binpkg=libsrtp2-1 sonames=(libsrtp2.so.1) forbid='nss|nspr'
    opts=(-Dcrypto-library=openssl -Dtests=disabled -Ddoc=disabled) ;;
  pulseaudio)
    binpkg=libpulse0 sonames=(libpulse.so.0 libpulsecommon-16.1.so) forbid='dbus|systemd|asyncns'
    opts=(-Ddaemon=false -Dclient=true -Ddoxygen=false -Dman=false -Dtests=false
      -Ddatabase=simple -Ddbus=disabled -Dsystemd=disabled -Dx11=disabled -Dasyncns=disabled
      -Dglib=disabled -Dgsettings=disabled -Dgtk=disabled -Dopenssl=disabled -Dorc=disabled
      -Dspeex=disabled -Dsoxr=disabled -Dfftw=disabled -Dudev=disabled -Dalsa=disabled
      -Davahi=disabled -Dbluez5=disabled -Djack=disabled -Dlirc=disabled -Dtcpwrap=disabled
      -Dvalgrind=disabled -Delogind=disabled -Dwebrtc-aec=disabled -Dgstreamer=disabled
      -Dbashcompletiondir=no -Dzshcompletiondir=no) ;;
  x265)
    binpkg=libx265-199 sonames=(libx265.so.199) forbid='numa'
    opts=(-DENABLE_SHARED=ON -DENABLE_CLI=OFF -DENABLE_HDR10_PLUS=OFF -DENABLE_LIBNUMA=OFF
      -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr) ;;
  *) echo "usage: $0 libnice|libsrtp2|pulseaudio|x265" >&2; exit 2 ;;
esac
name=$1
version="$(apt-cache policy "$binpkg" | sed -n 's/ *Candidate: //p')"
[ -n "$version" ] && [ "$version" != "(none)" ] || version="$(dpkg-query -W -f='${Version}' "$binpkg")"
out="$cache/$name-$version"
if [ -f "$out/.built" ]; then
  echo "$out"
  exit 0
fi
# g++: PulseAudio's meson project and x265 are C++ too (a fresh machine has only gcc).
ensure_apt meson ninja-build g++ pkg-config libglib2.0-dev libssl-dev dpkg-dev libsndfile1-dev m4 patchelf
apt_src_update
work="$cache/$name-src"
rm -rf "$work" "$out"
mkdir -p "$work" "$out"
start=$(date +%s)
# A binNMU (+bN) rebuilds the binary only; the source keeps the version without it.
(cd "$work" && apt_src source -q "$name=${version%+b[0-9]*}" >&2)
src="$(find "$work" -mindepth 1 -maxdepth 1 -type d | sed -n 1p)"
if [ "$name" = x265 ]; then
  ensure_apt cmake nasm
  cmake -S "$src/source" -B "$src/build" -G Ninja "${opts[@]}" >&2
  ninja -C "$src/build" -j "${CARGO_BUILD_JOBS:-2}" >&2
else
  [ -f "$src/meson.build" ] || { echo "$0: apt-get source $name gave no meson tree" >&2; exit 1; }
  meson setup "$src/build" "$src" --prefix=/usr --libdir=lib/x86_64-linux-gnu --buildtype=release \
    "${opts[@]}" >&2
  ninja -C "$src/build" >&2
fi
for soname in "${sonames[@]}"; do
  lib="$(find "$src/build" -name "$soname*" -type f | sed -n 1p)"
  [ -n "$lib" ] || { echo "$0: $soname was not built" >&2; exit 1; }
  cp -L "$lib" "$out/$soname"
  strip --strip-unneeded "$out/$soname"
  # Meson's build-tree RUNPATH ($ORIGIN/..:XXXX placeholder) is meaningless in the bundle; the
  # launcher's --library-path finds everything.
  patchelf --remove-rpath "$out/$soname"
  got="$(readelf -d "$out/$soname" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')"
  [ "$got" = "$soname" ] || { echo "$0: built soname '$got', Debian's is $soname" >&2; exit 1; }
  needed="$(readelf -d "$out/$soname" | grep NEEDED)"
  if grep -qiE "$forbid" <<<"$needed"; then
    echo "$0: rebuilt $soname still links one of: $forbid" >&2
    exit 1
  fi
done
cp "$src/debian/copyright" "$out/copyright"
echo "$0: $name $version built in $(( $(date +%s) - start )) s" >&2
touch "$out/.built"
echo "$out"
