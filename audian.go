// Package audian is the Go client of audian's /v2 API (Kazoo Crossbar v2
// compatible), and the home of the types that API speaks on the wire: the
// server encodes its replies with the same Envelope, and the golden files
// in testdata/wire pin both sides.
//
// A Client authenticates lazily: the first call exchanges an API key, or
// an account name, username and password, for a token; the client renews
// the token before it expires and, when the server refuses it anyway
// (revoked, or the clocks disagree), authenticates again once and retries
// the call. Every call takes a context.Context. Failures are *Error values
// that errors.Is matches against ErrUnauthorized, ErrForbidden,
// ErrNotFound and ErrRateLimited. Lists are iterators that fetch the next
// page when the loop reaches it:
//
//	c, err := audian.NewClient("https://auth.example.com:8443", audian.WithAPIKey(key))
//	if err != nil {
//		return err
//	}
//	for u, err := range c.Users.List(ctx, "", nil) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(u.Username)
//	}
//
// An empty account id means the account the client logged in to.
//
// The package imports nothing but the standard library.
package audian

// Envelope is the Crossbar reply envelope around every /v2 response
// (success and error alike). Field order is the wire order.
//
// Data holds the reply's payload. When decoding, set Data to a pointer
// to the value the payload should be decoded into; left nil, it receives
// the generic JSON value.
type Envelope struct {
	AuthToken    string       `json:"auth_token,omitempty"`
	Data         any          `json:"data,omitempty"`
	Error        string       `json:"error,omitempty"`
	Message      string       `json:"message,omitempty"`
	Metadata     *struct{}    `json:"metadata,omitempty"`
	NextStartKey string       `json:"next_start_key,omitempty"`
	Node         string       `json:"node"`
	PageSize     *int         `json:"page_size,omitempty"`
	RequestID    string       `json:"request_id"`
	Revision     string       `json:"revision,omitempty"`
	StartKey     string       `json:"start_key,omitempty"`
	Status       string       `json:"status"`
	Timestamp    string       `json:"timestamp"`
	Tokens       *TokenBucket `json:"tokens,omitempty"`
	Version      string       `json:"version,omitempty"`
}

// TokenBucket reports the caller's rate-limit bucket after a request.
type TokenBucket struct {
	Consumed  int `json:"consumed"`
	Remaining int `json:"remaining"`
}

// Request is the Crossbar request envelope: {"data": ...}.
type Request struct {
	Data any `json:"data"`
}

// GregorianOffset converts Unix seconds to the Gregorian seconds Crossbar
// uses for "created" fields: gregorian = unix + GregorianOffset.
const GregorianOffset = 62167219200

// Bool returns a pointer to b, for the optional booleans of documents.
func Bool(b bool) *bool { return &b }

// String returns a pointer to s, for optional strings.
func String(s string) *string { return &s }
