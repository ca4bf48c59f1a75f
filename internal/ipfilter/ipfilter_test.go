package ipfilter

import (
	"net/netip"
	"strconv"
	"testing"

	"github.com/apigw-wasm/apigw-wasm/internal/reply"
)

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		allow, deny []string
		want        string
	}{
		{[]string{"10.0.0.0/8", "10.0.0.256"}, nil, `ip_allow[1]: "10.0.0.256" is not an IP address or CIDR`},
		{nil, []string{"10.0.0.0/33"}, `ip_deny[0]: "10.0.0.0/33" is not an IP address or CIDR`},
		{nil, []string{"::/129"}, `ip_deny[0]: "::/129"`},
		{nil, []string{""}, `ip_deny[0]: ""`},
		{nil, []string{" 10.0.0.1"}, `ip_deny[0]: " 10.0.0.1"`},
		{nil, []string{"010.0.0.1"}, `ip_deny[0]: "010.0.0.1"`},
		{nil, []string{"1.2.3.4:80"}, `ip_deny[0]: "1.2.3.4:80"`},
		{nil, []string{"fe80::1%eth0"}, `ip_deny[0]: "fe80::1%eth0"`},
		{nil, []string{"fe80::1%eth0/64"}, `ip_deny[0]: "fe80::1%eth0/64"`},
		{nil, []string{"10.0.0.0/8/9"}, `ip_deny[0]: "10.0.0.0/8/9"`},
		{nil, []string{"example.com"}, `ip_deny[0]: "example.com"`},
		{[]string{"1.2.3.4"}, []string{"1.2.3.4", "10/8"}, `ip_deny[1]: "10/8"`},
	}
	for _, tt := range tests {
		l, err := Compile(tt.allow, tt.deny)
		if err == nil || err.Error() != tt.want+" is not an IP address or CIDR" && err.Error() != tt.want {
			t.Errorf("Compile(%q, %q) = %v, %v; want %q", tt.allow, tt.deny, l, err, tt.want)
		}
	}
	if l, err := Compile(nil, []string{}); l != nil || err != nil {
		t.Errorf("empty lists: %v, %v; want nil, nil", l, err)
	}
}

func mustCompile(t testing.TB, allow, deny []string) *List {
	t.Helper()
	l, err := Compile(allow, deny)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestCheck(t *testing.T) {
	office := mustCompile(t, []string{"10.0.0.0/8", "192.168.1.7", "2001:db8::/32"}, []string{"10.9.0.0/16", "2001:db8:bad::/48"})
	denyOnly := mustCompile(t, nil, []string{"203.0.113.0/24", "::/0"})
	mapped := mustCompile(t, []string{"::ffff:172.16.0.0/108"}, nil)
	linkLocal := mustCompile(t, []string{"fe80::/10"}, nil)
	everyone4 := mustCompile(t, []string{"0.0.0.0/0"}, nil)
	nobody := mustCompile(t, nil, []string{"0.0.0.0/0", "::/0"})

	tests := []struct {
		name   string
		chain  Chain
		source string
		want   reply.Code
	}{
		{"no lists, IP", Chain{nil, nil}, "10.0.0.1:1234", reply.None},
		{"no lists, unix socket", Chain{nil, nil}, "/run/gw.sock", reply.None},
		{"empty chain", nil, "@abstract", reply.None},
		{"unix socket path", Chain{office}, "/run/gw.sock", reply.ClientIPUnknown},
		{"abstract socket", Chain{nil, office}, "@abstract", reply.ClientIPUnknown},
		{"empty source", Chain{office}, "", reply.ClientIPUnknown},
		{"garbage source", Chain{office}, "10.0.0.1:port", reply.ClientIPUnknown},
		{"in allow", Chain{office}, "10.1.2.3:5000", reply.None},
		{"single address allowed", Chain{office}, "192.168.1.7:1", reply.None},
		{"neighbour of single address", Chain{office}, "192.168.1.8:1", reply.IPNotAllowed},
		{"not in allow", Chain{office}, "11.0.0.1:5000", reply.IPNotAllowed},
		{"deny wins over allow", Chain{office}, "10.9.1.1:5000", reply.IPNotAllowed},
		{"IPv6 in allow", Chain{office}, "[2001:db8::1]:443", reply.None},
		{"IPv6 deny wins", Chain{office}, "[2001:db8:bad::1]:443", reply.IPNotAllowed},
		{"IPv6 not in allow", Chain{office}, "[2001:db9::1]:443", reply.IPNotAllowed},
		{"bare address", Chain{office}, "10.1.2.3", reply.None},
		{"bare IPv6 address", Chain{office}, "2001:db8::1", reply.None},
		{"mapped source matches IPv4 rule", Chain{office}, "[::ffff:10.1.2.3]:80", reply.None},
		{"mapped source denied by IPv4 rule", Chain{office}, "[::ffff:10.9.0.1]:80", reply.IPNotAllowed},
		{"mapped rule matches IPv4 source", Chain{mapped}, "172.16.5.5:80", reply.None},
		{"mapped rule, outside", Chain{mapped}, "172.32.0.1:80", reply.IPNotAllowed},
		{"::/0 does not cover IPv4", Chain{denyOnly}, "198.51.100.1:80", reply.None},
		{"::/0 covers IPv6", Chain{denyOnly}, "[::1]:80", reply.IPNotAllowed},
		{"deny only", Chain{denyOnly}, "203.0.113.9:80", reply.IPNotAllowed},
		{"0.0.0.0/0 does not cover IPv6", Chain{everyone4}, "[::1]:80", reply.IPNotAllowed},
		{"zone dropped", Chain{linkLocal}, "[fe80::1%eth0]:80", reply.None},
		{"deny everything", Chain{nobody}, "255.255.255.255:1", reply.IPNotAllowed},
		{"deny everything v6", Chain{nobody}, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:1", reply.IPNotAllowed},
		{"service allows, API denies", Chain{office, denyOnly}, "[2001:db8::1]:1", reply.IPNotAllowed},
		{"service denies, API allows", Chain{office, everyone4}, "10.9.0.1:1", reply.IPNotAllowed},
		{"service allow list not met", Chain{office, everyone4}, "8.8.8.8:1", reply.IPNotAllowed},
		{"both pass", Chain{office, everyone4}, "10.0.0.1:1", reply.None},
		{"API only", Chain{nil, office}, "11.0.0.1:1", reply.IPNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.chain.Check(tt.source)
			if tt.want == reply.None {
				if got != nil {
					t.Fatalf("got %v, want nil", got)
				}
				return
			}
			if got == nil || got.Code != tt.want || got.Status() != 403 {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMessages(t *testing.T) {
	l := mustCompile(t, []string{"10.0.0.0/8"}, nil)
	if got := (Chain{l}).Check("/tmp/s").Error(); got != "Cannot identify the client IP address, unix domain sockets are not supported." {
		t.Errorf("got %q", got)
	}
	if got := (Chain{l}).Check("1.1.1.1:1").Error(); got != "Your IP address is not allowed." {
		t.Errorf("got %q", got)
	}
}

func TestMerge(t *testing.T) {
	// Overlapping, nested, adjacent and top-of-range entries.
	l := mustCompile(t, []string{"10.0.0.0/9", "10.128.0.0/9", "10.1.0.0/16", "10.0.0.0/8", "255.255.255.255", "255.255.255.254/31", "11.0.0.1", "::/1", "8000::/1", "::1"}, nil)
	if n := len(l.allow.v4); n != 3 {
		t.Errorf("%d IPv4 spans, want 3: %v", n, l.allow.v4)
	}
	if n := len(l.allow.v6); n != 1 {
		t.Errorf("%d IPv6 spans, want 1: %v", n, l.allow.v6)
	}
	for _, s := range []string{"10.0.0.0", "10.255.255.255", "11.0.0.1", "255.255.255.254", "::", "ffff::1"} {
		if !l.allows(netip.MustParseAddr(s)) {
			t.Errorf("%s refused", s)
		}
	}
	for _, s := range []string{"9.255.255.255", "11.0.0.0", "11.0.0.2", "255.255.255.253"} {
		if l.allows(netip.MustParseAddr(s)) {
			t.Errorf("%s allowed", s)
		}
	}
}

func TestParseSource(t *testing.T) {
	tests := []struct {
		source, want string // want "" for not an IP
	}{
		{"1.2.3.4:80", "1.2.3.4"},
		{"[::1]:80", "::1"},
		{"[::ffff:1.2.3.4]:80", "1.2.3.4"},
		{"[fe80::1%eth0]:80", "fe80::1"},
		{"1.2.3.4", "1.2.3.4"},
		{"::1", "::1"},
		{"/run/gw.sock", ""},
		{"@abstract", ""},
		{"", ""},
		{"1.2.3.4:", ""},
		{"[::1]", ""},
	}
	for _, tt := range tests {
		a, ok := ParseSource(tt.source)
		if ok != (tt.want != "") || ok && a.String() != tt.want {
			t.Errorf("ParseSource(%q) = %v, %v; want %q", tt.source, a, ok, tt.want)
		}
	}
}

func TestNoAllocations(t *testing.T) {
	chain := Chain{mustCompile(t, []string{"10.0.0.0/8", "2001:db9::/32"}, []string{"10.9.0.0/16"}), mustCompile(t, nil, []string{"2001:db8::/32"})}
	allocs := testing.AllocsPerRun(100, func() {
		_ = chain.Check("10.1.2.3:5000")
		_ = chain.Check("[2001:db9::1]:443")
	})
	if allocs != 0 {
		t.Errorf("%v allocations per check", allocs)
	}
}

// addrFrom builds an address from fuzz bytes: 4 bytes IPv4, else IPv6 from the first 16.
func addrFrom(b []byte) netip.Addr {
	if len(b) == 4 {
		return netip.AddrFrom4([4]byte(b))
	}
	var a [16]byte
	copy(a[:], b)
	return netip.AddrFrom16(a)
}

// FuzzEntries compiles up to three entries and compares the compiled sets with netip's own
// Prefix.Contains over the same entries, for a fuzzed address.
func FuzzEntries(f *testing.F) {
	f.Add("10.0.0.0/8", "10.1.0.0/16", "::ffff:10.0.0.0/104", []byte{10, 1, 2, 3})
	f.Add("::/0", "0.0.0.0/0", "2001:db8::1", []byte{0x20, 0x01, 0x0d, 0xb8})
	f.Add("255.255.255.255", "255.255.255.254/31", "1.2.3.4/0", []byte{255, 255, 255, 255})
	f.Add("fe80::1%eth0", "::ffff:0:0/95", "8000::/1", []byte{0xff, 0xff})
	f.Fuzz(func(t *testing.T, e1, e2, e3 string, ab []byte) {
		var entries []string
		var prefixes []netip.Prefix
		for _, e := range []string{e1, e2, e3} {
			p, err := netip.ParsePrefix(e)
			if err != nil {
				a, aerr := netip.ParseAddr(e)
				if aerr != nil || a.Zone() != "" {
					if _, ok := parseEntry(e); ok {
						t.Fatalf("%q: accepted, netip refuses it", e)
					}
					continue
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			entries = append(entries, e)
			prefixes = append(prefixes, p)
		}
		l, err := Compile(entries, nil)
		if err != nil {
			t.Fatalf("%q: %v", entries, err)
		}
		// The reference: a rule in ::ffff:0:0/96 space speaks of IPv4.
		for i, p := range prefixes {
			if p.Addr().Is4In6() && p.Bits() >= 96 {
				prefixes[i] = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96).Masked()
			}
		}
		probes := []netip.Addr{addrFrom(ab).Unmap()}
		for _, p := range prefixes {
			first, last := p.Masked().Addr(), lastAddr(p)
			probes = append(probes, first, last, first.Prev(), last.Next())
		}
		for _, a := range probes {
			if !a.IsValid() {
				continue
			}
			a = a.Unmap()
			want := len(entries) == 0
			for _, p := range prefixes {
				want = want || p.Contains(a)
			}
			if got := l.allows(a); got != want {
				t.Fatalf("%q contains %v: got %v, want %v", entries, a, got, want)
			}
		}
	})
}

// lastAddr is the last address of a prefix, its host bits set.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// FuzzParseSource: never panics, and agrees with netip.ParseAddrPort on "ip:port".
func FuzzParseSource(f *testing.F) {
	for _, s := range []string{"1.2.3.4:80", "[::1]:80", "[fe80::1%eth0]:1", "/run/gw.sock", "@x", "::ffff:1.2.3.4", "1.2.3.4"} {
		f.Add(s)
	}
	chain := Chain{mustCompile(f, []string{"0.0.0.0/0"}, nil)}
	f.Fuzz(func(t *testing.T, s string) {
		a, ok := ParseSource(s)
		if ap, err := netip.ParseAddrPort(s); err == nil {
			if !ok || a != ap.Addr().Unmap().WithZone("") {
				t.Fatalf("%q: got %v, %v; netip %v", s, a, ok, ap)
			}
		}
		if ok && (a.Is4In6() || a.Zone() != "" || !a.IsValid()) {
			t.Fatalf("%q: %v not unmapped, zoneless and valid", s, a)
		}
		if e := chain.Check(s); ok && a.Is4() != (e == nil) || !ok && (e == nil || e.Code != reply.ClientIPUnknown) {
			t.Fatalf("%q: Check = %v", s, e)
		}
	})
}

// BenchmarkCheck: a service list and an API list of 1000 IPv4 and 1000 IPv6 entries each.
func BenchmarkCheck(b *testing.B) {
	var v4s, v6s []string
	for i := range 1000 {
		v4s = append(v4s, "10."+strconv.Itoa(i/250)+"."+strconv.Itoa(i%250)+".0/24")
		v6s = append(v6s, "2001:db8:"+strconv.FormatInt(int64(i), 16)+"::/48")
	}
	chain := Chain{mustCompile(b, append(v4s, v6s...), []string{"10.0.5.0/24"}), mustCompile(b, nil, []string{"10.3.0.0/16"})}
	for _, src := range []string{"10.2.100.7:5123", "[2001:db8:3e7::1]:443"} {
		b.Run(src, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if e := chain.Check(src); e != nil {
					b.Fatal(e)
				}
			}
		})
	}
}
