package identity

import (
	"strings"
	"unicode"

	"golang.org/x/text/secure/precis"
	"golang.org/x/text/unicode/norm"
)

// Names are compared the way people read them, not byte for byte. An
// account name is what a person types at a login prompt, so it is folded
// with PRECIS's Nickname profile (RFC 8266: width, case and NFKC
// compatibility folding), then reduced to its letters, digits and marks,
// as Kazoo drops spaces and punctuation. A handful of letters of other
// scripts that look exactly like Latin ones are mapped to them, so that
// "Аcme" (Cyrillic А) folds to the same key as "Acme": the key is unique
// among accounts, so a look-alike of an existing name is refused as taken
// instead of becoming a second account a person cannot tell apart at a
// login prompt.
//
// golang.org/x/text is the one import of this package outside the
// standard library: it is the Go project's own, does no I/O, and PRECIS is
// a standard that should not be written again here.

// NormalizeName returns the comparison key of an account name: "" when the
// name has no letter or digit, and then it matches no account. ASCII names
// keep the key they always had (lower-case letters and digits), so stored
// keys of such names never change.
func NormalizeName(name string) string {
	// Control characters mean nothing at a login prompt, and Nickname
	// refuses a name that holds one: drop them first.
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, name)
	folded, err := precis.Nickname.CompareKey(name)
	if err != nil {
		// Nickname refuses an empty name and a few unassigned code points;
		// what is left of such a name still gets a key.
		folded = strings.ToLower(norm.NFKC.String(name))
	}
	var b strings.Builder
	for _, r := range folded {
		if r < 0x80 {
			if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
				b.WriteRune(r)
			}
			continue
		}
		if l, ok := latinLookalikes[r]; ok {
			b.WriteRune(l)
			continue
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) {
			b.WriteRune(r)
		}
	}
	// Dropping spaces and punctuation can leave a mark next to a letter
	// it now combines with: compose again, so that a key is its own key.
	return norm.NFC.String(b.String())
}

// latinLookalikes maps lower-case Cyrillic and Greek letters that render
// like a Latin letter to that letter (a subset of Unicode's confusables,
// UTS #39, for the scripts most used to imitate Latin names). Width
// variants need no entry: NFKC has already folded them.
var latinLookalikes = map[rune]rune{
	// Cyrillic
	'а': 'a', 'в': 'b', 'е': 'e', 'ѐ': 'e', 'ё': 'e', 'һ': 'h', 'і': 'i', 'ї': 'i', 'ј': 'j',
	'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p', 'с': 'c', 'т': 't', 'у': 'y', 'х': 'x',
	'ѕ': 's', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w', 'ӏ': 'l',
	// Greek
	'α': 'a', 'β': 'b', 'ε': 'e', 'η': 'n', 'ι': 'i', 'κ': 'k', 'ν': 'v', 'ο': 'o', 'ρ': 'p',
	'τ': 't', 'υ': 'u', 'χ': 'x', 'ϲ': 'c', 'ϳ': 'j',
}

// NormalizeUsername returns the stored form of a username: PRECIS's
// UsernameCaseMapped profile (RFC 8265: width folding, lower case, NFC), so
// that "ＡＬＩＣＥ" and "alice" are one user and "日本" is a username. A value
// the profile refuses is only trimmed and lower-cased; Validate refuses it.
func NormalizeUsername(s string) string {
	s = strings.TrimSpace(s)
	if n, err := precis.UsernameCaseMapped.String(s); err == nil {
		return n
	}
	return strings.ToLower(s)
}

// validUsername reports whether s is a username: the characters Kazoo's
// users.json allows (^[+@.\w-]+$), \w taken in its Unicode sense, and a
// value PRECIS's UsernameCaseMapped profile accepts.
func validUsername(s string) bool {
	for _, r := range s {
		switch {
		case r == '+' || r == '@' || r == '.' || r == '-' || r == '_':
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
		default:
			return false
		}
	}
	_, err := precis.UsernameCaseMapped.String(s)
	return s != "" && err == nil
}
