#!/usr/bin/env bash
# Mutation check of audian's security code: applies, one at a time, a list
# of deliberate breakages to a temporary copy of the tree (the working
# tree is never touched) and requires the tests that guard each one to
# fail. A mutation that leaves its tests green is a hole in the suite.
#
#   scripts/mutate.sh            # every mutation (several minutes)
#   scripts/mutate.sh burn tls   # only those whose name contains a word
#
# Each mutation is, separated by '#': name, file, a perl substitution (perl -0pe, so it may
# span lines), the package to test and the -run pattern of the tests that
# must catch it. A substitution that no longer matches the source fails
# the check too: update the list when the code moves. PostgreSQL is not
# needed (the SQLite half of every test runs).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$root" && git ls-files -z | tar --null -T - -cf -) | tar -C "$work" -xf -
cd "$work"
unset AUDIAN_TEST_POSTGRES_DSN

mutations=(
  # internal/credential
  "burn-noop#internal/credential/password.go#s/(func \(h PasswordHasher\) Burn\(password string\) \{\n)/\$1\treturn\n/#./internal/credential#TestBurnSpendsAHash"
  "weak-argon2id#internal/credential/password.go#s/Memory: 19 \* 1024, Time: 2/Memory: 4 * 1024, Time: 1/#./internal/credential#TestDefaultHasherParameters"
  "verify-always#internal/credential/password.go#s/subtle.ConstantTimeCompare\(sum, p.hash\) == 1/len(sum) >= 0/#./internal/credential#."
  "key-checksum#internal/credential/key.go#s/return string\(want\[:\]\) == s\[namedKeyLen-checksumLen:\]/return true/#./internal/credential#."
  # internal/token
  "sig-always#internal/token/jws.go#s/(func verifySig\(k \*key, input, sig \[\]byte\) bool \{\n)/\$1\treturn true\n/#./internal/token#."
  "no-expiry#internal/token/token.go#s/case nowNs >= e.expNs:/case false:/#./internal/token#."
  "no-issuer#internal/token/token.go#s/case c.Issuer != s.cfg.Issuer:/case false:/#./internal/token#."
  "no-iat#internal/token/token.go#s/case c.IssuedAt <= 0 \|\| c.IssuedAt > now\+leeway:/case false:/#./internal/token#."
  "no-jti-revocation#internal/token/revoke.go#s/if _, ok := r.jtis\[c.ID\]; ok \{/if false {/#./internal/token#."
  # the request pipeline and the login path
  "account-header#internal/crossbar/pipeline.go#s/accountHeader != \"\" && accountHeader != claims.AccountID/false/#./cmd/audian#TestAccountHeaderMismatch"
  "disabled-account#internal/crossbar/pipeline.go#s/\} else if !ok \{\n(\t\t\/\/ A disabled account)/} else if _ = ok; false {\n\$1/#./cmd/audian#TestDisabledAccountRefusesTokens"
  "no-reach#internal/crossbar/pipeline.go#s/if !p.Reaches\(target.acct\) \{/if false {/#./cmd/audian#TestAccountTree"
  "no-permission#internal/crossbar/pipeline.go#s/if !p.Can\(ep.perm, self\) \{/if _ = self; false {/#./cmd/audian#TestRoles"
  "no-rate-limit#internal/crossbar/pipeline.go#s/if !ok \{\n(\t\tc.tokens.Consumed = 0)/if _ = ok; false {\n\$1/#./cmd/audian#TestRateLimitCountsDown"
  "login-disabled-user#internal/login/password.go#s/if !u.Enabled \{/if false {/#./cmd/audian#TestUserAuthFailures"
  "key-disabled-account#internal/login/apikey.go#s/\} else if !ok \{\n(\t\treturn KeyLogin\{\}, key, identity.ErrUnauthorized)/} else if _ = ok; false {\n\$1/#./cmd/audian#TestDisabledAccountRefusesTokens"
  "nul-accepted#internal/crossbar/body.go#s/if hasEscapedNUL\(body\) \{/if false {/#./cmd/audian#TestNULRefused"
  # the server
  "plain-http#internal/server/server.go#s/tls: opts.CertFile != \"\"/tls: false/#./cmd/audian#TestPlainHTTPRefused"
  "cbc-suites#internal/server/server.go#s/CipherSuites: aeadSuites, //#./cmd/audian#TestTLS12OffersOnlyAEAD"
)

killed=0 survived=0 stale=0
for m in "${mutations[@]}"; do
  IFS='#' read -r name file expr pkg run <<<"$m"
  if [ $# -gt 0 ]; then
    want=0
    for w in "$@"; do [[ $name == *"$w"* ]] && want=1; done
    [ $want = 1 ] || continue
  fi
  cp "$file" "$file.orig"
  perl -0pi -e "$expr" "$file"
  if cmp -s "$file" "$file.orig"; then
    echo "STALE     $name: the substitution no longer matches $file"
    stale=$((stale + 1))
  elif go test -count=1 -run "$run" "$pkg" >"$work/$name.log" 2>&1; then
    echo "SURVIVED  $name ($file; go test -run '$run' $pkg stays green)"
    survived=$((survived + 1))
  elif grep -q -e '\[build failed\]' -e '\[setup failed\]' "$work/$name.log"; then
    # A mutant that does not compile proves nothing about the tests.
    echo "STALE     $name: the mutant does not build"
    stale=$((stale + 1))
  else
    echo "killed    $name"
    killed=$((killed + 1))
  fi
  mv "$file.orig" "$file"
done
echo "$killed killed, $survived survived, $stale stale"
[ "$survived" = 0 ] && [ "$stale" = 0 ]
