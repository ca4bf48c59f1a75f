package lease

import (
	"testing"
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/limit"
	"github.com/apigw-wasm/apigw-wasm/internal/limit/wire"
)

// flat is a single-goroutine store that neither locks nor allocates, so that the benchmarks
// show what a take itself costs.
type flat struct {
	m    map[string]*flatEntry
	next uint32
}

type flatEntry struct {
	buf [stateSize]byte
	n   int
	cas uint32
}

func (f *flat) Get(key string) ([]byte, uint32, bool, error) {
	e, ok := f.m[key]
	if !ok {
		return nil, 0, false, nil
	}
	return e.buf[:e.n], e.cas, true, nil
}

func (f *flat) Set(key string, v []byte, cas uint32) error {
	e, ok := f.m[key]
	if ok && cas != 0 && cas != e.cas {
		return limit.ErrCASMismatch
	}
	if !ok {
		e = new(flatEntry)
		f.m[key] = e
	}
	f.next++
	e.n, e.cas = copy(e.buf[:], v), f.next
	return nil
}

// four limits that the benchmarks never exhaust.
var roomy = limit.Limits{
	Service: limit.Rate{Key: limit.ServiceKey("service-a1b2c3d4", "release"), Limit: 1 << 30},
	API:     limit.Rate{Key: rateKey, Limit: 1 << 30},
	Plan:    limit.Rate{Key: limit.UsageKey("usagePlan-basic", "AKIDexample"), Limit: 1 << 30},
	Quota:   limit.Quota{Key: quotaKey, Limit: 1_000_000_000_000_000},
}

// BenchmarkTake: the request path of the cluster-wide mode in its steady state (every limit
// paid by its lease) against the local mode's limit.Take, on the same stores.
func BenchmarkTake(b *testing.B) {
	stores := []struct {
		name string
		new  func() limit.Store
	}{
		{"flat", func() limit.Store { return &flat{m: map[string]*flatEntry{}} }},
		{"memory", func() limit.Store { return new(limit.Memory) }},
	}
	for _, st := range stores {
		b.Run("local/"+st.name, func(b *testing.B) {
			s, l, now := st.new(), roomy, t0
			b.ReportAllocs()
			for b.Loop() {
				now = now.Add(time.Microsecond)
				if _, err := limit.Take(s, &l, now); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("global/"+st.name, func(b *testing.B) {
			s, l := st.new(), roomy
			c := newClient(b, s, Local)
			waitAndTake(b, c, l, t0, true, 1<<29)
			lend(b, c, t0, 1<<29, func(op wire.Op) int64 { return 1 << 40 })
			now := t0
			b.ReportAllocs()
			for b.Loop() {
				now = now.Add(time.Microsecond) // stays within the lease's TTL
				if r := c.Take(&l, now); r.Err != nil || r.Wait != nil {
					b.Fatalf("%+v", r)
				}
			}
		})
	}
}
