package server

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
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
	b = start.AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
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
