package token

import "crypto"

// SigningKey returns the id, the algorithm and the private half of the key
// that signs now, for a second issuer of JWTs in the same process (the
// OAuth provider's ID tokens), so that relying parties verify everything
// audian signs against the one JWKS. The three come from one snapshot of
// the ring: the kid always names the key.
func (s *Service) SigningKey() (kid, alg string, key crypto.Signer) {
	r := s.ring.Load()
	return r.current.id, r.current.alg, r.signer
}
