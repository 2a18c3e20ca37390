package crossbar

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/audian/audian/internal/identity"
)

func TestParseUserAuth(t *testing.T) {
	tests := []struct {
		name string
		body string
		want userAuthRequest
		// errs lists the data.<field>.<rule> the request must fail with;
		// nil means it must parse.
		errs []string
	}{
		{
			name: "md5 by default",
			body: `{"data":{"credentials":"ABCdef0123","account_name":"Acme"},"verb":"PUT"}`,
			want: userAuthRequest{method: "md5", secret: "abcdef0123", where: accountHint{name: "Acme"}},
		},
		{
			name: "sha by realm alias",
			body: `{"data":{"credentials":"ab","method":"sha","realm":"a.example.com"}}`,
			want: userAuthRequest{method: "sha", secret: "ab", where: accountHint{realm: "a.example.com"}},
		},
		{
			name: "account_realm wins over realm",
			body: `{"data":{"credentials":"ab","account_realm":"a.example.com","realm":"bad realm"}}`,
			want: userAuthRequest{method: "md5", secret: "ab", where: accountHint{realm: "a.example.com"}},
		},
		{
			name: "plain password",
			body: `{"data":{"username":"Bob","password":"p4ss word","phone_number":"+1555"}}`,
			want: userAuthRequest{method: "password", secret: "p4ss word", username: "Bob", where: accountHint{phone: "+1555"}},
		},
		{
			name: "credentials win over a password",
			body: `{"data":{"credentials":"ab","username":"bob","password":"x","account_name":"A"}}`,
			want: userAuthRequest{method: "md5", secret: "ab", where: accountHint{name: "A"}},
		},
		{name: "nothing", body: `{}`, errs: []string{"credentials.required"}},
		{name: "null credentials", body: `{"data":{"credentials":null}}`, errs: []string{"credentials.required"}},
		{name: "username only", body: `{"data":{"username":"bob"}}`, errs: []string{"credentials.required"}},
		{name: "credentials type", body: `{"data":{"credentials":["ab"]}}`, errs: []string{"credentials.type"}},
		{name: "credentials not hex", body: `{"data":{"credentials":"xyz"}}`, errs: []string{"credentials.pattern"}},
		{name: "credentials too long", body: `{"data":{"credentials":"` + strings.Repeat("a", 65) + `"}}`, errs: []string{"credentials.maxLength"}},
		{name: "method sha1", body: `{"data":{"credentials":"ab","method":"sha1"}}`, errs: []string{"method.enum"}},
		{name: "method number", body: `{"data":{"credentials":"ab","method":5}}`, errs: []string{"method.enum"}},
		{name: "short realm", body: `{"data":{"credentials":"ab","account_realm":"a.b"}}`, errs: []string{"account_realm.minLength"}},
		{name: "realm pattern", body: `{"data":{"credentials":"ab","realm":"a b.com"}}`, errs: []string{"realm.pattern"}},
		{name: "empty password", body: `{"data":{"username":"bob","password":""}}`, errs: []string{"password.minLength"}},
		{name: "several at once", body: `{"data":{"method":"md4","account_name":""}}`, errs: []string{"credentials.required", "method.enum", "account_name.minLength"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := parseEnvelope([]byte(tt.body))
			if err != nil {
				t.Fatalf("parseEnvelope: %v", err)
			}
			got, err := parseUserAuth(data)
			if tt.errs == nil {
				if err != nil {
					t.Fatalf("parseUserAuth: %v", err)
				}
				if got != tt.want {
					t.Errorf("parseUserAuth = %+v, want %+v", got, tt.want)
				}
				return
			}
			var e *identity.Error
			if !errors.As(err, &e) || e.Code != identity.EInvalid {
				t.Fatalf("err = %v, want a validation error", err)
			}
			n := 0
			for _, rules := range e.Fields {
				n += len(rules)
			}
			for _, fr := range tt.errs {
				field, rule, _ := strings.Cut(fr, ".")
				if _, ok := e.Fields[field][rule]; !ok {
					t.Errorf("missing data.%s; got %v", fr, e.Fields)
				}
			}
			if n != len(tt.errs) {
				t.Errorf("%d violations %v, want %v", n, e.Fields, tt.errs)
			}
		})
	}
}

var lowerHex = regexp.MustCompile(`^[0-9a-f]{1,64}$`)

// FuzzParseUserAuth feeds arbitrary bodies through the user_auth parser:
// it must never panic, must fail only with validation errors, and must
// hand checkLogin only well-formed requests.
func FuzzParseUserAuth(f *testing.F) {
	for _, seed := range []string{
		`{"data":{"credentials":"5f4dcc3b5aa765d61d8327deb882cf99","account_name":"Acme"}}`,
		`{"data":{"credentials":"AB","method":"sha","account_realm":"a.example.com"}}`,
		`{"data":{"username":"bob","password":"secret","realm":"x.example.com"}}`,
		`{"data":{"credentials":null,"method":null,"phone_number":"+1"}}`,
		`{"data":{"credentials":"ab","method":"sha1"},"verb":"PUT"}`,
		`{"data":[]}`, `{"data":"x"}`, `null`, `[]`, `{"data":{"credentials":"\u00e9"}}`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		data, err := parseEnvelope(body)
		if err != nil {
			if identity.ErrorCode(err) != identity.EInvalid {
				t.Fatalf("parseEnvelope: non-validation error %v", err)
			}
			return
		}
		req, err := parseUserAuth(data)
		if err != nil {
			var e *identity.Error
			if !errors.As(err, &e) || e.Code != identity.EInvalid || len(e.Fields) == 0 {
				t.Fatalf("parseUserAuth: %v, want a validation error with fields", err)
			}
			return
		}
		switch req.method {
		case methodMD5, methodSHA:
			if !lowerHex.MatchString(req.secret) {
				t.Fatalf("digest %q is not 1..64 lower-case hex", req.secret)
			}
			if req.username != "" {
				t.Fatalf("digest request with a username %q", req.username)
			}
		case methodPassword:
			if req.secret == "" || req.username == "" {
				t.Fatalf("password request without username or password: %+v", req)
			}
		default:
			t.Fatalf("method %q", req.method)
		}
		if req.where.realm != "" && !loginRealmRE.MatchString(req.where.realm) {
			t.Fatalf("realm %q passed validation", req.where.realm)
		}
	})
}

// FuzzParseRecovery does the same for PUT /v2/user_auth/recovery: a
// request that parses always names a user and some account.
func FuzzParseRecovery(f *testing.F) {
	for _, seed := range []string{
		`{"data":{"username":"bob","account_name":"Acme","ui_url":"https://ui.example.com/"}}`,
		`{"data":{"username":"bob","account_realm":"a.example.com"}}`,
		`{"data":{"username":"","phone_number":""}}`,
		`{"data":{"username":7,"realm":"a b"}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		data, err := parseEnvelope(body)
		if err != nil {
			return
		}
		req, err := parseRecovery(data)
		if err != nil {
			if identity.ErrorCode(err) != identity.EInvalid {
				t.Fatalf("parseRecovery: %v, want a validation error", err)
			}
			return
		}
		if req.username == "" || req.where == (accountHint{}) {
			t.Fatalf("parsed request without a username or an account: %+v", req)
		}
	})
}
