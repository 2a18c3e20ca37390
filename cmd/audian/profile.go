package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// cliConfig is the client's configuration file,
// os.UserConfigDir()/audian/config.json: named profiles, each a server
// and the credential to reach it. It holds secrets (an API key or a
// token), so it is written 0600 in a 0700 directory.
type cliConfig struct {
	Current  string              `json:"current,omitempty"`
	Profiles map[string]*profile `json:"profiles"`
}

// profile is one server and how to log in to it.
type profile struct {
	URL string `json:"url"`
	// CACert is the PEM of a certificate to trust (a self-signed server).
	CACert string `json:"ca_cert,omitempty"`
	// APIKey logs in anew whenever needed. Without one, Token (from a
	// password login) serves until it expires.
	APIKey      string `json:"api_key,omitempty"`
	Token       string `json:"token,omitempty"`
	AccountName string `json:"account_name,omitempty"`
	Username    string `json:"username,omitempty"`
	AccountID   string `json:"account_id,omitempty"`
	// ClientID and RefreshToken come from a device login (OAuth): the
	// refresh token renews Token before it expires.
	ClientID     string `json:"client_id,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// configPath is AUDIAN_CLI_CONFIG, else the user's config directory.
func configPath(getenv func(string) string) (string, error) {
	if p := getenv("AUDIAN_CLI_CONFIG"); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("finding the configuration directory: %w (set AUDIAN_CLI_CONFIG)", err)
	}
	return filepath.Join(dir, "audian", "config.json"), nil
}

func loadConfig(path string) (*cliConfig, error) {
	cfg := &cliConfig{Profiles: map[string]*profile{}}
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if cfg.Profiles == nil {
		cfg.Profiles = map[string]*profile{}
	}
	return cfg, nil
}

// save writes the file through a temporary file in the same directory,
// so that a crash never leaves half a file, with 0600 from the start so
// that the secrets are never readable by others, even for a moment.
func (c *cliConfig) save(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if filepath.Base(dir) == "audian" {
		// The directory is ours: keep it private even if something else
		// made it first.
		if err := os.Chmod(dir, 0o700); err != nil {
			return err
		}
	}
	raw, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".config-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(append(raw, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
