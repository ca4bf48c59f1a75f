package oauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"math"
	"math/big"
	"strconv"
	"time"
)

// MaxTokenLen bounds the compact JWT accepted, in bytes. Larger tokens are rejected before
// any decoding: 16 KiB holds an RSA-8192 signature and several KiB of claims.
const MaxTokenLen = 16 << 10

// DefaultClockSkew is the leeway on exp and nbf when oauth.clock_skew_seconds is absent.
const DefaultClockSkew = 60 * time.Second

// Reasons a token fails. Every one of them is the same 401 for the client; the texts are
// for logs and name no part of the token.
var (
	errNoKey       = errors.New("oauth: no public key")
	errTooLarge    = errors.New("oauth: token too large")
	errMalformed   = errors.New("oauth: malformed token")
	errHeader      = errors.New("oauth: malformed token header")
	errClaims      = errors.New("oauth: malformed token claims")
	errAlgorithm   = errors.New("oauth: token algorithm not allowed for the key")
	errCritical    = errors.New("oauth: token has critical header parameters")
	errSignature   = errors.New("oauth: token signature does not verify")
	errNoExpiry    = errors.New("oauth: token has no exp claim")
	errExpired     = errors.New("oauth: token expired")
	errNotYetValid = errors.New("oauth: token not yet valid")
	errDate        = errors.New("oauth: token date claim is not a number")
)

// alg is a JWS algorithm that this package verifies; its value is its bit in PublicKey.algs.
type alg uint8

const (
	algUnknown alg = iota
	algRS256
	algRS384
	algRS512
	algPS256
	algPS384
	algPS512
	algES256
	algES384
	algES512
	numAlgs
)

type algInfo struct {
	name string
	hash crypto.Hash
	pss  bool
	// ecSize is the byte size of r and s for ES*, 0 for RSA.
	ecSize int
}

var algs = [numAlgs]algInfo{
	algRS256: {name: "RS256", hash: crypto.SHA256},
	algRS384: {name: "RS384", hash: crypto.SHA384},
	algRS512: {name: "RS512", hash: crypto.SHA512},
	algPS256: {name: "PS256", hash: crypto.SHA256, pss: true},
	algPS384: {name: "PS384", hash: crypto.SHA384, pss: true},
	algPS512: {name: "PS512", hash: crypto.SHA512, pss: true},
	algES256: {name: "ES256", hash: crypto.SHA256, ecSize: 32},
	algES384: {name: "ES384", hash: crypto.SHA384, ecSize: 48},
	algES512: {name: "ES512", hash: crypto.SHA512, ecSize: 66},
}

// algNamed returns the algorithm with that exact name; none, HS* and anything else are
// algUnknown, which no key allows.
func algNamed(name []byte) alg {
	for a := algRS256; a < numAlgs; a++ {
		if string(name) == algs[a].name {
			return a
		}
	}
	return algUnknown
}

func (a alg) bit() uint16 { return 1 << a }

// Salt length auto accepts the RFC 7518 salt (the hash's length) and any other.
var pssOptions = rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}

// Verify checks a compact JWS token: its alg is one the key allows, its signature, and its
// exp (required) and nbf (optional) claims against now with skew leeway on either side.
// It returns nil when the token is good; every error means 401 and names no token content.
// A token whose signature verified recently is remembered, and only its dates are checked
// again. Verify is safe for concurrent use.
func (k *PublicKey) Verify(token string, now time.Time, skew time.Duration) error {
	if k == nil || k.algs == 0 {
		return errNoKey
	}
	if len(token) > MaxTokenLen {
		return errTooLarge
	}
	d, ok := k.cache.lookup(token)
	if !ok {
		var err error
		if d, err = k.verify(token); err != nil {
			return err
		}
		k.cache.store(token, d)
	}
	return d.check(now, skew)
}

// verify checks everything but the dates, which it returns. len(token) <= MaxTokenLen.
func (k *PublicKey) verify(token string) (dates, error) {
	// One pass finds the two dots and rejects anything outside the base64url alphabet:
	// no padding, no whitespace (the decoder below would not skip it, but fail early).
	dot1, dot2 := -1, -1
	for i := 0; i < len(token); i++ {
		c := token[i]
		if c == '.' {
			switch {
			case dot1 < 0:
				dot1 = i
			case dot2 < 0:
				dot2 = i
			default:
				return dates{}, errMalformed
			}
			continue
		}
		if b64Value[c] == 0xff {
			return dates{}, errMalformed
		}
	}
	if dot2 < 0 || dot1 == 0 || dot2 == dot1+1 || dot2 == len(token)-1 {
		return dates{}, errMalformed
	}
	// One buffer serves every step in turn: header, signing input, signature, payload.
	buf := make([]byte, len(token))

	hdr, ok := b64Decode(buf, token[:dot1])
	if !ok {
		return dates{}, errMalformed
	}
	a, err := parseHeader(hdr)
	if err != nil {
		return dates{}, err
	}
	if k.algs&a.bit() == 0 {
		return dates{}, errAlgorithm
	}
	info := &algs[a]

	var sum [64]byte
	digest := sum[:info.hash.Size()]
	input := buf[:copy(buf, token[:dot2])]
	switch info.hash {
	case crypto.SHA256:
		s := sha256.Sum256(input)
		copy(digest, s[:])
	case crypto.SHA384:
		s := sha512.Sum384(input)
		copy(digest, s[:])
	default:
		s := sha512.Sum512(input)
		copy(digest, s[:])
	}

	sig, ok := b64Decode(buf, token[dot2+1:])
	if !ok {
		return dates{}, errMalformed
	}
	if err := k.verifySignature(info, digest, sig); err != nil {
		return dates{}, err
	}

	// The payload is read only once the signature vouches for it.
	payload, ok := b64Decode(buf, token[dot1+1:dot2])
	if !ok {
		return dates{}, errMalformed
	}
	return parseClaims(payload)
}

func (k *PublicKey) verifySignature(info *algInfo, digest, sig []byte) error {
	switch {
	case info.ecSize != 0:
		// RFC 7518 §3.4: r and s, each left-padded to the curve's size, concatenated.
		if k.ec == nil || len(sig) != 2*info.ecSize {
			return errSignature
		}
		r := new(big.Int).SetBytes(sig[:info.ecSize])
		s := new(big.Int).SetBytes(sig[info.ecSize:])
		if !ecdsa.Verify(k.ec, digest, r, s) {
			return errSignature
		}
	case info.pss:
		if k.rsa == nil || rsa.VerifyPSS(k.rsa, info.hash, digest, sig, &pssOptions) != nil {
			return errSignature
		}
	default:
		if k.rsa == nil || rsa.VerifyPKCS1v15(k.rsa, info.hash, digest, sig) != nil {
			return errSignature
		}
	}
	return nil
}

var headerNames = []string{"alg", "crit"}

// parseHeader reads the JOSE header: alg must name a supported algorithm, and crit, which
// would list extensions the verifier must understand, must be absent since we know none.
func parseHeader(hdr []byte) (alg, error) {
	var m [2]member
	if err := scanObject(hdr, headerNames, m[:]); err != nil {
		return algUnknown, errHeader
	}
	if m[1].found {
		return algUnknown, errCritical
	}
	if !m[0].found || m[0].kind != kindString {
		return algUnknown, errHeader
	}
	if m[0].escaped {
		return algNamed([]byte(m[0].text())), nil
	}
	return algNamed(m[0].raw), nil
}

var claimNames = []string{"exp", "nbf"}

// dates are a token's exp and nbf, in seconds; nbf is -Inf when the token has none.
type dates struct{ exp, nbf float64 }

// parseClaims reads exp and nbf. The claims must be a JSON object; other claims (iss, aud,
// iat, ...) are not checked: the gateway's configuration names no issuer or audience.
func parseClaims(payload []byte) (dates, error) {
	var m [2]member
	if err := scanObject(payload, claimNames, m[:]); err != nil {
		return dates{}, errClaims
	}
	if !m[0].found {
		return dates{}, errNoExpiry
	}
	d := dates{nbf: math.Inf(-1)}
	var err error
	if d.exp, err = numericDate(&m[0]); err != nil {
		return dates{}, err
	}
	if m[1].found {
		if d.nbf, err = numericDate(&m[1]); err != nil {
			return dates{}, err
		}
	}
	return d, nil
}

// check applies the dates at now, with skew leeway (a negative skew counts as none).
func (d dates) check(now time.Time, skew time.Duration) error {
	t := float64(now.Unix()) + float64(now.Nanosecond())/1e9
	leeway := max(skew, 0).Seconds()
	if t > d.exp+leeway {
		return errExpired
	}
	if t < d.nbf-leeway {
		return errNotYetValid
	}
	return nil
}

// numericDate reads a NumericDate (RFC 7519 §2): a JSON number of seconds, maybe fractional.
func numericDate(m *member) (float64, error) {
	if m.kind != kindNumber {
		return 0, errDate
	}
	f, err := strconv.ParseFloat(string(m.raw), 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, errDate
	}
	return f, nil
}

// b64Value maps a base64url character to its value; 0xff marks every other byte.
var b64Value = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// b64Decode decodes unpadded base64url (RFC 7515 §2) into dst, which must be at least as
// long as src. It is strict: no padding, no whitespace, and the unused low bits of the last
// character must be zero, so that each byte string has exactly one encoding.
func b64Decode(dst []byte, src string) ([]byte, bool) {
	n := 0
	i := 0
	for ; i+4 <= len(src); i += 4 {
		a, b, c, d := b64Value[src[i]], b64Value[src[i+1]], b64Value[src[i+2]], b64Value[src[i+3]]
		if (a|b|c|d)&0xc0 != 0 { // 0xff, the invalid mark, has these bits
			return nil, false
		}
		v := uint32(a)<<18 | uint32(b)<<12 | uint32(c)<<6 | uint32(d)
		dst[n], dst[n+1], dst[n+2] = byte(v>>16), byte(v>>8), byte(v)
		n += 3
	}
	switch len(src) - i {
	case 0:
	case 2:
		a, b := b64Value[src[i]], b64Value[src[i+1]]
		if (a|b)&0xc0 != 0 || b&0x0f != 0 {
			return nil, false
		}
		dst[n] = a<<2 | b>>4
		n++
	case 3:
		a, b, c := b64Value[src[i]], b64Value[src[i+1]], b64Value[src[i+2]]
		if (a|b|c)&0xc0 != 0 || c&0x03 != 0 {
			return nil, false
		}
		v := uint32(a)<<12 | uint32(b)<<6 | uint32(c)
		dst[n], dst[n+1] = byte(v>>10), byte(v>>2)
		n += 2
	default: // one leftover character carries less than a byte
		return nil, false
	}
	return dst[:n], true
}
