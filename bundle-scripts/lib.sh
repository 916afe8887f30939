# Shared helpers for the bundle scripts (sourced, not executed).

# The Debian mirror comes from this machine's apt sources (debian_mirror, debian_security_mirror).
# shellcheck source=bundle-scripts/debian-mirror.sh
. "$(dirname "${BASH_SOURCE[0]}")/debian-mirror.sh"

# Installs missing Debian packages; a no-op when all are present (CI runs as root).
ensure_apt() {
  local missing=() p
  for p in "$@"; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "bundle: installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 ||
      { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; }
  fi
}

# Runs apt-get against a private deb-src list under the cache, so the system's apt
# configuration is never modified. Usage: apt_src <apt-get args...>
apt_src() {
  local dir
  dir="$(realpath -m "${SELKIES_BUNDLE_CACHE:-.cache/bundle}/apt-src")"
  if [ ! -f "$dir/sources.list" ]; then
    mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/parts"
    local mirror security
    mirror="$(debian_mirror bookworm)" || return 1
    security="$(debian_security_mirror bookworm)"
    {
      echo "deb-src $mirror bookworm main"
      echo "deb-src $mirror bookworm-updates main"
      [ -z "$security" ] || echo "deb-src $security bookworm-security main"
    } >"$dir/sources.list"
  fi
  apt-get -o "Dir::Etc::SourceList=$dir/sources.list" -o "Dir::Etc::SourceParts=$dir/parts" \
    -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache" "$@"
}

# Updates the private deb-src index once per day.
apt_src_update() {
  local dir
  dir="$(realpath -m "${SELKIES_BUNDLE_CACHE:-.cache/bundle}/apt-src")"
  if [ -z "$(find "$dir/lists" -name '*Sources*' -mtime -1 2>/dev/null | sed -n 1p)" ]; then
    apt_src update -q >&2
  fi
}
