// Package ipfilter is the client IP restriction, step 7 of the pipeline. A service's and an
// API's ip_allow/ip_deny lists (CIDRs or single addresses, IPv4 and IPv6) are compiled once
// into sorted, merged address ranges, so a check is two binary searches per list and no
// allocation. The lists of a request form a Chain, service first, then API; an address must
// pass every list of it: not denied, and in the allow list when that is not empty.
package ipfilter

import (
	"cmp"
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"strconv"

	"github.com/apigw-wasm/apigw-wasm/internal/httpsyntax"
	"github.com/apigw-wasm/apigw-wasm/internal/reply"
)

// List is the compiled ip_allow and ip_deny of one service or API. It is immutable and safe
// for concurrent use.
type List struct {
	allow, deny set
	hasAllow    bool
}

// set is a set of addresses as disjoint ranges sorted by their start, one table per family.
// IPv4 rules and IPv4-mapped IPv6 rules go to v4; the families never meet, so ::/0 does not
// cover IPv4 clients and 0.0.0.0/0 does not cover IPv6 ones.
type set struct {
	v4 []span[uint32]
	v6 []span[u128]
}

type u128 struct{ hi, lo uint64 }

func (a u128) compare(b u128) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

type span[T any] struct{ lo, hi T }

// Compile compiles one level's lists. It returns nil, a list that restricts nothing, when
// both are empty. An entry is an address (a /32 or /128) or a CIDR whose host bits may be
// set; zones, ports, spaces and IPv4 octets with leading zeros are errors naming the entry.
func Compile(allow, deny []string) (*List, error) {
	if len(allow) == 0 && len(deny) == 0 {
		return nil, nil
	}
	l := &List{hasAllow: len(allow) > 0}
	var err error
	if l.allow, err = compileSet("ip_allow", allow); err != nil {
		return nil, err
	}
	if l.deny, err = compileSet("ip_deny", deny); err != nil {
		return nil, err
	}
	return l, nil
}

func compileSet(field string, entries []string) (set, error) {
	var s set
	for i, e := range entries {
		p, ok := parseEntry(e)
		if !ok {
			return set{}, errors.New(field + "[" + strconv.Itoa(i) + "]: " + strconv.Quote(e) + " is not an IP address or CIDR")
		}
		if p.Addr().Is4() {
			lo := v4(p.Addr())
			hi := lo | (1<<(32-p.Bits()) - 1)
			s.v4 = append(s.v4, span[uint32]{lo, hi})
		} else {
			lo := v6(p.Addr())
			hostBits := 128 - p.Bits()
			hi := lo
			switch {
			case hostBits >= 64:
				hi.hi |= 1<<(hostBits-64) - 1
				hi.lo = ^uint64(0)
			default:
				hi.lo |= 1<<hostBits - 1
			}
			s.v6 = append(s.v6, span[u128]{lo, hi})
		}
	}
	s.v4 = merge(s.v4, cmp.Compare[uint32], func(a uint32) uint32 { return a + 1 }, ^uint32(0))
	s.v6 = merge(s.v6, u128.compare, func(a u128) u128 {
		if a.lo++; a.lo == 0 {
			a.hi++
		}
		return a
	}, u128{^uint64(0), ^uint64(0)})
	return s, nil
}

// parseEntry reads a CIDR or an address into a masked prefix; a prefix inside ::ffff:0:0/96
// becomes the IPv4 prefix it maps.
func parseEntry(e string) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(e)
	if err != nil {
		a, err := netip.ParseAddr(e)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, false
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), true
}

// merge sorts spans and joins the overlapping and adjacent ones.
func merge[T any](spans []span[T], compare func(a, b T) int, next func(T) T, max T) []span[T] {
	slices.SortFunc(spans, func(a, b span[T]) int { return compare(a.lo, b.lo) })
	out := spans[:0]
	for _, s := range spans {
		if n := len(out); n > 0 {
			last := &out[n-1]
			if compare(last.hi, max) == 0 || compare(s.lo, next(last.hi)) <= 0 {
				if compare(s.hi, last.hi) > 0 {
					last.hi = s.hi
				}
				continue
			}
		}
		out = append(out, s)
	}
	return slices.Clip(out)
}

func v4(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

func v6(a netip.Addr) u128 {
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

// find reports whether x is in one of the sorted, disjoint spans.
func find[T any](spans []span[T], x T, compare func(a, b T) int) bool {
	// i is the number of spans that start at or before x.
	i, j := 0, len(spans)
	for i < j {
		h := int(uint(i+j) >> 1)
		if compare(spans[h].lo, x) <= 0 {
			i = h + 1
		} else {
			j = h
		}
	}
	return i > 0 && compare(x, spans[i-1].hi) <= 0
}

func (s *set) contains(a netip.Addr) bool {
	if a.Is4() {
		return find(s.v4, v4(a), cmp.Compare[uint32])
	}
	return find(s.v6, v6(a), u128.compare)
}

// allows reports whether the list lets a through: not denied, and allowed when it must be.
// a is unmapped and without zone.
func (l *List) allows(a netip.Addr) bool {
	if l == nil {
		return true
	}
	if l.deny.contains(a) {
		return false
	}
	return !l.hasAllow || l.allow.contains(a)
}

// Allows reports whether the list lets the address through; a nil list lets everything through.
// It serves deny-only lists such as endpoint_deny.
func (l *List) Allows(a netip.Addr) bool { return l.allows(a.Unmap().WithZone("")) }

// Chain is the lists that apply to a request, service first, then API; nil entries are
// levels without lists.
type Chain []*List

// Check judges Envoy's source address: nil when every list lets it through, 403
// ClientIPUnknown when it is not an IP address (a unix socket), 403 IPNotAllowed when a list
// refuses it. A chain without lists accepts any source, unix sockets included.
func (c Chain) Check(source string) *reply.Error {
	restricted := false
	for _, l := range c {
		restricted = restricted || l != nil
	}
	if !restricted {
		return nil
	}
	a, ok := ParseSource(source)
	if !ok {
		return reply.New(reply.ClientIPUnknown, "")
	}
	for _, l := range c {
		if !l.allows(a) {
			return reply.New(reply.IPNotAllowed, "")
		}
	}
	return nil
}

// ParseSource reads the client address from Envoy's source.address: "ip:port",
// "[ipv6]:port" or a bare address. IPv4-mapped IPv6 addresses come back as IPv4 and zones are
// dropped. A unix socket ("/path", "@abstract") or anything else is not ok.
func ParseSource(source string) (netip.Addr, bool) {
	ip, ok := httpsyntax.SourceIP(source)
	if !ok {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}
