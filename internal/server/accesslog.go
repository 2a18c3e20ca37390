package server

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/audian/audian/internal/crossbar"
)

var lineBuf = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// accessLog writes the request's log line: the same JSON object slog's
// JSONHandler would write for
//
//	log.Info("request", "method", ..., "path", ..., "status", ..., "duration_ms", ...,
//	        "request_id", ..., "account_id", ..., "client_ip", ...)
//
// formatted by hand, because it is written on every request and the
// generic handler costs several times more. Everything else audian logs
// goes through slog. The line holds no query string and no header, so no
// credential can reach it.
func (s *Server) accessLog(start time.Time, r *http.Request, status int, elapsed time.Duration, info *crossbar.RequestInfo) {
	if s.logOut == nil {
		return
	}
	bp := lineBuf.Get().(*[]byte)
	b := (*bp)[:0]
	b = append(b, `{"time":"`...)
	b = appendLogTime(b, start)
	b = append(b, `","level":"INFO","msg":"request","method":`...)
	b = appendJSONString(b, r.Method)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, r.URL.Path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"duration_ms":`...)
	b = strconv.AppendFloat(b, float64(elapsed.Microseconds())/1000, 'f', -1, 64)
	b = append(b, `,"request_id":`...)
	b = appendJSONString(b, info.ID)
	b = append(b, `,"account_id":`...)
	b = appendJSONString(b, info.AccountID)
	b = append(b, `,"client_ip":`...)
	b = appendJSONString(b, info.ClientIP)
	b = append(b, '}', '\n')
	_, _ = s.logOut.Write(b)
	*bp = b
	lineBuf.Put(bp)
}

// appendJSONString quotes s; plain ASCII takes the fast path.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			raw, _ := json.Marshal(s)
			return append(b, raw...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendLogTime appends t as slog does (RFC 3339 with milliseconds). The
// part up to the second is formatted once per second and reused.
func appendLogTime(b []byte, t time.Time) []byte {
	sec := t.Unix()
	p := logSecond.Load()
	if p == nil || p.sec != sec {
		p = &secondPrefix{sec: sec, text: t.Format("2006-01-02T15:04:05"), zone: t.Format("Z07:00")}
		logSecond.Store(p)
	}
	b = append(b, p.text...)
	ms := t.Nanosecond() / 1e6
	b = append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	return append(b, p.zone...)
}

type secondPrefix struct {
	sec        int64
	text, zone string
}

var logSecond atomic.Pointer[secondPrefix]
