package crossbar

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/audian/audian"
)

// reply is what a handler returns on success; respond wraps it in the
// Crossbar envelope.
type reply struct {
	status   int // 0 means 200
	data     any
	revision string
	location string
	// authToken replaces the presented token in the envelope (auth endpoints
	// return the token they just issued).
	authToken string
	// secret marks a reply whose data holds a secret (an API key shown
	// once, the account key read back): like every reply that carries a
	// token, it must not be stored by any cache.
	secret bool
	// list replies
	list     bool
	pageSize int
	startKey string
	nextKey  string
	etag     string // the ETag header, quoted; "" for none
	// raw is a JSON document written as is, without the envelope
	// (openapi.go).
	raw []byte
	// file, when set, is the whole reply: a file, not an envelope
	// (files.go).
	file *fileReply
}

// envelope is the Crossbar response envelope (spec §3), defined once in
// the root package audian so that the server and the Go SDK cannot
// disagree about it; the goldens in testdata/wire pin both.
type envelope = audian.Envelope

type tokensInfo = audian.TokenBucket

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// writeJSON writes an envelope with the exact Content-Type every Crossbar
// client expects: "application/json" and nothing more (Monster UI ignores
// error bodies otherwise).
func writeJSON(w http.ResponseWriter, code int, env *envelope) {
	bp := bufPool.Get().(*[]byte)
	body, err := appendEnvelope((*bp)[:0], env)
	if err != nil {
		body = append(body[:0], `{"status":"error","error":"500","message":"internal error"}`...)
		code = http.StatusInternalServerError
	}
	body = append(body, '\n')
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(code)
	_, _ = w.Write(body)
	if cap(body) <= 64<<10 {
		*bp = body
		bufPool.Put(bp)
	}
}

// appendEnvelope encodes env as encoding/json would (same keys, same
// order), without reflection: the envelope is written on every request,
// and pre-rendered data (rawJSON) is copied as is.
func appendEnvelope(b []byte, e *envelope) ([]byte, error) {
	b = append(b, '{')
	first := true
	key := func(k string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, '"', ':')
	}
	str := func(k, v string, omitEmpty bool) {
		if omitEmpty && v == "" {
			return
		}
		key(k)
		b = appendString(b, v)
	}
	// The token is a verified or freshly issued JWT (base64url and dots)
	// and the request id passed validRequestID: neither needs escaping,
	// and the token is the longest string of every reply.
	if e.AuthToken != "" {
		key("auth_token")
		b = appendTrusted(b, e.AuthToken)
	}
	if e.Data != nil {
		key("data")
		switch d := e.Data.(type) {
		case rawJSON:
			b = append(b, d...)
		default:
			raw, err := json.Marshal(d)
			if err != nil {
				return b, err
			}
			b = append(b, raw...)
		}
	}
	str("error", e.Error, true)
	str("message", e.Message, true)
	if e.Metadata != nil {
		key("metadata")
		b = append(b, '{', '}')
	}
	str("next_start_key", e.NextStartKey, true)
	str("node", e.Node, false)
	if e.PageSize != nil {
		key("page_size")
		b = strconv.AppendInt(b, int64(*e.PageSize), 10)
	}
	key("request_id")
	b = appendTrusted(b, e.RequestID)
	str("revision", e.Revision, true)
	str("start_key", e.StartKey, true)
	str("status", e.Status, false)
	str("timestamp", e.Timestamp, false)
	if e.Tokens != nil {
		key("tokens")
		b = append(b, `{"consumed":`...)
		b = strconv.AppendInt(b, int64(e.Tokens.Consumed), 10)
		b = append(b, `,"remaining":`...)
		b = strconv.AppendInt(b, int64(e.Tokens.Remaining), 10)
		b = append(b, '}')
	}
	str("version", e.Version, true)
	return append(b, '}'), nil
}

// appendString appends s as a JSON string. Envelope strings are ids,
// tokens and timestamps, so the fast path is plain ASCII; anything else
// goes through encoding/json for exact escaping.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !plain[s[i]] {
			raw, _ := json.Marshal(s)
			return append(b, raw...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendTrusted quotes s without looking for characters to escape: for
// strings audian built or validated to contain none.
func appendTrusted(b []byte, s string) []byte {
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// plain marks the bytes encoding/json writes unescaped.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// timestamp formats now as Kazoo does, to the second. Every reply carries
// one, so the string of the current second is kept and reused.
func timestamp(now time.Time) string {
	sec := now.Unix()
	if t := lastStamp.Load(); t != nil && t.sec == sec {
		return t.text
	}
	t := &stamp{sec: sec, text: now.UTC().Format("2006-01-02T15:04:05Z")}
	lastStamp.Store(t)
	return t.text
}

type stamp struct {
	sec  int64
	text string
}

var lastStamp atomic.Pointer[stamp]
