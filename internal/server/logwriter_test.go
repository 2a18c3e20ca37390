package server

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestLogWriter(t *testing.T) {
	out := &lockedBuffer{}
	lw := NewLogWriter(out, time.Hour)
	lw.Write([]byte("one\n"))
	if out.String() != "" {
		t.Fatal("written before a flush")
	}
	big := strings.Repeat("x", 70<<10) + "\n"
	lw.Write([]byte(big))
	if out.String() != "one\n"+big {
		t.Fatalf("a full buffer must flush in order; got %d bytes", len(out.String()))
	}
	lw.Write([]byte("two\n"))
	if err := lw.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out.String(), "two\n") {
		t.Fatal("Close did not flush")
	}
	if err := lw.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
}

func TestLogWriterTicks(t *testing.T) {
	out := &lockedBuffer{}
	lw := NewLogWriter(out, 10*time.Millisecond)
	defer lw.Close()
	lw.Write([]byte("line\n"))
	deadline := time.Now().Add(2 * time.Second)
	for out.String() == "" {
		if time.Now().After(deadline) {
			t.Fatal("the interval flush never came")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAppendLogTime(t *testing.T) {
	for _, s := range []string{"2026-11-27T00:05:47.123Z", "2026-11-27T00:05:47.009+02:00", "2026-01-02T03:04:05.000-07:00"} {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		want := tm.Format("2006-01-02T15:04:05.000Z07:00")
		if got := string(appendLogTime(nil, tm)); got != want {
			t.Errorf("appendLogTime(%s) = %s, want %s", s, got, want)
		}
	}
}
