#!/usr/bin/env bash
# Measures audian's hot paths over HTTPS, each as a ratio to a ceiling
# measured in the same run, round by round:
#   - GET /v2/accounts/{id} and GET /v2/accounts/{id}/users, against a bare
#     net/http handler (scripts/barebench) returning the very same bytes over
#     the same TLS certificate;
#   - PUT /v2/api_auth, against RS256-2048 signing alone on every CPU
#     (barebench -sign): api_auth signs one token per request.
#
#   scripts/bench.sh                 # 4 rounds of 10 s each, 32 connections
#   DURATION=5s ROUNDS=2 CONNS=64 scripts/bench.sh
#   AUDIAN_DATABASE=postgres://.../fresh_db scripts/bench.sh   # an empty database: audian bootstraps it
#
# Needs wrk (apt-get install wrk). Rate limiting is turned off for the run
# (AUDIAN_RATE_COST=0); request logging stays on, written to a file. Both
# servers get the very same request, X-Auth-Token included.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-4}
CONNS=${CONNS:-32}
THREADS=${THREADS:-1}
AUDIAN_PORT=${AUDIAN_PORT:-18443}
BARE_PORT=${BARE_PORT:-18444}
BARE_USERS_PORT=${BARE_USERS_PORT:-18445}

command -v wrk >/dev/null || { echo "bench.sh needs wrk: apt-get install wrk" >&2; exit 1; }

tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

go build -o "$tmp/audian" ./cmd/audian
go build -o "$tmp/barebench" ./scripts/barebench

AUDIAN_RATE_COST=0 AUDIAN_METRICS_LISTEN=off "$tmp/audian" serve --data-dir "$tmp/data" --listen "127.0.0.1:$AUDIAN_PORT" \
  >"$tmp/stdout" 2>"${AUDIAN_LOG:-$tmp/audian.log}" &
pids+=($!)
creds="$tmp/data/bootstrap-credentials.json" # written on first start when stdout is not a terminal
for _ in $(seq 1 100); do grep -q api_key "$creds" 2>/dev/null && break; sleep 0.1; done
for _ in $(seq 1 100); do curl -fsS --cacert "$tmp/data/tls/cert.pem" "https://localhost:$AUDIAN_PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

api_key=$(sed -n 's/.*"api_key": *"\([^"]*\)".*/\1/p' "$creds")
account=$(sed -n 's/.*"account_id": *"\([^"]*\)".*/\1/p' "$creds")
token=$(curl -fsS --cacert "$tmp/data/tls/cert.pem" -X PUT "https://localhost:$AUDIAN_PORT/v2/api_auth" \
  -H 'Content-Type: application/json' -d "{\"data\":{\"api_key\":\"$api_key\"}}" |
  sed -E 's/.*"auth_token":"([^"]+)".*/\1/')
url="https://127.0.0.1:$AUDIAN_PORT/v2/accounts/$account"
curl -fsS --cacert "$tmp/data/tls/cert.pem" -H "X-Auth-Token: $token" "https://localhost:$AUDIAN_PORT/v2/accounts/$account" >"$tmp/body.json"

curl -fsS --cacert "$tmp/data/tls/cert.pem" -H "X-Auth-Token: $token" "https://localhost:$AUDIAN_PORT/v2/accounts/$account/users" >"$tmp/users.json"

"$tmp/barebench" -listen "127.0.0.1:$BARE_PORT" -cert "$tmp/data/tls/cert.pem" -key "$tmp/data/tls/key.pem" -body "$tmp/body.json" &
pids+=($!)
"$tmp/barebench" -listen "127.0.0.1:$BARE_USERS_PORT" -cert "$tmp/data/tls/cert.pem" -key "$tmp/data/tls/key.pem" -body "$tmp/users.json" &
pids+=($!)
for port in "$BARE_PORT" "$BARE_USERS_PORT"; do
  for _ in $(seq 1 100); do curl -fsS --cacert "$tmp/data/tls/cert.pem" "https://localhost:$port/" >/dev/null 2>&1 && break; sleep 0.1; done
done
cat >"$tmp/api_auth.lua" <<LUA
wrk.method = "PUT"
wrk.body = '{"data":{"api_key":"$api_key"}}'
wrk.headers["Content-Type"] = "application/json"
LUA

rps() { wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" "$@" | awk '/^Requests\/sec:/ {print $2}'; }
check() { # wrk counts non-2xx replies; a benchmark of 401s would be worthless
  out=$(wrk -t1 -c1 -d1s "$@"); if grep -q "Non-2xx" <<<"$out"; then echo "non-2xx replies: $out" >&2; exit 1; fi; }
check -H "X-Auth-Token: $token" "$url"
check -H "X-Auth-Token: $token" "$url/users"
check -s "$tmp/api_auth.lua" "https://127.0.0.1:$AUDIAN_PORT/v2/api_auth"

sum() { awk -v x="$1" -v y="$2" 'BEGIN {print x + y}'; }
echo "account reply: $(wc -c <"$tmp/body.json") bytes; users reply: $(wc -c <"$tmp/users.json") bytes"
echo "$ROUNDS rounds of $DURATION, $CONNS connections, $THREADS wrk thread(s); database ${AUDIAN_DATABASE:-sqlite}"
ba=0; aa=0; bu=0; au=0; sg=0; ap=0
for round in $(seq 1 "$ROUNDS"); do
  b1=$(rps -H "X-Auth-Token: $token" "https://127.0.0.1:$BARE_PORT/v2/accounts/$account")
  a1=$(rps -H "X-Auth-Token: $token" "$url")
  b2=$(rps -H "X-Auth-Token: $token" "https://127.0.0.1:$BARE_USERS_PORT/v2/accounts/$account/users")
  a2=$(rps -H "X-Auth-Token: $token" "$url/users")
  s3=$("$tmp/barebench" -sign "$DURATION")
  a3=$(rps -s "$tmp/api_auth.lua" "https://127.0.0.1:$AUDIAN_PORT/v2/api_auth")
  printf 'round %d: account bare %8.0f audian %8.0f | users bare %8.0f audian %8.0f | signing %6.0f/s api_auth %6.0f\n' \
    "$round" "$b1" "$a1" "$b2" "$a2" "$s3" "$a3"
  ba=$(sum "$ba" "$b1"); aa=$(sum "$aa" "$a1"); bu=$(sum "$bu" "$b2"); au=$(sum "$au" "$a2"); sg=$(sum "$sg" "$s3"); ap=$(sum "$ap" "$a3")
done
awk -v ba="$ba" -v aa="$aa" -v bu="$bu" -v au="$au" -v sg="$sg" -v ap="$ap" -v n="$ROUNDS" 'BEGIN {
  printf "GET account:  bare %7.0f req/s, audian %7.0f req/s, ratio %.2f (goal 0.8)\n", ba / n, aa / n, aa / ba
  printf "GET users:    bare %7.0f req/s, audian %7.0f req/s, ratio %.2f (goal 0.6)\n", bu / n, au / n, au / bu
  printf "api_auth:     RS256 signing %7.0f/s, api_auth %7.0f req/s, ratio %.2f (goal 0.9)\n", sg / n, ap / n, ap / sg
}'
