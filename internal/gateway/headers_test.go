package gateway

import (
	"reflect"
	"testing"
)

func TestHeaderList(t *testing.T) {
	h := &HeaderList{Fields: []Field{{Name: "x-a", Value: "1"}, {Name: "x-b", Value: "2"}, {Name: "x-a", Value: "3"}, {Name: "x-e", Value: ""}}}
	for _, c := range []struct {
		name   string
		get    string
		ok     bool
		values []string
	}{
		{"x-a", "1", true, []string{"1", "3"}},
		{"x-b", "2", true, []string{"2"}},
		{"x-e", "", true, []string{""}},
		{"x-missing", "", false, nil},
		{"X-B", "", false, nil}, // names are asked for in lowercase
	} {
		if v, ok := h.Get(c.name); v != c.get || ok != c.ok {
			t.Errorf("Get(%q) = %q, %v; want %q, %v", c.name, v, ok, c.get, c.ok)
		}
		if vs := h.Values(c.name); !reflect.DeepEqual(vs, c.values) {
			t.Errorf("Values(%q) = %q; want %q", c.name, vs, c.values)
		}
	}
	// A single value is a view, not a copy: appending to it cannot change the list.
	_ = append(h.Values("x-b"), "9")
	if v, _ := h.Get("x-a"); v != "1" || h.Values("x-b")[0] != "2" {
		t.Fatal("appending to a returned slice changed the headers")
	}
	if n := testing.AllocsPerRun(100, func() { h.Values("x-b") }); n != 0 {
		t.Errorf("Values of a single header allocates %v times", n)
	}
}
