package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
)

// audian writes and reads compact JWS itself rather than through a general
// JOSE library: its tokens have one shape (a three-field header naming a
// ring key, a JSON payload, one signature), and owning the parser is what
// lets every token have exactly one accepted spelling.

// b64url is strict: a final character whose unused bits are not zero is
// refused, so no two strings decode to the same bytes. Padding is refused
// by compactJWS before decoding.
var b64url = base64.RawURLEncoding.Strict()

// sign returns the compact JWS of payload under k, signed by signer.
func sign(k *key, signer crypto.Signer, payload []byte) (string, error) {
	n := len(k.header) + b64url.EncodedLen(len(payload))
	buf := make([]byte, 0, n+1+b64url.EncodedLen(512))
	buf = append(buf, k.header...)
	buf = b64url.AppendEncode(buf, payload)
	sig, err := signature(k.alg, signer, buf)
	if err != nil {
		return "", err
	}
	buf = append(buf, '.')
	buf = b64url.AppendEncode(buf, sig)
	return string(buf), nil
}

// p256HalfOrder is half the order of P-256: ES256 signatures are issued
// and accepted only with s at or below it, because (r, n-s) verifies as
// well as (r, s) and would be a second spelling of the same token.
var p256HalfOrder = new(big.Int).Rsh(elliptic.P256().Params().N, 1)

func signature(alg string, signer crypto.Signer, input []byte) ([]byte, error) {
	switch alg {
	case EdDSA:
		return signer.Sign(nil, input, crypto.Hash(0))
	case ES256:
		sum := sha256.Sum256(input)
		r, s, err := ecdsa.Sign(rand.Reader, signer.(*ecdsa.PrivateKey), sum[:])
		if err != nil {
			return nil, err
		}
		if s.Cmp(p256HalfOrder) > 0 {
			s.Sub(elliptic.P256().Params().N, s)
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return sig, nil
	default:
		sum := sha256.Sum256(input)
		return signer.Sign(nil, sum[:], crypto.SHA256)
	}
}

// verifySig reports whether sig is k's signature of input.
func verifySig(k *key, input, sig []byte) bool {
	switch pub := k.pub.(type) {
	case ed25519.PublicKey:
		// crypto/ed25519 refuses non-canonical encodings of s and R.
		return len(sig) == ed25519.SignatureSize && ed25519.Verify(pub, input, sig)
	case *ecdsa.PublicKey:
		if len(sig) != 64 {
			return false
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if s.Cmp(p256HalfOrder) > 0 {
			return false
		}
		sum := sha256.Sum256(input)
		return ecdsa.Verify(pub, sum[:], r, s)
	case *rsa.PublicKey:
		// PKCS #1 v1.5 is deterministic, and the signature must be exactly
		// the modulus' length and below it: one spelling.
		if len(sig) != pub.Size() {
			return false
		}
		sum := sha256.Sum256(input)
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) == nil
	}
	return false
}

// header is every protected header field audian's tokens carry. Any other
// field (crit, b64, jku, jwk, x5u, x5c, ...) makes the token invalid: none
// is ever issued, and refusing them is simpler than deciding which are
// harmless.
type header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

// splitJWS returns the three segments of a compact JWS, decoded, and the
// signing input. ok is false for anything but exactly three canonical
// base64url segments.
func splitJWS(raw string) (hdr, payload, sig []byte, input string, ok bool) {
	i := strings.IndexByte(raw, '.')
	if i < 0 {
		return nil, nil, nil, "", false
	}
	j := strings.IndexByte(raw[i+1:], '.')
	if j < 0 {
		return nil, nil, nil, "", false
	}
	j += i + 1
	if strings.IndexByte(raw[j+1:], '.') >= 0 {
		return nil, nil, nil, "", false
	}
	var err error
	if hdr, err = b64url.DecodeString(raw[:i]); err != nil || len(hdr) == 0 {
		return nil, nil, nil, "", false
	}
	if payload, err = b64url.DecodeString(raw[i+1 : j]); err != nil || len(payload) == 0 {
		return nil, nil, nil, "", false
	}
	if sig, err = b64url.DecodeString(raw[j+1:]); err != nil || len(sig) == 0 {
		return nil, nil, nil, "", false
	}
	return hdr, payload, sig, raw[:j], true
}

// parseHeader decodes a protected header, refusing unknown fields.
func parseHeader(b []byte) (header, bool) {
	var h header
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.DisallowUnknownFields()
	if err := d.Decode(&h); err != nil || d.More() {
		return header{}, false
	}
	return h, true
}
