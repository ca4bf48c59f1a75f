package httpsyntax

import (
	"net/netip"
	"testing"
)

func TestIsToken(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"x-apigw-cluster", true},
		{"X-Token", true},
		{"!#$%&'*+-.^_`|~09azAZ", true},
		{"", false},
		{"a b", false},
		{"a:b", false},
		{":authority", false},
		{"a\"b", false},
		{"caf\xc3\xa9", false},
		{"a\x7f", false},
	}
	for _, tt := range tests {
		if got := IsToken(tt.in); got != tt.want {
			t.Errorf("IsToken(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	for c := 0; c < 256; c++ {
		if IsTchar(byte(c)) != IsToken(string([]byte{byte(c)})) {
			t.Errorf("IsTchar(%#x) disagrees with IsToken", c)
		}
	}
}

func TestIsFieldValue(t *testing.T) {
	for in, want := range map[string]bool{"": true, "a b\tc": true, "caf\xc3\xa9": true, "a\r\nb": false, "a\x00": false, "a\x7f": false} {
		if got := IsFieldValue(in); got != want {
			t.Errorf("IsFieldValue(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestMethods(t *testing.T) {
	for i, m := range Methods {
		if MethodIndex(m) != i || !IsMethod(m) {
			t.Errorf("%s: index %d", m, MethodIndex(m))
		}
	}
	for _, m := range []string{"get", "ANY", "CONNECT", "TRACE", ""} {
		if MethodIndex(m) != -1 || IsMethod(m) {
			t.Errorf("%q is a method", m)
		}
	}
}

func TestSplitHostPort(t *testing.T) {
	tests := []struct{ in, host, port string }{
		{"example.com", "example.com", ""},
		{"example.com:8080", "example.com", "8080"},
		{"example.com:", "example.com", ""},
		{"[::1]", "[::1]", ""},
		{"[::1]:443", "[::1]", "443"},
		{"[::1]x", "[::1]x", ""},
		{"[::1", "[::1", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		if h, p := SplitHostPort(tt.in); h != tt.host || p != tt.port {
			t.Errorf("SplitHostPort(%q) = %q, %q; want %q, %q", tt.in, h, p, tt.host, tt.port)
		}
	}
}

func TestValidHostPort(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"example.com", true},
		{"Example.COM:8080", true},
		{"a_b.example-1.com", true},
		{"10.0.0.5:65535", true},
		{"[::1]:80", true},
		{"[fe80::1%eth0]", true},
		{"example.com:", false},
		{"example.com:0", false},
		{"example.com:65536", false},
		{"example.com:+80", false},
		{"example.com.", false}, // a trailing dot is trimmed by the caller, not here
		{"a..b", false},
		{".a", false},
		{"a b", false},
		{"[10.0.0.5]", false},
		{"[::1", false},
		{"[::1]x", false},
		{"::1", false},
		{"", false},
		{string(make([]byte, 64)) + ".com", false},
	}
	for _, tt := range tests {
		if got := ValidHostPort(tt.in); got != tt.want {
			t.Errorf("ValidHostPort(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestSourceIP(t *testing.T) {
	tests := []struct {
		in, want string // want "" for not ok
	}{
		{"1.2.3.4:80", "1.2.3.4"},
		{"[::1]:80", "::1"},
		{"[::ffff:1.2.3.4]:80", "::ffff:1.2.3.4"},
		{"[fe80::1%eth0]:80", "fe80::1%eth0"},
		{"1.2.3.4", "1.2.3.4"},
		{"::1", "::1"},
		{"/run/gw.sock", ""},
		{"@abs", ""},
		{"", ""},
		{"1.2.3.4:", ""},
		{"1.2.3.4:port", ""},
		{"1.2.3.4:65536", ""},
		{"[::1]", ""},
		{"[1.2.3.4]:80", ""},
	}
	for _, tt := range tests {
		got, ok := SourceIP(tt.in)
		if ok != (tt.want != "") || got != tt.want {
			t.Errorf("SourceIP(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
}

// FuzzSourceIP: every address netip reads as ip:port is split to its IP.
func FuzzSourceIP(f *testing.F) {
	for _, s := range []string{"1.2.3.4:80", "[::1]:80", "[fe80::1%eth0]:1", "/run/gw.sock", "::1", "[::1]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ip, ok := SourceIP(s)
		if ap, err := netip.ParseAddrPort(s); err == nil {
			if a, err := netip.ParseAddr(ip); !ok || err != nil || a != ap.Addr() {
				t.Fatalf("%q: got %q, %v; netip %v", s, ip, ok, ap)
			}
		}
	})
}
