package params

import "errors"

// This file is the application/x-www-form-urlencoded reader shared by query strings and
// form bodies. It walks the text in place: a pair is a slice of the input, a key is compared
// with a parameter name without being decoded, and only a typed value is decoded, into the
// caller's scratch buffer. It agrees with net/url.ParseQuery on every input both accept, with
// two deliberate differences: a ';' is an ordinary byte here (ParseQuery rejects the whole
// query since Go 1.17; nginx, Tencent's base, and the WHATWG URL standard keep it as data),
// and there is no limit on the number of pairs (ParseQuery stops at 10000 because it builds a
// map; nothing here grows with the pair count).

// text is the input of the reader: a query string, or a body as the host hands it over.
type text interface{ ~string | ~[]byte }

// ErrMalformed reports a '%' that does not start a %XX escape.
var ErrMalformed = errors.New("params: malformed %-escape")

// cutPair splits s at its first '&'.
func cutPair[T text](s T) (pair, rest T) {
	for i := 0; i < len(s); i++ {
		if s[i] == '&' {
			return s[:i], s[i+1:]
		}
	}
	return s, s[len(s):]
}

// cutEq splits a pair at its first '='; a pair without one has an empty value.
func cutEq[T text](pair T) (key, value T) {
	for i := 0; i < len(pair); i++ {
		if pair[i] == '=' {
			return pair[:i], pair[i+1:]
		}
	}
	return pair, pair[len(pair):]
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// validEscapes reports whether every '%' of s starts a %XX escape. It says nothing about
// UTF-8: like net/url, any decoded byte is accepted, since a value is data, not text.
func validEscapes[T text](s T) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			i += 2
		}
	}
	return true
}

// needsDecoding reports whether s differs from its decoded form.
func needsDecoding[T text](s T, plus bool) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' || plus && s[i] == '+' {
			return true
		}
	}
	return false
}

// equalDecoded reports whether the query-decoded s equals name, without decoding s.
// The escapes of s must be valid.
func equalDecoded[T text](s T, name string) bool {
	j := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '%':
			c = unhex(s[i+1])<<4 | unhex(s[i+2])
			i += 2
		case '+':
			c = ' '
		}
		if j == len(name) || name[j] != c {
			return false
		}
		j++
	}
	return j == len(name)
}

// appendDecoded appends the decoded s to dst: %XX escapes, and '+' as a space when plus is
// set (query and form; a path keeps its '+'). The escapes of s must be valid.
func appendDecoded[T text](dst []byte, s T, plus bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			c = unhex(s[i+1])<<4 | unhex(s[i+2])
			i += 2
		case c == '+' && plus:
			c = ' '
		}
		dst = append(dst, c)
	}
	return dst
}

// Lookup returns the decoded value of the first pair of a query string whose decoded key is
// name. A malformed %-escape anywhere in the query is ErrMalformed, as it is for Check: such
// a query has no reliable reading.
func Lookup(query, name string) (value string, found bool, err error) {
	for rest := query; rest != ""; {
		var pair string
		pair, rest = cutPair(rest)
		if !validEscapes(pair) {
			return "", false, ErrMalformed
		}
		if found || pair == "" {
			continue
		}
		k, v := cutEq(pair)
		if equalDecoded(k, name) {
			found = true
			value = v
			if needsDecoding(v, true) {
				value = string(appendDecoded(make([]byte, 0, len(v)), v, true))
			}
		}
	}
	return value, found, nil
}
