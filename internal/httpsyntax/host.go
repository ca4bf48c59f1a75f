package httpsyntax

import (
	"net/netip"
	"strconv"
	"strings"
)

// SplitHostPort splits an authority, host[:port], where an IPv6 host is in brackets and keeps
// them. port is empty when there is none; the host is shorter than hp exactly when a colon and
// port followed it, so "h:" is h with an empty port. A bracket followed by anything but
// ":port" stays whole in host, for ValidHost to refuse.
func SplitHostPort(hp string) (host, port string) {
	if strings.HasPrefix(hp, "[") {
		if i := strings.IndexByte(hp, ']'); i >= 0 {
			host, rest := hp[:i+1], hp[i+1:]
			if p, ok := strings.CutPrefix(rest, ":"); ok {
				return host, p
			}
			if rest != "" {
				return hp, ""
			}
			return host, ""
		}
		return hp, ""
	}
	if i := strings.LastIndexByte(hp, ':'); i >= 0 {
		return hp[:i], hp[i+1:]
	}
	return hp, ""
}

// ValidHost accepts a DNS name or an IP literal (IPv6 in brackets), without port.
func ValidHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	if h[0] == '[' {
		if h[len(h)-1] != ']' {
			return false
		}
		a, err := netip.ParseAddr(h[1 : len(h)-1])
		return err == nil && a.Is6()
	}
	if strings.IndexByte(h, ':') >= 0 || strings.Trim(h, "0123456789.") == "" {
		if _, err := netip.ParseAddr(h); err == nil {
			return true
		}
	}
	// DNS labels of 1 to 63 letters, digits, '-' or '_', checked without splitting (per request).
	label := 0
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_':
			if label++; label > 63 {
				return false
			}
		default:
			return false
		}
	}
	return label > 0
}

// ValidHostPort accepts host or host:port with a port from 1 to 65535.
func ValidHostPort(hp string) bool {
	host, port := SplitHostPort(hp)
	if !ValidHost(host) {
		return false
	}
	if port == "" {
		return !strings.HasSuffix(hp, ":")
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535 && port[0] != '+'
}
