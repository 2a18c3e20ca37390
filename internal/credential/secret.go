package credential

import (
	"fmt"
	"log/slog"
)

const redacted = "<redacted>"

// Secret is a string that must not be printed by accident: every fmt verb,
// slog and encoding/json show "<redacted>". The value is reached only
// through Reveal, so that each place a secret leaves the process is visible
// in the code.
//
// One gap is fmt's, not Secret's: fmt cannot call methods on unexported
// struct fields, so a struct with an unexported Secret field printed with
// %v shows the value. Keep Secret fields exported, or print no such struct.
type Secret string

// Reveal returns the secret itself.
func (s Secret) Reveal() string { return string(s) }

// String returns "<redacted>".
func (s Secret) String() string { return redacted }

// GoString returns "<redacted>", so that %#v does not print the value.
func (s Secret) GoString() string { return redacted }

// Format writes "<redacted>" for every verb, including %q, %x and %d,
// which would otherwise bypass String.
func (s Secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue makes log/slog print "<redacted>", in text and JSON handlers
// alike.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText makes encoding/json and other text encoders write
// "<redacted>" rather than the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
