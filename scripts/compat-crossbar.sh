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
account_name="Compat Check, Inc."
username="compat-admin@example.com"
# A fresh password per run, passed through the environment so that it is
# not on any process list.
password="compat-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"

AUDIAN_BOOTSTRAP_PASSWORD="$password" "$tmp/audian" bootstrap --data-dir "$data" --json \
  --account-name "$account_name" --username "$username" >"$tmp/bootstrap.json"
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$tmp/bootstrap.json"; }
account_id=$(field account_id)
user_id=$(field user_id)

# Create the output files first: the background job opens them itself,
# and the loop below may look before it has.
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

cd compat/crossbar-npm
[ -d node_modules ] || npm ci --no-audit --no-fund --ignore-scripts
cert="$data/tls/cert.pem"
status=0
AUDIAN_URL="$url" AUDIAN_CA="$cert" NODE_EXTRA_CA_CERTS="$cert" \
  AUDIAN_ACCOUNT_NAME="$account_name" AUDIAN_USERNAME="$username" AUDIAN_PASSWORD="$password" \
  AUDIAN_ACCOUNT_ID="$account_id" AUDIAN_USER_ID="$user_id" \
  node --test || status=$?

sleep 0.3 # the server's log writer flushes every 100 ms
if grep -qF "$password" "$tmp/serve.log" "$tmp/serve.out"; then
  echo "FAIL: the password appears in the server's output" >&2
  status=1
fi
if [ "$status" -ne 0 ]; then
  echo "== server log" >&2
  cat "$tmp/serve.log" >&2
fi
exit "$status"
