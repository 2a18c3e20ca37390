package oauth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/audian/audian/internal/identity"
)

// storage implements op.Storage (with client credentials and device
// authorization) on identity.Store.
type storage struct {
	p *Provider
}

var (
	_ op.Storage                    = (*storage)(nil)
	_ op.ClientCredentialsStorage   = (*storage)(nil)
	_ op.DeviceAuthorizationStorage = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest  = (*storage)(nil)
)

// errNotFound is what the library gets for an unknown client, code or
// token: a plain error, which it answers as invalid_client/invalid_grant.
var errNotFound = errors.New("not found")

func (s *storage) now() time.Time { return s.p.now() }

// detached returns a context for a security write (audit, revocation)
// that the client's disconnect cannot cancel.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
}

// audit appends an audit entry for an OAuth action, detached from the
// client.
func (s *storage) audit(ctx context.Context, e identity.AuditEntry) {
	dctx, cancel := detached(ctx)
	defer cancel()
	if info := requestInfo(ctx); info != nil {
		e.ClientIP, e.UserAgent, e.RequestID = info.ip, info.userAgent, info.id
	}
	if err := s.p.store.AppendAudit(dctx, e); err != nil {
		s.p.log.Warn("oauth audit append failed", "action", e.Action, "error", err.Error())
	}
}

func (s *storage) app(ctx context.Context, clientID string) (*identity.OAuthApp, error) {
	if !identity.ValidID(clientID) {
		return nil, errNotFound
	}
	app, err := s.p.store.OAuthApp(ctx, clientID)
	if identity.ErrorCode(err) == identity.ENotFound {
		return nil, errNotFound
	}
	if err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	return app, nil
}

// GetClientByClientID loads the application.
func (s *storage) GetClientByClientID(ctx context.Context, clientID string) (op.Client, error) {
	app, err := s.app(ctx, clientID)
	if err != nil {
		return nil, err
	}
	return s.p.client(app), nil
}

// AuthorizeClientIDSecret checks a confidential client's secret.
func (s *storage) AuthorizeClientIDSecret(ctx context.Context, clientID, secret string) error {
	app, err := s.app(ctx, clientID)
	if err != nil {
		return err
	}
	if app.ClientType != identity.ClientConfidential || !app.SecretMatches(secret, s.now()) {
		return errors.New("invalid client secret")
	}
	return nil
}

// ClientCredentials authenticates a client for the client credentials
// grant.
func (s *storage) ClientCredentials(ctx context.Context, clientID, secret string) (op.Client, error) {
	if err := s.AuthorizeClientIDSecret(ctx, clientID, secret); err != nil {
		return nil, err
	}
	return s.GetClientByClientID(ctx, clientID)
}

// ClientCredentialsTokenRequest narrows the requested scopes to the
// application's API scopes; asking for none gets all of them.
func (s *storage) ClientCredentialsTokenRequest(ctx context.Context, clientID string, scopes []string) (op.TokenRequest, error) {
	app, err := s.app(ctx, clientID)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(app.GrantTypes, identity.GrantClientCredentials) {
		return nil, oidc.ErrUnauthorizedClient()
	}
	var granted []string
	for _, sc := range scopes {
		if slices.Contains(app.Scopes, sc) && slices.Contains(identity.OAuthAPIScopes, sc) {
			granted = append(granted, sc)
		} else {
			return nil, oidc.ErrInvalidScope().WithDescription("scope %q is not allowed for this client", sc)
		}
	}
	if len(scopes) == 0 {
		for _, sc := range app.Scopes {
			if slices.Contains(identity.OAuthAPIScopes, sc) {
				granted = append(granted, sc)
			}
		}
	}
	return &clientRequest{clientID: clientID, scopes: granted}, nil
}

// CreateAuthRequest stores a new authorization request. The library has
// checked the client, redirect URI (exactly) and response type; this adds
// what RFC 9700 asks beyond: PKCE with S256, required of public clients.
func (s *storage) CreateAuthRequest(ctx context.Context, r *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	app, err := s.app(ctx, r.ClientID)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(app.GrantTypes, identity.GrantAuthorizationCode) {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("client may not use the authorization code grant")
	}
	switch {
	case r.CodeChallenge == "" && app.ClientType == identity.ClientPublic:
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE with S256 is required")
	case r.CodeChallenge != "" && r.CodeChallengeMethod != oidc.CodeChallengeMethodS256:
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	case len(r.CodeChallenge) > 128 || len(r.State) > 1024 || len(r.Nonce) > 1024:
		return nil, oidc.ErrInvalidRequest().WithDescription("parameter too long")
	}
	var scopes []string
	for _, sc := range r.Scopes {
		if slices.Contains(app.Scopes, sc) || sc == oidc.ScopeOpenID {
			scopes = append(scopes, sc)
		}
	}
	ar := &authRequest{
		ClientID: r.ClientID, RedirectURI: r.RedirectURI, State: r.State, Nonce: r.Nonce,
		Scopes: slices.Compact(scopes), ResponseType: r.ResponseType, ResponseMode: r.ResponseMode,
		CodeChallenge: r.CodeChallenge, CodeChallengeMethod: string(r.CodeChallengeMethod), Created: s.now(),
	}
	data, err := json.Marshal(ar)
	if err != nil {
		return nil, err
	}
	t := &identity.OAuthTicket{Kind: identity.TicketAuthRequest, AppID: app.ID, Data: data, ExpiresAt: s.now().Add(s.p.cfg.LoginLifetime)}
	if err := s.p.store.CreateOAuthTicket(ctx, t); err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	ar.ID = t.ID
	return ar, nil
}

func decodeAuthRequest(t *identity.OAuthTicket) (*authRequest, error) {
	if t.Kind != identity.TicketAuthRequest {
		return nil, errNotFound
	}
	var ar authRequest
	if err := json.Unmarshal(t.Data, &ar); err != nil {
		return nil, err
	}
	ar.ID = t.ID
	return &ar, nil
}

// AuthRequestByID returns a pending request.
func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	return s.authRequest(ctx, id)
}

func (s *storage) authRequest(ctx context.Context, id string) (*authRequest, error) {
	if !identity.ValidID(id) {
		return nil, errNotFound
	}
	t, err := s.p.store.OAuthTicket(ctx, id)
	if err != nil {
		return nil, errNotFound
	}
	return decodeAuthRequest(t)
}

// SaveAuthCode attaches the code to its request, which from now on lives
// CodeLifetime (60 s).
func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	_, err := s.p.store.UpdateOAuthTicket(ctx, id, func(t *identity.OAuthTicket) error {
		t.CodeHash = identity.OAuthSecretHash(code)
		t.ExpiresAt = s.now().Add(s.p.cfg.CodeLifetime)
		return nil
	})
	return err
}

// AuthRequestByCode redeems a code, once. A code that comes back revokes
// what its first use issued (RFC 9700 section 4.2.4: a stolen code was
// raced with its owner).
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	if code == "" || len(code) > 256 {
		return nil, errNotFound
	}
	t, err := s.p.store.OAuthTicketByCode(ctx, identity.TicketAuthRequest, identity.OAuthSecretHash(code))
	if err != nil {
		return nil, errNotFound
	}
	t, err = s.p.store.UseOAuthTicket(ctx, t.ID, s.now())
	if errors.Is(err, identity.ErrTicketUsed) {
		ar, derr := decodeAuthRequest(t)
		if derr == nil {
			s.revokeIssued(ctx, ar)
		}
		return nil, errors.New("code already used")
	}
	if err != nil {
		return nil, errNotFound
	}
	return decodeAuthRequest(t)
}

// revokeIssued revokes the tokens a code's first exchange issued.
func (s *storage) revokeIssued(ctx context.Context, ar *authRequest) {
	dctx, cancel := detached(ctx)
	defer cancel()
	for _, is := range ar.IssuedJTIs {
		if err := s.p.store.RevokeToken(dctx, is.JTI, is.Expires); err != nil {
			s.p.log.Error("revoking the tokens of a reused code failed", "error", err.Error())
		}
	}
	if ar.FamilyID != "" {
		if err := s.p.store.RevokeOAuthFamily(dctx, ar.FamilyID); err != nil {
			s.p.log.Error("revoking the refresh tokens of a reused code failed", "error", err.Error())
		}
	}
	s.audit(ctx, identity.AuditEntry{AccountID: ar.AccountID, ActorKind: identity.AuditActorUser, Actor: ar.UserID,
		Action: "oauth.code_reuse", Outcome: identity.AuditFailure, Reason: "authorization code used twice",
		TargetKind: "oauth_app", TargetID: ar.ClientID})
	s.p.sync(dctx)
}

// DeleteAuthRequest keeps a redeemed request until its code expires, so
// that a second use of the code is recognised and revokes; a request that
// never got a code goes at once.
func (s *storage) DeleteAuthRequest(ctx context.Context, id string) error {
	t, err := s.p.store.OAuthTicket(ctx, id)
	if err != nil || !t.UsedAt.IsZero() {
		return nil
	}
	if err := s.p.store.DeleteOAuthTicket(ctx, id); err != nil && identity.ErrorCode(err) != identity.ENotFound {
		return err
	}
	return nil
}

// CreateAccessToken issues an access token. The returned "id" is the
// token itself, which the provider's Crypto hands back unchanged (see
// crypto.go): OAuth access tokens are audian JWTs that /v2 verifies.
func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	raw, c, grantID, err := s.p.issue(ctx, req)
	if err != nil {
		return "", time.Time{}, err
	}
	exp := time.Unix(c.ExpiresAt, 0)
	if ar, ok := req.(*authRequest); ok {
		s.recordIssued(ctx, ar, c, "")
	}
	s.auditIssue(ctx, req, c, grantID)
	return raw, exp, nil
}

// CreateAccessAndRefreshTokens issues an access token and a refresh
// token: a new family for a fresh authorization, or the next token of the
// family when rotating currentRefreshToken.
func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	raw, c, grantID, err := s.p.issue(ctx, req)
	if err != nil {
		return "", "", time.Time{}, err
	}
	if grantID == "" {
		// A client acting for itself gets no refresh token: it can ask
		// again with its credentials.
		return raw, "", time.Unix(c.ExpiresAt, 0), nil
	}
	accountID, userID, _ := splitSubject(req.GetSubject())
	refresh := newSecret("art_")
	next := &identity.OAuthRefresh{
		Hash: identity.OAuthSecretHash(refresh), GrantID: grantID, AppID: clientOf(req),
		AccountID: accountID, UserID: userID, Scopes: req.GetScopes(),
		AccessJTI: c.ID, AccessExpires: time.Unix(c.ExpiresAt, 0), ExpiresAt: s.now().Add(s.p.cfg.RefreshLifetime),
	}
	if at, ok := req.(interface{ GetAuthTime() time.Time }); ok {
		next.AuthTime = at.GetAuthTime()
	}
	if current != "" {
		_, err := s.p.store.RotateOAuthRefresh(ctx, identity.OAuthSecretHash(current), next, s.now())
		if errors.Is(err, identity.ErrRefreshReused) {
			s.reused(ctx, accountID, userID, next.AppID)
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("refresh token already used")
		}
		if err != nil {
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithParent(err)
		}
	} else {
		next.FamilyID = identity.NewID()
		if err := s.p.store.CreateOAuthRefresh(ctx, next); err != nil {
			return "", "", time.Time{}, oidc.ErrServerError().WithParent(err)
		}
	}
	if ar, ok := req.(*authRequest); ok {
		s.recordIssued(ctx, ar, c, next.FamilyID)
	}
	s.auditIssue(ctx, req, c, grantID)
	return raw, refresh, time.Unix(c.ExpiresAt, 0), nil
}

// reused records a refresh token reuse, whose family the Store revoked.
func (s *storage) reused(ctx context.Context, accountID, userID, appID string) {
	s.audit(ctx, identity.AuditEntry{AccountID: accountID, ActorKind: identity.AuditActorUser, Actor: userID,
		Action: "oauth.refresh_reuse", Outcome: identity.AuditFailure, Reason: "refresh token reused; family revoked",
		TargetKind: "oauth_app", TargetID: appID})
	dctx, cancel := detached(ctx)
	defer cancel()
	s.p.sync(dctx)
}

func clientOf(req op.TokenRequest) string {
	switch r := req.(type) {
	case *authRequest:
		return r.ClientID
	case *refreshRequest:
		return r.rec.AppID
	case *op.DeviceAuthorizationState:
		return r.ClientID
	case *clientRequest:
		return r.clientID
	}
	return ""
}

// recordIssued notes on a code's request what its exchange issued.
func (s *storage) recordIssued(ctx context.Context, ar *authRequest, c identity.Claims, family string) {
	_, err := s.p.store.UpdateOAuthTicket(ctx, ar.ID, func(t *identity.OAuthTicket) error {
		cur, err := decodeAuthRequest(t)
		if err != nil {
			return err
		}
		cur.IssuedJTIs = append(cur.IssuedJTIs, issued{JTI: c.ID, Expires: time.Unix(c.ExpiresAt, 0)})
		if family != "" {
			cur.FamilyID = family
		}
		t.Data, err = json.Marshal(cur)
		return err
	})
	if err != nil {
		s.p.log.Warn("recording the tokens of a code failed", "error", err.Error())
	}
}

func (s *storage) auditIssue(ctx context.Context, req op.TokenRequest, c identity.Claims, grantID string) {
	action := "oauth.token"
	switch req.(type) {
	case *refreshRequest:
		action = "oauth.refresh"
	case *clientRequest:
		action = "oauth.client_credentials"
	case *op.DeviceAuthorizationState:
		action = "oauth.device_token"
	}
	e := identity.AuditEntry{AccountID: c.AccountID, Action: action, TargetKind: "oauth_app", TargetID: clientOf(req)}
	if c.OwnerID != "" {
		e.ActorKind, e.Actor = identity.AuditActorUser, c.OwnerID
	} else {
		e.ActorKind, e.Actor = "oauth_app", clientOf(req)
	}
	s.audit(ctx, e)
}

// TokenRequestByRefreshToken finds an unused refresh token. A used one
// is reuse: its family is revoked.
func (s *storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	if !strings.HasPrefix(token, "art_") || len(token) > 128 {
		return nil, op.ErrInvalidRefreshToken
	}
	rec, err := s.p.store.OAuthRefresh(ctx, identity.OAuthSecretHash(token))
	if err != nil {
		return nil, op.ErrInvalidRefreshToken
	}
	if !rec.UsedAt.IsZero() {
		dctx, cancel := detached(ctx)
		defer cancel()
		if err := s.p.store.RevokeOAuthFamily(dctx, rec.FamilyID); err != nil {
			s.p.log.Error("revoking a reused refresh family failed", "error", err.Error())
		}
		s.reused(ctx, rec.AccountID, rec.UserID, rec.AppID)
		return nil, op.ErrInvalidRefreshToken
	}
	return &refreshRequest{token: token, rec: rec, scopes: rec.Scopes}, nil
}

// TerminateSession ends nothing: audian keeps no provider session apart
// from the portal's, which the portal's own sign-out ends.
func (s *storage) TerminateSession(context.Context, string, string) error { return nil }

// GetRefreshTokenInfo recognises audian refresh tokens for revocation.
func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	if !strings.HasPrefix(token, "art_") || len(token) > 128 {
		return "", "", op.ErrInvalidRefreshToken
	}
	rec, err := s.p.store.OAuthRefresh(ctx, identity.OAuthSecretHash(token))
	if err != nil || rec.AppID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	return userSubject(rec.AccountID, rec.UserID), token, nil
}

// RevokeToken revokes a refresh token's family, or one access token. A
// token of another client, or an unknown one, is ignored as RFC 7009
// asks.
func (s *storage) RevokeToken(ctx context.Context, token, _, clientID string) *oidc.Error {
	dctx, cancel := detached(ctx)
	defer cancel()
	if strings.HasPrefix(token, "art_") {
		rec, err := s.p.store.OAuthRefresh(ctx, identity.OAuthSecretHash(token))
		if err != nil || rec.AppID != clientID {
			return nil
		}
		if err := s.p.store.RevokeOAuthFamily(dctx, rec.FamilyID); err != nil {
			return oidc.ErrServerError().WithParent(err)
		}
		s.audit(ctx, identity.AuditEntry{AccountID: rec.AccountID, ActorKind: "oauth_app", Actor: clientID,
			Action: "oauth.revoke", TargetKind: "oauth_refresh", TargetID: rec.FamilyID})
		s.p.sync(dctx)
		return nil
	}
	c, err := s.p.verify(ctx, token, clientID)
	if err != nil {
		return nil
	}
	if err := s.p.store.RevokeToken(dctx, c.ID, time.Unix(c.ExpiresAt, 0)); err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	s.audit(ctx, identity.AuditEntry{AccountID: c.AccountID, ActorKind: "oauth_app", Actor: clientID,
		Action: "oauth.revoke", TargetKind: string(identity.EventToken), TargetID: c.ID})
	s.p.sync(dctx)
	return nil
}

// SigningKey is the token key ring's current key: ID tokens and /v2
// tokens verify against the same JWKS.
func (s *storage) SigningKey(context.Context) (op.SigningKey, error) {
	kid, alg, key := s.p.tokens.SigningKey()
	return signingKey{kid: kid, alg: jose.SignatureAlgorithm(alg), key: key}, nil
}

type signingKey struct {
	kid string
	alg jose.SignatureAlgorithm
	key any
}

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return k.alg }
func (k signingKey) Key() any                                    { return k.key }
func (k signingKey) ID() string                                  { return k.kid }

// SignatureAlgorithms are those of the ring's keys, which may mix
// algorithms during a change of algorithm.
func (s *storage) SignatureAlgorithms(ctx context.Context) ([]jose.SignatureAlgorithm, error) {
	keys, err := s.KeySet(ctx)
	if err != nil {
		return nil, err
	}
	_, alg, _ := s.p.tokens.SigningKey()
	algs := []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)}
	for _, k := range keys {
		if a := k.Algorithm(); a != "" && !slices.Contains(algs, a) {
			algs = append(algs, a)
		}
	}
	return algs, nil
}

// KeySet is the public half of the token key ring.
func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(s.p.tokens.JWKS(), &set); err != nil {
		return nil, err
	}
	keys := make([]op.Key, 0, len(set.Keys))
	for _, k := range set.Keys {
		keys = append(keys, publicKey{k})
	}
	return keys, nil
}

type publicKey struct{ jose.JSONWebKey }

func (k publicKey) ID() string { return k.KeyID }
func (k publicKey) Algorithm() jose.SignatureAlgorithm {
	return jose.SignatureAlgorithm(k.JSONWebKey.Algorithm)
}
func (k publicKey) Use() string { return k.JSONWebKey.Use }
func (k publicKey) Key() any    { return k.JSONWebKey.Key }

// SetUserinfoFromScopes is deprecated in the library; SetUserinfoFromRequest
// does the work.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token's user claims.
func (s *storage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	return s.userinfo(ctx, info, req.GetSubject(), scopes)
}

// SetUserinfoFromToken answers /oauth/userinfo for an access token.
func (s *storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	c, err := s.p.verify(ctx, tokenID, "")
	if err != nil || c.OwnerID == "" {
		return errNotFound
	}
	if !slices.Contains(c.Scopes, oidc.ScopeOpenID) {
		return errors.New("token without openid scope")
	}
	return s.userinfo(ctx, info, subject, c.Scopes)
}

func (s *storage) userinfo(ctx context.Context, info *oidc.UserInfo, subject string, scopes []string) error {
	accountID, userID, ok := splitSubject(subject)
	if !ok {
		return errNotFound
	}
	u, err := s.p.store.User(ctx, accountID, userID)
	if err != nil {
		return errNotFound
	}
	info.Subject = subject
	for _, sc := range scopes {
		switch sc {
		case oidc.ScopeProfile:
			info.Name = strings.TrimSpace(u.FirstName + " " + u.LastName)
			info.GivenName, info.FamilyName = u.FirstName, u.LastName
			info.PreferredUsername = u.Username
		case oidc.ScopeEmail:
			info.Email = u.Email
			info.EmailVerified = false
		}
	}
	return nil
}

// SetIntrospectionFromToken describes an active access token to the
// client it was issued to (RFC 7662); another client learns nothing.
func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	c, err := s.p.verify(ctx, tokenID, clientID)
	if err != nil {
		return err
	}
	resp.Scope = oidc.SpaceDelimitedArray(c.Scopes)
	resp.ClientID = clientID
	resp.TokenType = oidc.BearerToken
	resp.Expiration = oidc.FromTime(time.Unix(c.ExpiresAt, 0))
	resp.IssuedAt = oidc.FromTime(time.Unix(c.IssuedAt, 0))
	resp.Subject = subject
	resp.Audience = []string{clientID}
	resp.Issuer = s.p.Issuer()
	resp.JWTID = c.ID
	resp.Claims = map[string]any{"account_id": c.AccountID}
	if c.OwnerID != "" {
		if u, err := s.p.store.User(ctx, c.AccountID, c.OwnerID); err == nil {
			resp.Username = u.Username
		}
	}
	return nil
}

// GetPrivateClaimsFromScopes adds nothing: the access token is an audian
// token, not a library JWT.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID finds a private_key_jwt client's public key.
func (s *storage) GetKeyByIDAndClientID(ctx context.Context, keyID, clientID string) (*jose.JSONWebKey, error) {
	app, err := s.app(ctx, clientID)
	if err != nil {
		return nil, err
	}
	var set jose.JSONWebKeySet
	if app.JWKS == "" || json.Unmarshal([]byte(app.JWKS), &set) != nil {
		return nil, errNotFound
	}
	for _, k := range set.Keys {
		if k.KeyID == keyID || keyID == "" && len(set.Keys) == 1 {
			k := k
			return &k, nil
		}
	}
	return nil, errNotFound
}

// ValidateJWTProfileScopes refuses: the JWT bearer grant is not offered.
func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, oidc.ErrUnsupportedGrantType()
}

// Health reports whether the database answers.
func (s *storage) Health(ctx context.Context) error { return s.p.store.Ping(ctx) }

// StoreDeviceAuthorization stores a device authorization (RFC 8628).
func (s *storage) StoreDeviceAuthorization(ctx context.Context, clientID, deviceCode, userCode string, expires time.Time, scopes []string) error {
	app, err := s.app(ctx, clientID)
	if err != nil {
		return err
	}
	if !slices.Contains(app.GrantTypes, identity.GrantDeviceCode) {
		return oidc.ErrUnauthorizedClient()
	}
	var granted []string
	for _, sc := range scopes {
		if slices.Contains(app.Scopes, sc) || sc == oidc.ScopeOpenID {
			granted = append(granted, sc)
		}
	}
	data, err := json.Marshal(deviceData{ClientID: clientID, Scopes: granted})
	if err != nil {
		return err
	}
	err = s.p.store.CreateOAuthTicket(ctx, &identity.OAuthTicket{Kind: identity.TicketDevice, AppID: clientID,
		CodeHash: identity.OAuthSecretHash(deviceCode), UserCode: userCode, Data: data, ExpiresAt: expires})
	if identity.ErrorCode(err) == identity.EConflict {
		return op.ErrDuplicateUserCode
	}
	return err
}

// deviceData is a device ticket's Data.
type deviceData struct {
	ClientID  string    `json:"client_id"`
	Scopes    []string  `json:"scopes"`
	AccountID string    `json:"account_id,omitempty"`
	UserID    string    `json:"user_id,omitempty"`
	AuthTime  time.Time `json:"auth_time,omitempty"`
	Done      bool      `json:"done,omitempty"`
	Denied    bool      `json:"denied,omitempty"`
}

// GetDeviceAuthorizatonState reports a device authorization's state. An
// approved one is handed out once: the ticket is used by the poll that
// gets the tokens.
func (s *storage) GetDeviceAuthorizatonState(ctx context.Context, clientID, deviceCode string) (*op.DeviceAuthorizationState, error) {
	if deviceCode == "" || len(deviceCode) > 256 {
		return nil, errNotFound
	}
	t, err := s.p.store.OAuthTicketByCode(ctx, identity.TicketDevice, identity.OAuthSecretHash(deviceCode))
	if err != nil || t.AppID != clientID {
		return nil, errNotFound
	}
	var d deviceData
	if err := json.Unmarshal(t.Data, &d); err != nil {
		return nil, err
	}
	st := &op.DeviceAuthorizationState{ClientID: clientID, Audience: []string{clientID}, Scopes: d.Scopes, Expires: t.ExpiresAt, Denied: d.Denied}
	if d.Done {
		if _, err := s.p.store.UseOAuthTicket(ctx, t.ID, s.now()); err != nil {
			return nil, errNotFound
		}
		st.Done, st.Subject, st.AMR, st.AuthTime = true, userSubject(d.AccountID, d.UserID), []string{"pwd"}, d.AuthTime
	}
	return st, nil
}

// newSecret returns prefix plus 256 random bits, base64url.
func newSecret(prefix string) string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("oauth: crypto/rand failed: " + err.Error())
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}
