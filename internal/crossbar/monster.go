package crossbar

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/audian/audian/internal/identity"
)

// Alerts, limits and ledgers: the rest of what Monster UI calls after
// sign-in and in My Account. audian has no telephony and no billing, so
// the limits document is stored and enforced nowhere, and the ledger is
// always empty; see the README.

// Alert field bounds.
const (
	maxAlertTitle   = 256
	maxAlertMessage = 4096
	maxAlertTargets = 100
)

var alertLevels = []string{"info", "warning", "critical"}

// mayPost keeps writes that concern an account but must come from above
// it (alerts, limits) to system admins and ancestors.
func mayPost(c *call, what string) error {
	if !c.p.System && c.target.acct.ID == c.p.AccountID {
		return &identity.Error{Code: identity.EForbidden, Message: "only an ancestor sets an account's " + what}
	}
	return nil
}

// renderAlert is an alert as Kazoo lists it: its document, id, and
// clearable (users may dismiss alerts posted through the API).
func renderAlert(al *identity.Alert) map[string]any {
	var doc map[string]any
	_ = json.Unmarshal(al.Doc, &doc)
	if doc == nil {
		doc = map[string]any{}
	}
	doc["id"] = al.ID
	doc["clearable"] = true
	return doc
}

func (a *API) listAlerts(c *call) (*reply, error) {
	items, _, err := a.store.Alerts(c.ctx, c.target.acct.ID, identity.Page{Size: identity.MaxAlerts})
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(items))
	for _, al := range items {
		if al.ExpiresAt.IsZero() || c.now.Before(al.ExpiresAt) {
			out = append(out, renderAlert(al))
		}
	}
	return &reply{data: out, revision: listRevision(out), list: true, pageSize: len(out)}, nil
}

func (a *API) getAlert(c *call) (*reply, error) {
	al, err := a.store.Alert(c.ctx, c.target.acct.ID, c.r.PathValue("alert_id"))
	if err != nil {
		return nil, err
	}
	return &reply{data: renderAlert(al)}, nil
}

func (a *API) deleteAlert(c *call) (*reply, error) {
	al, err := a.store.Alert(c.ctx, c.target.acct.ID, c.r.PathValue("alert_id"))
	if err != nil {
		return nil, err
	}
	if err := a.store.DeleteAlert(c.ctx, c.target.acct.ID, al.ID); err != nil {
		return nil, err
	}
	return &reply{data: renderAlert(al)}, nil
}

// createAlert serves PUT /v2/accounts/{id}/alerts: title, message, from
// and to are required (Kazoo's kapps_alert:create), category, level,
// metadata and expiration_date (Gregorian seconds) optional.
func (a *API) createAlert(c *call) (*reply, error) {
	if err := mayPost(c, "alerts"); err != nil {
		return nil, err
	}
	data, err := a.readData(c)
	if err != nil {
		return nil, err
	}
	v := identity.Violations{}
	checkStrings(data, "", v)
	doc := map[string]any{}
	for _, f := range []struct {
		key string
		max int
	}{{"title", maxAlertTitle}, {"message", maxAlertMessage}} {
		s, ok := data[f.key].(string)
		switch {
		case data[f.key] == nil:
			v.Add(f.key, "required", identity.Violation{Message: "missing property"})
		case !ok:
			v.Add(f.key, "type", identity.Violation{Message: "Value did not match type(s): string"})
		case len(s) > f.max:
			v.Add(f.key, "maxLength", identity.Violation{Message: "String must not be more than " + strconv.Itoa(f.max) + " characters", Target: f.max})
		}
		doc[f.key] = s
	}
	for _, key := range []string{"from", "to"} {
		x, present := data[key]
		list, ok := x.([]any)
		switch {
		case !present || x == nil:
			v.Add(key, "required", identity.Violation{Message: "missing property"})
			continue
		case !ok || len(list) > maxAlertTargets:
			v.Add(key, "type", identity.Violation{Message: "Value must be a list of at most 100 {type, value} objects"})
			continue
		}
		for i, t := range list {
			m, ok := t.(map[string]any)
			_, typeOK := m["type"].(string)
			_, valueOK := m["value"].(string)
			if !ok || !typeOK || !valueOK {
				v.Add(key+"."+strconv.Itoa(i), "type", identity.Violation{Message: "Value must be an object with string type and value"})
			}
		}
		doc[key] = list
	}
	if x, ok := data["category"]; ok {
		if s, isStr := x.(string); !isStr || len(s) > maxAlertTitle {
			v.Add("category", "type", identity.Violation{Message: "Value must be a string of at most 256 characters"})
		}
		doc["category"] = x
	}
	if x, ok := data["level"]; ok {
		if s, _ := x.(string); !slices.Contains(alertLevels, s) {
			v.Add("level", "enum", identity.Violation{Message: "Value not found in enumerated list of values", Target: alertLevels})
		}
		doc["level"] = x
	}
	if x, ok := data["metadata"]; ok {
		if _, isObj := x.(map[string]any); !isObj {
			v.Add("metadata", "type", identity.Violation{Message: "Value did not match type(s): object"})
		}
		doc["metadata"] = x
	}
	var expires time.Time
	if x, ok := data["expiration_date"]; ok {
		f, isNum := x.(float64)
		if !isNum || f < gregorianOffset || f > gregorianOffset+1<<40 || f != float64(int64(f)) {
			v.Add("expiration_date", "type", identity.Violation{Message: "Value must be a time in Gregorian seconds"})
		} else {
			expires = time.Unix(int64(f)-gregorianOffset, 0).UTC()
		}
		doc["expiration_date"] = x
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	al := &identity.Alert{AccountID: c.target.acct.ID, Doc: raw, ExpiresAt: expires}
	if err := a.store.CreateAlert(c.ctx, al); err != nil {
		return nil, err
	}
	return &reply{status: 201, data: renderAlert(al),
		location: "/v2/accounts/" + c.target.acct.ID + "/alerts/" + al.ID}, nil
}

// limitsID is the id of Kazoo's limits document.
const limitsID = "limits"

// limitsIntegers are the integer fields of Kazoo's limits schema, each at
// least 0.
var limitsIntegers = []string{"burst_trunks", "calls", "inbound_trunks", "outbound_trunks", "resource_consuming_calls", "twoway_trunks"}

// validateLimits checks a limits document against Kazoo's limits schema
// and adds its defaults (allow_prepay true, authz_resource_types []), as
// Kazoo's add_defaults. The fields Kazoo only ever leaks from private ones
// (allow_postpay, max_postpay_amount) are dropped.
func validateLimits(data map[string]any) (map[string]any, error) {
	doc := map[string]any{}
	for k, x := range data {
		if !private(k) && k != "allow_postpay" && k != "max_postpay_amount" {
			doc[k] = x
		}
	}
	v := identity.Violations{}
	checkStrings(doc, "", v)
	for _, k := range limitsIntegers {
		if x, ok := doc[k]; ok {
			f, isNum := x.(float64)
			if !isNum || f != float64(int64(f)) || f < 0 || f > 1e9 {
				v.Add(k, "minimum", identity.Violation{Message: "Value must be an integer at least 0", Target: 0})
			}
		}
	}
	if x, ok := doc["allow_prepay"]; ok {
		if _, isBool := x.(bool); !isBool {
			v.Add("allow_prepay", "type", identity.Violation{Message: "Value did not match type(s): boolean"})
		}
	} else {
		doc["allow_prepay"] = true
	}
	if x, ok := doc["authz_resource_types"]; ok {
		list, isList := x.([]any)
		if !isList || len(list) > 100 {
			v.Add("authz_resource_types", "type", identity.Violation{Message: "Value did not match type(s): array"})
		}
		for _, y := range list {
			if _, isStr := y.(string); !isStr {
				v.Add("authz_resource_types", "type", identity.Violation{Message: "Items must be strings"})
			}
		}
	} else {
		doc["authz_resource_types"] = []any{}
	}
	return doc, v.Err()
}

// getLimits serves GET limits as Kazoo's cb_limits: the stored document
// with the postpay fields Kazoo derives from private ones, or, for an
// account without one, the schema's defaults.
func (a *API) getLimits(c *call) (*reply, error) {
	raw, err := a.store.LimitsDoc(c.ctx, c.target.acct.ID)
	if err != nil {
		return nil, err
	}
	if raw == nil {
		return &reply{data: map[string]any{"allow_prepay": true, "authz_resource_types": []any{}, "id": limitsID}}, nil
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	doc["id"], doc["allow_postpay"], doc["max_postpay_amount"] = limitsID, false, 0
	return &reply{data: doc, revision: listRevision(doc)}, nil
}

// setLimits serves POST limits: an ancestor or a system admin replaces
// the document (Kazoo's reseller check). No charges apply: audian bills
// nothing.
func (a *API) setLimits(c *call) (*reply, error) {
	if err := mayPost(c, "limits"); err != nil {
		return nil, err
	}
	data, err := a.readData(c)
	if err != nil {
		return nil, err
	}
	doc, err := validateLimits(data)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	if err := a.store.SetLimitsDoc(c.ctx, c.target.acct.ID, raw); err != nil {
		return nil, err
	}
	doc["id"] = limitsID
	return &reply{data: doc, revision: listRevision(doc)}, nil
}

// The ledger is empty: audian keeps no ledger entries, and this is the
// true answer for an account that has none. Shapes are Kazoo's
// cb_ledgers: a summary object keyed by service, a total in dollars, and
// lists of entries.
func (a *API) ledgers(c *call) (*reply, error) {
	return &reply{data: map[string]any{}}, nil
}

func (a *API) ledgersTotal(c *call) (*reply, error) {
	// Kazoo converts units to dollars, a float, which its encoder writes
	// as 0.0.
	return &reply{data: rawJSON(`{"amount":0.0}`)}, nil
}

func (a *API) ledgerEntries(c *call) (*reply, error) {
	return &reply{data: []any{}, revision: listRevision([]any{}), list: true}, nil
}
