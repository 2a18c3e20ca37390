#!/usr/bin/env bash
# Cost per request at 1k and at 1M users: loads both data sets straight
# into the database, runs audian on each and drives the hot routes in
# alternating rounds; fails when a route's CPU per request on the large set
# exceeds 1.5 times that on the small one. See scripts/scale/main.go.
#
#   scripts/scale.sh                                   # SQLite, 1M users in 10k accounts
#   scripts/scale.sh -postgres "$AUDIAN_TEST_POSTGRES_DSN"
#   scripts/scale.sh -smoke                            # 10k users, seconds: a quick check
set -euo pipefail
cd "$(dirname "$0")/.."
args=()
for a in "$@"; do
  if [ "$a" = -smoke ]; then
    args+=(-users 10000 -accounts 100 -rounds 1 -duration 300ms)
  else
    args+=("$a")
  fi
done
exec go run ./scripts/scale "${args[@]}"
