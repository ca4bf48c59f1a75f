package hmacauth

import (
	"crypto/hmac"
	"errors"
)

// Sign signs r with key as c describes (c.Signature is ignored) and returns the Authorization
// value to send with r. It refuses an empty id or algorithm, an unsupported algorithm, a
// headers list naming neither x-date nor date, a named header absent from r or repeated, and a
// field that cannot be quoted; it does not look at the dates' values.
func Sign(r Request, c Credential, key []byte) (string, error) {
	if c.ID == "" || c.Algorithm == "" {
		return "", errors.New("hmacauth: id and algorithm are required")
	}
	newHash := hashOf(c.Algorithm)
	if newHash == nil {
		return "", errors.New("hmacauth: unsupported algorithm " + c.Algorithm)
	}
	if !names(c.Headers, "x-date") && !names(c.Headers, "date") {
		return "", errors.New("hmacauth: headers must name x-date or date")
	}
	if !quotable(c.ID) || !quotable(c.Algorithm) || !quotable(c.Headers) {
		return "", errors.New("hmacauth: id, algorithm or headers holds a quote, backslash or control character")
	}
	hs, repeated := readSigned(nil, r, c.Headers)
	for _, h := range hs {
		if !h.requestLine && (repeated || !h.present) {
			if !h.present {
				return "", errors.New("hmacauth: signed header " + h.name + " is absent")
			}
			if len(r.Values(h.lower)) > 1 {
				return "", errors.New("hmacauth: signed header " + h.name + " is repeated")
			}
		}
	}
	var b [base64Max]byte
	c.Signature = string(b[:sum(b[:], hmac.New(newHash, key), r, hs)])
	return c.Encode(), nil
}

func quotable(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isQchar(s[i]) {
			return false
		}
	}
	return true
}
