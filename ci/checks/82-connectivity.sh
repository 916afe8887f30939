#!/usr/bin/env bash
# "UDP blocked, one TCP port open": the browser in its own network namespace behind an nftables
# filter that passes only TCP to the host's port, so it streams through the host's embedded TURN
# relay over TCP (ci/e2e/one-port-filtered.test.mjs, docs/connectivity.md). Needs root (network
# namespaces, veth, nf_tables), the apt packages of ci/install-deps (nftables is installed here
# if missing) and `npm ci` in web/. The legacy-client case runs when SELKIES_LEGACY_ROOT (default
# /tmp/legacy-web/addons/gst-web/src) holds the legacy web client, and is skipped otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)

. ci/checks/lib/common.sh
need_debs 82-connectivity nftables
web_client
host_binary

rm -f /tmp/selkies_config.json
unshare --net -- bash -c 'ip link set lo up && exec node --test --test-concurrency=1 --test-reporter=spec ci/e2e/one-port-filtered.test.mjs'
echo "82-connectivity: $(( $(date +%s) - start )) s"
