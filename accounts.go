package audian

import (
	"context"
	"iter"
	"net/url"
)

// Account is an account document. Fields the schema does not define are
// kept in Extra and written back by Update.
type Account struct {
	ID       string `json:"id,omitempty"`
	Name     string `json:"name"`
	Realm    string `json:"realm,omitempty"`
	Timezone string `json:"timezone,omitempty"`
	Language string `json:"language,omitempty"`
	// Enabled is honoured only when an ancestor writes it: an account
	// cannot re-enable itself. nil leaves it unchanged (true on create).
	Enabled *bool `json:"enabled,omitempty"`
	// The fields below are the server's; it ignores them on writes.
	Created           int64  `json:"created,omitempty"` // Gregorian seconds
	SuperDuperAdmin   *bool  `json:"superduper_admin,omitempty"`
	IsReseller        *bool  `json:"is_reseller,omitempty"`
	WNMAllowAdditions *bool  `json:"wnm_allow_additions,omitempty"`
	BillingMode       string `json:"billing_mode,omitempty"`
	ResellerID        string `json:"reseller_id,omitempty"`

	Extra map[string]any `json:"-"`
}

type accountFields Account

// MarshalJSON writes the known fields and Extra.
func (a Account) MarshalJSON() ([]byte, error) { return encodeExtra(accountFields(a), a.Extra) }

// UnmarshalJSON reads the known fields and keeps the rest in Extra.
func (a *Account) UnmarshalJSON(b []byte) error {
	var f accountFields
	extra, err := decodeExtra(b, &f)
	if err != nil {
		return err
	}
	*a = Account(f)
	a.Extra = extra
	return nil
}

// AccountSummary is an account in a tree listing (children,
// descendants, parents, siblings).
type AccountSummary struct {
	ID               string   `json:"id"`
	Name             string   `json:"name"`
	Realm            string   `json:"realm,omitempty"`
	DescendantsCount *int     `json:"descendants_count,omitempty"`
	Tree             []string `json:"tree,omitzero"`
	Flags            []any    `json:"flags,omitzero"`
}

// AccountsService manages accounts: /v2/accounts/{id}.
type AccountsService struct{ c *Client }

// Get returns account id ("" for the client's own).
func (s *AccountsService) Get(ctx context.Context, id string) (*Account, error) {
	p, err := s.c.accountPath(ctx, id)
	if err != nil {
		return nil, err
	}
	var a Account
	if _, err := s.c.call(ctx, "GET", p, nil, nil, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// Create makes a child of account parentID ("" for the client's own).
func (s *AccountsService) Create(ctx context.Context, parentID string, a *Account) (*Account, error) {
	p, err := s.c.accountPath(ctx, parentID)
	if err != nil {
		return nil, err
	}
	var out Account
	if _, err := s.c.call(ctx, "PUT", p, nil, Request{Data: a}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Update replaces a.ID's public fields with a's (POST).
func (s *AccountsService) Update(ctx context.Context, a *Account) (*Account, error) {
	p, err := s.c.accountPath(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	var out Account
	if _, err := s.c.call(ctx, "POST", p, nil, Request{Data: a}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Patch merges fields into account id (PATCH, RFC 7386: a nil value
// removes the field).
func (s *AccountsService) Patch(ctx context.Context, id string, fields map[string]any) (*Account, error) {
	p, err := s.c.accountPath(ctx, id)
	if err != nil {
		return nil, err
	}
	var out Account
	if _, err := s.c.call(ctx, "PATCH", p, nil, Request{Data: fields}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Delete deletes account id, which must have no children.
func (s *AccountsService) Delete(ctx context.Context, id string) error {
	p, err := s.c.accountPath(ctx, id)
	if err != nil {
		return err
	}
	_, err = s.c.call(ctx, "DELETE", p, nil, nil, nil)
	return err
}

// Children lists the accounts directly below id.
func (s *AccountsService) Children(ctx context.Context, id string, opts *ListOptions) iter.Seq2[AccountSummary, error] {
	return s.tree(ctx, id, "/children", opts)
}

// Descendants lists every account below id, at any depth.
func (s *AccountsService) Descendants(ctx context.Context, id string, opts *ListOptions) iter.Seq2[AccountSummary, error] {
	return s.tree(ctx, id, "/descendants", opts)
}

// Parents lists the ancestors of id that the client reaches.
func (s *AccountsService) Parents(ctx context.Context, id string, opts *ListOptions) iter.Seq2[AccountSummary, error] {
	return s.tree(ctx, id, "/parents", opts)
}

// Siblings lists the accounts beside id that the client reaches.
func (s *AccountsService) Siblings(ctx context.Context, id string, opts *ListOptions) iter.Seq2[AccountSummary, error] {
	return s.tree(ctx, id, "/siblings", opts)
}

func (s *AccountsService) tree(ctx context.Context, id, sub string, opts *ListOptions) iter.Seq2[AccountSummary, error] {
	return list[AccountSummary](s.c, ctx, func(ctx context.Context) (string, error) {
		p, err := s.c.accountPath(ctx, id)
		return p + sub, err
	}, opts.query())
}

// pathIn is account path + "/" + the escaped segments.
func (c *Client) pathIn(ctx context.Context, account string, segs ...string) (string, error) {
	p, err := c.accountPath(ctx, account)
	if err != nil {
		return "", err
	}
	for _, s := range segs {
		p += "/" + url.PathEscape(s)
	}
	return p, nil
}
