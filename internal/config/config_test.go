package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadLayers(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "audian.toml")
	if err := os.WriteFile(file, []byte("listen = \":9000\"\nrate_burst = 7\ntoken_lifetime = \"2h\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"AUDIAN_CONFIG": file, "AUDIAN_RATE_BURST": "8", "AUDIAN_KEK": "secret-kek"}
	c, _, err := Load("serve", []string{"--rate-burst", "9"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":9000" || c.TokenLifetime != 2*time.Hour {
		t.Errorf("file values not applied: %+v", c)
	}
	if c.RateBurst != 9 {
		t.Errorf("flags must override env and file: rate burst %d", c.RateBurst)
	}
	if strings.Contains(c.String(), "secret-kek") {
		t.Error("String() shows the KEK")
	}
}

func TestValidateReportsAll(t *testing.T) {
	c := Default()
	c.TokenLifetime = time.Minute
	c.TLSCert = "x"
	c.LogLevel = "loud"
	c.TrustedProxies = []string{"not-an-ip"}
	err := c.Validate()
	for _, want := range []string{"token-lifetime", "tls-cert", "log-level", "trusted-proxies"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate does not report %s: %v", want, err)
		}
	}
	def := Default()
	if err := def.Validate(); err != nil {
		t.Errorf("defaults are invalid: %v", err)
	}
}

func TestRedactDSN(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:pw@h:5432/db":   "postgres://u:<redacted>@h:5432/db",
		"postgres://u@h/db":           "postgres://u@h/db",
		"/var/lib/audian/audian.db":   "/var/lib/audian/audian.db",
		"postgresql://a:b:c@h/db?x=1": "postgresql://a:<redacted>@h/db?x=1",
	} {
		if got := RedactDSN(in); got != want {
			t.Errorf("RedactDSN(%q) = %q, want %q", in, got, want)
		}
	}
}
