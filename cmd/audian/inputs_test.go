package main

import (
	"crypto/tls"
	"net"
	"testing"
)

// TestTLS12OffersOnlyAEAD: a TLS 1.2 client that offers only CBC suites
// finds no suite in common, while one offering GCM connects.
func TestTLS12OffersOnlyAEAD(t *testing.T) {
	n := startNode(t, t.TempDir(), "", &secrets{})
	addr := n.m.Server.Addr().String()
	cases := []struct {
		name   string
		suites []uint16
		ok     bool
	}{
		{"cbc-sha1", []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
			tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
			tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_256_CBC_SHA,
		}, false},
		{"cbc-sha256", []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, tls.TLS_RSA_WITH_AES_128_CBC_SHA256}, false},
		{"gcm", []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn, err := tls.DialWithDialer(&net.Dialer{}, "tcp", addr, &tls.Config{
				InsecureSkipVerify: true, // the handshake's suite is under test, not the certificate
				MinVersion:         tls.VersionTLS12,
				MaxVersion:         tls.VersionTLS12,
				CipherSuites:       c.suites,
			})
			if err == nil {
				suite := tls.CipherSuiteName(conn.ConnectionState().CipherSuite)
				conn.Close()
				if !c.ok {
					t.Fatalf("handshake succeeded with %s, want failure", suite)
				}
				return
			}
			if c.ok {
				t.Fatalf("handshake failed: %v", err)
			}
		})
	}
}
