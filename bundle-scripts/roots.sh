# shellcheck shell=bash
# Debian roots for the slow root tests (ci/test-example-root, ci/test-demo-fresh-root): a cached
# debootstrap --variant=minbase root per suite, the stand-in for the debian:<suite>-slim image
# (and for a fresh machine), and throwaway copies of it. Sourced after bundle-scripts/lib.sh.
#
# The cache lives outside the repository: SELKIES_ROOTS_CACHE (default /var/cache/selkies-roots).
# The mirror is the one this machine's apt uses (bundle-scripts/debian-mirror.sh).

roots_cache() {
  local dir="${SELKIES_ROOTS_CACHE:-/var/cache/selkies-roots}"
  mkdir -p "$dir"
  echo "$dir"
}

# roots_base SUITE: prints the cached minbase root of SUITE, made on first use. Its apt sources
# carry SUITE, SUITE-updates and SUITE-security (when this machine has a security mirror), like
# the Debian images' sources.
roots_base() {
  local suite=$1 cache base mirror security
  cache="$(roots_cache)"
  base="$cache/$suite-minbase"
  if [ ! -f "$base/.complete" ]; then
    ensure_apt debootstrap
    mirror="$(debian_mirror "$suite")" || return 1
    security="$(debian_security_mirror "$suite")"
    echo "roots: debootstrap --variant=minbase $suite (mirror from this machine's apt sources)" >&2
    rm -rf "$base" "$base.tmp"
    if ! debootstrap --variant=minbase "$suite" "$base.tmp" "$mirror" >"$cache/$suite-minbase.log" 2>&1; then
      echo "roots: debootstrap $suite failed (see $cache/$suite-minbase.log)" >&2
      return 1
    fi
    {
      echo "deb $mirror $suite main"
      echo "deb $mirror $suite-updates main"
      [ -z "$security" ] || echo "deb $security $suite-security main"
    } >"$base.tmp/etc/apt/sources.list"
    mv "$base.tmp" "$base"
    touch "$base/.complete"
  fi
  echo "$base"
}

# roots_mount_image DIR LOWER [SCRATCH]: makes DIR a writable view of LOWER (overlayfs whose
# upper layer is SCRATCH.upper, default beside DIR — it must not itself be on an overlay; a full
# copy where overlayfs is refused). Call it inside a private mount namespace so the mount goes
# away with the caller.
roots_mount_image() {
  local dir=$1 lower=$2 scratch=${3:-$1}
  mkdir -p "$dir" "$scratch.upper" "$scratch.work"
  if ! mount -t overlay overlay -o "lowerdir=$lower,upperdir=$scratch.upper,workdir=$scratch.work" "$dir" 2>/dev/null; then
    echo "roots: overlayfs refused; copying $lower" >&2
    cp -a "$lower/." "$dir/"
  fi
}
