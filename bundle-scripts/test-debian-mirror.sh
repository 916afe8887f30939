#!/usr/bin/env bash
# Self-test of bundle-scripts/debian-mirror.sh against a made-up /etc/apt (both source formats,
# options, disabled entries, files apt ignores, the override). Run by ci/checks/69-deploy.sh.
set -euo pipefail
. "$(dirname "$0")/debian-mirror.sh"
etc="$(mktemp -d)"
trap 'rm -rf "$etc"' EXIT
mkdir -p "$etc/sources.list.d"
cat >"$etc/sources.list" <<'LIST'
# a comment
deb [signed-by=/k.gpg arch=amd64] http://main.example.invalid/debian/ bookworm main contrib
deb-src http://src.example.invalid/debian bookworm main
deb http://sec.example.invalid/debian-security bookworm-security main # trailing comment
LIST
cat >"$etc/sources.list.d/more.sources" <<'LIST'
Types: deb-src
URIs: http://src.example.invalid/debian
Suites: trixie

Types: deb
Enabled: no
URIs: http://off.example.invalid/debian
Suites: trixie

# two URIs, two suites
Types: deb deb-src
URIs: http://t1.example.invalid/debian http://t2.example.invalid/debian
Suites: trixie trixie-updates
Components: main
LIST
echo 'deb http://ignored.example.invalid/debian bullseye main' >"$etc/sources.list.d/x.list.disabled"
export SELKIES_APT_ETC="$etc"
fail=0
expect() {
  if [ "$2" != "$3" ]; then echo "test-debian-mirror: FAIL: $1: got '$2', want '$3'" >&2; fail=1; fi
}
expect "bookworm" "$(debian_mirror)" http://main.example.invalid/debian
expect "security" "$(debian_security_mirror)" http://sec.example.invalid/debian-security
expect "trixie (deb822, first URI)" "$(debian_mirror trixie)" http://t1.example.invalid/debian
expect "bullseye (falls back to the bookworm archive)" "$(debian_mirror bullseye)" http://main.example.invalid/debian
expect "no trixie-security" "$(debian_security_mirror trixie)" ""
expect "entries" "$(debian_apt_entries | wc -l)" 6
expect "override" "$(SELKIES_DEBIAN_MIRROR=http://local.example.invalid/m/ debian_mirror)" http://local.example.invalid/m
rm "$etc/sources.list"
rm "$etc/sources.list.d/more.sources"
if debian_mirror 2>/dev/null; then echo "test-debian-mirror: FAIL: no sources must be an error" >&2; fail=1; fi
[ "$fail" = 0 ] && echo "test-debian-mirror: passed"
exit "$fail"
