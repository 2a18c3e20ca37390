package identitytest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/audian/audian/internal/identity"
)

var signingKeyTests = []subtest{
	{"RingNewestFirst", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		ring, err := s.SigningKeys(ctx)
		must(t, "SigningKeys", err)
		if len(ring) != 0 {
			t.Fatalf("empty store has signing keys %+v", ring)
		}
		var want []*identity.SigningKey
		for i := 0; i < 3; i++ {
			k := newSigningKey()
			must(t, "AddSigningKey", s.AddSigningKey(ctx, k))
			if k.Created.IsZero() {
				t.Fatalf("AddSigningKey did not set Created")
			}
			want = append([]*identity.SigningKey{k}, want...)
			// Give a store on the real clock distinct creation times;
			// "newest first" must hold either way.
			time.Sleep(2 * time.Millisecond)
		}
		ring, err = s.SigningKeys(ctx)
		must(t, "SigningKeys", err)
		if d := diff(want, ring); d != "" {
			t.Errorf("SigningKeys (-want +got):\n%s", d)
		}
		for _, k := range ring {
			checkUTC(t, "SigningKey", k.Created, k.RetiredAt)
		}
	}},
	{"Update", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		k := newSigningKey()
		must(t, "AddSigningKey", s.AddSigningKey(ctx, k))
		want := *k
		want.RetiredAt = oddTime
		got, err := s.UpdateSigningKey(ctx, k.ID, func(cur *identity.SigningKey) error {
			if d := diff(k, cur); d != "" {
				t.Errorf("fn got (-want +got):\n%s", d)
			}
			cur.RetiredAt = oddTime
			return nil
		})
		must(t, "UpdateSigningKey", err)
		if d := diff(&want, got); d != "" {
			t.Errorf("UpdateSigningKey result (-want +got):\n%s", d)
		}
		ring, err := s.SigningKeys(ctx)
		must(t, "SigningKeys", err)
		if d := diff([]*identity.SigningKey{&want}, ring); d != "" {
			t.Errorf("SigningKeys after update (-want +got):\n%s", d)
		}

		_, err = s.UpdateSigningKey(ctx, k.ID, func(cur *identity.SigningKey) error {
			cur.RetiredAt = time.Time{}
			return errBoom
		})
		if err != errBoom {
			t.Errorf("err = %v, want errBoom returned as is", err)
		}
		ring, err = s.SigningKeys(ctx)
		must(t, "SigningKeys", err)
		if d := diff([]*identity.SigningKey{&want}, ring); d != "" {
			t.Errorf("SigningKeys after aborted update (-want +got):\n%s", d)
		}
		_, err = s.UpdateSigningKey(ctx, identity.NewID(), func(*identity.SigningKey) error { return nil })
		wantErr(t, "UpdateSigningKey of a missing key", err, identity.ErrNotFound)
	}},
}

var eventTests = []subtest{
	{"EveryWrite", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		// Objects the steps below share; each step reads what earlier ones
		// created.
		var (
			root, acct *identity.Account
			u          *identity.User
			k          *identity.APIKey
			sk         = newSigningKey()
			jti        = identity.NewID()
			expires    = oddTime.Add(time.Hour)
		)
		type want struct {
			kind   identity.EventKind
			id     func() string
			cutoff time.Time // zero: the event must have no Cutoff
		}
		steps := []struct {
			name  string
			write func() error
			want  want
		}{
			{"CreateAccount", func() error {
				root = newAccount(nil, "Root")
				return s.CreateAccount(ctx, root)
			}, want{identity.EventAccount, func() string { return root.ID }, time.Time{}}},
			{"CreateChildAccount", func() error {
				acct = newAccount(root, "Child")
				return s.CreateAccount(ctx, acct)
			}, want{identity.EventAccount, func() string { return acct.ID }, time.Time{}}},
			{"UpdateAccount", func() error {
				_, err := s.UpdateAccount(ctx, acct.ID, func(a *identity.Account) error { a.Language = "de-de"; return nil })
				return err
			}, want{identity.EventAccount, func() string { return acct.ID }, time.Time{}}},
			{"UpdateAccountTokensValidAfter", func() error {
				_, err := s.UpdateAccount(ctx, acct.ID, func(a *identity.Account) error { a.TokensValidAfter = oddTime; return nil })
				return err
			}, want{identity.EventAccount, func() string { return acct.ID }, oddTime}},
			{"CreateUser", func() error {
				u = newUser(acct, "alice")
				return s.CreateUser(ctx, u)
			}, want{identity.EventUser, func() string { return u.ID }, time.Time{}}},
			{"UpdateUser", func() error {
				_, err := s.UpdateUser(ctx, acct.ID, u.ID, func(u *identity.User) error { u.Email = "a@example.org"; return nil })
				return err
			}, want{identity.EventUser, func() string { return u.ID }, time.Time{}}},
			{"UpdateUserTokensValidAfter", func() error {
				_, err := s.UpdateUser(ctx, acct.ID, u.ID, func(u *identity.User) error {
					u.Credentials.Password = "$argon2id$changed"
					u.TokensValidAfter = oddTime.Add(time.Second)
					return nil
				})
				return err
			}, want{identity.EventUser, func() string { return u.ID }, oddTime.Add(time.Second)}},
			{"CreateAPIKey", func() error {
				k = newKey(acct, identity.KeyKindNamed)
				return s.CreateAPIKey(ctx, k)
			}, want{identity.EventAPIKey, func() string { return k.ID }, time.Time{}}},
			{"UpdateAPIKey", func() error {
				_, err := s.UpdateAPIKey(ctx, acct.ID, k.ID, func(k *identity.APIKey) error { k.Name = "x"; return nil })
				return err
			}, want{identity.EventAPIKey, func() string { return k.ID }, time.Time{}}},
			{"AddSigningKey", func() error { return s.AddSigningKey(ctx, sk) },
				want{identity.EventSigningKey, func() string { return sk.ID }, time.Time{}}},
			{"UpdateSigningKey", func() error {
				_, err := s.UpdateSigningKey(ctx, sk.ID, func(k *identity.SigningKey) error { k.RetiredAt = oddTime; return nil })
				return err
			}, want{identity.EventSigningKey, func() string { return sk.ID }, time.Time{}}},
			{"RevokeToken", func() error { return s.RevokeToken(ctx, jti, expires) },
				want{identity.EventToken, func() string { return jti }, time.Time{}}},
		}
		prev := lastSeq(t, s)
		for _, step := range steps {
			must(t, step.name, step.write())
			evs := eventsAfter(t, s, prev)
			if len(evs) != 1 {
				t.Fatalf("%s appended %d events %+v, want 1", step.name, len(evs), evs)
			}
			ev := evs[0]
			if ev.Kind != step.want.kind || ev.ID != step.want.id() {
				t.Errorf("%s appended a %s event about %s, want %s about %s", step.name, ev.Kind, ev.ID, step.want.kind, step.want.id())
			}
			if !sameMS(ev.Cutoff, step.want.cutoff) {
				t.Errorf("%s event Cutoff = %v, want %v", step.name, ev.Cutoff, step.want.cutoff)
			}
			if ev.Kind == identity.EventToken && !sameMS(ev.Expires, expires) {
				t.Errorf("%s event Expires = %v, want %v", step.name, ev.Expires, expires)
			}
			if ev.Created.IsZero() {
				t.Errorf("%s event has no Created", step.name)
			}
			checkUTC(t, step.name+" event", ev.Cutoff, ev.Expires, ev.Created)
			if ev.Seq <= prev {
				t.Errorf("%s event Seq %d, not after %d", step.name, ev.Seq, prev)
			}
			prev = ev.Seq
		}

		deletes := []struct {
			name string
			del  func() error
			kind identity.EventKind
			id   string
		}{
			{"DeleteUser", func() error { return s.DeleteUser(ctx, acct.ID, u.ID) }, identity.EventUser, u.ID},
			{"DeleteAccount", func() error { return s.DeleteAccount(ctx, acct.ID) }, identity.EventAccount, acct.ID},
		}
		for _, d := range deletes {
			must(t, d.name, d.del())
			evs := eventsAfter(t, s, prev)
			ev := findEvent(evs, d.kind, d.id)
			if ev == nil || ev.Cutoff.IsZero() {
				t.Errorf("%s appended %+v, want a %s event about %s with a Cutoff", d.name, evs, d.kind, d.id)
			}
			if len(evs) > 0 {
				prev = evs[len(evs)-1].Seq
			}
		}
	}},
	{"RevokeTokenIdempotent", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		jti := identity.NewID()
		expires := oddTime.Add(time.Hour)
		must(t, "RevokeToken", s.RevokeToken(ctx, jti, expires))
		must(t, "RevokeToken again", s.RevokeToken(ctx, jti, expires))
		evs := eventsAfter(t, s, 0)
		ev := findEvent(evs, identity.EventToken, jti)
		if ev == nil || !sameMS(ev.Expires, expires) {
			t.Errorf("events %+v, want a token event about %s expiring %v", evs, jti, expires)
		}
	}},
	{"AfterAndLimit", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		var jtis []string
		for i := 0; i < 7; i++ {
			jti := fmt.Sprintf("jti-%d", i)
			jtis = append(jtis, jti)
			must(t, "RevokeToken", s.RevokeToken(ctx, jti, oddTime))
		}
		all, err := s.Events(ctx, 0, 100)
		must(t, "Events", err)
		if len(all) != 7 {
			t.Fatalf("Events = %+v, want 7", all)
		}
		for i, ev := range all {
			if ev.ID != jtis[i] {
				t.Errorf("event %d is about %s, want %s (Seq order)", i, ev.ID, jtis[i])
			}
			if i > 0 && ev.Seq <= all[i-1].Seq {
				t.Errorf("Seq %d after %d: not strictly increasing", ev.Seq, all[i-1].Seq)
			}
		}
		tests := []struct {
			after int64
			limit int
			want  []identity.Event
		}{
			{0, 3, all[:3]},
			{all[2].Seq, 3, all[3:6]},
			{all[5].Seq, 3, all[6:]},
			{all[6].Seq, 3, nil},
			{all[0].Seq, 1, all[1:2]},
			{0, 7, all},
		}
		for _, tt := range tests {
			got, err := s.Events(ctx, tt.after, tt.limit)
			must(t, "Events", err)
			if d := diff(tt.want, got); d != "" {
				t.Errorf("Events(%d, %d) (-want +got):\n%s", tt.after, tt.limit, d)
			}
		}
	}},
	{"Prune", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		must(t, "RevokeToken", s.RevokeToken(ctx, "old-1", oddTime))
		must(t, "RevokeToken", s.RevokeToken(ctx, "old-2", oddTime))
		// On the real clock this separates old from new events; on a fixed
		// clock every event has one Created and the partial prune below is
		// skipped.
		time.Sleep(3 * time.Millisecond)
		must(t, "RevokeToken", s.RevokeToken(ctx, "new-1", oddTime))
		all, err := s.Events(ctx, 0, 100)
		must(t, "Events", err)
		if len(all) != 3 {
			t.Fatalf("Events = %+v, want 3", all)
		}
		oldest, newest := all[0].Created, all[2].Created

		n, err := s.PruneEvents(ctx, oldest)
		must(t, "PruneEvents", err)
		if n != 0 {
			t.Errorf("PruneEvents(oldest Created) = %d, want 0: only events created before t go", n)
		}
		if !sameMS(oldest, newest) {
			n, err = s.PruneEvents(ctx, newest)
			must(t, "PruneEvents", err)
			if n != 2 {
				t.Errorf("PruneEvents(newest Created) = %d, want 2", n)
			}
			got, err := s.Events(ctx, 0, 100)
			must(t, "Events", err)
			if d := diff(all[2:], got); d != "" {
				t.Errorf("Events after a partial prune (-want +got):\n%s", d)
			}
		}
		_, err = s.PruneEvents(ctx, newest.Add(time.Millisecond))
		must(t, "PruneEvents", err)
		got, err := s.Events(ctx, 0, 100)
		must(t, "Events", err)
		if len(got) != 0 {
			t.Errorf("Events after pruning everything = %+v", got)
		}
		// Sequence numbers are never reused, or a follower that had seen
		// the pruned events would skip the next ones.
		must(t, "RevokeToken", s.RevokeToken(ctx, "after-prune", oddTime))
		got, err = s.Events(ctx, all[2].Seq, 100)
		must(t, "Events", err)
		if len(got) != 1 || got[0].ID != "after-prune" {
			t.Errorf("Events after %d = %+v, want the one appended after the prune", all[2].Seq, got)
		}
	}},
}

var miscTests = []subtest{
	{"Ping", func(t *testing.T, s identity.Store) {
		must(t, "Ping", s.Ping(t.Context()))
	}},
	{"CanceledContext", func(t *testing.T, s identity.Store) {
		a := createAccount(t, s, nil, "Root")
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		calls := []struct {
			name string
			call func() error
		}{
			{"Account", func() error { _, err := s.Account(ctx, a.ID); return err }},
			{"Descendants", func() error { _, _, err := s.Descendants(ctx, a.ID, identity.Page{}); return err }},
			{"CreateAccount", func() error { return s.CreateAccount(ctx, newAccount(nil, "Late")) }},
			{"UpdateAccount", func() error {
				_, err := s.UpdateAccount(ctx, a.ID, func(a *identity.Account) error { a.Name = "Late"; return nil })
				return err
			}},
			{"Events", func() error { _, err := s.Events(ctx, 0, 10); return err }},
			{"Ping", func() error { return s.Ping(ctx) }},
		}
		for _, c := range calls {
			if err := c.call(); !errors.Is(err, context.Canceled) {
				t.Errorf("%s with a canceled context: err = %v, want context.Canceled", c.name, err)
			}
		}
		got, err := s.Account(t.Context(), a.ID)
		must(t, "Account", err)
		if got.Name != a.Name {
			t.Errorf("update with a canceled context wrote Name %q", got.Name)
		}
	}},
}
