package identity

import "context"

// TreeStore reads the account tree a page at a time, each page from one
// index range whatever the size of the tree around it.
type TreeStore interface {
	// ChildrenCounted lists the direct children of id as Children does,
	// each with the number of accounts below it, counted up to limit
	// (a count of limit means limit or more). A missing account has no
	// children.
	ChildrenCounted(ctx context.Context, id string, p Page, limit int) (items []ChildCount, next string, err error)
}

// ChildCount is a child account with the size of its subtree.
type ChildCount struct {
	Account     *Account
	Descendants int // accounts below Account, at any depth, up to the limit asked for
}
