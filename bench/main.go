// Command bench measures what the plugin costs inside Envoy, side by side with Envoy alone, the
// floor of any proxy-wasm module, an empty Go module and Envoy's native local_ratelimit filter
// (issues 7 and 15). `make bench` runs it; see docs/performance.md for what it measures and
// how to read the report.
//
//	go run ./bench [flags]            the side-by-side run; the report goes to stdout (and -out)
//	go run ./bench size [flags]       the wasm module's size, per Go package
//	go run ./bench v8prof FILE        a V8 CPU profile of the wasm code, per function
//	go run ./bench hostcalls [flags]  the host calls one request of (b) and (c) makes (wazero, no Envoy)
//	go run ./bench calib [flags]      the time of single host calls inside Envoy (plugins/calib)
//	go run ./bench pgo [flags]        the request path's CPU profile for PGO, into plugin/default.pgo
//	go run ./bench v8host [flags] M…  builds of the module compared in V8 (Node.js), without Envoy
//	go run ./bench upstream -addr A   the upstream server the run starts (internal)
//
// Every configuration is a separate Envoy, started through func-e's Go library as the tests do,
// in front of one upstream process shared by all of them. Saturation throughput comes from wrk
// (Debian's wrk 4.1, installed when missing); latency at a fixed rate comes from this program's
// own open-loop client (wrk is closed-loop and Debian has no wrk2). All traffic goes to
// 127.0.0.1, and every load is bounded in time.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "upstream":
			upstreamMain(os.Args[2:])
			return
		case "v8prof":
			if err := v8profMain(os.Args[2:]); err != nil {
				fmt.Fprintln(os.Stderr, "bench v8prof:", err)
				os.Exit(1)
			}
			return
		case "hostcalls":
			if err := hostcallsMain(os.Args[2:]); err != nil {
				fmt.Fprintln(os.Stderr, "bench hostcalls:", err)
				os.Exit(1)
			}
			return
		case "calib":
			if err := calibMain(os.Args[2:]); err != nil {
				fmt.Fprintln(os.Stderr, "bench calib:", err)
				os.Exit(1)
			}
			return
		case "pgo":
			if err := pgoMain(os.Args[2:]); err != nil {
				fmt.Fprintln(os.Stderr, "bench pgo:", err)
				os.Exit(1)
			}
			return
		case "v8host":
			if err := v8hostMain(os.Args[2:]); err != nil {
				fmt.Fprintln(os.Stderr, "bench v8host:", err)
				os.Exit(1)
			}
			return
		case "size":
			if err := sizeMain(os.Args[2:]); err != nil {
				fmt.Fprintln(os.Stderr, "bench size:", err)
				os.Exit(1)
			}
			return
		}
	}
	if err := runMain(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// settings are the run's knobs; quick mode shrinks them.
type settings struct {
	wasm          string
	altWasm       []string
	envoy         string
	concurrencies []int
	configs       []string
	runs          int
	satDuration   time.Duration
	latDuration   time.Duration
	warmup        time.Duration
	rate          int
	connections   int
	latConns      int
	growth        int64
	growthConfigs []string
	growthTimeout time.Duration
	growthConc    int
	apis          int
	pin           bool
	perf          bool
	out           string
	keep          string
	limitd        string // the bridge's address, for (g)
}

func runMain(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	var s settings
	quick := fs.Bool("quick", os.Getenv("BENCH_QUICK") != "" && os.Getenv("BENCH_QUICK") != "0",
		"a short run to check the setup (also BENCH_QUICK=1): 1 run of 3 s, concurrency 1, growth to 100,000")
	fs.StringVar(&s.wasm, "wasm", "build/apigw.wasm", "the plugin module")
	altWasm := fs.String("alt-wasm", "", "modules (comma-separated) that configurations (p) and (o), (p2) and (o2), ... run instead of -wasm: A/B of builds")
	fs.StringVar(&s.envoy, "envoy", os.Getenv("ENVOY_PATH"), "Envoy binary (default $ENVOY_PATH, else build/envoy.sh)")
	conc := fs.String("concurrency", "1,2", "Envoy --concurrency values to run")
	cfgs := fs.String("configs", "a,f,n,b,c,g,d,e", "configurations to run (see -list)")
	fs.IntVar(&s.runs, "runs", 3, "repetitions of each measurement; medians are reported")
	fs.DurationVar(&s.satDuration, "duration", 10*time.Second, "length of one saturation (wrk) run")
	fs.DurationVar(&s.latDuration, "lat-duration", 5*time.Second, "length of one fixed-rate latency run")
	fs.DurationVar(&s.warmup, "warmup", 2*time.Second, "saturation warm-up before the first measurement")
	fs.IntVar(&s.rate, "rate", 1000, "requests per second of the fixed-rate latency runs")
	fs.IntVar(&s.connections, "connections", 32, "wrk connections in saturation runs")
	fs.IntVar(&s.latConns, "lat-connections", 16, "connections of the fixed-rate client")
	fs.Int64Var(&s.growth, "growth", 1_000_000, "requests an Envoy has served when its memory is read again (0: skip)")
	gcfgs := fs.String("growth-configs", "c,d", "configurations whose memory growth is measured")
	fs.IntVar(&s.growthConc, "growth-concurrency", 2, "the --concurrency whose Envoys the growth measurement uses")
	fs.DurationVar(&s.growthTimeout, "growth-timeout", 170*time.Second, "time bound of the growth top-up, per configuration")
	fs.IntVar(&s.apis, "apis", 10000, "APIs in configuration (d)")
	fs.BoolVar(&s.pin, "pin", true, "with --concurrency 1, pin Envoy to CPU 1 and everything else to CPU 0")
	fs.BoolVar(&s.perf, "perf", false, "after the saturation runs, sample each Envoy with perf (cpu-clock) during one more run")
	fs.StringVar(&s.out, "out", "", "also write the report (markdown) to this file")
	fs.StringVar(&s.keep, "keep", "", "keep Envoy configurations and logs in this folder")
	list := fs.Bool("list", false, "describe the configurations and exit")
	fs.Parse(args)
	if *list {
		for _, c := range allConfigs {
			fmt.Printf("(%s) %s\n", c.id, c.title)
		}
		return nil
	}
	if *quick {
		s.runs, s.satDuration, s.latDuration, s.warmup = 1, 3*time.Second, 3*time.Second, time.Second
		*conc = "1"
		s.growthConc = 1
		if s.growth > 100_000 {
			s.growth = 100_000
		}
		s.growthTimeout = 30 * time.Second
	}
	var err error
	if s.concurrencies, err = parseInts(*conc); err != nil {
		return fmt.Errorf("-concurrency: %v", err)
	}
	s.configs = splitList(*cfgs)
	s.altWasm = splitList(*altWasm)
	s.growthConfigs = splitList(*gcfgs)
	for _, id := range append(append([]string{}, s.configs...), s.growthConfigs...) {
		if configByID(id) == nil {
			return fmt.Errorf("unknown configuration %q (see -list)", id)
		}
	}
	r, err := newRunner(s)
	if err != nil {
		return err
	}
	defer r.close()
	rep, err := r.run()
	if err != nil {
		return err
	}
	text := rep.markdown(s, *quick, os.Args)
	fmt.Print(text)
	if s.out != "" {
		if err := os.WriteFile(s.out, []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		var n int
		if _, err := fmt.Sscanf(f, "%d", &n); err != nil || n < 1 {
			return nil, fmt.Errorf("bad value %q", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty")
	}
	return out, nil
}

// logf reports progress on stderr, so stdout holds only the report.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}
