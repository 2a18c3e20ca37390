package web

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net"
	"slices"

	"github.com/audian/audian/internal/identity"
)

// BrandStore is what WhitelabelBrand reads (identity.Store).
type BrandStore interface {
	Account(ctx context.Context, id string) (*identity.Account, error)
	Whitelabel(ctx context.Context, accountID string) (*identity.Whitelabel, error)
	WhitelabelFile(ctx context.Context, accountID, name string) (*identity.WhitelabelFile, error)
	WhitelabelByDomain(ctx context.Context, domain string) (*identity.Whitelabel, error)
}

// maxLogoBytes bounds a logo inlined as a data: URL in every page.
const maxLogoBytes = 128 << 10

// logoTypes are the logo formats shown, those the whitelabel API accepts.
var logoTypes = []string{"image/png", "image/jpeg"}

// WhitelabelBrand returns a Config.Brand that shows the whitelabel
// branding (Kazoo's company_name and logo) of the account or, when it has
// none, of its nearest ancestor that has one. Failures to read it show
// the default brand: branding must never keep a person from signing in.
func WhitelabelBrand(s BrandStore) func(ctx context.Context, accountID string) Brand {
	return func(ctx context.Context, accountID string) Brand {
		acct, err := s.Account(ctx, accountID)
		if err != nil {
			return Brand{}
		}
		// The account first, then its ancestors nearest first.
		ids := append([]string{acct.ID}, acct.Tree...)
		slices.Reverse(ids[1:])
		for _, id := range ids {
			wl, err := s.Whitelabel(ctx, id)
			if err != nil {
				continue
			}
			return brandOf(ctx, s, wl)
		}
		return Brand{}
	}
}

// WhitelabelHostBrand returns a Config.BrandForHost that shows the
// branding claiming the host name the browser asked for (the whitelabel
// "domain"), for the pages seen before sign-in.
func WhitelabelHostBrand(s BrandStore) func(ctx context.Context, host string) Brand {
	return func(ctx context.Context, host string) Brand {
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		domain := identity.NormalizeDomain(host)
		if domain == "" {
			return Brand{}
		}
		wl, err := s.WhitelabelByDomain(ctx, domain)
		if err != nil {
			return Brand{}
		}
		return brandOf(ctx, s, wl)
	}
}

// brandOf reads the name and logo of a branding.
func brandOf(ctx context.Context, s BrandStore, wl *identity.Whitelabel) Brand {
	var doc struct {
		CompanyName string `json:"company_name"`
	}
	_ = json.Unmarshal(wl.Doc, &doc)
	b := Brand{Name: doc.CompanyName}
	if r := []rune(b.Name); len(r) > 64 {
		b.Name = string(r[:64])
	}
	if f, err := s.WhitelabelFile(ctx, wl.AccountID, identity.WhitelabelLogo); err == nil &&
		len(f.Data) <= maxLogoBytes && slices.Contains(logoTypes, f.ContentType) {
		b.Logo = template.URL("data:" + f.ContentType + ";base64," + base64.StdEncoding.EncodeToString(f.Data))
	}
	return b
}
