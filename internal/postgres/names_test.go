package postgres_test

import (
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestUnicodeNameKeys: a database made when name keys were ASCII-only gets
// today's keys for its other names on the next Open, except where that
// key is another account's.
func TestUnicodeNameKeys(t *testing.T) {
	dsn := newSchema(t)
	ctx := t.Context()
	open(t, dsn).Close()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// The keys the ASCII-only rule gave: "日本" none, "Аcme" (Cyrillic А)
	// "cme", beside an ASCII "Acme".
	for _, a := range []struct{ id, name, key string }{
		{"a1", "日本", ""}, {"a2", "Acme", "acme"}, {"a3", "Аcme", "cme"}, {"a4", "Café", "caf"},
	} {
		if _, err := conn.Exec(ctx, `INSERT INTO accounts (id, path, name, name_norm, realm, realm_lower, timezone, language,
			enabled, system, revision, created, modified) VALUES ($1, $2, $3, $4, $5, $5, '', '', true, false, 'r', now(), now())`,
			a.id, "/"+a.id+"/", a.name, a.key, a.id+".example"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Exec(ctx, `DELETE FROM schema_migrations WHERE version = '0006_unicode_names'`); err != nil {
		t.Fatal(err)
	}
	open(t, dsn)
	want := map[string]string{"a1": "日本", "a2": "acme", "a3": "cme", "a4": "café"}
	for id, key := range want {
		var got string
		if err := conn.QueryRow(ctx, `SELECT name_norm FROM accounts WHERE id = $1`, id).Scan(&got); err != nil || got != key {
			t.Errorf("account %s: key %q, %v; want %q", id, got, err, key)
		}
	}
}
