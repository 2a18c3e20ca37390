package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/audian/audian/internal/config"
	"github.com/audian/audian/internal/credential"
	"github.com/audian/audian/internal/crossbar"
	"github.com/audian/audian/internal/identity"
)

// bootstrapCmd creates the first account with given values, for scripts.
func bootstrapCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var accountName, username, password string
	var asJSON bool
	cfg, _, err := config.Load("audian bootstrap", args, getenv, stdout, func(fs *flag.FlagSet) {
		fs.StringVar(&accountName, "account-name", "", "name of the system account (required)")
		fs.StringVar(&username, "username", "", "username of its administrator (required)")
		fs.StringVar(&password, "password", "", "password of its administrator (required; use AUDIAN_BOOTSTRAP_PASSWORD to keep it out of the process list)")
		fs.BoolVar(&asJSON, "json", false, `print {"account_id","user_id","api_key"} as JSON`)
	})
	if err != nil {
		return err
	}
	if password == "" {
		password = getenv("AUDIAN_BOOTSTRAP_PASSWORD")
	}
	var missing []error
	for flagName, v := range map[string]string{"--account-name": accountName, "--username": username, "--password": password} {
		if v == "" {
			missing = append(missing, fmt.Errorf("%s is required", flagName))
		}
	}
	if err := errors.Join(missing...); err != nil {
		return err
	}
	m, sealer, err := openOffline(ctx, cfg, stdout, stderr)
	defer m.Close()
	if err != nil {
		return err
	}
	res, err := crossbar.Bootstrap(ctx, m.Store, sealer, credential.DefaultHasher, crossbar.BootstrapParams{
		AccountName: accountName, Username: username, Password: password, RealmSuffix: cfg.RealmSuffix,
	})
	if errors.Is(err, identity.ErrBootstrapped) {
		return errors.New("the database is already bootstrapped: it has accounts; nothing was changed")
	}
	if err != nil {
		return describe(err)
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(map[string]string{
			"account_id": res.AccountID, "user_id": res.UserID, "api_key": res.APIKey.Reveal(),
		})
	}
	printBootstrap(stdout, res)
	return nil
}

// describe turns a validation error into a sentence for the terminal.
func describe(err error) error {
	var e *identity.Error
	if errors.As(err, &e) && len(e.Fields) > 0 {
		var errs []error
		for field, rules := range e.Fields {
			for rule, v := range rules {
				errs = append(errs, fmt.Errorf("%s: %s (%s)", field, v.Message, rule))
			}
		}
		return errors.Join(errs...)
	}
	return err
}

// openOffline opens what an administrative command needs of a server's
// settings, without serving: the log, the key-encryption key and the
// store. Close the returned Main even on error.
func openOffline(ctx context.Context, cfg config.Config, stdout, stderr io.Writer) (*Main, *credential.Sealer, error) {
	m := &Main{Config: cfg, Stdout: stdout, Stderr: stderr}
	m.Config.Resolve()
	m.Logger = newLogger(stderr, cfg.LogLevel)
	var err error
	if m.Store, err = m.openStore(ctx); err != nil {
		return m, nil, err
	}
	sealer, err := openSealer(ctx, &m.Config, m.Store)
	return m, sealer, err
}
