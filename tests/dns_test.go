package tests

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
)

// The DNS server that Envoy's DNS cache (dynamic forward proxy: url backends) asks in these
// tests, instead of the system's resolver: answers come at once and the same on any machine,
// offline too. It answers the A records of dnsRecords, no data for their other types, and
// NXDOMAIN for every other name, as the real DNS does for names under .invalid and .test
// (RFC 6761) and for the numeric host forms the tests send.

// dnsRecords are the names the stub knows, lower case with the final dot.
var dnsRecords = map[string]netip.Addr{
	"upstream.apigw.test.": netip.MustParseAddr("127.0.0.1"),
}

// dnsStub is a UDP DNS server on 127.0.0.1 that remembers the names it was asked.
type dnsStub struct {
	Addr *net.UDPAddr

	mu    sync.Mutex
	asked map[string]bool
}

// sharedDNSStub is the stub of this test binary, started at the first call.
func sharedDNSStub() (*dnsStub, error) {
	v, err := sharedValue("dns-stub", func() (any, error) {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return nil, err
		}
		binaryOwner{}.Cleanup(func() { c.Close() })
		s := &dnsStub{Addr: c.LocalAddr().(*net.UDPAddr), asked: map[string]bool{}}
		go s.serve(c)
		return s, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*dnsStub), nil
}

// Asked reports whether a query for name (without the final dot) has arrived.
func (s *dnsStub) Asked(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.asked[strings.ToLower(name)+"."]
}

func (s *dnsStub) serve(c *net.UDPConn) {
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFromUDP(buf)
		if err != nil {
			return // closed
		}
		if resp, err := s.answer(buf[:n]); err == nil {
			c.WriteToUDP(resp, from)
		}
	}
}

const (
	dnsTypeA     = 1
	dnsClassIN   = 1
	dnsNXDomain  = 3
	dnsHeaderLen = 12
)

// answer builds the response to one query (RFC 1035 section 4.1): the header with the query's
// id and recursion flag, its question as sent, then the answer or the NXDOMAIN code.
func (s *dnsStub) answer(q []byte) ([]byte, error) {
	if len(q) < dnsHeaderLen || q[2]&0x80 != 0 || binary.BigEndian.Uint16(q[4:]) != 1 {
		return nil, errors.New("not a query of one question")
	}
	var name strings.Builder
	i := dnsHeaderLen
	for {
		if i >= len(q) {
			return nil, errors.New("short question")
		}
		l := int(q[i])
		i++
		if l == 0 {
			break
		}
		if l > 63 || i+l > len(q) {
			return nil, errors.New("bad label")
		}
		name.WriteString(strings.ToLower(string(q[i : i+l])))
		name.WriteByte('.')
		i += l
	}
	if i+4 > len(q) {
		return nil, errors.New("short question")
	}
	qtype, qclass := binary.BigEndian.Uint16(q[i:]), binary.BigEndian.Uint16(q[i+2:])
	question := q[dnsHeaderLen : i+4]

	s.mu.Lock()
	s.asked[name.String()] = true
	s.mu.Unlock()

	resp := make([]byte, dnsHeaderLen, dnsHeaderLen+len(question)+16)
	copy(resp, q[:2])                 // id
	resp[2] = 0x80 | 0x04 | q[2]&0x01 // QR, AA, RD as asked
	resp[3] = 0x80                    // RA
	binary.BigEndian.PutUint16(resp[4:], 1)
	resp = append(resp, question...)
	addr, known := dnsRecords[name.String()]
	switch {
	case !known:
		resp[3] |= dnsNXDomain
	case qtype == dnsTypeA && qclass == dnsClassIN:
		binary.BigEndian.PutUint16(resp[6:], 1)
		a := addr.As4()
		// The name as a pointer to the question's, type A, class IN, TTL 60 s, 4 bytes.
		resp = append(resp, 0xc0, dnsHeaderLen, 0, dnsTypeA, 0, dnsClassIN, 0, 0, 0, 60, 0, 4)
		resp = append(resp, a[:]...)
	}
	return resp, nil
}
