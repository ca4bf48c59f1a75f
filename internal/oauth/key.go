package oauth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
)

// RSA modulus bounds. NIST SP 800-131A disallows signatures with less than 2048 bits, and
// Tencent's demo key has 2048; above 8192 bits every request would pay for a key nobody
// needs.
const (
	minRSABits = 2048
	maxRSABits = 8192
)

// PublicKey is an authorization API's compiled public key and the JWS algorithms it
// verifies: RS256-512 and PS256-512 for RSA, ES256, ES384 or ES512 for an EC key on P-256,
// P-384 or P-521, narrowed to one algorithm when a JWK names its "alg". Use it by pointer:
// it holds the cache of recently verified tokens.
type PublicKey struct {
	rsa   *rsa.PublicKey
	ec    *ecdsa.PublicKey
	algs  uint16 // bit set of alg
	cache verifiedCache
}

// ParsePublicKey compiles the public_key of an oauth_config: the text of a JWK (a JSON
// object with kty RSA and n, e, or kty EC and crv, x, y) or of a PEM block ("PUBLIC KEY",
// "RSA PUBLIC KEY" or "CERTIFICATE", whose key is taken without checking the certificate).
// A JWK Set with exactly one key is taken as that key. Private keys, symmetric keys and
// other key types are refused. Errors name no key material.
func ParsePublicKey(text []byte) (*PublicKey, error) {
	text = bytes.TrimSpace(text)
	switch {
	case len(text) == 0:
		return nil, errors.New("oauth: empty public key")
	case text[0] == '{':
		return parseJWK(text)
	case bytes.HasPrefix(text, []byte("-----BEGIN ")):
		return parsePEM(text)
	}
	return nil, errors.New("oauth: public key is neither a JWK object nor PEM")
}

func parsePEM(text []byte) (*PublicKey, error) {
	block, _ := pem.Decode(text)
	if block == nil {
		return nil, errors.New("oauth: invalid PEM")
	}
	var pub any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = parsePKIX(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = parsePKCS1(block.Bytes)
	case "CERTIFICATE":
		pub, err = parseCertificateKey(block.Bytes)
	default:
		if strings.Contains(block.Type, "PRIVATE") {
			return nil, errors.New("oauth: PEM holds a private key; give the public key")
		}
		return nil, errors.New("oauth: unsupported PEM block type")
	}
	if err != nil {
		// The DER errors describe structure, not key bytes, but keep ours uniform.
		return nil, errors.New("oauth: invalid " + strings.ToLower(block.Type) + " in PEM")
	}
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		return newRSAKey(pub, 0)
	case *ecdsa.PublicKey:
		return newECKey(pub, 0)
	}
	return nil, errors.New("oauth: unsupported key type (need RSA or EC P-256/P-384/P-521)")
}

// parseJWK reads a JWK (RFC 7517, RFC 7518 §6). Member names are matched exactly, as the
// RFC requires; encoding/json's struct decoding would fold their case.
func parseJWK(text []byte) (*PublicKey, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(text, &m); err != nil {
		return nil, errors.New("oauth: public key is not a valid JSON object")
	}
	if keys, ok := m["keys"]; ok {
		var set []json.RawMessage
		if err := json.Unmarshal(keys, &set); err != nil || len(set) != 1 {
			return nil, errors.New("oauth: a JWK Set must hold exactly one key")
		}
		if !bytes.HasPrefix(bytes.TrimSpace(set[0]), []byte("{")) {
			return nil, errors.New("oauth: JWK Set member is not an object")
		}
		return parseJWK(set[0])
	}
	str := func(name string) (string, bool, error) {
		raw, ok := m[name]
		if !ok {
			return "", false, nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", true, errors.New("oauth: JWK member " + name + " is not a string")
		}
		return s, true, nil
	}
	kty, _, err := str("kty")
	if err != nil {
		return nil, err
	}
	if _, ok := m["d"]; ok {
		return nil, errors.New("oauth: JWK holds a private key; give the public key")
	}
	if use, ok, err := str("use"); err != nil {
		return nil, err
	} else if ok && use != "sig" {
		return nil, errors.New(`oauth: JWK "use" is not "sig"`)
	}
	if raw, ok := m["key_ops"]; ok {
		var ops []string
		if err := json.Unmarshal(raw, &ops); err != nil {
			return nil, errors.New("oauth: JWK key_ops is not a list of strings")
		}
		verify := false
		for _, op := range ops {
			verify = verify || op == "verify"
		}
		if !verify {
			return nil, errors.New(`oauth: JWK key_ops does not allow "verify"`)
		}
	}
	only := algUnknown
	if name, ok, err := str("alg"); err != nil {
		return nil, err
	} else if ok {
		if only = algNamed([]byte(name)); only == algUnknown {
			return nil, errors.New("oauth: JWK alg is not one of RS256-512, PS256-512, ES256-512")
		}
	}
	// b64 reads a base64url member; some publishers pad, which costs nothing to allow here.
	b64 := func(name string) ([]byte, error) {
		s, ok, err := str(name)
		if err != nil {
			return nil, err
		}
		if !ok || s == "" {
			return nil, errors.New("oauth: JWK member " + name + " is missing")
		}
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
		if err != nil {
			return nil, errors.New("oauth: JWK member " + name + " is not base64url")
		}
		return b, nil
	}

	switch kty {
	case "RSA":
		n, err := b64("n")
		if err != nil {
			return nil, err
		}
		e, err := b64("e")
		if err != nil {
			return nil, err
		}
		e = bytes.TrimLeft(e, "\x00")
		if len(e) > 4 {
			return nil, errors.New("oauth: RSA exponent too large")
		}
		var exp int
		for _, b := range e {
			exp = exp<<8 | int(b)
		}
		return newRSAKey(&rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp}, only)
	case "EC":
		crv, _, err := str("crv")
		if err != nil {
			return nil, err
		}
		var curve elliptic.Curve
		switch crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return nil, errors.New("oauth: JWK crv is not P-256, P-384 or P-521")
		}
		x, err := b64("x")
		if err != nil {
			return nil, err
		}
		y, err := b64("y")
		if err != nil {
			return nil, err
		}
		// RFC 7518 wants x and y at the curve's full size; shorter ones (leading zeros
		// dropped by some encoders) are padded back, longer ones refused.
		size := (curve.Params().BitSize + 7) / 8
		if len(x) > size || len(y) > size {
			return nil, errors.New("oauth: JWK x or y too long for the curve")
		}
		point := make([]byte, 1+2*size)
		point[0] = 4 // uncompressed
		copy(point[1+size-len(x):1+size], x)
		copy(point[1+2*size-len(y):], y)
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, point)
		if err != nil {
			return nil, errors.New("oauth: JWK point is not on the curve")
		}
		return newECKey(pub, only)
	case "":
		return nil, errors.New("oauth: JWK has no kty")
	case "oct":
		return nil, errors.New("oauth: symmetric (oct) keys are not allowed")
	}
	return nil, errors.New("oauth: JWK kty is not RSA or EC")
}

// rsaAlgs are the algorithms an RSA key verifies.
const rsaAlgs = 1<<algRS256 | 1<<algRS384 | 1<<algRS512 | 1<<algPS256 | 1<<algPS384 | 1<<algPS512

// newRSAKey checks what crypto/rsa would refuse per request, so that a bad key fails
// at configuration time; only, if set, is the one algorithm the key may verify.
func newRSAKey(pub *rsa.PublicKey, only alg) (*PublicKey, error) {
	bits := pub.N.BitLen()
	switch {
	case bits < minRSABits:
		return nil, errors.New("oauth: RSA key shorter than 2048 bits")
	case bits > maxRSABits:
		return nil, errors.New("oauth: RSA key longer than 8192 bits")
	case pub.N.Bit(0) == 0:
		return nil, errors.New("oauth: RSA modulus is even")
	case pub.E < 3 || pub.E&1 == 0 || pub.E > 1<<31-1:
		return nil, errors.New("oauth: RSA exponent is invalid")
	}
	k := &PublicKey{rsa: pub, algs: rsaAlgs}
	return k.narrow(only)
}

func newECKey(pub *ecdsa.PublicKey, only alg) (*PublicKey, error) {
	var a alg
	switch pub.Curve {
	case elliptic.P256():
		a = algES256
	case elliptic.P384():
		a = algES384
	case elliptic.P521():
		a = algES512
	default:
		return nil, errors.New("oauth: EC curve is not P-256, P-384 or P-521")
	}
	k := &PublicKey{ec: pub, algs: a.bit()}
	return k.narrow(only)
}

// narrow keeps only the JWK's alg, which must suit the key (ES384 needs P-384, ...).
func (k *PublicKey) narrow(only alg) (*PublicKey, error) {
	if only == algUnknown {
		return k, nil
	}
	if k.algs&only.bit() == 0 {
		return nil, errors.New("oauth: JWK alg does not match the key type or curve")
	}
	k.algs = only.bit()
	return k, nil
}
