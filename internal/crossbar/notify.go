package crossbar

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/smtp"
	"os"
	"strings"
	"sync"
	"time"
)

// OutboxNotifier is the default Notifier: it appends each reset, with its
// token, as one JSON line to a file only the server's user may read (mode
// 0600, in the data directory), for the operator or a mail relay to pass
// on. The token never reaches the log stream, which is usually shipped to
// places a secret must not go.
type OutboxNotifier struct {
	Path string
	mu   sync.Mutex
}

// outboxLine is one line of the outbox.
type outboxLine struct {
	Time        string `json:"time"`
	AccountID   string `json:"account_id"`
	AccountName string `json:"account_name"`
	UserID      string `json:"user_id"`
	Username    string `json:"username"`
	Email       string `json:"email,omitempty"`
	UIURL       string `json:"ui_url,omitempty"`
	ResetID     string `json:"reset_id"`
	ExpiresAt   string `json:"expires_at"`
}

// NotifyPasswordReset appends n to the outbox.
func (o *OutboxNotifier) NotifyPasswordReset(_ context.Context, n PasswordResetNotice) error {
	line, err := json.Marshal(outboxLine{
		Time:      time.Now().UTC().Format(time.RFC3339),
		AccountID: n.AccountID, AccountName: n.AccountName, UserID: n.UserID, Username: n.Username,
		Email: n.Email, UIURL: n.UIURL, ResetID: n.Token.Reveal(), ExpiresAt: n.ExpiresAt.UTC().Format(time.RFC3339),
	})
	if err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	f, err := os.OpenFile(o.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("password reset outbox: %w", err)
	}
	defer f.Close()
	// A file created by someone else, or loosened since, is tightened
	// before a token goes in.
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("password reset outbox: %w", err)
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("password reset outbox: %w", err)
	}
	return f.Sync()
}

// SMTPNotifier mails the reset token to the user's email address. Addr is
// host:port; with Username set it authenticates with PLAIN, which
// net/smtp only does over TLS (STARTTLS) or to localhost.
type SMTPNotifier struct {
	Addr, From         string
	Username, Password string
}

// errNoEmail: a reset for a user without an email address cannot be mailed.
var errNoEmail = errors.New("the user has no email address to send the reset to")

// NotifyPasswordReset sends n as a plain-text mail. No header carries
// anything a client chose except the recipient, which is refused if it
// could inject a header.
func (s SMTPNotifier) NotifyPasswordReset(_ context.Context, n PasswordResetNotice) error {
	to := n.Email
	if to == "" {
		return errNoEmail
	}
	if strings.ContainsAny(to, "\r\n") || strings.ContainsAny(s.From, "\r\n") {
		return errors.New("an address holds a line break")
	}
	var auth smtp.Auth
	if s.Username != "" {
		host, _, _ := strings.Cut(s.Addr, ":")
		auth = smtp.PlainAuth("", s.Username, s.Password, host)
	}
	body := fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: Password reset\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"+
		"Someone asked to reset the password of user %s.\r\n\r\n"+
		"Reset id: %s\r\n\r\nIt works once, until %s. If you did not ask for this, ignore this message.\r\n",
		s.From, to, strings.NewReplacer("\r", "", "\n", "").Replace(n.Username), n.Token.Reveal(), n.ExpiresAt.UTC().Format(time.RFC1123))
	return smtp.SendMail(s.Addr, auth, s.From, []string{to}, []byte(body))
}

// noNotifier is the Notifier of an API given none: it delivers nothing.
type noNotifier struct{}

func (noNotifier) NotifyPasswordReset(context.Context, PasswordResetNotice) error {
	return errors.New("no password reset notifier is configured")
}
