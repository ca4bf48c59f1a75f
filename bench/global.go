package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/apigw-wasm/apigw-wasm/bench/benchcfg"
)

// Configuration (g), issue 14: (c) with the plugin's limits in Redis (docs/limits.md). The
// driver starts, for the whole run, a redis-server persisted as docs/limits.md advises
// (append-only, fsync always) and one bridge (cmd/apigw-limitd), which (g)'s Envoy reaches as
// the cluster apigw_limitd. Besides what every configuration reports, (g) reports the share of
// requests that waited on Redis (the plugin's apigw.limit.global.waited), its reports, and
// the CPU the bridge and Redis spent per request.

// globalLimits is the limits section of (g): the plugin's defaults, spelled out.
const globalLimits = `{"mode": "global", "cluster": "apigw_limitd", "timeout_ms": 100, "on_store_failure": "local"}`

// globalPluginConfig is (c)'s plugin configuration with globalLimits: the usage plan's rate
// (10^6/s) and quota (10^9) stay far above any rate the bench reaches.
func globalPluginConfig() string {
	var cfg map[string]any
	if err := json.Unmarshal([]byte(benchcfg.PluginConfig(true, 1)), &cfg); err != nil {
		panic(err)
	}
	cfg["limits"] = json.RawMessage(globalLimits)
	b, err := json.Marshal(cfg)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// limitStore is the Redis and the bridge of (g).
type limitStore struct {
	redis, bridge *exec.Cmd
	bridgeAddr    string
	dir           string
}

// startLimitStore builds the bridge and starts Redis and the bridge, both killed if the
// driver dies, and waits until the bridge's /healthz says Redis answers.
func startLimitStore(work string) (*limitStore, error) {
	l := &limitStore{dir: filepath.Join(work, "redis")}
	if err := os.MkdirAll(l.dir, 0o755); err != nil {
		return nil, err
	}
	bin := filepath.Join(work, "apigw-limitd")
	build := exec.Command("go", "build", "-o", bin, "./cmd/apigw-limitd")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("building the bridge: %v", err)
	}
	redisBin, err := exec.LookPath("redis-server")
	if err != nil {
		if _, serr := os.Stat("/usr/bin/redis-server"); serr != nil {
			return nil, fmt.Errorf("redis-server is not installed (Debian: apt-get install -y redis-server; make bench does it)")
		}
		redisBin = "/usr/bin/redis-server"
	}
	redisAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	host, port, _ := net.SplitHostPort(redisAddr)
	l.redis = exec.Command(redisBin, "--bind", host, "--port", port, "--dir", l.dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--maxmemory-policy", "noeviction",
		"--daemonize", "no", "--logfile", filepath.Join(l.dir, "redis.log"))
	if l.bridgeAddr, err = freeAddr(); err != nil {
		return nil, err
	}
	l.bridge = exec.Command(bin, "-listen", l.bridgeAddr, "-redis", redisAddr)
	bridgeLog, err := os.Create(filepath.Join(work, "apigw-limitd.log"))
	if err != nil {
		return nil, err
	}
	defer bridgeLog.Close()
	l.bridge.Stdout, l.bridge.Stderr = bridgeLog, bridgeLog
	for _, c := range []*exec.Cmd{l.redis, l.bridge} {
		c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := c.Start(); err != nil {
			l.close()
			return nil, err
		}
	}
	client := &http.Client{Timeout: 500 * time.Millisecond}
	for deadline := time.Now().Add(15 * time.Second); ; {
		resp, err := client.Get("http://" + l.bridgeAddr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return l, nil
			}
		}
		if time.Now().After(deadline) {
			l.close()
			log, _ := os.ReadFile(filepath.Join(l.dir, "redis.log"))
			return nil, fmt.Errorf("the bridge's /healthz did not answer 200 within 15 s (%v); redis.log:\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func (l *limitStore) close() {
	for _, c := range []*exec.Cmd{l.bridge, l.redis} {
		if c != nil && c.Process != nil {
			c.Process.Kill()
			c.Wait()
		}
	}
}

func (l *limitStore) pids() []int { return []int{l.redis.Process.Pid, l.bridge.Process.Pid} }

// cpuTicks is the CPU time of Redis and the bridge together, in clock ticks.
func (l *limitStore) cpuTicks() int64 {
	var sum int64
	for _, pid := range l.pids() {
		t, _ := procTicks(pid)
		sum += t
	}
	return sum
}

// procTicks is the user+system CPU time of a process, in clock ticks (1/100 s).
func procTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return u + k, nil
}

// addLimitdCluster adds the bridge's cluster to (g)'s bootstrap: HTTP/1.1, one endpoint.
func addLimitdCluster(b map[string]any, addr string) {
	host, portStr, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portStr)
	sr := b["static_resources"].(map[string]any)
	sr["clusters"] = append(sr["clusters"].([]any), map[string]any{
		"name": "apigw_limitd", "type": "STATIC", "connect_timeout": "0.25s",
		"typed_extension_protocol_options": map[string]any{
			"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": map[string]any{
				"@type":                "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
				"explicit_http_config": map[string]any{"http_protocol_options": map[string]any{}},
			},
		},
		"load_assignment": map[string]any{
			"cluster_name": "apigw_limitd",
			"endpoints": []any{map[string]any{"lb_endpoints": []any{map[string]any{
				"endpoint": map[string]any{"address": map[string]any{"socket_address": map[string]any{
					"address": host, "port_value": port,
				}}},
			}}}},
		},
	})
}

// globalCounters are the plugin's apigw.limit.global.* counters of one Envoy (all its VMs).
type globalCounters map[string]int64

func (e *envoy) globalCounters() globalCounters {
	out := globalCounters{}
	body, err := e.admin("/stats?filter=^wasmcustom\\.apigw\\.limit\\.global\\.")
	if err != nil {
		return out
	}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), ": ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			out[strings.TrimPrefix(name, "wasmcustom.apigw.limit.global.")] = n
		}
	}
	return out
}

func (g globalCounters) since(before globalCounters) globalCounters {
	out := globalCounters{}
	for k, v := range g {
		out[k] = v - before[k]
	}
	return out
}

// globalResult is what (g) measured beyond the other configurations.
type globalResult struct {
	satRequests, satWaited int64
	latRequests, latWaited int64
	reports, failures      int64
	seconds                float64   // of the runs counted in reports
	storeCPU               []float64 // bridge + Redis CPU microseconds per request, per saturation run
	total                  globalCounters
	served                 int64 // every request the Envoy completed, warm-up included
}

// globalWindow starts counting (g)'s counters around one measurement of e; the function it
// returns ends the window and adds it to res. For the other configurations it does nothing.
func (r *runner) globalWindow(e *envoy, res *cfgResult) func(requests int64, seconds float64, saturation bool) {
	if !e.cfg.global || r.store == nil {
		return func(int64, float64, bool) {}
	}
	before, ticks := e.globalCounters(), r.store.cpuTicks()
	return func(requests int64, seconds float64, saturation bool) {
		d := e.globalCounters().since(before)
		g := &res.global
		if saturation {
			g.satRequests += requests
			g.satWaited += d["waited"]
			g.storeCPU = append(g.storeCPU, float64(r.store.cpuTicks()-ticks)/100*1e6/float64(max(requests, 1)))
		} else {
			g.latRequests += requests
			g.latWaited += d["waited"]
		}
		g.reports += d["reports"]
		g.failures += d["store_failures"]
		g.seconds += seconds
	}
}

// globalTotals reads (g)'s counters since its Envoy started, warm-up included.
func (r *runner) globalTotals(e *envoy, res *cfgResult) {
	if !e.cfg.global {
		return
	}
	res.global.total = e.globalCounters()
	res.global.served, _ = e.served()
}

func pct(n, of int64) string {
	if of == 0 {
		return "–"
	}
	return fmt.Sprintf("%.3f%% (%d of %d)", 100*float64(n)/float64(of), n, of)
}

// globalSection reports what (g) measured beyond the common table; "" without (g).
func (rep *report) globalSection(s settings) string {
	var b strings.Builder
	for _, conc := range s.concurrencies {
		res := rep.r.results[resultKey{conc, "g"}]
		if res == nil {
			continue
		}
		if b.Len() == 0 {
			b.WriteString("### Global limits (g): Redis through one bridge\n\n")
			b.WriteString("(g) is (c) with `\"limits\": " + globalLimits + "`; the driver runs one redis-server (append-only, fsync always) and one bridge, pinned with wrk and the upstream at --concurrency 1. Waited: requests paused for a call to the bridge (the plugin's `apigw.limit.global.waited`).\n\n")
			b.WriteString("| --concurrency | waited, saturation runs | waited, fixed-rate runs | waited since start (warm-up included) | reports/s | store failures | bridge + Redis CPU µs/req |\n|---|---|---|---|---|---|---|\n")
		}
		g := res.global
		rate := "–"
		if g.seconds > 0 {
			rate = fmt.Sprintf("%.1f", float64(g.reports)/g.seconds)
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %d | %s |\n", conc, pct(g.satWaited, g.satRequests), pct(g.latWaited, g.latRequests),
			pct(g.total["waited"], g.served), rate, g.failures, spread(g.storeCPU, "%.1f"))
	}
	if b.Len() > 0 {
		b.WriteString("\n")
	}
	return b.String()
}

// globalTargets judges issue 14's targets for (g).
func (rep *report) globalTargets(s settings) [][3]string {
	var out [][3]string
	for _, conc := range s.concurrencies {
		c, g := rep.r.results[resultKey{conc, "c"}], rep.r.results[resultKey{conc, "g"}]
		if g == nil {
			continue
		}
		if c != nil {
			ratio := median(g.cpuPerReq) / median(c.cpuPerReq)
			out = append(out, [3]string{fmt.Sprintf("c%d: (g) Envoy CPU per request within 10%% of (c)'s", conc),
				fmt.Sprintf("%.1f vs %.1f µs/req: %+.1f%%", median(g.cpuPerReq), median(c.cpuPerReq), 100*(ratio-1)), verdict(ratio <= 1.10)})
		}
		n, w := g.global.satRequests+g.global.latRequests, g.global.satWaited+g.global.latWaited
		share := float64(w) / float64(max(n, 1))
		out = append(out, [3]string{fmt.Sprintf("c%d: (g) fewer than 1%% of requests wait on Redis", conc),
			pct(w, n) + " in the measured runs", verdict(n > 0 && share < 0.01)})
	}
	return out
}

// globalPIDs are the processes of (g)'s store, for pinning; none without it.
func (r *runner) globalPIDs() []int {
	if r.store == nil {
		return nil
	}
	return slices.Clone(r.store.pids())
}
