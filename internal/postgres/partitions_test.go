package postgres_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/audian/audian/internal/identity"
	"github.com/audian/audian/internal/postgres"
)

// TestAuditPartitions: the audit log is partitioned by month, partitions
// are made ahead of the clock, and retention drops whole months, keeping
// the entries of the month it cuts into that are not due yet.
func TestAuditPartitions(t *testing.T) {
	ctx := t.Context()
	dsn := newSchema(t)
	now := time.Date(2031, 1, 15, 12, 0, 0, 0, time.UTC)
	db := open(t, dsn, postgres.WithClock(func() time.Time { return now }))
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	partitions := func() []string {
		rows, err := conn.Query(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
			WHERE i.inhparent = 'audit_log'::regclass ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return names
	}

	// Entries in January, February (twice) and March; the clock moves
	// and PruneAudit (as the hourly maintenance calls it) keeps the
	// partitions ahead of it.
	for _, at := range []time.Time{
		time.Date(2031, 1, 20, 0, 0, 0, 0, time.UTC),
		time.Date(2031, 2, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2031, 2, 28, 23, 59, 59, 0, time.UTC),
		time.Date(2031, 3, 10, 0, 0, 0, 0, time.UTC),
	} {
		now = at
		if _, err := db.PruneAudit(ctx, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if err := db.AppendAudit(ctx, identity.AuditEntry{AccountID: "acct", Action: "user_auth", Actor: at.String()}); err != nil {
			t.Fatalf("AppendAudit at %s: %v", at, err)
		}
	}
	for _, want := range []string{"audit_log_203101", "audit_log_203102", "audit_log_203103", "audit_log_203106", "audit_log_default"} {
		if !slices.Contains(partitions(), want) {
			t.Errorf("partitions %v lack %s", partitions(), want)
		}
	}
	var inDefault int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM audit_log_default`).Scan(&inDefault); err != nil || inDefault != 0 {
		t.Errorf("default partition holds %d entries (%v), want 0", inDefault, err)
	}

	// Retention up to 2031-03-05 drops January and February whole.
	n, err := db.PruneAudit(ctx, time.Date(2031, 3, 5, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("PruneAudit removed %d entries, want 3", n)
	}
	got := partitions()
	for _, gone := range []string{"audit_log_203101", "audit_log_203102"} {
		if slices.Contains(got, gone) {
			t.Errorf("partition %s survived retention: %v", gone, got)
		}
	}
	items, _, err := db.Audit(ctx, "acct", identity.AuditFilter{}, identity.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || !items[0].Time.Equal(time.Date(2031, 3, 10, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("entries after retention: %+v, want the March one", items)
	}

	// Within a month, retention deletes rows and keeps the partition.
	n, err = db.PruneAudit(ctx, time.Date(2031, 3, 20, 0, 0, 0, 0, time.UTC))
	if err != nil || n != 1 || !slices.Contains(partitions(), "audit_log_203103") {
		t.Errorf("PruneAudit within March = %d, %v; partitions %v", n, err, partitions())
	}
	// Updates stay refused on the partitioned table.
	if err := db.AppendAudit(ctx, identity.AuditEntry{AccountID: "acct", Action: "user_auth"}); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `UPDATE audit_log SET actor = 'x'`); err == nil {
		t.Error("UPDATE of an audit entry succeeded")
	}
}
