package main

import (
	"math/rand/v2"
	"testing"
)

// TestContextTable runs random sequences of the host's context ids (in order, as Envoy makes
// them, and scattered) through the table and a map side by side.
func TestContextTable(t *testing.T) {
	for _, c := range []struct {
		name   string
		nextID func(r *rand.Rand, last uint32) uint32
		live   int // contexts alive at once, about
	}{
		{"sequential", func(_ *rand.Rand, last uint32) uint32 { return last + 1 }, 40},
		{"sequential, many live", func(_ *rand.Rand, last uint32) uint32 { return last + 1 }, 3000},
		{"strided", func(_ *rand.Rand, last uint32) uint32 { return last + 64 }, 100},
		{"random", func(r *rand.Rand, _ uint32) uint32 { return r.Uint32N(5000) }, 500},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			var tab contextTable
			want := map[uint32]*httpContext{}
			var ids []uint32
			last := uint32(0)
			for step := range 200_000 {
				if len(ids) > 0 && (len(ids) >= c.live || r.IntN(2) == 0) {
					k := r.IntN(len(ids))
					id := ids[k]
					ids[k] = ids[len(ids)-1]
					ids = ids[:len(ids)-1]
					if got := tab.remove(id); got != want[id] {
						t.Fatalf("step %d: remove(%d) = %p, want %p", step, id, got, want[id])
					}
					delete(want, id)
				} else {
					last = c.nextID(r, last)
					h := &httpContext{id: last}
					if want[last] == nil {
						ids = append(ids, last)
					}
					want[last] = h
					tab.put(h)
				}
				if tab.n != len(want) {
					t.Fatalf("step %d: %d entries, want %d", step, tab.n, len(want))
				}
				probe := r.Uint32N(last + 10)
				if got := tab.get(probe); got != want[probe] {
					t.Fatalf("step %d: get(%d) = %p, want %p", step, probe, got, want[probe])
				}
			}
			for id, h := range want {
				if tab.get(id) != h {
					t.Fatalf("get(%d) lost", id)
				}
			}
		})
	}
}
