#!/usr/bin/env bash
# Runs the zitadel/oidc example relying party (go install
# github.com/zitadel/oidc/v3/example/client/app@v3.52.0) against a real
# audian, driven through audian's sign-in and consent pages by Debian's
# Chromium (playwright-core pinned in compat/oauth-rp-browser): builds and
# bootstraps audian, serves it over HTTPS on a free port, registers the
# relying party as an OAuth application, starts it, runs `node --test` in
# compat/oauth-rp-browser, and stops both.
#
#   scripts/compat-oauth-rp.sh
#
# Needs go, node >= 18, npm, curl and /usr/bin/chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/audian" ./cmd/audian
GOBIN="$tmp" go install github.com/zitadel/oidc/v3/example/client/app@v3.52.0

data="$tmp/data"
account_name="RP Check"
username="rp-admin"
password="rp-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
AUDIAN_BOOTSTRAP_PASSWORD="$password" "$tmp/audian" bootstrap --data-dir "$data" --json \
  --account-name "$account_name" --username "$username" >"$tmp/bootstrap.json"
account_id=$(sed -n 's/.*"account_id":"\([^"]*\)".*/\1/p' "$tmp/bootstrap.json")

: >"$tmp/serve.out"
: >"$tmp/serve.log"
"$tmp/audian" serve --data-dir "$data" --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 >"$tmp/serve.out" 2>"$tmp/serve.log" &
pids+=($!)
url=""
for _ in $(seq 1 100); do
  url=$(sed -n 's/.*"msg":"serving".*"url":"\([^"]*\)".*/\1/p' "$tmp/serve.log" | head -n1)
  [ -n "$url" ] && break
  kill -0 "${pids[0]}" 2>/dev/null || { echo "audian serve exited:" >&2; cat "$tmp/serve.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "audian serve did not report its URL:" >&2; cat "$tmp/serve.log" >&2; exit 1; }
issuer="https://localhost:${url##*:}"
cert="$data/tls/cert.pem"
echo "== audian serving at $url, issuer $issuer"

# Register the relying party: its redirect URI is on a free loopback port.
rp_port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
token=$(curl -sS --cacert "$cert" -X PUT "$url/v2/user_auth" -H 'content-type: application/json' \
  -d "{\"data\":{\"account_name\":\"$account_name\",\"username\":\"$username\",\"password\":\"$password\"}}" |
  sed -n 's/.*"auth_token":"\([^"]*\)".*/\1/p')
[ -n "$token" ] || { echo "user_auth failed" >&2; exit 1; }
curl -sS --cacert "$cert" -X PUT "$url/v2/accounts/$account_id/oauth_apps" -H 'content-type: application/json' \
  -H "x-auth-token: $token" \
  -d "{\"data\":{\"name\":\"Example RP\",\"redirect_uris\":[\"http://127.0.0.1:$rp_port/auth/callback\"],\"scopes\":[\"openid\",\"profile\",\"email\"]}}" \
  >"$tmp/app.json"
client_id=$(sed -n 's/.*"client_id":"\([^"]*\)".*/\1/p' "$tmp/app.json")
client_secret=$(sed -n 's/.*"client_secret":"\([^"]*\)".*/\1/p' "$tmp/app.json")
[ -n "$client_secret" ] || { echo "registering the app failed:" >&2; cat "$tmp/app.json" >&2; exit 1; }

# The relying party trusts audian's self-signed certificate through
# SSL_CERT_FILE, which Go reads on Linux.
: >"$tmp/rp.log"
CLIENT_ID="$client_id" CLIENT_SECRET="$client_secret" ISSUER="$issuer" PORT="$rp_port" \
  SCOPES="openid profile email" PKCE=true SSL_CERT_FILE="$cert" "$tmp/app" >"$tmp/rp.out" 2>"$tmp/rp.log" &
pids+=($!)
for _ in $(seq 1 100); do
  grep -q "server listening" "$tmp/rp.log" && break
  kill -0 "${pids[1]}" 2>/dev/null || { echo "the relying party exited:" >&2; cat "$tmp/rp.log" >&2; exit 1; }
  sleep 0.1
done
echo "== relying party at http://127.0.0.1:$rp_port"

cd compat/oauth-rp-browser
[ -d node_modules ] || PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --ignore-scripts
status=0
RP_URL="http://127.0.0.1:$rp_port" AUDIAN_ACCOUNT_NAME="$account_name" AUDIAN_USERNAME="$username" \
  AUDIAN_PASSWORD="$password" SCREENSHOT_DIR="$PWD/screenshots" node --test || status=$?

sleep 0.3 # the server's log writer flushes every 100 ms
for s in "$password" "$client_secret"; do
  if grep -qF -- "$s" "$tmp/serve.log" "$tmp/serve.out"; then
    echo "FAIL: a secret appears in the server's output" >&2
    status=1
  fi
done
if [ "$status" -ne 0 ]; then
  echo "== server log" >&2; tail -50 "$tmp/serve.log" >&2
  echo "== relying party log" >&2; tail -50 "$tmp/rp.log" >&2
fi
exit "$status"
