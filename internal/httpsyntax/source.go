package httpsyntax

import "strings"

// SourceIP is the address part of Envoy's source.address, as written: "ip:port" and
// "[ip6]:port" give ip, a bare address (no port) is itself. ok is false for a unix socket
// ("/path", "@abstract") and for what is none of these shapes: brackets without a port, a
// port that is not a decimal number up to 65535, an IPv4-like address in brackets. The
// address itself is not parsed: a zone or an IPv4-mapped form stays as Envoy wrote it.
func SourceIP(src string) (ip string, ok bool) {
	if src == "" || src[0] == '/' || src[0] == '@' {
		return "", false
	}
	i := strings.LastIndexByte(src, ':')
	if src[0] == '[' {
		if i < 2 || src[i-1] != ']' || !isPort(src[i+1:]) {
			return "", false
		}
		if ip = src[1 : i-1]; strings.IndexByte(ip, ':') < 0 {
			return "", false // brackets hold IPv6 only
		}
		return ip, true
	}
	if i < 0 || strings.IndexByte(src[:i], ':') >= 0 {
		return src, true // no port, or a bare IPv6 address
	}
	if !isPort(src[i+1:]) {
		return "", false
	}
	return src[:i], true
}

// isPort accepts a decimal port number, leading zeros allowed, up to 65535.
func isPort(s string) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		if n = n*10 + int(c-'0'); n > 65535 {
			return false
		}
	}
	return s != ""
}
