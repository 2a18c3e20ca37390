package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/audian/audian/internal/config"
	"github.com/audian/audian/internal/token"
)

// keyUseFlush is how often the API key uses collected in memory are
// written: often enough for a portal's "last used", rarely enough that
// api_auth never waits on a write.
const keyUseFlush = 2 * time.Second

// startKeyTasks starts what keeps keys current while the server runs:
// the API key use recorder and, when configured, automatic signing-key
// rotation.
func (m *Main) startKeyTasks(ctx context.Context) {
	go m.API.RunKeyUses(ctx, keyUseFlush)
	if every := m.Config.SigningKeyRotation; every > 0 {
		go m.rotateSigningKeys(ctx, every)
	}
}

// flushKeyUses writes the key uses still in memory; Run calls it once the
// server has stopped taking requests.
func (m *Main) flushKeyUses() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.API.FlushKeyUses(ctx); err != nil {
		m.Logger.Warn("recording API key uses failed", "error", err.Error())
	}
}

// rotateSigningKeys rotates the signing key whenever the newest is older
// than every, checking a few times per interval (at most hourly).
//
// Several processes on one database all run this. Each waits a random
// moment before rotating and then re-reads the ring, so that the first to
// rotate makes the others' checks come out "not due"; should two still
// rotate together, each key added stays in the ring and verifies, and all
// processes sign with the newest, so nothing breaks but a spare key.
func (m *Main) rotateSigningKeys(ctx context.Context, every time.Duration) {
	check := min(every/4, time.Hour)
	tick := time.NewTicker(check)
	defer tick.Stop()
	for {
		if due, err := signingKeyDue(ctx, m.Store, m.now(), every); err != nil {
			m.Logger.Warn("reading signing keys failed", "error", err.Error())
		} else if due {
			jitter := time.Duration(rand.Int64N(int64(min(30*time.Second, check))))
			select {
			case <-ctx.Done():
				return
			case <-time.After(jitter):
			}
			kid, rotated, err := rotateIfDue(ctx, m.Store, m.Tokens, m.now(), every)
			switch {
			case err != nil:
				m.Logger.Warn("rotating the signing key failed", "error", err.Error())
			case rotated:
				m.Logger.Info("rotated the signing key", "kid", kid)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (m *Main) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// signingKeyDue reports whether the newest signing key of the ring is
// older than every at now (or no key signs).
func signingKeyDue(ctx context.Context, ks token.KeyStore, now time.Time, every time.Duration) (bool, error) {
	keys, err := ks.SigningKeys(ctx)
	if err != nil {
		return false, err
	}
	var newest time.Time
	for _, k := range keys {
		if k.RetiredAt.IsZero() && k.Created.After(newest) {
			newest = k.Created
		}
	}
	return now.Sub(newest) >= every, nil
}

// rotateIfDue rotates when the ring, read again now, is still due, and
// returns the new kid.
func rotateIfDue(ctx context.Context, ks token.KeyStore, tokens *token.Service, now time.Time, every time.Duration) (string, bool, error) {
	due, err := signingKeyDue(ctx, ks, now, every)
	if err != nil || !due {
		return "", false, err
	}
	kid, err := tokens.Rotate(ctx)
	if err != nil {
		return "", false, err
	}
	return kid, true, nil
}

const signingKeyUsage = `Usage:
  audian signing-key rotate [flags]   make a new key sign tokens; old keys keep verifying
                                      until their last token expires. Running servers on
                                      the same database follow within a second.
`

// signingKeyCmd is "audian signing-key rotate": the operator's rotation,
// on the database and key-encryption key the server settings name.
func signingKeyCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "rotate" {
		fmt.Fprint(stderr, signingKeyUsage)
		return errors.New("signing-key: expected the subcommand rotate")
	}
	cfg, _, err := config.Load("audian signing-key rotate", args[1:], getenv, stdout)
	if err != nil {
		return err
	}
	m, sealer, err := openOffline(ctx, cfg, stdout, stderr)
	defer m.Close()
	if err != nil {
		return err
	}
	tokens, err := token.New(ctx, m.Store, sealer, token.Config{Lifetime: cfg.TokenLifetime, Algorithm: cfg.TokenAlg, SessionLifetime: cfg.SessionLifetime})
	if err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}
	kid, err := tokens.Rotate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "new signing key %s; verifying keys: %v\n", kid, tokens.KeyIDs())
	return nil
}
