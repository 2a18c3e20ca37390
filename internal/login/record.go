package login

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"github.com/audian/audian/internal/identity"
)

// UserIdentity names a user as the guard counts it: what the caller typed
// to name the account, and the username (lower-cased; "" for a Kazoo
// digest, which hides it). The guard hashes it before storing it.
func UserIdentity(account, username string) string {
	return "user\x00" + account + "\x00" + strings.ToLower(username)
}

// KeyIdentity names an API key by its public prefix.
func KeyIdentity(prefix string) string { return "key\x00" + prefix }

// RecoveryIdentity names a user for the throttling of password recovery
// requests, apart from its logins: asking for resets must not slow down
// signing in, nor the reverse.
func RecoveryIdentity(account, username string) string {
	return "recovery\x00" + account + "\x00" + strings.ToLower(username)
}

// AddressKey is the client address as guards and rate limits count it: an
// IPv4 address alone, an IPv6 address by its /64, since one subscriber
// holds a whole /64 and could otherwise rotate through 2^64 addresses.
func AddressKey(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap()
	if addr.Is4() {
		return addr.String()
	}
	p, err := addr.WithZone("").Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}

// Account targets of a login, as typed: the realm, else the name, else the
// phone number.
func accountTarget(name, realm, phone string) string {
	switch {
	case realm != "":
		return "realm:" + strings.ToLower(realm)
	case name != "":
		return "name:" + identity.NormalizeName(name)
	default:
		return "phone:" + phone
	}
}

// attempt is one credential check on its way through the door: the
// guard's keys and the audit entry, written detached from the client.
type attempt struct {
	d     *Door
	at    Attempt
	ip    string // AddressKey(at.ClientIP)
	ident string
}

func (d *Door) attempt(at Attempt, ident string) *attempt {
	return &attempt{d: d, at: at, ip: AddressKey(at.ClientIP), ident: ident}
}

// detach returns a context for the security work of an attempt: values
// kept (request-scoped loggers, tracing), cancellation dropped, so that a
// client hanging up cannot skip a guard count or an audit row, and the
// pipeline's audit entry dropped, as a login writes its own.
func (d *Door) detach(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(identity.WithoutAudit(context.WithoutCancel(ctx)), d.cfg.Timeout)
}

// check asks the guard whether the attempt may go on. A refusal is
// audited; a guard that cannot answer refuses (fails closed), since
// without its counters guessing would be unbounded.
func (a *attempt) check(ctx context.Context) error {
	if a.d.guard == nil {
		return nil
	}
	wait, err := a.d.guard.Check(ctx, a.ip, a.ident)
	if err != nil {
		a.d.log.ErrorContext(ctx, "the login guard failed: refusing the attempt", "request_id", a.at.RequestID, "error", err.Error())
		return retryError(errGuardDown, time.Second, err)
	}
	if wait <= 0 {
		return nil
	}
	a.audit(ctx, identity.AuditEntry{Outcome: identity.AuditFailure, Reason: "too many attempts"})
	return retryError(errThrottled, wait, nil)
}

// fail records a failed attempt with the guard and in the audit log, and
// returns ErrUnauthorized. e names the account and actor concerned, when
// known. A guard that cannot count the failure is logged: the attempt has
// failed anyway, and the next Check of a guard whose store is down
// refuses.
func (a *attempt) fail(ctx context.Context, e identity.AuditEntry, cause error) error {
	if a.d.guard != nil {
		if err := a.d.guard.Fail(ctx, a.ip, a.ident); err != nil {
			a.d.log.ErrorContext(ctx, "the login guard could not count a failure", "request_id", a.at.RequestID, "error", err.Error())
		}
	}
	e.Outcome = identity.AuditFailure
	if e.Reason == "" {
		e.Reason = "invalid credentials"
	}
	a.audit(ctx, e)
	if cause != nil && identity.ErrorCode(cause) == identity.EUnauthorized {
		return cause
	}
	return identity.ErrUnauthorized
}

// succeed clears the address's failures against the identity (and lets
// the guard remember the address as the owner's) and records the login.
func (a *attempt) succeed(ctx context.Context, e identity.AuditEntry) {
	if a.d.guard != nil {
		if err := a.d.guard.Succeed(ctx, a.ip, a.ident); err != nil {
			a.d.log.WarnContext(ctx, "the login guard could not record a success", "request_id", a.at.RequestID, "error", err.Error())
		}
	}
	e.Outcome = identity.AuditSuccess
	a.audit(ctx, e)
}

// maxUserAgent bounds what the audit log keeps of a client's User-Agent.
const maxUserAgent = 256

// audit appends e with the attempt's address, agent and request id. The
// log must not fail the login it records, so a failure to write it is
// logged instead.
func (a *attempt) audit(ctx context.Context, e identity.AuditEntry) {
	e.Action = a.at.Face
	e.ClientIP, e.RequestID = a.at.ClientIP, a.at.RequestID
	e.UserAgent = a.at.UserAgent
	if len(e.UserAgent) > maxUserAgent {
		e.UserAgent = e.UserAgent[:maxUserAgent]
	}
	if err := a.d.store.AppendAudit(ctx, e); err != nil {
		a.d.log.ErrorContext(ctx, "writing the audit log failed", "request_id", a.at.RequestID, "action", e.Action, "error", err.Error())
	}
}

// storeError turns a failure to read what a login needs into a 503 that
// says nothing about the credential: an outage must not become a 500, nor
// an oracle.
func storeError(err error) error {
	if identity.ErrorCode(err) != identity.EInternal {
		return err
	}
	return retryError(errGuardDown, time.Second, err)
}
