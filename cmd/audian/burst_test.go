package main

import (
	"bufio"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"runtime/debug"

	"github.com/audian/audian/internal/config"
	"github.com/audian/audian/internal/credential"
)

// peakRSS returns this process's peak resident set (VmHWM) in bytes.
func peakRSS(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Skip("no VmHWM in /proc/self/status")
	return 0
}

// resetPeakRSS makes VmHWM start again from the current resident set.
func resetPeakRSS(t *testing.T) {
	t.Helper()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Skipf("cannot reset the peak resident set: %v", err)
	}
}

// TestLoginBurstMemory: 300 simultaneous wrong-password user_auth requests
// from one address, against the real server over TLS with production
// argon2id parameters (19 MiB per evaluation). Unbounded, they would all
// hash at once (about 5.7 GB); with the hashing slots and the guard's
// second look once a slot is granted, the process's peak resident set
// stays far below 512 MiB. It measures memory, not time: how long
// /healthz took during the burst is only logged.
func TestLoginBurstMemory(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector multiplies memory use: the bound is checked without it")
	}
	if testing.Short() {
		t.Skip("a burst of production-cost password hashes")
	}
	edit := func(c *config.Config) {
		c.RateCost = 0 // every request of the burst reaches the login
		c.LoginHashConcurrency = 4
	}
	n := startNodeHasher(t, t.TempDir(), "", &secrets{}, credential.DefaultHasher, edit)
	const burst = 300
	tr := n.client.Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = burst
	client := &http.Client{Transport: tr, Timeout: time.Minute}
	defer tr.CloseIdleConnections()

	// /healthz is read over a connection of its own, opened before the
	// burst, as a load balancer's probe would be.
	healthTr := n.client.Transport.(*http.Transport).Clone()
	health := &http.Client{Transport: healthTr, Timeout: time.Minute}
	defer healthTr.CloseIdleConnections()
	if res, err := health.Get(n.url + "/healthz"); err == nil {
		res.Body.Close()
	}

	debug.FreeOSMemory()
	resetPeakRSS(t)
	base := peakRSS(t)

	stop := make(chan struct{})
	var slowest time.Duration
	var healthWG sync.WaitGroup
	healthWG.Add(1)
	go func() {
		defer healthWG.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			start := time.Now()
			res, err := health.Get(n.url + "/healthz")
			if err == nil {
				res.Body.Close()
				slowest = max(slowest, time.Since(start))
			}
		}
	}()
	body := `{"data":{"username":"admin","password":"not the password","account_name":"Root"}}`
	statuses := make(chan int, burst)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("PUT", n.url+"/v2/user_auth", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			<-start
			res, err := client.Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			res.Body.Close()
			statuses <- res.StatusCode
		}()
	}
	close(start)
	wg.Wait()
	close(stop)
	healthWG.Wait()
	close(statuses)
	peak := peakRSS(t)

	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	t.Logf("%d wrong passwords at once: statuses %v, %d argon2id evaluations, peak RSS %d MiB (before the burst %d MiB), slowest /healthz %v",
		burst, counts, n.hasher.checks(), peak>>20, base>>20, slowest)
	if counts[http.StatusCreated] != 0 || counts[http.StatusInternalServerError] != 0 || counts[0] != 0 {
		t.Errorf("statuses %v: want only 401 and 429", counts)
	}
	if counts[http.StatusTooManyRequests] == 0 {
		t.Errorf("statuses %v: a burst from one address must meet 429s", counts)
	}
	if peak >= 512<<20 {
		t.Errorf("peak RSS %d MiB during the burst, want < 512 MiB", peak>>20)
	}
}
