package crossbar

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/audian/audian/internal/identity"
)

// Guard slows down credential guessing (internal/ratelimit.Guard): Check
// before verifying a credential, then Fail or Succeed.
type Guard interface {
	Check(ctx context.Context, ip, ident string) (time.Duration, error)
	Fail(ctx context.Context, ip, ident string) error
	Succeed(ctx context.Context, ip, ident string) error
}

// Identities of login targets, as the guard counts them. They are hashed
// before they are stored.
func keyIdentity(prefix string) string { return "key\x00" + prefix }

func userIdentity(account, username string) string { return "user\x00" + account + "\x00" + username }

// errTooManyAttempts is a guard refusal: the same 429 as the rate limit.
var errTooManyAttempts = &identity.Error{Code: identity.ETooManyRequests, Message: "too many requests"}

// setRetryAfter sets Retry-After to wait, in whole seconds, at least 1.
func setRetryAfter(c *call, wait time.Duration) {
	secs := int((wait + time.Second - 1) / time.Second)
	c.w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
}

// loginCheck refuses with a 429 a login attempt the guard says must wait.
// It runs before the credential is looked at, so that a refused attempt
// learns nothing and costs no password hash. A guard that cannot answer
// lets the attempt through: the request rate limit still bounds it.
func (a *API) loginCheck(c *call, ident string) error {
	if a.guard == nil {
		return nil
	}
	wait, err := a.guard.Check(c.ctx, c.info.ClientIP, ident)
	if err != nil {
		a.log.WarnContext(c.ctx, "the login guard failed", "request_id", c.info.ID, "error", err.Error())
		return nil
	}
	if wait <= 0 {
		return nil
	}
	setRetryAfter(c, wait)
	return errTooManyAttempts
}

// loginFailed records a failed attempt with the guard and in the audit
// log. e says which account and actor the attempt concerned, when known.
// Only credential failures count: a 400 or a 500 is not a guess.
func (a *API) loginFailed(c *call, ident string, e identity.AuditEntry, cause error) {
	if identity.ErrorCode(cause) != identity.EUnauthorized {
		return
	}
	if a.guard != nil {
		if err := a.guard.Fail(c.ctx, c.info.ClientIP, ident); err != nil {
			a.log.WarnContext(c.ctx, "the login guard failed", "request_id", c.info.ID, "error", err.Error())
		}
	}
	e.Outcome = identity.AuditFailure
	if e.Reason == "" {
		e.Reason = "invalid credentials"
	}
	a.auditEvent(c, a.loginEntry(c, e))
}

// loginSucceeded clears the address's failures against ident and records
// the login.
func (a *API) loginSucceeded(c *call, ident string, e identity.AuditEntry) {
	if a.guard != nil {
		if err := a.guard.Succeed(c.ctx, c.info.ClientIP, ident); err != nil {
			a.log.WarnContext(c.ctx, "the login guard failed", "request_id", c.info.ID, "error", err.Error())
		}
	}
	e.Outcome = identity.AuditSuccess
	a.auditEvent(c, a.loginEntry(c, e))
}

// loginEntry completes e with the request's address, agent and id.
func (a *API) loginEntry(c *call, e identity.AuditEntry) identity.AuditEntry {
	base := auditEntry(c, e.Action)
	base.AccountID, base.ActorKind, base.Actor = e.AccountID, e.ActorKind, e.Actor
	base.Outcome, base.Reason = e.Outcome, e.Reason
	base.TargetKind, base.TargetID = e.TargetKind, e.TargetID
	return base
}

// apiAuthDone records the outcome of an api_auth attempt with the key it
// found, if any: a failure with a known key (revoked, expired, of a
// disabled account) belongs to the key's account's log, one with an
// unknown key to no account's.
func (a *API) apiAuthDone(c *call, ident string, key *identity.APIKey, err error) {
	e := identity.AuditEntry{Action: "api_auth"}
	if key != nil {
		e.AccountID, e.ActorKind, e.Actor = key.AccountID, identity.AuditActorKey, key.ID
	}
	if err != nil {
		a.loginFailed(c, ident, e, err)
		return
	}
	a.loginSucceeded(c, ident, e)
}

// userAuthIdentity is the login target of a user_auth request as the
// guard counts it: the account as typed (realm, else name, else phone
// number), and the username when the client sent one. A Kazoo digest
// hides the username, so digest logins count per account.
func userAuthIdentity(req userAuthRequest) string {
	account := "realm:" + strings.ToLower(req.where.realm)
	switch {
	case req.where.realm != "":
	case req.where.name != "":
		account = "name:" + identity.NormalizeName(req.where.name)
	default:
		account = "phone:" + req.where.phone
	}
	return userIdentity(account, strings.ToLower(req.username))
}

// userAuthFailed records a failed user_auth. The entry goes to the
// account the client named when exactly one matches; which user was
// meant is not recorded, as what was typed as a username may be a
// password.
func (a *API) userAuthFailed(c *call, ident string, req userAuthRequest, cause error) {
	e := identity.AuditEntry{Action: "user_auth"}
	if identity.ErrorCode(cause) == identity.EUnauthorized {
		if accts, err := a.loginAccounts(c.ctx, req.where); err == nil && len(accts) == 1 {
			e.AccountID = accts[0].ID
		}
	}
	a.loginFailed(c, ident, e, cause)
}
