package params

import "testing"

// benchRequest is a Request without maps, as the plugin's view is: a few fields.
type benchRequest struct {
	id, token, query string
}

func (r *benchRequest) PathVar(string) (string, bool) { return r.id, true }
func (r *benchRequest) Header(name string) (string, bool) {
	if name == "x-token" {
		return r.token, true
	}
	return "", false
}
func (r *benchRequest) Query() string { return r.query }
func (r *benchRequest) Body() []byte  { return nil }

// BenchmarkCheck checks the example API of docs/gateway.md section 4: an int path variable, a
// required header and an int query parameter with a default, which is absent in one case.
func BenchmarkCheck(b *testing.B) {
	set, err := Compile([]Spec{
		{Name: "id", Position: "path", Type: "int", Required: true},
		{Name: "X-Token", Position: "header", Required: true},
		{Name: "page", Position: "query", Type: "int", Default: "1", HasDefault: true},
	}, []string{"id"})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, query string }{
		{"present", "sort=name&page=12&lang=zh-CN"},
		{"encoded", "sort=name&p%61ge=%31%32&lang=zh-CN"},
		{"default", "sort=name&lang=zh-CN"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := &benchRequest{id: "12345", token: "abcdef", query: bc.query}
			b.ReportAllocs()
			for b.Loop() {
				if _, e := set.Check(r); e != nil {
					b.Fatal(e)
				}
			}
		})
	}
}

var sink string

// BenchmarkLookup reads one value from a query string of six pairs.
func BenchmarkLookup(b *testing.B) {
	for _, bc := range []struct{ name, query string }{
		{"plain", "a=1&bb=22&ccc=333&page=12&sort=name&lang=zh-CN"},
		{"escaped", "a=1&bb=22&ccc=333&page=%E4%B8%AD+1&sort=name&lang=zh-CN"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				v, _, err := Lookup(bc.query, "page")
				if err != nil {
					b.Fatal(err)
				}
				sink = v
			}
		})
	}
}

// BenchmarkDecodeAll reads every pair of a query string, decoding keys and values.
func BenchmarkDecodeAll(b *testing.B) {
	q := "a=1&bb=22&ccc=333&page=%E4%B8%AD+1&sort=name&lang=zh-CN"
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		for rest := q; rest != ""; {
			var pair string
			pair, rest = cutPair(rest)
			k, v := cutEq(pair)
			if !validEscapes(k) || !validEscapes(v) {
				b.Fatal("malformed")
			}
			buf = appendDecoded(appendDecoded(buf[:0], k, true), v, true)
		}
	}
}

// BenchmarkDefaults applies a header and a query default.
func BenchmarkDefaults(b *testing.B) {
	set, err := Compile([]Spec{
		{Name: "X-Tenant", Position: "header", Default: "acme", HasDefault: true},
		{Name: "page", Position: "query", Type: "int", Default: "1", HasDefault: true},
	}, nil)
	if err != nil {
		b.Fatal(err)
	}
	r := &benchRequest{query: "sort=name"}
	b.ReportAllocs()
	for b.Loop() {
		d, e := set.Check(r)
		if e != nil {
			b.Fatal(e)
		}
		for name, value := range d.Headers() {
			sink = name + value
		}
		sink = d.Query(r.query)
	}
}
