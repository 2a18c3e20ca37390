package main

import (
	"context"
	"net/http"
	"net/netip"
	"time"

	"github.com/audian/audian/internal/identity"
	"github.com/audian/audian/internal/login"
	"github.com/audian/audian/internal/portal"
	"github.com/audian/audian/internal/web"
)

// openPortal wires the web layer and the portal: sessions in the store,
// the whitelabel brand, and sign-in through the login door.
func (m *Main) openPortal(sealer portal.Sealer, hasher portal.PasswordHasher, proxies []netip.Prefix) error {
	cfg := &m.Config
	m.Web = web.New(web.Config{
		IdleTimeout:     cfg.PortalIdleTimeout,
		AbsoluteTimeout: cfg.PortalSessionLifetime,
		TrustedProxies:  proxies,
		Brand:           web.WhitelabelBrand(m.Store),
		BrandForHost:    web.WhitelabelHostBrand(m.Store),
	}, m.Store, m.Now, m.Logger)
	var err error
	m.Portal, err = portal.New(portal.Config{
		KeyRotation: time.Duration(cfg.KeyRotationDays) * 24 * time.Hour,
	}, portal.Deps{
		Store:  m.Store,
		Web:    m.Web,
		Auth:   doorSignIn(m.Door),
		Hasher: hasher,
		Sealer: sealer,
		Sync:   m.Feed.Sync,
		Logger: m.Logger,
		Now:    m.Now,
	})
	return err
}

// doorSignIn is the portal's sign-in through the login door, recorded as
// "portal.sign_in".
func doorSignIn(d *login.Door) portal.Authenticator {
	return portal.AuthenticatorFunc(func(ctx context.Context, in portal.SignIn) (*identity.Account, *identity.User, error) {
		ul, err := d.Password(ctx, login.Attempt{
			ClientIP: in.ClientIP, UserAgent: in.UserAgent, RequestID: in.RequestID, Face: "portal.sign_in",
		}, login.PasswordLogin{AccountName: in.AccountName, Username: in.Username, Password: in.Password})
		if err != nil {
			return nil, nil, err
		}
		return ul.Account, ul.User, nil
	})
}

// mount registers the API, the portal and the OAuth provider on the
// server's mux: the API under /v2 (and its 404 for any path no one
// claims), the portal's pages and assets at /, OAuth under /oauth, /device
// and /.well-known.
func (m *Main) mount(mux *http.ServeMux) {
	m.API.Mount(mux)
	m.Portal.Mount(mux)
	m.OAuth.Mount(mux)
}
