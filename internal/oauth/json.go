package oauth

import (
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// The JOSE header and the claims are read per request. Rather than decoding them with
// encoding/json (reflection, a map, allocations), a small scanner validates the whole text
// with the grammar encoding/json accepts and picks out the few top-level members we need.

var (
	errJSON          = errors.New("oauth: invalid JSON")
	errJSONDepth     = errors.New("oauth: JSON nested too deeply")
	errJSONDuplicate = errors.New("oauth: duplicate JSON member")
)

// maxJSONDepth bounds nesting so that a hostile token cannot exhaust the stack.
const maxJSONDepth = 32

// Kinds of member values.
const (
	kindString = '"'
	kindNumber = '0'
	kindOther  = 'x' // object, array, true, false, null
)

// member is one top-level member of an object that the caller asked for.
type member struct {
	found   bool
	kind    byte
	escaped bool   // a string value that contains escapes
	raw     []byte // a string's bytes between the quotes, or a number's literal
}

// text returns a string member's value with its escapes decoded.
func (m *member) text() string {
	if !m.escaped {
		return string(m.raw)
	}
	return unescape(m.raw)
}

// scanObject checks that data is exactly one JSON object and fills out[i] with the member
// named names[i]. A repeated member among names is an error: RFC 7515 §4 lets a verifier
// reject duplicates, and choosing one of two values invites confusion attacks.
func scanObject(data []byte, names []string, out []member) error {
	s := scanner{b: data}
	s.space()
	if !s.eat('{') {
		return errJSON
	}
	s.space()
	if s.eat('}') {
		return s.end()
	}
	for {
		s.space()
		if s.peek() != '"' {
			return errJSON
		}
		key, esc, err := s.str()
		if err != nil {
			return err
		}
		s.space()
		if !s.eat(':') {
			return errJSON
		}
		s.space()
		v, err := s.value(1)
		if err != nil {
			return err
		}
		for i, name := range names {
			if keyIs(key, esc, name) {
				if out[i].found {
					return errJSONDuplicate
				}
				out[i] = v
				break
			}
		}
		s.space()
		if s.eat(',') {
			continue
		}
		if s.eat('}') {
			return s.end()
		}
		return errJSON
	}
}

func keyIs(key []byte, escaped bool, name string) bool {
	if !escaped {
		return string(key) == name
	}
	return unescape(key) == name
}

type scanner struct {
	b []byte
	i int
}

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) end() error {
	s.space()
	if s.i != len(s.b) {
		return errJSON
	}
	return nil
}

// value scans any JSON value at depth.
func (s *scanner) value(depth int) (member, error) {
	switch c := s.peek(); {
	case c == '"':
		raw, esc, err := s.str()
		return member{found: true, kind: kindString, escaped: esc, raw: raw}, err
	case c == '-' || c >= '0' && c <= '9':
		start := s.i
		err := s.num()
		return member{found: true, kind: kindNumber, raw: s.b[start:s.i]}, err
	case c == '{' || c == '[':
		if depth >= maxJSONDepth {
			return member{}, errJSONDepth
		}
		return member{found: true, kind: kindOther}, s.container(depth + 1)
	case c == 't':
		return member{found: true, kind: kindOther}, s.lit("true")
	case c == 'f':
		return member{found: true, kind: kindOther}, s.lit("false")
	case c == 'n':
		return member{found: true, kind: kindOther}, s.lit("null")
	}
	return member{}, errJSON
}

// container skips an object or an array, validating it.
func (s *scanner) container(depth int) error {
	closer := byte(']')
	isObject := s.b[s.i] == '{'
	if isObject {
		closer = '}'
	}
	s.i++
	s.space()
	if s.eat(closer) {
		return nil
	}
	for {
		s.space()
		if isObject {
			if s.peek() != '"' {
				return errJSON
			}
			if _, _, err := s.str(); err != nil {
				return err
			}
			s.space()
			if !s.eat(':') {
				return errJSON
			}
			s.space()
		}
		if _, err := s.value(depth); err != nil {
			return err
		}
		s.space()
		if s.eat(',') {
			continue
		}
		if s.eat(closer) {
			return nil
		}
		return errJSON
	}
}

func (s *scanner) lit(word string) error {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return errJSON
	}
	s.i += len(word)
	return nil
}

// str scans a string at the opening quote and returns the bytes between the quotes.
func (s *scanner) str() (raw []byte, escaped bool, err error) {
	s.i++
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			raw = s.b[start:s.i]
			s.i++
			return raw, escaped, nil
		case c < 0x20:
			return nil, false, errJSON
		case c == '\\':
			escaped = true
			s.i++
			switch s.peek() {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				if len(s.b)-s.i < 5 || hex4(s.b[s.i+1:s.i+5]) < 0 {
					return nil, false, errJSON
				}
				s.i += 5
			default:
				return nil, false, errJSON
			}
		default:
			s.i++
		}
	}
	return nil, false, errJSON
}

// num scans a number with the JSON grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) num() error {
	s.eat('-')
	switch c := s.peek(); {
	case c == '0':
		s.i++
	case c >= '1' && c <= '9':
		s.digits()
	default:
		return errJSON
	}
	if s.eat('.') {
		if s.digits() == 0 {
			return errJSON
		}
	}
	if s.eat('e') || s.eat('E') {
		if !s.eat('+') {
			s.eat('-')
		}
		if s.digits() == 0 {
			return errJSON
		}
	}
	return nil
}

func (s *scanner) digits() int {
	n := 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

// hex4 decodes four hex digits, or returns -1.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// unescape decodes the escapes of a string that str accepted. Like encoding/json, a lone
// surrogate becomes U+FFFD.
func unescape(raw []byte) string {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		e := raw[i+1]
		i += 2
		switch e {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := hex4(raw[i:])
			i += 4
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					r2 = hex4(raw[i+2:])
				}
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					r = d
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default: // '"', '\\', '/'
			out = append(out, e)
		}
	}
	return string(out)
}
