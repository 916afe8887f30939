# Runs things from an extracted bundle inside an empty root: a chroot holding only the bundle,
# /dev, /proc and /tmp, in private mount and network namespaces with nothing but loopback.
# Sourced by ci/checks/60-bundle.sh and ci/test-bundle-roots; later end-to-end steps can use
# bundle_chroot to start selkies-gstreamer-run the same way (set BUNDLE_X11=1 to bind the X
# socket directory into the root's /tmp).

# bundle_extract TARBALL ROOT RELDIR: extracts into ROOT/RELDIR (created), prints the bundle dir.
bundle_extract() {
  local tarball=$1 root=$2 rel=$3
  mkdir -p "$root/$rel" "$root/dev" "$root/proc" "$root/tmp"
  chmod 1777 "$root/tmp"
  tar -xzf "$tarball" -C "$root/$rel"
  echo "$root/$rel/selkies-gstreamer"
}

# bundle_chroot ROOT [VAR=value...] -- COMMAND [ARGS...]: COMMAND is a path inside ROOT. The
# environment is exactly the given variables plus HOME and XDG_CACHE_HOME under /tmp.
# BUNDLE_NET=shared keeps the caller's network namespace (a test that runs the browser beside
# the host in its own loopback-only namespace); by default the command gets a fresh one.
bundle_chroot() {
  local root=$1; shift
  local net=(--net)
  [ "${BUNDLE_NET:-}" = shared ] && net=()
  local envs=(HOME=/tmp XDG_CACHE_HOME=/tmp/cache PATH=/nonexistent)
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  unshare --mount "${net[@]}" --fork -- bash -euc '
    root=$1; x11=$2; shift 2
    mount --make-rprivate /
    ip link set lo up
    mount --rbind /dev "$root/dev"
    mount -t proc proc "$root/proc"
    if [ "$x11" = 1 ] && [ -d /tmp/.X11-unix ]; then
      mkdir -p "$root/tmp/.X11-unix"
      mount --bind /tmp/.X11-unix "$root/tmp/.X11-unix"
    fi
    n=$1; shift
    envs=("${@:1:$n}"); shift "$n"
    exec env -i "${envs[@]}" "$(command -v chroot)" "$root" "$@"
  ' _ "$root" "${BUNDLE_X11:-0}" "${#envs[@]}" "${envs[@]}" "$@"
}

# bundle_chroot_net ROOT: prints the interfaces the chroot sees (proves loopback only).
bundle_chroot_net() {
  unshare --net --fork -- bash -c 'ip link set lo up; ip -o link show | cut -d: -f2 | tr -d " "'
}
