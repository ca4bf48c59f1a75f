package tests

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/hmacauth"
	"github.com/apigw-wasm/apigw-wasm/internal/limitd"
	"github.com/apigw-wasm/apigw-wasm/internal/limitd/redistest"
)

// The cluster-wide limits (docs/limits.md) in real Envoys: three Envoys of two workers each
// share one Redis (append-only file, fsync at every write) through two bridges built from
// cmd/apigw-limitd. The scenarios run in order and share the processes; each uses its own plan
// and secret, so that their counts in Redis do not meet. The first three Envoys run
// on_store_failure local; the three that replace them in the restart scenario run deny (a
// rollout that also changes that setting), for the scenarios after it. Starting an Envoy costs
// tens of seconds of CPU (V8 compiles the module), hence six Envoys for seven scenarios.

// globalTimeout is timeout_ms of both listeners: calls took up to 280 ms on the project's
// shared 2-CPU machine, and a timeout is a store failure, which the exactness scenarios must
// not see. The failure scenarios check that no request waits longer.
const globalTimeout = time.Second

// globalSecrets are the secrets of globalConfig, one per scenario, and their keys.
var globalSecrets = map[string]string{
	"AKIDexact": "key-of-the-exact-quota", "AKIDrate": "key-of-the-rate", "AKIDrestart": "key-of-the-restart",
	"AKIDbridge": "key-of-the-bridge", "AKIDoutage": "key-of-the-outage", "AKIDdeny": "key-of-the-deny-outage",
	"AKIDheaders": "key-of-the-headers",
}

// globalPlans are the plans of globalConfig: secret -> its plan's limits.
var globalPlans = map[string]string{
	"AKIDexact":   `"max_requests": 1000`,
	"AKIDrate":    `"max_requests_per_second": 40`,
	"AKIDrestart": `"max_requests": 1000`,
	"AKIDbridge":  `"max_requests": 600, "max_requests_per_second": 1000`,
	"AKIDoutage":  `"max_requests": 1000000`,
	"AKIDdeny":    `"max_requests": 1000000`,
	"AKIDheaders": `"max_requests": 100, "max_requests_per_second": 50`,
}

func globalConfig(onFailure string) string {
	var secrets, plans []string
	for _, id := range slices.Sorted(func(yield func(string) bool) {
		for id := range globalSecrets {
			if !yield(id) {
				return
			}
		}
	}) {
		secrets = append(secrets, fmt.Sprintf(`{"secret_id": %q, "secret_key": %q}`, id, globalSecrets[id]))
		plans = append(plans, fmt.Sprintf(`{"id": "plan-%s", %s, "secrets": [%q], "environments": [{"service": "service-global", "environment": "release"}]}`,
			strings.TrimPrefix(id, "AKID"), globalPlans[id], id))
	}
	return fmt.Sprintf(`{
  "limits": {"mode": "global", "timeout_ms": %d, "on_store_failure": %q},
  "services": [{"id": "service-global", "default_domain": "global.example.com",
    "apis": [{"id": "api-global", "path": "/g", "auth": "secret", "backend": {"type": "http", "cluster": "up"}}]}],
  "secrets": [%s],
  "usage_plans": [%s]
}`, globalTimeout.Milliseconds(), onFailure, strings.Join(secrets, ", "), strings.Join(plans, ",\n    "))
}

// bridgeProc is one apigw-limitd process.
type bridgeProc struct {
	Addr string
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

// startBridge starts a bridge in front of redisAddr and waits until /healthz answers 200.
func startBridge(t *testing.T, redisAddr string) *bridgeProc {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return startBridgeAt(t, t, addr, redisAddr)
}

// startBridgeAt starts a bridge listening on addr that lives as long as o.
func startBridgeAt(t *testing.T, o owner, addr, redisAddr string) *bridgeProc {
	t.Helper()
	bin := buildCommand(t, "apigw-limitd")
	b := &bridgeProc{Addr: addr, done: make(chan struct{}), log: filepath.Join(o.TempDir(), "bridge.log")}
	f, err := os.Create(b.log)
	if err != nil {
		t.Fatal(err)
	}
	b.cmd = exec.Command(bin, "-listen", addr, "-redis", redisAddr, "-timeout", globalTimeout.String(), "-grace", "1s")
	b.cmd.Stdout, b.cmd.Stderr = f, f
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { b.cmd.Wait(); f.Close(); close(b.done) }()
	o.Cleanup(b.Kill)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return b
			}
		}
		select {
		case <-b.done:
			out, _ := os.ReadFile(b.log)
			t.Fatalf("apigw-limitd exited at start: %s", out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("apigw-limitd on %s not healthy: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill kills the bridge at once (SIGKILL), as a crash does.
func (b *bridgeProc) Kill() {
	if b.cmd.Process != nil {
		b.cmd.Process.Kill()
		<-b.done
	}
}

// globalEnv is the processes the scenarios share, which live as long as the test, owner.
type globalEnv struct {
	owner   *testing.T
	redis   *redistest.Server
	bridges []*bridgeProc
	up      *Upstream
	envoys  []*globalEnvoy
}

// globalEnvoy is one Envoy.
type globalEnvoy struct {
	g         *Gateway
	url       string
	transport *http.Transport
}

// startEnvoys starts n Envoys whose on_store_failure is onFailure.
func (e *globalEnv) startEnvoys(t *testing.T, n int, onFailure string) {
	t.Helper()
	envoys := make([]*globalEnvoy, n)
	var wg sync.WaitGroup
	for i := range envoys {
		wg.Go(func() {
			g, err := startGateway(e.owner, Options{
				PluginConfig:  globalConfig(onFailure),
				Clusters:      map[string]string{"up": e.up.Addr},
				LimitsBridges: []string{e.bridges[0].Addr, e.bridges[1].Addr},
				StartTimeout:  5 * time.Minute, // three at once on a busy machine
			})
			if err != nil {
				t.Errorf("envoy %d did not start: %v\n%s", i, err, g.logTail(40))
				return
			}
			envoys[i] = &globalEnvoy{g: g, url: g.HTTPURL,
				transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	e.envoys = envoys
}

func (e *globalEnv) stopEnvoys() {
	var wg sync.WaitGroup
	for _, en := range e.envoys {
		wg.Go(func() {
			en.transport.CloseIdleConnections()
			en.g.Stop()
		})
	}
	wg.Wait()
	e.envoys = nil
}

// need fails a scenario that has no Envoys to run on: an earlier one failed to start them.
func (e *globalEnv) need(t *testing.T) {
	t.Helper()
	if len(e.envoys) == 0 {
		t.Fatal("no Envoys: the restart scenario did not start them")
	}
}

// used is the count Redis holds for the quota of a secret's plan.
func (e *globalEnv) used(t *testing.T, secret string) int64 {
	t.Helper()
	key := limitd.DefaultPrefix + "q:apigw|q|plan-" + strings.TrimPrefix(secret, "AKID") + "|" + secret
	n, err := e.redis.Client().HGet(context.Background(), key, "u").Int64()
	if err != nil {
		t.Fatalf("reading the count of %s in Redis: %v", key, err)
	}
	return n
}

// waitUsed waits until Redis counts want for a secret's quota: spend is reported within a
// second (FlushEvery).
func (e *globalEnv) waitUsed(t *testing.T, secret string, want int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := e.used(t, secret)
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Redis counts %d for %s, want %d", n, secret, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// globalResult is one request's outcome.
type globalResult struct {
	status  int
	message string
	header  http.Header
	took    time.Duration
	at      time.Time // when the answer came
	err     error
}

// send sends one signed GET to /release/g as secret.
func (en *globalEnvoy) send(secret string) globalResult {
	const path = "/release/g"
	h := http.Header{}
	h.Set("X-Date", time.Now().UTC().Format(http.TimeFormat))
	h.Set("Source", "limits")
	auth, err := hmacauth.Sign(signedRequest{"GET", path, h}, hmacauth.Credential{ID: secret, Algorithm: "hmac-sha256", Headers: "x-date source"},
		[]byte(globalSecrets[secret]))
	if err != nil {
		return globalResult{err: err}
	}
	h.Set("Authorization", auth)
	req, _ := http.NewRequest("GET", en.url+path, nil)
	req.Host = "global.example.com"
	req.Header = h
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	resp, err := en.transport.RoundTrip(req.WithContext(ctx))
	if err != nil {
		return globalResult{err: err, took: time.Since(start)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	r := globalResult{status: resp.StatusCode, header: resp.Header, took: time.Since(start), at: time.Now(), err: err}
	r.message = Response{Body: string(body)}.Message()
	return r
}

// tally counts outcomes by status and message.
type tally struct {
	mu       sync.Mutex
	admitted int
	quota    int // 429 API quota exceeded.
	rate     int // 429 API rate limit exceeded.
	internal int // 500 Internal Server Error.
	other    []string
	maxTook  time.Duration
	admits   []time.Time
}

func (c *tally) add(r globalResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.maxTook = max(c.maxTook, r.took)
	switch {
	case r.err != nil:
		c.other = append(c.other, r.err.Error())
	case r.status == 200:
		c.admitted++
		c.admits = append(c.admits, r.at)
	case r.status == 429 && r.message == "API quota exceeded.":
		c.quota++
	case r.status == 429 && r.message == "API rate limit exceeded.":
		c.rate++
	case r.status == 500 && r.message == "Internal Server Error.":
		c.internal++
	default:
		c.other = append(c.other, fmt.Sprintf("%d %q", r.status, r.message))
	}
}

func (c *tally) String() string {
	return fmt.Sprintf("%d admitted, %d quota exceeded, %d rate exceeded, %d internal errors, %d other %q; slowest %v",
		c.admitted, c.quota, c.rate, c.internal, len(c.other), c.other[:min(len(c.other), 5)], c.maxTook.Round(time.Millisecond))
}

// burst sends n requests from conc clients per Envoy, each client sending its next request
// when its last one is answered, the clients' requests spread over the Envoys in turn.
func (e *globalEnv) burst(secret string, n, conc int) *tally {
	var c tally
	clients := conc * len(e.envoys)
	var wg sync.WaitGroup
	for k := range clients {
		wg.Go(func() {
			for i := k; i < n; i += clients {
				en := e.envoys[i%len(e.envoys)]
				c.add(en.send(secret))
			}
		})
	}
	wg.Wait()
	return &c
}

// paced sends rate requests per second to each Envoy for d, calling during at its offsets.
func (e *globalEnv) paced(secret string, rate int, d time.Duration, during map[time.Duration]func()) *tally {
	var c tally
	var wg sync.WaitGroup
	gap := time.Second / time.Duration(rate)
	start := time.Now()
	marks := slices.Sorted(func(yield func(time.Duration) bool) {
		for m := range during {
			if !yield(m) {
				return
			}
		}
	})
	for i := 0; time.Duration(i)*gap < d; i++ {
		at := start.Add(time.Duration(i) * gap)
		for len(marks) > 0 && !start.Add(marks[0]).After(at) {
			during[marks[0]]()
			marks = marks[1:]
		}
		time.Sleep(time.Until(at))
		for _, en := range e.envoys {
			wg.Go(func() { c.add(en.send(secret)) })
		}
	}
	wg.Wait()
	return &c
}

// counter reads a wasm counter from every Envoy and adds them up.
func (e *globalEnv) counter(t *testing.T, name string) int {
	t.Helper()
	total := 0
	for _, en := range e.envoys {
		for _, line := range strings.Split(en.g.Admin(t, "/stats?filter="+name+"$"), "\n") {
			if _, v, ok := strings.Cut(line, ": "); ok {
				n, _ := strconv.Atoi(strings.TrimSpace(v))
				total += n
			}
		}
	}
	return total
}

// quit stops an Envoy gracefully (as SIGTERM does: admin /quitquitquit) and waits for it.
func (en *globalEnvoy) quit(t *testing.T) {
	t.Helper()
	en.transport.CloseIdleConnections()
	if resp, err := http.Post(en.g.AdminURL+"/quitquitquit", "", nil); err == nil {
		resp.Body.Close()
	}
	select {
	case <-en.g.proc.Done():
	case <-time.After(30 * time.Second):
		t.Errorf("envoy %s did not stop within 30 s", en.g.Dir)
	}
	en.g.Stop()
}

// quotaHeader reads "remaining/limit" of a limit header.
func quotaHeader(t *testing.T, h http.Header, name string) (rem, lim int) {
	t.Helper()
	a, b, ok := strings.Cut(h.Get(name), "/")
	rem, err1 := strconv.Atoi(a)
	lim, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil {
		t.Fatalf("%s: %q", name, h.Get(name))
	}
	return rem, lim
}

// TestGlobalLimits is issue 14's list, in real Envoys.
func TestGlobalLimits(t *testing.T) {
	start := time.Now()
	e := &globalEnv{owner: t, redis: redistest.Start(t), up: StartUpstream(t)}
	e.bridges = []*bridgeProc{startBridge(t, e.redis.Addr), startBridge(t, e.redis.Addr)}
	e.startEnvoys(t, 3, "local")
	t.Logf("Redis, 2 bridges and 3 Envoys started in %v", time.Since(start).Round(time.Millisecond))

	// Three Envoys, a quota of 1,000, 3,000 requests from 48 concurrent clients.
	t.Run("QuotaExact", func(t *testing.T) {
		before := e.up.Count()
		c := e.burst("AKIDexact", 3000, 16)
		if c.admitted != 1000 || c.quota != 2000 || len(c.other)+c.rate+c.internal != 0 {
			t.Errorf("%v; want 1000 admitted, 2000 quota exceeded", c)
		}
		if n := e.up.Count() - before; n != 1000 {
			t.Errorf("the upstream saw %d requests, want 1000", n)
		}
		e.waitUsed(t, "AKIDexact", 1000)
		t.Logf("3,000 requests over 3 Envoys: %v", c)
	})

	// A plan rate of R/s, each Envoy offered 2R/s: in every interval T between two
	// admissions at most R·T + R pass cluster-wide (docs/limits.md, the bound), where three
	// Envoys counting alone would admit three times that.
	t.Run("RateBound", func(t *testing.T) {
		const R, offered, d = 40, 80, 3 * time.Second
		c := e.paced("AKIDrate", offered, d, nil)
		if c.admitted+c.rate != 3*offered*int(d/time.Second) || len(c.other)+c.internal+c.quota != 0 {
			t.Fatalf("%v", c)
		}
		at := c.admits
		slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
		// The times are when the client got the answers, up to a few tens of milliseconds
		// after Envoy decided: a window may look that much shorter than it was.
		const slack = 1 + R/10
		worst, worstT := 0.0, time.Duration(0)
		for i := range at {
			for j := i; j < len(at); j++ {
				T := at[j].Sub(at[i])
				if excess := float64(j-i+1) - (R*T.Seconds() + R); excess > worst {
					worst, worstT = excess, T
				}
			}
		}
		span := at[len(at)-1].Sub(at[0])
		if worst > slack {
			t.Errorf("%d admitted in %v: %.1f more than R·T + R in an interval of %v", len(at), span, worst, worstT)
		}
		if float64(len(at)) < 0.7*R*span.Seconds() {
			t.Errorf("only %d admitted in %v at %d/s", len(at), span, R)
		}
		t.Logf("R=%d/s, %d/s offered to each of 3 Envoys for %v: %d admitted in %v (R·T+R = %.0f; 3 Envoys alone: %.0f), worst interval %.1f over the bound; %v",
			R, offered, d, len(at), span.Round(time.Millisecond), R*span.Seconds()+R, 3*(R*span.Seconds()+R), worst, c)
	})

	// The headers show the cluster-wide remaining count: never less than the truth, and high
	// by what the other Envoys spent since this one's last answer from the store.
	t.Run("Headers", func(t *testing.T) {
		const n = 60
		worst := 0
		for i := 1; i <= n; i++ {
			r := e.envoys[i%3].send("AKIDheaders")
			if r.status != 200 {
				t.Fatalf("request %d: %d %q", i, r.status, r.message)
			}
			rem, lim := quotaHeader(t, r.header, "X-UsagePlan-Quota")
			truth := 100 - i
			if lim != 100 || rem < truth {
				t.Errorf("request %d: X-UsagePlan-Quota %d/%d, but %d remain", i, rem, lim, truth)
			}
			worst = max(worst, rem-truth)
			if rate, lim := quotaHeader(t, r.header, "X-UsagePlan-RateLimit"); lim != 50 || rate < 0 || rate > 50 {
				t.Errorf("request %d: X-UsagePlan-RateLimit %d/%d", i, rate, lim)
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("%d requests at ~20/s over 3 Envoys: X-UsagePlan-Quota never below the truth, at most %d above it", n, worst)
	})

	// Redis stopped (SIGSTOP: calls hang) under load, then continued: with on_store_failure
	// local every request passes, none waits longer than timeout_ms, and Redis counts the
	// outage's spend afterwards.
	t.Run("OutageLocal", func(t *testing.T) {
		failures := e.counter(t, "wasmcustom.apigw.limit.global.store_failures")
		c := e.paced("AKIDoutage", 50, 4*time.Second, map[time.Duration]func(){
			time.Second:             func() { e.redis.Signal(syscall.SIGSTOP) },
			2500 * time.Millisecond: func() { e.redis.Signal(syscall.SIGCONT) },
		})
		if c.admitted != 600 || c.quota+c.rate+c.internal+len(c.other) != 0 {
			t.Errorf("%v; want all 600 admitted", c)
		}
		if c.maxTook > globalTimeout+300*time.Millisecond {
			t.Errorf("a request took %v, more than timeout_ms", c.maxTook)
		}
		time.Sleep(1500 * time.Millisecond)
		failed := e.counter(t, "wasmcustom.apigw.limit.global.store_failures") - failures
		n := e.used(t, "AKIDoutage")
		// A take whose answer was lost may count twice (docs/limits.md, Known limits); each
		// needs a failed call.
		if n < 600 || n > int64(600+failed) {
			t.Errorf("Redis counts %d, want 600 (up to %d more: failed calls)", n, failed)
		}
		if failed == 0 || e.counter(t, "wasmcustom.apigw.limit.global.debt") == 0 || e.counter(t, "wasmcustom.apigw.limit.global.outage_ms") == 0 {
			t.Errorf("metrics: %d store failures, debt %d, outage_ms %d", failed,
				e.counter(t, "wasmcustom.apigw.limit.global.debt"), e.counter(t, "wasmcustom.apigw.limit.global.outage_ms"))
		}
		t.Logf("Redis stopped for 1.5 s under 150 requests/s: %v; Redis counts %d; %d failed calls", c, n, failed)
	})

	// All Envoys restarted after 600 of a quota of 1,000, and Redis killed and started again
	// on its append-only file: 400 more pass, then 429.
	t.Run("Restarts", func(t *testing.T) {
		if c := e.burst("AKIDrestart", 600, 8); c.admitted != 600 {
			t.Fatalf("before the restarts: %v; want 600 admitted", c)
		}
		e.waitUsed(t, "AKIDrestart", 600)
		// Idle for a moment, each Envoy gives its lease back (near the end of the quota
		// after 100 ms, else all but one token): docs/limits.md, Durability.
		time.Sleep(500 * time.Millisecond)
		restart := time.Now()
		var wg sync.WaitGroup
		for _, en := range e.envoys {
			wg.Go(func() { en.quit(t) })
		}
		wg.Wait()
		e.envoys = nil
		e.redis.Kill()
		e.redis.Start()
		if n := e.used(t, "AKIDrestart"); n != 600 {
			t.Fatalf("Redis counts %d after its restart, want 600", n)
		}
		e.startEnvoys(t, 3, "deny")
		t.Logf("3 Envoys and Redis restarted in %v", time.Since(restart).Round(time.Millisecond))
		// Sent for a while after the first 429: an Envoy may hold the last tokens for a
		// moment while the others are refused.
		c := e.paced("AKIDrestart", 100, 2500*time.Millisecond, nil)
		if c.admitted != 400 || c.quota != 750-400 || len(c.other)+c.rate+c.internal != 0 {
			t.Errorf("after the restarts: %v; want 400 admitted, 350 quota exceeded", c)
		}
		e.waitUsed(t, "AKIDrestart", 1000)
		t.Logf("after the restarts: %v", c)
	})

	// One of two bridges killed under load (the Envoys run on_store_failure deny now, so that
	// a failure would show): no request fails or hangs. The end of a quota makes requests
	// wait for the store.
	t.Run("BridgeKilled", func(t *testing.T) {
		e.need(t)
		failures := e.counter(t, "wasmcustom.apigw.limit.global.store_failures")
		c := e.paced("AKIDbridge", 100, 3*time.Second, map[time.Duration]func(){
			1500 * time.Millisecond: e.bridges[0].Kill,
		})
		if c.admitted != 600 || c.quota != 300 || len(c.other)+c.rate+c.internal != 0 {
			t.Errorf("%v; want 600 admitted and 300 quota exceeded, nothing else", c)
		}
		if c.maxTook >= globalTimeout {
			t.Errorf("a request took %v", c.maxTook)
		}
		e.waitUsed(t, "AKIDbridge", 600)
		time.Sleep(100 * time.Millisecond) // the tick exports the counters
		t.Logf("900 requests, a bridge killed after 1.5 s: %v; %d calls failed and were sent again",
			c, e.counter(t, "wasmcustom.apigw.limit.global.store_failures")-failures)
		e.bridges[0] = startBridgeAt(t, e.owner, e.bridges[0].Addr, e.redis.Addr)
	})

	// Redis killed under load, then started: with on_store_failure deny, what needs the store
	// is refused with 500 (and a log line each); leases held are spent; Redis counts what
	// passed.
	t.Run("OutageDeny", func(t *testing.T) {
		e.need(t)
		const denyLine = "the limit store is unavailable and on_store_failure is deny"
		deniedLines := func() (n int) {
			for _, en := range e.envoys {
				n += strings.Count(en.g.Logs(), denyLine)
			}
			return n
		}
		linesBefore := deniedLines() // the Envoys' logs are shared with the cases before
		failures := e.counter(t, "wasmcustom.apigw.limit.global.store_failures")
		c := e.paced("AKIDdeny", 50, 4*time.Second, map[time.Duration]func(){
			time.Second:             e.redis.Kill,
			2500 * time.Millisecond: e.redis.Start,
		})
		if c.internal == 0 || c.admitted+c.internal != 600 || c.quota+c.rate+len(c.other) != 0 {
			t.Errorf("%v; want only 200s and 500s, some of each", c)
		}
		if c.maxTook > globalTimeout+300*time.Millisecond {
			t.Errorf("a request took %v, more than timeout_ms", c.maxTook)
		}
		if logged := deniedLines() - linesBefore; logged != c.internal {
			t.Errorf("%d log lines for %d refused requests", deniedLines()-linesBefore, c.internal)
		}
		time.Sleep(1500 * time.Millisecond)
		failed := e.counter(t, "wasmcustom.apigw.limit.global.store_failures") - failures
		// A take whose answer was lost counts although its request was refused.
		if n := e.used(t, "AKIDdeny"); n < int64(c.admitted) || n > int64(c.admitted+failed) {
			t.Errorf("Redis counts %d, want %d (up to %d more: failed calls)", n, c.admitted, failed)
		}
		t.Logf("Redis down for 1.5 s under 150 requests/s: %v; Redis counts %d; %d failed calls", c, e.used(t, "AKIDdeny"), failed)
	})
}
