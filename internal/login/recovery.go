package login

import (
	"context"
	"time"
)

// Recovery counts a password recovery request against the client's
// address and the user it names (as typed: the count must not depend on
// whether the user exists, or the answer would tell), and refuses with
// 429 and RetryAfter once either has asked too often. A guard that cannot
// count refuses (503): an uncounted request is an unthrottled one.
func (d *Door) Recovery(ctx context.Context, at Attempt, accountName, realm, phone, username string) error {
	if d.recovery == nil {
		return nil
	}
	ctx, cancel := d.detach(ctx)
	defer cancel()
	ip := AddressKey(at.ClientIP)
	ident := RecoveryIdentity(accountTarget(accountName, realm, phone), username)
	wait, err := d.recovery.Check(ctx, ip, ident)
	if err != nil {
		d.log.ErrorContext(ctx, "the recovery guard failed: refusing the request", "request_id", at.RequestID, "error", err.Error())
		return retryError(errGuardDown, time.Second, err)
	}
	if wait > 0 {
		return retryError(errThrottled, wait, nil)
	}
	if err := d.recovery.Fail(ctx, ip, ident); err != nil {
		d.log.ErrorContext(ctx, "the recovery guard could not count a request: refusing it", "request_id", at.RequestID, "error", err.Error())
		return retryError(errGuardDown, time.Second, err)
	}
	return nil
}
