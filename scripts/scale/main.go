// Command scale measures how audian's cost per request grows with the
// data: it loads a small and a large data set (by default 1,000 users in
// 10 accounts and 1,000,000 users in 10,000 accounts, the largest account
// holding a tenth of the users) straight into the database, runs one audian
// process on each, drives the same routes against both in alternating
// rounds, and reports p50, p99 and the server's CPU time per request. It
// fails when a route's CPU per request on the large set exceeds
// -max-growth times that on the small one.
//
//	go run ./scripts/scale                       # SQLite
//	go run ./scripts/scale -postgres 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
//	go run ./scripts/scale -users 10000 -accounts 100 -rounds 1 -duration 500ms   # smoke
//
// scripts/scale.sh wraps it. CPU per request is read from the server
// process (/proc/<pid>/stat), so the load generator's own CPU does not
// count; alternating the two servers round by round keeps a noisy machine
// from favouring either.
package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/tls"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"

	"github.com/audian/audian/internal/credential"
	"github.com/audian/audian/internal/identity"
)

const (
	password = "scale-password-1"
	kekB64   = "c2NhbGUtdGVzdC1rZXktZW5jcnlwdGlvbi1rZXkhISE=" // 32 bytes, test only
)

var (
	pgBase    = flag.String("postgres", "", "PostgreSQL DSN (URL) of a server where databases may be created; empty: SQLite")
	users     = flag.Int("users", 1_000_000, "users in the large set")
	accounts  = flag.Int("accounts", 10_000, "accounts in the large set")
	bigShare  = flag.Int("big-share", 10, "the largest account holds 1/big-share of the users")
	smallN    = flag.Int("small-users", 1000, "users in the small set (in small-users/10 accounts, so that a page of children is full)")
	rounds    = flag.Int("rounds", 3, "alternating rounds per route")
	duration  = flag.Duration("duration", 2*time.Second, "load per route, set and round")
	conns     = flag.Int("conns", 4, "concurrent clients (user_auth uses at most 2: argon2id is bounded)")
	maxGrowth = flag.Float64("max-growth", 1.5, "largest allowed ratio of CPU per request, large set to small")
	keep      = flag.String("dir", "", "working directory to keep (default: a temporary one, removed)")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

// dataset is one loaded database and the audian serving it.
type dataset struct {
	name                  string
	users, accounts, big  int
	dir, dsn              string
	cmd                   *exec.Cmd
	base                  string
	root, bigAcct         string
	apiKey, token         string
	userID, bigName       string
	username, deepCursor  string
	dbName                string
	accountIDs, bigUsers  []string
	client                *http.Client
	cpuBefore, loadTimeMS int64
}

func run() error {
	dir := *keep
	if dir == "" {
		d, err := os.MkdirTemp("", "audian-scale-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	bin := filepath.Join(dir, "audian")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/audian").CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v\n%s", err, out)
	}
	small := &dataset{name: "small", users: *smallN, accounts: max(*smallN/10, 2)}
	large := &dataset{name: "large", users: *users, accounts: *accounts}
	for _, d := range []*dataset{small, large} {
		d.big = d.users / *bigShare
		d.dir = filepath.Join(dir, d.name)
		if err := d.setup(bin); err != nil {
			return fmt.Errorf("%s set: %w", d.name, err)
		}
		defer d.stop()
	}
	fmt.Printf("backend %s; small: %d users in %d accounts (largest %d); large: %d users in %d accounts (largest %d)\n",
		backend(), small.users, small.accounts, small.big, large.users, large.accounts, large.big)
	fmt.Printf("load time of the large set: %.1f s; %d rounds of %s per route and set, %d clients\n\n",
		float64(large.loadTimeMS)/1000, *rounds, *duration, *conns)
	fmt.Printf("%-18s %9s %9s %11s   %9s %9s %11s   %6s\n", "route", "p50 small", "p99 small", "CPU/req", "p50 large", "p99 large", "CPU/req", "growth")
	var failed []string
	for _, r := range routes() {
		var res [2]result
		for range *rounds {
			for i, d := range []*dataset{small, large} {
				res[i].add(d.drive(r))
			}
		}
		g := float64(res[1].cpuPerReq()) / float64(max(res[0].cpuPerReq(), 1))
		mark := ""
		if g > *maxGrowth {
			mark = "  FAIL"
			failed = append(failed, r.name)
		}
		fmt.Printf("%-18s %9s %9s %11s   %9s %9s %11s   %5.2fx%s\n", r.name,
			ms(res[0].pct(50)), ms(res[0].pct(99)), ms(res[0].cpuPerReq()),
			ms(res[1].pct(50)), ms(res[1].pct(99)), ms(res[1].cpuPerReq()), g, mark)
	}
	if len(failed) > 0 {
		return fmt.Errorf("cost grew more than %.1fx: %s", *maxGrowth, strings.Join(failed, ", "))
	}
	return nil
}

func backend() string {
	if *pgBase != "" {
		return "postgres"
	}
	return "sqlite"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// route is one request the benchmark drives.
type route struct {
	name  string
	conns int
	req   func(d *dataset) (method, path, body string, want int)
}

func routes() []route {
	get := func(name string, path func(d *dataset) string) route {
		return route{name: name, req: func(d *dataset) (string, string, string, int) { return "GET", path(d), "", 200 }}
	}
	return []route{
		{name: "api_auth", req: func(d *dataset) (string, string, string, int) {
			return "PUT", "/v2/api_auth", `{"data":{"api_key":"` + d.apiKey + `"}}`, 201
		}},
		{name: "user_auth", conns: 2, req: func(d *dataset) (string, string, string, int) {
			return "PUT", "/v2/user_auth", `{"data":{"username":"` + d.username + `","password":"` + password +
				`","account_name":"` + d.bigName + `"}}`, 201
		}},
		get("GET user", func(d *dataset) string { return "/v2/accounts/" + d.bigAcct + "/users/" + d.userID }),
		get("users page 1", func(d *dataset) string { return "/v2/accounts/" + d.bigAcct + "/users" }),
		get("users deep page", func(d *dataset) string {
			return "/v2/accounts/" + d.bigAcct + "/users?start_key=" + base64.RawURLEncoding.EncodeToString([]byte(d.deepCursor))
		}),
		get("children", func(d *dataset) string { return "/v2/accounts/" + d.root + "/children" }),
		get("descendants", func(d *dataset) string { return "/v2/accounts/" + d.root + "/descendants" }),
		get("tokeninfo", func(d *dataset) string { return "/v2/auth/tokeninfo?token=" + d.token }),
	}
}

// result accumulates latencies and server CPU over rounds.
type result struct {
	lat []time.Duration
	cpu time.Duration
	n   int
}

func (r *result) add(o result) { r.lat = append(r.lat, o.lat...); r.cpu += o.cpu; r.n += o.n }

func (r *result) pct(p int) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	slices.Sort(r.lat)
	return r.lat[min(len(r.lat)-1, len(r.lat)*p/100)]
}

func (r *result) cpuPerReq() time.Duration {
	if r.n == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.n)
}

// drive runs route r against d for -duration and returns what it saw.
func (d *dataset) drive(r route) result {
	method, path, body, want := r.req(d)
	n := *conns
	if r.conns > 0 {
		n = min(n, r.conns)
	}
	cpu0 := d.cpu()
	stop := time.Now().Add(*duration)
	var mu sync.Mutex
	var res result
	var wg sync.WaitGroup
	var bad error
	for range n {
		wg.Go(func() {
			var lat []time.Duration
			for time.Now().Before(stop) {
				t0 := time.Now()
				code, err := d.do(method, path, body, nil)
				if err == nil && code != want {
					err = fmt.Errorf("%s %s: status %d, want %d", method, path, code, want)
				}
				if err != nil {
					mu.Lock()
					bad = err
					mu.Unlock()
					return
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if bad != nil {
		fmt.Fprintln(os.Stderr, "scale:", d.name, bad)
		os.Exit(1)
	}
	res.n = len(res.lat)
	res.cpu = d.cpu() - cpu0
	return res
}

// cpu returns the server process's user and system time so far.
func (d *dataset) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", d.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}

func (d *dataset) do(method, path, body string, out any) (int, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, d.base+path, rd)
	if err != nil {
		return 0, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if d.token != "" {
		req.Header.Set("X-Auth-Token", d.token)
	}
	res, err := d.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if out != nil {
		return res.StatusCode, json.NewDecoder(res.Body).Decode(out)
	}
	_, err = io.Copy(io.Discard, res.Body)
	return res.StatusCode, err
}

// setup bootstraps an audian on an empty database, loads the data set
// into it directly, and starts audian again on the result.
func (d *dataset) setup(bin string) error {
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return err
	}
	d.dsn = filepath.Join(d.dir, "audian.db")
	if *pgBase != "" {
		d.dbName = "audian_scale_" + d.name + "_" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
		if err := pgAdmin("CREATE DATABASE " + d.dbName); err != nil {
			return err
		}
		u, _ := url.Parse(*pgBase)
		u.Path = "/" + d.dbName
		d.dsn = u.String()
	}
	d.client = &http.Client{Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, // the server's own self-signed certificate
		MaxIdleConnsPerHost: 64,
	}, Timeout: 30 * time.Second}
	out, err := d.start(bin)
	if err != nil {
		return err
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "account_id" {
			d.root = f[1]
		}
		if len(f) == 2 && f[0] == "api_key" {
			d.apiKey = f[1]
		}
	}
	// audian writes the bootstrap credentials to a file in the data
	// directory when its stdout is not a terminal.
	if raw, err := os.ReadFile(filepath.Join(d.dir, "bootstrap-credentials.json")); err == nil {
		var creds struct {
			AccountID string `json:"account_id"`
			APIKey    string `json:"api_key"`
		}
		if err := json.Unmarshal(raw, &creds); err != nil {
			return err
		}
		d.root, d.apiKey = creds.AccountID, creds.APIKey
	}
	if d.root == "" || d.apiKey == "" {
		return fmt.Errorf("no bootstrap credentials in %q nor in the data directory", out)
	}
	d.stop()
	t0 := time.Now()
	if err := d.load(); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	d.loadTimeMS = time.Since(t0).Milliseconds()
	if _, err := d.start(bin); err != nil {
		return err
	}
	var auth struct {
		AuthToken string `json:"auth_token"`
	}
	if code, err := d.do("PUT", "/v2/api_auth", `{"data":{"api_key":"`+d.apiKey+`"}}`, &auth); err != nil || code != 201 {
		return fmt.Errorf("api_auth: %d %v", code, err)
	}
	d.token = auth.AuthToken
	return nil
}

// start runs audian on d and waits until it answers; it returns what
// audian printed on stdout so far (the bootstrap credentials, once).
func (d *dataset) start(bin string) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	ln.Close()
	var stdout bytes.Buffer
	d.cmd = exec.Command(bin, "serve", "--data-dir", d.dir, "--database", d.dsn, "--listen", addr,
		"--metrics-listen", "off", "--log-level", "warn")
	d.cmd.Env = append(os.Environ(), "AUDIAN_KEK="+kekB64, "AUDIAN_RATE_COST=0")
	d.cmd.Stdout = &stdout
	d.cmd.Stderr = os.Stderr
	if err := d.cmd.Start(); err != nil {
		return "", err
	}
	d.base = "https://" + addr
	for range 600 {
		if res, err := d.client.Get(d.base + "/healthz"); err == nil {
			res.Body.Close()
			time.Sleep(100 * time.Millisecond) // let stdout settle
			return stdout.String(), nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return "", errors.New("audian did not start")
}

func (d *dataset) stop() {
	if d.cmd != nil && d.cmd.Process != nil {
		d.cmd.Process.Signal(os.Interrupt)
		d.cmd.Wait()
		d.cmd = nil
	}
	if d.dbName != "" && d.cmd == nil && d.token != "" {
		// Dropped at the very end only (stop runs twice: after bootstrap and
		// at exit); the token is set once the second start succeeded.
		pgAdmin("DROP DATABASE IF EXISTS " + d.dbName + " WITH (FORCE)")
	}
}

func pgAdmin(stmt string) error {
	ctx := context.Background()
	c, err := pgx.Connect(ctx, *pgBase)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	_, err = c.Exec(ctx, stmt)
	return err
}

// id returns the deterministic id of the n-th object of kind.
func id(kind string, n int) string {
	s := md5.Sum([]byte(kind + strconv.Itoa(n)))
	return hex.EncodeToString(s[:])
}

// acct is one account to load.
type acct struct{ id, name, realm string }

// load writes d's accounts (children of the root), their account_tree rows
// and users straight into the database. Every user has the same password;
// the argon2id hash is computed once.
func (d *dataset) load() error {
	kek, err := credential.ParseKEK(kekB64)
	if err != nil {
		return err
	}
	sealer, err := credential.NewSealer(kek)
	if err != nil {
		return err
	}
	phc, err := credential.DefaultHasher.Hash(password)
	if err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	accts := make([]acct, d.accounts)
	for i := range accts {
		accts[i] = acct{id("a"+d.name, i), fmt.Sprintf("Scale %s %d", d.name, i), fmt.Sprintf("a%d.%s.scale.example", i, d.name)}
	}
	d.bigAcct, d.bigName = accts[0].id, accts[0].name
	// users: the first d.big in the big account, the rest spread evenly.
	owner := func(n int) string {
		if n < d.big {
			return accts[0].id
		}
		return accts[1+(n-d.big)%(d.accounts-1)].id
	}
	for n := 0; n < d.big; n++ {
		d.bigUsers = append(d.bigUsers, id("u"+d.name, n))
	}
	sort.Strings(d.bigUsers)
	// The deep page is the last full one: 50 users after the cursor.
	d.deepCursor = d.bigUsers[max(len(d.bigUsers)-52, 0)]
	d.userID = id("u"+d.name, d.big/2)
	d.username = "user" + strconv.Itoa(d.big/2)
	userRow := func(n int) (uid, account, username, md5l, sha1l string) {
		username = "user" + strconv.Itoa(n)
		plain := username + ":" + password
		m := md5.Sum([]byte(plain))
		md5l = sealer.Lookup("md5", []byte(hex.EncodeToString(m[:])))
		sha1l = sealer.Lookup("sha", []byte(username)) // unused by the routes; distinct per user
		return id("u"+d.name, n), owner(n), username, md5l, sha1l
	}
	if *pgBase != "" {
		return d.loadPostgres(accts, userRow, phc, now)
	}
	db, err := sql.Open("sqlite", d.dsn+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)&_pragma=cache_size(-400000)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	acc, err := tx.Prepare(`INSERT INTO accounts (id, parent_id, path, name, name_norm, realm, realm_lower,
		enabled, extra, revision, created, modified) VALUES (?, ?, ?, ?, ?, ?, ?, 1, 'null', '1-0000000000000000', ?, ?)`)
	if err != nil {
		return err
	}
	tree, err := tx.Prepare(`INSERT INTO account_tree (ancestor_id, id) VALUES (?, ?)`)
	if err != nil {
		return err
	}
	for _, a := range accts {
		if _, err := acc.Exec(a.id, d.root, "/"+d.root+"/"+a.id+"/", a.name, identity.NormalizeName(a.name), a.realm,
			strings.ToLower(a.realm), now.UnixMilli(), now.UnixMilli()); err != nil {
			return err
		}
		if _, err := tree.Exec(d.root, a.id); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(`UPDATE accounts SET descendants = descendants + ? WHERE id = ?`, len(accts), d.root); err != nil {
		return err
	}
	usr, err := tx.Prepare(`INSERT INTO users (id, account_id, username, first_name, last_name, priv_level, enabled,
		extra, password, md5_lookup, md5_hash, sha1_lookup, sha1_hash, revision, created, modified)
		VALUES (?, ?, ?, 'Scale', 'User', 'user', 1, 'null', ?, ?, ?, ?, ?, '1-0000000000000000', ?, ?)`)
	if err != nil {
		return err
	}
	for n := 0; n < d.users; n++ {
		uid, account, username, md5l, sha1l := userRow(n)
		if _, err := usr.Exec(uid, account, username, phc, md5l, phc, sha1l, phc, now.UnixMilli(), now.UnixMilli()); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	_, err = db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	return err
}

func (d *dataset) loadPostgres(accts []acct, userRow func(int) (string, string, string, string, string), phc string, now time.Time) error {
	ctx := context.Background()
	c, err := pgx.Connect(ctx, d.dsn)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	accRows := make([][]any, len(accts))
	treeRows := make([][]any, len(accts))
	for i, a := range accts {
		accRows[i] = []any{a.id, d.root, "/" + d.root + "/" + a.id + "/", a.name, identity.NormalizeName(a.name), a.realm,
			strings.ToLower(a.realm), "", "", true, false, "1-0000000000000000", now, now}
		treeRows[i] = []any{d.root, a.id}
	}
	if _, err := c.CopyFrom(ctx, pgx.Identifier{"accounts"}, []string{"id", "parent_id", "path", "name", "name_norm",
		"realm", "realm_lower", "timezone", "language", "enabled", "system", "revision", "created", "modified"},
		pgx.CopyFromRows(accRows)); err != nil {
		return err
	}
	if _, err := c.CopyFrom(ctx, pgx.Identifier{"account_tree"}, []string{"ancestor_id", "id"}, pgx.CopyFromRows(treeRows)); err != nil {
		return err
	}
	if _, err := c.Exec(ctx, `UPDATE accounts SET descendants = descendants + $1 WHERE id = $2`, len(accts), d.root); err != nil {
		return err
	}
	n := 0
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if n == d.users {
			return nil, nil
		}
		uid, account, username, md5l, sha1l := userRow(n)
		n++
		return []any{uid, account, username, "", "Scale", "User", "user", true, false, "", "", "",
			phc, md5l, phc, sha1l, phc, "1-0000000000000000", now, now}, nil
	})
	if _, err := c.CopyFrom(ctx, pgx.Identifier{"users"}, []string{"id", "account_id", "username", "email", "first_name",
		"last_name", "priv_level", "enabled", "require_password_update", "presence_id", "timezone", "language",
		"password_hash", "md5_lookup", "md5_hash", "sha1_lookup", "sha1_hash", "revision", "created", "modified"}, src); err != nil {
		return err
	}
	_, err = c.Exec(ctx, "ANALYZE")
	return err
}
