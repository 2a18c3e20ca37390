package identitytest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/audian/audian/internal/identity"
)

var treeTests = []subtest{
	{"ChildrenCounted", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		root := createAccount(t, s, nil, "Root")
		other := createAccount(t, s, nil, "OtherRoot")
		createAccount(t, s, other, "OtherChild")
		// Child i has i children, each with one child of its own: 2i
		// descendants.
		want := map[string]int{}
		var children []string
		var deep *identity.Account
		for i := 0; i < 4; i++ {
			c := createAccount(t, s, root, fmt.Sprintf("Child%d", i))
			children = append(children, c.ID)
			want[c.ID] = 2 * i
			for j := 0; j < i; j++ {
				g := createAccount(t, s, c, fmt.Sprintf("Grandchild%d%d", i, j))
				deep = createAccount(t, s, g, fmt.Sprintf("GreatGrandchild%d%d", i, j))
			}
		}
		children = sortedIDs(children...)
		counted := func(limit int) pager {
			return func(ctx context.Context, p identity.Page) ([]string, string, error) {
				items, next, err := s.ChildrenCounted(ctx, root.ID, p, limit)
				ids := make([]string, len(items))
				for i, it := range items {
					ids[i] = it.Account.ID
					w := min(want[it.Account.ID], limit)
					if it.Descendants != w {
						t.Errorf("ChildrenCounted(limit %d): %s has %d descendants, want %d", limit, it.Account.Name, it.Descendants, w)
					}
				}
				return ids, next, err
			}
		}
		for _, size := range []int{1, 3, 100} {
			checkPages(t, fmt.Sprintf("ChildrenCounted(root) size %d", size), counted(100), size, children)
		}
		checkPages(t, "ChildrenCounted(root) limit 3", counted(3), 2, children)
		checkPages(t, "ChildrenCounted(root) limit 1", counted(1), 100, children)

		items, _, err := s.ChildrenCounted(ctx, root.ID, identity.Page{}, 100)
		must(t, "ChildrenCounted", err)
		for _, it := range items {
			a, err := s.Account(ctx, it.Account.ID)
			must(t, "Account", err)
			if d := diff(a, it.Account); d != "" {
				t.Errorf("ChildrenCounted item differs from Account (-want +got):\n%s", d)
			}
		}

		// A deleted leaf no longer counts, at any level above it.
		must(t, "DeleteAccount", s.DeleteAccount(ctx, deep.ID))
		items, _, err = s.ChildrenCounted(ctx, root.ID, identity.Page{}, 100)
		must(t, "ChildrenCounted after delete", err)
		total := 0
		for _, it := range items {
			total += it.Descendants
		}
		if total != 2*(0+1+2+3)-1 {
			t.Errorf("descendants after deleting a leaf: %d in all, want %d", total, 2*(0+1+2+3)-1)
		}

		for _, id := range []string{deep.Tree[len(deep.Tree)-1], identity.NewID()} {
			items, next, err := s.ChildrenCounted(ctx, id, identity.Page{}, 100)
			must(t, "ChildrenCounted of a leaf or a missing account", err)
			if len(items) != 0 || next != "" {
				t.Errorf("ChildrenCounted(%s) = %d items, next %q; want none", id, len(items), next)
			}
		}
	}},
	{"CountsUnderConcurrentWrites", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		root := createAccount(t, s, nil, "Root")
		mid := createAccount(t, s, root, "Mid")
		const n = 12
		var wg sync.WaitGroup
		errs := make(chan error, 2*n)
		ids := make(chan string, n)
		for i := range n {
			wg.Go(func() {
				a := newAccount(mid, fmt.Sprintf("Leaf%d", i))
				errs <- s.CreateAccount(ctx, a)
				ids <- a.ID
			})
		}
		wg.Wait()
		close(ids)
		// Half of them go again, concurrently with new ones.
		i := 0
		for id := range ids {
			if i%2 == 0 {
				wg.Go(func() { errs <- s.DeleteAccount(ctx, id) })
			} else {
				wg.Go(func() { errs <- s.CreateAccount(ctx, newAccount(mid, "More"+id[:8])) })
			}
			i++
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			must(t, "concurrent create or delete", err)
		}
		items, _, err := s.ChildrenCounted(ctx, root.ID, identity.Page{}, 1000)
		must(t, "ChildrenCounted", err)
		if len(items) != 1 || items[0].Descendants != n {
			t.Errorf("ChildrenCounted(root) = %+v; want Mid with %d descendants", items, n)
		}
		all, _, err := s.Descendants(ctx, mid.ID, identity.Page{Size: 1000})
		must(t, "Descendants", err)
		if len(all) != n {
			t.Errorf("Descendants(Mid) = %d, want %d", len(all), n)
		}
	}},
	{"DescendantsAfterDeletes", func(t *testing.T, s identity.Store) {
		ctx := t.Context()
		root := createAccount(t, s, nil, "Root")
		a := createAccount(t, s, root, "A")
		b := createAccount(t, s, a, "B")
		c := createAccount(t, s, root, "C")
		must(t, "DeleteAccount", s.DeleteAccount(ctx, b.ID))
		items, _, err := s.Descendants(ctx, root.ID, identity.Page{})
		must(t, "Descendants", err)
		if d := diff(sortedIDs(a.ID, c.ID), accountIDs(items)); d != "" {
			t.Errorf("Descendants after a delete (-want +got):\n%s", d)
		}
		// An id reused after a delete starts with no descendants.
		again := newAccount(c, "B again")
		again.ID = b.ID
		must(t, "CreateAccount with a deleted id", s.CreateAccount(ctx, again))
		items, _, err = s.Descendants(ctx, a.ID, identity.Page{})
		must(t, "Descendants", err)
		if len(items) != 0 {
			t.Errorf("Descendants of A after its child moved away by delete and re-create: %v", accountIDs(items))
		}
		items, _, err = s.Descendants(ctx, c.ID, identity.Page{})
		must(t, "Descendants", err)
		if d := diff([]string{b.ID}, accountIDs(items)); d != "" {
			t.Errorf("Descendants of C (-want +got):\n%s", d)
		}
	}},
}
