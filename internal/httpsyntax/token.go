package httpsyntax

// tchar marks the bytes that may appear in an RFC 9110 token: letters, digits and
// !#$%&'*+-.^_`|~.
var tchar = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// IsTchar reports whether b may appear in a token.
func IsTchar(b byte) bool { return tchar[b] }

// IsToken reports whether s is an RFC 9110 token, the syntax of a header name and of a method,
// in any case. A name the gateway compares in lower case is a token once lowered.
func IsToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if !tchar[s[i]] {
			return false
		}
	}
	return s != ""
}

// IsFieldValue reports whether s can be sent as a header value: no control bytes but tab.
func IsFieldValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
