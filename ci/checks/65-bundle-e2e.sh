#!/usr/bin/env bash
# End to end from the portable tarball: the bundle, extracted to a path with spaces and non-ASCII
# into a root that holds nothing else, runs selkies-gstreamer-run in a chroot (X socket bound in,
# no PulseAudio, no host library) and streams to Debian's Chromium, all inside one loopback-only
# network namespace; then the same after moving the extracted directory (registry rebuilt).
# Reuses the tarball that 60-bundle built in dist/ (the newest one); builds it when there is none.
# SELKIES_BUNDLE_TARBALL names another tarball. Needs root (unshare, chroot, mount).
set -euo pipefail
cd "$(dirname "$0")/../.."
. bundle-scripts/lib.sh
ensure_apt util-linux iproute2 tar gzip xvfb x11-utils x11-xserver-utils x11-apps xdotool chromium \
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-x

if [ -z "${SELKIES_BUNDLE_TARBALL:-}" ]; then
  SELKIES_BUNDLE_TARBALL="$(ls -t dist/selkies-gstreamer-portable-v*_amd64.tar.gz 2>/dev/null | sed -n 1p || true)"
  if [ -z "$SELKIES_BUNDLE_TARBALL" ]; then
    # shellcheck disable=SC2086
    SELKIES_BUNDLE_TARBALL="$(bundle-scripts/build.sh ${SELKIES_BUNDLE_BUILD_ARGS:---require-all})"
  fi
fi
[ -f "$SELKIES_BUNDLE_TARBALL" ] || { echo "65-bundle-e2e: FAIL: no tarball at '$SELKIES_BUNDLE_TARBALL'" >&2; exit 1; }
# Listed first: `tar | grep -q` can kill tar with SIGPIPE, which pipefail reports as failure.
listing="$(tar -tzf "$SELKIES_BUNDLE_TARBALL")"
grep -qxF selkies-gstreamer/libexec/selkies-gstreamer <<<"$listing" ||
  { echo "65-bundle-e2e: FAIL: $SELKIES_BUNDLE_TARBALL has no host (libexec/selkies-gstreamer)" >&2; exit 1; }
echo "65-bundle-e2e: tarball $SELKIES_BUNDLE_TARBALL ($(stat -c %s "$SELKIES_BUNDLE_TARBALL") bytes)"
SELKIES_BUNDLE_TARBALL="$(realpath "$SELKIES_BUNDLE_TARBALL")"
export SELKIES_BUNDLE_TARBALL

# playwright-core drives Chromium from outside the chroot (it downloads no browser).
if [ ! -d web/node_modules/playwright-core ]; then (cd web && npm ci --no-audit --no-fund); fi

exec unshare --net -- bash -c 'ip link set lo up && exec node --test --test-concurrency=1 --test-reporter=spec ci/e2e/bundle.test.mjs'
