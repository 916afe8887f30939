# Sourced (from the workspace root, with ROOT set to it) by js-interposer/build-portable.sh and
# v4l2-interposer/build-portable.sh: puts cargo-zigbuild on PATH, installing it with zig from PyPI
# into a venv under .cache/ on first use. cargo-zigbuild links against zig's glibc 2.17 stubs, so
# an interposer built with it references no symbol newer than GLIBC_2.17.
VENV=.cache/zigvenv
if [ ! -x "$VENV/bin/cargo-zigbuild" ]; then
  if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    echo "build-portable: installing python3-venv" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2 && apt-get install -y -q --no-install-recommends python3-venv >&2
  fi
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q 'cargo-zigbuild==0.24.*' >&2
fi
export PATH="$ROOT/$VENV/bin:$PATH"
