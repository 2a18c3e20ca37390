package oauth

import (
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/audian/audian/internal/identity"
)

// authRequest is an authorization request as a ticket's Data holds it,
// from /oauth/authorize through consent to the code exchange. It is the
// op.AuthRequest the library works with.
type authRequest struct {
	ID                  string            `json:"-"`
	ClientID            string            `json:"client_id"`
	RedirectURI         string            `json:"redirect_uri"`
	State               string            `json:"state,omitempty"`
	Nonce               string            `json:"nonce,omitempty"`
	Scopes              []string          `json:"scopes"`
	ResponseType        oidc.ResponseType `json:"response_type"`
	ResponseMode        oidc.ResponseMode `json:"response_mode,omitempty"`
	CodeChallenge       string            `json:"code_challenge,omitempty"`
	CodeChallengeMethod string            `json:"code_challenge_method,omitempty"`
	Created             time.Time         `json:"created"`
	// Set once the person has signed in and consented.
	AccountID string    `json:"account_id,omitempty"`
	UserID    string    `json:"user_id,omitempty"`
	AuthTime  time.Time `json:"auth_time,omitempty"`
	Approved  bool      `json:"approved,omitempty"`
	// What the code exchange issued, revoked if the code comes back.
	IssuedJTIs []issued `json:"issued,omitempty"`
	FamilyID   string   `json:"family_id,omitempty"`
}

type issued struct {
	JTI     string    `json:"jti"`
	Expires time.Time `json:"exp"`
}

func (a *authRequest) GetID() string                      { return a.ID }
func (a *authRequest) GetACR() string                     { return "" }
func (a *authRequest) GetAMR() []string                   { return []string{"pwd"} }
func (a *authRequest) GetAudience() []string              { return []string{a.ClientID} }
func (a *authRequest) GetAuthTime() time.Time             { return a.AuthTime }
func (a *authRequest) GetClientID() string                { return a.ClientID }
func (a *authRequest) GetNonce() string                   { return a.Nonce }
func (a *authRequest) GetRedirectURI() string             { return a.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType { return a.ResponseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return a.ResponseMode }
func (a *authRequest) GetScopes() []string                { return a.Scopes }
func (a *authRequest) GetState() string                   { return a.State }
func (a *authRequest) GetSubject() string                 { return userSubject(a.AccountID, a.UserID) }
func (a *authRequest) Done() bool                         { return a.Approved && a.UserID != "" }

func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.CodeChallenge, Method: oidc.CodeChallengeMethod(a.CodeChallengeMethod)}
}

// clientRequest is a client credentials grant: the application acts for
// itself.
type clientRequest struct {
	clientID string
	scopes   []string
}

func (c *clientRequest) GetSubject() string    { return c.clientID }
func (c *clientRequest) GetAudience() []string { return []string{c.clientID} }
func (c *clientRequest) GetScopes() []string   { return c.scopes }

// refreshRequest is a refresh token grant, carrying the stored token.
type refreshRequest struct {
	token  string
	rec    *identity.OAuthRefresh
	scopes []string
}

func (r *refreshRequest) GetAMR() []string                 { return []string{"pwd"} }
func (r *refreshRequest) GetAudience() []string            { return []string{r.rec.AppID} }
func (r *refreshRequest) GetAuthTime() time.Time           { return r.rec.AuthTime }
func (r *refreshRequest) GetClientID() string              { return r.rec.AppID }
func (r *refreshRequest) GetScopes() []string              { return r.scopes }
func (r *refreshRequest) GetSubject() string               { return userSubject(r.rec.AccountID, r.rec.UserID) }
func (r *refreshRequest) SetCurrentScopes(scopes []string) { r.scopes = scopes }

// A user's subject is "<account_id>.<user_id>": a user id alone does not
// find the user, and the library splits token ids from subjects at ':'.
// A client acting for itself has its client_id as subject, which has no
// dot.
func userSubject(accountID, userID string) string {
	if userID == "" {
		return ""
	}
	return accountID + "." + userID
}

// splitSubject returns the account and user of a user subject; ok is
// false for a client's own subject.
func splitSubject(sub string) (accountID, userID string, ok bool) {
	accountID, userID, ok = strings.Cut(sub, ".")
	if !ok || !identity.ValidID(accountID) || !identity.ValidID(userID) {
		return "", "", false
	}
	return accountID, userID, true
}
