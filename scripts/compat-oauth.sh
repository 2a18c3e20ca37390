#!/usr/bin/env bash
# Runs the `openid-client` npm package (6.x, pinned in
# compat/oauth-openid-client) against a real audian's OAuth provider: builds
# audian, bootstraps a fresh data directory with known values, serves it
# over HTTPS on a free port, runs `node --test` in compat/oauth-openid-client,
# and stops the server.
#
#   scripts/compat-oauth.sh
#
# Needs go, node >= 20 and npm (node_modules is installed with `npm ci` from
# the committed package-lock.json when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lib/compat.sh
compat_serve "Compat Check, Inc." "compat-admin@example.com" compat

cd compat/oauth-openid-client
[ -d node_modules ] || npm ci --no-audit --no-fund --ignore-scripts
status=0
AUDIAN_URL="$url" AUDIAN_ISSUER="$issuer" AUDIAN_CA="$cert" NODE_EXTRA_CA_CERTS="$cert" \
  AUDIAN_ACCOUNT_NAME="$account_name" AUDIAN_USERNAME="$username" AUDIAN_PASSWORD="$password" \
  AUDIAN_ACCOUNT_ID="$account_id" \
  node --test || status=$?

if compat_leaked "$password"; then
  status=1
fi
if [ "$status" -ne 0 ]; then
  echo "== server log" >&2
  cat "$tmp/serve.log" >&2
fi
exit "$status"
