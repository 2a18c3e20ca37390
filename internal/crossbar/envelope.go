package crossbar

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"
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
	// list replies
	list     bool
	pageSize int
	startKey string
	nextKey  string
	etag     bool
}

// envelope is the Crossbar response envelope (spec §3). Field order is
// fixed by the struct, which keeps golden files stable.
type envelope struct {
	AuthToken    string      `json:"auth_token,omitempty"`
	Data         any         `json:"data,omitempty"`
	Error        string      `json:"error,omitempty"`
	Message      string      `json:"message,omitempty"`
	Metadata     *struct{}   `json:"metadata,omitempty"`
	NextStartKey string      `json:"next_start_key,omitempty"`
	Node         string      `json:"node"`
	PageSize     *int        `json:"page_size,omitempty"`
	RequestID    string      `json:"request_id"`
	Revision     string      `json:"revision,omitempty"`
	StartKey     string      `json:"start_key,omitempty"`
	Status       string      `json:"status"`
	Timestamp    string      `json:"timestamp"`
	Tokens       *tokensInfo `json:"tokens,omitempty"`
	Version      string      `json:"version,omitempty"`
}

type tokensInfo struct {
	Consumed  int `json:"consumed"`
	Remaining int `json:"remaining"`
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// writeJSON writes v with the exact Content-Type every Crossbar client
// expects: "application/json" and nothing more (Monster UI ignores error
// bodies otherwise).
func writeJSON(w http.ResponseWriter, code int, v any) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		buf.Reset()
		buf.WriteString(`{"status":"error","error":"500","message":"internal error"}` + "\n")
		code = http.StatusInternalServerError
	}
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(buf.Len())}
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

func timestamp(now time.Time) string { return now.UTC().Format("2006-01-02T15:04:05Z") }
