// Package web is the layer the portal and the OAuth pages share: server-
// side sessions in the database, the session cookie, CSRF tokens tied to
// the session, the one page layout with its embedded, content-hashed
// assets, and Render.
//
// A sign-in goes:
//
//	login door checks credentials ──► Web.Start: new random id, its SHA-256
//	stored (identity.WebSessionStore), cookie __Host-audian_session set
//	every request ──► Web.Session: cookie → hash → row; refused when past
//	the absolute or idle end, when the user is gone or disabled, or when
//	the user's tokens were cut off after the session began
//	every POST ──► Web.CheckCSRF: the form's token against HMAC(id)
//	sign out ──► Web.End: row deleted, cookie cleared
//
// Because each request reads the session and its user from the database,
// a sign-out or a disabled user takes effect on every node at once; there
// is no session cache to invalidate.
//
// The CSRF token and the one-time "flash" (a new key's secret, carried
// from a POST to the page it redirects to) are derived from the session id
// itself, which the database never holds: a copy of the database yields
// neither a cookie, nor a token, nor a secret.
package web
