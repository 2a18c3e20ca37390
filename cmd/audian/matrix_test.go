package main

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/audian/audian/internal/config"
	"github.com/audian/audian/internal/identity"
)

// principal is one kind of caller of the authorization matrix.
type principal int

const (
	anonymous       principal = iota
	plainUser                 // priv_level user in the target account
	accountAdmin              // priv_level admin in the target account
	parentAdmin               // admin of the target's parent
	childAdmin                // admin of a child of the target
	siblingAdmin              // admin of a sibling of the target
	apiKeyToken               // api_auth with the target account's key
	restrictedToken           // an admin's cb_auth token, restricted by the target account's token restrictions
	systemAdmin               // admin of the system (bootstrap) account
	numPrincipals
)

var principalNames = [numPrincipals]string{
	"anonymous", "user", "admin", "parent admin", "child admin", "sibling admin", "api key", "restricted", "system",
}

// statuses are the expected statuses, in principal order.
type statuses [numPrincipals]int

// matrix is THE authorization matrix: every method of every route, by
// caller. The target is account A under parent P (with sibling S), with
// child C below it; {user_id} is A's plain user (its own record) except
// for DELETE, which gets a fresh user per cell. A's token restrictions
// (restrictionsBody) let cb_auth tokens GET A itself and A's users only.
// Writes send a valid body, so an allowed write succeeds; DELETE of A is
// refused with 409 because A has a child.
var matrix = map[string]statuses{
	//                                                 anon user admin parent child sibling key restricted system
	"PUT /v2/api_auth":                                                         {400, 400, 400, 400, 400, 400, 400, 400, 400},
	"PUT /v2/user_auth":                                                        {400, 400, 400, 400, 400, 400, 400, 400, 400},
	"PUT /v2/user_auth/recovery":                                               {400, 400, 400, 400, 400, 400, 400, 400, 400},
	"POST /v2/user_auth/recovery":                                              {400, 400, 400, 400, 400, 400, 400, 400, 400},
	"GET /v2/auth/tokeninfo":                                                   {400, 400, 400, 400, 400, 400, 400, 400, 400},
	"POST /v2/auth/tokeninfo":                                                  {400, 400, 400, 400, 400, 400, 400, 400, 400},
	"PUT /v2/auth":                                                             {401, 201, 201, 201, 201, 201, 201, 403, 201},
	"GET /v2/auth/keys":                                                        {401, 403, 200, 200, 200, 200, 200, 403, 200},
	"GET /v2/auth/keys/{kid}":                                                  {401, 403, 200, 200, 200, 200, 200, 403, 200},
	"PUT /v2/auth/signing_keys/rotate":                                         {401, 403, 403, 403, 403, 403, 403, 403, 201},
	"GET /v2/token_auth":                                                       {401, 200, 200, 200, 200, 200, 200, 403, 200},
	"DELETE /v2/token_auth":                                                    {401, 200, 200, 200, 200, 200, 200, 403, 200},
	"PUT /v2/accounts":                                                         {401, 403, 201, 201, 201, 201, 201, 403, 201},
	"GET /v2/accounts/{account_id}":                                            {401, 200, 200, 200, 403, 403, 200, 200, 200},
	"PUT /v2/accounts/{account_id}":                                            {401, 403, 201, 201, 403, 403, 201, 403, 201},
	"POST /v2/accounts/{account_id}":                                           {401, 403, 200, 200, 403, 403, 200, 403, 200},
	"PATCH /v2/accounts/{account_id}":                                          {401, 403, 200, 200, 403, 403, 200, 403, 200},
	"DELETE /v2/accounts/{account_id}":                                         {401, 403, 403, 409, 403, 403, 403, 403, 409},
	"GET /v2/accounts/{account_id}/children":                                   {401, 200, 200, 200, 403, 403, 200, 403, 200},
	"GET /v2/accounts/{account_id}/descendants":                                {401, 200, 200, 200, 403, 403, 200, 403, 200},
	"GET /v2/accounts/{account_id}/parents":                                    {401, 200, 200, 200, 403, 403, 200, 403, 200},
	"GET /v2/accounts/{account_id}/siblings":                                   {401, 403, 403, 200, 403, 403, 403, 403, 200},
	"GET /v2/accounts/{account_id}/tree":                                       {401, 200, 200, 200, 403, 403, 200, 403, 200},
	"GET /v2/accounts/{account_id}/api_key":                                    {401, 403, 200, 200, 403, 403, 200, 403, 200},
	"PUT /v2/accounts/{account_id}/api_key":                                    {401, 403, 201, 201, 403, 403, 201, 403, 201},
	"GET /v2/accounts/{account_id}/api_keys":                                   {401, 200, 200, 200, 403, 403, 200, 403, 200},
	"PUT /v2/accounts/{account_id}/api_keys":                                   {401, 201, 201, 201, 403, 403, 201, 403, 201},
	"GET /v2/accounts/{account_id}/api_keys/{key_id}":                          {401, 403, 200, 200, 403, 403, 200, 403, 200},
	"PATCH /v2/accounts/{account_id}/api_keys/{key_id}":                        {401, 403, 200, 200, 403, 403, 200, 403, 200},
	"DELETE /v2/accounts/{account_id}/api_keys/{key_id}":                       {401, 403, 200, 200, 403, 403, 200, 403, 200},
	"PUT /v2/accounts/{account_id}/api_keys/{key_id}/rotate":                   {401, 403, 201, 201, 403, 403, 201, 403, 201},
	"PUT /v2/accounts/{account_id}/access_tokens":                              {401, 201, 201, 403, 403, 403, 201, 403, 403},
	"GET /v2/accounts/{account_id}/token_restrictions":                         {401, 403, 200, 200, 403, 403, 200, 403, 200},
	"POST /v2/accounts/{account_id}/token_restrictions":                        {401, 403, 403, 200, 403, 403, 403, 403, 200},
	"DELETE /v2/accounts/{account_id}/token_restrictions":                      {401, 403, 403, 200, 403, 403, 403, 403, 200},
	"GET /v2/accounts/{account_id}/audit":                                      {401, 403, 200, 200, 403, 403, 200, 403, 200},
	"GET /v2/accounts/{account_id}/rate_limits":                                {401, 403, 200, 200, 403, 403, 200, 403, 200},
	"POST /v2/accounts/{account_id}/rate_limits":                               {401, 403, 403, 403, 403, 403, 403, 403, 200},
	"DELETE /v2/accounts/{account_id}/rate_limits":                             {401, 403, 403, 403, 403, 403, 403, 403, 200},
	"GET /v2/accounts/{account_id}/users":                                      {401, 403, 200, 200, 403, 403, 200, 200, 200},
	"PUT /v2/accounts/{account_id}/users":                                      {401, 403, 201, 201, 403, 403, 201, 403, 201},
	"GET /v2/accounts/{account_id}/users/{user_id}":                            {401, 200, 200, 200, 403, 403, 200, 200, 200},
	"POST /v2/accounts/{account_id}/users/{user_id}":                           {401, 200, 200, 200, 403, 403, 200, 403, 200},
	"PATCH /v2/accounts/{account_id}/users/{user_id}":                          {401, 200, 200, 200, 403, 403, 200, 403, 200},
	"DELETE /v2/accounts/{account_id}/users/{user_id}":                         {401, 403, 200, 200, 403, 403, 200, 403, 200},
	"GET /v2/accounts/{account_id}/oauth_apps":                                 {401, 403, 200, 200, 403, 403, 200, 403, 200},
	"PUT /v2/accounts/{account_id}/oauth_apps":                                 {401, 403, 201, 201, 403, 403, 201, 403, 201},
	"GET /v2/accounts/{account_id}/oauth_apps/{app_id}":                        {401, 403, 200, 200, 403, 403, 200, 403, 200},
	"PATCH /v2/accounts/{account_id}/oauth_apps/{app_id}":                      {401, 403, 200, 200, 403, 403, 200, 403, 200},
	"DELETE /v2/accounts/{account_id}/oauth_apps/{app_id}":                     {401, 403, 200, 200, 403, 403, 200, 403, 200},
	"PUT /v2/accounts/{account_id}/oauth_apps/{app_id}/rotate":                 {401, 403, 200, 200, 403, 403, 200, 403, 200},
	"GET /v2/accounts/{account_id}/users/{user_id}/oauth_grants":               {401, 200, 200, 200, 403, 403, 200, 403, 200},
	"DELETE /v2/accounts/{account_id}/users/{user_id}/oauth_grants/{grant_id}": {401, 200, 200, 200, 403, 403, 200, 403, 200},
	"GET /v2/openapi.json":                                                     {200, 200, 200, 200, 200, 200, 200, 200, 200},
	// Monster UI's modules: icons, screenshots and branding by domain are public, as in Kazoo.
	"GET /v2/accounts/{account_id}/alerts":                             {401, 200, 200, 200, 403, 403, 200, 403, 200},
	"PUT /v2/accounts/{account_id}/alerts":                             {401, 403, 403, 201, 403, 403, 403, 403, 201},
	"DELETE /v2/accounts/{account_id}/alerts/{alert_id}":               {401, 403, 200, 200, 403, 403, 200, 403, 200},
	"GET /v2/accounts/{account_id}/alerts/{alert_id}":                  {401, 200, 200, 200, 403, 403, 200, 403, 200},
	"GET /v2/accounts/{account_id}/apps_store":                         {401, 200, 200, 200, 403, 403, 200, 403, 200},
	"GET /v2/accounts/{account_id}/apps_store/blacklist":               {401, 403, 403, 200, 403, 403, 403, 403, 200},
	"POST /v2/accounts/{account_id}/apps_store/blacklist":              {401, 403, 403, 200, 403, 403, 403, 403, 200},
	"DELETE /v2/accounts/{account_id}/apps_store/{app_id}":             {401, 403, 200, 200, 403, 403, 200, 403, 200},
	"GET /v2/accounts/{account_id}/apps_store/{app_id}":                {401, 200, 200, 200, 403, 403, 200, 403, 200},
	"POST /v2/accounts/{account_id}/apps_store/{app_id}":               {401, 403, 200, 200, 403, 403, 200, 403, 200},
	"PUT /v2/accounts/{account_id}/apps_store/{app_id}":                {401, 403, 201, 201, 403, 403, 201, 403, 201},
	"GET /v2/accounts/{account_id}/apps_store/{app_id}/icon":           {200, 200, 200, 200, 200, 200, 200, 200, 200},
	"GET /v2/accounts/{account_id}/apps_store/{app_id}/screenshot/{n}": {200, 200, 200, 200, 200, 200, 200, 200, 200},
	"GET /v2/accounts/{account_id}/ledgers":                            {401, 200, 200, 200, 403, 403, 200, 403, 200},
	"GET /v2/accounts/{account_id}/ledgers/total":                      {401, 200, 200, 200, 403, 403, 200, 403, 200},
	"GET /v2/accounts/{account_id}/ledgers/{ledger_id}":                {401, 200, 200, 200, 403, 403, 200, 403, 200},
	"GET /v2/accounts/{account_id}/limits":                             {401, 200, 200, 200, 403, 403, 200, 403, 200},
	"POST /v2/accounts/{account_id}/limits":                            {401, 403, 403, 200, 403, 403, 403, 403, 200},
	"DELETE /v2/accounts/{account_id}/whitelabel":                      {401, 403, 200, 200, 403, 403, 200, 403, 200},
	"GET /v2/accounts/{account_id}/whitelabel":                         {401, 200, 200, 200, 403, 403, 200, 403, 200},
	"POST /v2/accounts/{account_id}/whitelabel":                        {401, 403, 200, 200, 403, 403, 200, 403, 200},
	"PUT /v2/accounts/{account_id}/whitelabel":                         {401, 403, 201, 201, 403, 403, 201, 403, 201},
	"GET /v2/accounts/{account_id}/whitelabel/icon":                    {401, 200, 200, 200, 403, 403, 200, 403, 200},
	"POST /v2/accounts/{account_id}/whitelabel/icon":                   {401, 403, 200, 200, 403, 403, 200, 403, 200},
	"GET /v2/accounts/{account_id}/whitelabel/logo":                    {401, 200, 200, 200, 403, 403, 200, 403, 200},
	"POST /v2/accounts/{account_id}/whitelabel/logo":                   {401, 403, 200, 200, 403, 403, 200, 403, 200},
	"GET /v2/accounts/{account_id}/whitelabel/welcome":                 {401, 200, 200, 200, 403, 403, 200, 403, 200},
	"POST /v2/accounts/{account_id}/whitelabel/welcome":                {401, 403, 200, 200, 403, 403, 200, 403, 200},
	"PUT /v2/apps_store":                                               {401, 403, 403, 403, 403, 403, 403, 403, 201},
	"DELETE /v2/apps_store/{app_id}":                                   {401, 403, 403, 403, 403, 403, 403, 403, 200},
	"GET /v2/whitelabel/{domain}":                                      {200, 200, 200, 200, 200, 200, 200, 200, 200},
	"GET /v2/whitelabel/{domain}/icon":                                 {200, 200, 200, 200, 200, 200, 200, 200, 200},
	"GET /v2/whitelabel/{domain}/logo":                                 {200, 200, 200, 200, 200, 200, 200, 200, 200},
	"GET /v2/whitelabel/{domain}/welcome":                              {200, 200, 200, 200, 200, 200, 200, 200, 200},
}

// matrixFixture is the account tree and the callers of the matrix.
type matrixFixture struct {
	n                  *node
	sys                string // a system admin token for set-up
	parent, a, child   string
	sibling            string
	plainUser, aAdmin  string
	owners             [numPrincipals]identity.Claims
	restrictionsOnA    map[string]any
	systemUser, rootID string
}

func newMatrixFixture(t *testing.T, n *node) *matrixFixture {
	f := &matrixFixture{n: n, rootID: n.m.Bootstrapped.AccountID, systemUser: n.m.Bootstrapped.UserID}
	f.sys = n.mint(t, userClaims(f.rootID, f.systemUser, "admin"))
	acct := func(parent, name string) string {
		r := n.do("PUT", "/v2/accounts/"+parent, f.sys, map[string]any{"data": map[string]any{"name": name}})
		mustStatus(t, "create "+name, r, 201)
		return r.data()["id"].(string)
	}
	user := func(account, role string) string {
		r := n.do("PUT", "/v2/accounts/"+account+"/users", f.sys, map[string]any{"data": map[string]any{
			"first_name": role, "last_name": "Matrix", "priv_level": role}})
		mustStatus(t, "create user", r, 201)
		return r.data()["id"].(string)
	}
	f.parent = acct(f.rootID, "Matrix Parent")
	f.a = acct(f.parent, "Matrix A")
	f.sibling = acct(f.parent, "Matrix Sibling")
	f.child = acct(f.a, "Matrix Child")
	f.plainUser, f.aAdmin = user(f.a, "user"), user(f.a, "admin")
	f.owners[plainUser] = userClaims(f.a, f.plainUser, "user")
	f.owners[accountAdmin] = userClaims(f.a, f.aAdmin, "admin")
	f.owners[parentAdmin] = userClaims(f.parent, user(f.parent, "admin"), "admin")
	f.owners[childAdmin] = userClaims(f.child, user(f.child, "admin"), "admin")
	f.owners[siblingAdmin] = userClaims(f.sibling, user(f.sibling, "admin"), "admin")
	f.owners[restrictedToken] = identity.Claims{AccountID: f.a, OwnerID: f.aAdmin, Method: identity.MethodAuth, PrivLevel: "admin"}
	f.owners[systemAdmin] = userClaims(f.rootID, f.systemUser, "admin")
	f.restrict(t)
	return f
}

// restrict (re)sets A's token restrictions.
func (f *matrixFixture) restrict(t *testing.T) {
	mustStatus(t, "set restrictions", f.n.do("POST", "/v2/accounts/"+f.a+"/token_restrictions", f.sys, restrictionsBody), 200)
}

// token returns a fresh token of p: fresh, because a cell may revoke the
// token it used (DELETE token_auth) or replace A's key (PUT api_key).
func (f *matrixFixture) token(t *testing.T, p principal) string {
	switch p {
	case anonymous:
		return ""
	case apiKeyToken:
		r := f.n.do("GET", "/v2/accounts/"+f.a+"/api_key", f.sys, nil)
		mustStatus(t, "read A's key", r, 200)
		return f.n.login(r.data()["api_key"].(string))
	}
	return f.n.mint(t, f.owners[p])
}

// request builds the path and body of one cell.
func (f *matrixFixture) request(t *testing.T, method, pattern string) (string, any) {
	if path, body, ok := f.monsterRequest(t, method, pattern); ok {
		return path, body
	}
	path := strings.ReplaceAll(pattern, "{account_id}", f.a)
	pathUser := f.plainUser
	if strings.Contains(path, "{user_id}") {
		id := f.plainUser
		if method == "DELETE" && !strings.Contains(path, "{grant_id}") {
			r := f.n.do("PUT", "/v2/accounts/"+f.a+"/users", f.sys, map[string]any{"data": map[string]any{"first_name": "Doomed", "last_name": "User"}})
			mustStatus(t, "create a user to delete", r, 201)
			id = r.data()["id"].(string)
		}
		path = strings.ReplaceAll(path, "{user_id}", id)
		pathUser = id
	}
	if strings.Contains(path, "{key_id}") {
		// A fresh named key of A per cell, made by the system admin, so
		// that a plain user meets a key it does not own (namedkeys.go).
		r := f.n.do("PUT", "/v2/accounts/"+f.a+"/api_keys", f.sys, map[string]any{"data": map[string]any{"name": "matrix"}})
		mustStatus(t, "create a named key", r, 201)
		path = strings.ReplaceAll(path, "{key_id}", r.data()["id"].(string))
	}
	if strings.Contains(path, "/oauth_apps/{app_id}") || strings.Contains(path, "{grant_id}") {
		// A fresh OAuth application of A per cell, and for grants, the
		// path user's consent to it.
		r := f.n.do("PUT", "/v2/accounts/"+f.a+"/oauth_apps", f.sys, map[string]any{"data": map[string]any{
			"name": "matrix", "redirect_uris": []string{"https://matrix.example.com/cb"}}})
		mustStatus(t, "create an OAuth app", r, 201)
		app := r.data()["id"].(string)
		path = strings.ReplaceAll(path, "{app_id}", app)
		if strings.Contains(path, "{grant_id}") {
			g := &identity.OAuthGrant{AccountID: f.a, UserID: pathUser, AppID: app, Scopes: []string{"openid"}}
			if err := f.n.m.Store.SaveOAuthGrant(t.Context(), g); err != nil {
				t.Fatal(err)
			}
			path = strings.ReplaceAll(path, "{grant_id}", g.ID)
		}
	}
	if strings.Contains(path, "{kid}") {
		path = strings.ReplaceAll(path, "{kid}", f.n.m.Tokens.KeyIDs()[0])
	}
	data := map[string]any{}
	switch method + " " + pattern {
	case "GET /v2/auth/tokeninfo", "POST /v2/auth/tokeninfo", "PUT /v2/api_auth", "PUT /v2/user_auth",
		"PUT /v2/user_auth/recovery", "POST /v2/user_auth/recovery":
		// Public routes: an incomplete request, answered the same to every
		// caller whatever token it presents.
	case "PUT /v2/accounts", "PUT /v2/accounts/{account_id}":
		data["name"] = "Matrix " + identity.NewID()[:12]
	case "POST /v2/accounts/{account_id}":
		data["name"] = "Matrix A"
	case "PUT /v2/accounts/{account_id}/users", "POST /v2/accounts/{account_id}/users/{user_id}":
		data["first_name"], data["last_name"] = "Matrix", "Cell"
	case "POST /v2/accounts/{account_id}/token_restrictions":
		return path, restrictionsBody
	case "PUT /v2/auth":
		return path, map[string]any{"action": "refresh_token", "data": data}
	case "PUT /v2/accounts/{account_id}/api_keys", "PATCH /v2/accounts/{account_id}/api_keys/{key_id}":
		data["name"] = "matrix cell"
	case "PUT /v2/accounts/{account_id}/oauth_apps":
		data["name"], data["redirect_uris"] = "matrix cell", []string{"https://matrix.example.com/cb"}
	case "PATCH /v2/accounts/{account_id}/oauth_apps/{app_id}":
		data["name"] = "matrix cell"
	case "PUT /v2/accounts/{account_id}/access_tokens":
		data["scopes"] = []string{"accounts:read"}
	}
	if method == "GET" || method == "DELETE" {
		return path, nil
	}
	return path, map[string]any{"data": data}
}

// TestAuthorizationMatrix runs every route of the API for every kind of
// caller and checks the status against the matrix. A route without a row
// fails, naming the route.
func TestAuthorizationMatrix(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			// Rate limiting off: the matrix sends hundreds of requests
			// from one address to one account.
			n := startNode(t, t.TempDir(), b.dsn(t), &secrets{}, func(c *config.Config) { c.RateCost = 0 })
			matrixRun(t, n)
		})
	}
}

func matrixRun(t *testing.T, n *node) {
	{
		f := newMatrixFixture(t, n)
		routes := n.m.API.Routes()
		seen := map[string]bool{}
		var printed []string
		for _, rt := range routes {
			key := rt.Method + " " + rt.Path
			seen[key] = true
			want, ok := matrix[key]
			if !ok && os.Getenv("AUDIAN_MATRIX_PRINT") == "" {
				t.Errorf("route %s has no row in the authorization matrix (cmd/audian/matrix_test.go): add one", key)
				continue
			}
			var got statuses
			for p := range numPrincipals {
				path, body := f.request(t, rt.Method, rt.Path)
				r := n.do(rt.Method, path, f.token(t, p), body)
				got[p] = r.status
				if ok && r.status != want[p] {
					t.Errorf("%s as %s: status %d, want %d\n%s", key, principalNames[p], r.status, want[p], r.raw)
				}
				// Where A's admin gets through, a restricted 403 must come
				// from the restrictions and nothing else.
				if ok && p == restrictedToken && r.status == http.StatusForbidden && want[accountAdmin] < 300 &&
					r.data()["cause"] != "access denied by token restrictions" {
					t.Errorf("%s as restricted: data.cause = %v, want the restriction's", key, r.data()["cause"])
				}
				if strings.HasSuffix(rt.Path, "/token_restrictions") && rt.Method != "GET" && r.status < 300 {
					f.restrict(t)
				}
			}
			printed = append(printed, fmt.Sprintf("%q: {%s},", key, strings.Trim(strings.Join(strings.Fields(fmt.Sprint(got)), ", "), "[]")))
		}
		for key := range matrix {
			if !seen[key] {
				t.Errorf("the matrix has a row for %s, which is not a route of the API: remove it", key)
			}
		}
		if os.Getenv("AUDIAN_MATRIX_PRINT") != "" {
			t.Log("\n" + strings.Join(printed, "\n"))
		}
	}
}
