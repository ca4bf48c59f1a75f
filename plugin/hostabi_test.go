package main

import (
	"encoding/binary"
	"reflect"
	"testing"

	"github.com/apigw-wasm/apigw-wasm/internal/gateway"
)

// encodePairs is the host's pairs encoding, written independently of parsePairs.
func encodePairs(fields []gateway.Field) string {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(fields)))
	for _, f := range fields {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(f.Name)))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(f.Value)))
	}
	for _, f := range fields {
		b = append(append(append(append(b, f.Name...), 0), f.Value...), 0)
	}
	return string(b)
}

func TestParsePairs(t *testing.T) {
	fields := []gateway.Field{{Name: ":authority", Value: "a.example"}, {Name: ":path", Value: "/x?y=1"},
		{Name: "cookie", Value: "a=1"}, {Name: "cookie", Value: "b=2"}, {Name: "x-empty", Value: ""}}
	good := encodePairs(fields)
	for _, c := range []struct {
		name string
		in   string
		want []gateway.Field
		ok   bool
	}{
		{"empty buffer", "", nil, true},
		{"no fields", encodePairs(nil), []gateway.Field{}, true},
		{"fields", good, fields, true},
		{"short count", "\x01\x00", nil, false},
		{"count beyond the buffer", "\xff\xff\xff\x7f" + good[4:], nil, false},
		{"truncated data", good[:len(good)-3], nil, false},
		{"length beyond the data", encodePairs(fields[:1])[:4] + "\xff\x00\x00\x00\x00\x00\x00\x00" + good[12:], nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := parsePairs(c.in)
			if ok != c.ok || c.ok && !reflect.DeepEqual(got, c.want) {
				t.Fatalf("parsePairs = %q, %v; want %q, %v", got, ok, c.want, c.ok)
			}
		})
	}
}

// FuzzParsePairs: any buffer is parsed without a panic, and what parses re-encodes to itself.
func FuzzParsePairs(f *testing.F) {
	f.Add(encodePairs([]gateway.Field{{Name: "a", Value: "b"}, {Name: ":path", Value: "/"}}))
	f.Add("\x02\x00\x00\x00")
	f.Fuzz(func(t *testing.T, in string) {
		fields, ok := parsePairs(in)
		if !ok || len(in) == 0 {
			return
		}
		if out := encodePairs(fields); len(out) > len(in) || out != in[:len(out)] {
			t.Fatalf("%q parsed to %q, which encodes to %q", in, fields, out)
		}
	})
}
