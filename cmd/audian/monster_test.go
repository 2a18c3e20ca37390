package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/audian/audian/internal/config"
	"github.com/audian/audian/internal/identity"
)

// pngImage returns a w×h PNG.
func pngImage(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	// Noise, so that the size of the file grows with the image's.
	rng := rand.New(rand.NewPCG(uint64(w), uint64(h)))
	for i := range img.Pix {
		img.Pix[i] = byte(rng.Uint32())
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// checkFileReply checks the headers of a file reply: a content type
// audian chose, nosniff, and a CSP that forbids everything.
func checkFileReply(t testing.TB, what string, h http.Header) {
	t.Helper()
	if ct := h.Get("Content-Type"); !slices.Contains([]string{"image/png", "image/jpeg", "text/html; charset=utf-8"}, ct) {
		t.Errorf("%s: file served as %q", what, ct)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("%s: file served without nosniff and default-src 'none': %v", what, h)
	}
}

// ms is Monster UI's cache buster, on every GET.
func ms() string { return "_=" + strconv.FormatInt(time.Now().UnixMilli(), 10) }

// appJSON is a Monster app's metadata/app.json.
func appJSON(name string) map[string]any {
	return map[string]any{
		"name": name, "author": "2600Hz", "version": "4.3", "license": "MPL-2.0", "price": 0,
		"icon": name + ".png", "screenshots": []any{name + "1.png"}, "tags": []any{"reseller", "developer"},
		"api_url": "https://api.example.com:8443/v2/", "source_url": "https://ui.example.com/apps/" + name,
		"i18n": map[string]any{"en-US": map[string]any{"label": "App " + name, "description": "The " + name + " app"}},
	}
}

// monsterAccount is a reseller account with an admin who signs in with a
// password, made through the API.
type monsterAccount struct {
	id, name, user, username, password, sys string
}

func newMonsterAccount(t *testing.T, n *node, sys, name string) monsterAccount {
	t.Helper()
	boot := n.m.Bootstrapped
	r := n.do("PUT", "/v2/accounts/"+boot.AccountID, sys, map[string]any{"data": map[string]any{"name": name}})
	mustStatus(t, "create "+name, r, 201)
	a := monsterAccount{id: r.data()["id"].(string), name: name, username: "admin@" + strings.ToLower(strings.ReplaceAll(name, " ", "")) + ".example",
		password: "a long passphrase for " + name, sys: sys}
	r = n.do("PUT", "/v2/accounts/"+a.id+"/users", sys, map[string]any{"data": map[string]any{
		"first_name": "Reseller", "last_name": "Admin", "priv_level": "admin", "username": a.username, "password": a.password}})
	mustStatus(t, "create the admin", r, 201)
	a.user = r.data()["id"].(string)
	return a
}

// TestMonsterUISequence replays the calls Monster UI 4.3 makes from page
// load to My Account, through the real server on both backends, with the
// account and user of a real md5 user_auth: every call answers 2xx but
// the one Monster UI tolerates, and the branding the reseller set is what
// the login page reads by domain.
func TestMonsterUISequence(t *testing.T) {
	forEachBackend(t, func(t *testing.T, raw *node) {
		n := newChecked(t, raw)
		sys := n.login(n.m.Bootstrapped.APIKey.Reveal())
		res := newMonsterAccount(t, raw, sys, "Monster Reseller")
		const domain = "portal.monster-reseller.example"
		mustStatus(t, "catalogue app", n.do("PUT", "/v2/apps_store", sys, map[string]any{"data": appJSON("voip")}), 201)

		// The reseller brands its portal, signed in as its admin.
		login := n.do("PUT", "/v2/user_auth", "", map[string]any{"data": map[string]any{
			"credentials": digest("md5", res.username, res.password), "method": "md5", "account_name": res.name}})
		mustStatus(t, "reseller user_auth", login, 201)
		tok := login.body["auth_token"].(string)
		acct := "/v2/accounts/" + res.id
		mustStatus(t, "set the branding", n.do("PUT", acct+"/whitelabel", tok, map[string]any{"data": map[string]any{
			"company_name": "Monster Reseller Telecom", "domain": domain, "hide_powered": true}}), 201)
		logo := pngImage(t, 8, 4)
		mustStatus(t, "upload the logo", n.do("POST", acct+"/whitelabel/logo", tok,
			"data:image/png;base64,"+base64.StdEncoding.EncodeToString(logo), "Content-Type", "application/x-base64"), 200)
		mustStatus(t, "upload the icon", n.do("POST", acct+"/whitelabel/icon", tok, string(pngImage(t, 2, 2)), "Content-Type", "image/png"), 200)

		// Page load: the login page, no token.
		origin := []string{"Origin", "https://" + domain}
		r := n.do("GET", "/v2/whitelabel/"+domain+"?"+ms(), "undefined", nil, origin...)
		mustStatus(t, "GET whitelabel/{domain}", r, 200)
		if r.data()["company_name"] != "Monster Reseller Telecom" || r.data()["domain"] != domain || r.data()["hide_powered"] != true {
			t.Errorf("branding by domain = %v", r.data())
		}
		if r.header.Get("Access-Control-Allow-Origin") == "" {
			t.Error("the public branding has no CORS headers")
		}
		r = n.do("GET", "/v2/whitelabel/"+domain+"/logo?"+ms(), "", nil)
		mustStatus(t, "GET whitelabel/{domain}/logo", r, 200)
		if !bytes.Equal(r.raw, logo) || r.header.Get("Content-Type") != "image/png" {
			t.Errorf("logo by domain: %q, %d bytes, want the uploaded PNG", r.header.Get("Content-Type"), len(r.raw))
		}
		mustStatus(t, "GET whitelabel/{domain}/icon", n.do("GET", "/v2/whitelabel/"+domain+"/icon?"+ms(), "", nil), 200)
		mustStatus(t, "GET whitelabel of an unclaimed domain", n.do("GET", "/v2/whitelabel/nobody.example?"+ms(), "", nil), 404)

		// Sign-in and the app shell.
		login = n.do("PUT", "/v2/user_auth", "undefined", map[string]any{"data": map[string]any{
			"credentials": digest("md5", res.username, res.password), "account_name": res.name}}, origin...)
		mustStatus(t, "PUT user_auth", login, 201)
		tok = login.body["auth_token"].(string)
		accountID, _ := login.data()["account_id"].(string)
		userID, _ := login.data()["owner_id"].(string)
		if accountID != res.id || userID != res.user {
			t.Fatalf("user_auth data = %v", login.data())
		}
		acct = "/v2/accounts/" + accountID
		mustStatus(t, "GET external_numbers (tolerated)", n.do("GET", acct+"/external_numbers?"+ms(), tok, nil, origin...), 404)
		steps := []struct {
			method, path string
			body         any
			want         int
		}{
			{"GET", acct, nil, 200},
			{"GET", acct + "/users/" + userID, nil, 200},
			{"GET", acct + "/apps_store", nil, 200},
			{"POST", acct, map[string]any{"data": map[string]any{"name": res.name,
				"ui_restrictions": map[string]any{"myaccount": map[string]any{"user": map[string]any{"show_tab": true}}},
				"ui_metadata":     map[string]any{"version": "4.3", "ui": "monster-ui"}}}, 200},
			{"GET", acct + "/alerts", nil, 200},
			{"GET", acct + "/users?paginate=false", nil, 200},
			{"GET", acct + "/children?ascending=true", nil, 200},
			{"GET", acct + "/ledgers/total", nil, 200},
			{"GET", acct + "/limits", nil, 200},
		}
		got := map[string]*response{}
		for _, s := range steps {
			path := s.path
			if s.method == "GET" {
				path += map[bool]string{true: "&", false: "?"}[strings.Contains(path, "?")] + ms()
			}
			r := n.do(s.method, path, tok, s.body, origin...)
			mustStatus(t, s.method+" "+s.path, r, s.want)
			got[s.method+" "+s.path] = r
		}
		user := got["GET "+acct+"/users/"+userID].data()
		for _, k := range []string{"email", "presence_id", "timezone", "language"} {
			if _, ok := user[k]; ok {
				t.Errorf("the user document has %s = %q, a field it never set", k, user[k])
			}
		}
		apps, _ := got["GET "+acct+"/apps_store"].body["data"].([]any)
		if len(apps) != 1 || apps[0].(map[string]any)["name"] != "voip" {
			t.Errorf("apps_store = %v, want the catalogue's voip", apps)
		}
		if alerts, ok := got["GET "+acct+"/alerts"].body["data"].([]any); !ok || len(alerts) != 0 {
			t.Errorf("alerts of a new account = %v, want []", got["GET "+acct+"/alerts"].body["data"])
		}
		if !bytes.Contains(got["GET "+acct+"/ledgers/total"].raw, []byte(`"data":{"amount":0.0}`)) {
			t.Errorf("ledgers/total = %s, want Kazoo's float amount 0.0", got["GET "+acct+"/ledgers/total"].raw)
		}
		if amount, ok := got["GET "+acct+"/ledgers/total"].data()["amount"].(float64); !ok || amount != 0 {
			t.Errorf("ledgers/total = %v, want amount 0", got["GET "+acct+"/ledgers/total"].data())
		}
		if got["GET "+acct+"/limits"].data()["id"] != "limits" {
			t.Errorf("limits = %v", got["GET "+acct+"/limits"].data())
		}

		// A reload restores the session.
		r = n.do("POST", "/v2/auth/tokeninfo", "undefined", map[string]any{"data": map[string]any{"token": tok}}, origin...)
		mustStatus(t, "POST auth/tokeninfo", r, 200)

		// The preflight Monster UI's uploads need allows Kazoo's headers.
		r = n.do("OPTIONS", acct+"/whitelabel/logo", "", nil, "Origin", "https://"+domain,
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "x-file-name, x-file-size, content-type, x-auth-token")
		allowed := r.header.Get("Access-Control-Allow-Headers")
		for _, h := range []string{"content-type", "depth", "user-agent", "x-http-method-override", "x-file-size", "x-requested-with",
			"if-modified-since", "x-file-name", "cache-control", "x-auth-token", "x-kazoo-cluster-id", "if-match"} {
			if !slices.Contains(strings.Split(allowed, ", "), h) {
				t.Errorf("Access-Control-Allow-Headers %q lacks Kazoo's %s", allowed, h)
			}
		}
	})
}

// TestWhitelabel covers who may brand what, the public lookup, and what
// uploads are accepted.
func TestWhitelabel(t *testing.T) {
	forEachBackendWith(t, func(c *config.Config) { c.WhitelabelMaxBytes = 4096 }, func(t *testing.T, raw *node) {
		n := newChecked(t, raw)
		sys := n.login(n.m.Bootstrapped.APIKey.Reveal())
		res := newMonsterAccount(t, raw, sys, "Brand Reseller")
		resTok := n.mint(t, userClaims(res.id, res.user, "admin"))
		acct := "/v2/accounts/" + res.id
		r := n.do("PUT", acct, resTok, map[string]any{"data": map[string]any{"name": "Brand Customer"}})
		mustStatus(t, "create the customer", r, 201)
		child := r.data()["id"].(string)
		childAdmin := n.do("PUT", "/v2/accounts/"+child+"/users", sys, map[string]any{"data": map[string]any{
			"first_name": "Customer", "last_name": "Admin", "priv_level": "admin"}})
		childTok := n.mint(t, userClaims(child, childAdmin.data()["id"].(string), "admin"))

		mustStatus(t, "GET before any", n.do("GET", acct+"/whitelabel", resTok, nil), 404)
		mustStatus(t, "POST before any", n.do("POST", acct+"/whitelabel", resTok, map[string]any{"data": map[string]any{}}), 404)
		r = n.do("PUT", acct+"/whitelabel", resTok, map[string]any{"data": map[string]any{
			"company_name": "Brand", "domain": "Brand.Example.com", "nav": map[string]any{"help": "https://help.example.com/"},
			"port": map[string]any{"support_email": "support@example.com"}, "pvt_secret": "x", "custom": []any{1, "two"}}})
		mustStatus(t, "PUT whitelabel", r, 201)
		golden(t, "whitelabel", r)
		if _, ok := r.data()["pvt_secret"]; ok {
			t.Error("a private key was stored")
		}
		mustStatus(t, "PUT again", n.do("PUT", acct+"/whitelabel", resTok, map[string]any{"data": map[string]any{}}), 409)
		golden(t, "whitelabel_by_domain", n.do("GET", "/v2/whitelabel/BRAND.example.com", "", nil))

		// A child cannot touch its parent's branding, and cannot claim its
		// domain; it may brand itself under another.
		for _, m := range []string{"GET", "POST", "DELETE"} {
			expectError(t, n.do(m, acct+"/whitelabel", childTok, map[string]any{"data": map[string]any{"company_name": "Hijack"}}), 403, "forbidden")
		}
		expectError(t, n.do("POST", acct+"/whitelabel/logo", childTok, string(pngImage(t, 2, 2)), "Content-Type", "image/png"), 403, "forbidden")
		r = n.do("PUT", "/v2/accounts/"+child+"/whitelabel", childTok, map[string]any{"data": map[string]any{"domain": "brand.example.com"}})
		expectError(t, r, 400, "validation error")
		if _, ok := r.data()["domain"].(map[string]any)["unique"]; !ok {
			t.Errorf("a taken domain: %s, want data.domain.unique", r.raw)
		}
		mustStatus(t, "the child brands itself", n.do("PUT", "/v2/accounts/"+child+"/whitelabel", childTok, map[string]any{"data": map[string]any{
			"company_name": "Customer", "domain": "customer.example.com"}}), 201)
		// The reseller, an ancestor, may change its customer's branding.
		mustStatus(t, "the reseller edits its customer", n.do("POST", "/v2/accounts/"+child+"/whitelabel", resTok, map[string]any{"data": map[string]any{
			"company_name": "Customer (by reseller)", "domain": "customer.example.com"}}), 200)
		if got := n.do("GET", "/v2/whitelabel/customer.example.com", "", nil).data()["company_name"]; got != "Customer (by reseller)" {
			t.Errorf("customer branding = %v", got)
		}
		if got := n.do("GET", "/v2/whitelabel/brand.example.com", "", nil).data()["company_name"]; got != "Brand" {
			t.Errorf("the reseller's branding changed: %v", got)
		}

		// Documents are checked: links must be http(s), no NUL, types.
		for _, tc := range []struct {
			name  string
			doc   map[string]any
			field string
		}{
			{"javascript link", map[string]any{"nav": map[string]any{"help": "javascript:alert(1)"}}, "nav.help"},
			{"relative link", map[string]any{"fake_api_url": "/v2/"}, "fake_api_url"},
			{"bad email", map[string]any{"port": map[string]any{"support_email": "not an email"}}, "port.support_email"},
			{"NUL", map[string]any{"company_name": "a\x00b"}, "company_name"},
			{"domain with a path", map[string]any{"domain": "example.com/evil"}, "domain"},
			{"bool", map[string]any{"hide_powered": "yes"}, "hide_powered"},
		} {
			r := n.do("POST", acct+"/whitelabel", resTok, map[string]any{"data": tc.doc})
			expectError(t, r, 400, "validation error")
			if _, ok := r.data()[tc.field]; !ok {
				t.Errorf("%s: %s, want data.%s", tc.name, r.raw, tc.field)
			}
		}

		// Uploads: PNG and JPEG by content, nothing else, within the limit.
		svg := `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`
		var gifBuf bytes.Buffer
		_ = gif.Encode(&gifBuf, image.NewPaletted(image.Rect(0, 0, 2, 2), []color.Color{color.Black}), nil)
		for _, tc := range []struct {
			name, ct, body string
			want           int
		}{
			{"svg", "image/svg+xml", svg, 400},
			{"svg as png", "image/png", svg, 400},
			{"svg data url", "application/x-base64", "data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString([]byte(svg)), 400},
			{"gif", "image/gif", gifBuf.String(), 400},
			{"html", "text/html", "<html><script>alert(1)</script></html>", 400},
			{"truncated png", "image/png", string(pngImage(t, 4, 4)[:20]), 400},
			{"empty", "image/png", "", 400},
			{"bad base64", "application/x-base64", "data:image/png;base64,!!!", 400},
			{"too large", "image/png", string(pngImage(t, 64, 64)), 413},
			{"png", "image/png", string(pngImage(t, 4, 4)), 200},
		} {
			r := n.do("POST", acct+"/whitelabel/logo", resTok, tc.body, "Content-Type", tc.ct)
			if r.status != tc.want {
				t.Errorf("%s: status %d, want %d\n%s", tc.name, r.status, tc.want, r.raw)
			}
		}
		r = n.do("GET", "/v2/whitelabel/brand.example.com/logo", "", nil)
		if r.status != 200 || r.header.Get("Content-Type") != "image/png" || !bytes.Equal(r.raw, pngImage(t, 4, 4)) {
			t.Errorf("logo: %d %q", r.status, r.header.Get("Content-Type"))
		}
		mustStatus(t, "no icon yet", n.do("GET", "/v2/whitelabel/brand.example.com/icon", "", nil), 404)

		// The welcome text is served escaped: markup never reaches a page.
		mustStatus(t, "welcome", n.do("POST", acct+"/whitelabel/welcome", resTok, "Hello <b>you</b>\nline 2", "Content-Type", "text/html"), 200)
		r = n.do("GET", "/v2/whitelabel/brand.example.com/welcome", "", nil)
		if string(r.raw) != "Hello &lt;b&gt;you&lt;/b&gt;<br>line 2" {
			t.Errorf("welcome = %q", r.raw)
		}
		mustStatus(t, "welcome with NUL", n.do("POST", acct+"/whitelabel/welcome", resTok, "a\x00b", "Content-Type", "text/plain"), 400)

		mustStatus(t, "DELETE", n.do("DELETE", acct+"/whitelabel", resTok, nil), 200)
		mustStatus(t, "lookup after delete", n.do("GET", "/v2/whitelabel/brand.example.com", "", nil), 404)
		mustStatus(t, "logo after delete", n.do("GET", "/v2/whitelabel/brand.example.com/logo", "", nil), 404)
	})
}

// TestAppsStore covers the catalogue (import command and API), installs,
// the blacklist and the images.
func TestAppsStore(t *testing.T) {
	forEachBackend(t, func(t *testing.T, raw *node) {
		n := newChecked(t, raw)
		sys := n.login(n.m.Bootstrapped.APIKey.Reveal())
		res := newMonsterAccount(t, raw, sys, "Apps Reseller")
		resTok := n.mint(t, userClaims(res.id, res.user, "admin"))
		acct := "/v2/accounts/" + res.id
		r := n.do("GET", acct+"/apps_store", resTok, nil)
		mustStatus(t, "empty catalogue", r, 200)
		if list, ok := r.body["data"].([]any); !ok || len(list) != 0 {
			t.Errorf("a new server's catalogue = %s", r.raw)
		}

		// audian apps import DIR, as Kazoo's init_apps.
		dir := t.TempDir()
		for _, name := range []string{"voip", "accounts"} {
			meta := filepath.Join(dir, name, "metadata")
			for _, sub := range []string{"icon", "screenshots"} {
				if err := os.MkdirAll(filepath.Join(meta, sub), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			writeJSON(t, filepath.Join(meta, "app.json"), appJSON(name))
			if err := os.WriteFile(filepath.Join(meta, "icon", name+".png"), pngImage(t, 3, 3), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(meta, "screenshots", name+"1.png"), pngImage(t, 5, 5), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		env := map[string]string{"AUDIAN_KEK": testKEK}
		args := []string{"apps", "import", "--data-dir", n.m.Config.DataDir, "--database", n.m.Config.Database, "--api-url", "https://api.example.com/v2/", dir}
		code, out, errOut := runCLI(t, env, args...)
		if code != 0 || strings.Count(out, "imported ") != 2 {
			t.Fatalf("apps import exited %d: %s %s", code, out, errOut)
		}
		code, out2, _ := runCLI(t, env, args...)
		if code != 0 || out2 != out {
			t.Errorf("a second import gave new ids:\n%s\nthen\n%s", out, out2)
		}
		bad := filepath.Join(t.TempDir(), "evil", "metadata")
		_ = os.MkdirAll(bad, 0o755)
		evil := appJSON("evil")
		evil["icon"] = "../../../../etc/passwd"
		writeJSON(t, filepath.Join(bad, "app.json"), evil)
		if code, _, errOut := runCLI(t, env, "apps", "import", "--data-dir", n.m.Config.DataDir, "--database", n.m.Config.Database, filepath.Dir(filepath.Dir(bad))); code == 0 || !strings.Contains(errOut, "icon") {
			t.Errorf("an icon path outside the app was accepted: %d %s", code, errOut)
		}

		r = n.do("GET", acct+"/apps_store", resTok, nil)
		mustStatus(t, "list", r, 200)
		golden(t, "apps_store", r)
		list := r.body["data"].([]any)
		var voip string
		for _, x := range list {
			if x.(map[string]any)["name"] == "voip" {
				voip = x.(map[string]any)["id"].(string)
			}
		}
		if voip == "" || list[0].(map[string]any)["api_url"] != "https://api.example.com/v2/" {
			t.Fatalf("catalogue = %s", r.raw)
		}
		golden(t, "apps_store_app", n.do("GET", acct+"/apps_store/"+voip, resTok, nil))

		// Images are public, as in Kazoo (Monster UI shows them with <img>).
		r = n.do("GET", acct+"/apps_store/"+voip+"/icon?auth_token=ignored", "", nil)
		if r.status != 200 || !bytes.Equal(r.raw, pngImage(t, 3, 3)) {
			t.Errorf("icon: %d", r.status)
		}
		mustStatus(t, "screenshot 0", n.do("GET", acct+"/apps_store/"+voip+"/screenshot/0", "", nil), 200)
		mustStatus(t, "screenshot 1", n.do("GET", acct+"/apps_store/"+voip+"/screenshot/1", "", nil), 404)
		mustStatus(t, "screenshot -1", n.do("GET", acct+"/apps_store/"+voip+"/screenshot/-1", "", nil), 404)

		// Installs.
		install := map[string]any{"data": map[string]any{"allowed_users": "specific", "users": []any{res.user}}}
		r = n.do("PUT", acct+"/apps_store/"+voip, resTok, install)
		mustStatus(t, "install", r, 201)
		golden(t, "apps_store_installed", r)
		mustStatus(t, "install twice", n.do("PUT", acct+"/apps_store/"+voip, resTok, install), 409)
		expectError(t, n.do("PUT", acct+"/apps_store/"+voip, resTok, map[string]any{"data": map[string]any{"allowed_users": "everyone"}}), 400, "validation error")
		expectError(t, n.do("PUT", acct+"/apps_store/"+voip, resTok, map[string]any{"data": map[string]any{"users": []any{"../x"}}}), 400, "validation error")
		mustStatus(t, "update", n.do("POST", acct+"/apps_store/"+voip, resTok, map[string]any{"data": map[string]any{"allowed_users": "all", "users": []any{}}}), 200)
		for _, x := range n.do("GET", acct+"/apps_store", resTok, nil).body["data"].([]any) {
			if x.(map[string]any)["id"] == voip && x.(map[string]any)["allowed_users"] != "all" {
				t.Errorf("the list does not show the install: %v", x)
			}
		}
		mustStatus(t, "uninstall", n.do("DELETE", acct+"/apps_store/"+voip, resTok, nil), 200)
		mustStatus(t, "uninstall twice", n.do("DELETE", acct+"/apps_store/"+voip, resTok, nil), 404)
		mustStatus(t, "unknown app", n.do("GET", acct+"/apps_store/"+identity.NewID(), resTok, nil), 404)

		// The blacklist: set by an ancestor, binding the account and its
		// descendants; the account itself neither reads nor lifts it.
		r = n.do("PUT", acct, resTok, map[string]any{"data": map[string]any{"name": "Apps Customer"}})
		child := r.data()["id"].(string)
		childAdmin := n.do("PUT", "/v2/accounts/"+child+"/users", sys, map[string]any{"data": map[string]any{"first_name": "C", "last_name": "A", "priv_level": "admin"}})
		childTok := n.mint(t, userClaims(child, childAdmin.data()["id"].(string), "admin"))
		expectError(t, n.do("POST", acct+"/apps_store/blacklist", resTok, map[string]any{"data": map[string]any{"blacklist": []any{voip}}}), 403, "forbidden")
		r = n.do("POST", "/v2/accounts/"+child+"/apps_store/blacklist", resTok, map[string]any{"data": map[string]any{"blacklist": []any{voip, voip}}})
		mustStatus(t, "blacklist", r, 200)
		golden(t, "apps_store_blacklist", r)
		expectError(t, n.do("GET", "/v2/accounts/"+child+"/apps_store/blacklist", childTok, nil), 403, "forbidden")
		expectError(t, n.do("POST", "/v2/accounts/"+child+"/apps_store/blacklist", childTok, map[string]any{"data": map[string]any{"blacklist": []any{}}}), 403, "forbidden")
		for _, x := range n.do("GET", "/v2/accounts/"+child+"/apps_store", childTok, nil).body["data"].([]any) {
			if x.(map[string]any)["id"] == voip {
				t.Error("a blacklisted app is listed")
			}
		}
		mustStatus(t, "get a blacklisted app", n.do("GET", "/v2/accounts/"+child+"/apps_store/"+voip, childTok, nil), 404)
		expectError(t, n.do("PUT", "/v2/accounts/"+child+"/apps_store/"+voip, childTok, install), 403, "forbidden")
		gc := n.do("PUT", "/v2/accounts/"+child, childTok, map[string]any{"data": map[string]any{"name": "Apps Grandchild"}}).data()["id"].(string)
		for _, x := range n.do("GET", "/v2/accounts/"+gc+"/apps_store", childTok, nil).body["data"].([]any) {
			if x.(map[string]any)["id"] == voip {
				t.Error("a grandchild escapes its parent's blacklist")
			}
		}

		// The catalogue API is for system admins.
		expectError(t, n.do("PUT", "/v2/apps_store", resTok, map[string]any{"data": appJSON("rogue")}), 403, "forbidden")
		expectError(t, n.do("PUT", "/v2/apps_store", sys, map[string]any{"data": map[string]any{"name": "x"}}), 400, "validation error")
		mustStatus(t, "re-put keeps images", n.do("PUT", "/v2/apps_store", sys, map[string]any{"data": appJSON("voip")}), 201)
		mustStatus(t, "icon after re-put", n.do("GET", acct+"/apps_store/"+voip+"/icon", "", nil), 200)
		mustStatus(t, "delete from the catalogue", n.do("DELETE", "/v2/apps_store/"+voip, sys, nil), 200)
		mustStatus(t, "icon of a deleted app", n.do("GET", acct+"/apps_store/"+voip+"/icon", "", nil), 404)
	})
}

// TestAlertsLimitsLedgers covers the remaining My Account modules.
func TestAlertsLimitsLedgers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, raw *node) {
		n := newChecked(t, raw)
		sys := n.login(n.m.Bootstrapped.APIKey.Reveal())
		res := newMonsterAccount(t, raw, sys, "Alert Reseller")
		resTok := n.mint(t, userClaims(res.id, res.user, "admin"))
		acct := "/v2/accounts/" + res.id
		r := n.do("GET", acct+"/alerts", resTok, nil)
		mustStatus(t, "alerts", r, 200)
		golden(t, "alerts_empty", r)
		alert := map[string]any{"data": map[string]any{"title": "Maintenance", "message": "Tonight", "category": "system",
			"from": []any{map[string]any{"type": "account", "value": n.m.Bootstrapped.AccountID}},
			"to":   []any{map[string]any{"type": res.id, "value": "admins"}}, "level": "info"}}
		expectError(t, n.do("PUT", acct+"/alerts", resTok, alert), 403, "forbidden")
		r = n.do("PUT", acct+"/alerts", sys, alert)
		mustStatus(t, "create an alert", r, 201)
		golden(t, "alert_created", r)
		id := r.data()["id"].(string)
		expired := map[string]any{"data": map[string]any{"title": "Old", "message": "Gone", "from": []any{}, "to": []any{},
			"expiration_date": 63800000000}}
		mustStatus(t, "an expired alert", n.do("PUT", acct+"/alerts", sys, expired), 201)
		r = n.do("GET", acct+"/alerts", resTok, nil)
		if list, _ := r.body["data"].([]any); len(list) != 1 {
			t.Errorf("alerts = %s, want the one unexpired alert", r.raw)
		}
		expectError(t, n.do("PUT", acct+"/alerts", sys, map[string]any{"data": map[string]any{"title": "x"}}), 400, "validation error")
		mustStatus(t, "get", n.do("GET", acct+"/alerts/"+id, resTok, nil), 200)
		mustStatus(t, "clear", n.do("DELETE", acct+"/alerts/"+id, resTok, nil), 200)
		mustStatus(t, "clear twice", n.do("DELETE", acct+"/alerts/"+id, resTok, nil), 404)

		r = n.do("GET", acct+"/limits", resTok, nil)
		golden(t, "limits_default", r)
		expectError(t, n.do("POST", acct+"/limits", resTok, map[string]any{"data": map[string]any{"twoway_trunks": 5}}), 403, "forbidden")
		r = n.do("POST", acct+"/limits", sys, map[string]any{"data": map[string]any{"twoway_trunks": 5, "inbound_trunks": 11, "allow_postpay": true}})
		mustStatus(t, "set limits", r, 200)
		golden(t, "limits_set", r)
		golden(t, "limits", n.do("GET", acct+"/limits", resTok, nil))
		for _, bad := range []map[string]any{{"twoway_trunks": -1}, {"inbound_trunks": 1.5}, {"allow_prepay": "yes"}, {"authz_resource_types": "x"}} {
			expectError(t, n.do("POST", acct+"/limits", sys, map[string]any{"data": bad}), 400, "validation error")
		}

		golden(t, "ledgers", n.do("GET", acct+"/ledgers", resTok, nil))
		golden(t, "ledgers_total", n.do("GET", acct+"/ledgers/total", resTok, nil))
		golden(t, "ledger_entries", n.do("GET", acct+"/ledgers/per-minute-voip", resTok, nil))
	})
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// matrixDomain is the domain A's branding claims in the matrix.
const matrixDomain = "matrix.example.com"

// monsterSetup gives the matrix's A a branding with its files, and puts
// an app in the catalogue.
func (f *matrixFixture) monsterSetup(t *testing.T) {
	t.Helper()
	acct := "/v2/accounts/" + f.a
	if r := f.n.do("GET", acct+"/whitelabel", f.sys, nil); r.status == 404 {
		mustStatus(t, "brand A", f.n.do("PUT", acct+"/whitelabel", f.sys, map[string]any{"data": map[string]any{"company_name": "Matrix", "domain": matrixDomain}}), 201)
	}
	for _, name := range []string{"logo", "icon"} {
		mustStatus(t, "upload "+name, f.n.do("POST", acct+"/whitelabel/"+name, f.sys, string(pngImage(t, 2, 2)), "Content-Type", "image/png"), 200)
	}
	mustStatus(t, "welcome", f.n.do("POST", acct+"/whitelabel/welcome", f.sys, "Welcome", "Content-Type", "text/plain"), 200)
}

// monsterRequest builds the path and body of a matrix cell on a route of
// whitelabel.go, apps.go or monster.go; ok is false for other routes.
func (f *matrixFixture) monsterRequest(t *testing.T, method, pattern string) (path string, body any, ok bool) {
	t.Helper()
	route := strings.TrimPrefix(pattern, "/v2/accounts/{account_id}")
	switch {
	case strings.HasPrefix(route, "/whitelabel"), strings.HasPrefix(pattern, "/v2/whitelabel/"):
		f.monsterSetup(t)
		if method == "PUT" {
			mustStatus(t, "unbrand A", f.n.do("DELETE", "/v2/accounts/"+f.a+"/whitelabel", f.sys, nil), 200)
		}
	case strings.HasPrefix(route, "/apps_store"), strings.HasPrefix(pattern, "/v2/apps_store"),
		strings.HasPrefix(route, "/alerts"), strings.HasPrefix(route, "/limits"), strings.HasPrefix(route, "/ledgers"):
	default:
		return "", nil, false
	}
	path = strings.ReplaceAll(pattern, "{account_id}", f.a)
	path = strings.ReplaceAll(path, "{domain}", matrixDomain)
	path = strings.ReplaceAll(path, "{ledger_id}", "per-minute-voip")
	path = strings.ReplaceAll(path, "{n}", "0")
	if strings.Contains(path, "{app_id}") {
		// A fresh catalogue app per cell, with an icon and a screenshot,
		// installed on A unless the cell installs it.
		app := &identity.App{ID: identity.NewID(), Name: "matrix-" + identity.NewID()[:12], Doc: []byte(`{"i18n":{}}`)}
		img := pngImage(t, 2, 2)
		if err := f.n.m.Store.PutApp(t.Context(), app, []identity.AppFile{{Name: "icon", ContentType: "image/png", Data: img},
			{Name: "screenshot/0", ContentType: "image/png", Data: img}}); err != nil {
			t.Fatal(err)
		}
		if method != "PUT" && !strings.HasPrefix(pattern, "/v2/apps_store") {
			mustStatus(t, "install", f.n.do("PUT", "/v2/accounts/"+f.a+"/apps_store/"+app.ID, f.sys, map[string]any{"data": map[string]any{"allowed_users": "all"}}), 201)
		}
		path = strings.ReplaceAll(path, "{app_id}", app.ID)
	}
	if strings.Contains(path, "{alert_id}") {
		r := f.n.do("PUT", "/v2/accounts/"+f.a+"/alerts", f.sys, map[string]any{"data": map[string]any{"title": "t", "message": "m", "from": []any{}, "to": []any{}}})
		mustStatus(t, "create an alert", r, 201)
		path = strings.ReplaceAll(path, "{alert_id}", r.data()["id"].(string))
	}
	switch method + " " + route {
	case "POST /whitelabel/logo", "POST /whitelabel/icon":
		return path, string(pngImage(t, 2, 2)), true
	case "POST /whitelabel/welcome":
		return path, "Welcome", true
	case "PUT /whitelabel", "POST /whitelabel":
		return path, map[string]any{"data": map[string]any{"company_name": "Matrix", "domain": matrixDomain}}, true
	case "PUT /v2/apps_store":
		return path, map[string]any{"data": appJSON("matrix-" + identity.NewID()[:12])}, true
	case "PUT /apps_store/{app_id}", "POST /apps_store/{app_id}":
		return path, map[string]any{"data": map[string]any{"allowed_users": "admins"}}, true
	case "POST /apps_store/blacklist":
		return path, map[string]any{"data": map[string]any{"blacklist": []any{}}}, true
	case "PUT /alerts":
		return path, map[string]any{"data": map[string]any{"title": "t", "message": "m", "from": []any{}, "to": []any{}}}, true
	case "POST /limits":
		return path, map[string]any{"data": map[string]any{"twoway_trunks": 1}}, true
	}
	if method == "GET" || method == "DELETE" {
		return path, nil, true
	}
	return path, map[string]any{"data": map[string]any{}}, true
}
