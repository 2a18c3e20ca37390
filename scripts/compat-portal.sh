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

tmp=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/audian" ./cmd/audian

data="$tmp/data"
account_name="Portal Check, Inc."
username="portal-admin"
password="portal-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"

AUDIAN_BOOTSTRAP_PASSWORD="$password" "$tmp/audian" bootstrap --data-dir "$data" --json \
  --account-name "$account_name" --username "$username" >"$tmp/bootstrap.json"
api_key=$(sed -n 's/.*"api_key":"\([^"]*\)".*/\1/p' "$tmp/bootstrap.json")

: >"$tmp/serve.out"
: >"$tmp/serve.log"
"$tmp/audian" serve --data-dir "$data" --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 >"$tmp/serve.out" 2>"$tmp/serve.log" &
pid=$!
url=""
for _ in $(seq 1 100); do
  url=$(sed -n 's/.*"msg":"serving".*"url":"\([^"]*\)".*/\1/p' "$tmp/serve.log" | head -n1)
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || { echo "audian serve exited:" >&2; cat "$tmp/serve.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "audian serve did not report its URL:" >&2; cat "$tmp/serve.log" >&2; exit 1; }
echo "== audian serving at $url"

cd compat/portal-browser
[ -d node_modules ] || PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --ignore-scripts
status=0
AUDIAN_URL="$url" AUDIAN_CA="$data/tls/cert.pem" \
  AUDIAN_ACCOUNT_NAME="$account_name" AUDIAN_USERNAME="$username" AUDIAN_PASSWORD="$password" \
  AUDIAN_API_KEY="$api_key" AUDIAN_SECRETS_OUT="$tmp/secrets.txt" SCREENSHOT_DIR="$PWD/screenshots" \
  node --test --test-concurrency=1 || status=$?

sleep 0.3 # the server's log writer flushes every 100 ms
for s in "$password" "$api_key" $(cat "$tmp/secrets.txt" 2>/dev/null); do
  if grep -qF -- "$s" "$tmp/serve.log" "$tmp/serve.out"; then
    echo "FAIL: a secret appears in the server's output" >&2
    status=1
  fi
done
if [ ! -s "$tmp/secrets.txt" ]; then
  echo "FAIL: the browser test recorded no secret to look for" >&2
  status=1
fi
if [ "$status" -ne 0 ]; then
  echo "== server log" >&2
  cat "$tmp/serve.log" >&2
fi
exit "$status"
