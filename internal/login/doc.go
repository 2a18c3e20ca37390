// Package login is audian's one door for credentials: crossbar's
// user_auth and api_auth, the portal's sign-in page and OAuth's login page
// all check a password, a Kazoo digest or an API key here, with the same
// guard, the same bound on password hashing and the same audit record. A
// fix to the door fixes every face. The door issues no token: each face
// turns a UserLogin or KeyLogin into its own session or token.
//
// A password or digest attempt runs these steps, in this order:
//
//	face ──Attempt+PasswordLogin──▶ Door.Password
//	                                   │
//	    detach from the client ────────┤  everything below runs on
//	    (WithoutCancel + own timeout)  │  context.WithoutCancel(ctx), so a
//	                                   │  client that hangs up (or half-closes)
//	                                   │  cannot skip a step
//	                                   ▼
//	                             guard.Check(address, identity)
//	                     wait>0 ──▶ 429 Retry-After, audited, no hash
//	                     error  ──▶ 503 Retry-After (fail closed), no hash
//	                                   │
//	                                   ▼
//	                         take a hashing slot (at most HashConcurrency
//	                         argon2id evaluations at once)
//	              no slot within HashWait ──▶ 429 Retry-After, no hash
//	              client gone while waiting ─▶ counted as a failure, no hash
//	                                   │
//	                                   ▼
//	                             guard.Check again (the counters may have
//	                             grown while this attempt waited)
//	                                   │
//	                                   ▼
//	                 lookup (realm, else name; user by name or digest lookup)
//	                                   │
//	                                   ▼
//	               exactly one argon2id evaluation: Verify the user's
//	               hash, or Burn when there is none; disabled users and
//	               accounts are verified, then refused
//	                                   │
//	               ┌───────────────────┴──────────────────┐
//	               ▼ failure                              ▼ success
//	      guard.Fail + audit row                guard.Succeed + audit row
//	      ErrUnauthorized (401)                 UserLogin
//
// API keys skip the hashing slot (a key is looked up by its SHA-256) but
// run the same guard and audit steps. Password recovery requests are
// throttled by Recovery, with a guard of their own (per address, per user
// as typed, per (user, address)), so that asking for resets never slows
// signing in, nor the reverse.
//
// Every credential failure is identity.ErrUnauthorized, whatever its cause,
// so that no reply tells an unknown account from a wrong password. A
// refusal by the guard or for want of a hashing slot is an *identity.Error
// with Code ETooManyRequests (or EUnavailable) and RetryAfter set.
//
// A client gone before its credential is verified. Its attempt costs no
// argon2id evaluation, but it is still counted as a failure and audited:
// otherwise an attacker could queue attempts and abandon them for free,
// filling the hashing queue while never tripping the guard. Counting it
// gives the attacker nothing (no credential was checked, nothing is
// learned) and costs an honest user who gives up at most one of the free
// failures. A client that is gone when a slot is free at once is still
// verified: a client that half-closes its side of the connection after
// sending the request is "gone" to the server yet still reads the reply,
// and the bound on slots already caps what such requests cost.
package login
