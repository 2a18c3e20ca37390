package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/audian/audian"
)

// The client commands (login, accounts, users, keys, tokens, audit,
// completion) are built on the Go SDK, package audian; they know the
// server only through its /v2 API.

const clientUsage = `
Client commands (talk to a server through its API):
  audian login [--url URL] [--ca-cert FILE] [--api-key-stdin | --account NAME --username USER]
                             save a profile (os.UserConfigDir()/audian/config.json, 0600)
  audian logout              revoke the profile's token and forget the profile
  audian accounts list|get|create|update|delete|children|descendants
  audian users    list|get|create|update|delete
  audian keys     list|get|create|update|rotate|revoke
  audian tokens   info|inspect|revoke|create|refresh
  audian audit    list
  audian completion bash|zsh|fish

  Every client command takes --profile NAME and --json. Variables: AUDIAN_PROFILE,
  AUDIAN_URL, AUDIAN_API_KEY, AUDIAN_CA_CERT (a file), AUDIAN_CLI_CONFIG (the
  configuration file). "audian <command> --help" lists a command's flags.
`

// commands lists every client command and its subcommands, for usage
// and completion.
var commands = []struct {
	name string
	subs []string
}{
	{"login", nil},
	{"logout", nil},
	{"accounts", []string{"list", "get", "create", "update", "delete", "children", "descendants"}},
	{"users", []string{"list", "get", "create", "update", "delete"}},
	{"keys", []string{"list", "get", "create", "update", "rotate", "revoke"}},
	{"tokens", []string{"info", "inspect", "revoke", "create", "refresh"}},
	{"audit", []string{"list"}},
	{"completion", []string{"bash", "zsh", "fish"}},
}

// isClientCommand reports whether name is a client command.
func isClientCommand(name string) bool {
	for _, c := range commands {
		if c.name == name {
			return true
		}
	}
	return false
}

// cli is one run of a client command.
type cli struct {
	ctx    context.Context
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer

	profile string
	json    bool
	cfgPath string
	cfg     *cliConfig
	// tokenOnly is set when the client has a saved token and nothing to
	// get another with (a password login).
	tokenOnly bool
}

// clientCmd runs a client command.
func clientCmd(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	c := &cli{ctx: ctx, getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	err := c.run(args)
	var ae *audian.Error
	if errors.As(err, &ae) {
		// The CLI prefixes "audian:" itself.
		msg := strings.TrimPrefix(ae.Error(), "audian: ")
		if c.tokenOnly && errors.Is(err, audian.ErrUnauthorized) {
			msg += " (the saved token no longer works: run audian login again)"
		}
		return errors.New(msg)
	}
	return err
}

func (c *cli) run(args []string) error {
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "login":
		return c.login(rest)
	case "logout":
		return c.logout(rest)
	case "completion":
		return c.completion(rest)
	}
	if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
		return fmt.Errorf("%s: want a subcommand: %s", cmd, strings.Join(subsOf(cmd), ", "))
	}
	sub, rest := rest[0], rest[1:]
	h, ok := map[string]map[string]func([]string) error{
		"accounts": {"list": c.accountsTree("descendants"), "get": c.accountsGet, "create": c.accountsCreate, "update": c.accountsUpdate, "delete": c.accountsDelete,
			"children": c.accountsTree("children"), "descendants": c.accountsTree("descendants")},
		"users": {"list": c.usersList, "get": c.usersGet, "create": c.usersCreate, "update": c.usersUpdate, "delete": c.usersDelete},
		"keys": {"list": c.keysList, "get": c.keysGet, "create": c.keysCreate, "update": c.keysUpdate, "rotate": c.keysRotate,
			"revoke": c.keysRevoke},
		"tokens": {"info": c.tokensInfo, "inspect": c.tokensInspect, "revoke": c.tokensRevoke, "create": c.tokensCreate,
			"refresh": c.tokensRefresh},
		"audit": {"list": c.auditList},
	}[cmd][sub]
	if !ok {
		return fmt.Errorf("%s: unknown subcommand %q; want one of %s", cmd, sub, strings.Join(subsOf(cmd), ", "))
	}
	return h(rest)
}

func subsOf(cmd string) []string {
	for _, c := range commands {
		if c.name == cmd {
			return c.subs
		}
	}
	return nil
}

// flags returns a flag set with the flags every client command takes.
func (c *cli) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("audian "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.StringVar(&c.profile, "profile", "", "the profile to use (default $AUDIAN_PROFILE, else the current one)")
	fs.BoolVar(&c.json, "json", false, "print JSON instead of a table")
	return fs
}

// parse parses args, letting flags follow positional arguments
// ("audian keys revoke ID --json"), and returns the positional ones.
func parse(fs *flag.FlagSet, args []string, want int, usage string) ([]string, error) {
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s %s\n", fs.Name(), usage)
		fs.PrintDefaults()
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) > want {
		return nil, fmt.Errorf("%s: unexpected argument %q (usage: %s %s)", fs.Name(), pos[want], fs.Name(), usage)
	}
	return pos, nil
}

// need returns pos[i], or an error naming what is missing.
func need(fs *flag.FlagSet, pos []string, i int, what string) (string, error) {
	if i < len(pos) && pos[i] != "" {
		return pos[i], nil
	}
	return "", fmt.Errorf("%s: missing %s", fs.Name(), what)
}

// load reads the configuration file and picks the profile.
func (c *cli) load() (*profile, string, error) {
	var err error
	if c.cfgPath, err = configPath(c.getenv); err != nil {
		return nil, "", err
	}
	if c.cfg, err = loadConfig(c.cfgPath); err != nil {
		return nil, "", err
	}
	name := c.profile
	if name == "" {
		name = c.getenv("AUDIAN_PROFILE")
	}
	if name == "" {
		name = c.cfg.Current
	}
	if name == "" {
		name = "default"
	}
	p := c.cfg.Profiles[name]
	if p == nil {
		p = &profile{}
	}
	return p, name, nil
}

// client returns an SDK client for the chosen profile, the variables
// overriding it.
func (c *cli) client() (*audian.Client, *profile, error) {
	p, name, err := c.load()
	if err != nil {
		return nil, nil, err
	}
	url := firstOf(c.getenv("AUDIAN_URL"), p.URL)
	if url == "" {
		return nil, nil, fmt.Errorf("no server: run audian login --url https://HOST:PORT (profile %q), or set AUDIAN_URL", name)
	}
	opts := []audian.Option{audian.WithUserAgent("audian-cli/" + Version)}
	ca := []byte(p.CACert)
	if f := c.getenv("AUDIAN_CA_CERT"); f != "" {
		if ca, err = os.ReadFile(f); err != nil {
			return nil, nil, fmt.Errorf("AUDIAN_CA_CERT: %w", err)
		}
	}
	if len(ca) > 0 {
		opts = append(opts, audian.WithCACert(ca))
	}
	switch key := firstOf(c.getenv("AUDIAN_API_KEY"), p.APIKey); {
	case key != "":
		opts = append(opts, audian.WithAPIKey(key))
	case p.Token != "":
		if p.RefreshToken != "" && expiresWithin(p.Token, time.Minute) {
			// A device login: renew the access token with the refresh
			// token (rotated by the server) and save both.
			tok, err := refreshOAuth(c.ctx, httpClient(ca), strings.TrimSuffix(url, "/"), p.ClientID, p.RefreshToken)
			if err != nil {
				return nil, nil, fmt.Errorf("%w (run audian login --device again)", err)
			}
			p.Token, p.RefreshToken = tok.AccessToken, firstOf(tok.RefreshToken, p.RefreshToken)
			if err := c.cfg.save(c.cfgPath); err != nil {
				return nil, nil, err
			}
		}
		opts = append(opts, audian.WithToken(p.Token))
		c.tokenOnly = true
	default:
		return nil, nil, fmt.Errorf("not logged in: run audian login (profile %q), or set AUDIAN_API_KEY", name)
	}
	cl, err := audian.NewClient(url, opts...)
	return cl, p, err
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// login verifies a credential against the server and saves the profile.
func (c *cli) login(args []string) error {
	fs := c.flags("login")
	url := fs.String("url", "", "the server's base URL, https://HOST:PORT (default $AUDIAN_URL or the profile's)")
	caFile := fs.String("ca-cert", "", "a PEM certificate to trust, for a self-signed server (default $AUDIAN_CA_CERT)")
	keyStdin := fs.Bool("api-key-stdin", false, "read the API key from standard input (for scripts)")
	account := fs.String("account", "", "the account name, to log in with a username and password")
	username := fs.String("username", "", "the username, to log in with a password")
	pwStdin := fs.Bool("password-stdin", false, "read the password from standard input instead of the terminal")
	device := fs.Bool("device", false, "log in through the browser with the OAuth device grant (needs --client-id)")
	clientID := fs.String("client-id", "", "the OAuth client id of a public application with the device grant (default $AUDIAN_CLIENT_ID)")
	scope := fs.String("scope", "", "the OAuth scopes to ask for, space-separated (default: the application's)")
	if _, err := parse(fs, args, 0, "[flags]"); err != nil {
		return err
	}
	p, name, err := c.load()
	if err != nil {
		return err
	}
	np := &profile{URL: firstOf(*url, c.getenv("AUDIAN_URL"), p.URL)}
	if np.URL == "" {
		return errors.New("login: --url is required (https://HOST:PORT)")
	}
	if f := firstOf(*caFile, c.getenv("AUDIAN_CA_CERT")); f != "" {
		pem, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("login: --ca-cert: %w", err)
		}
		np.CACert = string(pem)
	} else if np.URL == p.URL {
		np.CACert = p.CACert
	}
	opts := []audian.Option{audian.WithUserAgent("audian-cli/" + Version)}
	if np.CACert != "" {
		opts = append(opts, audian.WithCACert([]byte(np.CACert)))
	}
	in := bufio.NewReader(c.stdin)
	switch {
	case *device:
		np.ClientID = firstOf(*clientID, c.getenv("AUDIAN_CLIENT_ID"))
		if np.ClientID == "" {
			return errors.New("login: --device needs --client-id (a public OAuth application with the device grant)")
		}
		tok, err := deviceLogin(c.ctx, httpClient([]byte(np.CACert)), strings.TrimSuffix(np.URL, "/"), np.ClientID, *scope, c.stderr)
		if err != nil {
			return err
		}
		np.Token, np.RefreshToken = tok.AccessToken, tok.RefreshToken
		opts = append(opts, audian.WithToken(tok.AccessToken))
	case *username != "" || *account != "":
		if *username == "" || *account == "" {
			return errors.New("login: a password login needs both --account and --username")
		}
		pw, err := c.secret(in, *pwStdin, "Password for "+*username+": ")
		if err != nil {
			return err
		}
		np.AccountName, np.Username = *account, *username
		opts = append(opts, audian.WithCredentials(*account, *username, pw))
	default:
		key, err := c.secret(in, *keyStdin, "API key: ")
		if err != nil {
			return err
		}
		np.APIKey = key
		opts = append(opts, audian.WithAPIKey(key))
	}
	cl, err := audian.NewClient(np.URL, opts...)
	if err != nil {
		return err
	}
	var s *audian.Session
	if *device {
		s, err = cl.Tokens.Info(c.ctx)
	} else {
		s, err = cl.Login(c.ctx)
	}
	if err != nil {
		return err
	}
	np.AccountID = s.AccountID
	if np.APIKey == "" && !*device {
		// A password is never stored: the token serves until it expires.
		if np.Token, err = cl.Token(c.ctx); err != nil {
			return err
		}
	}
	c.cfg.Profiles[name] = np
	c.cfg.Current = name
	if err := c.cfg.save(c.cfgPath); err != nil {
		return fmt.Errorf("saving the profile: %w", err)
	}
	if c.json {
		return c.printJSON(map[string]any{"profile": name, "url": np.URL, "account_id": s.AccountID,
			"account_name": s.AccountName, "owner_id": s.OwnerID})
	}
	who := "with an API key"
	switch {
	case np.Username != "":
		who = "as " + np.Username
	case *device:
		who = "through the browser"
	}
	fmt.Fprintf(c.stdout, "Logged in to %s %s: account %s (%s). Profile %q saved in %s\n",
		np.URL, who, s.AccountName, s.AccountID, name, c.cfgPath)
	return nil
}

// secret reads a secret: from standard input when fromStdin (the first
// line), else from the terminal without echo. Without a terminal, it
// reads standard input too, so that pipes work without the flag.
func (c *cli) secret(in *bufio.Reader, fromStdin bool, prompt string) (string, error) {
	if f, ok := c.stdin.(*os.File); ok && !fromStdin && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(c.stderr, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(c.stderr)
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(string(b)), nil
	}
	line, err := in.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	s := strings.TrimSpace(line)
	if s == "" {
		return "", errors.New("login: nothing on standard input: " + strings.TrimSuffix(prompt, ": "))
	}
	return s, nil
}

// logout revokes the profile's token, if it holds one, and removes it.
func (c *cli) logout(args []string) error {
	fs := c.flags("logout")
	if _, err := parse(fs, args, 0, "[--profile NAME]"); err != nil {
		return err
	}
	p, name, err := c.load()
	if err != nil {
		return err
	}
	if _, ok := c.cfg.Profiles[name]; !ok {
		return fmt.Errorf("logout: no profile %q", name)
	}
	if p.Token != "" {
		if cl, _, err := c.client(); err == nil {
			if err := cl.Tokens.Revoke(c.ctx); err != nil && !errors.Is(err, audian.ErrUnauthorized) {
				fmt.Fprintln(c.stderr, "audian: revoking the token failed:", err)
			}
		}
	}
	delete(c.cfg.Profiles, name)
	if c.cfg.Current == name {
		c.cfg.Current = ""
	}
	if err := c.cfg.save(c.cfgPath); err != nil {
		return err
	}
	if !c.json {
		fmt.Fprintf(c.stdout, "Logged out: profile %q removed\n", name)
	}
	return nil
}

// printJSON writes v indented.
func (c *cli) printJSON(v any) error {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// table writes rows under a header, aligned.
func (c *cli) table(header []string, rows [][]string) {
	w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(w, strings.Join(r, "\t"))
	}
	w.Flush()
}

// fields prints one object as "key  value" lines.
func (c *cli) fields(kv [][2]string) {
	w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	for _, p := range kv {
		if p[1] != "" {
			fmt.Fprintf(w, "%s\t%s\n", p[0], p[1])
		}
	}
	w.Flush()
}

// show prints v as JSON or, for a table, as kv.
func (c *cli) show(v any, kv func() [][2]string) error {
	if c.json {
		return c.printJSON(v)
	}
	c.fields(kv())
	return nil
}

// done reports a change without a reply to show.
func (c *cli) done(v any, msg string) error {
	if c.json {
		return c.printJSON(v)
	}
	fmt.Fprintln(c.stdout, msg)
	return nil
}

// strs is a repeatable string flag.
type strs []string

func (s *strs) String() string     { return strings.Join(*s, ",") }
func (s *strs) Set(v string) error { *s = append(*s, strings.Split(v, ",")...); return nil }

// kvs is a repeatable key=value flag for document fields.
type kvs map[string]any

func (m kvs) String() string { return "" }
func (m kvs) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return errors.New("want key=value")
	}
	var parsed any
	if json.Unmarshal([]byte(val), &parsed) == nil {
		m[k] = parsed // numbers, booleans, null, objects
	} else {
		m[k] = val
	}
	return nil
}

func boolStr(b *bool) string {
	if b == nil {
		return ""
	}
	return fmt.Sprint(*b)
}

func timeStr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func created(g int64) string {
	if g == 0 {
		return ""
	}
	return audian.GregorianTime(g).Format(time.RFC3339)
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
