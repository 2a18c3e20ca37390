package portal

import (
	"strconv"
	"time"

	"github.com/audian/audian/internal/identity"
)

// retryAfterSeconds is how long a throttled person should wait, as the
// login door reports it, rounded up to whole seconds.
func retryAfterSeconds(e *identity.Error) int {
	return int((e.RetryAfter + time.Second - 1) / time.Second)
}

func itoa(n int) string { return strconv.Itoa(n) }
