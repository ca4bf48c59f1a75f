// Command run is what `make run` and `make run-cluster` start. `make run`: the demo upstream
// (demo/upstream) and Envoy, through func-e, with envoy-examples/envoy.yaml and the built module.
// `make run-cluster` (-cluster): the cluster-wide limits of docs/limits.md on one machine — a
// redis-server with its data in build/.cache/redis, two bridges (cmd/apigw-limitd) to it, the
// demo upstream, and two Envoys (envoy-examples/cluster/) that share one usage plan through
// them. It makes the example's TLS certificate when missing, waits until everything is ready,
// prints what to try (envoy-examples/try.txt or try-cluster.txt), and on Ctrl-C or SIGTERM stops
// everything, Envoys first, and waits for each to exit. Run it from the repository root: the
// Envoy configurations' paths are relative to it.
package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/apigw-wasm/apigw-wasm/testkit/envoyproc"
)

type options struct {
	config, wasm, try     string
	upstream, upAddr      string
	certDir, names        string
	logLevel, concurrency string

	cluster             bool
	limitd, bridges     string
	redisBin, redisAddr string
	redisDir            string
}

// The defaults of the cluster mode: what envoy-examples/cluster/envoy-*.yaml expect.
const (
	clusterConfigs = "envoy-examples/cluster/envoy-a.yaml,envoy-examples/cluster/envoy-b.yaml"
	clusterTry     = "envoy-examples/try-cluster.txt"
)

func main() {
	var o options
	flag.StringVar(&o.config, "config", "envoy-examples/envoy.yaml", "Envoy configuration; comma-separated for several Envoys (-cluster: "+clusterConfigs+")")
	flag.StringVar(&o.wasm, "wasm", "build/apigw.wasm", "the module the configurations load (checked only)")
	flag.StringVar(&o.try, "try", "envoy-examples/try.txt", "what to print once everything is ready (-cluster: "+clusterTry+")")
	flag.StringVar(&o.upstream, "upstream", "build/bin/upstream", "demo upstream binary")
	// The address of the cluster "demo" in the Envoy configurations.
	flag.StringVar(&o.upAddr, "upstream-addr", "127.0.0.1:18000", "demo upstream listen address")
	flag.StringVar(&o.certDir, "certs", "build/.cache/certs", "where the TLS certificate is made (envoy.yaml reads it there)")
	flag.StringVar(&o.names, "names", strings.Join(defaultNames, ","), "names the TLS certificate covers")
	flag.StringVar(&o.logLevel, "log-level", "warning", "Envoy log level; the plugin's lines (component wasm) show at info")
	flag.StringVar(&o.concurrency, "concurrency", "2", "Envoy worker threads")
	flag.BoolVar(&o.cluster, "cluster", false, "also start Redis and the bridges, and by default the two Envoys of envoy-examples/cluster/")
	flag.StringVar(&o.limitd, "limitd", "build/bin/apigw-limitd", "bridge binary (-cluster)")
	// The endpoints of the cluster apigw_limitd in envoy-examples/cluster/.
	flag.StringVar(&o.bridges, "bridges", "127.0.0.1:8090,127.0.0.1:8091", "listen addresses of the bridges, comma-separated (-cluster)")
	flag.StringVar(&o.redisBin, "redis-server", "redis-server", "redis-server binary (-cluster; make redis installs Debian's)")
	// Not 6379: a redis-server installed by apt may already serve there.
	flag.StringVar(&o.redisAddr, "redis", "127.0.0.1:6380", "address redis-server listens on (-cluster)")
	flag.StringVar(&o.redisDir, "redis-dir", "build/.cache/redis", "Redis's data: the append-only file that keeps the counts across runs (-cluster)")
	flag.Parse()
	if o.cluster {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["config"] {
			o.config = clusterConfigs
		}
		if !set["try"] {
			o.try = clusterTry
		}
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "run:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	configs := strings.Split(o.config, ",")
	need := append([]string{o.wasm, o.upstream}, configs...)
	if o.cluster {
		need = append(need, o.limitd)
	}
	for _, f := range need {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("%v (run it from the repository root, after make build)", err)
		}
	}
	concurrency, err := strconv.Atoi(o.concurrency)
	if err != nil {
		return fmt.Errorf("-concurrency: %v", err)
	}
	if err := ensureCert(o.certDir, strings.Split(o.names, ",")); err != nil {
		return fmt.Errorf("certificate: %v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go stopWithParent(ctx, stop)

	// Every child but Envoy reports here when it exits; deferred stops run in reverse order, so
	// the Envoys stop first (their last reports can still reach the bridges), Redis last.
	exited := make(chan *child, 2+len(strings.Split(o.bridges, ",")))
	var redisLog string
	var bridges []*child
	if o.cluster {
		redis, log, err := startRedis(ctx, o, exited)
		if redis != nil {
			defer redis.stop()
		}
		if err != nil {
			return err
		}
		redisLog = log
		for i, addr := range strings.Split(o.bridges, ",") {
			b, err := startChild(fmt.Sprintf("bridge %d", i+1), exited, o.limitd, "-listen", addr, "-redis", o.redisAddr)
			if err != nil {
				return err
			}
			defer b.stop()
			// The Envoys send a dead bridge's calls to the others: try-cluster.txt kills one.
			b.optional = true
			bridges = append(bridges, b)
			if err := waitHealthy(ctx, "http://"+addr+"/healthz", b); err != nil {
				return fmt.Errorf("bridge on %s: %v", addr, err)
			}
		}
	}
	up, err := startChild("demo upstream", exited, o.upstream, "-addr", o.upAddr)
	if err != nil {
		return err
	}
	defer up.stop()
	if err := waitTCP(ctx, o.upAddr, up); err != nil {
		return fmt.Errorf("demo upstream: %v", err)
	}

	tmp, err := os.MkdirTemp("", "apigw-run-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	envoys, err := startEnvoys(ctx, o, configs, concurrency, tmp)
	defer func() {
		for _, e := range envoys {
			if !e.proc.Stop(15 * time.Second) {
				fmt.Fprintf(os.Stderr, "run: Envoy %s did not exit\n", e.name)
			}
		}
	}()
	if err != nil || ctx.Err() != nil {
		return err
	}
	banner(o, envoys, bridges, redisLog)

	envoyDone := make(chan *envoy, len(envoys))
	for _, e := range envoys {
		go func() { <-e.proc.Done(); envoyDone <- e }()
	}
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(os.Stderr, "\nrun: stopping")
			return nil
		case e := <-envoyDone:
			return fmt.Errorf("Envoy %s exited: %v", e.name, e.proc.Err())
		case c := <-exited:
			if !c.optional {
				return fmt.Errorf("%s exited: %v", c.name, c.err)
			}
			why := ""
			if c.err != nil {
				why = ": " + c.err.Error()
			}
			fmt.Fprintf(os.Stderr, "run: %s exited%s; the Envoys send its calls to the other bridges\n", c.name, why)
		}
	}
}

// envoy is one started Envoy and the name it is shown by (its configuration's file name).
type envoy struct {
	name string
	proc *envoyproc.Process
}

// startEnvoys starts one Envoy per configuration, all at once, and waits until each is ready or
// has failed. It returns every Envoy that ran, for the caller to stop, also on an error.
func startEnvoys(ctx context.Context, o options, configs []string, concurrency int, tmp string) ([]*envoy, error) {
	type result struct {
		e   *envoy
		err error
	}
	results := make(chan result, len(configs))
	for i, config := range configs {
		dir := filepath.Join(tmp, strconv.Itoa(i))
		name := strings.TrimSuffix(filepath.Base(config), filepath.Ext(config))
		go func() {
			if err := os.Mkdir(dir, 0o755); err != nil {
				results <- result{err: err}
				return
			}
			p, err := envoyproc.Start(envoyproc.Options{
				Config: config, Dir: dir, Concurrency: concurrency, LogLevel: o.logLevel,
				Args:      []string{"--component-log-level", "wasm:info"},
				EnvoyPath: os.Getenv("ENVOY_PATH"), Out: os.Stdout, Err: os.Stderr,
			})
			if p == nil {
				results <- result{err: err}
				return
			}
			if err != nil && len(configs) > 1 {
				err = fmt.Errorf("%s: %v", name, err)
			}
			results <- result{&envoy{name, p}, err}
		}()
	}
	// Start returns within its ready timeout, also after Ctrl-C: wait for every one.
	var envoys []*envoy
	var firstErr error
	for range configs {
		r := <-results
		if r.e != nil {
			envoys = append(envoys, r.e)
		}
		if r.err != nil && firstErr == nil {
			firstErr = r.err
		}
	}
	slices.SortFunc(envoys, func(a, b *envoy) int { return strings.Compare(a.name, b.name) })
	return envoys, firstErr
}

// child is a process this one started and stops: the demo upstream, a bridge, Redis.
type child struct {
	name     string
	cmd      *exec.Cmd
	done     chan struct{} // closed when it has exited; err is then its result
	err      error
	optional bool // its exit does not stop everything
}

// startChild starts bin with args; when it exits, for whatever reason, it is sent on exited.
func startChild(name string, exited chan<- *child, bin string, args ...string) (*child, error) {
	c := &child{name: name, cmd: exec.Command(bin, args...), done: make(chan struct{})}
	c.cmd.Stdout, c.cmd.Stderr = os.Stdout, os.Stderr
	c.cmd.SysProcAttr = childAttr()
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
		exited <- c
	}()
	return c, nil
}

// stop asks the child to stop (SIGTERM), then kills it if it lingers.
func (c *child) stop() {
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		fmt.Fprintf(os.Stderr, "run: %s did not stop: killing it\n", c.name)
		c.cmd.Process.Kill()
		<-c.done
	}
}

// startRedis starts redis-server on o.redisAddr with its data in o.redisDir, persisted as
// docs/limits.md advises: every acknowledged write is in the append-only file before the
// answer, and nothing is ever evicted. It returns the server and its log file.
func startRedis(ctx context.Context, o options, exited chan<- *child) (*child, string, error) {
	bin, err := exec.LookPath(o.redisBin)
	if err != nil && o.redisBin == "redis-server" {
		// Debian's package installs it in /usr/bin, which a restricted PATH may lack.
		bin, err = "/usr/bin/redis-server", nil
		if _, serr := os.Stat(bin); serr != nil {
			err = serr
		}
	}
	if err != nil {
		return nil, "", fmt.Errorf("redis-server not found (make redis installs it: apt-get install -y redis-server): %v", err)
	}
	host, port, err := net.SplitHostPort(o.redisAddr)
	if err != nil {
		return nil, "", fmt.Errorf("-redis: %v", err)
	}
	dir, err := filepath.Abs(o.redisDir)
	if err != nil {
		return nil, "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	log := filepath.Join(dir, "redis.log")
	c, err := startChild("redis-server", exited, bin,
		"--bind", host, "--port", port, "--dir", dir, "--logfile", log, "--daemonize", "no",
		"--appendonly", "yes", "--appendfsync", "always", "--save", "",
		"--maxmemory-policy", "noeviction")
	if err != nil {
		return nil, "", err
	}
	if err := waitTCP(ctx, o.redisAddr, c); err != nil {
		tail, _ := os.ReadFile(log)
		return c, "", fmt.Errorf("redis-server on %s: %v\n%s", o.redisAddr, err, lastLines(string(tail), 10))
	}
	return c, log, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// waitTCP waits until addr accepts connections, while c runs.
func waitTCP(ctx context.Context, addr string, c *child) error {
	return waitFor(ctx, addr, c, func() bool {
		conn, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			conn.Close()
		}
		return err == nil
	})
}

// waitHealthy waits until url answers 200, while c runs.
func waitHealthy(ctx context.Context, url string, c *child) error {
	client := &http.Client{Timeout: 500 * time.Millisecond}
	return waitFor(ctx, url, c, func() bool {
		resp, err := client.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

func waitFor(ctx context.Context, what string, c *child, ready func() bool) error {
	for range 200 {
		if ready() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.done:
			return fmt.Errorf("exited: %v", c.err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s not ready after 10s", what)
}

func banner(o options, envoys []*envoy, bridges []*child, redisLog string) {
	var b strings.Builder
	b.WriteString("\napigw-wasm is running; Ctrl-C stops it.\n")
	https := false
	for _, e := range envoys {
		admin := strings.TrimPrefix(e.proc.AdminURL, "http://")
		prefix := ""
		if len(envoys) > 1 {
			prefix = e.name + " "
		}
		for _, l := range listeners(admin) {
			https = https || strings.HasPrefix(l[1], "https:")
			fmt.Fprintf(&b, "  %-14s %s\n", prefix+l[0], l[1])
		}
		fmt.Fprintf(&b, "  %-14s http://%s\n", prefix+"admin", admin)
	}
	if o.cluster {
		var urls []string
		for i, a := range strings.Split(o.bridges, ",") {
			urls = append(urls, fmt.Sprintf("http://%s (pid %d)", a, bridges[i].cmd.Process.Pid))
		}
		fmt.Fprintf(&b, "  %-14s %s, cluster apigw_limitd\n", "bridges", strings.Join(urls, ", "))
		fmt.Fprintf(&b, "  %-14s %s (append-only, fsync always; log %s)\n", "redis", o.redisAddr, redisLog)
	}
	fmt.Fprintf(&b, "  %-14s http://%s (cluster demo)\n", "demo", o.upAddr)
	if https {
		fmt.Fprintf(&b, "  HTTPS certificate authority: %s\n", filepath.Join(o.certDir, "ca.crt"))
	}
	if try, err := os.ReadFile(o.try); err == nil {
		fmt.Fprintf(&b, "\nTry:\n%s", try)
	}
	fmt.Println(b.String())
}

// listeners reads the listeners' names and addresses from the admin API.
func listeners(admin string) [][2]string {
	ls, err := envoyproc.Listeners("http://" + admin)
	if err != nil {
		return nil
	}
	var out [][2]string
	for _, name := range slices.Sorted(maps.Keys(ls)) {
		scheme := "http"
		if name == "https" {
			scheme = "https"
		}
		out = append(out, [2]string{name, scheme + "://" + ls[name]})
	}
	return out
}

// stopWithParent stops everything when the process that started this one (make) goes away
// without passing a signal on, e.g. when only make is sent SIGTERM.
func stopWithParent(ctx context.Context, stop func()) {
	parent := os.Getppid()
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if os.Getppid() != parent {
				fmt.Fprintln(os.Stderr, "run: parent process gone; stopping")
				stop()
				return
			}
		}
	}
}
