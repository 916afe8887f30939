#!/usr/bin/env bash
# The conda recipes (conda-recipes/, docs/deploy.md), offline. py-rattler-build and py-rattler
# come from PyPI into a venv under .cache/ (the only network use); everything after that runs in
# a network namespace with loopback only, so no conda channel on the network can be reached:
#  1. conda-recipes/selkies-gstreamer (source build against conda-forge, which is unreachable):
#     rendered by rattler-build, and its rendered test commands run against the portable tarball;
#  2. conda-recipes/selkies-gstreamer-portable: built from the tarball into a local channel (the
#     recipe's own tests run there too), a fresh environment created from that channel alone,
#     `selkies-gstreamer-run --version` and `--probe --json` run from it, one stream from the
#     environment's copy (ci/e2e/bundle.test.mjs, first case, given that copy re-archived, so
#     the bytes streamed are the ones conda installed), then the environment removed.
# Reuses the newest tarball in dist/ (60-bundle builds it); builds one when there is none.
# SELKIES_BUNDLE_TARBALL names another. Needs root (unshare, chroot).
set -euo pipefail
cd "$(dirname "$0")/../.."
. bundle-scripts/lib.sh
ensure_apt util-linux iproute2 tar gzip python3-venv xvfb x11-utils x11-xserver-utils x11-apps \
  xdotool chromium
say() { echo "68-conda: $*"; }
fail() { echo "68-conda: FAIL: $*" >&2; exit 1; }

venv=.cache/conda-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import rattler, rattler_build' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check py-rattler-build==0.73.0 py-rattler==0.28.0
fi
say "py-rattler-build $("$venv/bin/python" -c 'import rattler_build; print(rattler_build.rattler_build_version())')"

tarball="${SELKIES_BUNDLE_TARBALL:-$(ls -t dist/selkies-gstreamer-portable-v*_amd64.tar.gz 2>/dev/null | sed -n 1p)}"
if [ -z "$tarball" ]; then
  # shellcheck disable=SC2086
  tarball="$(bundle-scripts/build.sh ${SELKIES_BUNDLE_BUILD_ARGS:---require-all})"
fi
[ -f "$tarball" ] || fail "no tarball at '$tarball'"
tarball="$(realpath "$tarball")"
version="$(basename "$tarball" | sed -n 's/^selkies-gstreamer-portable-v\(.*\)_amd64\.tar\.gz$/\1/p')"
[ -n "$version" ] || fail "cannot read the version from $(basename "$tarball")"
say "tarball $tarball (version $version)"
if [ ! -d web/node_modules/playwright-core ]; then (cd web && npm ci --no-audit --no-fund); fi

work="$(mktemp -d /tmp/selkies-conda-check.XXXXXX)"
trap 'rm -rf "$work"' EXIT
export work tarball version venv

# Everything below: loopback only.
unshare --net -- bash -euo pipefail -c '
ip link set lo up
say() { echo "68-conda: $*"; }
fail() { echo "68-conda: FAIL: $*" >&2; exit 1; }
py="$venv/bin/python"

# 1. source recipe: renders; its test commands pass against the tarball.
"$py" conda-recipes/tools/conda_check.py render-source >"$work/source-tests.txt"
[ -s "$work/source-tests.txt" ] || fail "the source recipe renders no test command"
mkdir -p "$work/tarball"
tar -xzf "$tarball" -C "$work/tarball"
b="$work/tarball/selkies-gstreamer"
while IFS= read -r cmd; do
  # The tarball layout has the launcher at its top and the host and GStreamer tools in bin/.
  PATH="$b:$b/bin:/usr/bin:/bin" HOME="$work" XDG_CACHE_HOME="$work/cache" bash -c "$cmd" \
    >"$work/out.txt" 2>&1 || { tail -20 "$work/out.txt" >&2; fail "source recipe test \`$cmd\` against the tarball"; }
  say "source recipe test passes against the tarball: $cmd"
done <"$work/source-tests.txt"

# 2. portable recipe: build into a local channel (runs the recipe tests), fresh env from it.
channel="$work/channel" env="$work/env"
SELKIES_BUNDLE_TARBALL="$tarball" SELKIES_VERSION="$version" \
  "$py" conda-recipes/tools/conda_check.py build-portable "$channel" >"$work/build.log" 2>&1 ||
  { tail -30 "$work/build.log" >&2; fail "rattler-build of selkies-gstreamer-portable"; }
pkg="$(ls "$channel"/linux-64/selkies-gstreamer-portable-"$version"-*.conda)"
say "built $(basename "$pkg") ($(stat -c %s "$pkg") bytes; recipe tests passed)"
"$py" conda-recipes/tools/conda_check.py create-env "$channel" "$env"
"$env/bin/selkies-gstreamer-run" --version || fail "selkies-gstreamer-run --version from the environment"
HOME="$work" XDG_CACHE_HOME="$work/cache" "$env/bin/selkies-gstreamer-run" --probe --json >"$work/probe.json" ||
  fail "selkies-gstreamer-run --probe --json from the environment"
"$py" -c "import json,sys; d=json.load(open(sys.argv[1])); print(\"68-conda: probe JSON ok:\", \", \".join(sorted(d)[:8]))" \
  "$work/probe.json" || fail "--probe --json printed no valid JSON"
cmp -s "$env/opt/selkies-gstreamer/selkies-gstreamer-run" "$b/selkies-gstreamer-run" ||
  fail "the environment holds another launcher than the tarball"

# One stream from the environment copy (the bundle e2e, first case only).
tar -czf "$work/from-env.tar.gz" -C "$env/opt" selkies-gstreamer
SELKIES_BUNDLE_TARBALL="$work/from-env.tar.gz" node --test --test-concurrency=1 --test-reporter=spec \
  --test-name-pattern="extracted under a path" ci/e2e/bundle.test.mjs

rm -rf "$env"
[ ! -e "$env" ] || fail "environment not removed"
say "environment removed"
'
say "passed"
