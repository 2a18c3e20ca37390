package identitytest

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/audian/audian/internal/identity"
)

// monsterTests is the conformance group for the stores Monster UI needs:
// identity.WhitelabelStore, AppsStore, AlertStore and LimitsDocStore.
var monsterTests = []subtest{
	{"WhitelabelRoundTrip", testWhitelabelRoundTrip},
	{"WhitelabelDomainUnique", testWhitelabelDomainUnique},
	{"WhitelabelDomainRace", testWhitelabelDomainRace},
	{"WhitelabelFiles", testWhitelabelFiles},
	{"WhitelabelGoesWithAccount", testWhitelabelGoesWithAccount},
	{"AppsCatalogue", testAppsCatalogue},
	{"AppsInstalls", testAppsInstalls},
	{"AppsInstallRace", testAppsInstallRace},
	{"AppsBlacklist", testAppsBlacklist},
	{"Alerts", testAlerts},
	{"LimitsDoc", testLimitsDoc},
}

// binary holds NUL bytes and invalid UTF-8, which a backend that stores
// files as text would mangle.
var binary = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00")

// racers runs fn from n goroutines at once and returns their errors.
func racers(t *testing.T, n int, fn func(ctx context.Context, i int) error) []error {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(t.Context(), i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// onlyOne fails t unless exactly one of errs is nil and every other one
// is want.
func onlyOne(t *testing.T, what string, errs []error, want error) {
	t.Helper()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, want):
			t.Errorf("%s: err = %v, want nil or %v", what, err, want)
		}
	}
	if ok != 1 {
		t.Errorf("%s: %d of %d succeeded, want exactly 1", what, ok, len(errs))
	}
}

func testWhitelabelRoundTrip(t *testing.T, s identity.Store) {
	ctx := t.Context()
	a := createAccount(t, s, nil, "Reseller")
	_, err := s.Whitelabel(ctx, a.ID)
	wantErr(t, "Whitelabel before any", err, identity.ErrNotFound)
	doc := []byte(`{"company_name":"Acme \u0000 Telecom","domain":"Portal.Example.COM","z":1,"a":2}`)
	w := &identity.Whitelabel{AccountID: a.ID, Domain: "Portal.Example.COM.", Doc: doc}
	must(t, "SetWhitelabel create", s.SetWhitelabel(ctx, w, true))
	if w.Domain != "portal.example.com" || w.Revision == "" || w.Created.IsZero() || w.Modified.IsZero() {
		t.Errorf("SetWhitelabel filled %+v, want a normalized domain, a revision and times", w)
	}
	checkUTC(t, "SetWhitelabel", w.Created, w.Modified)
	for _, get := range []func() (*identity.Whitelabel, error){
		func() (*identity.Whitelabel, error) { return s.Whitelabel(ctx, a.ID) },
		func() (*identity.Whitelabel, error) { return s.WhitelabelByDomain(ctx, "PORTAL.example.com") },
	} {
		got, err := get()
		must(t, "read whitelabel", err)
		if d := diff(w, got); d != "" {
			t.Errorf("whitelabel read back (-want +got):\n%s", d)
		}
		if !bytes.Equal(got.Doc, doc) {
			t.Errorf("document = %s, want the stored bytes %s", got.Doc, doc)
		}
	}
	wantErr(t, "create again", s.SetWhitelabel(ctx, &identity.Whitelabel{AccountID: a.ID, Doc: []byte(`{}`)}, true), identity.ErrConflict)
	first := w.Revision
	w2 := &identity.Whitelabel{AccountID: a.ID, Doc: []byte(`{}`)}
	must(t, "SetWhitelabel replace", s.SetWhitelabel(ctx, w2, false))
	if w2.Revision == first || !sameMS(w2.Created, w.Created) {
		t.Errorf("replace: revision %q (was %q), created %v (was %v)", w2.Revision, first, w2.Created, w.Created)
	}
	_, err = s.WhitelabelByDomain(ctx, "portal.example.com")
	wantErr(t, "lookup of a released domain", err, identity.ErrNotFound)
	for _, bad := range []string{"", "-x.com", "a..b", "a b.com", "exa\x00mple.com", "ex%41mple.com"} {
		if _, err := s.WhitelabelByDomain(ctx, bad); !errors.Is(err, identity.ErrNotFound) {
			t.Errorf("WhitelabelByDomain(%q) = %v, want ErrNotFound", bad, err)
		}
	}
	wantErr(t, "unknown account", s.SetWhitelabel(ctx, &identity.Whitelabel{AccountID: identity.NewID(), Doc: []byte(`{}`)}, false), identity.ErrNotFound)
	exactlyOnce(t, func(ctx context.Context) error { return s.DeleteWhitelabel(ctx, a.ID) })
}

func testWhitelabelDomainUnique(t *testing.T, s identity.Store) {
	ctx := t.Context()
	a := createAccount(t, s, nil, "A")
	b := createAccount(t, s, a, "B")
	must(t, "A claims", s.SetWhitelabel(ctx, &identity.Whitelabel{AccountID: a.ID, Domain: "ui.example.com", Doc: []byte(`{}`)}, true))
	wantErr(t, "B claims A's domain", s.SetWhitelabel(ctx, &identity.Whitelabel{AccountID: b.ID, Domain: "UI.example.com", Doc: []byte(`{}`)}, true), identity.ErrDomainTaken)
	if _, err := s.Whitelabel(ctx, b.ID); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("a refused claim left a branding: %v", err)
	}
	must(t, "A keeps its own domain", s.SetWhitelabel(ctx, &identity.Whitelabel{AccountID: a.ID, Domain: "ui.example.com", Doc: []byte(`{"x":1}`)}, false))
	must(t, "B without a domain", s.SetWhitelabel(ctx, &identity.Whitelabel{AccountID: b.ID, Doc: []byte(`{}`)}, true))
	must(t, "A without a domain", s.SetWhitelabel(ctx, &identity.Whitelabel{AccountID: a.ID, Doc: []byte(`{}`)}, false))
	must(t, "B claims the freed domain", s.SetWhitelabel(ctx, &identity.Whitelabel{AccountID: b.ID, Domain: "ui.example.com", Doc: []byte(`{}`)}, false))
	got, err := s.WhitelabelByDomain(ctx, "ui.example.com")
	must(t, "lookup", err)
	if got.AccountID != b.ID {
		t.Errorf("domain served for %s, want %s", got.AccountID, b.ID)
	}
}

func testWhitelabelDomainRace(t *testing.T, s identity.Store) {
	const n = 8
	accounts := make([]*identity.Account, n)
	for i := range accounts {
		accounts[i] = createAccount(t, s, nil, "Racer")
	}
	errs := racers(t, n, func(ctx context.Context, i int) error {
		return s.SetWhitelabel(ctx, &identity.Whitelabel{AccountID: accounts[i].ID, Domain: "race.example.com", Doc: []byte(`{}`)}, true)
	})
	onlyOne(t, "concurrent claims of one domain", errs, identity.ErrDomainTaken)
}

func testWhitelabelFiles(t *testing.T, s identity.Store) {
	ctx := t.Context()
	a := createAccount(t, s, nil, "Files")
	wantErr(t, "file without a branding", s.SetWhitelabelFile(ctx, a.ID, identity.WhitelabelLogo,
		&identity.WhitelabelFile{ContentType: "image/png", Data: binary}), identity.ErrNotFound)
	must(t, "SetWhitelabel", s.SetWhitelabel(ctx, &identity.Whitelabel{AccountID: a.ID, Doc: []byte(`{}`)}, true))
	_, err := s.WhitelabelFile(ctx, a.ID, identity.WhitelabelLogo)
	wantErr(t, "logo before upload", err, identity.ErrNotFound)
	f := &identity.WhitelabelFile{ContentType: "image/png", Data: binary}
	must(t, "SetWhitelabelFile", s.SetWhitelabelFile(ctx, a.ID, identity.WhitelabelLogo, f))
	if f.Modified.IsZero() {
		t.Error("SetWhitelabelFile left Modified zero")
	}
	got, err := s.WhitelabelFile(ctx, a.ID, identity.WhitelabelLogo)
	must(t, "WhitelabelFile", err)
	if got.ContentType != "image/png" || !bytes.Equal(got.Data, binary) || !sameMS(got.Modified, f.Modified) {
		t.Errorf("logo = %q %q %v, want the stored bytes", got.ContentType, got.Data, got.Modified)
	}
	must(t, "replace", s.SetWhitelabelFile(ctx, a.ID, identity.WhitelabelLogo, &identity.WhitelabelFile{ContentType: "image/jpeg", Data: []byte{0xff, 0xd8}}))
	if got, _ := s.WhitelabelFile(ctx, a.ID, identity.WhitelabelLogo); got == nil || got.ContentType != "image/jpeg" {
		t.Errorf("after replace: %+v", got)
	}
	if _, err := s.WhitelabelFile(ctx, a.ID, identity.WhitelabelIcon); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("icon = %v, want ErrNotFound: files are kept by name", err)
	}
	must(t, "replace the branding", s.SetWhitelabel(ctx, &identity.Whitelabel{AccountID: a.ID, Doc: []byte(`{"x":1}`)}, false))
	if _, err := s.WhitelabelFile(ctx, a.ID, identity.WhitelabelLogo); err != nil {
		t.Errorf("a replaced branding lost its logo: %v", err)
	}
	must(t, "DeleteWhitelabel", s.DeleteWhitelabel(ctx, a.ID))
	_, err = s.WhitelabelFile(ctx, a.ID, identity.WhitelabelLogo)
	wantErr(t, "logo of a deleted branding", err, identity.ErrNotFound)
	must(t, "SetWhitelabel again", s.SetWhitelabel(ctx, &identity.Whitelabel{AccountID: a.ID, Doc: []byte(`{}`)}, true))
	_, err = s.WhitelabelFile(ctx, a.ID, identity.WhitelabelLogo)
	wantErr(t, "a new branding inherits no file", err, identity.ErrNotFound)
}

func testWhitelabelGoesWithAccount(t *testing.T, s identity.Store) {
	ctx := t.Context()
	a := createAccount(t, s, nil, "Doomed")
	must(t, "SetWhitelabel", s.SetWhitelabel(ctx, &identity.Whitelabel{AccountID: a.ID, Domain: "doomed.example.com", Doc: []byte(`{}`)}, true))
	must(t, "SetWhitelabelFile", s.SetWhitelabelFile(ctx, a.ID, identity.WhitelabelIcon, &identity.WhitelabelFile{ContentType: "image/png", Data: binary}))
	must(t, "SetLimitsDoc", s.SetLimitsDoc(ctx, a.ID, []byte(`{"twoway_trunks":1}`)))
	must(t, "CreateAlert", s.CreateAlert(ctx, &identity.Alert{AccountID: a.ID, Doc: []byte(`{}`)}))
	must(t, "SetAppBlacklist", s.SetAppBlacklist(ctx, a.ID, []string{identity.NewID()}))
	must(t, "DeleteAccount", s.DeleteAccount(ctx, a.ID))
	if _, err := s.WhitelabelByDomain(ctx, "doomed.example.com"); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("the domain of a deleted account still resolves: %v", err)
	}
	if _, err := s.WhitelabelFile(ctx, a.ID, identity.WhitelabelIcon); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("the icon of a deleted account remains: %v", err)
	}
	if _, err := s.LimitsDoc(ctx, a.ID); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("LimitsDoc of a deleted account = %v, want ErrNotFound", err)
	}
	if items, _, err := s.Alerts(ctx, a.ID, identity.Page{}); err != nil || len(items) != 0 {
		t.Errorf("alerts of a deleted account = %d, %v", len(items), err)
	}
	// A new account claims the freed domain.
	b := createAccount(t, s, nil, "Heir")
	must(t, "claim the freed domain", s.SetWhitelabel(ctx, &identity.Whitelabel{AccountID: b.ID, Domain: "doomed.example.com", Doc: []byte(`{}`)}, true))
}

func newApp(name string) *identity.App {
	return &identity.App{ID: identity.NewID(), Name: name, Doc: []byte(`{"i18n":{"en-US":{"label":"` + name + `"}},"tags":["reseller"]}`)}
}

func testAppsCatalogue(t *testing.T, s identity.Store) {
	ctx := t.Context()
	apps, err := s.Apps(ctx)
	must(t, "Apps", err)
	if len(apps) != 0 {
		t.Fatalf("a new store has %d apps, want an empty catalogue", len(apps))
	}
	voip, accounts := newApp("voip"), newApp("accounts")
	files := []identity.AppFile{{Name: "icon", ContentType: "image/png", Data: binary}, {Name: "screenshot/0", ContentType: "image/jpeg", Data: []byte{0xff, 0xd8, 0}}}
	must(t, "PutApp voip", s.PutApp(ctx, voip, files))
	must(t, "PutApp accounts", s.PutApp(ctx, accounts, nil))
	if voip.Created.IsZero() || voip.Modified.IsZero() {
		t.Errorf("PutApp left times zero: %+v", voip)
	}
	apps, err = s.Apps(ctx)
	must(t, "Apps", err)
	if len(apps) != 2 || apps[0].Name != "accounts" || apps[1].Name != "voip" {
		t.Fatalf("Apps = %v, want accounts then voip", apps)
	}
	if d := diff(voip, apps[1]); d != "" {
		t.Errorf("voip read back (-want +got):\n%s", d)
	}
	got, err := s.AppFile(ctx, voip.ID, "icon")
	must(t, "AppFile icon", err)
	if !bytes.Equal(got.Data, binary) || got.ContentType != "image/png" {
		t.Errorf("icon = %q %q", got.ContentType, got.Data)
	}
	if _, err := s.AppFile(ctx, voip.ID, "screenshot/1"); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("AppFile of a missing screenshot = %v", err)
	}
	wantErr(t, "another app named voip", s.PutApp(ctx, newApp("voip"), nil), identity.ErrAppNameTaken)
	// Replacing keeps Created and replaces every file.
	re := &identity.App{ID: voip.ID, Name: "voip", Doc: []byte(`{}`)}
	must(t, "PutApp replace", s.PutApp(ctx, re, files[:1]))
	if !sameMS(re.Created, voip.Created) {
		t.Errorf("replace moved Created from %v to %v", voip.Created, re.Created)
	}
	if _, err := s.AppFile(ctx, voip.ID, "screenshot/0"); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("a screenshot survived a replace without it: %v", err)
	}
	a := createAccount(t, s, nil, "Installer")
	must(t, "InstallApp", s.InstallApp(ctx, &identity.AppInstall{AccountID: a.ID, AppID: voip.ID, Doc: []byte(`{"allowed_users":"all"}`)}))
	exactlyOnce(t, func(ctx context.Context) error { return s.DeleteApp(ctx, voip.ID) })
	if ins, err := s.AppInstalls(ctx, a.ID); err != nil || len(ins) != 0 {
		t.Errorf("installs of a deleted app: %d, %v", len(ins), err)
	}
	if _, err := s.AppFile(ctx, voip.ID, "icon"); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("the icon of a deleted app remains: %v", err)
	}
	_, err = s.App(ctx, voip.ID)
	wantErr(t, "App of a deleted app", err, identity.ErrNotFound)
}

func testAppsInstalls(t *testing.T, s identity.Store) {
	ctx := t.Context()
	app := newApp("voip")
	must(t, "PutApp", s.PutApp(ctx, app, nil))
	a := createAccount(t, s, nil, "A")
	b := createAccount(t, s, a, "B")
	ins, err := s.AppInstalls(ctx, a.ID)
	must(t, "AppInstalls", err)
	if len(ins) != 0 {
		t.Errorf("a new account has %d installs", len(ins))
	}
	_, err = s.AppInstalls(ctx, identity.NewID())
	wantErr(t, "AppInstalls of an unknown account", err, identity.ErrNotFound)
	wantErr(t, "install an unknown app", s.InstallApp(ctx, &identity.AppInstall{AccountID: a.ID, AppID: identity.NewID(), Doc: []byte(`{}`)}), identity.ErrNotFound)
	wantErr(t, "install on an unknown account", s.InstallApp(ctx, &identity.AppInstall{AccountID: identity.NewID(), AppID: app.ID, Doc: []byte(`{}`)}), identity.ErrNotFound)
	doc := []byte(`{"allowed_users":"specific","users":["u1"],"name":"voip"}`)
	in := &identity.AppInstall{AccountID: a.ID, AppID: app.ID, Doc: doc}
	must(t, "InstallApp", s.InstallApp(ctx, in))
	wantErr(t, "install twice", s.InstallApp(ctx, &identity.AppInstall{AccountID: a.ID, AppID: app.ID, Doc: []byte(`{}`)}), identity.ErrAppInstalled)
	ins, err = s.AppInstalls(ctx, a.ID)
	must(t, "AppInstalls", err)
	if len(ins) != 1 || !bytes.Equal(ins[0].Doc, doc) || ins[0].AppID != app.ID || !sameMS(ins[0].Created, in.Created) {
		t.Errorf("AppInstalls = %+v, want the one install", ins)
	}
	if ins, _ := s.AppInstalls(ctx, b.ID); len(ins) != 0 {
		t.Errorf("the child sees its parent's installs: %+v", ins)
	}
	up := &identity.AppInstall{AccountID: a.ID, AppID: app.ID, Doc: []byte(`{"allowed_users":"all"}`)}
	must(t, "UpdateAppInstall", s.UpdateAppInstall(ctx, up))
	if !sameMS(up.Created, in.Created) || up.Modified.IsZero() {
		t.Errorf("UpdateAppInstall times %v %v", up.Created, up.Modified)
	}
	wantErr(t, "update on the child", s.UpdateAppInstall(ctx, &identity.AppInstall{AccountID: b.ID, AppID: app.ID, Doc: []byte(`{}`)}), identity.ErrAppNotInstalled)
	errs := racers(t, 10, func(ctx context.Context, _ int) error { return s.UninstallApp(ctx, a.ID, app.ID) })
	onlyOne(t, "concurrent uninstalls", errs, identity.ErrAppNotInstalled)
	wantErr(t, "update after uninstall", s.UpdateAppInstall(ctx, up), identity.ErrAppNotInstalled)
}

func testAppsInstallRace(t *testing.T, s identity.Store) {
	app := newApp("voip")
	must(t, "PutApp", s.PutApp(t.Context(), app, nil))
	a := createAccount(t, s, nil, "Racer")
	errs := racers(t, 10, func(ctx context.Context, _ int) error {
		return s.InstallApp(ctx, &identity.AppInstall{AccountID: a.ID, AppID: app.ID, Doc: []byte(`{}`)})
	})
	onlyOne(t, "concurrent installs", errs, identity.ErrAppInstalled)
}

func testAppsBlacklist(t *testing.T, s identity.Store) {
	ctx := t.Context()
	a := createAccount(t, s, nil, "Listed")
	got, err := s.AppBlacklist(ctx, a.ID)
	must(t, "AppBlacklist", err)
	if len(got) != 0 {
		t.Errorf("a new account's blacklist = %v", got)
	}
	ids := []string{identity.NewID(), identity.NewID()}
	must(t, "SetAppBlacklist", s.SetAppBlacklist(ctx, a.ID, ids))
	got, err = s.AppBlacklist(ctx, a.ID)
	must(t, "AppBlacklist", err)
	if d := diff(ids, got); d != "" {
		t.Errorf("blacklist (-want +got):\n%s", d)
	}
	must(t, "clear", s.SetAppBlacklist(ctx, a.ID, nil))
	if got, _ := s.AppBlacklist(ctx, a.ID); len(got) != 0 {
		t.Errorf("after clearing: %v", got)
	}
	_, err = s.AppBlacklist(ctx, identity.NewID())
	wantErr(t, "AppBlacklist of an unknown account", err, identity.ErrNotFound)
	wantErr(t, "SetAppBlacklist on an unknown account", s.SetAppBlacklist(ctx, identity.NewID(), ids), identity.ErrNotFound)
}

func testAlerts(t *testing.T, s identity.Store) {
	ctx := t.Context()
	a := createAccount(t, s, nil, "Alerted")
	items, next, err := s.Alerts(ctx, a.ID, identity.Page{})
	must(t, "Alerts", err)
	if len(items) != 0 || next != "" {
		t.Errorf("a new account has alerts: %v", items)
	}
	wantErr(t, "alert on an unknown account", s.CreateAlert(ctx, &identity.Alert{AccountID: identity.NewID(), Doc: []byte(`{}`)}), identity.ErrNotFound)
	var ids []string
	for i := range 5 {
		al := &identity.Alert{AccountID: a.ID, Doc: []byte(`{"title":"t\u0000","message":"m"}`)}
		if i == 0 {
			al.ExpiresAt = oddTime
		}
		must(t, "CreateAlert", s.CreateAlert(ctx, al))
		if !identity.ValidID(al.ID) || al.Created.IsZero() {
			t.Fatalf("CreateAlert filled %+v", al)
		}
		got, err := s.Alert(ctx, a.ID, al.ID)
		must(t, "Alert", err)
		if d := diff(al, got); d != "" {
			t.Errorf("alert read back (-want +got):\n%s", d)
		}
		checkUTC(t, "alert", got.Created)
		if i == 0 {
			checkUTC(t, "alert expiry", got.ExpiresAt)
		}
		ids = append(ids, al.ID)
	}
	checkPages(t, "Alerts", func(ctx context.Context, p identity.Page) ([]string, string, error) {
		items, next, err := s.Alerts(ctx, a.ID, p)
		out := make([]string, len(items))
		for i, al := range items {
			out[i] = al.ID
		}
		return out, next, err
	}, 2, sortedIDs(ids...))
	b := createAccount(t, s, nil, "Other")
	_, err = s.Alert(ctx, b.ID, ids[0])
	wantErr(t, "an alert through another account", err, identity.ErrNotFound)
	wantErr(t, "delete through another account", s.DeleteAlert(ctx, b.ID, ids[0]), identity.ErrNotFound)
	exactlyOnce(t, func(ctx context.Context) error { return s.DeleteAlert(ctx, a.ID, ids[0]) })
}

func testLimitsDoc(t *testing.T, s identity.Store) {
	ctx := t.Context()
	a := createAccount(t, s, nil, "Limited")
	got, err := s.LimitsDoc(ctx, a.ID)
	must(t, "LimitsDoc", err)
	if got != nil {
		t.Errorf("a new account's limits = %s, want nil", got)
	}
	doc := []byte(`{"twoway_trunks":5, "allow_prepay":true,"a":"\u0000"}`)
	must(t, "SetLimitsDoc", s.SetLimitsDoc(ctx, a.ID, doc))
	got, err = s.LimitsDoc(ctx, a.ID)
	must(t, "LimitsDoc", err)
	if !bytes.Equal(got, doc) {
		t.Errorf("limits = %s, want the stored bytes %s", got, doc)
	}
	must(t, "replace", s.SetLimitsDoc(ctx, a.ID, []byte(`{}`)))
	if got, _ := s.LimitsDoc(ctx, a.ID); string(got) != `{}` {
		t.Errorf("after replace: %s", got)
	}
	_, err = s.LimitsDoc(ctx, identity.NewID())
	wantErr(t, "LimitsDoc of an unknown account", err, identity.ErrNotFound)
	wantErr(t, "SetLimitsDoc on an unknown account", s.SetLimitsDoc(ctx, identity.NewID(), doc), identity.ErrNotFound)
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.SetLimitsDoc(canceled, a.ID, doc); !errors.Is(err, context.Canceled) {
		t.Errorf("SetLimitsDoc with a canceled context = %v, want context.Canceled", err)
	}
}
