package crossbar

import (
	"context"
	"encoding/json"
	"errors"
	"path"
	"regexp"
	"slices"
	"strconv"

	"github.com/audian/audian/internal/identity"
)

// apps_store: the catalogue of Monster UI apps (Kazoo's master apps),
// what each account installed and for whom, and what an ancestor
// blacklisted for it (Kazoo's cb_apps_store). The catalogue is global and
// empty on a new server; a system admin fills it with `audian apps import`
// or PUT /v2/apps_store. Icons and screenshots are public, as in Kazoo:
// Monster UI loads them as images.

var appNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{1,63}$`)

// appsTrusted are the catalogue fields audian checks by type; others of
// Monster's app.json are kept as written.
var (
	appStrings = []string{"author", "license", "version", "icon", "phase"}
	appURIs    = []string{"api_url", "source_url"}
)

// maxAppUsers bounds the users of an install record.
const maxAppUsers = 10_000

// ParseApp validates a catalogue document (a Monster app's
// metadata/app.json, or the body of PUT /v2/apps_store) against Kazoo's
// app schema and returns the app, with the file names of its icon and
// screenshots. It keeps unknown fields, drops private ones and sets
// api_url when apiURL is not empty, as Kazoo's init_app does.
func ParseApp(raw []byte, apiURL string) (*identity.App, []string, error) {
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil || doc == nil {
		return nil, nil, identity.Invalid("json", "invalid", "the app document is not a JSON object")
	}
	for k := range doc {
		if private(k) {
			delete(doc, k)
		}
	}
	if apiURL != "" {
		doc["api_url"] = apiURL
	}
	v := identity.Violations{}
	checkStrings(doc, "", v)
	name, _ := doc["name"].(string)
	if !appNamePattern.MatchString(name) {
		v.Add("name", "pattern", identity.Violation{Message: "Value must be 2 to 64 lowercase letters, digits, _ or -"})
	}
	for _, k := range appStrings {
		if x, ok := doc[k]; ok {
			if _, isStr := x.(string); !isStr {
				v.Add(k, "type", identity.Violation{Message: "Value did not match type(s): string"})
			}
		}
	}
	for _, k := range appURIs {
		if x, ok := doc[k]; ok {
			checkURI(k, x, v)
		}
	}
	if p, ok := doc["phase"].(string); ok && !slices.Contains([]string{"alpha", "beta", "gold"}, p) {
		v.Add("phase", "enum", identity.Violation{Message: "Value not found in enumerated list of values", Target: []string{"alpha", "beta", "gold"}})
	}
	for _, k := range []string{"masqueradable", "published"} {
		if x, ok := doc[k]; ok {
			if _, isBool := x.(bool); !isBool {
				v.Add(k, "type", identity.Violation{Message: "Value did not match type(s): boolean"})
			}
		}
	}
	if x, ok := doc["price"]; ok {
		if f, isNum := x.(float64); !isNum || f < 0 {
			v.Add("price", "minimum", identity.Violation{Message: "Value must be a number at least 0"})
		}
	}
	if x, ok := doc["i18n"]; ok {
		if _, isObj := x.(map[string]any); !isObj {
			v.Add("i18n", "type", identity.Violation{Message: "Value did not match type(s): object"})
		}
	}
	var files []string
	if icon, ok := doc["icon"].(string); ok && icon != "" {
		if !safeFileName(icon) {
			v.Add("icon", "format", identity.Violation{Message: "Value must be a plain file name"})
		}
		files = append(files, icon)
	}
	if x, ok := doc["screenshots"]; ok {
		list, isList := x.([]any)
		if !isList || len(list) > identity.MaxAppFiles-1 {
			v.Add("screenshots", "type", identity.Violation{Message: "Value must be a list of at most 20 file names"})
		}
		for i, s := range list {
			name, isStr := s.(string)
			if !isStr || !safeFileName(name) {
				v.Add("screenshots."+strconv.Itoa(i), "format", identity.Violation{Message: "Value must be a plain file name"})
				continue
			}
			files = append(files, name)
		}
	}
	for _, k := range []string{"tags", "extends"} {
		if x, ok := doc[k]; ok {
			list, isList := x.([]any)
			if !isList {
				v.Add(k, "type", identity.Violation{Message: "Value did not match type(s): array"})
				continue
			}
			for _, s := range list {
				if _, isStr := s.(string); !isStr {
					v.Add(k, "type", identity.Violation{Message: "Items must be strings"})
				}
			}
		}
	}
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	id, _ := doc["id"].(string)
	delete(doc, "id")
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, nil, err
	}
	return &identity.App{ID: id, Name: name, Doc: b}, files, nil
}

// safeFileName accepts a file name without a directory part.
func safeFileName(s string) bool {
	return s != "" && len(s) <= 255 && s == path.Base(s) && s != "." && s != ".." && !containsAny(s, "/\\\x00")
}

func containsAny(s, chars string) bool {
	for i := 0; i < len(s); i++ {
		for j := 0; j < len(chars); j++ {
			if s[i] == chars[j] {
				return true
			}
		}
	}
	return false
}

// ImportApp stores the catalogue app described by raw (a Monster app's
// metadata/app.json), reading its icon and screenshots with read: given
// the app's id, the stored name ("icon", "screenshot/<n>") and the file
// name the document gives; a file read reports as ErrNoFile is skipped. An app of the
// same name keeps its id, so installs survive a re-import. Images must be
// PNG or JPEG.
func ImportApp(ctx context.Context, s identity.AppsStore, raw []byte, apiURL string, read func(appID, name, fileName string) ([]byte, error)) (*identity.App, error) {
	app, _, err := ParseApp(raw, apiURL)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	_ = json.Unmarshal(app.Doc, &doc)
	existing, err := s.Apps(ctx)
	if err != nil {
		return nil, err
	}
	app.ID = identity.NewID()
	for _, e := range existing {
		if e.Name == app.Name {
			app.ID = e.ID
		}
	}
	var files []identity.AppFile
	add := func(kind, name, fileName string) error {
		data, err := read(app.ID, name, fileName)
		if errors.Is(err, ErrNoFile) {
			return nil
		}
		if err != nil {
			return err
		}
		if len(data) > identity.MaxAppFileSize {
			return identity.Invalid(kind, "maxLength", fileName+" is larger than 2 MiB")
		}
		ct, err := checkImage(data)
		if err != nil {
			return identity.Invalid(kind, "format", fileName+" is not a PNG or JPEG image")
		}
		files = append(files, identity.AppFile{Name: name, ContentType: ct, Data: data})
		return nil
	}
	if icon, ok := doc["icon"].(string); ok && icon != "" {
		if err := add("icon", "icon", icon); err != nil {
			return nil, err
		}
	}
	if list, ok := doc["screenshots"].([]any); ok {
		for i, x := range list {
			if err := add("screenshots", "screenshot/"+strconv.Itoa(i), x.(string)); err != nil {
				return nil, err
			}
		}
	}
	if err := s.PutApp(ctx, app, files); err != nil {
		return nil, err
	}
	return app, nil
}

// ErrNoFile is the error an ImportApp reader returns for a missing file,
// which ImportApp skips.
var ErrNoFile = errors.New("no such file")

// appsFor returns the catalogue as account acct sees it: published apps
// (all of them for a system account, as Kazoo's master account) minus
// those blacklisted for the account or any of its ancestors, each with the
// account's install record.
func (a *API) appsFor(ctx context.Context, acct *identity.Account) ([]*identity.App, map[string]map[string]any, error) {
	apps, err := a.store.Apps(ctx)
	if err != nil {
		return nil, nil, err
	}
	blocked := map[string]bool{}
	for _, id := range append(slices.Clone(acct.Tree), acct.ID) {
		ids, err := a.store.AppBlacklist(ctx, id)
		if err != nil && identity.ErrorCode(err) != identity.ENotFound {
			return nil, nil, err
		}
		for _, x := range ids {
			blocked[x] = true
		}
	}
	installs, err := a.store.AppInstalls(ctx, acct.ID)
	if err != nil {
		return nil, nil, err
	}
	inst := map[string]map[string]any{}
	for _, in := range installs {
		var d map[string]any
		if json.Unmarshal(in.Doc, &d) == nil {
			inst[in.AppID] = d
		}
	}
	out := apps[:0]
	for _, app := range apps {
		if blocked[app.ID] {
			continue
		}
		if !acct.System {
			var doc struct {
				Published *bool `json:"published"`
			}
			if json.Unmarshal(app.Doc, &doc) == nil && doc.Published != nil && !*doc.Published {
				continue
			}
		}
		out = append(out, app)
	}
	return out, inst, nil
}

// masterID is the account Kazoo names as an app's account_id: the root of
// the caller's tree, where the catalogue lives.
func masterID(acct *identity.Account) string {
	if len(acct.Tree) > 0 {
		return acct.Tree[0]
	}
	return acct.ID
}

// renderAppItem is one app of the apps_store list, with Kazoo's keys
// (normalize_apps_result): those an app does not have are left out.
func renderAppItem(app *identity.App, install map[string]any, master string) map[string]any {
	var doc map[string]any
	_ = json.Unmarshal(app.Doc, &doc)
	item := map[string]any{"id": app.ID, "name": app.Name, "account_id": master, "users": []any{}, "masqueradable": true}
	for _, k := range []string{"i18n", "tags", "api_url", "source_url", "masqueradable", "phase", "extends"} {
		if x, ok := doc[k]; ok {
			item[k] = x
		}
	}
	for _, k := range []string{"allowed_users", "users"} {
		if x, ok := install[k]; ok {
			item[k] = x
		}
	}
	return item
}

func (a *API) listApps(c *call) (*reply, error) {
	apps, inst, err := a.appsFor(c.ctx, c.target.acct)
	if err != nil {
		return nil, err
	}
	items := make([]any, 0, len(apps))
	for _, app := range apps {
		items = append(items, renderAppItem(app, inst[app.ID], masterID(c.target.acct)))
	}
	return &reply{data: items, revision: listRevision(items), list: true, pageSize: len(items)}, nil
}

// allowedApp returns the app {app_id} if the path account may use it, and
// its install record; a 404 otherwise, as Kazoo's bad_identifier.
func (a *API) allowedApp(c *call) (*identity.App, map[string]any, error) {
	id := c.r.PathValue("app_id")
	if !identity.ValidID(id) {
		return nil, nil, identity.ErrNotFound
	}
	apps, inst, err := a.appsFor(c.ctx, c.target.acct)
	if err != nil {
		return nil, nil, err
	}
	for _, app := range apps {
		if app.ID == id {
			return app, inst[id], nil
		}
	}
	return nil, nil, identity.ErrNotFound
}

func (a *API) getApp(c *call) (*reply, error) {
	app, install, err := a.allowedApp(c)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(app.Doc, &doc); err != nil {
		return nil, err
	}
	doc["id"], doc["name"], doc["account_id"] = app.ID, app.Name, masterID(c.target.acct)
	for _, k := range []string{"allowed_users", "users"} {
		if x, ok := install[k]; ok {
			doc[k] = x
		}
	}
	return &reply{data: doc}, nil
}

// installRecord validates the body of an install or update: allowed_users
// "all", "admins" or "specific", and users, a list of user ids.
func (a *API) installRecord(c *call, app *identity.App) ([]byte, map[string]any, error) {
	data, err := a.readData(c)
	if err != nil {
		return nil, nil, err
	}
	v := identity.Violations{}
	rec := map[string]any{"name": app.Name}
	if x, ok := data["allowed_users"]; ok {
		s, _ := x.(string)
		if !slices.Contains([]string{"all", "admins", "specific"}, s) {
			v.Add("allowed_users", "enum", identity.Violation{Message: "Value not found in enumerated list of values", Target: []string{"specific", "all", "admins"}})
		}
		rec["allowed_users"] = s
	}
	if x, ok := data["users"]; ok {
		list, isList := x.([]any)
		if !isList || len(list) > maxAppUsers {
			v.Add("users", "type", identity.Violation{Message: "Value must be a list of at most 10000 user ids"})
		}
		users := make([]any, 0, len(list))
		for i, u := range list {
			s, isStr := u.(string)
			if !isStr || !identity.ValidID(s) {
				v.Add("users."+strconv.Itoa(i), "format", identity.Violation{Message: "Value must be a user id"})
				continue
			}
			users = append(users, s)
		}
		rec["users"] = users
	}
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	b, err := json.Marshal(rec)
	return b, rec, err
}

// mayUseApp is Kazoo's can_modify: only an app the account may use can be
// installed, changed or removed (403 otherwise).
func (a *API) mayUseApp(c *call) (*identity.App, error) {
	app, _, err := a.allowedApp(c)
	if identity.ErrorCode(err) == identity.ENotFound {
		return nil, &identity.Error{Code: identity.EForbidden, Message: "the app is not available to this account"}
	}
	return app, err
}

func (a *API) installApp(c *call) (*reply, error) {
	app, err := a.mayUseApp(c)
	if err != nil {
		return nil, err
	}
	doc, rec, err := a.installRecord(c, app)
	if err != nil {
		return nil, err
	}
	if err := a.store.InstallApp(c.ctx, &identity.AppInstall{AccountID: c.target.acct.ID, AppID: app.ID, Doc: doc}); err != nil {
		return nil, err
	}
	return &reply{status: 201, data: rec}, nil
}

func (a *API) updateApp(c *call) (*reply, error) {
	app, err := a.mayUseApp(c)
	if err != nil {
		return nil, err
	}
	doc, rec, err := a.installRecord(c, app)
	if err != nil {
		return nil, err
	}
	if err := a.store.UpdateAppInstall(c.ctx, &identity.AppInstall{AccountID: c.target.acct.ID, AppID: app.ID, Doc: doc}); err != nil {
		return nil, err
	}
	return &reply{data: rec}, nil
}

func (a *API) uninstallApp(c *call) (*reply, error) {
	app, err := a.mayUseApp(c)
	if err != nil {
		return nil, err
	}
	if err := a.store.UninstallApp(c.ctx, c.target.acct.ID, app.ID); err != nil {
		return nil, err
	}
	return &reply{data: map[string]any{}}, nil
}

// appFile serves an app's icon or a screenshot. The route is public, as
// in Kazoo: Monster UI shows them with <img> tags.
func (a *API) appFile(c *call) (*reply, error) {
	id := c.r.PathValue("app_id")
	name := "icon"
	if n := c.r.PathValue("n"); n != "" {
		i, err := strconv.Atoi(n)
		if err != nil || i < 0 || i >= identity.MaxAppFiles {
			return nil, identity.ErrNotFound
		}
		name = "screenshot/" + strconv.Itoa(i)
	}
	if !identity.ValidID(id) || !identity.ValidID(c.r.PathValue("account_id")) {
		return nil, identity.ErrNotFound
	}
	f, err := a.store.AppFile(c.ctx, id, name)
	if err != nil {
		return nil, err
	}
	ext := ".png"
	if f.ContentType == "image/jpeg" {
		ext = ".jpg"
	}
	return &reply{file: &fileReply{contentType: f.ContentType, name: path.Base(name) + ext, data: f.Data}}, nil
}

// mayBlacklist keeps an account's blacklist to its ancestors (Kazoo's
// is_in_account_hierarchy): an account neither reads nor lifts what its
// reseller decided for it.
func mayBlacklist(c *call) error {
	if !c.p.System && c.target.acct.ID == c.p.AccountID {
		return &identity.Error{Code: identity.EForbidden, Message: "only an ancestor manages an account's app blacklist"}
	}
	return nil
}

func (a *API) getBlacklist(c *call) (*reply, error) {
	if err := mayBlacklist(c); err != nil {
		return nil, err
	}
	ids, err := a.store.AppBlacklist(c.ctx, c.target.acct.ID)
	if err != nil {
		return nil, err
	}
	if ids == nil {
		ids = []string{}
	}
	return &reply{data: map[string]any{"blacklist": ids}}, nil
}

func (a *API) setBlacklist(c *call) (*reply, error) {
	if err := mayBlacklist(c); err != nil {
		return nil, err
	}
	data, err := a.readData(c)
	if err != nil {
		return nil, err
	}
	list, isList := data["blacklist"].([]any)
	if _, present := data["blacklist"]; present && !isList || len(list) > identity.MaxApps {
		return nil, identity.Invalid("blacklist", "type", "Value must be a list of at most 500 app ids")
	}
	ids := []string{}
	for i, x := range list {
		s, ok := x.(string)
		if !ok || !identity.ValidID(s) {
			return nil, identity.Invalid("blacklist."+strconv.Itoa(i), "format", "Value must be an app id")
		}
		if !slices.Contains(ids, s) {
			ids = append(ids, s)
		}
	}
	if err := a.store.SetAppBlacklist(c.ctx, c.target.acct.ID, ids); err != nil {
		return nil, err
	}
	return &reply{data: map[string]any{"blacklist": ids}}, nil
}

// mayManageCatalogue keeps the catalogue to system admins.
func mayManageCatalogue(c *call) error {
	if !c.p.System {
		return &identity.Error{Code: identity.EForbidden, Message: "only a system admin manages the app catalogue"}
	}
	return nil
}

// putCatalogueApp serves PUT /v2/apps_store: a system admin adds or
// replaces (by name) a catalogue app from its app.json document.
func (a *API) putCatalogueApp(c *call) (*reply, error) {
	if err := mayManageCatalogue(c); err != nil {
		return nil, err
	}
	data, err := a.readData(c)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	// The API carries no images: a replaced app keeps those it has.
	app, err := ImportApp(c.ctx, a.store, raw, "", func(appID, name, _ string) ([]byte, error) {
		f, err := a.store.AppFile(c.ctx, appID, name)
		if identity.ErrorCode(err) == identity.ENotFound {
			return nil, ErrNoFile
		}
		if err != nil {
			return nil, err
		}
		return f.Data, nil
	})
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	_ = json.Unmarshal(app.Doc, &doc)
	doc["id"], doc["name"] = app.ID, app.Name
	return &reply{status: 201, data: doc, location: "/v2/apps_store/" + app.ID}, nil
}

// deleteCatalogueApp serves DELETE /v2/apps_store/{app_id}.
func (a *API) deleteCatalogueApp(c *call) (*reply, error) {
	if err := mayManageCatalogue(c); err != nil {
		return nil, err
	}
	id := c.r.PathValue("app_id")
	if !identity.ValidID(id) {
		return nil, identity.ErrNotFound
	}
	if err := a.store.DeleteApp(c.ctx, id); err != nil {
		return nil, err
	}
	return &reply{data: map[string]any{"id": id}}, nil
}
