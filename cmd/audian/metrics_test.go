package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/audian/audian/internal/config"
)

// opsGet fetches path from the node's metrics listener and fails the test
// unless it answers 200.
func (n *node) opsGet(path string) string {
	n.t.Helper()
	addr := n.m.Server.MetricsAddr()
	if addr == nil {
		n.t.Fatal("the node has no metrics listener")
	}
	res, err := http.Get("http://" + addr.String() + path)
	if err != nil {
		n.t.Fatalf("GET %s on the metrics listener: %v", path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		n.t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		n.t.Fatalf("GET %s on the metrics listener: %d", path, res.StatusCode)
	}
	return string(body)
}

// TestMetricsListener: /metrics and the profiler answer on their own
// listener only; the public port knows neither.
func TestMetricsListener(t *testing.T) {
	n := startNode(t, t.TempDir(), "", &secrets{})
	public := []string{"/metrics", "/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/heap", "/debug/pprof/profile?seconds=1"}
	for _, p := range public {
		if r := n.do("GET", p, "", nil); r.status != http.StatusNotFound {
			t.Errorf("public GET %s = %d, want 404", p, r.status)
		}
	}
	if m := n.opsGet("/metrics"); !strings.Contains(m, "audian_http_requests_total") || !strings.Contains(m, "go_goroutines") {
		t.Errorf("metrics listener /metrics lacks the request and Go metrics:\n%.300s", m)
	}
	if idx := n.opsGet("/debug/pprof/"); !strings.Contains(idx, "goroutine") {
		t.Errorf("metrics listener /debug/pprof/ is not the profiler index:\n%.300s", idx)
	}
	n.opsGet("/debug/pprof/heap")
	n.opsGet("/debug/pprof/cmdline")
}

// TestMetricsListenerOff: an empty metrics-listen (or "off", for the
// environment) opens no second port.
func TestMetricsListenerOff(t *testing.T) {
	for _, v := range []string{"", "off"} {
		n := startNode(t, t.TempDir(), "", &secrets{}, func(c *config.Config) { c.MetricsListen = v })
		if a := n.m.Server.MetricsAddr(); a != nil {
			t.Errorf("metrics-listen %q: listening on %s", v, a)
		}
		if r := n.do("GET", "/metrics", "", nil); r.status != http.StatusNotFound {
			t.Errorf("metrics-listen %q: public /metrics = %d, want 404", v, r.status)
		}
	}
}

// TestMetricsListenDefault: the default keeps the metrics on loopback.
func TestMetricsListenDefault(t *testing.T) {
	c := config.Default()
	if !strings.HasPrefix(c.MetricsListen, "127.0.0.1:") {
		t.Errorf("default metrics-listen = %q, want a loopback address", c.MetricsListen)
	}
	c.MetricsListen = c.Listen
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "metrics-listen") {
		t.Errorf("metrics-listen equal to listen: Validate() = %v", err)
	}
}
