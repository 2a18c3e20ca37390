package web

import (
	"net/url"
	"strings"
)

// SignInPath is the portal's sign-in page; OAuth sends a person without a
// session there with SignInURL.
const SignInPath = "/sign-in"

// maxReturnTo bounds a return_to path.
const maxReturnTo = 2048

// SafeReturnTo returns p when it is a path on this origin that a sign-in
// may send the browser to, else "". Only an absolute path is accepted:
// no scheme, no host, no "//" or "/\" (which browsers read as another
// host), no control characters, no backslash anywhere.
func SafeReturnTo(p string) string {
	if p == "" || len(p) > maxReturnTo || p[0] != '/' {
		return ""
	}
	if len(p) > 1 && (p[1] == '/' || p[1] == '\\') {
		return ""
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return ""
		}
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return ""
	}
	// A path whose dot segments climb back to "//host" once cleaned is
	// refused as well.
	if strings.HasPrefix(u.EscapedPath(), "//") {
		return ""
	}
	return p
}

// SignInURL is the sign-in page that sends the browser back to returnTo
// (when safe) after signing in.
func SignInURL(returnTo string) string {
	if rt := SafeReturnTo(returnTo); rt != "" && rt != "/" {
		return SignInPath + "?return_to=" + url.QueryEscape(rt)
	}
	return SignInPath
}
