package limit

import (
	"math/rand/v2"
	"testing"
	"time"
)

var t0 = time.Date(2026, 7, 15, 12, 0, 0, 0, time.UTC)

const ms = int64(time.Millisecond)

func TestRefill(t *testing.T) {
	tests := []struct {
		name                string
		level, last, now, r int64
		want                int64
	}{
		{"no time", 2 * unit, 1000, 1000, 5, 2 * unit},
		{"one token per 1/R s", 0, 0, 200 * ms, 5, unit},
		{"fraction kept", 0, 0, 100 * ms, 5, unit / 2},
		{"full after 1s", 0, 0, 1000 * ms, 5, 5 * unit},
		{"never above capacity", 4 * unit, 0, 900 * ms, 5, 5 * unit},
		{"long idle", 0, 0, int64(365 * 24 * time.Hour), 5, 5 * unit},
		{"clock went back", 2 * unit, 1000 * ms, 500 * ms, 5, 2 * unit},
		{"clamped after shrink", 10 * unit, 0, 0, 5, 5 * unit},
		{"rate 0 holds nothing", 3 * unit, 0, 10 * ms, 0, 0},
		{"huge rate", 0, 0, 999 * ms, maxRate, 999 * ms * maxRate},
		{"beyond max rate", maxRate * unit, 0, 1, 1 << 62, capacity(maxRate)},
		{"negative level", -unit, 0, 200 * ms, 5, unit},
	}
	for _, tt := range tests {
		if got := refill(tt.level, tt.last, tt.now, tt.r); got != tt.want {
			t.Errorf("%s: refill(%d, %d, %d, %d) = %d, want %d", tt.name, tt.level, tt.last, tt.now, tt.r, got, tt.want)
		}
	}
}

// step is one request of a scripted timeline against one rate.
type step struct {
	at     time.Duration // after t0
	limit  int64
	pass   bool
	header string
}

func runRate(t *testing.T, steps []step) {
	t.Helper()
	var m Memory
	key := ServiceKey("svc", "release")
	for i, s := range steps {
		l := Limits{Service: Rate{key, s.limit}}
		out, err := Take(&m, &l, t0.Add(s.at))
		if (err == nil) != s.pass || out.Service.String() != s.header {
			t.Errorf("step %d (at %v, limit %d): pass %v, header %q; want pass %v, header %q",
				i, s.at, s.limit, err == nil, out.Service, s.pass, s.header)
		}
		if err != nil && err.Code.Status() != 429 {
			t.Errorf("step %d: %v", i, err)
		}
	}
}

func TestBucket(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
	}{
		{"starts full", []step{
			{0, 5, true, "4/5"}, {0, 5, true, "3/5"}, {0, 5, true, "2/5"},
			{0, 5, true, "1/5"}, {0, 5, true, "0/5"}, {0, 5, false, "0/5"},
		}},
		{"refills continuously", []step{
			{0, 2, true, "1/2"}, {0, 2, true, "0/2"}, {0, 2, false, "0/2"},
			{499 * time.Millisecond, 2, false, "0/2"},
			{500 * time.Millisecond, 2, true, "0/2"},
			{999 * time.Millisecond, 2, false, "0/2"},
			{1000 * time.Millisecond, 2, true, "0/2"},
			{5 * time.Second, 2, true, "1/2"}, // idle: full again, not more
		}},
		{"clamped when the limit shrinks", []step{
			{0, 10, true, "9/10"},
			{0, 5, true, "4/5"},
			{0, 5, true, "3/5"},
		}},
		{"keeps its tokens when the limit grows", []step{
			{0, 2, true, "1/2"}, {0, 2, true, "0/2"},
			{0, 10, false, "0/10"},
			{100 * time.Millisecond, 10, true, "0/10"}, // refills at the new rate
			{time.Second, 10, true, "8/10"},            // 0.9 s at 10/s
			{2100 * time.Millisecond, 10, true, "9/10"},
		}},
		{"zero lets nothing through", []step{{0, 0, false, "0/0"}, {time.Hour, 0, false, "0/0"}}},
		{"time going backwards adds nothing", []step{
			{time.Second, 1, true, "0/1"},
			{500 * time.Millisecond, 1, false, "0/1"},
			{1999 * time.Millisecond, 1, false, "0/1"},
			{2 * time.Second, 1, true, "0/1"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { runRate(t, tt.steps) })
	}
}

// TestBucketBound drives buckets with random bursts and checks the guarantee of docs/gateway.md
// section 7 on every interval between two passing requests: at most R*T + R pass in an interval of
// length T.
func TestBucketBound(t *testing.T) {
	for _, r := range []int64{1, 3, 10, 100} {
		rng := rand.New(rand.NewPCG(uint64(r), 7))
		var m Memory
		l := Limits{API: Rate{APIKey("s", "e", "a"), r}}
		var passed []int64 // ns after t0
		now := int64(0)
		for now < int64(20*time.Second) {
			// Bursts of up to 3R requests at one instant, then a gap of up to 1.5 s.
			for range rng.IntN(int(3*r) + 1) {
				if _, err := Take(&m, &l, t0.Add(time.Duration(now))); err == nil {
					passed = append(passed, now)
				}
			}
			now += rng.Int64N(int64(1500 * time.Millisecond))
		}
		for i := range passed {
			for j := i; j < len(passed); j++ {
				n := int64(j - i + 1)
				span := passed[j] - passed[i]
				// n <= r*span/1s + r, in integers.
				if n*unit > r*span+r*unit {
					t.Fatalf("R=%d: %d passed in %v", r, n, time.Duration(span))
				}
			}
		}
		if len(passed) < int(r) {
			t.Fatalf("R=%d: only %d passed", r, len(passed))
		}
	}
}

// TestBucketSaturated shows the bound is reached, not just respected: a request every
// millisecond for 10 s against R=5 gets exactly 5 + 5*10 through.
func TestBucketSaturated(t *testing.T) {
	var m Memory
	l := Limits{Plan: Rate{PlanKey("p", "s"), 5}}
	n := 0
	for at := time.Duration(0); at <= 10*time.Second; at += time.Millisecond {
		if _, err := Take(&m, &l, t0.Add(at)); err == nil {
			n++
		}
	}
	if n != 55 {
		t.Fatalf("%d passed, want 55", n)
	}
}
