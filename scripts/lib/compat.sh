# Sourced by the scripts/compat-*.sh checks, which run a real client
# against a real audian. compat_serve builds audian, bootstraps a fresh data
# directory with known values and serves it over HTTPS on a free port;
# everything it started is stopped, and its files removed, on exit.
#
# After compat_serve NAME USERNAME PREFIX these are set: tmp (scratch
# directory), data, cert, account_name, username, password, account_id,
# user_id, api_key, url, issuer (https://localhost:<port>, which the
# self-signed certificate names). compat_stop_on_exit PID stops another
# process too; compat_leaked SECRET... reports whether any secret reached
# the server's output.

tmp=$(mktemp -d)
compat_pids=()
compat_cleanup() {
  for p in "${compat_pids[@]}"; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap compat_cleanup EXIT

compat_stop_on_exit() { compat_pids+=("$1"); }

compat_field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$tmp/bootstrap.json"; }

compat_serve() {
  account_name=$1
  username=$2
  go build -o "$tmp/audian" ./cmd/audian
  data="$tmp/data"
  cert="$data/tls/cert.pem"
  # A fresh password per run, passed through the environment so that it
  # is not on any process list.
  password="$3-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
  AUDIAN_BOOTSTRAP_PASSWORD="$password" "$tmp/audian" bootstrap --data-dir "$data" --json \
    --account-name "$account_name" --username "$username" >"$tmp/bootstrap.json"
  account_id=$(compat_field account_id)
  user_id=$(compat_field user_id)
  api_key=$(compat_field api_key)

  # Create the output files first: the background job opens them itself,
  # and the loop below may look before it has.
  : >"$tmp/serve.out"
  : >"$tmp/serve.log"
  "$tmp/audian" serve --data-dir "$data" --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 \
    >"$tmp/serve.out" 2>"$tmp/serve.log" &
  local pid=$!
  compat_stop_on_exit "$pid"
  url=""
  for _ in $(seq 1 100); do
    url=$(sed -n 's/.*"msg":"serving".*"url":"\([^"]*\)".*/\1/p' "$tmp/serve.log" | head -n1)
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || { echo "audian serve exited:" >&2; cat "$tmp/serve.log" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$url" ] || { echo "audian serve did not report its URL:" >&2; cat "$tmp/serve.log" >&2; exit 1; }
  issuer="https://localhost:${url##*:}"
  echo "== audian serving at $url"
}

compat_leaked() {
  sleep 0.3 # the server's log writer flushes every 100 ms
  local s
  for s in "$@"; do
    if [ -n "$s" ] && grep -qF -- "$s" "$tmp/serve.log" "$tmp/serve.out"; then
      echo "FAIL: a secret appears in the server's output" >&2
      return 0
    fi
  done
  return 1
}
