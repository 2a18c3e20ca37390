package portal

import (
	"strconv"

	"github.com/audian/audian/internal/identity"
)

// retryAfterSeconds is how long a throttled person should wait. The login
// door reports it in identity.Error once that field exists on main.
func retryAfterSeconds(e *identity.Error) int { return 0 }

func itoa(n int) string { return strconv.Itoa(n) }
