package identity

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalizeName(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"ascii, as Kazoo", "Acme Widgets, Inc.", "acmewidgetsinc"},
		{"digits kept", "Shop 42", "shop42"},
		{"CJK is a name", "日本", "日本"},
		{"CJK with spaces and punctuation", " 日本・株式会社 ", "日本株式会社"},
		{"fullwidth folds to ASCII", "ＡＣＭＥ", "acme"},
		{"case folds beyond ASCII", "ÉCOLE", "école"},
		{"decomposed and composed agree", "e\u0301cole", "école"},
		{"Cyrillic look-alike folds to Latin", "Аcme", "acme"},
		{"Greek look-alike folds to Latin", "Αcmε", "acme"},
		{"all Cyrillic look-alikes", "АСМЕ", "acme"},
		{"no letters", "!!! ...", ""},
		{"control characters dropped", "ac\x01me", "acme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NormalizeName(tt.in); got != tt.want {
				t.Errorf("NormalizeName(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestUsernames(t *testing.T) {
	tests := []struct {
		in, stored string
		valid      bool
	}{
		{"Alice@Example.com", "alice@example.com", true},
		{"ＡＬＩＣＥ", "alice", true},
		{"ユーザー", "ユーザー", true},
		{"Ünïcødé", "ünïcødé", true},
		{"bob.smith+tag", "bob.smith+tag", true},
		{"two words", "two words", false},
		{"semi;colon", "semi;colon", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got := NormalizeUsername(tt.in); got != tt.stored {
			t.Errorf("NormalizeUsername(%q) = %q, want %q", tt.in, got, tt.stored)
		}
		if got := validUsername(NormalizeUsername(tt.in)); got != tt.valid {
			t.Errorf("validUsername(%q) = %v, want %v", tt.in, got, tt.valid)
		}
	}
}

// oldNormalizeName is the key every stored ASCII name already has.
func oldNormalizeName(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// FuzzNormalizeName: an ASCII name keeps the key stored for it before
// names were compared in Unicode, and every key is a fixed point, so that a
// key looked up again finds itself.
func FuzzNormalizeName(f *testing.F) {
	for _, s := range []string{"Acme Widgets, Inc.", "日本", "ＡＣＭＥ", "Аcme", "e\u0301cole", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		key := NormalizeName(s)
		if !utf8.ValidString(s) {
			return
		}
		ascii := true
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				ascii = false
			}
		}
		if ascii && key != oldNormalizeName(s) {
			t.Fatalf("ASCII %q: key %q, stored keys are %q", s, key, oldNormalizeName(s))
		}
		if again := NormalizeName(key); again != key {
			t.Fatalf("%q: key %q normalizes again to %q", s, key, again)
		}
	})
}
