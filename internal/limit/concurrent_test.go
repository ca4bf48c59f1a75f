package limit

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/apigw-wasm/apigw-wasm/internal/reply"
)

// yielding gives the scheduler a chance between every read and write, widening the windows
// in which workers interleave; it counts the compare-and-swaps that lost.
type yielding struct {
	Store
	lost *atomic.Int64
}

func (y yielding) Get(key string) ([]byte, uint32, bool, error) {
	runtime.Gosched()
	return y.Store.Get(key)
}

func (y yielding) Set(key string, v []byte, cas uint32) error {
	runtime.Gosched()
	err := y.Store.Set(key, v, cas)
	if errors.Is(err, ErrCASMismatch) {
		y.lost.Add(1)
	}
	return err
}

// TestQuotaExactUnderConcurrency: with Q requests left and N concurrent takers, exactly
// min(N, Q) pass, whether the counter exists or is created by the racing takers themselves,
// and the rates taken by requests the quota then turned away are all given back. With four
// limits it uses 32 takers, the most for which no compare-and-swap loop can run out (see
// maxAttempts); TestConcurrencyStress goes beyond.
func TestQuotaExactUnderConcurrency(t *testing.T) {
	const (
		rounds = 200
		rate   = 1000
	)
	tests := []struct {
		name   string
		l      Limits
		takers int
		used   int // requests counted before the round
		yield  bool
	}{
		{"new counter", Limits{Quota: Quota{quotaKey, 5, Day}}, 40, 0, false},
		{"new counter, yielding", Limits{Quota: Quota{quotaKey, 5, Day}}, 40, 0, true},
		{"5 left of 100", Limits{Quota: Quota{quotaKey, 100, Total}}, 40, 95, true},
		{"four limits", four(rate, rate, rate, 5), 32, 0, true},
		{"four limits, more left than takers", four(rate, rate, rate, 50), 32, 0, true},
		{"four limits, plan paired", fourPaired(rate, rate, rate, 5), 32, 0, true},
		{"four limits, plan paired, more left than takers", fourPaired(rate, rate, rate, 50), 32, 0, true},
		{"paired, no plan rate", fourPaired(-1, -1, -1, 5), 40, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lost atomic.Int64
			left := tt.l.Quota.Limit - int64(tt.used)
			for round := range rounds {
				var m Memory
				for range tt.used {
					if _, err := Take(&m, &Limits{Quota: tt.l.Quota}, t0); err != nil {
						t.Fatal(err)
					}
				}
				passed, rejected := race(&m, tt.l, tt.takers, tt.yield, &lost)
				want := min(int64(tt.takers), left)
				if passed != want || rejected[reply.QuotaExceeded] != int64(tt.takers)-want {
					t.Fatalf("round %d: %d passed, rejections %v; want %d passed", round, passed, rejected, want)
				}
				rates, quota := settled(&m, tt.l)
				if quota != left-passed {
					t.Fatalf("round %d: quota has %d left, want %d", round, quota, left-passed)
				}
				for i, r := range rates {
					if r >= 0 && r != rate-passed {
						t.Fatalf("round %d: rate %d has %d left, want %d", round, i, r, rate-passed)
					}
				}
			}
			if tt.yield {
				t.Logf("%d compare-and-swaps lost in %d rounds", lost.Load(), rounds)
				if lost.Load() == 0 {
					t.Error("no contention: the test proves nothing")
				}
			}
		})
	}
}

// TestConcurrencyStress races more takers than the retry bound covers. Loops may then run
// out, and the answers must stay on the safe side: the quota counts exactly the requests that
// passed and lets through exactly min(N, Q) of those that reached it; a rate never holds more
// than its limit minus what passed (a token whose giving back ran out stays taken).
func TestConcurrencyStress(t *testing.T) {
	const (
		rounds = 100
		takers = 64
		rate   = 1000
		q      = 16
	)
	for _, lay := range layouts {
		t.Run(lay.name, func(t *testing.T) { stress(t, lay.four(rate, rate, rate, q), rounds, takers, rate, q) })
	}
}

func stress(t *testing.T, l Limits, rounds int, takers, rate, q int64) {
	var lost atomic.Int64
	var failedClosed, kept int64
	for round := range rounds {
		var m Memory
		passed, rejected := race(&m, l, int(takers), true, &lost)
		closed := rejected[reply.RateLimitExceeded]
		failedClosed += closed
		if want := min(takers-closed, q); passed != want || rejected[reply.QuotaExceeded]+closed+passed != takers {
			t.Fatalf("round %d: %d passed, rejections %v; want %d passed", round, passed, rejected, want)
		}
		rates, quota := settled(&m, l)
		if quota != q-passed {
			t.Fatalf("round %d: quota has %d left, want %d", round, quota, q-passed)
		}
		for i, r := range rates {
			if r > rate-passed {
				t.Fatalf("round %d: rate %d has %d left, more than %d", round, i, r, rate-passed)
			}
			kept += rate - passed - r
		}
	}
	t.Logf("%d rounds of %d takers: %d compare-and-swaps lost, %d requests failed closed, %d tokens kept",
		rounds, takers, lost.Load(), failedClosed, kept)
}

// race runs Take for n concurrent takers released at once and counts the outcomes.
func race(m *Memory, l Limits, n int, yield bool, lost *atomic.Int64) (passed int64, rejected map[reply.Code]int64) {
	var s Store = m
	if yield {
		s = yielding{m, lost}
	}
	var mu sync.Mutex
	rejected = map[reply.Code]int64{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			_, err := Take(s, &l, t0)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				passed++
			} else {
				rejected[err.Code]++
			}
		})
	}
	close(start)
	wg.Wait()
	return passed, rejected
}

// settled reads what is left once every taker is done, at the same instant (no refill), by
// taking one more request and adding it back; -1 for a limit that does not apply.
func settled(m *Memory, l Limits) (rates [3]int64, quota int64) {
	l.Quota.Limit++ // room for the probe
	out, err := Take(m, &l, t0)
	if err != nil {
		panic(err)
	}
	for i, u := range []Usage{out.Service, out.API, out.Plan} {
		rates[i] = -1
		if u.Limit >= 0 {
			rates[i] = u.Remaining + 1
		}
	}
	return rates, out.Quota.Remaining
}
