package crossbar

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/audian/audian/internal/identity"
)

// readData reads a request envelope {"data": {...}} and returns its data
// object. Other envelope keys (verb, auth_token, ui_metadata, ...) are
// accepted and ignored, as Kazoo clients send them.
func (a *API) readData(c *call) (map[string]any, error) {
	body, err := a.readBody(c)
	if err != nil {
		return nil, err
	}
	return parseEnvelope(body)
}

// readBody checks the Content-Type and reads the body within the size
// limit, for the handlers that need more of the envelope than its data.
func (a *API) readBody(c *call) ([]byte, error) {
	if ct := c.r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && mt != "application/x-json") {
			return nil, &identity.Error{Code: identity.EUnsupportedMedia, Message: "unsupported media type"}
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, a.cfg.MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, &identity.Error{Code: identity.ETooLarge, Message: "payload too large"}
		}
		return nil, &identity.Error{Code: identity.EInvalid, Message: "unreadable body", Err: err}
	}
	return body, nil
}

// parseEnvelope parses a request body. An empty body is an empty data
// object (Kazoo's PUT api_key and refresh need no body).
func parseEnvelope(body []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return map[string]any{}, nil
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal(body, &env); err != nil {
		v := identity.Violations{}
		v.Add("json", "invalid", identity.Violation{Message: "request body is not a valid JSON object", Target: "body"})
		return nil, v.Err()
	}
	raw, ok := env["data"]
	if !ok || string(raw) == "null" {
		return map[string]any{}, nil
	}
	var data map[string]any
	if err := json.Unmarshal(raw, &data); err != nil {
		return nil, identity.Invalid("data", "type", "Value did not match type(s): object")
	}
	if data == nil {
		data = map[string]any{}
	}
	return data, nil
}

// page reads Crossbar's pagination parameters. start_key is an opaque
// cursor: the base64url of the last id of the previous page.
func page(r *http.Request) (p identity.Page, all bool) {
	q := r.URL.Query()
	if q.Get("paginate") == "false" {
		return identity.Page{Size: identity.MaxPageSize}, true
	}
	if n, err := strconv.Atoi(q.Get("page_size")); err == nil && n > 0 {
		p.Size = n
	}
	if k := q.Get("start_key"); k != "" {
		if b, err := base64.RawURLEncoding.DecodeString(k); err == nil {
			p.After = string(b)
		}
	}
	return p, all
}

func cursor(id string) string {
	if id == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(id))
}

// maxUnpaginated bounds a paginate=false list.
const maxUnpaginated = 10_000

// listAll pages through fetch, for paginate=false, up to maxUnpaginated.
func listAll[T any](fetch func(identity.Page) ([]T, string, error)) ([]T, error) {
	var out []T
	p := identity.Page{Size: identity.MaxPageSize}
	for {
		items, next, err := fetch(p)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if next == "" || len(out) >= maxUnpaginated {
			return out, nil
		}
		p.After = next
	}
}

// listReply pages through fetch as the request asks, with Crossbar's
// filters (listfilter.go) applied to the rendered items, and renders them.
func listReply[T any](c *call, fetch func(identity.Page) ([]T, string, error), render func(T) any) (*reply, error) {
	return listFiltered(c, fetch, render, nil)
}
