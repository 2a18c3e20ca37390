package identity

import (
	"errors"
	"strings"
	"testing"
)

func TestReaches(t *testing.T) {
	root := &Account{ID: "r"}
	child := &Account{ID: "c", Tree: []string{"r"}}
	grandchild := &Account{ID: "g", Tree: []string{"r", "c"}}
	sibling := &Account{ID: "s", Tree: []string{"r"}}
	for _, tc := range []struct {
		name   string
		caller Principal
		target *Account
		want   bool
	}{
		{"own account", Principal{AccountID: "c"}, child, true},
		{"child", Principal{AccountID: "r"}, child, true},
		{"grandchild", Principal{AccountID: "r"}, grandchild, true},
		{"parent", Principal{AccountID: "c"}, root, false},
		{"sibling", Principal{AccountID: "c"}, sibling, false},
		{"system reaches all", Principal{AccountID: "s", System: true}, grandchild, true},
	} {
		if got := tc.caller.Reaches(tc.target); got != tc.want {
			t.Errorf("%s: Reaches = %t, want %t", tc.name, got, tc.want)
		}
	}
}

func TestCan(t *testing.T) {
	admin := Principal{Role: RoleAdmin}
	user := Principal{Role: RoleUser}
	readOnlyKey := Principal{Role: RoleAdmin, Scopes: []string{"users:read"}}
	writer := Principal{Role: RoleAdmin, Scopes: []string{"users:write"}}
	for _, tc := range []struct {
		name string
		p    Principal
		perm Permission
		self bool
		want bool
	}{
		{"admin writes users", admin, UsersWrite, false, true},
		{"user reads account", user, AccountsRead, false, true},
		{"user cannot write account", user, AccountsWrite, false, false},
		{"user reads itself", user, UsersRead, true, true},
		{"user cannot read others", user, UsersRead, false, false},
		{"user updates itself", user, UsersWrite, true, true},
		{"user cannot touch keys", user, KeysWrite, false, false},
		{"scoped key reads users", readOnlyKey, UsersRead, false, true},
		{"scoped key cannot write users", readOnlyKey, UsersWrite, false, false},
		{"scoped key cannot read accounts", readOnlyKey, AccountsRead, false, false},
		{"write scope implies read", writer, UsersRead, false, true},
	} {
		if got := tc.p.Can(tc.perm, tc.self); got != tc.want {
			t.Errorf("%s: Can(%s) = %t, want %t", tc.name, tc.perm, got, tc.want)
		}
	}
}

func TestValidation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		fields []string
	}{
		{"account ok", (&Account{Name: "Acme", Realm: "acme.example"}).Validate(), nil},
		{"account no name", (&Account{}).Validate(), []string{"name"}},
		{"account bad realm", (&Account{Name: "x", Realm: "a b c d"}).Validate(), []string{"realm"}},
		{"account long name", (&Account{Name: strings.Repeat("n", 129)}).Validate(), []string{"name"}},
		{"user ok", (&User{FirstName: "a", LastName: "b", PrivLevel: RoleUser, Email: "a@b.example"}).Validate(), nil},
		{"user missing names", (&User{PrivLevel: RoleUser}).Validate(), []string{"first_name", "last_name"}},
		{"user bad email", (&User{FirstName: "a", LastName: "b", PrivLevel: RoleUser, Email: "nope"}).Validate(), []string{"email"}},
		{"user bad role", (&User{FirstName: "a", LastName: "b", PrivLevel: "root"}).Validate(), []string{"priv_level"}},
		{"user bad username", (&User{FirstName: "a", LastName: "b", PrivLevel: RoleUser, Username: "a b"}).Validate(), []string{"username"}},
	} {
		var e *Error
		if tc.fields == nil {
			if tc.err != nil {
				t.Errorf("%s: unexpected error %v", tc.name, tc.err)
			}
			continue
		}
		if !errors.As(tc.err, &e) || e.Code != EInvalid {
			t.Errorf("%s: want a validation error, got %v", tc.name, tc.err)
			continue
		}
		for _, f := range tc.fields {
			if _, ok := e.Fields[f]; !ok {
				t.Errorf("%s: no violation on %s: %v", tc.name, f, e.Fields)
			}
		}
		if len(e.Fields) != len(tc.fields) {
			t.Errorf("%s: violations %v, want only %v", tc.name, e.Fields, tc.fields)
		}
	}
}

func TestIDsAndNames(t *testing.T) {
	if id := NewID(); !ValidID(id) {
		t.Errorf("NewID() = %q is not a valid id", id)
	}
	for _, bad := range []string{"", "ABCDEF0123456789abcdef0123456789", strings.Repeat("g", 32), strings.Repeat("a", 31)} {
		if ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
	if got := NormalizeName("Acme, Inc. 2"); got != "acmeinc2" {
		t.Errorf("NormalizeName = %q", got)
	}
	if ErrorCode(nil) != "" || ErrorCode(errors.New("x")) != EInternal || ErrorCode(ErrForbidden) != EForbidden {
		t.Error("ErrorCode mapping is wrong")
	}
}

func TestHTTPStatus(t *testing.T) {
	tests := []struct {
		code Code
		want int
	}{
		{EInvalid, 400}, {EUnauthorized, 401}, {EForbidden, 403}, {ENotFound, 404},
		{EMethodNotAllowed, 405}, {EConflict, 409}, {ETooLarge, 413}, {EUnsupportedMedia, 415},
		{ETooManyRequests, 429}, {EInternal, 500}, {EUnavailable, 503}, {"made_up", 500},
	}
	for _, tt := range tests {
		if got := tt.code.HTTPStatus(); got != tt.want {
			t.Errorf("%s.HTTPStatus() = %d, want %d", tt.code, got, tt.want)
		}
	}
}
