package route

import (
	"fmt"
	"testing"
)

// benchTable holds n APIs of the four kinds in turn, for services s0, s1, ...:
// "=/s<i>/exact/item" GET, "^~/s<i>/static/" ANY, "/s<i>/users/{uid}/orders/{oid}" GET,
// "/s<i>/plain" POST.
func benchTable(b *testing.B, n int) *Table {
	entries := make([]Entry, n)
	for i := range entries {
		s := i / 4
		var path, method string
		switch i % 4 {
		case 0:
			path, method = fmt.Sprintf("=/s%d/exact/item", s), "GET"
		case 1:
			path, method = fmt.Sprintf("^~/s%d/static/", s), "ANY"
		case 2:
			path, method = fmt.Sprintf("/s%d/users/{uid}/orders/{oid}", s), "GET"
		case 3:
			path, method = fmt.Sprintf("/s%d/plain", s), "POST"
		}
		p, err := Compile(path)
		if err != nil {
			b.Fatal(err)
		}
		entries[i] = Entry{Pattern: p, Method: method, Index: i}
	}
	t, err := NewTable(entries)
	if err != nil {
		b.Fatal(err)
	}
	return t
}

func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{10, 10000} {
		t := benchTable(b, n)
		s := n / 8 // a service in the middle of the configuration
		cases := []struct {
			name, method, path string
			want               Result
		}{
			{"exact", "GET", fmt.Sprintf("/s%d/exact/item", s), Found},
			{"prefix", "GET", fmt.Sprintf("/s%d/static/css/site.css", s), Found},
			{"template", "GET", fmt.Sprintf("/s%d/users/12345/orders/67890", s), Found},
			{"plain", "POST", fmt.Sprintf("/s%d/plain/more", s), Found},
			{"405", "DELETE", fmt.Sprintf("/s%d/exact/item", s), MethodNotAllowed},
			{"404", "GET", "/nothing/here/at/all", NoMatch},
		}
		for _, c := range cases {
			b.Run(fmt.Sprintf("apis=%d/%s", n, c.name), func(b *testing.B) {
				var v Vars
				if _, res := t.Lookup(c.path, c.method, &v); res != c.want {
					b.Fatalf("%s %s: %v, want %v", c.method, c.path, res, c.want)
				}
				b.ReportAllocs()
				for b.Loop() {
					t.Lookup(c.path, c.method, &v)
				}
			})
		}
	}
}

func BenchmarkNewTable(b *testing.B) {
	for _, n := range []int{10, 10000} {
		b.Run(fmt.Sprintf("apis=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchTable(b, n)
			}
		})
	}
}

// BenchmarkLookupSharedLead is the index's worst case: 10,000 templates whose
// leading literal is just "/", so every one of them is a candidate.
func BenchmarkLookupSharedLead(b *testing.B) {
	entries := make([]Entry, 10000)
	for i := range entries {
		p, err := Compile(fmt.Sprintf("/{tenant}/r%d/{id}", i))
		if err != nil {
			b.Fatal(err)
		}
		entries[i] = Entry{Pattern: p, Method: "GET", Index: i}
	}
	t, err := NewTable(entries)
	if err != nil {
		b.Fatal(err)
	}
	var v Vars
	path := "/acme/r9999/42"
	if m, res := t.Lookup(path, "GET", &v); res != Found || m.Index != 9999 {
		b.Fatalf("%+v %v", m, res)
	}
	b.ReportAllocs()
	for b.Loop() {
		t.Lookup(path, "GET", &v)
	}
}
