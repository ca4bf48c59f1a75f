// Command run is what `make run` starts: the demo upstream (demo/upstream) and Envoy, through
// func-e, with envoy-examples/envoy.yaml and the built module. It makes the example's TLS
// certificate when missing, waits until Envoy is ready, prints what to try
// (envoy-examples/try.txt), and on Ctrl-C or SIGTERM stops both and waits for them to exit.
// Run it from the repository root: envoy.yaml's paths are relative to it.
package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"net"
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
}

func main() {
	var o options
	flag.StringVar(&o.config, "config", "envoy-examples/envoy.yaml", "Envoy configuration")
	flag.StringVar(&o.wasm, "wasm", "build/apigw.wasm", "the module envoy.yaml loads (checked only)")
	flag.StringVar(&o.try, "try", "envoy-examples/try.txt", "what to print once Envoy is ready")
	flag.StringVar(&o.upstream, "upstream", "build/bin/upstream", "demo upstream binary")
	// The address of the cluster "demo" in envoy.yaml.
	flag.StringVar(&o.upAddr, "upstream-addr", "127.0.0.1:18000", "demo upstream listen address")
	flag.StringVar(&o.certDir, "certs", "build/.cache/certs", "where the TLS certificate is made (envoy.yaml reads it there)")
	flag.StringVar(&o.names, "names", strings.Join(defaultNames, ","), "names the TLS certificate covers")
	flag.StringVar(&o.logLevel, "log-level", "warning", "Envoy log level; the plugin's lines (component wasm) show at info")
	flag.StringVar(&o.concurrency, "concurrency", "2", "Envoy worker threads")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "run:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	for _, f := range []string{o.config, o.wasm, o.upstream} {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("%v (run it from the repository root, after make build)", err)
		}
	}
	if err := ensureCert(o.certDir, strings.Split(o.names, ",")); err != nil {
		return fmt.Errorf("certificate: %v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go stopWithParent(ctx, stop)

	up := exec.Command(o.upstream, "-addr", o.upAddr)
	up.Stdout, up.Stderr = os.Stdout, os.Stderr
	up.SysProcAttr = childAttr()
	if err := up.Start(); err != nil {
		return err
	}
	upDone := make(chan error, 1)
	go func() { upDone <- up.Wait() }()
	defer stopUpstream(up, upDone)
	if err := waitTCP(ctx, o.upAddr, upDone); err != nil {
		return fmt.Errorf("demo upstream: %v", err)
	}

	tmp, err := os.MkdirTemp("", "apigw-run-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	concurrency, err := strconv.Atoi(o.concurrency)
	if err != nil {
		return fmt.Errorf("-concurrency: %v", err)
	}
	started := make(chan *envoyproc.Process, 1)
	startErr := make(chan error, 1)
	go func() {
		p, err := envoyproc.Start(envoyproc.Options{
			Config: o.config, Dir: tmp, Concurrency: concurrency, LogLevel: o.logLevel,
			Args:      []string{"--component-log-level", "wasm:info"},
			EnvoyPath: os.Getenv("ENVOY_PATH"), Out: os.Stdout, Err: os.Stderr,
		})
		started <- p
		startErr <- err
	}()
	var proc *envoyproc.Process
	select {
	case proc = <-started:
	case <-ctx.Done():
		proc = <-started // Start returns within its ready timeout
	}
	defer func() {
		if !proc.Stop(15 * time.Second) {
			fmt.Fprintln(os.Stderr, "run: Envoy did not exit")
		}
	}()
	if err := <-startErr; err != nil {
		return err
	}
	if ctx.Err() != nil {
		return nil
	}
	adminURL := proc.AdminURL
	admin := strings.TrimPrefix(adminURL, "http://")
	banner(o, admin)

	select {
	case <-ctx.Done():
		fmt.Fprintln(os.Stderr, "\nrun: stopping")
		return nil
	case <-proc.Done():
		return fmt.Errorf("Envoy exited: %v", proc.Err())
	case err := <-upDone:
		upDone <- err
		return fmt.Errorf("demo upstream exited: %v", err)
	}
}

func waitTCP(ctx context.Context, addr string, done chan error) error {
	for range 200 {
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-done:
			done <- err
			return fmt.Errorf("exited: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s not listening after 10s", addr)
}

// stopUpstream asks the demo upstream to stop, then kills it if it lingers.
func stopUpstream(cmd *exec.Cmd, done chan error) {
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

func banner(o options, admin string) {
	var b strings.Builder
	b.WriteString("\napigw-wasm is running; Ctrl-C stops it.\n")
	for _, l := range listeners(admin) {
		fmt.Fprintf(&b, "  %-6s %s\n", l[0], l[1])
	}
	fmt.Fprintf(&b, "  %-6s http://%s\n", "admin", admin)
	fmt.Fprintf(&b, "  %-6s http://%s (cluster demo)\n", "demo", o.upAddr)
	fmt.Fprintf(&b, "  HTTPS certificate authority: %s\n", filepath.Join(o.certDir, "ca.crt"))
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
