// Package identity is audian's domain: accounts arranged in a tree, their
// users, API keys, token claims, the rules for who may reach what, and the
// Store interface every storage backend implements.
//
// The package does no I/O. Storage, HTTP, token signing and the portal are
// adapters that speak its types; they never import each other.
//
// Authorization reduces to two questions answered here:
//
//	Principal.Reaches(account)  may the caller see this account at all? (tree)
//	Principal.Can(permission)   may the caller do this there?           (role, scope)
//
// Revocation is expressed as data: a user, account or API key carries a
// TokensValidAfter instant, and every change to one is written together
// with an Event, so that all server processes sharing a database learn of
// it by following the event feed (see Store.Events).
package identity
