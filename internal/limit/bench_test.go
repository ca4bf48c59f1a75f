package limit

import (
	"testing"
	"time"
)

// flat is a single-goroutine store that neither locks nor allocates, so that benchmarks on it
// show what Take itself costs. The value Get returns is overwritten by the next Set.
type flat struct {
	m    map[string]*flatEntry
	next uint32
}

type flatEntry struct {
	buf [16]byte
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
		return ErrCASMismatch
	}
	if !ok {
		e = new(flatEntry)
		f.m[key] = e
	}
	f.next++
	e.n, e.cas = copy(e.buf[:], v), f.next
	return nil
}

// roomy are four limits that a benchmark never exhausts.
var roomy = four(1<<30, 1<<30, 1<<30, 1<<62)

func benchTake(b *testing.B, s Store, l Limits) {
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Microsecond)
		if _, err := Take(s, &l, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTake(b *testing.B) {
	b.Run("four/flat", func(b *testing.B) { benchTake(b, &flat{m: map[string]*flatEntry{}}, roomy) })
	b.Run("four/memory", func(b *testing.B) { benchTake(b, new(Memory), roomy) })
	b.Run("quota/memory", func(b *testing.B) {
		benchTake(b, new(Memory), Limits{Quota: Quota{quotaKey, 1 << 62, Month}})
	})
	b.Run("none", func(b *testing.B) { benchTake(b, new(Memory), Limits{}) })
	b.Run("rejected/memory", func(b *testing.B) {
		var m Memory
		l := four(1<<30, 1<<30, 1<<30, 0) // the quota rejects: reads only
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Take(&m, &l, t0); err != errQuota {
				b.Fatal(err)
			}
		}
	})
	b.Run("four/memory/parallel", func(b *testing.B) {
		var m Memory
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			l := roomy
			for pb.Next() {
				if _, err := Take(&m, &l, time.Now()); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

func BenchmarkHeaders(b *testing.B) {
	o := Outcome{Usage{4999, 5000}, Usage{99, 100}, Usage{0, -1}, Usage{999, 1000}}
	b.ReportAllocs()
	for b.Loop() {
		h := o.Headers()
		_ = h
	}
}
