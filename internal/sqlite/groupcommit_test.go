package sqlite

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/audian/audian/internal/identity"
)

// TestAuditGroupCommit: concurrent appends share commits, and every one
// of them is written.
func TestAuditGroupCommit(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "group.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const n = 400
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			errs <- db.AppendAudit(t.Context(), identity.AuditEntry{AccountID: "a", Action: "user_auth", RequestID: fmt.Sprint(i)})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var rows int
	if err := db.read.QueryRow(`SELECT count(DISTINCT request_id) FROM audit_log`).Scan(&rows); err != nil || rows != n {
		t.Fatalf("%d distinct entries written (%v), want %d", rows, err, n)
	}
	if c := db.groupCommits.Load(); c >= n {
		t.Errorf("%d appends took %d commits: no group commit", n, c)
	} else {
		t.Logf("%d appends in %d commits", n, c)
	}
	db.Close()
	if err := db.AppendAudit(context.Background(), identity.AuditEntry{AccountID: "a"}); err == nil {
		t.Error("AppendAudit after Close succeeded")
	}
}

// TestAuditDurableAfterKill: a process appends audit entries from many
// goroutines and prints each one AppendAudit acknowledged; it is killed
// with SIGKILL mid-stream; every acknowledged entry must be in the
// database when it is opened again. The child is this test binary run
// again with AUDIAN_AUDIT_CHILD naming the database.
func TestAuditDurableAfterKill(t *testing.T) {
	if path := os.Getenv("AUDIAN_AUDIT_CHILD"); path != "" {
		auditChild(path)
		return
	}
	if testing.Short() {
		t.Skip("spawns a process")
	}
	path := filepath.Join(t.TempDir(), "kill.db")
	// Create the schema first, so that the child starts appending at once.
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestAuditDurableAfterKill$")
		cmd.Env = append(os.Environ(), "AUDIAN_AUDIT_CHILD="+path, fmt.Sprintf("AUDIAN_AUDIT_ROUND=%d", round))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acked := map[string]bool{}
		sc := bufio.NewScanner(out)
		deadline := time.Now().Add(20 * time.Second)
		for sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
				acked[id] = true
			}
			// Kill mid-stream, once enough appends have been acknowledged.
			if len(acked) == 500+round*300 || time.Now().After(deadline) {
				cmd.Process.Kill() // SIGKILL: no deferred function, no Close
				break
			}
		}
		// Lines written before the kill are acknowledgements too.
		for sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
				acked[id] = true
			}
		}
		cmd.Wait()
		if len(acked) == 0 {
			t.Fatal("the child acknowledged nothing")
		}

		db, err := Open(t.Context(), path)
		if err != nil {
			t.Fatalf("reopen after kill: %v", err)
		}
		rows, err := db.read.Query(`SELECT request_id FROM audit_log`)
		if err != nil {
			t.Fatal(err)
		}
		stored := map[string]bool{}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			stored[id] = true
		}
		rows.Close()
		db.Close()
		missing := 0
		for id := range acked {
			if !stored[id] {
				missing++
			}
		}
		if missing > 0 {
			t.Fatalf("round %d: %d of %d acknowledged entries missing after SIGKILL", round, missing, len(acked))
		}
		t.Logf("round %d: %d acknowledged entries, all stored (%d rows in all)", round, len(acked), len(stored))
	}
}

// auditChild appends entries from 32 goroutines until killed, printing
// "ack <request id>" for each AppendAudit that returned nil.
func auditChild(path string) {
	db, err := Open(context.Background(), path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	round := os.Getenv("AUDIAN_AUDIT_ROUND")
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("r%s-g%d-%d", round, g, i)
				err := db.AppendAudit(context.Background(), identity.AuditEntry{AccountID: "a", Action: "user_auth", RequestID: id})
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Fprintln(os.Stdout, "ack "+id) // unbuffered: written before the next append starts
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}
