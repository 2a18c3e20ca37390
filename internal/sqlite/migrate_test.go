package sqlite

import (
	"io/fs"
	"path/filepath"
	"testing"
)

func TestMigrationsAppliedOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audian.db")
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("embedded migrations: %v, %v", names, err)
	}
	for i := 0; i < 3; i++ {
		db, err := Open(t.Context(), path)
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		var n int
		if err := db.read.QueryRowContext(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != len(names)+1 { // and renameKeys' row
			t.Errorf("after Open %d: %d rows in schema_migrations, want %d", i, n, len(names)+1)
		}
		var mode string
		if err := db.read.QueryRowContext(t.Context(), `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
			t.Errorf("journal_mode = %q, %v; want wal", mode, err)
		}
		var fk int
		if err := db.write.QueryRowContext(t.Context(), `PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
			t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
		}
		db.Close()
	}
}

// TestUnicodeNameKeys: a database made when name keys were ASCII-only gets
// today's keys for its other names on the next Open, except where that
// key is another account's.
func TestUnicodeNameKeys(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "audian.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	// The keys the ASCII-only rule gave: "日本" none, "Аcme" (Cyrillic А)
	// "cme", beside an ASCII "Acme".
	for _, a := range []struct{ id, name, key string }{
		{"a1", "日本", ""}, {"a2", "Acme", "acme"}, {"a3", "Аcme", "cme"}, {"a4", "Café", "caf"},
	} {
		if _, err := db.write.ExecContext(ctx, `INSERT INTO accounts (id, path, name, name_norm, realm, realm_lower, revision, created, modified)
			VALUES (?, ?, ?, ?, ?, ?, 'r', 0, 0)`, a.id, "/"+a.id+"/", a.name, a.key, a.id+".example", a.id+".example"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.write.ExecContext(ctx, `DELETE FROM schema_migrations WHERE version = ?`, unicodeNames); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db, err = Open(ctx, path); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := map[string]string{"a1": "日本", "a2": "acme", "a3": "cme", "a4": "café"}
	for id, key := range want {
		var got string
		if err := db.read.QueryRowContext(ctx, `SELECT name_norm FROM accounts WHERE id = ?`, id).Scan(&got); err != nil || got != key {
			t.Errorf("account %s: key %q, %v; want %q", id, got, err, key)
		}
	}
}
