package lease

import (
	"testing"
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/limit"
	"github.com/apigw-wasm/apigw-wasm/internal/limit/wire"
	"github.com/apigw-wasm/apigw-wasm/internal/reply"
)

// These tests drive one or two VMs through the protocol with answers written by hand: what
// the store says is set, so each rule of the client shows alone. The store itself is tested in
// package limitd, the two together in cluster_test.go.

var (
	t0       = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	quotaKey = limit.QuotaKey("usagePlan-basic", "AKIDexample")
	rateKey  = limit.APIKey("service-a1b2c3d4", "release", "api-users")
)

func newClient(t testing.TB, s limit.Store, mode Mode) *Client {
	t.Helper()
	c, err := NewClient(s, DefaultPolicy, mode)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func quota(n int64) limit.Limits { return limit.Limits{Quota: limit.Quota{Key: quotaKey, Limit: n}} }

func both(rate, q int64) limit.Limits {
	return limit.Limits{API: limit.Rate{Key: rateKey, Limit: rate}, Quota: limit.Quota{Key: quotaKey, Limit: q}}
}

// answer is the store's answer to body, each op answered by f (the op's index and request).
func answer(t testing.TB, body []byte, now time.Time, ok bool, f func(i int, op wire.Op) wire.Result) []byte {
	t.Helper()
	req, err := wire.ParseRequest(body)
	if err != nil {
		t.Fatalf("the client sent %s: %v", body, err)
	}
	a := wire.Answer{Now: now.UnixMilli(), OK: ok}
	for i, op := range req.Ops {
		a.Ops = append(a.Ops, f(i, op))
	}
	return wire.AppendAnswer(nil, &a)
}

// lend makes Due report and answers, for every limit, with the allowance spent+grant(op),
// valid for the TTL, and rem remaining.
func lend(t testing.TB, c *Client, now time.Time, rem int64, grant func(op wire.Op) int64) {
	t.Helper()
	call := c.Due(now)
	if call == nil {
		t.Fatal("Due has nothing to report")
	}
	body := answer(t, call.Body, now, true, func(_ int, op wire.Op) wire.Result {
		return wire.Result{Allow: op.Spent + grant(op), Remaining: rem, Expires: now.Add(DefaultPolicy.TTL).UnixMilli()}
	})
	if again := c.Answer(call, 200, body, now); again != nil {
		t.Fatal("Answer asks to send again")
	}
}

func each(n int64) func(wire.Op) int64 { return func(wire.Op) int64 { return n } }

// waitAndTake runs one request that must wait, answered by the store with ok.
func waitAndTake(t testing.TB, c *Client, l limit.Limits, now time.Time, ok bool, rem int64) Result {
	t.Helper()
	r := c.Take(&l, now)
	if r.Wait == nil {
		t.Fatalf("the request did not wait: %+v", r)
	}
	body := answer(t, r.Wait.Call().Body, now, ok, func(_ int, op wire.Op) wire.Result {
		if !op.Take {
			t.Errorf("a wait without a take: %+v", op)
		}
		return wire.Result{Remaining: rem, Over: !ok}
	})
	return c.Resume(r.Wait, 200, body, now)
}

func headers(o limit.Outcome) [4]string {
	h := o.Headers()
	return [4]string{h[0][1], h[1][1], h[2][1], h[3][1]}
}

// TestFirstRequestWaits: a limit without a lease sends the request to the store; the answer
// admits it and gives the headers.
func TestFirstRequestWaits(t *testing.T) {
	c := newClient(t, new(limit.Memory), Local)
	r := waitAndTake(t, c, quota(1000), t0, true, 999)
	if r.Err != nil || r.Deny || r.Wait != nil || headers(r.Outcome)[3] != "999/1000" || !r.Sync {
		t.Fatalf("%+v", r)
	}
	if s := c.TakeStats(); s.Waited != 1 {
		t.Errorf("stats %+v", s)
	}
}

// TestLeaseSpentLocally: a lease of 5 pays 5 requests without the store, each header one
// lower; the sixth waits. The refill point asks Due early.
func TestLeaseSpentLocally(t *testing.T) {
	c := newClient(t, new(limit.Memory), Local)
	l := quota(1000)
	waitAndTake(t, c, l, t0, true, 999)
	lend(t, c, t0, 999, each(5))
	for i := range 5 {
		r := c.Take(&l, t0)
		if r.Wait != nil || r.Err != nil {
			t.Fatalf("request %d: %+v", i, r)
		}
		if want := []string{"998/1000", "997/1000", "996/1000", "995/1000", "994/1000"}[i]; headers(r.Outcome)[3] != want {
			t.Errorf("request %d: %s, want %s", i, headers(r.Outcome)[3], want)
		}
	}
	if r := c.Take(&l, t0); r.Wait == nil {
		t.Fatalf("the sixth did not wait: %+v", r)
	}
}

// TestUntilRefusesLocally: the store said nothing is left until a time: requests are refused
// here until then, without waiting and without taking anything; then they ask again.
func TestUntilRefusesLocally(t *testing.T) {
	c := newClient(t, new(limit.Memory), Local)
	l := both(100, 10)
	r := c.Take(&l, t0)
	body := answer(t, r.Wait.Call().Body, t0, false, func(_ int, op wire.Op) wire.Result {
		if op.Kind == wire.Quota {
			return wire.Result{Remaining: 0, Until: t0.Add(time.Second).UnixMilli(), Over: true}
		}
		return wire.Result{Remaining: 50}
	})
	r = c.Resume(r.Wait, 200, body, t0)
	if r.Err == nil || r.Err.Code != reply.QuotaExceeded || headers(r.Outcome) != [4]string{"unlimited", "50/100", "unlimited", "0/10"} {
		t.Fatalf("%+v", r)
	}
	r = c.Take(&l, t0.Add(500*time.Millisecond))
	if r.Wait != nil || r.Err == nil || r.Err.Code != reply.QuotaExceeded {
		t.Fatalf("within until: %+v", r)
	}
	if r = c.Take(&l, t0.Add(time.Second)); r.Wait == nil {
		t.Fatalf("after until: %+v", r)
	}
}

// TestRefusalGivesBack: a request whose rate was paid by its lease and whose quota the store
// refuses takes nothing: the rate's spend is given back.
func TestRefusalGivesBack(t *testing.T) {
	c := newClient(t, new(limit.Memory), Local)
	l := both(100, 10)
	waitAndTake(t, c, l, t0, true, 9)
	lend(t, c, t0, 9, each(3)) // both limits get 3
	for range 3 {
		if r := c.Take(&l, t0); r.Err != nil || r.Wait != nil {
			t.Fatal(r)
		}
	}
	// The quota's 3 are spent and it gets no more; the rate keeps a balance.
	lend(t, c, t0, 6, func(op wire.Op) int64 { return map[wire.Kind]int64{wire.Rate: 3, wire.Quota: 0}[op.Kind] })
	before := c.spentOf(t, wire.Rate, rateKey)
	r := waitAndTake(t, c, l, t0, false, 0)
	if r.Err == nil || r.Err.Code != reply.QuotaExceeded {
		t.Fatalf("%+v", r)
	}
	if after := c.spentOf(t, wire.Rate, rateKey); after != before {
		t.Errorf("the rate's spend went from %d to %d for a refused request", before, after)
	}
}

func (c *Client) spentOf(t *testing.T, kind wire.Kind, key string) int64 {
	t.Helper()
	v, _, _, _ := c.store.Get(stateKey(kind, key))
	var s state
	if !s.decode(v) {
		t.Fatalf("no lease for %s", key)
	}
	return s.spent
}

// TestOneVMReports: two VMs of one Envoy share the lease; while one reports a limit, the
// other does not, and a late answer to an older report is ignored.
func TestOneVMReports(t *testing.T) {
	store := new(limit.Memory)
	a, b := newClient(t, store, Local), newClient(t, store, Local)
	if a.Instance() != b.Instance() || a.Instance() == "" {
		t.Fatalf("instances %q and %q", a.Instance(), b.Instance())
	}
	l := quota(1000)
	waitAndTake(t, a, l, t0, true, 999)
	b.Take(&l, t0) // b tracks it too
	call := a.Due(t0)
	if call == nil {
		t.Fatal("a has nothing to report")
	}
	if other := b.Due(t0); other != nil {
		t.Fatalf("b reports while a does: %s", other.Body)
	}
	// a's call times out (slowly: no second try); b reports later and is answered.
	a.Answer(call, 0, nil, t0.Add(DefaultPolicy.Timeout))
	later := t0.Add(DefaultPolicy.Timeout + DefaultPolicy.Backoff)
	waitAndTake(t, b, l, later, true, 998) // probes the store after the backoff
	lend(t, b, later, 998, each(7))
	// The first answer arrives after all: it is ignored.
	late := answer(t, call.Body, t0, true, func(_ int, op wire.Op) wire.Result {
		return wire.Result{Allow: 500, Remaining: 999, Expires: later.Add(time.Minute).UnixMilli()}
	})
	a.Answer(call, 200, late, later)
	var s state
	v, _, _, _ := store.Get(stateKey(wire.Quota, quotaKey))
	s.decode(v)
	if s.allow-s.spent != 7 {
		t.Errorf("balance %d after a late answer, want 7", s.allow-s.spent)
	}
}

// TestBadAnswers: whatever fails (no answer, an error status, a body that is not an answer
// to this call) is a store failure: the request is decided by on_store_failure, never waits
// again beyond one fast retry, and nothing panics.
func TestBadAnswers(t *testing.T) {
	bodies := []struct {
		name   string
		status int
		body   string
	}{
		{"no answer", 0, ""},
		{"503", 503, `{"error":"redis: connection refused"}`},
		{"HTML", 200, "<html>upstream connect error</html>"},
		{"wrong op count", 200, `{"v":1,"now":1,"ok":true,"ops":[]}`},
		{"negative", 200, `{"v":1,"now":1,"ok":true,"ops":[{"stamp":0,"allow":-5,"rem":0,"end":0,"exp":0,"until":0,"over":false}]}`},
		{"truncated", 200, `{"v":1,"now":1,"ok":tr`},
	}
	for _, mode := range []Mode{Local, Deny} {
		for _, bb := range bodies {
			t.Run(bb.name, func(t *testing.T) {
				c := newClient(t, new(limit.Memory), mode)
				l := quota(1000)
				r := c.Take(&l, t0)
				// A fast failure is sent again, twice at most, with what is left of the timeout.
				for i, at := range []time.Duration{10 * time.Millisecond, 15 * time.Millisecond} {
					r = c.Resume(r.Wait, bb.status, []byte(bb.body), t0.Add(at))
					if r.Wait == nil || r.Wait.Call().Timeout != DefaultPolicy.Timeout-at {
						t.Fatalf("no retry %d after a fast failure: %+v", i+1, r)
					}
				}
				r = c.Resume(r.Wait, bb.status, []byte(bb.body), t0.Add(20*time.Millisecond))
				switch {
				case r.Wait != nil:
					t.Fatalf("waits a fourth time")
				case mode == Deny && !r.Deny:
					t.Fatalf("deny mode admitted: %+v", r)
				case mode == Local && (r.Deny || r.Err != nil):
					t.Fatalf("local mode refused: %+v", r)
				}
				// The store is known to fail: the next request does not wait.
				if r = c.Take(&l, t0.Add(30*time.Millisecond)); r.Wait != nil {
					t.Fatalf("waits while the store fails: %+v", r)
				}
				st := c.TakeStats()
				if st.StoreFailures != 3 || (mode == Local && st.Debt != 2) || (mode == Deny && st.Denied != 2) {
					t.Errorf("stats %+v", st)
				}
			})
		}
	}
}

// TestOutageProbe: after the backoff one request probes the store; its success ends the
// outage, whose time is counted once for the Envoy.
func TestOutageProbe(t *testing.T) {
	store := new(limit.Memory)
	a, b := newClient(t, store, Local), newClient(t, store, Local)
	l := quota(1000)
	r := a.Take(&l, t0)
	a.Resume(r.Wait, 0, nil, t0.Add(DefaultPolicy.Timeout)) // slow: no retry
	at := t0.Add(DefaultPolicy.Timeout + DefaultPolicy.Backoff)
	r = a.Take(&l, at)
	if r.Wait == nil {
		t.Fatal("no probe after the backoff")
	}
	if rb := b.Take(&l, at); rb.Wait != nil {
		t.Fatal("a second probe at once")
	}
	a.Resume(r.Wait, 200, answer(t, r.Wait.Call().Body, at, true, func(int, wire.Op) wire.Result {
		return wire.Result{Remaining: 990}
	}), at)
	st := a.TakeStats()
	// from the first failure seen to the success
	if want := DefaultPolicy.Backoff.Milliseconds(); st.OutageMillis != want {
		t.Errorf("outage %d ms, want %d", st.OutageMillis, want)
	}
	if r = b.Take(&l, at); r.Wait == nil {
		t.Error("the store is back but requests do not wait for it")
	}
}

// TestFallbackRate: in an outage, "local" limits a rate with the Envoy's own bucket of the
// configured limit: R requests at once, then one per 1/R s.
func TestFallbackRate(t *testing.T) {
	c := newClient(t, new(limit.Memory), Local)
	l := limit.Limits{API: limit.Rate{Key: rateKey, Limit: 5}}
	r := c.Take(&l, t0)
	c.Resume(r.Wait, 0, nil, t0.Add(DefaultPolicy.Timeout))
	now := t0.Add(DefaultPolicy.Timeout) // 1 token of the bucket went to the first request
	admitted := 1
	for range 10 {
		if r := c.Take(&l, now); r.Err == nil && r.Wait == nil {
			admitted++
		}
	}
	if admitted != 5 {
		t.Errorf("%d admitted at once by a bucket of 5", admitted)
	}
	if r := c.Take(&l, now.Add(200*time.Millisecond)); r.Err != nil || r.Wait != nil {
		t.Errorf("no token 200 ms later at 5/s: %+v", r)
	}
}

// TestQuotaFallback: in an outage, "local" admits up to the remaining count of the last
// answer, less what this Envoy spent since; each admission is debt.
func TestQuotaFallback(t *testing.T) {
	c := newClient(t, new(limit.Memory), Local)
	l := quota(1000)
	waitAndTake(t, c, l, t0, true, 3) // 3 left cluster-wide
	r := c.Take(&l, t0)
	c.Resume(r.Wait, 0, nil, t0.Add(DefaultPolicy.Timeout))
	admitted := 1
	for range 5 {
		if r := c.Take(&l, t0.Add(DefaultPolicy.Timeout)); r.Err == nil {
			admitted++
		}
	}
	if admitted != 3 {
		t.Errorf("%d admitted with 3 left", admitted)
	}
	if st := c.TakeStats(); st.Debt != 3 {
		t.Errorf("debt %d", st.Debt)
	}
}

// TestDailyQuotaRolls: a lease of yesterday is not spent today.
func TestDailyQuotaRolls(t *testing.T) {
	c := newClient(t, new(limit.Memory), Local)
	l := limit.Limits{Quota: limit.Quota{Key: quotaKey, Limit: 100, Period: limit.Day}}
	waitAndTake(t, c, l, t0, true, 99)
	lend(t, c, t0, 99, each(50))
	if r := c.Take(&l, t0); r.Wait != nil {
		t.Fatal("the lease is not spent")
	}
	// The lease is valid for the TTL only, so cross midnight with a lease valid a day.
	at := t0.Add(8 * time.Second)
	call := c.Due(at)
	body := answer(t, call.Body, at, true, func(_ int, op wire.Op) wire.Result {
		return wire.Result{Stamp: op.Stamp, Allow: op.Spent + 50, Remaining: 90, Expires: at.Add(24 * time.Hour).UnixMilli(),
			End: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC).UnixMilli()}
	})
	c.Answer(call, 200, body, at)
	if r := c.Take(&l, time.Date(2026, 3, 1, 23, 59, 59, 0, time.UTC)); r.Wait != nil {
		t.Fatal("the lease is not spent before midnight")
	}
	if r := c.Take(&l, time.Date(2026, 3, 2, 0, 0, 1, 0, time.UTC)); r.Wait == nil {
		t.Fatal("yesterday's lease was spent today")
	}
}

// TestLimitChanged: a lease granted for another limit (a configuration reload) is not spent:
// the request waits and Due reports with the new limit.
func TestLimitChanged(t *testing.T) {
	c := newClient(t, new(limit.Memory), Local)
	waitAndTake(t, c, quota(1000), t0, true, 999)
	lend(t, c, t0, 999, each(50))
	l := quota(500)
	if r := c.Take(&l, t0); r.Wait == nil {
		t.Fatal("a lease of the old limit was spent")
	}
	call := c.Due(t0)
	if call == nil {
		t.Fatal("no report of the new limit")
	}
	req, _ := wire.ParseRequest(call.Body)
	if req.Ops[0].Limit != 500 {
		t.Errorf("reported limit %d", req.Ops[0].Limit)
	}
}

// TestGivesBackWhenIdle: a balance far above the demand is given back by the next report.
func TestGivesBackWhenIdle(t *testing.T) {
	c := newClient(t, new(limit.Memory), Local)
	l := quota(100000)
	waitAndTake(t, c, l, t0, true, 99999)
	lend(t, c, t0, 99999, each(1000))
	// Five requests in half a second (the first waited): the wish is 10, a second of that
	// demand; the rest of the balance goes back.
	for i := range 4 {
		c.Take(&l, t0.Add(time.Duration(i+1)*100*time.Millisecond))
	}
	call := c.Due(t0.Add(500 * time.Millisecond))
	if call == nil {
		t.Fatal("nothing reported")
	}
	req, _ := wire.ParseRequest(call.Body)
	if op := req.Ops[0]; op.Allow != op.Spent+op.Want || op.Want != 10 {
		t.Errorf("reported %+v: want all but 10 back", op)
	}
	if st := c.TakeStats(); st.TokensReturned != 1000-4-10 {
		t.Errorf("returned %d", st.TokensReturned)
	}
	c.Answer(call, 200, answer(t, call.Body, t0.Add(500*time.Millisecond), true, func(_ int, op wire.Op) wire.Result {
		return wire.Result{Allow: op.Allow, Remaining: 99000, Expires: t0.Add(time.Minute).UnixMilli()}
	}), t0.Add(500*time.Millisecond))
	// A second without a request: idle, all but one token goes back (a request now and then
	// does not wait)...
	idle := t0.Add(1500 * time.Millisecond)
	call = c.Due(idle)
	if call == nil {
		t.Fatal("nothing reported when idle")
	}
	req, _ = wire.ParseRequest(call.Body)
	if op := req.Ops[0]; op.Allow != op.Spent+1 || op.Want != 0 {
		t.Errorf("reported %+v when idle: want all but 1 back", op)
	}
	c.Answer(call, 200, answer(t, call.Body, idle, true, func(_ int, op wire.Op) wire.Result {
		return wire.Result{Allow: op.Allow, Remaining: 99000, Expires: idle.Add(DefaultPolicy.TTL).UnixMilli()}
	}), idle)
	// ...and that lease is not renewed: it lapses.
	for at := idle; at.Before(idle.Add(DefaultPolicy.TTL + time.Second)); at = at.Add(500 * time.Millisecond) {
		if call := c.Due(at); call != nil {
			t.Fatalf("an idle lease reported at %v: %s", at.Sub(idle), call.Body)
		}
	}
}

// FuzzResume: no answer body makes the client panic or admit beyond what it may.
func FuzzResume(f *testing.F) {
	f.Add(200, []byte(`{"v":1,"now":1,"ok":true,"ops":[{"stamp":0,"allow":0,"rem":5,"end":0,"exp":0,"until":0,"over":false}]}`))
	f.Add(200, []byte(`{"v":1,"now":1,"ok":false,"ops":[{"stamp":0,"allow":0,"rem":0,"end":0,"exp":0,"until":99999999999,"over":true}]}`))
	f.Add(502, []byte("upstream connect error"))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		c, _ := NewClient(new(limit.Memory), DefaultPolicy, Deny)
		l := quota(1000)
		r := c.Take(&l, t0)
		r = c.Resume(r.Wait, status, body, t0.Add(time.Second))
		if r.Wait != nil {
			t.Fatal("a slow failure retried")
		}
		if r.Err == nil && !r.Deny && (status != 200 || !wireOK(body)) {
			t.Fatalf("admitted on %d %q", status, body)
		}
	})
}

func wireOK(b []byte) bool {
	a, err := wire.ParseAnswer(b, 1)
	return err == nil && a.OK
}
