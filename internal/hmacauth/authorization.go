package hmacauth

import (
	"strings"

	"github.com/apigw-wasm/apigw-wasm/internal/httpsyntax"
)

// Credential is what an hmac Authorization value carries. Fields absent from the value are
// empty; empty and absent are the same to Verify.
type Credential struct {
	ID        string // the secret id
	Algorithm string // e.g. "hmac-sha256"
	Headers   string // the signed header names, space separated, in signing order
	Signature string // base64 of the MAC
}

// ParseAuthorization parses an Authorization value holding exactly one hmac credential:
//
//	value = *WS scheme 1*WS param *( *WS "," *WS param ) *WS
//	param = key *WS "=" *WS DQUOTE *qchar DQUOTE
//
// where WS is space or tab, scheme is "hmac" in any case, key is an RFC 9110 token compared
// without regard to case, and qchar is any byte but DQUOTE, backslash and controls other than
// tab (there are no escapes). Keys other than id, algorithm, headers and signature are
// ignored; a known key given twice makes the value malformed. A second credential (a comma
// followed by the hmac scheme, as Envoy joins repeated headers) makes ok false too.
func ParseAuthorization(v string) (c Credential, ok bool) {
	c, more, ok := parse(v)
	if !ok || more {
		return Credential{}, false
	}
	return c, true
}

// Encode returns c as an Authorization value that ParseAuthorization reads back as c, provided
// no field holds a byte outside qchar. The value holds the signature: keep it out of logs.
func (c Credential) Encode() string {
	return `hmac id="` + c.ID + `", algorithm="` + c.Algorithm + `", headers="` + c.Headers +
		`", signature="` + c.Signature + `"`
}

// parse reads the first credential of v. more reports that another credential follows it; what
// follows is not examined.
func parse(v string) (c Credential, more, ok bool) {
	i := skipWS(v, 0)
	j := skipToken(v, i)
	if !strings.EqualFold(v[i:j], "hmac") {
		return Credential{}, false, false
	}
	i = skipWS(v, j)
	if i == j {
		return Credential{}, false, false
	}
	var seen uint8
	for first := true; ; first = false {
		j = skipToken(v, i)
		if j == i {
			return Credential{}, false, false
		}
		key := v[i:j]
		k := skipWS(v, j)
		if k == len(v) || v[k] != '=' {
			// "hmac" then a token where a key was due: the next credential.
			if !first && k > j && k < len(v) && httpsyntax.IsTchar(v[k]) && strings.EqualFold(key, "hmac") {
				return c, true, true
			}
			return Credential{}, false, false
		}
		k = skipWS(v, k+1)
		if k == len(v) || v[k] != '"' {
			return Credential{}, false, false
		}
		k++
		start := k
		for k < len(v) && isQchar(v[k]) {
			k++
		}
		if k == len(v) || v[k] != '"' {
			return Credential{}, false, false
		}
		val := v[start:k]

		var bit uint8
		var field *string
		switch {
		case strings.EqualFold(key, "id"):
			bit, field = 1, &c.ID
		case strings.EqualFold(key, "algorithm"):
			bit, field = 2, &c.Algorithm
		case strings.EqualFold(key, "headers"):
			bit, field = 4, &c.Headers
		case strings.EqualFold(key, "signature"):
			bit, field = 8, &c.Signature
		}
		if field != nil {
			if seen&bit != 0 {
				return Credential{}, false, false
			}
			seen |= bit
			*field = val
		}

		i = skipWS(v, k+1)
		if i == len(v) {
			return c, false, true
		}
		if v[i] != ',' {
			return Credential{}, false, false
		}
		i = skipWS(v, i+1)
	}
}

func isWS(b byte) bool { return b == ' ' || b == '\t' }

func skipWS(s string, i int) int {
	for i < len(s) && isWS(s[i]) {
		i++
	}
	return i
}

func skipToken(s string, i int) int {
	for i < len(s) && httpsyntax.IsTchar(s[i]) {
		i++
	}
	return i
}

func isQchar(b byte) bool {
	return b == '\t' || (b >= 0x20 && b != 0x7f && b != '"' && b != '\\')
}

// nextName splits the first name off a space separated list; name is empty at the end.
func nextName(list string) (name, rest string) {
	i := skipWS(list, 0)
	j := i
	for j < len(list) && !isWS(list[j]) {
		j++
	}
	return list[i:j], list[j:]
}
