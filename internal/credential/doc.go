// Package credential holds audian's secrets and what is kept instead of
// them: API key formats and their lookup hashes, argon2id password hashes,
// generated passwords, a redacting Secret type, and the key-encryption key
// with the Sealer built on it.
//
// The package is a leaf (standard library and golang.org/x/crypto only) so
// that every adapter can use it without importing another adapter.
//
// Two hashes are used on purpose. API keys carry 256 bits or more of
// entropy, so a single SHA-256 is enough to make the stored hash useless
// to an attacker and lets a request find its key with one indexed lookup.
// Passwords are chosen by people, so they get argon2id, which is slow and
// memory-hard, and a per-hash salt.
package credential
