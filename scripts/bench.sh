#!/usr/bin/env bash
# Measures audian's hot path: authenticated GET /v2/accounts/{id} over
# HTTPS, as a ratio to a bare net/http handler (scripts/barebench) that
# returns the same bytes over the same TLS certificate, in the same run.
#
#   scripts/bench.sh                 # 4 rounds of 10 s each, 32 connections
#   DURATION=5s ROUNDS=2 CONNS=64 scripts/bench.sh
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

command -v wrk >/dev/null || { echo "bench.sh needs wrk: apt-get install wrk" >&2; exit 1; }

tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

go build -o "$tmp/audian" ./cmd/audian
go build -o "$tmp/barebench" ./scripts/barebench

AUDIAN_RATE_COST=0 "$tmp/audian" serve --data-dir "$tmp/data" --listen "127.0.0.1:$AUDIAN_PORT" \
  >"$tmp/stdout" 2>"${AUDIAN_LOG:-$tmp/audian.log}" &
pids+=($!)
for _ in $(seq 1 100); do grep -q api_key "$tmp/stdout" 2>/dev/null && break; sleep 0.1; done
for _ in $(seq 1 100); do curl -fsS --cacert "$tmp/data/tls/cert.pem" "https://localhost:$AUDIAN_PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

api_key=$(awk '$1 == "api_key" {print $2}' "$tmp/stdout")
account=$(awk '$1 == "account_id" {print $2}' "$tmp/stdout")
token=$(curl -fsS --cacert "$tmp/data/tls/cert.pem" -X PUT "https://localhost:$AUDIAN_PORT/v2/api_auth" \
  -H 'Content-Type: application/json' -d "{\"data\":{\"api_key\":\"$api_key\"}}" |
  sed -E 's/.*"auth_token":"([^"]+)".*/\1/')
url="https://127.0.0.1:$AUDIAN_PORT/v2/accounts/$account"
curl -fsS --cacert "$tmp/data/tls/cert.pem" -H "X-Auth-Token: $token" "https://localhost:$AUDIAN_PORT/v2/accounts/$account" >"$tmp/body.json"

"$tmp/barebench" -listen "127.0.0.1:$BARE_PORT" -cert "$tmp/data/tls/cert.pem" -key "$tmp/data/tls/key.pem" -body "$tmp/body.json" &
pids+=($!)
for _ in $(seq 1 100); do curl -fsS --cacert "$tmp/data/tls/cert.pem" "https://localhost:$BARE_PORT/" >/dev/null 2>&1 && break; sleep 0.1; done

rps() { wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" "$@" | awk '/^Requests\/sec:/ {print $2}'; }
check() { # wrk counts non-2xx replies; a benchmark of 401s would be worthless
  out=$(wrk -t1 -c1 -d1s "$@"); if grep -q "Non-2xx" <<<"$out"; then echo "non-2xx replies: $out" >&2; exit 1; fi; }
check -H "X-Auth-Token: $token" "$url"

echo "reply: $(wc -c <"$tmp/body.json") bytes; $ROUNDS rounds of $DURATION, $CONNS connections, $THREADS wrk thread(s)"
bare_total=0; audian_total=0
for round in $(seq 1 "$ROUNDS"); do
  b=$(rps -H "X-Auth-Token: $token" "https://127.0.0.1:$BARE_PORT/v2/accounts/$account")
  a=$(rps -H "X-Auth-Token: $token" "$url")
  printf 'round %d: bare %10.0f req/s   audian %10.0f req/s\n' "$round" "$b" "$a"
  bare_total=$(awk -v x="$bare_total" -v y="$b" 'BEGIN {print x + y}')
  audian_total=$(awk -v x="$audian_total" -v y="$a" 'BEGIN {print x + y}')
done
awk -v a="$audian_total" -v b="$bare_total" -v n="$ROUNDS" \
  'BEGIN {printf "mean: bare %.0f req/s, audian %.0f req/s, ratio %.2f\n", b / n, a / n, a / b}'
