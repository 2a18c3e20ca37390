package credential

import (
	_ "embed"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Lengths of a password a person chooses, in characters (NIST SP 800-63B
// §5.1.1.2: at least 8, and at least 64 accepted). The upper bound keeps
// a client from making every login hash a megabyte.
const (
	MinPasswordLength = 8
	MaxPasswordLength = 256
)

// The rules CheckNewPassword reports, named as the API's validation rules.
const (
	RuleMinLength = "minLength"
	RuleMaxLength = "maxLength"
	RuleCommon    = "common"
)

// PasswordError says which rule a new password breaks.
type PasswordError struct {
	Rule    string // RuleMinLength, RuleMaxLength or RuleCommon
	Message string
	Target  int // the length limit of a length rule
}

func (e *PasswordError) Error() string { return "password: " + e.Message }

// CheckNewPassword applies the rules every newly chosen password must meet,
// on every path that sets one: between minLength (never below
// MinPasswordLength) and MaxPasswordLength characters, not one of the
// most common passwords, and not one of the words of its context (the
// username, the account name), compared without case. It returns nil when
// pw is acceptable. Passwords set before these rules are not affected:
// the rules apply when a password is chosen, never at login.
func CheckNewPassword(pw string, minLength int, context ...string) *PasswordError {
	minLength = max(minLength, MinPasswordLength)
	switch n := utf8.RuneCountInString(pw); {
	case n < minLength:
		return &PasswordError{Rule: RuleMinLength, Target: minLength,
			Message: "Password must be at least " + strconv.Itoa(minLength) + " characters"}
	case n > MaxPasswordLength:
		return &PasswordError{Rule: RuleMaxLength, Target: MaxPasswordLength,
			Message: "Password must be at most " + strconv.Itoa(MaxPasswordLength) + " characters"}
	}
	folded := strings.ToLower(pw)
	if _, common := commonPasswords()[folded]; common {
		return &PasswordError{Rule: RuleCommon, Message: "Password is too common; choose another"}
	}
	for _, c := range context {
		if c != "" && strings.EqualFold(strings.TrimSpace(c), pw) {
			return &PasswordError{Rule: RuleCommon, Message: "Password must not be the username or account name"}
		}
	}
	return nil
}

// commonPasswordsText is the blocklist NIST SP 800-63B asks verifiers to
// check new passwords against: the 10,000 most common passwords long
// enough to pass the length rule, lower case (see
// scripts/gen-common-passwords.sh).
//
//go:embed common-passwords.txt
var commonPasswordsText string

// commonPasswords is the blocklist as a set, built on first use.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 10_000)
	for _, line := range strings.Split(commonPasswordsText, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			set[line] = struct{}{}
		}
	}
	return set
})
