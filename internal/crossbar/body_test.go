package crossbar

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/audian/audian/internal/identity"
)

func TestParseEnvelope(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want map[string]any
		code identity.Code
	}{
		{"empty body", "", map[string]any{}, ""},
		{"data object", `{"data":{"a":1}}`, map[string]any{"a": 1.0}, ""},
		{"extra envelope keys", `{"data":{"a":"b"},"verb":"PUT","auth_token":"x","ui_metadata":{}}`, map[string]any{"a": "b"}, ""},
		{"no data", `{"verb":"PUT"}`, map[string]any{}, ""},
		{"null data", `{"data":null}`, map[string]any{}, ""},
		{"invalid json", `{"data":`, nil, identity.EInvalid},
		{"not an object", `[1,2]`, nil, identity.EInvalid},
		{"data not an object", `{"data":"x"}`, nil, identity.EInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseEnvelope([]byte(tc.body))
			if code := identity.ErrorCode(err); code != tc.code {
				t.Fatalf("error code %q, want %q (%v)", code, tc.code, err)
			}
			if diff := cmp.Diff(tc.want, got); tc.code == "" && diff != "" {
				t.Errorf("data (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInvalidJSONShape(t *testing.T) {
	_, err := parseEnvelope([]byte("{"))
	e, ok := err.(*identity.Error)
	if !ok || e.Fields["json"]["invalid"].Message == "" {
		t.Fatalf("want data.json.invalid, got %#v", err)
	}
}

func FuzzParseEnvelope(f *testing.F) {
	for _, s := range []string{"", "{}", `{"data":{"api_key":"x"}}`, `{"data":[1]}`, "\x00", `{"data":{"a":{"b":null}}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		data, err := parseEnvelope(body)
		if err == nil && data == nil {
			t.Fatal("nil data without an error")
		}
		if err != nil && identity.ErrorCode(err) != identity.EInvalid {
			t.Fatalf("a bad body must be a validation error, got %v", err)
		}
	})
}

func FuzzRequestID(f *testing.F) {
	for _, s := range []string{"", "abc", "a b", "x-1.2_3", string(make([]byte, 65))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("X-Request-ID", id)
		info := NewRequestInfo(r)
		if !validRequestID(info.ID) {
			t.Fatalf("request id %q escapes the allowed alphabet", info.ID)
		}
		if validRequestID(id) && info.ID != id {
			t.Fatalf("a valid client id %q was replaced", id)
		}
	})
}

func TestMerge(t *testing.T) {
	dst := map[string]any{"a": 1.0, "b": map[string]any{"c": 2.0, "d": 3.0}, "e": "x"}
	patch := map[string]any{"a": nil, "b": map[string]any{"c": nil, "f": 4.0}, "g": []any{1.0}}
	want := map[string]any{"b": map[string]any{"d": 3.0, "f": 4.0}, "e": "x", "g": []any{1.0}}
	if diff := cmp.Diff(want, merge(dst, patch)); diff != "" {
		t.Errorf("merge (-want +got):\n%s", diff)
	}
}

func TestHasEscapedNUL(t *testing.T) {
	for _, tc := range []struct {
		body string
		want bool
		path string
	}{
		{`{"data":{"name":"a\u0000b"}}`, true, "name"},
		{`{"data":{"x":{"y":["ok","\u0000"]}}}`, true, "x.y.1"},
		{`{"data":{"a\u0000":"v"}}`, true, "a"},
		{`{"data":{"name":"a\\u0000b"}}`, false, ""},     // an escaped backslash, then text
		{`{"data":{"name":"a\\\u0000b"}}`, true, "name"}, // a backslash, then NUL
		{`{"data":{"name":"\u00001"}}`, true, "name"},
		{`{"data":{"name":"\u0001"}}`, false, ""},
		{`{"data":{"name":"\"\\"}}`, false, ""},
		{`\`, false, ""},
		{`{"data":{"name":"\u000`, false, ""},
	} {
		if got := hasEscapedNUL([]byte(tc.body)); got != tc.want {
			t.Errorf("hasEscapedNUL(%s) = %v, want %v", tc.body, got, tc.want)
		}
		if tc.want {
			if got := nulPath([]byte(tc.body)); got != tc.path {
				t.Errorf("nulPath(%s) = %q, want %q", tc.body, got, tc.path)
			}
		}
	}
}

// FuzzHasEscapedNUL holds the byte scan to what decoding says: a valid
// JSON text holds U+0000 in a key or string exactly when the scan finds it.
func FuzzHasEscapedNUL(f *testing.F) {
	for _, s := range []string{`{"a":"\u0000"}`, `"\\u0000"`, `["\\\u0000"]`, `{"\u0000":1}`, `"x"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v any
		if json.Unmarshal(b, &v) != nil {
			return
		}
		if got, want := hasEscapedNUL(b), containsNUL(v); got != want {
			t.Fatalf("hasEscapedNUL(%q) = %v, decoding says %v", b, got, want)
		}
	})
}

func containsNUL(v any) bool {
	switch t := v.(type) {
	case string:
		return strings.IndexByte(t, 0) >= 0
	case map[string]any:
		for k, e := range t {
			if strings.IndexByte(k, 0) >= 0 || containsNUL(e) {
				return true
			}
		}
	case []any:
		for _, e := range t {
			if containsNUL(e) {
				return true
			}
		}
	}
	return false
}
