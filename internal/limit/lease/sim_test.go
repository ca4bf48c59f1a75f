package lease_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9/logging"

	"github.com/apigw-wasm/apigw-wasm/internal/limit"
	"github.com/apigw-wasm/apigw-wasm/internal/limit/lease"
	"github.com/apigw-wasm/apigw-wasm/internal/limitd"
	"github.com/apigw-wasm/apigw-wasm/internal/limitd/redistest"
	"github.com/apigw-wasm/apigw-wasm/internal/reply"
)

// The simulation: Envoys of worker VMs over a real Redis and real bridges.
//
// An envoy is a limit.Memory (its shared data) and workers. A worker is one VM: one
// lease.Client used from one goroutine that runs an event loop like Envoy's: requests, the
// answers of its HTTP calls, and a timer tick. A waiting request does not block the loop: its
// call goes out on another goroutine and its answer comes back as an event, as Envoy resumes a
// paused request. The bridges are limitd.Servers behind httptest servers; a cluster picks them
// round robin and ejects one that refuses connections, as Envoy's outlier detection would.

// cluster is the bridges and the Redis behind them.
type cluster struct {
	t       testing.TB
	redis   *redistest.Server
	bridges []*bridge
	next    atomic.Int64
	http    *http.Client
	logs    *syncBuffer

	rttMu sync.Mutex
	rtts  []time.Duration // of answered calls
}

type bridge struct {
	srv     *httptest.Server
	ejected atomic.Int64 // until, Unix ns
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newCluster(t testing.TB, bridges int) *cluster {
	return newClusterConfig(t, bridges, limitd.Config{})
}

func newClusterConfig(t testing.TB, bridges int, cfg limitd.Config) *cluster {
	logging.Disable() // the bridges log each failure once themselves
	cl := &cluster{t: t, redis: redistest.Start(t), logs: new(syncBuffer)}
	cl.http = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512}}
	cfg.Log, cfg.Timeout = log.New(cl.logs, "", 0), time.Second
	for range bridges {
		s := limitd.New(cl.redis.Client(), cfg)
		b := &bridge{srv: httptest.NewServer(s.Handler())}
		t.Cleanup(b.srv.Close)
		cl.bridges = append(cl.bridges, b)
	}
	return cl
}

// send makes one call: the HTTP status and body, or 0 when it failed or timed out.
func (cl *cluster) send(call *lease.Call) (int, []byte) {
	start := time.Now()
	var b *bridge
	for range len(cl.bridges) {
		b = cl.bridges[int(cl.next.Add(1))%len(cl.bridges)]
		if b.ejected.Load() < start.UnixNano() {
			break
		}
	}
	req, _ := http.NewRequest("POST", b.srv.URL+call.Path(), bytes.NewReader(call.Body))
	ctx, cancel := context.WithTimeout(context.Background(), call.Timeout)
	defer cancel()
	resp, err := cl.http.Do(req.WithContext(ctx))
	if err != nil {
		// A refused or reset connection ejects the bridge for a while (outlier detection);
		// a timeout does not: a slow bridge is not a dead one.
		if !errors.Is(err, context.DeadlineExceeded) {
			b.ejected.Store(time.Now().Add(10 * time.Second).UnixNano())
		}
		return 0, nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil
	}
	cl.rttMu.Lock()
	cl.rtts = append(cl.rtts, time.Since(start))
	cl.rttMu.Unlock()
	return resp.StatusCode, body
}

// used is the quota's count in Redis.
func (cl *cluster) used(key string) int64 {
	n, err := cl.redis.Client().HGet(context.Background(), limitd.DefaultPrefix+"q:"+key, "u").Int64()
	if err != nil {
		cl.t.Fatalf("reading the count of %s: %v", key, err)
	}
	return n
}

func (cl *cluster) rttPercentiles() (p50, p99, maxd time.Duration) {
	cl.rttMu.Lock()
	defer cl.rttMu.Unlock()
	if len(cl.rtts) == 0 {
		return
	}
	r := slices.Clone(cl.rtts)
	slices.Sort(r)
	return r[len(r)/2], r[len(r)*99/100], r[len(r)-1]
}

// outcome is what became of one request.
type outcome struct {
	code   reply.Code // None: admitted
	deny   bool
	waited bool
	at     time.Time     // when it was decided
	took   time.Duration // from its arrival
	res    lease.Result
}

type job struct {
	l       limit.Limits
	arrived time.Time
	done    chan<- outcome
}

type envoy struct {
	store   *limit.Memory
	workers []*worker
	jobs    chan job
}

// How workers call Due: on a tick of simTick, and after each request whose Result says Sync
// unless simTickOnly (a plugin that reports from its timer only).
var (
	simTick     = 50 * time.Millisecond
	simTickOnly = false
)

type worker struct {
	cl     *cluster
	c      *lease.Client
	events chan func()
	stop   chan struct{}
	done   chan struct{}
	stats  lease.Stats
}

// startEnvoy starts an Envoy of n workers with its own shared data and instance id.
func startEnvoy(t testing.TB, cl *cluster, n int, pol lease.Policy, mode lease.Mode) *envoy {
	e := &envoy{store: new(limit.Memory), jobs: make(chan job, 100000)}
	for range n {
		c, err := lease.NewClient(e.store, pol, mode)
		if err != nil {
			t.Fatal(err)
		}
		w := &worker{cl: cl, c: c, events: make(chan func(), 1024), stop: make(chan struct{}), done: make(chan struct{})}
		e.workers = append(e.workers, w)
		go w.loop(e.jobs)
	}
	return e
}

func (w *worker) loop(jobs <-chan job) {
	defer close(w.done)
	tick := time.NewTicker(simTick)
	defer tick.Stop()
	for {
		select {
		case f := <-w.events:
			f()
		case j := <-jobs:
			w.handle(j)
		case <-tick.C:
			w.sync()
		case <-w.stop:
			w.addStats()
			return
		}
	}
}

func (w *worker) addStats() {
	s := w.c.TakeStats()
	w.stats.Reports += s.Reports
	w.stats.Leases += s.Leases
	w.stats.TokensLeased += s.TokensLeased
	w.stats.TokensReturned += s.TokensReturned
	w.stats.StoreFailures += s.StoreFailures
	w.stats.Waited += s.Waited
	w.stats.Debt += s.Debt
	w.stats.Denied += s.Denied
	w.stats.OutageMillis += s.OutageMillis
}

func (w *worker) handle(j job) {
	r := w.c.Take(&j.l, time.Now())
	if r.Sync && !simTickOnly {
		w.sync()
	}
	if r.Wait == nil {
		w.finish(j, r, false)
		return
	}
	w.await(j, r.Wait)
}

// await sends a waiting request's call; its answer resumes the request on the loop.
func (w *worker) await(j job, p *lease.Pending) {
	go func() {
		status, body := w.cl.send(p.Call())
		w.events <- func() {
			r := w.c.Resume(p, status, body, time.Now())
			if r.Wait != nil {
				w.await(j, r.Wait)
				return
			}
			if r.Sync && !simTickOnly {
				w.sync()
			}
			w.finish(j, r, true)
		}
	}()
}

func (w *worker) finish(j job, r lease.Result, waited bool) {
	o := outcome{deny: r.Deny, waited: waited, at: time.Now(), res: r}
	o.took = o.at.Sub(j.arrived)
	if r.Err != nil {
		o.code = r.Err.Code
	}
	j.done <- o
}

// sync sends every report Due has, each answered on the loop.
func (w *worker) sync() {
	for call := w.c.Due(time.Now()); call != nil; call = w.c.Due(time.Now()) {
		w.report(call)
	}
}

func (w *worker) report(call *lease.Call) {
	go func() {
		status, body := w.cl.send(call)
		w.events <- func() {
			if again := w.c.Answer(call, status, body, time.Now()); again != nil {
				w.report(again)
			}
		}
	}()
}

// release gives back the leases (a graceful stop) and waits for the answers.
func (e *envoy) release(t testing.TB) {
	var wg sync.WaitGroup
	for _, w := range e.workers {
		wg.Add(1)
		w.events <- func() {
			defer wg.Done()
			for _, call := range w.c.Release(time.Now()) {
				status, body := w.cl.send(call)
				w.c.Answer(call, status, body, time.Now())
			}
		}
	}
	wg.Wait()
}

// stop ends the workers (a crash if release was not called first).
func (e *envoy) stop() lease.Stats {
	var total lease.Stats
	for _, w := range e.workers {
		close(w.stop)
		<-w.done
		addStats(&total, w.stats)
	}
	return total
}

// addStats adds s to total, field by field.
func addStats(total *lease.Stats, s lease.Stats) {
	total.Reports += s.Reports
	total.Leases += s.Leases
	total.TokensLeased += s.TokensLeased
	total.TokensReturned += s.TokensReturned
	total.StoreFailures += s.StoreFailures
	total.Waited += s.Waited
	total.Debt += s.Debt
	total.Denied += s.Denied
	total.OutageMillis += s.OutageMillis
}

// tally counts outcomes.
type tally struct {
	admitted, rate, quota, denied, waited int
	maxTook                               time.Duration
	admittedAt                            []time.Time
}

func (t *tally) add(o outcome) {
	switch {
	case o.deny:
		t.denied++
	case o.code == reply.None:
		t.admitted++
		t.admittedAt = append(t.admittedAt, o.at)
	case o.code == reply.RateLimitExceeded:
		t.rate++
	case o.code == reply.QuotaExceeded:
		t.quota++
	}
	if o.waited {
		t.waited++
	}
	t.maxTook = max(t.maxTook, o.took)
}

// burst sends n requests per Envoy from conc concurrent clients per Envoy, each client
// sending its next request when the last one is answered (as wrk does), to the Envoys in
// turn (as a load balancer in front of them does), and collects the outcomes.
func burst(envoys []*envoy, l limit.Limits, n, conc int) tally {
	total := n * len(envoys)
	clients := conc * len(envoys)
	done := make(chan outcome, total)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			mine := make(chan outcome, 1)
			for i := c; i < total; i += clients {
				envoys[i%len(envoys)].jobs <- job{l: l, arrived: time.Now(), done: mine}
				done <- <-mine
			}
		})
	}
	wg.Wait()
	var t tally
	for range total {
		t.add(<-done)
	}
	return t
}

// paced sends requests to each Envoy at rate per second for d, each Envoy's evenly spaced,
// calling during (on the test goroutine) at the given offsets.
func paced(envoys []*envoy, l limit.Limits, rate int, d time.Duration, during map[time.Duration]func()) tally {
	n := int(d.Seconds() * float64(rate))
	done := make(chan outcome, n*len(envoys))
	gap := time.Second / time.Duration(rate)
	start := time.Now()
	var marks []time.Duration
	for m := range during {
		marks = append(marks, m)
	}
	slices.Sort(marks)
	for i := range n {
		at := start.Add(time.Duration(i) * gap)
		for len(marks) > 0 && start.Add(marks[0]).Before(at) {
			during[marks[0]]()
			marks = marks[1:]
		}
		time.Sleep(time.Until(at))
		for _, e := range envoys {
			e.jobs <- job{l: l, arrived: time.Now(), done: done}
		}
	}
	var t tally
	for range n * len(envoys) {
		t.add(<-done)
	}
	return t
}
