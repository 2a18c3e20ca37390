package crossbar

import (
	"errors"
	"net/http"

	"github.com/audian/audian/internal/identity"
)

// status is the one table from error codes to HTTP. Nothing else in
// audian chooses the status of a failure.
var status = map[identity.Code]struct {
	code    int
	message string
}{
	identity.EInvalid:          {http.StatusBadRequest, "validation error"},
	identity.EUnauthorized:     {http.StatusUnauthorized, "unauthorized"},
	identity.EForbidden:        {http.StatusForbidden, "forbidden"},
	identity.ENotFound:         {http.StatusNotFound, "not found"},
	identity.EMethodNotAllowed: {http.StatusMethodNotAllowed, "method not allowed"},
	identity.EConflict:         {http.StatusConflict, "conflict"},
	identity.ETooLarge:         {http.StatusRequestEntityTooLarge, "payload too large"},
	identity.EUnsupportedMedia: {http.StatusUnsupportedMediaType, "unsupported media type"},
	identity.ETooManyRequests:  {http.StatusTooManyRequests, "too many requests"},
	identity.EInternal:         {http.StatusInternalServerError, "internal error"},
	identity.EUnavailable:      {http.StatusServiceUnavailable, "unavailable"},
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
