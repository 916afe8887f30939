# shellcheck shell=bash
# The Debian mirror this machine already uses, read from its own apt sources at run time, so the
# scripts that build Debian roots (debootstrap) or fetch sources work against an air-gapped or
# local mirror without edits. Sourced by bundle-scripts/lib.sh; no mirror address is written
# anywhere in the repository.
#
#   debian_mirror [SUITE]            URI of the archive carrying SUITE (default: bookworm)
#   debian_security_mirror [SUITE]   URI carrying SUITE-security (empty when none is configured)
#
# Overrides: SELKIES_DEBIAN_MIRROR, SELKIES_DEBIAN_SECURITY_MIRROR. SELKIES_APT_ETC points at
# another /etc/apt (used by the self-test in ci/checks/69-deploy.sh).

# debian_apt_entries: prints "URI SUITE" for every enabled `deb` entry, one-line
# (sources.list, *.list) and deb822 (*.sources) formats alike. Files named otherwise (e.g.
# *.disabled) are ignored, as apt ignores them.
debian_apt_entries() {
  local etc="${SELKIES_APT_ETC:-/etc/apt}" f
  local lists=() sources=()
  [ -f "$etc/sources.list" ] && lists+=("$etc/sources.list")
  for f in "$etc"/sources.list.d/*.list; do [ -f "$f" ] && lists+=("$f"); done
  for f in "$etc"/sources.list.d/*.sources; do [ -f "$f" ] && sources+=("$f"); done
  if [ ${#lists[@]} -gt 0 ]; then
    # deb [opt=val ...] URI SUITE COMPONENT...
    awk '{ sub(/#.*/, "") } $1 == "deb" {
           i = 2
           if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
           if (i + 1 <= NF) print $i, $(i + 1)
         }' "${lists[@]}"
  fi
  if [ ${#sources[@]} -gt 0 ]; then
    # Stanzas are separated by blank lines; a field may continue on indented lines.
    awk 'function flush(   n, m, u, s, us, ss) {
           if (types ~ /(^| )deb( |$)/ && tolower(enabled) != "no") {
             n = split(uris, us, " "); m = split(suites, ss, " ")
             for (u = 1; u <= n; u++) for (s = 1; s <= m; s++) print us[u], ss[s]
           }
           types = uris = suites = enabled = ""; key = ""
         }
         FNR == 1 { flush() }
         /^[ \t]*#/ { next }
         /^[ \t]*$/ { flush(); next }
         /^[ \t]/ { if (key == "uris") uris = uris " " $0; else if (key == "suites") suites = suites " " $0; next }
         {
           key = tolower($0); sub(/:.*/, "", key)
           val = $0; sub(/^[^:]*:[ \t]*/, "", val)
           if (key == "types") types = val
           else if (key == "uris") uris = val
           else if (key == "suites") suites = val
           else if (key == "enabled") enabled = val
         }
         END { flush() }' "${sources[@]}" | awk '{ $1 = $1; print }'
  fi
}

# _debian_uri_for SUITE: the first entry's URI for exactly SUITE, trailing slash removed.
_debian_uri_for() {
  debian_apt_entries | awk -v want="$1" '$2 == want { sub(/\/+$/, "", $1); print $1; exit }'
}

debian_mirror() {
  local suite="${1:-bookworm}" uri
  if [ -n "${SELKIES_DEBIAN_MIRROR:-}" ]; then echo "${SELKIES_DEBIAN_MIRROR%/}"; return 0; fi
  uri="$(_debian_uri_for "$suite")"
  # Another release's archive is the same archive: a bookworm machine can debootstrap trixie.
  [ -n "$uri" ] || uri="$(_debian_uri_for bookworm)"
  if [ -z "$uri" ]; then
    echo "debian-mirror: no 'deb' entry for $suite in ${SELKIES_APT_ETC:-/etc/apt}; set SELKIES_DEBIAN_MIRROR" >&2
    return 1
  fi
  echo "$uri"
}

debian_security_mirror() {
  local suite="${1:-bookworm}"
  if [ -n "${SELKIES_DEBIAN_SECURITY_MIRROR:-}" ]; then echo "${SELKIES_DEBIAN_SECURITY_MIRROR%/}"; return 0; fi
  _debian_uri_for "$suite-security"
}
