#!/usr/bin/env bash
# The WebSocket transport end to end (docs/connectivity.md "Two transports"): the real host,
# Xvfb, PulseAudio, Debian's Chromium and nginx. First on loopback (`unshare --net`): forced
# `?transport=websocket`, auto on a healthy network, hostile frames, a slow consumer. Then
# behind nginx: three network namespaces — the host's (this one), nginx's, the browser's —
# joined by veth pairs with no forwarding, so the browser reaches nothing but nginx's port,
# ICE fails and the page falls back to the WebSocket on its own.
# Needs root, the apt packages of ci/install-deps (nginx among them) and `npm ci` in web/.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)

. ci/checks/lib/common.sh
need_debs 72-ws-transport nginx xclip
web_client --rebuild
host_binary

unshare --net -- bash -c 'ip link set lo up && exec node --test --test-concurrency=1 ci/e2e/ws-transport.test.mjs'

# Behind the proxy. Namespaces are named per run and removed on exit.
export PX="selkies-px-$$" BR="selkies-br-$$" PORT=18091 WORK
WORK=$(mktemp -d)
cleanup() {
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  ip netns del "$PX" 2>/dev/null || true
  ip netns del "$BR" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
cat > "$WORK/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events {}
http {
  access_log off;
  client_body_temp_path $WORK/body;
  proxy_temp_path $WORK/proxy;
  map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
  server {
    listen 10.77.1.1:8080;
    location / {
      proxy_pass http://10.77.2.2:$PORT;
      proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection \$connection_upgrade;
      proxy_set_header Host \$http_host;
      proxy_read_timeout 1h;
      proxy_send_timeout 1h;
      proxy_buffering off;
    }
  }
}
CONF
# Chromium starts in the browser's namespace; its origin is plain HTTP on a LAN address, which
# WebCodecs and AudioWorklet only accept as a secure context when told so.
cat > "$WORK/chromium" <<SH
#!/bin/sh
exec ip netns exec $BR ${CHROMIUM_BIN:-/usr/bin/chromium} --unsafely-treat-insecure-origin-as-secure=http://10.77.1.1:8080 "\$@"
SH
chmod +x "$WORK/chromium"
ip netns add "$PX"
ip netns add "$BR"
unshare --net -- bash -c '
  set -euo pipefail
  ip link set lo up
  ip link add h0 type veth peer name p0 netns "$PX"
  ip addr add 10.77.2.2/24 dev h0 && ip link set h0 up
  ip -n "$PX" link add p1 type veth peer name b0 netns "$BR"
  ip -n "$PX" addr add 10.77.2.1/24 dev p0 && ip -n "$PX" link set p0 up
  ip -n "$PX" addr add 10.77.1.1/24 dev p1 && ip -n "$PX" link set p1 up && ip -n "$PX" link set lo up
  ip -n "$BR" addr add 10.77.1.2/24 dev b0 && ip -n "$BR" link set b0 up && ip -n "$BR" link set lo up
  ip netns exec "$PX" sysctl -qw net.ipv4.ip_forward=0
  ip netns exec "$PX" nginx -e "$WORK/nginx-error.log" -c "$WORK/nginx.conf"
  E2E_PORT=$PORT WS_PROXY_ORIGIN=http://10.77.1.1:8080 CHROMIUM_BIN="$WORK/chromium" \
    node --test --test-concurrency=1 ci/e2e/ws-transport.test.mjs
'
echo "72-ws-transport: $(( $(date +%s) - start )) s"
