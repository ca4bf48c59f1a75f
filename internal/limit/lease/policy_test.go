package lease_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/limit"
	"github.com/apigw-wasm/apigw-wasm/internal/limit/lease"
	"github.com/apigw-wasm/apigw-wasm/internal/limitd"
)

// The measurements behind DefaultPolicy and the bridge's divisor (docs/limits.md). They are
// benchmarks so that `make unit` does not spend a minute on them:
//
//	go test -run '^$' -bench Policy -benchtime 1x ./internal/limit/lease/

// BenchmarkPolicyLease: the share of requests that wait and the reports per second, for
// lease lengths and refill points, at 300 requests/s over three Envoys of two workers, four
// limits well above the load; with the report sent right after the request that reaches the
// refill point, and from a 100 ms timer only.
func BenchmarkPolicyLease(b *testing.B) {
	noProcesses(b)
	l := limit.Limits{
		Service: limit.Rate{Key: svcKey, Limit: 5000},
		API:     limit.Rate{Key: apiKey, Limit: 2000},
		Plan:    limit.Rate{Key: planKey, Limit: 1000},
		Quota:   limit.Quota{Key: quotaKey, Limit: 1_000_000_000},
	}
	for _, tickOnly := range []bool{false, true} {
		for _, lp := range []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second} {
			for _, at := range []float64{0.25, 0.5} {
				if at != 0.5 && lp != time.Second {
					continue
				}
				name := fmt.Sprintf("after-request=%v/lease=%v/refill=%.2f", !tickOnly, lp, at)
				b.Run(name, func(b *testing.B) {
					simTick, simTickOnly = 50*time.Millisecond, tickOnly
					if tickOnly {
						simTick = 100 * time.Millisecond
					}
					defer func() { simTick, simTickOnly = 50*time.Millisecond, false }()
					pol := testPolicy()
					pol.Lease, pol.RefillAt = lp, at
					for b.Loop() {
						cl := newCluster(b, 1)
						es := startEnvoys(b, cl, 3, 2, pol, lease.Local)
						const d = 6 * time.Second
						got := paced(es, l, 100, d, nil)
						st := stopAll(es)
						total := got.admitted + got.rate + got.quota
						_, p99, _ := cl.rttPercentiles()
						b.ReportMetric(100*float64(got.waited)/float64(total), "%waited")
						b.ReportMetric(float64(st.Reports)/3/d.Seconds(), "reports/s/Envoy")
						b.ReportMetric(float64(p99.Microseconds())/1000, "p99-call-ms")
					}
				})
			}
		}
	}
}

// BenchmarkPolicyDivisor: the end of a quota of 1,000 under 3,000 requests from three Envoys
// (16 concurrent clients each), for grant divisors F: requests that waited, and the admitted
// count (always exactly 1,000).
func BenchmarkPolicyDivisor(b *testing.B) {
	noProcesses(b)
	l := limit.Limits{Quota: limit.Quota{Key: quotaKey, Limit: 1000}}
	for _, f := range []int{1, 2, 4, 8} {
		b.Run(fmt.Sprintf("F=%d", f), func(b *testing.B) {
			for b.Loop() {
				cl := newClusterConfig(b, 1, limitd.Config{Divisor: f})
				es := startEnvoys(b, cl, 3, 2, testPolicy(), lease.Local)
				got := burst(es, l, 1000, 16)
				stopAll(es)
				if got.admitted != 1000 {
					b.Errorf("F=%d: %d admitted", f, got.admitted)
				}
				b.ReportMetric(float64(got.waited), "waited")
				b.ReportMetric(float64(got.admitted), "admitted")
			}
		})
	}
}

// noProcesses: make bench-go also runs the benchmarks in V8 (GOOS=js), where no redis-server
// can be started; the native run measures them.
func noProcesses(b *testing.B) {
	if runtime.GOOS == "js" {
		b.Skip("starts redis-server processes: measured natively only")
	}
}
