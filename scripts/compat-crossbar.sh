#!/usr/bin/env bash
# Runs the `crossbar` npm SDK (a Kazoo Node.js client, pinned at 1.0.0 in
# compat/crossbar-npm) against a real audian: builds audian, bootstraps a
# fresh data directory with known values, serves it over HTTPS on a free
# port, runs `node --test` in compat/crossbar-npm, and stops the server.
#
#   scripts/compat-crossbar.sh
#
# Needs go, node >= 18 and npm (node_modules is installed with `npm ci` from
# the committed package-lock.json when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lib/compat.sh
compat_serve "Compat Check, Inc." "compat-admin@example.com" compat

cd compat/crossbar-npm
[ -d node_modules ] || npm ci --no-audit --no-fund --ignore-scripts
status=0
AUDIAN_URL="$url" AUDIAN_CA="$cert" NODE_EXTRA_CA_CERTS="$cert" \
  AUDIAN_ACCOUNT_NAME="$account_name" AUDIAN_USERNAME="$username" AUDIAN_PASSWORD="$password" \
  AUDIAN_ACCOUNT_ID="$account_id" AUDIAN_USER_ID="$user_id" \
  node --test || status=$?

if compat_leaked "$password"; then
  status=1
fi
if [ "$status" -ne 0 ]; then
  echo "== server log" >&2
  cat "$tmp/serve.log" >&2
fi
exit "$status"
