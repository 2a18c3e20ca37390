#!/usr/bin/env bash
# Drives the web portal in Debian's Chromium (playwright-core pinned in
# compat/portal-browser; it never downloads a browser) against a real
# audian: builds audian, bootstraps a fresh data directory, serves it over
# HTTPS on a free port, runs `node --test` in compat/portal-browser, checks
# that no secret the pages showed reached the server's output, and stops
# the server. Screenshots go to compat/portal-browser/screenshots.
#
#   scripts/compat-portal.sh
#
# Needs go, node >= 18, npm and /usr/bin/chromium (apt-get install chromium).
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lib/compat.sh
compat_serve "Portal Check, Inc." portal-admin portal

cd compat/portal-browser
[ -d node_modules ] || PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --ignore-scripts
status=0
AUDIAN_URL="$url" AUDIAN_CA="$data/tls/cert.pem" \
  AUDIAN_ACCOUNT_NAME="$account_name" AUDIAN_USERNAME="$username" AUDIAN_PASSWORD="$password" \
  AUDIAN_API_KEY="$api_key" AUDIAN_SECRETS_OUT="$tmp/secrets.txt" SCREENSHOT_DIR="$PWD/screenshots" \
  node --test --test-concurrency=1 || status=$?

# shellcheck disable=SC2046 # one secret a line, none with spaces
if compat_leaked "$password" "$api_key" $(cat "$tmp/secrets.txt" 2>/dev/null); then
  status=1
fi
if [ ! -s "$tmp/secrets.txt" ]; then
  echo "FAIL: the browser test recorded no secret to look for" >&2
  status=1
fi
if [ "$status" -ne 0 ]; then
  echo "== server log" >&2
  cat "$tmp/serve.log" >&2
fi
exit "$status"
