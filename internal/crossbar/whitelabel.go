package crossbar

import (
	"bytes"
	"encoding/json"
	"html"
	"net/mail"
	"net/url"
	"strconv"
	"strings"

	"github.com/audian/audian/internal/identity"
)

// Whitelabel: each account's branding (Kazoo's cb_whitelabel). The
// account's admins and its ancestors write it (reach and AccountsWrite);
// a child cannot reach its parent, so it cannot change its parent's
// branding. The login page reads it without a token by the domain it is
// served on: GET /v2/whitelabel/{domain}, 404 when no account claims it.

// whitelabelID is the id Kazoo gives the whitelabel document.
const whitelabelID = "whitelabel"

// whitelabelURIs and whitelabelStrings are the fields of Kazoo's
// whitelabels schema by type; nav and port hold URIs (and an email).
var (
	whitelabelStrings = []string{"company_name", "inbound_trunks_price", "outbound_trunks_price", "twoway_trunks_price"}
	whitelabelBools   = []string{"hide_powered", "hide_registration", "hide_credits"}
	whitelabelObjects = map[string][]string{
		"nav":  {"help", "learn_more"},
		"port": {"loa", "resporg", "features", "terms", "support_email"},
	}
)

// maxWhitelabelString bounds every string of a branding document.
const maxWhitelabelString = 2048

// validateWhitelabel checks a branding document against Kazoo's whitelabel
// schema, more strictly where a value ends up in a page: URIs must be
// absolute http(s) URLs (no javascript:), strings are bounded and free of
// NUL. Unknown fields are kept, as the schema allows. It returns the
// document without private keys, and its normalized domain.
func validateWhitelabel(doc map[string]any) (map[string]any, string, error) {
	clean := map[string]any{}
	for k, v := range doc {
		if !private(k) {
			clean[k] = v
		}
	}
	v := identity.Violations{}
	checkStrings(clean, "", v)
	for _, k := range whitelabelStrings {
		if x, ok := clean[k]; ok {
			if _, isStr := x.(string); !isStr {
				v.Add(k, "type", identity.Violation{Message: "Value did not match type(s): string"})
			}
		}
	}
	for _, k := range whitelabelBools {
		if x, ok := clean[k]; ok {
			if _, isBool := x.(bool); !isBool {
				v.Add(k, "type", identity.Violation{Message: "Value did not match type(s): boolean"})
			}
		}
	}
	if x, ok := clean["fake_api_url"]; ok {
		checkURI("fake_api_url", x, v)
	}
	for obj, keys := range whitelabelObjects {
		x, ok := clean[obj]
		if !ok {
			continue
		}
		m, isObj := x.(map[string]any)
		if !isObj {
			v.Add(obj, "type", identity.Violation{Message: "Value did not match type(s): object"})
			continue
		}
		for _, k := range keys {
			if y, ok := m[k]; ok {
				if k == "support_email" {
					checkEmail(obj+"."+k, y, v)
				} else {
					checkURI(obj+"."+k, y, v)
				}
			}
		}
	}
	domain := ""
	if x, ok := clean["domain"]; ok && x != nil {
		s, isStr := x.(string)
		switch {
		case isStr && s == "":
			delete(clean, "domain") // no domain, as Kazoo's get_ne_value reads it
		case !isStr:
			v.Add("domain", "type", identity.Violation{Message: "Value did not match type(s): string"})
		case identity.NormalizeDomain(s) == "":
			v.Add("domain", "format", identity.Violation{Message: "Value must be a host name", Target: s})
		default:
			domain = identity.NormalizeDomain(s)
			clean["domain"] = domain
		}
	}
	return clean, domain, v.Err()
}

// checkStrings refuses NUL and overlong strings anywhere in a document.
func checkStrings(x any, path string, v identity.Violations) {
	switch t := x.(type) {
	case string:
		if strings.IndexByte(t, 0) >= 0 {
			v.Add(strings.TrimPrefix(path, "."), "format", identity.Violation{Message: "Value must not contain NUL"})
		} else if len(t) > maxWhitelabelString {
			v.Add(strings.TrimPrefix(path, "."), "maxLength", identity.Violation{Message: "String must not be more than 2048 characters", Target: maxWhitelabelString})
		}
	case map[string]any:
		for k, y := range t {
			if strings.IndexByte(k, 0) >= 0 {
				v.Add(strings.TrimPrefix(path, "."), "format", identity.Violation{Message: "Keys must not contain NUL"})
				continue
			}
			checkStrings(y, path+"."+k, v)
		}
	case []any:
		for i, y := range t {
			checkStrings(y, path+"."+strconv.Itoa(i), v)
		}
	}
}

// checkURI accepts an absolute http or https URL: these links are put in
// pages, where any other scheme (javascript:, data:) could run script.
func checkURI(field string, x any, v identity.Violations) {
	s, ok := x.(string)
	if !ok {
		v.Add(field, "type", identity.Violation{Message: "Value did not match type(s): string"})
		return
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		v.Add(field, "format", identity.Violation{Message: "Value must be an http or https URL", Target: "uri"})
	}
}

func checkEmail(field string, x any, v identity.Violations) {
	s, ok := x.(string)
	if !ok {
		v.Add(field, "type", identity.Violation{Message: "Value did not match type(s): string"})
		return
	}
	if a, err := mail.ParseAddress(s); err != nil || a.Address != s {
		v.Add(field, "format", identity.Violation{Message: "Value must be an email address", Target: "email"})
	}
}

// renderWhitelabel is the branding as Kazoo returns it: its public fields
// and id "whitelabel".
func renderWhitelabel(w *identity.Whitelabel) (*reply, error) {
	var doc map[string]any
	if err := json.Unmarshal(w.Doc, &doc); err != nil {
		return nil, err
	}
	if doc == nil {
		doc = map[string]any{}
	}
	doc["id"] = whitelabelID
	return &reply{data: doc, revision: w.Revision, etag: etag(w.Revision)}, nil
}

func (a *API) getWhitelabel(c *call) (*reply, error) {
	w, err := a.store.Whitelabel(c.ctx, c.target.acct.ID)
	if err != nil {
		return nil, err
	}
	return renderWhitelabel(w)
}

// putWhitelabel creates the account's branding (409 when it has one);
// postWhitelabel replaces it (404 when it has none), as Kazoo's save and
// load_merge do.
func (a *API) putWhitelabel(c *call) (*reply, error) { return a.saveWhitelabel(c, true) }

func (a *API) postWhitelabel(c *call) (*reply, error) { return a.saveWhitelabel(c, false) }

func (a *API) saveWhitelabel(c *call, create bool) (*reply, error) {
	data, err := a.readData(c)
	if err != nil {
		return nil, err
	}
	if !create {
		if _, err := a.store.Whitelabel(c.ctx, c.target.acct.ID); err != nil {
			return nil, err
		}
	}
	doc, domain, err := validateWhitelabel(data)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	w := &identity.Whitelabel{AccountID: c.target.acct.ID, Domain: domain, Doc: raw}
	if err := a.store.SetWhitelabel(c.ctx, w, create); err != nil {
		return nil, err
	}
	rep, err := renderWhitelabel(w)
	if err != nil {
		return nil, err
	}
	if create {
		rep.status = 201
	}
	return rep, nil
}

func (a *API) deleteWhitelabel(c *call) (*reply, error) {
	w, err := a.store.Whitelabel(c.ctx, c.target.acct.ID)
	if err != nil {
		return nil, err
	}
	if err := a.store.DeleteWhitelabel(c.ctx, c.target.acct.ID); err != nil {
		return nil, err
	}
	return renderWhitelabel(w)
}

// whitelabelFile serves a file of the path account's branding.
func (a *API) whitelabelFile(name string) handler {
	return func(c *call) (*reply, error) {
		return a.serveWhitelabelFile(c, c.target.acct.ID, name)
	}
}

func (a *API) serveWhitelabelFile(c *call, accountID, name string) (*reply, error) {
	f, err := a.store.WhitelabelFile(c.ctx, accountID, name)
	if err != nil {
		return nil, err
	}
	fr := &fileReply{contentType: f.ContentType, name: name, data: f.Data}
	switch f.ContentType {
	case "image/png":
		fr.name += ".png"
	case "image/jpeg":
		fr.name += ".jpg"
	default:
		// The welcome text is kept as plain text and served as HTML with
		// every character escaped, because Monster UI inserts it into its
		// login page as HTML: a reseller's text must never become markup
		// in its customers' pages.
		escaped := html.EscapeString(string(f.Data))
		escaped = strings.ReplaceAll(strings.ReplaceAll(escaped, "\r\n", "\n"), "\n", "<br>")
		fr.contentType, fr.name, fr.data = "text/html; charset=utf-8", name+".html", []byte(escaped)
	}
	return &reply{file: fr}, nil
}

// setWhitelabelFile stores a logo, icon or welcome text of the path
// account's branding, checked by its content: images must be PNG or JPEG
// (SVG is refused: it is a document that can carry script), texts UTF-8
// without control characters.
func (a *API) setWhitelabelFile(name string) handler {
	return func(c *call) (*reply, error) {
		data, _, err := a.readUpload(c, a.cfg.UploadMaxBytes)
		if err != nil {
			return nil, err
		}
		ct := "text/plain; charset=utf-8"
		if name == identity.WhitelabelWelcome {
			err = checkText(data)
		} else {
			ct, err = checkImage(data)
		}
		if err != nil {
			return nil, err
		}
		f := &identity.WhitelabelFile{ContentType: ct, Data: bytes.Clone(data)}
		if err := a.store.SetWhitelabelFile(c.ctx, c.target.acct.ID, name, f); err != nil {
			return nil, err
		}
		return a.getWhitelabel(c)
	}
}

// whitelabelByDomain serves the public GET /v2/whitelabel/{domain}.
func (a *API) whitelabelByDomain(c *call) (*reply, error) {
	w, err := a.store.WhitelabelByDomain(c.ctx, c.r.PathValue("domain"))
	if err != nil {
		return nil, err
	}
	return renderWhitelabel(w)
}

// whitelabelFileByDomain serves the public logo, icon and welcome text of
// the branding that claims {domain}.
func (a *API) whitelabelFileByDomain(name string) handler {
	return func(c *call) (*reply, error) {
		w, err := a.store.WhitelabelByDomain(c.ctx, c.r.PathValue("domain"))
		if err != nil {
			return nil, err
		}
		return a.serveWhitelabelFile(c, w.AccountID, name)
	}
}
