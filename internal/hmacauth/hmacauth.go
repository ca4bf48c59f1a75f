// Package hmacauth verifies the gateway's key-pair (HMAC) Authorization header, checks 2 to 9
// of docs/gateway.md section 5, in their order, each failure being the reply.Error of its
// row: the header's grammar, its required parameters, the algorithm, repeated headers, the
// x-date or date freshness window, the presence of the signed headers, the secret id and
// finally the signature. The signing string is, for each name of the headers parameter,
// lowercase(name) + ": " + value, joined by "\n"; the pseudo-header request-line contributes
// the bare line "METHOD PATH HTTP/1.1" instead, as in Kong. An x-date that is not signed
// does not count as present, so a fresh unsigned one cannot make an old request fresh.
// Usage-plan checks belong to the caller. Sign is the client side of the same scheme.
package hmacauth

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"hash"
	"strings"
	"sync"
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/reply"
)

// DefaultClockSkew is the freshness window of x-date and date when Verifier.ClockSkew is zero.
const DefaultClockSkew = 900 * time.Second

// Request is the part of a request that the scheme reads.
type Request interface {
	// Values returns every value of the header name (given in lowercase) in arrival order,
	// and nothing if the header is absent. Verify asks for a name several times.
	Values(name string) []string
	Method() string
	// Path is the request target as the client sent it (the original :path, environment
	// part and query included), not as the gateway rewrites it.
	Path() string
}

// Verifier checks hmac Authorization headers. Its fields are read-only once in use, so one
// Verifier serves any number of concurrent requests.
type Verifier struct {
	// ClockSkew is the largest accepted distance between now and x-date or date;
	// zero or less means DefaultClockSkew.
	ClockSkew time.Duration
	// Lookup returns the secret key of secretID; ok is false when the id is unknown or its
	// key is disabled. A nil Lookup knows no id. A key must not change while the Verifier is
	// in use: its keyed MAC is prepared once and reused.
	Lookup func(secretID string) (key []byte, ok bool)

	mu   sync.Mutex // guards macs and their use: a keyed MAC is reused, not copied
	macs map[macID]hash.Hash
}

type macID struct{ secretID, algorithm string }

// keyedMAC returns the MAC of the secret and algorithm, keyed once and Reset for this request:
// the key's padding blocks are hashed once per secret, and a request allocates nothing for
// its MAC. v.mu must be held until the MAC's sum is read.
func (v *Verifier) keyedMAC(id, algorithm string, newHash func() hash.Hash, key []byte) hash.Hash {
	m, ok := v.macs[macID{id, algorithm}]
	if !ok {
		m = hmac.New(newHash, key)
		if v.macs == nil {
			v.macs = map[macID]hash.Hash{}
		}
		v.macs[macID{id, algorithm}] = m
	}
	m.Reset()
	return m
}

// Verify runs the checks on r and returns the secret id of a request whose signature holds, or
// the answer of the first check that fails.
func (v *Verifier) Verify(r Request, now time.Time) (secretID string, err *reply.Error) {
	auth := r.Values("authorization")
	if len(auth) == 0 {
		return "", reply.New(reply.HMACFormatError, "")
	}
	c, more, ok := parse(auth[0])
	if !ok {
		return "", reply.New(reply.HMACFormatError, "")
	}

	if c.ID == "" || c.Signature == "" {
		return "", reply.New(reply.HMACIDOrSignatureMissing, "")
	}
	if c.Algorithm == "" || !names(c.Headers, "x-date") && !names(c.Headers, "date") {
		return "", reply.New(reply.HMACHeadersInvalid, "")
	}

	newHash := hashOf(c.Algorithm)
	if newHash == nil {
		return "", reply.New(reply.HMACAlgorithmNotSupported, c.Algorithm)
	}

	xDate, date := r.Values("x-date"), r.Values("date")
	if more || len(auth) > 1 || len(xDate) > 1 || len(date) > 1 {
		return "", reply.New(reply.HMACMultipleHeader, "")
	}
	var buf [16]signedHeader
	hs, repeated := readSigned(buf[:0], r, c.Headers)
	if repeated {
		return "", reply.New(reply.HMACMultipleHeader, "")
	}

	if err := v.checkDate(xDate, date, c.Headers, now); err != nil {
		return "", err
	}

	for _, h := range hs {
		if !h.requestLine && !h.present {
			return "", reply.New(reply.HMACHeaderRequired, h.name)
		}
	}

	var key []byte
	known := false
	if v.Lookup != nil {
		key, known = v.Lookup(c.ID)
	}
	if !known {
		return "", reply.New(reply.HMACCannotVerify, "")
	}

	// Only the canonical (padded, standard alphabet) base64 of the MAC matches: comparing the
	// encodings rather than decoded bytes leaves no second spelling of a valid signature.
	var want [base64Max]byte
	v.mu.Lock()
	n := sum(want[:], v.keyedMAC(c.ID, c.Algorithm, newHash, key), r, hs)
	v.mu.Unlock()
	var got [base64Max]byte // the length compared first is no secret: the algorithm fixes it
	if len(c.Signature) != n || !hmac.Equal(want[:n], got[:copy(got[:], c.Signature)]) {
		return "", reply.New(reply.HMACSignatureMismatch, "")
	}
	return c.ID, nil
}

// checkDate is check 6. Only a date header that is signed counts: an unsigned one is ignored,
// or adding a fresh one would replay forever a request whose signed date is stale. x-date
// decides when it is present and signed; else date, when it is signed and parses.
func (v *Verifier) checkDate(xd, d []string, list string, now time.Time) *reply.Error {
	if len(xd) > 0 && names(list, "x-date") {
		t, ok := parseDate(xd[0])
		if !ok {
			return reply.New(reply.HMACXDateInvalid, "")
		}
		if !v.fresh(t, now) {
			return reply.New(reply.HMACXDateOutOfDate, "")
		}
		return nil
	}
	if len(d) > 0 && names(list, "date") {
		if t, ok := parseDate(d[0]); ok {
			if !v.fresh(t, now) {
				return reply.New(reply.HMACXDateOutOfDate, "")
			}
			return nil
		}
	}
	return reply.New(reply.HMACDateRequired, "")
}

func (v *Verifier) fresh(t, now time.Time) bool {
	skew := v.ClockSkew
	if skew <= 0 {
		skew = DefaultClockSkew
	}
	// Not |now-t| <= skew: Sub saturates, and the negation of its minimum is still negative.
	return !t.Before(now.Add(-skew)) && !t.After(now.Add(skew))
}

// base64Max is the length of the base64 of the longest MAC, HMAC-SHA512's 64 bytes.
const base64Max = 88

func hashOf(algorithm string) func() hash.Hash {
	switch algorithm {
	case "hmac-sha1":
		return sha1.New
	case "hmac-sha256":
		return sha256.New
	case "hmac-sha384":
		return sha512.New384
	case "hmac-sha512":
		return sha512.New
	}
	return nil
}

func isRequestLine(name string) bool { return strings.EqualFold(name, "request-line") }

// names reports whether the list of header names holds name, which is lowercase.
func names(list, name string) bool {
	for n, rest := nextName(list); n != ""; n, rest = nextName(rest) {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// signedHeader is one entry of the headers list with the request's value, read once.
type signedHeader struct {
	name        string // as listed
	lower       string
	value       string // the only value; "" when absent
	present     bool
	requestLine bool
}

// readSigned reads the value of every header in list, appending to dst, and reports whether
// one of them is repeated in r.
func readSigned(dst []signedHeader, r Request, list string) (hs []signedHeader, repeated bool) {
	for name, rest := nextName(list); name != ""; name, rest = nextName(rest) {
		h := signedHeader{name: name, requestLine: isRequestLine(name)}
		if !h.requestLine {
			h.lower = strings.ToLower(name)
			switch vs := r.Values(h.lower); len(vs) {
			case 0:
			case 1:
				h.value, h.present = vs[0], true
			default:
				repeated = true
			}
		}
		dst = append(dst, h)
	}
	return dst, repeated
}

// sum writes into dst the base64 of the MAC of r's signing string over hs, and returns its
// length.
func sum(dst []byte, mac hash.Hash, r Request, hs []signedHeader) int {
	// One allocation, sized first: the hash.Hash interface moves any buffer to the heap.
	n := 0
	for _, h := range hs {
		if h.requestLine {
			n += len(r.Method()) + len(r.Path()) + len(" HTTP/1.1\n") + 1
		} else {
			n += len(h.lower) + len(": \n") + len(h.value)
		}
	}
	b := make([]byte, 0, max(n, sha512.Size))
	for _, h := range hs {
		if len(b) > 0 {
			b = append(b, '\n')
		}
		if h.requestLine {
			b = append(b, r.Method()...)
			b = append(b, ' ')
			b = append(b, r.Path()...)
			b = append(b, " HTTP/1.1"...)
			continue
		}
		b = append(b, h.lower...)
		b = append(b, ": "...)
		b = append(b, h.value...)
	}
	mac.Write(b)
	m := mac.Sum(b[:0]) // the signing string is no longer needed
	base64.StdEncoding.Encode(dst, m)
	return base64.StdEncoding.EncodedLen(len(m))
}
