#!/usr/bin/env bash
# The documentation stays true to the tree: docs/architecture.md lists every workspace crate
# under its real name and path, no file cites a document that is not in this repository, and
# every "docs/protocol.md §N", "docs/testing.md GN" and "docs/bundle.md RN" citation names a
# section or item that exists.
set -euo pipefail
cd "$(dirname "$0")/../.."

fail=0
problem() {
  echo "FAIL: $*"
  fail=1
}

# 1. The crate table of docs/architecture.md against the workspace members.
members=$(sed -n '/^members = \[/,/^\]/p' Cargo.toml | grep -oE '"[^"]+"' | tr -d '"')
for path in $members; do
  name=$(sed -n '/^\[package\]/,/^\[/s/^name = "\(.*\)"/\1/p' "$path/Cargo.toml")
  grep -qF "| \`$name\` | \`$path/\` |" docs/architecture.md ||
    problem "docs/architecture.md: no crate row for $name ($path/)"
done
rows=$(grep -cE '^\| `selkies-[a-z0-9-]+` \| `[a-z0-9/-]+/` \|' docs/architecture.md || true)
[ "$rows" -eq "$(echo "$members" | wc -w)" ] ||
  problem "docs/architecture.md lists $rows crates, the workspace has $(echo "$members" | wc -w)"

# 2. Citations of documents outside the repository.
if git grep -nE 'selkies-protocol|e2e-notes|bundle-experiments|shared/reference|\.\./shared|selkies-bundle-and-web|legacy-baseline|seed-components|style-models|ARCHITECTURE\.md' \
  -- ':!ci/checks/15-docs.sh'; then
  problem "the lines above cite documents that are not in this repository"
fi

# 3. Every cited section or item exists.
sections=$(grep -oE '^#{2,4} [0-9]+(\.[0-9A-Z]+)*' docs/protocol.md | sed -E 's/^#+ //')
while read -r s; do
  [ -n "$s" ] || continue
  grep -qxF "$s" <<<"$sections" || problem "docs/protocol.md has no section §$s (cited)"
done < <(git grep -hoE '(docs/)?protocol\.md §[0-9]+(\.[0-9A-Z]+)*' -- ':!docs/protocol.md' |
  sed -E 's/.*§//; s/\.$//' | sort -u)
while read -r g; do
  [ -n "$g" ] || continue
  grep -qE "^\*\*$g — " docs/testing.md || problem "docs/testing.md has no item $g (cited)"
done < <(git grep -hoE 'testing\.md G[0-9]+' | sed -E 's/.* //' | sort -u)
while read -r r; do
  [ -n "$r" ] || continue
  grep -qE "^- \*\*$r — " docs/bundle.md || problem "docs/bundle.md has no item $r (cited)"
done < <(git grep -hoE 'bundle\.md R[0-9]+' | sed -E 's/.* //' | sort -u)

[ "$fail" -eq 0 ] && echo "15-docs: crate table, citations and cited sections all check out"
exit "$fail"
