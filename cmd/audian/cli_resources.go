package main

import (
	"flag"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/audian/audian"
)

// collect runs a list to its end, or to its first error.
func collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	out := []T{}
	for v, err := range seq {
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// listFlags adds the flags of every list: --page-size, --filter.
func listFlags(fs *flag.FlagSet) (*int, kvs) {
	f := kvs{}
	n := fs.Int("page-size", 0, "items per request (the command still prints the whole list)")
	fs.Var(f, "filter", "a Crossbar filter, field=value (filter_ is added); repeatable")
	return n, f
}

func listOptions(n *int, f kvs) *audian.ListOptions {
	o := &audian.ListOptions{PageSize: *n, Filters: map[string]string{}}
	for k, v := range f {
		if !strings.HasPrefix(k, "filter_") && k != "created_from" && k != "created_to" {
			k = "filter_" + k
		}
		o.Filters[k] = fmt.Sprint(v)
	}
	return o
}

// accountFlag is --account, the account a command acts in.
func accountFlag(fs *flag.FlagSet) *string {
	return fs.String("account", "", "the account id (default: the one logged in to)")
}

// --- accounts

func accountKV(a *audian.Account) func() [][2]string {
	return func() [][2]string {
		kv := [][2]string{{"id", a.ID}, {"name", a.Name}, {"realm", a.Realm}, {"enabled", boolStr(a.Enabled)},
			{"timezone", a.Timezone}, {"language", a.Language}, {"created", created(a.Created)}, {"reseller_id", a.ResellerID}}
		if a.SuperDuperAdmin != nil && *a.SuperDuperAdmin {
			kv = append(kv, [2]string{"superduper_admin", "true"})
		}
		for _, k := range sortedKeys(a.Extra) {
			kv = append(kv, [2]string{k, fmt.Sprint(a.Extra[k])})
		}
		return kv
	}
}

func (c *cli) accountsGet(args []string) error {
	fs := c.flags("accounts get")
	pos, err := parse(fs, args, 1, "[ACCOUNT_ID]")
	if err != nil {
		return err
	}
	cl, _, err := c.client()
	if err != nil {
		return err
	}
	a, err := cl.Accounts.Get(c.ctx, firstOf(pos...))
	if err != nil {
		return err
	}
	return c.show(a, accountKV(a))
}

// accountDoc adds the flags of an account's writable fields.
func accountDoc(fs *flag.FlagSet) func() map[string]any {
	name := fs.String("name", "", "the account's name")
	realm := fs.String("realm", "", "the SIP realm (unique)")
	tz := fs.String("timezone", "", "the time zone, such as Europe/Paris")
	lang := fs.String("language", "", "the language, such as en-us")
	enabled := fs.String("enabled", "", "true or false (an ancestor only)")
	set := kvs{}
	fs.Var(set, "set", "any other field, key=value (JSON values are parsed); repeatable")
	return func() map[string]any {
		d := map[string]any{}
		for k, v := range set {
			d[k] = v
		}
		for k, v := range map[string]string{"name": *name, "realm": *realm, "timezone": *tz, "language": *lang} {
			if v != "" {
				d[k] = v
			}
		}
		if *enabled != "" {
			d["enabled"] = *enabled == "true"
		}
		return d
	}
}

func (c *cli) accountsCreate(args []string) error {
	fs := c.flags("accounts create")
	parent := fs.String("parent", "", "the parent account id (default: the one logged in to)")
	doc := accountDoc(fs)
	if _, err := parse(fs, args, 0, "--name NAME [flags]"); err != nil {
		return err
	}
	d := doc()
	if d["name"] == nil {
		return fmt.Errorf("accounts create: --name is required")
	}
	cl, _, err := c.client()
	if err != nil {
		return err
	}
	var a audian.Account
	if err := jsonRoundTripErr(d, &a); err != nil {
		return err
	}
	out, err := cl.Accounts.Create(c.ctx, *parent, &a)
	if err != nil {
		return err
	}
	return c.show(out, accountKV(out))
}

func (c *cli) accountsUpdate(args []string) error {
	fs := c.flags("accounts update")
	doc := accountDoc(fs)
	pos, err := parse(fs, args, 1, "ACCOUNT_ID [--name NAME] [--set key=value ...]")
	if err != nil {
		return err
	}
	id, err := need(fs, pos, 0, "the account id")
	if err != nil {
		return err
	}
	d := doc()
	if len(d) == 0 {
		return fmt.Errorf("accounts update: nothing to change")
	}
	cl, _, err := c.client()
	if err != nil {
		return err
	}
	out, err := cl.Accounts.Patch(c.ctx, id, d)
	if err != nil {
		return err
	}
	return c.show(out, accountKV(out))
}

func (c *cli) accountsDelete(args []string) error {
	fs := c.flags("accounts delete")
	pos, err := parse(fs, args, 1, "ACCOUNT_ID")
	if err != nil {
		return err
	}
	id, err := need(fs, pos, 0, "the account id")
	if err != nil {
		return err
	}
	cl, _, err := c.client()
	if err != nil {
		return err
	}
	if err := cl.Accounts.Delete(c.ctx, id); err != nil {
		return err
	}
	return c.done(map[string]any{"id": id, "deleted": true}, "Deleted account "+id)
}

func (c *cli) accountsTree(which string) func([]string) error {
	return func(args []string) error {
		fs := c.flags("accounts " + which)
		n, f := listFlags(fs)
		pos, err := parse(fs, args, 1, "[ACCOUNT_ID]")
		if err != nil {
			return err
		}
		cl, _, err := c.client()
		if err != nil {
			return err
		}
		seq := cl.Accounts.Children
		if which == "descendants" {
			seq = cl.Accounts.Descendants
		}
		items, err := collect(seq(c.ctx, firstOf(pos...), listOptions(n, f)))
		if err != nil {
			return err
		}
		if c.json {
			return c.printJSON(items)
		}
		rows := make([][]string, 0, len(items))
		for _, a := range items {
			d := ""
			if a.DescendantsCount != nil {
				d = fmt.Sprint(*a.DescendantsCount)
			}
			rows = append(rows, []string{a.ID, a.Name, a.Realm, d})
		}
		c.table([]string{"ID", "NAME", "REALM", "DESCENDANTS"}, rows)
		return nil
	}
}

// --- users

func userKV(u *audian.User) func() [][2]string {
	return func() [][2]string {
		kv := [][2]string{{"id", u.ID}, {"username", u.Username}, {"first_name", u.FirstName}, {"last_name", u.LastName},
			{"email", u.Email}, {"priv_level", u.PrivLevel}, {"enabled", boolStr(u.Enabled)},
			{"require_password_update", boolStr(u.RequirePasswordUpdate)}, {"timezone", u.Timezone}, {"language", u.Language}}
		for _, k := range sortedKeys(u.Extra) {
			kv = append(kv, [2]string{k, fmt.Sprint(u.Extra[k])})
		}
		return kv
	}
}

func (c *cli) usersList(args []string) error {
	fs := c.flags("users list")
	acct := accountFlag(fs)
	n, f := listFlags(fs)
	if _, err := parse(fs, args, 0, "[--account ID] [--filter field=value]"); err != nil {
		return err
	}
	cl, _, err := c.client()
	if err != nil {
		return err
	}
	users, err := collect(cl.Users.List(c.ctx, *acct, listOptions(n, f)))
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(users)
	}
	rows := make([][]string, 0, len(users))
	for _, u := range users {
		rows = append(rows, []string{u.ID, u.Username, strings.TrimSpace(u.FirstName + " " + u.LastName), u.Email, u.PrivLevel, boolStr(u.Enabled)})
	}
	c.table([]string{"ID", "USERNAME", "NAME", "EMAIL", "ROLE", "ENABLED"}, rows)
	return nil
}

func (c *cli) usersGet(args []string) error {
	fs := c.flags("users get")
	acct := accountFlag(fs)
	pos, err := parse(fs, args, 1, "USER_ID [--account ID]")
	if err != nil {
		return err
	}
	id, err := need(fs, pos, 0, "the user id")
	if err != nil {
		return err
	}
	cl, _, err := c.client()
	if err != nil {
		return err
	}
	u, err := cl.Users.Get(c.ctx, *acct, id)
	if err != nil {
		return err
	}
	return c.show(u, userKV(u))
}

// userDoc adds the flags of a user's writable fields.
func (c *cli) userDoc(fs *flag.FlagSet) func() (map[string]any, error) {
	vals := map[string]*string{}
	for _, f := range []struct{ name, key, usage string }{
		{"first-name", "first_name", "first name"}, {"last-name", "last_name", "last name"},
		{"username", "username", "username (needs a password)"}, {"email", "email", "email address"},
		{"priv-level", "priv_level", "admin or user"}, {"timezone", "timezone", "time zone"},
		{"language", "language", "language"},
	} {
		vals[f.key] = fs.String(f.name, "", "the user's "+f.usage)
	}
	enabled := fs.String("enabled", "", "true or false")
	pwStdin := fs.Bool("password-stdin", false, "read the user's password from standard input")
	set := kvs{}
	fs.Var(set, "set", "any other field, key=value (JSON values are parsed); repeatable")
	return func() (map[string]any, error) {
		d := map[string]any{}
		for k, v := range set {
			d[k] = v
		}
		for k, v := range vals {
			if *v != "" {
				d[k] = *v
			}
		}
		if *enabled != "" {
			d["enabled"] = *enabled == "true"
		}
		if *pwStdin {
			pw, err := c.secret(newLineReader(c.stdin), true, "password: ")
			if err != nil {
				return nil, err
			}
			d["password"] = pw
		}
		return d, nil
	}
}

func (c *cli) usersCreate(args []string) error {
	fs := c.flags("users create")
	acct := accountFlag(fs)
	doc := c.userDoc(fs)
	if _, err := parse(fs, args, 0, "--first-name F --last-name L [--username U --password-stdin] [flags]"); err != nil {
		return err
	}
	d, err := doc()
	if err != nil {
		return err
	}
	cl, _, err := c.client()
	if err != nil {
		return err
	}
	var u audian.User
	if err := jsonRoundTripErr(d, &u); err != nil {
		return err
	}
	out, err := cl.Users.Create(c.ctx, *acct, &u)
	if err != nil {
		return err
	}
	return c.show(out, userKV(out))
}

func (c *cli) usersUpdate(args []string) error {
	fs := c.flags("users update")
	acct := accountFlag(fs)
	doc := c.userDoc(fs)
	pos, err := parse(fs, args, 1, "USER_ID [flags]")
	if err != nil {
		return err
	}
	id, err := need(fs, pos, 0, "the user id")
	if err != nil {
		return err
	}
	d, err := doc()
	if err != nil {
		return err
	}
	if len(d) == 0 {
		return fmt.Errorf("users update: nothing to change")
	}
	cl, _, err := c.client()
	if err != nil {
		return err
	}
	out, err := cl.Users.Patch(c.ctx, *acct, id, d)
	if err != nil {
		return err
	}
	return c.show(out, userKV(out))
}

func (c *cli) usersDelete(args []string) error {
	fs := c.flags("users delete")
	acct := accountFlag(fs)
	pos, err := parse(fs, args, 1, "USER_ID [--account ID]")
	if err != nil {
		return err
	}
	id, err := need(fs, pos, 0, "the user id")
	if err != nil {
		return err
	}
	cl, _, err := c.client()
	if err != nil {
		return err
	}
	if err := cl.Users.Delete(c.ctx, *acct, id); err != nil {
		return err
	}
	return c.done(map[string]any{"id": id, "deleted": true}, "Deleted user "+id)
}

// --- keys

func keyKV(k *audian.APIKey) func() [][2]string {
	return func() [][2]string {
		scopes := "(all of its creator's)"
		if k.Scopes != nil {
			scopes = strings.Join(k.Scopes, " ")
		}
		cidrs := "(any)"
		if len(k.AllowedCIDRs) > 0 {
			cidrs = strings.Join(k.AllowedCIDRs, " ")
		}
		ip := ""
		if k.LastUsedIP != nil {
			ip = *k.LastUsedIP
		}
		return [][2]string{{"id", k.ID}, {"name", k.Name}, {"prefix", k.Prefix}, {"status", k.Status},
			{"scopes", scopes}, {"allowed_cidrs", cidrs}, {"created", created(k.Created)},
			{"expires_at", timeStr(k.ExpiresAt)}, {"last_used_at", timeStr(k.LastUsedAt)}, {"last_used_ip", ip},
			{"rotation_due", fmt.Sprint(k.RotationDue)}, {"rotated_from", k.RotatedFrom},
			{"previous_expires_at", timeStr(k.PreviousExpiresAt)}}
	}
}

// showSecret prints a created or rotated key: its secret once, on its
// own line, then the metadata.
func (c *cli) showSecret(k *audian.APIKey, what string) error {
	if c.json {
		return c.printJSON(k)
	}
	fmt.Fprintf(c.stdout, "%s. Its secret is shown this once; store it now:\n\n  %s\n\n", what, k.Secret)
	c.fields(keyKV(k)())
	return nil
}

func (c *cli) keysList(args []string) error {
	fs := c.flags("keys list")
	acct := accountFlag(fs)
	n, f := listFlags(fs)
	if _, err := parse(fs, args, 0, "[--account ID]"); err != nil {
		return err
	}
	cl, _, err := c.client()
	if err != nil {
		return err
	}
	keys, err := collect(cl.Keys.List(c.ctx, *acct, listOptions(n, f)))
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(keys)
	}
	rows := make([][]string, 0, len(keys))
	for _, k := range keys {
		scopes := "*"
		if k.Scopes != nil {
			scopes = strings.Join(k.Scopes, ",")
		}
		rows = append(rows, []string{k.ID, k.Name, k.Prefix + "…", k.Status, scopes, created(k.Created), timeStr(k.LastUsedAt)})
	}
	c.table([]string{"ID", "NAME", "PREFIX", "STATUS", "SCOPES", "CREATED", "LAST USED"}, rows)
	return nil
}

func (c *cli) keysGet(args []string) error {
	fs := c.flags("keys get")
	acct := accountFlag(fs)
	pos, err := parse(fs, args, 1, "KEY_ID [--account ID]")
	if err != nil {
		return err
	}
	id, err := need(fs, pos, 0, "the key id")
	if err != nil {
		return err
	}
	cl, _, err := c.client()
	if err != nil {
		return err
	}
	k, err := cl.Keys.Get(c.ctx, *acct, id)
	if err != nil {
		return err
	}
	return c.show(k, keyKV(k))
}

func (c *cli) keysCreate(args []string) error {
	fs := c.flags("keys create")
	acct := accountFlag(fs)
	name := fs.String("name", "", "the key's name")
	var scopes, cidrs strs
	fs.Var(&scopes, "scope", "a scope such as users:read; repeatable (default: all of yours)")
	fs.Var(&cidrs, "cidr", "an address range the key works from; repeatable (default: any)")
	expires := fs.Duration("expires-in", 0, "expire the key after this long, such as 720h (default: never)")
	if _, err := parse(fs, args, 0, "--name NAME [--scope S ...] [--cidr C ...] [--expires-in D]"); err != nil {
		return err
	}
	if *name == "" {
		return fmt.Errorf("keys create: --name is required")
	}
	cl, _, err := c.client()
	if err != nil {
		return err
	}
	nk := audian.NewKey{Name: *name, Scopes: scopes, AllowedCIDRs: cidrs}
	if *expires > 0 {
		t := time.Now().Add(*expires).UTC().Truncate(time.Second)
		nk.ExpiresAt = &t
	}
	k, err := cl.Keys.Create(c.ctx, *acct, nk)
	if err != nil {
		return err
	}
	return c.showSecret(k, "Created API key "+k.Name+" ("+k.ID+")")
}

func (c *cli) keysUpdate(args []string) error {
	fs := c.flags("keys update")
	acct := accountFlag(fs)
	name := fs.String("name", "", "a new name")
	var scopes, cidrs strs
	fs.Var(&scopes, "scope", "replace the scopes; repeatable")
	fs.Var(&cidrs, "cidr", "replace the address ranges; repeatable")
	unscoped := fs.Bool("unscoped", false, "remove the key's scopes")
	anyAddr := fs.Bool("any-address", false, "remove the key's address ranges")
	pos, err := parse(fs, args, 1, "KEY_ID [--name N] [--scope S ...] [--cidr C ...]")
	if err != nil {
		return err
	}
	id, err := need(fs, pos, 0, "the key id")
	if err != nil {
		return err
	}
	cl, _, err := c.client()
	if err != nil {
		return err
	}
	k, err := cl.Keys.Update(c.ctx, *acct, id, audian.KeyUpdate{Name: *name, Scopes: scopes, AllowedCIDRs: cidrs, Unscoped: *unscoped, AnyAddress: *anyAddr})
	if err != nil {
		return err
	}
	return c.show(k, keyKV(k))
}

func (c *cli) keysRotate(args []string) error {
	fs := c.flags("keys rotate")
	acct := accountFlag(fs)
	grace := fs.Duration("grace", -1, "how long the old secret keeps working (default: the server's, a day; 0: stop it now)")
	pos, err := parse(fs, args, 1, "KEY_ID [--grace D]")
	if err != nil {
		return err
	}
	id, err := need(fs, pos, 0, "the key id")
	if err != nil {
		return err
	}
	cl, _, err := c.client()
	if err != nil {
		return err
	}
	k, err := cl.Keys.Rotate(c.ctx, *acct, id, *grace)
	if err != nil {
		return err
	}
	return c.showSecret(k, "Rotated API key "+k.Name+": new id "+k.ID)
}

func (c *cli) keysRevoke(args []string) error {
	fs := c.flags("keys revoke")
	acct := accountFlag(fs)
	pos, err := parse(fs, args, 1, "KEY_ID [--account ID]")
	if err != nil {
		return err
	}
	id, err := need(fs, pos, 0, "the key id")
	if err != nil {
		return err
	}
	cl, _, err := c.client()
	if err != nil {
		return err
	}
	if err := cl.Keys.Revoke(c.ctx, *acct, id); err != nil {
		return err
	}
	return c.done(map[string]any{"id": id, "revoked": true}, "Revoked API key "+id+" and every token it issued")
}

// --- tokens

func sessionKV(s *audian.Session) func() [][2]string {
	return func() [][2]string {
		exp, iat := "", ""
		if s.ExpiresAt > 0 {
			exp = time.Unix(s.ExpiresAt, 0).UTC().Format(time.RFC3339)
		}
		if s.IssuedAt > 0 {
			iat = time.Unix(s.IssuedAt, 0).UTC().Format(time.RFC3339)
		}
		var scopes string
		if s.Scopes != nil {
			scopes = strings.Join(s.Scopes, " ")
		}
		return [][2]string{{"account_id", s.AccountID}, {"account_name", s.AccountName}, {"owner_id", s.OwnerID},
			{"method", s.Method}, {"priv_level", s.PrivLevel}, {"key_id", s.KeyID}, {"scopes", scopes},
			{"jti", s.JTI}, {"issued_at", iat}, {"expires_at", exp}}
	}
}

func (c *cli) tokensInfo(args []string) error {
	fs := c.flags("tokens info")
	if _, err := parse(fs, args, 0, ""); err != nil {
		return err
	}
	cl, _, err := c.client()
	if err != nil {
		return err
	}
	s, err := cl.Tokens.Info(c.ctx)
	if err != nil {
		return err
	}
	return c.show(s, sessionKV(s))
}

func (c *cli) tokensInspect(args []string) error {
	fs := c.flags("tokens inspect")
	if _, err := parse(fs, args, 0, "< TOKEN (the token is read from standard input)"); err != nil {
		return err
	}
	tok, err := c.secret(newLineReader(c.stdin), true, "token: ")
	if err != nil {
		return err
	}
	cl, _, err := c.client()
	if err != nil {
		return err
	}
	s, err := cl.Tokens.Inspect(c.ctx, tok)
	if err != nil {
		return err
	}
	return c.show(s, sessionKV(s))
}

func (c *cli) tokensRevoke(args []string) error {
	fs := c.flags("tokens revoke")
	if _, err := parse(fs, args, 0, ""); err != nil {
		return err
	}
	cl, p, err := c.client()
	if err != nil {
		return err
	}
	if err := cl.Tokens.Revoke(c.ctx); err != nil {
		return err
	}
	if p.Token != "" {
		// The saved token is dead: forget it.
		p.Token = ""
		if err := c.cfg.save(c.cfgPath); err != nil {
			return err
		}
	}
	return c.done(map[string]any{"revoked": true}, "Revoked the profile's token")
}

func (c *cli) tokensCreate(args []string) error {
	fs := c.flags("tokens create")
	var scopes strs
	fs.Var(&scopes, "scope", "a scope of the access token; repeatable, at least one")
	lifetime := fs.Duration("lifetime", 0, "how long the token lives, 15m to 24h (default: the server's)")
	if _, err := parse(fs, args, 0, "--scope S [--scope S ...] [--lifetime D]"); err != nil {
		return err
	}
	if len(scopes) == 0 {
		return fmt.Errorf("tokens create: at least one --scope is required")
	}
	cl, _, err := c.client()
	if err != nil {
		return err
	}
	at, err := cl.Tokens.CreateAccessToken(c.ctx, scopes, *lifetime)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(at)
	}
	fmt.Fprintln(c.stdout, at.AccessToken)
	fmt.Fprintf(c.stderr, "scopes %s, expires %s\n", strings.Join(at.Scopes, " "), at.ExpiresAt.Format(time.RFC3339))
	return nil
}

func (c *cli) tokensRefresh(args []string) error {
	fs := c.flags("tokens refresh")
	if _, err := parse(fs, args, 0, ""); err != nil {
		return err
	}
	cl, p, err := c.client()
	if err != nil {
		return err
	}
	tok, err := cl.Tokens.Refresh(c.ctx)
	if err != nil {
		return err
	}
	if p.Token != "" {
		p.Token = tok
		if err := c.cfg.save(c.cfgPath); err != nil {
			return err
		}
	}
	s, err := cl.Tokens.Info(c.ctx)
	if err != nil {
		return err
	}
	return c.show(s, sessionKV(s))
}

// --- audit

func (c *cli) auditList(args []string) error {
	fs := c.flags("audit list")
	acct := accountFlag(fs)
	actor := fs.String("actor", "", "only the entries of this user or key id")
	action := fs.String("action", "", "only this action, such as users.create")
	since := fs.Duration("since", 0, "only the entries of the last D, such as 24h")
	n := fs.Int("page-size", 0, "items per request")
	if _, err := parse(fs, args, 0, "[--account ID] [--actor ID] [--action A] [--since D]"); err != nil {
		return err
	}
	cl, _, err := c.client()
	if err != nil {
		return err
	}
	q := audian.AuditQuery{Actor: *actor, Action: *action, PageSize: *n}
	if *since > 0 {
		q.From = time.Now().Add(-*since)
	}
	entries, err := collect(cl.Audit.List(c.ctx, *acct, q))
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(entries)
	}
	rows := make([][]string, 0, len(entries))
	for _, e := range entries {
		actor := e.ActorType
		if e.ActorID != "" {
			actor += ":" + e.ActorID
		}
		target := e.TargetType
		if e.TargetID != "" {
			target += ":" + e.TargetID
		}
		rows = append(rows, []string{created(e.Created), e.Action, e.Outcome, actor, target, e.ClientIP, e.Reason})
	}
	c.table([]string{"TIME", "ACTION", "OUTCOME", "ACTOR", "TARGET", "CLIENT IP", "REASON"}, rows)
	return nil
}
