package httpsyntax

import "unsafe"

// NormalizePath returns the path part of a request target (without the query) in the form every
// decision of the gateway uses, or ok false when the path must be refused. It is spec step 1b:
//
//   - a %-escape of an unreserved character (A-Z a-z 0-9 - . _ ~, hex digits in either case) is
//     decoded: "%66iles" is "files", "%2e%2e" is "..";
//   - a literal '\' is a '/', as browsers (the WHATWG URL standard) and Envoy's own normalize_path
//     read it, so that no upstream can take it for a separator the gateway did not see;
//   - dot-segments are removed as RFC 3986 section 5.2.4 says ("/a/./b/../c" is "/a/c", ".." above
//     the root is dropped: "/../x" is "/x"); repeated slashes stay;
//   - every other escape stays exactly as sent ("%20", "%3F", hex case kept), and so does a '%'
//     that starts no escape ("%zz", a trailing "%"), with one exception: such a '%' is written "%25"
//     when the characters decoded after it would otherwise make a new escape of it ("%%32%65"
//     becomes "%252e", never "%2e"), as Envoy's normalize_path does;
//   - the path is refused (ok false) when it holds %00 anywhere, or when an escape of '/' or '\'
//     (%2F, %5C, any case) is left after dot-segment removal: an upstream that decodes it once
//     would see a separator, or the end of a C string, that the gateway did not see.
//
// The result is a fixed point (normalizing it again changes nothing) and holds no "." or ".."
// segment. When nothing changes, NormalizePath returns p itself without allocating.
func NormalizePath(p string) (string, bool) {
	if isNormal(p) {
		return p, true
	}
	b, separator, ok := decode(p)
	if !ok {
		return "", false
	}
	b = removeDotSegments(b)
	if separator && hasSeparatorEscape(b) {
		return "", false
	}
	// b is never written again: the string can share its bytes, as strings.Builder's does.
	return unsafe.String(unsafe.SliceData(b), len(b)), true
}

// isNormal reports whether NormalizePath leaves p as it is for certain: no '%', no '\' and no
// dot-segment. It is the common case, and reads p once.
func isNormal(p string) bool {
	for i := 0; i < len(p); i++ {
		if !notable[p[i]] {
			continue
		}
		if p[i] != '.' || (i == 0 || p[i-1] == '/') && dotSegmentAt(p[i:]) {
			return false
		}
	}
	return true
}

// notable marks the bytes isNormal looks at twice.
var notable = [256]bool{'%': true, '\\': true, '.': true}

// dotSegmentAt reports whether s starts with a "." or ".." segment.
func dotSegmentAt(s string) bool {
	if len(s) > 1 && s[1] == '.' {
		s = s[1:]
	}
	return s == "." || (len(s) > 1 && s[0] == '.' && s[1] == '/')
}

// decode writes p with its unreserved escapes decoded, '\' as '/', and a '%' that would form a
// new escape as "%25". separator reports a kept escape of '/' or '\'; ok is false for %00.
// The result is never longer than p.
func decode(p string) (b []byte, separator, ok bool) {
	b = make([]byte, 0, len(p))
	for i := 0; i < len(p); {
		c := p[i]
		switch {
		case c == '\\':
			b = append(b, '/')
			i++
		case c != '%':
			b = append(b, c)
			i++
		case isEscape(p, i):
			switch v := unhex(p[i+1])<<4 | unhex(p[i+2]); {
			case v == 0:
				return nil, false, false
			case isUnreserved(v):
				b = append(b, v)
			default:
				separator = separator || v == '/' || v == '\\'
				b = append(b, p[i:i+3]...)
			}
			i += 3
		case formsEscape(p, i+1):
			// A stray '%' before two hex digits that come out of decoding: keeping it would
			// make an escape the client never sent.
			b = append(b, "%25"...)
			i++
		default:
			b = append(b, '%')
			i++
		}
	}
	return b, separator, true
}

// isEscape reports whether p[i:] starts with '%' and two hex digits.
func isEscape(p string, i int) bool {
	return i+2 < len(p) && p[i] == '%' && isHex(p[i+1]) && isHex(p[i+2])
}

// formsEscape reports whether the first two bytes decode writes for p[j:] are hex digits. Two
// hex digits that come straight from p would have made the '%' before j an escape already, so
// this is true only when decoding produces at least one of them.
func formsEscape(p string, j int) bool {
	c, n := decodedByte(p, j)
	if n == 0 || !isHex(c) {
		return false
	}
	c, n = decodedByte(p, j+n)
	return n > 0 && isHex(c)
}

// decodedByte is the first byte decode writes for p[j:] and how many bytes of p it reads for it;
// n is 0 at the end of p. A kept escape and a stray '%' both start with '%', a '\' becomes '/':
// none of them is a hex digit, which is all formsEscape asks.
func decodedByte(p string, j int) (c byte, n int) {
	if j >= len(p) {
		return 0, 0
	}
	if isEscape(p, j) {
		if v := unhex(p[j+1])<<4 | unhex(p[j+2]); isUnreserved(v) {
			return v, 3
		}
	}
	return p[j], 1
}

// removeDotSegments applies RFC 3986 section 5.2.4 to b in place. Written as segments: a "."
// segment is dropped, a ".." segment drops itself and the segment before it, and either one
// at the end leaves a trailing '/'. A relative path (one that does not start with '/') first
// loses its leading "./" and "../" (rules A and D).
func removeDotSegments(b []byte) []byte {
	r := 0
	for {
		rest := b[r:]
		if n := dotSegmentLen(rest); n > 0 && n < len(rest) && rest[n] == '/' {
			r += n + 1 // "./" or "../"
		} else if n > 0 && n == len(rest) {
			r = len(b) // "." or ".."
		} else {
			break
		}
	}
	w := 0 // b[:w] is the output; it never overtakes r
	for r < len(b) {
		start := r
		if b[r] == '/' {
			r++
		}
		end := len(b)
		for i := r; i < len(b); i++ {
			if b[i] == '/' {
				end = i
				break
			}
		}
		n := dotSegmentLen(b[r:end])
		switch {
		case b[start] != '/' || n == 0 || r+n != end:
			w += copy(b[w:], b[start:end])
		case n == 2: // ".." drops the segment before it
			w = max(lastSlash(b[:w]), 0)
			fallthrough
		default: // a dropped "." or ".." at the end leaves the '/' before it
			if end == len(b) {
				b[w] = '/'
				w++
			}
		}
		r = end
	}
	return b[:w]
}

// dotSegmentLen is 1 or 2 when b starts with "." or "..", else 0.
func dotSegmentLen(b []byte) int {
	switch {
	case len(b) > 1 && b[0] == '.' && b[1] == '.':
		return 2
	case len(b) > 0 && b[0] == '.':
		return 1
	}
	return 0
}

func lastSlash(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '/' {
			return i
		}
	}
	return -1
}

// hasSeparatorEscape reports an escape of '/' or '\' in a decoded path. Reading escapes from the
// left is exact there: decode never leaves a stray '%' before two hex digits.
func hasSeparatorEscape(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if b[i] == '%' && i+2 < len(b) && isHex(b[i+1]) && isHex(b[i+2]) {
			if v := unhex(b[i+1])<<4 | unhex(b[i+2]); v == '/' || v == '\\' {
				return true
			}
			i += 2
		}
	}
	return false
}

// isUnreserved reports RFC 3986's unreserved characters.
func isUnreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}
