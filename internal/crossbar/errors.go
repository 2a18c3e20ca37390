package crossbar

import (
	"errors"

	"github.com/audian/audian/internal/identity"
)

// messages are the Crossbar "message" of each error code; the status
// comes from identity.Code.HTTPStatus, the one mapping every face shares.
var messages = map[identity.Code]string{
	identity.EInvalid:          "validation error",
	identity.EUnauthorized:     "unauthorized",
	identity.EForbidden:        "forbidden",
	identity.ENotFound:         "not found",
	identity.EMethodNotAllowed: "method not allowed",
	identity.EConflict:         "conflict",
	identity.ETooLarge:         "payload too large",
	identity.EUnsupportedMedia: "unsupported media type",
	identity.ETooManyRequests:  "too many requests",
	identity.EInternal:         "internal error",
	identity.EUnavailable:      "unavailable",
}

// errorData returns the public "data" of an error reply. Unexpected errors
// (anything that is not an *identity.Error) say nothing about their cause.
func errorData(err error) any {
	var e *identity.Error
	if !errors.As(err, &e) {
		return map[string]any{}
	}
	if len(e.Fields) > 0 {
		return e.Fields
	}
	switch e.Code {
	case identity.EForbidden:
		return map[string]string{"message": "forbidden", "cause": e.Message}
	case identity.EInternal, identity.EUnavailable:
		return map[string]any{}
	}
	if e.Message == "" {
		return map[string]any{}
	}
	return map[string]string{"message": e.Message}
}
