// Package server is audian's HTTP server: TLS, the middleware every
// request passes (request id, security headers, access log, metrics,
// panic recovery), the operational endpoints, and graceful stop. It
// mounts the API; it knows nothing of its routes.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/audian/audian/internal/crossbar"
)

// Options configure a Server.
type Options struct {
	Addr     string
	CertFile string // with KeyFile: serve HTTPS; both empty: plain HTTP
	KeyFile  string
	Logger   *slog.Logger
	// LogOut is where the access log goes (the writer under Logger); nil
	// turns the access log off.
	LogOut io.Writer
	// Ready reports whether the server can serve (the database answers).
	Ready func(context.Context) error
	// JWKS returns the current JSON Web Key Set.
	JWKS func() []byte
	// Mount registers the API's routes on the server's mux.
	Mount func(*http.ServeMux)
	// MetricsAddr is where /metrics and net/http/pprof are served, in
	// plain HTTP, apart from the public port; "" serves neither.
	MetricsAddr string
}

// Server serves the API.
type Server struct {
	http     *http.Server
	ln       net.Listener
	ops      *http.Server // the metrics listener; nil when there is none
	opsLn    net.Listener
	tls      bool
	log      *slog.Logger
	logOut   io.Writer
	Registry *prometheus.Registry
}

// New returns a server listening on opts.Addr. It binds the port
// at once, so that Addr() is known before Serve.
func New(opts Options) (*Server, error) {
	s := &Server{log: opts.Logger, logOut: opts.LogOut, Registry: prometheus.NewRegistry(), tls: opts.CertFile != ""}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	m := newMetrics(s.Registry)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if opts.Ready != nil {
			if err := opts.Ready(ctx); err != nil {
				s.log.Warn("not ready", "error", err.Error())
				writeStatus(w, http.StatusServiceUnavailable, "unavailable")
				return
			}
		}
		writeStatus(w, http.StatusOK, "ready")
	})
	mux.HandleFunc("GET /.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		body := opts.JWKS()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})
	opts.Mount(mux)

	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, err
	}
	s.ln = ln
	if opts.MetricsAddr != "" {
		if s.opsLn, err = net.Listen("tcp", opts.MetricsAddr); err != nil {
			ln.Close()
			return nil, err
		}
		s.ops = &http.Server{
			Handler:           s.opsMux(),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       120 * time.Second,
			ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		}
	}
	s.http = &http.Server{
		Handler:           s.middleware(m, mux),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	if s.tls {
		cert, err := tls.LoadX509KeyPair(opts.CertFile, opts.KeyFile)
		if err != nil {
			ln.Close()
			if s.opsLn != nil {
				s.opsLn.Close()
			}
			return nil, err
		}
		s.http.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, CipherSuites: aeadSuites, Certificates: []tls.Certificate{cert}}
	}
	return s, nil
}

// opsMux serves the operator's endpoints: the Prometheus metrics and the
// Go profiler. They stay off the public port because both tell an
// attacker about the process (routes, load, memory, goroutine stacks) and
// a profile costs CPU anyone could spend; pprof's handlers are mounted
// here explicitly, never through http.DefaultServeMux.
func (s *Server) opsMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// MetricsAddr is the address of the metrics listener, nil when there is
// none.
func (s *Server) MetricsAddr() net.Addr {
	if s.opsLn == nil {
		return nil
	}
	return s.opsLn.Addr()
}

// aeadSuites are the TLS 1.2 suites audian offers: forward-secret AEAD
// only. Go's defaults still include ECDHE with AES-CBC and HMAC-SHA1,
// whose MAC-then-encrypt construction is the source of the Lucky13 family
// of padding oracles. TLS 1.3 suites are not configurable and all AEAD.
var aeadSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// Handler is the whole middleware chain, for in-process benchmarks.
func (s *Server) Handler() http.Handler { return s.http.Handler }

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// TLS reports whether the server speaks HTTPS.
func (s *Server) TLS() bool { return s.tls }

// Serve serves until Shutdown; it returns nil after a clean stop.
func (s *Server) Serve() error {
	if s.ops != nil {
		go func() {
			if err := s.ops.Serve(s.opsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("metrics listener stopped", "error", err.Error())
			}
		}()
	}
	var err error
	if s.tls {
		err = s.http.ServeTLS(s.ln, "", "")
	} else {
		err = s.http.Serve(s.ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close releases the port of a server that will not serve.
func (s *Server) Close() error { return s.ln.Close() }

// Shutdown stops accepting requests and waits for those in flight.
func (s *Server) Shutdown(ctx context.Context) error {
	var opsErr error
	if s.ops != nil {
		opsErr = s.ops.Shutdown(ctx)
	}
	return errors.Join(s.http.Shutdown(ctx), opsErr)
}

func writeStatus(w http.ResponseWriter, code int, status string) {
	body := `{"status":"` + status + `"}` + "\n"
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec

	// The children of the vectors, looked up once: finding one by its
	// label values hashes them on every request.
	mu        sync.RWMutex
	counters  map[metricKey]prometheus.Counter
	observers map[string]prometheus.Observer
}

type metricKey struct {
	route, method string
	code          int
}

// methodLabel bounds the method label to the methods HTTP defines, so a
// client inventing methods cannot grow the metrics without bound.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodPut, http.MethodPost, http.MethodPatch, http.MethodDelete,
		http.MethodOptions, http.MethodHead, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// observe counts one request of route (a mux pattern, so bounded) and
// records its latency.
func (m *metrics) observe(route, method string, code int, d time.Duration) {
	k := metricKey{route, methodLabel(method), code}
	m.mu.RLock()
	c, okC := m.counters[k]
	o, okO := m.observers[route]
	m.mu.RUnlock()
	if !okC || !okO {
		c = m.requests.WithLabelValues(k.route, k.method, statusLabel(code))
		o = m.duration.WithLabelValues(route)
		m.mu.Lock()
		m.counters[k], m.observers[route] = c, o
		m.mu.Unlock()
	}
	c.Inc()
	o.Observe(d.Seconds())
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		counters:  map[metricKey]prometheus.Counter{},
		observers: map[string]prometheus.Observer{},
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "audian_http_requests_total", Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "audian_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration, prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

// statusWriter remembers the status a handler wrote, and carries the
// request's RequestInfo to the API (crossbar.InfoCarrier).
type statusWriter struct {
	http.ResponseWriter
	code int
	info *crossbar.RequestInfo
}

func (w *statusWriter) RequestInfo() *crossbar.RequestInfo { return w.info }

// statusLabels are the metric labels of the status codes, made once.
var statusLabels = func() (l [600]string) {
	for i := range l {
		l[i] = strconv.Itoa(i)
	}
	// A client that disconnected is counted apart from the server's own
	// failures, under a name rather than a code no client ever received.
	l[crossbar.StatusClientClosed] = "client_closed"
	return l
}()

func statusLabel(code int) string {
	if code >= 0 && code < len(statusLabels) {
		return statusLabels[code]
	}
	return strconv.Itoa(code)
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// SetClient records the account and client address of the request for
// its access-log line, for handlers other than the API's (the portal),
// which do not know crossbar's RequestInfo.
func (w *statusWriter) SetClient(accountID, clientIP string) {
	w.info.AccountID, w.info.ClientIP = accountID, clientIP
}

// Header values shared by every reply. Each slice has len == cap, so a
// handler that appends to one gets a copy rather than changing them all.
var (
	hstsValue    = []string{"max-age=31536000"}
	nosniffValue = []string{"nosniff"}
)

// middleware runs around every request: request id, HSTS, recovery, one
// access-log line and metrics. The log line carries no query string and
// no header, so no credential can reach it.
func (s *Server) middleware(m *metrics, next http.Handler) http.Handler {
	logRequests := s.log.Enabled(context.Background(), slog.LevelInfo)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := crossbar.NewRequestInfo(r)
		h := w.Header()
		h["X-Request-Id"] = []string{info.ID}
		if r.TLS != nil {
			h["Strict-Transport-Security"] = hstsValue
		}
		h["X-Content-Type-Options"] = nosniffValue
		sw := &statusWriter{ResponseWriter: w, info: info}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving request", "request_id", info.ID, "panic", slog.AnyValue(v).String(), "stack", string(debug.Stack()))
				if sw.code == 0 {
					sw.Header().Set("Content-Type", "application/json")
					sw.WriteHeader(http.StatusInternalServerError)
					_, _ = sw.Write([]byte(`{"status":"error","error":"500","message":"internal error","request_id":"` + info.ID + `"}` + "\n"))
				}
			}
			elapsed := time.Since(start)
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			m.observe(route, r.Method, sw.code, elapsed)
			if logRequests {
				s.accessLog(start, r, sw.code, elapsed, info)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}
