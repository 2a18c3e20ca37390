package crossbar

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

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
	if hasEscapedNUL(body) {
		return nil, nulViolation(nulPath(body))
	}
	return body, nil
}

// NUL characters are refused wherever a client's string enters audian:
// PostgreSQL cannot store U+0000 in text (the write fails with a 500),
// SQLite stores it and C-string consumers truncate at it, so the two
// backends would disagree. readBody checks every request body and
// checkRequestLine every path and query, so that no handler, filter or
// store sees one.

// hasEscapedNUL reports whether a JSON text holds a string with U+0000. In
// valid JSON that character can only be written as the escape \u0000;
// an escaped backslash followed by "u0000" is skipped over, and raw
// control characters are invalid JSON that the parser refuses anyway.
func hasEscapedNUL(b []byte) bool {
	for i := bytes.IndexByte(b, '\\'); i >= 0 && i+1 < len(b); {
		if b[i+1] == 'u' && i+6 <= len(b) && string(b[i+2:i+6]) == "0000" {
			return true
		}
		// Skip the escaped character, which may itself be a backslash.
		next := bytes.IndexByte(b[i+2:], '\\')
		if next < 0 {
			return false
		}
		i += 2 + next
	}
	return false
}

// nulPath names the first field of a JSON body whose key or string value
// holds U+0000, as a dotted path below data ("" when none can be named).
func nulPath(body []byte) string {
	var env struct {
		Data any `json:"data"`
	}
	if json.Unmarshal(body, &env) != nil {
		return ""
	}
	var find func(v any, path string) (string, bool)
	find = func(v any, path string) (string, bool) {
		join := func(k string) string {
			if path == "" {
				return k
			}
			return path + "." + k
		}
		switch t := v.(type) {
		case string:
			return path, strings.IndexByte(t, 0) >= 0
		case map[string]any:
			for k, e := range t {
				if strings.IndexByte(k, 0) >= 0 {
					return join(strings.ReplaceAll(k, "\x00", "")), true
				}
				if p, ok := find(e, join(k)); ok {
					return p, true
				}
			}
		case []any:
			for i, e := range t {
				if p, ok := find(e, join(strconv.Itoa(i))); ok {
					return p, true
				}
			}
		}
		return "", false
	}
	p, _ := find(env.Data, "")
	return p
}

// nulViolation is the 400 for a NUL character in field.
func nulViolation(field string) error {
	if field == "" {
		field = "data"
	}
	return identity.Invalid(field, "characters", "Value must not contain the NUL character (U+0000)")
}

// checkRequestLine refuses a path or query that holds U+0000. In a query
// the character can only arrive as %00 (net/http refuses raw control
// bytes in the request line); the path is checked decoded.
func checkRequestLine(r *http.Request) error {
	if strings.IndexByte(r.URL.Path, 0) >= 0 {
		return nulViolation("path")
	}
	if !strings.Contains(r.URL.RawQuery, "%00") {
		return nil
	}
	q, _ := url.ParseQuery(r.URL.RawQuery)
	for k, vs := range q {
		for _, v := range vs {
			if strings.IndexByte(k, 0) >= 0 || strings.IndexByte(v, 0) >= 0 {
				return nulViolation(strings.ReplaceAll(k, "\x00", ""))
			}
		}
	}
	return nil
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
