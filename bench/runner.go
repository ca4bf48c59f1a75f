package main

import (
	"bufio"
	"fmt"
	"github.com/apigw-wasm/apigw-wasm/bench/benchcfg"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type resultKey struct {
	conc int
	id   string
}

// cfgResult is everything measured of one configuration at one concurrency.
type cfgResult struct {
	readyIn     time.Duration
	pluginLoads []time.Duration
	apis        int
	rssWarm     int64 // KiB, after the warm-up
	sat         []wrkResult
	cpuPerReq   []float64 // Envoy CPU microseconds per request, per saturation run
	busy        []float64 // Envoy CPU use during the run, in cores
	lat         []latResult

	growthDone  bool
	rssBefore   int64 // KiB, at the start of the growth measurement (= rssWarm)
	rssAfter    int64
	servedAfter int64
	growthTime  time.Duration

	perfDSO []string // "share dso" lines of perf report, when -perf
	perfSym []string

	global globalResult // (g) only
}

type runner struct {
	s            settings
	work         string
	ownWork      bool
	upstream     *exec.Cmd
	upstreamAddr string
	store        *limitStore // Redis and the bridge of (g), when it runs
	envoyVersion string
	wasmSize     int64
	modules      map[string]string // package -> module file, for attribution configurations
	altNames     []string          // -alt-wasm as given
	results      map[resultKey]*cfgResult
	loads        []string // /proc/loadavg when each phase starts and ends: how busy the machine was
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func newRunner(s settings) (*runner, error) {
	s.altWasm = slices.Clone(s.altWasm)
	r := &runner{s: s, results: map[resultKey]*cfgResult{}, modules: map[string]string{}}
	st, err := os.Stat(s.wasm)
	if err != nil {
		return nil, fmt.Errorf("wasm module: %v (run make build)", err)
	}
	r.wasmSize = st.Size()
	if r.s.wasm, err = filepath.Abs(s.wasm); err != nil {
		return nil, err
	}
	if r.s.envoy, r.envoyVersion, err = findEnvoy(s.envoy); err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		return nil, fmt.Errorf("wrk is not installed (Debian: apt-get install -y wrk; make bench does it)")
	}
	if s.keep != "" {
		r.work = s.keep
		err = os.MkdirAll(r.work, 0o755)
	} else {
		r.work, err = os.MkdirTemp("", "apigw-bench-")
		r.ownWork = true
	}
	if err != nil {
		return nil, err
	}
	// Envoy reads a copy: a rebuild during the run (others work in this tree) cannot change it.
	wasmCopy := filepath.Join(r.work, "apigw.wasm")
	if b, err := os.ReadFile(r.s.wasm); err != nil {
		r.close()
		return nil, err
	} else if err := os.WriteFile(wasmCopy, b, 0o644); err != nil {
		r.close()
		return nil, err
	}
	r.s.wasm = wasmCopy
	r.altNames = slices.Clone(s.altWasm)
	for i, alt := range s.altWasm {
		altCopy := filepath.Join(r.work, fmt.Sprintf("alt%d.wasm", i+1))
		if b, err := os.ReadFile(alt); err != nil {
			r.close()
			return nil, err
		} else if err := os.WriteFile(altCopy, b, 0o644); err != nil {
			r.close()
			return nil, err
		}
		r.s.altWasm[i] = altCopy
	}
	for _, id := range s.configs {
		c := configByID(id)
		if c.module == "" || r.modules[c.module] != "" {
			continue
		}
		out := filepath.Join(r.work, strings.TrimSuffix(filepath.Base(c.module), ".wat")+".wasm")
		if err := buildModule(c.module, out); err != nil {
			r.close()
			return nil, err
		}
		r.modules[c.module] = out
	}
	if err := r.startUpstream(); err != nil {
		r.close()
		return nil, err
	}
	if slices.ContainsFunc(s.configs, func(id string) bool { return configByID(id).global }) {
		if r.store, err = startLimitStore(r.work); err != nil {
			r.close()
			return nil, err
		}
		r.s.limitd = r.store.bridgeAddr
	}
	return r, nil
}

// findEnvoy is the Envoy binary to run (path, else build/envoy.sh's answer; empty: func-e
// downloads one) and its version, when it can tell.
func findEnvoy(path string) (bin, version string, err error) {
	if path == "" {
		out, err := exec.Command("bash", "build/envoy.sh").Output()
		if err != nil {
			return "", "", fmt.Errorf("build/envoy.sh: %v", err)
		}
		path = strings.TrimSpace(string(out))
	}
	if path != "" {
		if out, err := exec.Command(path, "--version").Output(); err == nil {
			version = strings.TrimSpace(string(out))
			if i := strings.Index(version, "version: "); i >= 0 {
				version = version[i+len("version: "):]
			}
		}
	}
	return path, version, nil
}

// buildModule builds a proxy-wasm module: a Go package with upstream Go, or a module in
// WebAssembly text (.wat) with wabt's wat2wasm (make bench installs it when missing).
func buildModule(pkg, out string) error {
	cmd := exec.Command("go", "run", "./build/wasmbuild", "-o", out, pkg)
	if strings.HasSuffix(pkg, ".wat") {
		if _, err := exec.LookPath("wat2wasm"); err != nil {
			return fmt.Errorf("building %s: wat2wasm is not installed (Debian: apt-get install -y wabt; make bench does it)", pkg)
		}
		cmd = exec.Command("wat2wasm", pkg, "-o", out)
	}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building %s: %v", pkg, err)
	}
	return nil
}

func (r *runner) startUpstream() error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "upstream", "-addr", "127.0.0.1:0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	r.upstream = cmd
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return fmt.Errorf("upstream did not start: %v", err)
	}
	r.upstreamAddr = strings.TrimSpace(line)
	return nil
}

func (r *runner) close() {
	if r.store != nil {
		r.store.close()
	}
	if r.upstream != nil && r.upstream.Process != nil {
		r.upstream.Process.Kill()
		r.upstream.Wait()
	}
	if r.ownWork {
		os.RemoveAll(r.work)
	}
}

// setAffinity pins a process (all its threads) to cpus.
func setAffinity(pid int, cpus string) {
	if out, err := exec.Command("taskset", "-a", "-c", "-p", cpus, strconv.Itoa(pid)).CombinedOutput(); err != nil {
		logf("taskset %s %d: %v: %s", cpus, pid, err, out)
	}
}

func (r *runner) run() (*report, error) {
	start := time.Now()
	for _, conc := range r.s.concurrencies {
		if err := r.phase(conc); err != nil {
			return nil, err
		}
	}
	logf("done in %v", time.Since(start).Round(time.Second))
	return &report{r: r, took: time.Since(start)}, nil
}

// phase measures every configuration at one Envoy concurrency. The Envoys all run at once and
// each measurement visits them in turn, round after round, so that slow drifts of a shared
// machine spread over all configurations instead of landing on one.
func (r *runner) phase(conc int) error {
	r.loads = append(r.loads, fmt.Sprintf("c%d start %s", conc, loadavg()))
	defer func() { r.loads = append(r.loads, fmt.Sprintf("c%d end %s", conc, loadavg())) }()
	pinned := conc == 1 && r.s.pin
	others, envoyCPUs := "0,1", ""
	if pinned {
		others, envoyCPUs = "0", "1"
	}
	setAffinity(os.Getpid(), others)
	setAffinity(r.upstream.Process.Pid, others)
	for _, pid := range r.globalPIDs() {
		setAffinity(pid, others)
	}
	wrkCPUs := ""
	if pinned {
		wrkCPUs = "0"
	}

	var envoys []*envoy
	defer func() {
		for _, e := range envoys {
			// Workers may log their load after /ready: read the lines again at the end.
			if res := r.results[resultKey{conc, e.cfg.id}]; res != nil {
				res.pluginLoads, res.apis = e.pluginLoads()
			}
			e.stop()
		}
	}()
	for _, id := range r.s.configs {
		c := configByID(id)
		logf("c%d: starting Envoy with (%s)", conc, id)
		wasm := r.s.wasm
		var err error
		switch {
		case c.module != "":
			wasm = r.modules[c.module]
		case c.alt > 0:
			if c.alt > len(r.s.altWasm) {
				return fmt.Errorf("configuration (%s) needs a module %d in -alt-wasm", c.id, c.alt)
			}
			wasm = r.s.altWasm[c.alt-1]
		}
		e, err := startEnvoy(c, conc, r.s, filepath.Join(r.work, fmt.Sprintf("c%d-%s", conc, id)), r.upstreamAddr, wasm)
		if err != nil {
			return err
		}
		envoys = append(envoys, e)
		if envoyCPUs != "" {
			if err := e.pin(envoyCPUs); err != nil {
				return err
			}
		}
		res := &cfgResult{readyIn: e.readyIn}
		res.pluginLoads, res.apis = e.pluginLoads()
		r.results[resultKey{conc, id}] = res
		h, err := benchcfg.SignedHeaders(time.Now())
		if err != nil {
			return err
		}
		if err := check(e, h); err != nil {
			return fmt.Errorf("sanity check: %v", err)
		}
	}
	for _, e := range envoys {
		h, _ := benchcfg.SignedHeaders(time.Now())
		if _, err := runWrk(e, h, max(r.s.warmup, time.Second), r.s.connections, wrkCPUs); err != nil {
			return err
		}
		res := r.results[resultKey{conc, e.cfg.id}]
		var err error
		if res.rssWarm, err = e.rssKiB(); err != nil {
			return err
		}
	}
	// Saturation: wrk, with Envoy's own CPU time read around each run.
	for round := 0; round < r.s.runs; round++ {
		for k := range envoys {
			e := envoys[(k+round)%len(envoys)]
			res := r.results[resultKey{conc, e.cfg.id}]
			h, err := benchcfg.SignedHeaders(time.Now())
			if err != nil {
				return err
			}
			t0, err := e.cpuTicks()
			if err != nil {
				return err
			}
			window := r.globalWindow(e, res)
			w, err := runWrk(e, h, r.s.satDuration, r.s.connections, wrkCPUs)
			if err != nil {
				return err
			}
			t1, err := e.cpuTicks()
			if err != nil {
				return err
			}
			if w.bad > 0 {
				return fmt.Errorf("(%s) c%d: %d of %d requests failed under load", e.cfg.id, conc, w.bad, w.requests)
			}
			cpu := float64(t1-t0) / 100 // seconds
			window(w.requests, w.seconds, true)
			res.sat = append(res.sat, w)
			res.cpuPerReq = append(res.cpuPerReq, cpu*1e6/float64(w.requests))
			res.busy = append(res.busy, cpu/w.seconds)
			logf("c%d (%s) round %d: %.0f req/s, Envoy %.1f µs CPU/req, %.2f cores", conc, e.cfg.id, round+1,
				w.rps, cpu*1e6/float64(w.requests), cpu/w.seconds)
		}
	}
	if r.s.perf {
		for _, e := range envoys {
			if err := r.profile(e, wrkCPUs); err != nil {
				return err
			}
		}
	}
	// Latency at a fixed rate.
	for round := 0; round < r.s.runs; round++ {
		for k := range envoys {
			e := envoys[(k+round)%len(envoys)]
			res := r.results[resultKey{conc, e.cfg.id}]
			h, err := benchcfg.SignedHeaders(time.Now())
			if err != nil {
				return err
			}
			window := r.globalWindow(e, res)
			l, err := fixedRate(e.listenAddr, rawRequest(h), r.s.rate, r.s.latDuration, r.s.latConns)
			if err != nil {
				return fmt.Errorf("(%s) c%d fixed rate: %v", e.cfg.id, conc, err)
			}
			res.lat = append(res.lat, l)
			window(int64(l.sent), r.s.latDuration.Seconds(), false)
			logf("c%d (%s) round %d at %d req/s: p50 %v p99 %v", conc, e.cfg.id, round+1, r.s.rate,
				l.p50.Round(time.Microsecond), l.p99.Round(time.Microsecond))
		}
	}
	for _, e := range envoys {
		r.globalTotals(e, r.results[resultKey{conc, e.cfg.id}])
	}
	if conc == r.s.growthConc && r.s.growth > 0 {
		for _, e := range envoys {
			if !slices.Contains(r.s.growthConfigs, e.cfg.id) {
				continue
			}
			if err := r.grow(e, r.results[resultKey{conc, e.cfg.id}], wrkCPUs); err != nil {
				return err
			}
		}
	}
	return nil
}

// grow tops an Envoy up to s.growth served requests (bounded by s.growthTimeout) and reads its
// memory again.
func (r *runner) grow(e *envoy, res *cfgResult, wrkCPUs string) error {
	start := time.Now()
	rps := median(rpsOf(res.sat))
	for {
		served, err := e.served()
		if err != nil {
			return err
		}
		left := r.s.growth - served
		remaining := r.s.growthTimeout - time.Since(start)
		if left <= 0 || remaining < time.Second {
			res.servedAfter = served
			break
		}
		d := time.Duration(float64(left)/max(rps, 1)*float64(time.Second)) + time.Second
		d = min(d, remaining, 30*time.Second).Truncate(time.Second)
		logf("c%d (%s) growth: %d served, %v more", e.concurrency, e.cfg.id, served, d)
		h, err := benchcfg.SignedHeaders(time.Now())
		if err != nil {
			return err
		}
		w, err := runWrk(e, h, d, r.s.connections, wrkCPUs)
		if err != nil {
			return err
		}
		if w.bad > 0 {
			return fmt.Errorf("(%s) growth: %d requests failed", e.cfg.id, w.bad)
		}
		if w.rps > 0 {
			rps = w.rps
		}
	}
	var err error
	res.growthDone = true
	res.growthTime = time.Since(start)
	res.rssBefore = res.rssWarm
	res.rssAfter, err = e.rssKiB()
	logf("c%d (%s) growth: RSS %d -> %d KiB after %d requests", e.concurrency, e.cfg.id, res.rssBefore, res.rssAfter, res.servedAfter)
	return err
}

// profile samples Envoy's CPU with perf (cpu-clock, the software event: this machine has no
// hardware counters) during one more saturation run, not counted in the results, and keeps
// perf's split by shared object and its top symbols. Envoy's binary is stripped, so its own
// code shows as one object; the wasm module's code, compiled by V8 at run time, has no object
// and shows as perf-<pid>.map, [JIT] or [unknown].
func (r *runner) profile(e *envoy, wrkCPUs string) error {
	data := filepath.Join(e.dir, "perf.data")
	secs := strconv.Itoa(int(r.s.satDuration.Seconds()))
	perf := exec.Command("perf", "record", "-e", "cpu-clock", "-F", "2999", "-o", data, "-p", strconv.Itoa(e.pid), "--", "sleep", secs)
	perfOut, err := os.Create(filepath.Join(e.dir, "perf.log"))
	if err != nil {
		return err
	}
	defer perfOut.Close()
	perf.Stdout, perf.Stderr = perfOut, perfOut
	if err := perf.Start(); err != nil {
		return fmt.Errorf("perf: %v", err)
	}
	h, _ := benchcfg.SignedHeaders(time.Now())
	_, werr := runWrk(e, h, r.s.satDuration, r.s.connections, wrkCPUs)
	if err := perf.Wait(); err != nil {
		logf("perf record (%s): %v (see %s)", e.cfg.id, err, perfOut.Name())
	}
	if werr != nil {
		return werr
	}
	res := r.results[resultKey{e.concurrency, e.cfg.id}]
	report := func(sort string, n int) []string {
		out, err := exec.Command("perf", "report", "-i", data, "--stdio", "--sort", sort, "--percent-limit", "0.5").Output()
		if err != nil {
			logf("perf report (%s): %v", e.cfg.id, err)
			return nil
		}
		var lines []string
		for _, l := range strings.Split(string(out), "\n") {
			if l = strings.TrimSpace(l); l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			lines = append(lines, strings.Join(strings.Fields(l), " "))
			if len(lines) == n {
				break
			}
		}
		return lines
	}
	res.perfDSO = report("dso", 8)
	res.perfSym = report("dso,sym", 12)
	logf("c%d (%s) perf: %s", e.concurrency, e.cfg.id, strings.Join(res.perfDSO, "; "))
	return nil
}

func rpsOf(ws []wrkResult) []float64 {
	out := make([]float64, len(ws))
	for i, w := range ws {
		out[i] = w.rps
	}
	return out
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
