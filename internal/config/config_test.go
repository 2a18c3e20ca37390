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

func TestDatabaseSetting(t *testing.T) {
	for _, tc := range []struct {
		dsn      string
		postgres bool
		ok       bool
	}{
		{"postgres://u:pw@h/db", true, true},
		{"postgresql://h/db", true, true},
		{"host=127.0.0.1 port=5432 dbname=audian user=audian password=secret", true, true},
		{"dbname=audian", true, true},
		{"  user = a host=b", true, true},
		{"/var/lib/audian/audian.db", false, true},
		{"audian-data/audian.db", false, true},
		{"C:/audian/audian.db", false, true},
		{"file=x.db", false, true}, // not a libpq key word: a file of that name
		{"mysql://u:pw@h/db", false, false},
		{"postgress://u:pw@h/db", false, false},
		{"sqlite://audian.db", false, false},
		{"file:///tmp/x.db", false, false},
	} {
		c := Default()
		c.Database = tc.dsn
		if got := c.Postgres(); got != tc.postgres {
			t.Errorf("%q: Postgres() = %v, want %v", tc.dsn, got, tc.postgres)
		}
		err := c.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("%q: Validate() = %v, want ok %v", tc.dsn, err, tc.ok)
		}
		if err != nil && (strings.Contains(err.Error(), "pw@") || !strings.Contains(err.Error(), "database")) {
			t.Errorf("%q: the error shows the password or does not name the setting: %v", tc.dsn, err)
		}
	}
}

func TestRedactDSNForms(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:p@ss/w?rd@h/db":                     "postgres://u:<redacted>@h/db",
		"postgres://h/db?sslmode=disable&password=s3cr3t": "postgres://h/db?sslmode=disable&password=<redacted>",
		"postgres://h/db?sslpassword=s3cr3t&x=1":          "postgres://h/db?sslpassword=<redacted>&x=1",
		"host=h password=s3cr3t dbname=d":                 "host=h password=<redacted> dbname=d",
		"host=h password = 's3 cr\\'3t' dbname=d":         "host=h password = <redacted> dbname=d",
		"password=s3cr3t":                                 "password=<redacted>",
		"host=h sslpassword=s3cr3t":                       "host=h sslpassword=<redacted>",
		"mysql://root:s3cr3t@h/db":                        "mysql://root:<redacted>@h/db",
	} {
		got := RedactDSN(in)
		if got != want {
			t.Errorf("RedactDSN(%q) = %q, want %q", in, got, want)
		}
		for _, secret := range []string{"s3cr3t", "s3 cr", "ss/w?rd"} {
			if strings.Contains(got, secret) {
				t.Errorf("RedactDSN(%q) = %q shows the password", in, got)
			}
		}
	}
	c := Default()
	c.Database = "host=h password=s3cr3t"
	if strings.Contains(c.String(), "s3cr3t") {
		t.Errorf("String() shows the password: %s", c.String())
	}
}
