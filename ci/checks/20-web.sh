#!/usr/bin/env bash
# The web client: install (npm ci, lockfile only), typecheck, unit tests, and the build into
# web/dist that the host serves from a source checkout.
set -euo pipefail
cd "$(dirname "$0")/../../web"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run --silent typecheck
npm test
npm run --silent build
test -s dist/index.html && test -s dist/app.js
