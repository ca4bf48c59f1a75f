package main

import "github.com/apigw-wasm/apigw-wasm/internal/gateway"

// mapType is the ABI's header map number.
type mapType uint32

const (
	requestHeaders  mapType = 0
	responseHeaders mapType = 2
)

// abiStatus is the ABI's result of a host call.
type abiStatus uint32

const (
	statusOK          abiStatus = 0
	statusNotFound    abiStatus = 1
	statusBadArgument abiStatus = 2
	statusCasMismatch abiStatus = 8
)

// Property paths: the ABI separates path elements with NUL.
const (
	propTLSVersion    = "connection\x00tls_version"
	propSourceAddress = "source\x00address"
	propCodeDetails   = "response\x00code_details"
	propFlags         = "response\x00flags"
)

// parsePairs reads the ABI's pairs encoding in place: a little-endian uint32 count, a pair of
// uint32 lengths per field, then each name and value followed by a NUL. ok is false for a
// buffer that does not add up.
func parsePairs(b string) (fields []gateway.Field, ok bool) {
	if len(b) < 4 {
		return nil, len(b) == 0
	}
	n := le32(b, 0)
	if n < 0 || n > (len(b)-4)/8 {
		return nil, false
	}
	fields = make([]gateway.Field, n)
	lens := b[4 : 4+8*n]
	data := b[4+8*n:]
	for i := range fields {
		nl, vl := le32(lens, 8*i), le32(lens, 8*i+4)
		if nl+vl+2 > len(data) || data[nl] != 0 || data[nl+1+vl] != 0 {
			return nil, false
		}
		fields[i] = gateway.Field{Name: data[:nl], Value: data[nl+1 : nl+1+vl]}
		data = data[nl+vl+2:]
	}
	return fields, true
}

// le32 is the little-endian uint32 at s[i:], as an int (no conversion to []byte, which would copy).
func le32(s string, i int) int {
	return int(uint32(s[i]) | uint32(s[i+1])<<8 | uint32(s[i+2])<<16 | uint32(s[i+3])<<24)
}
