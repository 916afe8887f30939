#!/usr/bin/env bash
# Rebuilds one Debian 12 library from its Debian source (apt-get source, Debian patches applied)
# with a leaner configuration, same version and soname, so Debian's plugins link it unchanged:
#   libnice   without UPnP-IGD, OpenSSL instead of GnuTLS: drops gupnp-igd → gupnp → libxml2 →
#             ICU (~42 MB of libraries webrtcbin never uses)
#   libsrtp2  with OpenSSL instead of NSS: drops nss3/nspr/softokn/freebl/sqlite (~5 MB) and
#             NSS's dlopen of softokn, which broke SRTP when relocated
#   dbus      (libdbus-1 for libpulse) without systemd: drops libsystemd → gcrypt, gpg-error,
#             lz4, cap (~1.1 MB compressed); only the library is built
# Usage: build-source-lib.sh libnice|libsrtp2|dbus. Prints the directory holding the library and
# its Debian copyright file.
set -euo pipefail
cd "$(dirname "$0")/.."
. bundle-scripts/lib.sh
cache="$(realpath -m "${SELKIES_BUNDLE_CACHE:-.cache/bundle}")"
export SELKIES_BUNDLE_CACHE="$cache"
case "${1:-}" in
  libnice)
    binpkg=libnice10 soname=libnice.so.10 forbid='gupnp|gnutls|icu'
    opts=(-Dgupnp=disabled -Dcrypto-library=openssl -Dgstreamer=disabled -Dexamples=disabled
      -Dtests=disabled -Dintrospection=disabled -Dgtk_doc=disabled) ;;
  libsrtp2)
    binpkg=libsrtp2-1 soname=libsrtp2.so.1 forbid='nss|nspr'
    opts=(-Dcrypto-library=openssl -Dtests=disabled -Ddoc=disabled) ;;
  dbus)
    binpkg=libdbus-1-3 soname=libdbus-1.so.3 forbid='systemd'
    opts=(--disable-systemd --disable-selinux --disable-apparmor --disable-libaudit
      --disable-tests --disable-modular-tests --without-x --disable-doxygen-docs
      --disable-xml-docs --disable-ducktype-docs --disable-user-session) ;;
  *) echo "usage: $0 libnice|libsrtp2|dbus" >&2; exit 2 ;;
esac
name=$1
version="$(apt-cache policy "$binpkg" | sed -n 's/ *Candidate: //p')"
[ -n "$version" ] && [ "$version" != "(none)" ] || version="$(dpkg-query -W -f='${Version}' "$binpkg")"
out="$cache/$name-$version"
if [ -f "$out/.built" ]; then
  echo "$out"
  exit 0
fi
ensure_apt meson ninja-build pkg-config libglib2.0-dev libssl-dev dpkg-dev libexpat1-dev
apt_src_update
work="$cache/$name-src"
rm -rf "$work" "$out"
mkdir -p "$work" "$out"
start=$(date +%s)
(cd "$work" && apt_src source -q "$name=$version" >&2)
src="$(find "$work" -mindepth 1 -maxdepth 1 -type d | sed -n 1p)"
if [ "$name" = dbus ]; then
  # dbus 1.14 builds with autotools; only the client library is needed.
  (cd "$src" && ./configure -q --prefix=/usr --libdir=/usr/lib/x86_64-linux-gnu "${opts[@]}" >&2 &&
    make -s -j "${CARGO_BUILD_JOBS:-2}" -C dbus libdbus-1.la >&2)
  mkdir -p "$src/build" && cp -L "$src/dbus/.libs/$soname" "$src/build/"
else
  [ -f "$src/meson.build" ] || { echo "$0: apt-get source $name gave no meson tree" >&2; exit 1; }
  meson setup "$src/build" "$src" --prefix=/usr --libdir=lib/x86_64-linux-gnu --buildtype=release \
    "${opts[@]}" >&2
  ninja -C "$src/build" >&2
fi
lib="$(find "$src/build" -name "${soname%%.so*}.so*" -type f | sed -n 1p)"
[ -n "$lib" ] || { echo "$0: no ${soname%%.so*}.so built" >&2; exit 1; }
cp -L "$lib" "$out/$soname"
strip --strip-unneeded "$out/$soname"
cp "$src/debian/copyright" "$out/copyright"
got="$(readelf -d "$out/$soname" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')"
[ "$got" = "$soname" ] || { echo "$0: built soname '$got', Debian's is $soname" >&2; exit 1; }
needed="$(readelf -d "$out/$soname" | grep NEEDED)"
if grep -qiE "$forbid" <<<"$needed"; then
  echo "$0: rebuilt $soname still links one of: $forbid" >&2
  exit 1
fi
echo "$0: $name $version built in $(( $(date +%s) - start )) s" >&2
touch "$out/.built"
echo "$out"
