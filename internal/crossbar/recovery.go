package crossbar

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/audian/audian/internal/credential"
	"github.com/audian/audian/internal/identity"
)

// DefaultResetLifetime is how long a password reset token works when
// Config.ResetLifetime is not set.
const DefaultResetLifetime = time.Hour

// Notifier delivers a password reset token to the person who asked for it
// (an email, a ticket, a chat message). Implementations get the token as a
// credential.Secret so that it cannot reach a log by accident.
type Notifier interface {
	NotifyPasswordReset(ctx context.Context, n PasswordResetNotice) error
}

// PasswordResetNotice is what a Notifier delivers. The holder of Token can
// set the user's password once, until ExpiresAt, with POST
// /v2/user_auth/recovery {"data":{"reset_id":Token}}.
//
// audian never builds a link holding the token (spec §9 forbids secrets in
// URLs the server generates); UIURL is the client's own address, for a
// Notifier that chooses to do so.
type PasswordResetNotice struct {
	AccountID   string
	AccountName string
	UserID      string
	Username    string
	Email       string
	UIURL       string
	Token       credential.Secret
	ExpiresAt   time.Time
}

// recoveries runs password recovery requests off the request path, so that
// the reply (and its timing) is the same whether or not the user exists:
// only the background work differs, by a database write and a
// notification. A fixed number of slots bounds the work a flood of
// requests can queue; a request waits for a slot, which depends on load,
// never on who it names.
type recoveries struct {
	slots chan struct{}
	wg    sync.WaitGroup
}

func newRecoveries(n int) *recoveries {
	return &recoveries{slots: make(chan struct{}, n)}
}

// Drain waits until every background recovery has finished, or ctx ends.
// The server calls it after it has stopped accepting requests, before the
// store is closed.
func (a *API) Drain(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		a.recoveries.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// recoveryRequest is a parsed PUT /v2/user_auth/recovery body.
type recoveryRequest struct {
	username string
	where    accountHint
	uiURL    string
}

// parseRecovery validates a recovery request as Kazoo's
// user_auth_recovery.json does, except that ui_url is optional (audian
// does not send links) and account names may be as long as accounts allow.
func parseRecovery(data map[string]any) (recoveryRequest, error) {
	v := identity.Violations{}
	req := recoveryRequest{where: parseAccountHint(data, v)}
	var ok bool
	if req.username, ok = schemaString(data, v, "username", 1, 254); !ok && v["username"] == nil {
		v.Add("username", "required", fieldRequired)
	}
	req.uiURL, _ = schemaString(data, v, "ui_url", 14, 2000)
	if req.where == (accountHint{}) && v["account_name"] == nil && v["account_realm"] == nil &&
		v["realm"] == nil && v["phone_number"] == nil {
		v.Add("account_name", "required", identity.Violation{Message: "One of account_name, account_realm or phone_number is required"})
	}
	return req, v.Err()
}

// requestRecovery starts a password recovery (PUT /v2/user_auth/recovery).
// The reply is the same 201 whether or not the account and user exist.
func (a *API) requestRecovery(c *call) (*reply, error) {
	data, err := a.readData(c)
	if err != nil {
		return nil, err
	}
	req, err := parseRecovery(data)
	if err != nil {
		return nil, err
	}
	// Each request counts against the address and the user it names (as
	// typed, so that the answer says nothing about who exists), whether or
	// not a reset is sent: a flood of requests must not become a flood of
	// mail, nor keep replacing a user's pending reset.
	if err := a.door.Recovery(c.ctx, a.attempt(c, "user_auth.recovery"), req.where.name, req.where.realm, req.where.phone, req.username); err != nil {
		return nil, err
	}
	select {
	case a.recoveries.slots <- struct{}{}:
	case <-c.ctx.Done():
		return nil, &identity.Error{Code: identity.EUnavailable, Message: "unavailable", Err: c.ctx.Err()}
	}
	a.recoveries.wg.Add(1)
	// The work outlives the request: it must not be canceled when the
	// client hangs up, but it is bounded.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), time.Minute)
	go func() {
		defer func() {
			cancel()
			<-a.recoveries.slots
			a.recoveries.wg.Done()
		}()
		if err := a.runRecovery(ctx, req); err != nil {
			a.log.WarnContext(ctx, "password recovery failed", "request_id", c.info.ID, "error", err.Error())
		}
	}()
	return &reply{status: http.StatusCreated, data: map[string]any{}, revision: "automatic"}, nil
}

// runRecovery creates a reset for the user req names, if that user exists and
// may log in, and hands its token to the Notifier.
func (a *API) runRecovery(ctx context.Context, req recoveryRequest) error {
	accounts, err := a.door.FindAccounts(ctx, req.where.name, req.where.realm)
	if err != nil {
		return err
	}
	for _, acct := range accounts {
		u, err := a.store.UserByUsername(ctx, acct.ID, req.username)
		if identity.ErrorCode(err) == identity.ENotFound {
			continue
		} else if err != nil {
			return err
		}
		usable, err := a.AccountUsable(ctx, acct)
		if err != nil {
			return err
		}
		if !u.Enabled || !usable {
			a.log.DebugContext(ctx, "password recovery refused: user or account disabled", "user_id", u.ID)
			return nil
		}
		return a.createReset(ctx, acct, u, req.uiURL)
	}
	a.log.DebugContext(ctx, "password recovery for an unknown account or user")
	return nil
}

// resetTokenBytes is the entropy of a reset token: 256 bits, so that its
// unsalted SHA-256 is as good as a slow hash and a lookup by hash is safe.
const resetTokenBytes = 32

func (a *API) createReset(ctx context.Context, acct *identity.Account, u *identity.User, uiURL string) error {
	var b [resetTokenBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	token := hex.EncodeToString(b[:])
	hash := sha256.Sum256([]byte(token))
	r := &identity.PasswordReset{
		Hash:      hash[:],
		AccountID: acct.ID,
		UserID:    u.ID,
		ExpiresAt: a.now().Add(a.cfg.ResetLifetime),
	}
	if err := a.store.CreatePasswordReset(ctx, r); err != nil {
		return err
	}
	if err := a.notifier.NotifyPasswordReset(ctx, PasswordResetNotice{
		AccountID:   acct.ID,
		AccountName: acct.Name,
		UserID:      u.ID,
		Username:    u.Username,
		Email:       u.Email,
		UIURL:       uiURL,
		Token:       credential.Secret(token),
		ExpiresAt:   r.ExpiresAt,
	}); err != nil {
		return err
	}
	a.log.InfoContext(ctx, "password reset issued and handed to the notifier", "account_id", acct.ID, "user_id", u.ID)
	return nil
}

// resetIDRE is the shape of Kazoo's reset_id (user_auth_recovery_reset.json).
var resetIDRE = regexp.MustCompile(`^[a-fA-F0-9]{40,250}$`)

// errInvalidReset is the one answer for an unknown, used or expired reset
// token, and for one whose user can no longer log in.
var errInvalidReset = identity.Invalid("reset_id", "invalid", "The reset_id is unknown, already used or expired")

// completeRecovery spends a reset token (POST /v2/user_auth/recovery): it
// sets the new password when one is given, else requires the user to set
// one, ends the user's other tokens, and logs the user in.
func (a *API) completeRecovery(c *call) (*reply, error) {
	data, err := a.readData(c)
	if err != nil {
		return nil, err
	}
	v := identity.Violations{}
	resetID, ok := schemaString(data, v, "reset_id", 1, 250)
	if !ok && v["reset_id"] == nil {
		v.Add("reset_id", "required", fieldRequired)
	}
	password, hasPassword := schemaString(data, v, "password", 1, 4*credential.MaxPasswordLength)
	if hasPassword {
		if err := credential.CheckNewPassword(password, a.cfg.PasswordMinLength); err != nil {
			v.Add("password", err.Rule, passwordViolation(err))
		}
	}
	// The password is checked before the token is spent, so that a typo in
	// it does not cost the user their reset.
	if err := v.Err(); err != nil {
		return nil, err
	}
	if !resetIDRE.MatchString(resetID) {
		return nil, errInvalidReset
	}
	hash := sha256.Sum256([]byte(strings.ToLower(resetID)))
	r, err := a.store.ConsumePasswordReset(c.ctx, hash[:], c.now)
	if identity.ErrorCode(err) == identity.ENotFound {
		return nil, errInvalidReset
	} else if err != nil {
		return nil, err
	}
	acct, err := a.store.Account(c.ctx, r.AccountID)
	if identity.ErrorCode(err) == identity.ENotFound {
		return nil, errInvalidReset
	} else if err != nil {
		return nil, err
	}
	if ok, err := a.AccountUsable(c.ctx, acct); err != nil {
		return nil, err
	} else if !ok {
		return nil, errInvalidReset
	}
	c.info.AccountID = acct.ID
	// Tokens issued before this request die. The cutoff is a millisecond
	// before the request's instant because revocation refuses tokens issued
	// at or before it, and the fresh token below may be issued within the
	// same millisecond.
	cutoff := c.now.Add(-time.Millisecond)
	// The pipeline's entry for this public route names no account; the
	// reset belongs in the user's account's log, as its own action.
	if e, ok := identity.AuditFrom(c.ctx); ok {
		e.AccountID, e.Action = acct.ID, "user_auth.recovery.reset"
		e.ActorKind, e.Actor = identity.AuditActorUser, r.UserID
		c.ctx = identity.WithAudit(c.ctx, e)
	}
	u, err := a.store.UpdateUser(c.ctx, r.AccountID, r.UserID, func(u *identity.User) error {
		if !u.Enabled {
			return errInvalidReset
		}
		if hasPassword {
			if err := a.setPassword(u, password); err != nil {
				return err
			}
			u.RequirePasswordUpdate = false
		} else {
			u.RequirePasswordUpdate = true
		}
		if cutoff.After(u.TokensValidAfter) {
			u.TokensValidAfter = cutoff
		}
		return nil
	})
	if identity.ErrorCode(err) == identity.ENotFound {
		return nil, errInvalidReset
	} else if err != nil {
		return nil, err
	}
	if err := a.sync(c.ctx); err != nil {
		return nil, err
	}
	return a.userLogin(c, acct, u, http.StatusOK)
}
