package identity

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Code classifies an Error. Each code maps to exactly one HTTP status in the
// crossbar package; nothing else chooses a status.
type Code string

// Error codes.
const (
	EInvalid          Code = "invalid"            // 400 validation error
	EUnauthorized     Code = "unauthorized"       // 401
	EForbidden        Code = "forbidden"          // 403
	ENotFound         Code = "not_found"          // 404
	EMethodNotAllowed Code = "method_not_allowed" // 405
	EConflict         Code = "conflict"           // 409: stale revision, or a state that forbids the change
	ETooLarge         Code = "too_large"          // 413
	EUnsupportedMedia Code = "unsupported_media"  // 415
	ETooManyRequests  Code = "too_many_requests"  // 429
	EInternal         Code = "internal"           // 500
	EUnavailable      Code = "unavailable"        // 503
)

// HTTPStatus is the HTTP status of an error of code c: the one mapping
// every face (the /v2 API, the web pages) answers by. A code it does not
// know is a 500.
func (c Code) HTTPStatus() int {
	if s, ok := httpStatus[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

var httpStatus = map[Code]int{
	EInvalid:          http.StatusBadRequest,
	EUnauthorized:     http.StatusUnauthorized,
	EForbidden:        http.StatusForbidden,
	ENotFound:         http.StatusNotFound,
	EMethodNotAllowed: http.StatusMethodNotAllowed,
	EConflict:         http.StatusConflict,
	ETooLarge:         http.StatusRequestEntityTooLarge,
	EUnsupportedMedia: http.StatusUnsupportedMediaType,
	ETooManyRequests:  http.StatusTooManyRequests,
	EInternal:         http.StatusInternalServerError,
	EUnavailable:      http.StatusServiceUnavailable,
}

// Error is audian's error value. Message and Fields are public: they may be
// shown to the client. Err is the private cause, kept for logs only.
type Error struct {
	Code    Code
	Message string     // public detail, e.g. "token expired"; never a secret
	Fields  Violations // per-field validation failures (EInvalid)
	Err     error      // private cause; never shown to a client
	// RetryAfter, when positive, is how long the client should wait
	// before trying again (ETooManyRequests, EUnavailable); crossbar
	// sends it as Retry-After.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	msg := string(e.Code)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a public message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the Code of the first *Error in err's chain, EInternal
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the public message of err, or "" when it has none.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return ""
}

// ErrorRetryAfter returns the RetryAfter of the first *Error in err's
// chain, or 0.
func ErrorRetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// Sentinel errors the Store contract names. Compare with errors.Is or
// ErrorCode; backends wrap driver errors into these.
var (
	ErrNotFound      = &Error{Code: ENotFound, Message: "not found"}
	ErrConflict      = &Error{Code: EConflict, Message: "conflicting revision"}
	ErrHasChildren   = &Error{Code: EConflict, Message: "account has descendants"}
	ErrBootstrapped  = &Error{Code: EConflict, Message: "database is already bootstrapped"}
	ErrUnauthorized  = &Error{Code: EUnauthorized, Message: "invalid credentials"}
	ErrMissingCreds  = &Error{Code: EUnauthorized, Message: "missing credentials"}
	ErrTokenExpired  = &Error{Code: EUnauthorized, Message: "token expired"}
	ErrTokenRevoked  = &Error{Code: EUnauthorized, Message: "token revoked"}
	ErrInvalidToken  = &Error{Code: EUnauthorized, Message: "invalid token"}
	ErrForbidden     = &Error{Code: EForbidden, Message: "forbidden"}
	ErrOutsideReach  = &Error{Code: EForbidden, Message: "account outside the caller's reach"}
	ErrRoleForbidden = &Error{Code: EForbidden, Message: "the caller's role does not allow this"}
)

// Violation is one failed rule on one field, rendered by crossbar as
// data.<field>.<rule> = {"message": ..., "cause": ..., "target": ...}.
type Violation struct {
	Message string `json:"message"`
	Cause   any    `json:"cause,omitempty"`
	Target  any    `json:"target,omitempty"`
}

// Violations maps a dotted field path to rule name to Violation.
type Violations map[string]map[string]Violation

// Add records a violation of rule on field.
func (v Violations) Add(field, rule string, violation Violation) {
	if v[field] == nil {
		v[field] = map[string]Violation{}
	}
	v[field][rule] = violation
}

// Err returns an EInvalid *Error holding v, or nil when v is empty.
func (v Violations) Err() error {
	if len(v) == 0 {
		return nil
	}
	return &Error{Code: EInvalid, Message: "validation error", Fields: v}
}

// Invalid is a shorthand for a single-field validation error.
func Invalid(field, rule, message string) error {
	v := Violations{}
	v.Add(field, rule, Violation{Message: message})
	return v.Err()
}
