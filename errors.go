package audian

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Sentinel errors for errors.Is. An *Error matches the one of its status.
var (
	ErrUnauthorized = errors.New("audian: unauthorized")      // 401
	ErrForbidden    = errors.New("audian: forbidden")         // 403
	ErrNotFound     = errors.New("audian: not found")         // 404
	ErrConflict     = errors.New("audian: conflict")          // 409
	ErrRateLimited  = errors.New("audian: too many requests") // 429; see Error.RetryAfter
	ErrInvalid      = errors.New("audian: validation error")  // 400
)

// Error is a failure reply of the server.
type Error struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Message is the envelope's short reason ("unauthorized", "validation
	// error", ...).
	Message string
	// Data is the envelope's details: data.message and data.cause in
	// general, data.<field>.<rule>.message for a validation error.
	Data map[string]any
	// RequestID is the server's id of the request, for its logs.
	RequestID string
	// RetryAfter is how long the server asks to wait (429 and 503).
	RetryAfter time.Duration
}

// Error reads like "audian: 403 forbidden: account outside the caller's
// reach", with every field violation of a validation error.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "audian: %d", e.StatusCode)
	msg := e.Message
	if msg == "" {
		msg = strings.ToLower(http.StatusText(e.StatusCode))
	}
	if msg != "" {
		b.WriteString(" " + msg)
	}
	if d := e.Detail(); d != "" && d != msg {
		b.WriteString(": " + d)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// Detail is the human part of Data: data.cause or data.message, else
// the messages of a validation error as "field: message" pairs.
func (e *Error) Detail() string {
	if s, ok := e.Data["cause"].(string); ok && s != "" {
		return s
	}
	if s, ok := e.Data["message"].(string); ok && s != "" {
		return s
	}
	var parts []string
	for field, rules := range e.Data {
		rm, ok := rules.(map[string]any)
		if !ok {
			continue
		}
		for rule, v := range rm {
			msg := rule
			if vm, ok := v.(map[string]any); ok {
				if s, ok := vm["message"].(string); ok {
					msg = s
				}
			}
			parts = append(parts, field+": "+msg)
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

// Is matches the sentinel of e's status.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrConflict:
		return e.StatusCode == http.StatusConflict
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrInvalid:
		return e.StatusCode == http.StatusBadRequest
	}
	return false
}
