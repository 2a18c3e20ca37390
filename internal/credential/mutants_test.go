package credential

import (
	"strings"
	"testing"
)

// These cases pin the boundaries that mutation testing (gremlins, see the
// README's "Mutation check") showed no test distinguished: an off-by-one
// in either would pass every other test.

// TestBase62Index checks every byte against the alphabet itself, so that a
// range boundary moved by one ('9' / ':', 'Z' / '[', 'z' / '{' and the
// bytes just below '0', 'A', 'a') or a wrong offset is caught.
func TestBase62Index(t *testing.T) {
	for c := 0; c < 256; c++ {
		want := strings.IndexByte(base62, byte(c))
		if got := base62Index(byte(c)); got != want {
			t.Errorf("base62Index(%q) = %d, want %d", byte(c), got, want)
		}
	}
}

// TestHasherParameterBounds checks validate at each edge of the range it
// accepts: the bounds also guard Verify against a planted hash that would
// make one login allocate a gigabyte or spin for minutes.
func TestHasherParameterBounds(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    PasswordHasher
		ok   bool
	}{
		{"time 1", PasswordHasher{Memory: 64, Time: 1, Threads: 1}, true},
		{"time 0", PasswordHasher{Memory: 64, Time: 0, Threads: 1}, false},
		{"time max", PasswordHasher{Memory: 64, Time: maxTime, Threads: 1}, true},
		{"time max+1", PasswordHasher{Memory: 64, Time: maxTime + 1, Threads: 1}, false},
		{"threads 1", PasswordHasher{Memory: 1024, Time: 1, Threads: 1}, true},
		{"threads 0", PasswordHasher{Memory: 1024, Time: 1, Threads: 0}, false},
		{"threads max", PasswordHasher{Memory: 1024, Time: 1, Threads: maxThreads}, true},
		{"threads max+1", PasswordHasher{Memory: 1024, Time: 1, Threads: maxThreads + 1}, false},
		{"memory 8 per thread", PasswordHasher{Memory: 16, Time: 1, Threads: 2}, true},
		{"memory below 8 per thread", PasswordHasher{Memory: 15, Time: 1, Threads: 2}, false},
		{"memory max", PasswordHasher{Memory: maxMemory, Time: 1, Threads: 1}, true},
		{"memory max+1", PasswordHasher{Memory: maxMemory + 1, Time: 1, Threads: 1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.h.validate()
			if (err == nil) != tc.ok {
				t.Errorf("%+v.validate() = %v, want ok=%v", tc.h, err, tc.ok)
			}
		})
	}
}
