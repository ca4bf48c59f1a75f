package limit

import (
	"errors"
	"math"
	"testing"
)

func TestMemoryCAS(t *testing.T) {
	// Each step runs against the state the previous steps left, like the host's shared data.
	type step struct {
		op      string // "get" or "set"
		key     string
		value   string
		cas     uint32 // for set; 0 unconditional
		wantErr error
		wantCAS uint32 // for get; 0 = missing
		wantVal string
	}
	steps := []step{
		{op: "get", key: "a"},
		{op: "set", key: "a", value: "1", cas: 99}, // a cas on a missing key creates it (cas 1)
		{op: "get", key: "a", wantCAS: 1, wantVal: "1"},
		{op: "set", key: "a", value: "2", cas: 99, wantErr: ErrCASMismatch},
		{op: "get", key: "a", wantCAS: 1, wantVal: "1"},
		{op: "set", key: "b", value: "x"}, // the counter is shared by all keys (cas 2)
		{op: "set", key: "a", value: "3", cas: 1},
		{op: "get", key: "a", wantCAS: 3, wantVal: "3"},
		{op: "set", key: "a", value: "4", cas: 1, wantErr: ErrCASMismatch},
		{op: "set", key: "a", value: "5"}, // cas 0 is unconditional
		{op: "get", key: "a", wantCAS: 4, wantVal: "5"},
		{op: "get", key: "b", wantCAS: 2, wantVal: "x"},
	}
	var m Memory
	for i, s := range steps {
		switch s.op {
		case "set":
			if err := m.Set(s.key, []byte(s.value), s.cas); !errors.Is(err, s.wantErr) {
				t.Fatalf("step %d: Set(%q, %q, %d) = %v, want %v", i, s.key, s.value, s.cas, err, s.wantErr)
			}
		case "get":
			v, cas, found, err := m.Get(s.key)
			if err != nil || found != (s.wantCAS != 0) || cas != s.wantCAS || string(v) != s.wantVal {
				t.Fatalf("step %d: Get(%q) = %q, %d, %v, %v; want %q, %d", i, s.key, v, cas, found, err, s.wantVal, s.wantCAS)
			}
		}
	}
}

func TestMemoryCASWrapsSkippingZero(t *testing.T) {
	var m Memory
	m.next = math.MaxUint32
	for _, want := range []uint32{math.MaxUint32, 1, 2} {
		if err := m.Set("k", nil, 0); err != nil {
			t.Fatal(err)
		}
		if _, cas, _, _ := m.Get("k"); cas != want {
			t.Fatalf("cas = %d, want %d", cas, want)
		}
	}
}

func TestMemorySetCopiesValue(t *testing.T) {
	var m Memory
	buf := []byte("abc")
	m.Set("k", buf, 0)
	buf[0] = 'x'
	if v, _, _, _ := m.Get("k"); string(v) != "abc" {
		t.Fatalf("stored value changed with the caller's buffer: %q", v)
	}
}
