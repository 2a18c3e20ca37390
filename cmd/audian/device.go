package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// deviceToken is the token endpoint's reply (RFC 6749 §5.1).
type deviceToken struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in"`
	Error        string `json:"error"`
	Description  string `json:"error_description"`
}

// deviceLogin runs the OAuth device authorization grant (RFC 8628) with
// the public client clientID: it asks for a code, tells the person where
// to approve it, and polls the token endpoint until they do.
func deviceLogin(ctx context.Context, hc *http.Client, base, clientID, scope string, tell io.Writer) (*deviceToken, error) {
	var da struct {
		DeviceCode              string `json:"device_code"`
		UserCode                string `json:"user_code"`
		VerificationURI         string `json:"verification_uri"`
		VerificationURIComplete string `json:"verification_uri_complete"`
		ExpiresIn               int    `json:"expires_in"`
		Interval                int    `json:"interval"`
		Error                   string `json:"error"`
		Description             string `json:"error_description"`
	}
	form := url.Values{"client_id": {clientID}}
	if scope != "" {
		form.Set("scope", scope)
	}
	if err := postForm(ctx, hc, base+"/oauth/device_authorization", form, &da); err != nil {
		return nil, err
	}
	if da.Error != "" || da.DeviceCode == "" {
		return nil, fmt.Errorf("device authorization: %s %s", da.Error, da.Description)
	}
	fmt.Fprintf(tell, "To log in, open %s and enter the code %s\n", da.VerificationURI, da.UserCode)
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(tell, "(or open %s)\n", da.VerificationURIComplete)
	}
	interval := time.Duration(max(da.Interval, 1)) * time.Second
	deadline := time.Now().Add(time.Duration(max(da.ExpiresIn, 60)) * time.Second)
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(interval):
		}
		var tok deviceToken
		err := postForm(ctx, hc, base+"/oauth/token", url.Values{
			"grant_type":  {"urn:ietf:params:oauth:grant-type:device_code"},
			"device_code": {da.DeviceCode},
			"client_id":   {clientID},
		}, &tok)
		if err != nil {
			return nil, err
		}
		switch tok.Error {
		case "":
			if tok.AccessToken == "" {
				return nil, errors.New("device login: the server issued no token")
			}
			return &tok, nil
		case "authorization_pending":
		case "slow_down":
			interval += 5 * time.Second // RFC 8628 §3.5
		default:
			return nil, fmt.Errorf("device login: %s %s", tok.Error, tok.Description)
		}
		if time.Now().After(deadline) {
			return nil, errors.New("device login: the code expired before it was approved")
		}
	}
}

// refreshOAuth exchanges a refresh token for a new access token.
func refreshOAuth(ctx context.Context, hc *http.Client, base, clientID, refresh string) (*deviceToken, error) {
	var tok deviceToken
	if err := postForm(ctx, hc, base+"/oauth/token", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {clientID},
	}, &tok); err != nil {
		return nil, err
	}
	if tok.Error != "" || tok.AccessToken == "" {
		return nil, fmt.Errorf("refreshing the token: %s %s", tok.Error, tok.Description)
	}
	return &tok, nil
}

// postForm posts form and decodes the JSON reply, error replies too
// (OAuth errors come with 400 and a JSON body).
func postForm(ctx context.Context, hc *http.Client, u string, form url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("POST %s: %d, not JSON", u, res.StatusCode)
	}
	return nil
}

// httpClient trusts caPEM, when given, besides the system's roots.
func httpClient(caPEM []byte) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if len(caPEM) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		pool.AppendCertsFromPEM(caPEM)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// expiresWithin reports whether the JWT's exp is less than d away (read
// without verifying: only the server's check counts).
func expiresWithin(token string, d time.Duration) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return false
	}
	var claims struct {
		Exp int64 `json:"exp"`
	}
	if json.Unmarshal(raw, &claims) != nil || claims.Exp == 0 {
		return false
	}
	return time.Until(time.Unix(claims.Exp, 0)) < d
}
