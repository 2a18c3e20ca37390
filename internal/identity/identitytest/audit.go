package identitytest

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/audian/audian/internal/identity"
)

// auditTests hold the audit log to its promises: an entry is written with
// the change it records and rolled back with it, only writes that report
// a change are recorded, and only retention pruning removes entries.
var auditTests = []subtest{
	{"WrittenWithTheChange", testAuditWithChange},
	{"RolledBackWithTheChange", testAuditRollback},
	{"ReplacementTargetsNewKey", testAuditReplaceKey},
	{"AppendFilterPage", testAuditList},
	{"Prune", testAuditPrune},
}

// auditCtx returns ctx carrying a typical entry of a crossbar request.
func auditCtx(ctx context.Context, account, action string) (context.Context, identity.AuditEntry) {
	e := identity.AuditEntry{
		AccountID: account,
		ActorKind: identity.AuditActorUser,
		Actor:     identity.NewID(),
		Action:    action,
		ClientIP:  "192.0.2.7",
		UserAgent: "identitytest/1.0",
		RequestID: identity.NewID(),
	}
	return identity.WithAudit(ctx, e), e
}

// auditOf lists every entry of account (and the unattributed ones).
func auditOf(t *testing.T, s identity.Store, account string) []identity.AuditEntry {
	t.Helper()
	items, next, err := s.Audit(t.Context(), account, identity.AuditFilter{Unattributed: true}, identity.Page{Size: identity.MaxPageSize})
	must(t, "Audit", err)
	if next != "" {
		t.Fatalf("Audit: more than %d entries", identity.MaxPageSize)
	}
	return items
}

func testAuditWithChange(t *testing.T, s identity.Store) {
	a := createAccount(t, s, nil, "audited")
	if got := auditOf(t, s, a.ID); len(got) != 0 {
		t.Fatalf("writes without an audit context were recorded: %+v", got)
	}
	ctx, want := auditCtx(t.Context(), a.ID, "users.create")
	u := newUser(a, "alice")
	must(t, "CreateUser", s.CreateUser(ctx, u))
	got := auditOf(t, s, a.ID)
	if len(got) != 1 {
		t.Fatalf("after one audited write: %d entries, want 1: %+v", len(got), got)
	}
	e := got[0]
	if e.Seq == 0 || e.Time.IsZero() {
		t.Errorf("Seq %d Time %v: the store must set both", e.Seq, e.Time)
	}
	checkUTC(t, "audit time", e.Time)
	if d := e.Time.Sub(u.Created); d < -time.Millisecond || d > 5*time.Second {
		t.Errorf("entry time %v, want the write's time %v", e.Time, u.Created)
	}
	want.Seq, want.Time = e.Seq, e.Time
	want.Outcome = identity.AuditSuccess
	want.TargetKind, want.TargetID = string(identity.EventUser), u.ID
	if d := diff(want, e); d != "" {
		t.Errorf("entry (-want +got):\n%s", d)
	}

	// A handler's own target wins over the store's.
	ctx2 := identity.WithAudit(t.Context(), identity.AuditEntry{AccountID: a.ID, Action: "users.update", TargetKind: "custom", TargetID: "x"})
	_, err := s.UpdateUser(ctx2, a.ID, u.ID, func(u *identity.User) error { u.FirstName = "Grace"; return nil })
	must(t, "UpdateUser", err)
	must(t, "DeleteUser", s.DeleteUser(identity.WithAudit(t.Context(), identity.AuditEntry{AccountID: a.ID, Action: "users.delete"}), a.ID, u.ID))
	got = auditOf(t, s, a.ID)
	if len(got) != 3 {
		t.Fatalf("%d entries, want 3: %+v", len(got), got)
	}
	if got[1].TargetKind != "custom" || got[1].TargetID != "x" {
		t.Errorf("update entry target %s/%s, want the handler's custom/x", got[1].TargetKind, got[1].TargetID)
	}
	if got[2].Action != "users.delete" || got[2].TargetID != u.ID || got[2].Seq <= got[1].Seq {
		t.Errorf("delete entry %+v: want users.delete of %s after the update", got[2], u.ID)
	}

	// WithoutAudit turns recording off for the writes it wraps.
	must(t, "CreateUser", s.CreateUser(identity.WithoutAudit(ctx), newUser(a, "bob")))
	if n := len(auditOf(t, s, a.ID)); n != 3 {
		t.Errorf("a write under WithoutAudit was recorded: %d entries, want 3", n)
	}
}

func testAuditRollback(t *testing.T, s identity.Store) {
	a := createAccount(t, s, nil, "rollback")
	u := createUser(t, s, a, "alice")
	ctx, _ := auditCtx(t.Context(), a.ID, "users.update")
	boom := errors.New("boom")
	_, err := s.UpdateUser(ctx, a.ID, u.ID, func(u *identity.User) error { u.FirstName = "X"; return boom })
	wantErr(t, "UpdateUser with a failing fn", err, boom)
	err = s.CreateUser(ctx, newUser(a, "alice"))
	wantErr(t, "CreateUser with a taken username", err, identity.ErrUsernameTaken)
	err = s.DeleteUser(ctx, a.ID, identity.NewID())
	wantErr(t, "DeleteUser of a missing user", err, identity.ErrNotFound)
	if got := auditOf(t, s, a.ID); len(got) != 0 {
		t.Errorf("failed writes left audit entries: %+v", got)
	}
}

func testAuditReplaceKey(t *testing.T, s identity.Store) {
	a := createAccount(t, s, nil, "keys")
	old := newKey(a, identity.KeyKindAccount)
	must(t, "ReplaceAccountKey", s.ReplaceAccountKey(t.Context(), old))
	ctx, _ := auditCtx(t.Context(), a.ID, "api_key.replace")
	k := newKey(a, identity.KeyKindAccount)
	must(t, "ReplaceAccountKey", s.ReplaceAccountKey(ctx, k))
	got := auditOf(t, s, a.ID)
	if len(got) != 1 {
		t.Fatalf("%d entries, want 1 for one replacement: %+v", len(got), got)
	}
	if got[0].TargetKind != string(identity.EventAPIKey) || got[0].TargetID != k.ID {
		t.Errorf("replacement target %s/%s, want api_key/%s (the new key)", got[0].TargetKind, got[0].TargetID, k.ID)
	}
	must(t, "RevokeToken", s.RevokeToken(identity.WithAudit(t.Context(), identity.AuditEntry{AccountID: a.ID, Action: "token.revoke"}), "jti-1", time.Now().Add(time.Hour)))
	got = auditOf(t, s, a.ID)
	if len(got) != 2 || got[1].TargetKind != string(identity.EventToken) || got[1].TargetID != "jti-1" {
		t.Errorf("revocation entry: %+v, want target token/jti-1", got)
	}
}

func testAuditList(t *testing.T, s identity.Store) {
	a := createAccount(t, s, nil, "list")
	b := createAccount(t, s, nil, "other")
	ctx := t.Context()
	for i := range 7 {
		e := identity.AuditEntry{
			AccountID: a.ID, ActorKind: identity.AuditActorKey, Actor: "key-" + strconv.Itoa(i%2),
			Action: "api_auth", Outcome: identity.AuditFailure, Reason: "invalid credentials",
			ClientIP: "2001:db8::1", RequestID: "r" + strconv.Itoa(i),
		}
		if i == 6 {
			e.Action, e.Outcome, e.Reason = "user_auth", "", ""
		}
		must(t, "AppendAudit", s.AppendAudit(ctx, e))
	}
	must(t, "AppendAudit", s.AppendAudit(ctx, identity.AuditEntry{AccountID: b.ID, Action: "api_auth"}))
	must(t, "AppendAudit", s.AppendAudit(ctx, identity.AuditEntry{Action: "api_auth", Outcome: identity.AuditFailure}))

	all, _, err := s.Audit(ctx, a.ID, identity.AuditFilter{}, identity.Page{})
	must(t, "Audit", err)
	if len(all) != 7 {
		t.Fatalf("%d entries of the account, want 7 (none of another account, none unattributed)", len(all))
	}
	if all[6].Outcome != identity.AuditSuccess {
		t.Errorf("an empty Outcome reads back as %q, want %q", all[6].Outcome, identity.AuditSuccess)
	}
	if n := len(auditOf(t, s, a.ID)); n != 8 {
		t.Errorf("with Unattributed: %d entries, want 8", n)
	}
	var seqs []string
	for i, e := range all {
		if e.RequestID != "r"+strconv.Itoa(i) {
			t.Errorf("entry %d has request id %q: entries must list in append order", i, e.RequestID)
		}
		seqs = append(seqs, strconv.FormatInt(e.Seq, 10))
	}
	// The cursor of an audit page is the decimal Seq of its last entry.
	checkPages(t, "Audit", func(ctx context.Context, p identity.Page) ([]string, string, error) {
		items, next, err := s.Audit(ctx, a.ID, identity.AuditFilter{}, p)
		var ids []string
		for _, e := range items {
			ids = append(ids, strconv.FormatInt(e.Seq, 10))
		}
		return ids, next, err
	}, 3, seqs)

	count := func(f identity.AuditFilter) int {
		t.Helper()
		items, _, err := s.Audit(ctx, a.ID, f, identity.Page{Size: 100})
		must(t, "Audit", err)
		return len(items)
	}
	for _, tt := range []struct {
		name string
		f    identity.AuditFilter
		want int
	}{
		{"actor", identity.AuditFilter{Actor: "key-1"}, 3},
		{"action", identity.AuditFilter{Action: "user_auth"}, 1},
		{"actor and action", identity.AuditFilter{Actor: "key-0", Action: "api_auth"}, 3},
		{"from the first", identity.AuditFilter{From: all[0].Time}, 7},
		{"to the last", identity.AuditFilter{To: all[6].Time}, 7},
		{"after the last", identity.AuditFilter{From: all[6].Time.Add(time.Millisecond)}, 0},
		{"before the first", identity.AuditFilter{To: all[0].Time.Add(-time.Millisecond)}, 0},
	} {
		if got := count(tt.f); got != tt.want {
			t.Errorf("filter %s: %d entries, want %d", tt.name, got, tt.want)
		}
	}
	_, _, err = s.Audit(ctx, a.ID, identity.AuditFilter{}, identity.Page{After: "not-a-seq"})
	if identity.ErrorCode(err) != identity.EInvalid {
		t.Errorf("a malformed cursor: err = %v, want EInvalid", err)
	}
}

func testAuditPrune(t *testing.T, s identity.Store) {
	a := createAccount(t, s, nil, "prune")
	ctx := t.Context()
	must(t, "AppendAudit", s.AppendAudit(ctx, identity.AuditEntry{AccountID: a.ID, Action: "api_auth"}))
	items := auditOf(t, s, a.ID)
	n, err := s.PruneAudit(ctx, items[0].Time.Add(-time.Second))
	must(t, "PruneAudit", err)
	if n != 0 || len(auditOf(t, s, a.ID)) != 1 {
		t.Errorf("pruning before the entry removed %d", n)
	}
	n, err = s.PruneAudit(ctx, items[0].Time.Add(time.Second))
	must(t, "PruneAudit", err)
	if n != 1 || len(auditOf(t, s, a.ID)) != 0 {
		t.Errorf("pruning after the entry removed %d, want 1", n)
	}
	// Entries outlive the records they name.
	ctx2, _ := auditCtx(ctx, a.ID, "accounts.delete")
	must(t, "DeleteAccount", s.DeleteAccount(ctx2, a.ID))
	if got := auditOf(t, s, a.ID); len(got) != 1 || got[0].TargetID != a.ID {
		t.Errorf("after deleting the account: %+v, want its delete entry", got)
	}
}
