package audian_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/audian/audian"
)

// wireTypes maps each golden reply of testdata/wire to the SDK type its
// data decodes into. A golden missing here is still checked, as an
// envelope with generic data.
var wireTypes = map[string]func() any{
	"access_token":               func() any { return new(audian.AccessToken) },
	"account":                    func() any { return new(audian.Account) },
	"account_created":            func() any { return new(audian.Account) },
	"accounts_created_own_child": func() any { return new(audian.Account) },
	"account_children":           func() any { return new([]audian.AccountSummary) },
	"account_descendants":        func() any { return new([]audian.AccountSummary) },
	"account_parents":            func() any { return new([]audian.AccountSummary) },
	"account_siblings":           func() any { return new([]audian.AccountSummary) },
	"account_tree":               func() any { return new([]audian.AccountSummary) },
	"api_auth":                   func() any { return new(audian.Session) },
	"user_auth":                  func() any { return new(audian.Session) },
	"auth_refresh":               func() any { return new(audian.Session) },
	"token_auth":                 func() any { return new(audian.Session) },
	"tokeninfo":                  func() any { return new(audian.Session) },
	"api_key":                    func() any { return new(audian.APIKey) },
	"api_key_created":            func() any { return new(audian.APIKey) },
	"api_key_rotated":            func() any { return new(audian.APIKey) },
	"api_keys":                   func() any { return new([]audian.APIKey) },
	"users":                      func() any { return new([]audian.User) },
	"users_filtered":             func() any { return new([]audian.User) },
	"token_restrictions":         func() any { return new(audian.TokenRestrictions) },
	"oauth_app_created":          func() any { return new(audian.OAuthApp) },
	"oauth_app_patched":          func() any { return new(audian.OAuthApp) },
	"oauth_apps":                 func() any { return new([]audian.OAuthApp) },
	"oauth_grants":               func() any { return new([]audian.OAuthGrant) },
	"token_restrictions_set":     func() any { return new(audian.TokenRestrictions) },
	"token_restrictions_deleted": func() any { return new(audian.TokenRestrictions) },
}

// placeholders turns the goldens' normalized values back into values of
// the wire's types, so that typed fields can decode them.
var placeholders = map[string]any{
	"<created>": float64(63_900_000_000), "<exp>": float64(1_900_000_000), "<iat>": float64(1_899_996_400),
	"<n>": float64(99), "<timestamp>": "2026-11-30T03:00:00Z",
}

func denormalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			x[k] = denormalize(val)
		}
	case []any:
		for i, val := range x {
			x[i] = denormalize(val)
		}
	case string:
		if p, ok := placeholders[x]; ok {
			return p
		}
	}
	return v
}

// TestWireGoldens decodes every golden reply into the SDK's types and
// encodes it again: every field of the golden must survive, so that a
// change of the server's wire format that the SDK does not follow fails
// here. A string that was "" may come back absent (omitempty).
func TestWireGoldens(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "wire", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no goldens: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var golden struct {
				Status int            `json:"status"`
				Body   map[string]any `json:"body"`
			}
			if err := json.Unmarshal(raw, &golden); err != nil {
				t.Fatal(err)
			}
			body := denormalize(golden.Body).(map[string]any)
			wire, _ := json.Marshal(body)

			env := audian.Envelope{}
			mk, typed := wireTypes[name]
			var target any
			switch {
			case golden.Status >= 400:
				target = new(map[string]any)
			case typed:
				target = mk()
			default:
				t.Logf("no SDK type for %s: checking the envelope only", name)
			}
			if target != nil {
				env.Data = target
			}
			dec := json.NewDecoder(strings.NewReader(string(wire)))
			if err := dec.Decode(&env); err != nil {
				t.Fatalf("decoding %s: %v", name, err)
			}
			if target != nil && reflect.ValueOf(target).Elem().IsZero() && body["data"] != nil {
				if m, ok := body["data"].(map[string]any); !ok || len(m) > 0 {
					t.Errorf("data decoded to a zero value")
				}
			}
			if golden.Status >= 400 {
				e := &audian.Error{StatusCode: golden.Status, Message: env.Message, Data: *target.(*map[string]any)}
				if e.Detail() == "" && len(e.Data) > 0 {
					t.Errorf("Error.Detail is empty for %v", e.Data)
				}
			}
			again, err := json.Marshal(env)
			if err != nil {
				t.Fatal(err)
			}
			var back map[string]any
			if err := json.Unmarshal(again, &back); err != nil {
				t.Fatal(err)
			}
			lost(t, "", body, back)
		})
	}
}

// lost reports every value of want that got does not hold.
func lost(t *testing.T, path string, want, got any) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s: got %v, want an object", path, got)
			return
		}
		for k, wv := range w {
			gv, present := g[k]
			if !present {
				if wv == "" {
					continue
				}
				t.Errorf("%s.%s: lost (was %v)", path, k, wv)
				continue
			}
			lost(t, path+"."+k, wv, gv)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			t.Errorf("%s: got %v, want %v", path, got, want)
			return
		}
		for i := range w {
			lost(t, path+"["+string(rune('0'+i%10))+"]", w[i], g[i])
		}
	default:
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%s: got %#v, want %#v", path, got, want)
		}
	}
}
