package lease_test

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/limit"
	"github.com/apigw-wasm/apigw-wasm/internal/limit/lease"
)

// testPolicy is the default policy with a timeout that a 2-CPU machine shared with other
// test runs meets (calls took up to 270 ms there): a timeout is a store failure, and these
// tests are about the store working.
func testPolicy() lease.Policy {
	p := lease.DefaultPolicy
	p.Timeout = time.Second
	return p
}

var (
	quotaKey = limit.QuotaKey("usagePlan-basic", "AKIDexample")
	planKey  = limit.UsageKey("usagePlan-basic", "AKIDexample") // the plan's rate shares it
	svcKey   = limit.ServiceKey("service-a1b2c3d4", "release")
	apiKey   = limit.APIKey("service-a1b2c3d4", "release", "api-users")
)

func startEnvoys(t testing.TB, cl *cluster, n, workers int, pol lease.Policy, mode lease.Mode) []*envoy {
	var es []*envoy
	for range n {
		es = append(es, startEnvoy(t, cl, workers, pol, mode))
	}
	return es
}

func stopAll(es []*envoy) lease.Stats {
	var total lease.Stats
	for _, e := range es {
		addStats(&total, e.stop())
	}
	return total
}

// flush waits until every spend is reported (FlushEvery and a tick).
func flush(pol lease.Policy) { time.Sleep(pol.FlushEvery + 300*time.Millisecond) }

// TestClusterQuotaExact: three Envoys of two workers, a quota of 1,000, 3,000 requests sent to
// them concurrently (64 clients per Envoy): exactly 1,000 pass, 2,000 get "API quota exceeded.", and Redis counts 1,000.
func TestClusterQuotaExact(t *testing.T) {
	cl := newCluster(t, 1)
	pol := testPolicy()
	es := startEnvoys(t, cl, 3, 2, pol, lease.Local)
	l := limit.Limits{Quota: limit.Quota{Key: quotaKey, Limit: 1000}}
	got := burst(es, l, 1000, 64)
	flush(pol)
	st := stopAll(es)
	if got.admitted != 1000 || got.quota != 2000 || got.rate+got.denied != 0 {
		t.Errorf("%d admitted, %d quota exceeded, %d rate, %d denied; want 1000, 2000, 0, 0", got.admitted, got.quota, got.rate, got.denied)
	}
	if n := cl.used(quotaKey); n != 1000 {
		t.Errorf("Redis counts %d, want 1000", n)
	}
	p50, p99, mx := cl.rttPercentiles()
	t.Logf("3,000 requests: %d waited for the store (max %v); %d reports, %d leases of %d tokens, %d returned; calls p50 %v p99 %v max %v",
		got.waited, got.maxTook, st.Reports, st.Leases, st.TokensLeased, st.TokensReturned, p50, p99, mx)
}

// TestClusterRateBound: a plan rate of R/s across three Envoys offered three times R each:
// in every interval T between two admissions at most R·T + R pass (the bound of one token
// bucket), where three local buckets would admit three times that.
func TestClusterRateBound(t *testing.T) {
	const (
		R        = 60
		offered  = 3 * R // per Envoy
		duration = 4 * time.Second
	)
	cl := newCluster(t, 1)
	pol := testPolicy()
	es := startEnvoys(t, cl, 3, 2, pol, lease.Local)
	l := limit.Limits{Plan: limit.Rate{Key: planKey, Limit: R}}
	got := paced(es, l, offered, duration, nil)
	st := stopAll(es)
	at := got.admittedAt
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	worst, worstT := 0.0, time.Duration(0)
	for i := range at {
		for j := i; j < len(at); j++ {
			T := at[j].Sub(at[i])
			excess := float64(j-i+1) - (R*T.Seconds() + R)
			if excess > worst {
				worst, worstT = excess, T
			}
		}
	}
	if worst > 1 { // one token for the rounding of timestamps
		t.Errorf("%d admitted in %v: exceeds R·T + R by %.1f", len(at), worstT, worst)
	}
	span := at[len(at)-1].Sub(at[0])
	if float64(len(at)) < 0.7*R*span.Seconds() {
		t.Errorf("only %d admitted in %v at %d/s", len(at), span, R)
	}
	t.Logf("R=%d/s, %d offered per Envoy: %d admitted in %v (R·T+R = %.0f), %d refused; %d waited; %d reports, %d leases of %d tokens, %d returned",
		R, offered, len(at), span, R*span.Seconds()+R, got.rate, got.waited, st.Reports, st.Leases, st.TokensLeased, st.TokensReturned)
}

// TestClusterEnvoysRestart: all Envoys replaced (new shared data, new instance ids) after 600
// requests of a quota of 1,000: of 900 requests per second for 1.5 s, 400 more pass, then "API
// quota exceeded.". A graceful stop
// gives its leases back at once; after a crash the leases of the dead Envoys come back when
// their reservations expire (the TTL, here 1.5 s), and the spend they had reported stays.
func TestClusterEnvoysRestart(t *testing.T) {
	for _, graceful := range []bool{true, false} {
		name := map[bool]string{true: "graceful", false: "crash"}[graceful]
		t.Run(name, func(t *testing.T) {
			cl := newCluster(t, 1)
			pol := testPolicy()
			pol.TTL = 1500 * time.Millisecond
			pol.RenewBefore = 500 * time.Millisecond
			l := limit.Limits{Quota: limit.Quota{Key: quotaKey, Limit: 1000}}
			old := startEnvoys(t, cl, 3, 2, pol, lease.Local)
			first := burst(old, l, 200, 16)
			if first.admitted != 600 {
				t.Fatalf("first Envoys admitted %d of 600", first.admitted)
			}
			if graceful {
				for _, e := range old {
					e.release(t)
				}
			} else {
				flush(pol) // spend is reported every FlushEvery; then the crash
			}
			stopAll(old)
			if n := cl.used(quotaKey); n != 600 {
				t.Fatalf("Redis counts %d after the first Envoys, want 600", n)
			}
			if !graceful {
				time.Sleep(pol.TTL)
			}
			fresh := startEnvoys(t, cl, 3, 2, pol, lease.Local)
			second := paced(fresh, l, 300, 1500*time.Millisecond, nil) // 1,350 requests
			flush(pol)
			stopAll(fresh)
			if second.admitted != 400 || second.quota != 1350-400 {
				t.Errorf("new Envoys: %d admitted, %d quota exceeded; want 400, %d", second.admitted, second.quota, 1350-400)
			}
			if n := cl.used(quotaKey); n != 1000 {
				t.Errorf("Redis counts %d, want 1000", n)
			}
		})
	}
}

// TestClusterRedisRestart: Redis killed (SIGKILL) and started again on its append-only file
// between 600 and the rest of a quota of 1,000: no count is lost.
func TestClusterRedisRestart(t *testing.T) {
	cl := newCluster(t, 1)
	pol := testPolicy()
	l := limit.Limits{Quota: limit.Quota{Key: quotaKey, Limit: 1000}}
	es := startEnvoys(t, cl, 3, 2, pol, lease.Local)
	if got := burst(es, l, 200, 16); got.admitted != 600 {
		t.Fatalf("admitted %d of 600", got.admitted)
	}
	flush(pol)
	cl.redis.Kill()
	cl.redis.Start()
	if n := cl.used(quotaKey); n != 600 {
		t.Fatalf("Redis counts %d after its restart, want 600", n)
	}
	got := paced(es, l, 300, 1500*time.Millisecond, nil)
	flush(pol)
	stopAll(es)
	if got.admitted != 400 {
		t.Errorf("after the restart %d admitted, want 400", got.admitted)
	}
	if n := cl.used(quotaKey); n != 1000 {
		t.Errorf("Redis counts %d, want 1000", n)
	}
}

// outageRun sends 100 requests/s to each of three Envoys for 5 s, with Redis killed from
// 1.5 s to 3.5 s, under a quota that the load does not reach.
func outageRun(t *testing.T, mode lease.Mode) (*cluster, tally, lease.Stats, lease.Policy) {
	cl := newCluster(t, 1)
	pol := testPolicy()
	es := startEnvoys(t, cl, 3, 2, pol, mode)
	l := limit.Limits{Quota: limit.Quota{Key: quotaKey, Limit: 1_000_000}}
	got := paced(es, l, 100, 5*time.Second, map[time.Duration]func(){
		1500 * time.Millisecond: cl.redis.Kill,
		3500 * time.Millisecond: cl.redis.Start,
	})
	flush(pol)
	return cl, got, stopAll(es), pol
}

// TestClusterRedisOutageLocal: on_store_failure "local": during the outage every request is
// decided without waiting longer than the timeout, the Envoys keep limiting on their own, and
// afterwards Redis counts every request admitted, the outage's included.
func TestClusterRedisOutageLocal(t *testing.T) {
	cl, got, st, pol := outageRun(t, lease.Local)
	if got.admitted != 1500 {
		t.Errorf("%d of 1,500 admitted (the quota is far): %+v", got.admitted, got)
	}
	if got.maxTook > pol.Timeout+100*time.Millisecond {
		t.Errorf("a request took %v (timeout %v)", got.maxTook, pol.Timeout)
	}
	if n := cl.used(quotaKey); n != int64(got.admitted) {
		t.Errorf("Redis counts %d, %d were admitted", n, got.admitted)
	}
	// Each Envoy's outage runs from its first failure (up to a timeout after the kill) to its
	// first success (up to a backoff after the start).
	if st.StoreFailures == 0 || st.Debt == 0 || st.OutageMillis < 3*1000 || st.OutageMillis > 3*(2000+1000+1000) {
		t.Errorf("stats %+v: want failures, debt and about 3 × 2 s of outage", st)
	}
	t.Logf("%d admitted, %d waited (max %v); %d store failures, %d tokens of debt written back, %d ms in outage (3 Envoys)",
		got.admitted, got.waited, got.maxTook, st.StoreFailures, st.Debt, st.OutageMillis)
}

// TestClusterRedisOutageDeny: on_store_failure "deny": requests that need the store during the
// outage are refused at once (after at most the timeout for the first ones), leases already
// held are spent, and Redis counts every request admitted.
func TestClusterRedisOutageDeny(t *testing.T) {
	cl, got, st, pol := outageRun(t, lease.Deny)
	if got.denied == 0 || got.admitted+got.denied != 1500 || got.rate+got.quota != 0 {
		t.Errorf("%d admitted, %d denied, %d refused: want some denied, the rest admitted", got.admitted, got.denied, got.rate+got.quota)
	}
	if got.maxTook > pol.Timeout+100*time.Millisecond {
		t.Errorf("a request took %v (timeout %v)", got.maxTook, pol.Timeout)
	}
	if n := cl.used(quotaKey); n != int64(got.admitted) {
		t.Errorf("Redis counts %d, %d were admitted", n, got.admitted)
	}
	t.Logf("%d admitted, %d denied (an outage of 2 s at 300 requests/s), %d waited (max %v); %d store failures",
		got.admitted, got.denied, got.waited, got.maxTook, st.StoreFailures)
}

// TestClusterBridgeKilled: two bridges, one killed under load (its connections cut): no
// request fails (on_store_failure "deny" would show it), none waits beyond the timeout, and
// the counts are exact.
func TestClusterBridgeKilled(t *testing.T) {
	cl := newCluster(t, 2)
	pol := testPolicy()
	es := startEnvoys(t, cl, 3, 2, pol, lease.Deny)
	l := limit.Limits{API: limit.Rate{Key: apiKey, Limit: 100_000}, Quota: limit.Quota{Key: quotaKey, Limit: 1_000_000}}
	kill := func() {
		cl.bridges[0].srv.CloseClientConnections()
		cl.bridges[0].srv.Close()
	}
	got := paced(es, l, 100, 3*time.Second, map[time.Duration]func(){time.Second: kill})
	flush(pol)
	st := stopAll(es)
	if got.admitted != 900 {
		t.Errorf("%d of 900 admitted: %d denied, %d refused", got.admitted, got.denied, got.rate+got.quota)
	}
	if got.maxTook > pol.Timeout {
		t.Errorf("a request took %v (timeout %v)", got.maxTook, pol.Timeout)
	}
	if n := cl.used(quotaKey); n != int64(got.admitted) {
		t.Errorf("Redis counts %d, %d were admitted", n, got.admitted)
	}
	t.Logf("%d admitted, %d waited (max %v); %d calls failed and were sent again", got.admitted, got.waited, got.maxTook, st.StoreFailures)
}

// TestClusterWaitShare: at a rate well below every limit, fewer than 1% of the requests wait
// for the store: leases are taken ahead and refilled before they run dry.
func TestClusterWaitShare(t *testing.T) {
	cl := newCluster(t, 1)
	pol := testPolicy()
	es := startEnvoys(t, cl, 3, 2, pol, lease.Local)
	l := limit.Limits{
		Service: limit.Rate{Key: svcKey, Limit: 5000},
		API:     limit.Rate{Key: apiKey, Limit: 2000},
		Plan:    limit.Rate{Key: planKey, Limit: 1000},
		Quota:   limit.Quota{Key: quotaKey, Limit: 1_000_000_000},
	}
	const rate, d = 100, 10 * time.Second
	got := paced(es, l, rate, d, nil)
	st := stopAll(es)
	total := got.admitted + got.rate + got.quota + got.denied
	share := float64(got.waited) / float64(total)
	if got.admitted != total || share >= 0.01 {
		t.Errorf("%d of %d admitted, %d waited (%.2f%%): want all, and under 1%%", got.admitted, total, got.waited, 100*share)
	}
	p50, p99, mx := cl.rttPercentiles()
	t.Logf("%d requests at %d/s over 3 Envoys, 4 limits each: %d waited (%.2f%%); %d reports (%.1f/s per Envoy), %d leases of %d tokens, %d returned; calls p50 %v p99 %v max %v",
		total, 3*rate, got.waited, 100*share, st.Reports, float64(st.Reports)/3/d.Seconds(), st.Leases, st.TokensLeased, st.TokensReturned, p50, p99, mx)
}

// TestClusterUnevenDemand: one Envoy spends most of a quota and stops; another then asks for
// the rest. What the first still holds comes back when it sees its demand gone, and the
// second gets exactly the rest: 1,000 in all, never more.
func TestClusterUnevenDemand(t *testing.T) {
	cl := newCluster(t, 1)
	pol := testPolicy()
	es := startEnvoys(t, cl, 2, 2, pol, lease.Local)
	l := limit.Limits{Quota: limit.Quota{Key: quotaKey, Limit: 1000}}
	first := paced(es[:1], l, 400, 2375*time.Millisecond, nil) // 950 requests
	start := time.Now()
	second := paced(es[1:], l, 100, 4*time.Second, nil)
	flush(pol)
	stopAll(es)
	if first.admitted != 950 || first.admitted+second.admitted != 1000 {
		t.Errorf("admitted %d then %d; want 950 then 50", first.admitted, second.admitted)
	}
	last := start
	if n := len(second.admittedAt); n > 0 {
		last = second.admittedAt[n-1]
	}
	if n := cl.used(quotaKey); n != 1000 {
		t.Errorf("Redis counts %d", n)
	}
	// idle after 1 s, seen within the 1 s between looks, then the 250 ms recheck
	if took := last.Sub(start); took > 3*time.Second {
		t.Errorf("the rest came after %v", took)
	}
	t.Logf("the second Envoy got its %d in %v (%d refused before the first gave its lease back)",
		second.admitted, last.Sub(start).Round(time.Millisecond), second.quota)
}

// TestClusterSmallRate: a plan's rate of 5/s across two Envoys, each sent one request a
// second, in turn (2/s in all, as a round-robin balancer does): every request passes. A lease
// held by one Envoy must not leave the other's requests nothing to take.
func TestClusterSmallRate(t *testing.T) {
	cl := newCluster(t, 1)
	pol := testPolicy()
	es := startEnvoys(t, cl, 2, 1, pol, lease.Local)
	for _, R := range []int64{5, 3, 12} {
		l := limit.Limits{Plan: limit.Rate{Key: limit.UsageKey("usagePlan-small", "AKID"+strconv.FormatInt(R, 10)), Limit: R}}
		done := make(chan outcome, 64)
		const n = 16
		start := time.Now()
		for i := range n {
			time.Sleep(time.Until(start.Add(time.Duration(i) * 500 * time.Millisecond)))
			es[i%2].jobs <- job{l: l, arrived: time.Now(), done: done}
		}
		var got tally
		for range n {
			got.add(<-done)
		}
		if got.admitted != n {
			t.Errorf("R=%d/s, 2 requests a second to 2 Envoys in turn: %d of %d admitted, %d refused", R, got.admitted, n, got.rate)
		}
		t.Logf("R=%d/s: %d of %d admitted, %d waited", R, got.admitted, n, got.waited)
	}
	stopAll(es)
}
