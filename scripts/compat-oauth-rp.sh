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

. scripts/lib/compat.sh
GOBIN="$tmp" go install github.com/zitadel/oidc/v3/example/client/app@v3.52.0
compat_serve "RP Check" rp-admin rp
echo "== issuer $issuer"

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
compat_stop_on_exit $!
rp_pid=$!
for _ in $(seq 1 100); do
  grep -q "server listening" "$tmp/rp.log" && break
  kill -0 "$rp_pid" 2>/dev/null || { echo "the relying party exited:" >&2; cat "$tmp/rp.log" >&2; exit 1; }
  sleep 0.1
done
echo "== relying party at http://127.0.0.1:$rp_port"

cd compat/oauth-rp-browser
[ -d node_modules ] || PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --ignore-scripts
status=0
RP_URL="http://127.0.0.1:$rp_port" AUDIAN_ACCOUNT_NAME="$account_name" AUDIAN_USERNAME="$username" \
  AUDIAN_PASSWORD="$password" SCREENSHOT_DIR="$PWD/screenshots" node --test || status=$?

if compat_leaked "$password" "$client_secret"; then
  status=1
fi
if [ "$status" -ne 0 ]; then
  echo "== server log" >&2; tail -50 "$tmp/serve.log" >&2
  echo "== relying party log" >&2; tail -50 "$tmp/rp.log" >&2
fi
exit "$status"
