package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apigw-wasm/apigw-wasm/bench/benchcfg"
)

// calibOps are the operations of bench/plugins/calib, in the report's order: the module
// ignores an op it does not know, so the driver accepts only these.
var calibOps = []struct{ op, what string }{
	{"nop", "the loop and its switch alone, no host call (the floor under every row)"},
	{"alloc", "make([]byte, 64..71) in the guest: Go allocation, no host call"},
	{"time", "time.Now(): two WASI clock_time_get (wall and monotonic)"},
	{"hosttime", "proxy_get_current_time_nanoseconds: the plugin's one-call clock"},
	{"get", "proxy_get_header_map_value of :path (returns data: the host calls back proxy_on_memory_allocate)"},
	{"getmiss", "proxy_get_header_map_value of a missing header (no data, no callback)"},
	{"replace", "proxy_replace_header_map_value x-calib: value"},
	{"pairs", "proxy_get_header_map_pairs: the whole request header map, one callback, read in place"},
	{"setpairs", "proxy_set_header_map_pairs of the map read before the loop"},
	{"prop", "proxy_get_property source.address"},
	{"proptls", "proxy_get_property connection.tls_version on a plain-text connection"},
	{"shget", "proxy_get_shared_data of a 16-byte value"},
	{"shset", "proxy_set_shared_data of a 16-byte value"},
	{"metric", "proxy_increment_metric of a counter"},
	{"handle-b", "the gateway's Handle of (b)'s request, in Go, no host call"},
	{"handle-c", "the gateway's Handle of (c)'s request (hmac, rate limit, quota), in Go, no host call"},
	{"verify", "hmacauth's Verify of (c)'s signed request, in Go, no host call"},
}

// calibHeaders are the ordinary headers of a browser's GET besides Host, so that "pairs" reads
// a map of realistic size (Envoy adds its pseudo-headers, x-forwarded-proto and x-request-id).
var calibHeaders = [][2]string{
	{"User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"},
	{"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
	{"Accept-Language", "en-US,en;q=0.5"},
	{"Accept-Encoding", "gzip, deflate, br"},
	{"Cache-Control", "no-cache"},
	{"Cookie", "session=0123456789abcdef; theme=dark"},
	{"Referer", "https://example.com/release/users"},
	{"Upgrade-Insecure-Requests", "1"},
	{"Sec-Fetch-Dest", "document"},
	{"Sec-Fetch-Mode", "navigate"},
	{"Sec-Fetch-Site", "same-origin"},
	{"DNT", "1"},
}

var calibRE = regexp.MustCompile(`^(\S+) n=(\d+) headers=(\d+) ns/call=([\d.]+)`)

// calibMain prices single host calls from inside Envoy: it runs bench/plugins/calib in
// one Envoy (--concurrency 1, V8) in front of a direct_response route, asks it to repeat each op
// -n times in a loop within one request, rounds after rounds (all ops per round, so that drifts
// of a shared machine spread over all of them), and prints the median ns per call. The nop row
// is the loop's own cost; the other rows include it.
func calibMain(args []string) error {
	fs := flag.NewFlagSet("calib", flag.ExitOnError)
	n := fs.Int("n", 20000, "calls per request")
	rounds := fs.Int("rounds", 3, "requests per op; the median is reported")
	var all []string
	for _, o := range calibOps {
		all = append(all, o.op)
	}
	opList := fs.String("ops", strings.Join(all, ","), "ops to time")
	envoyPath := fs.String("envoy", os.Getenv("ENVOY_PATH"), "Envoy binary (default $ENVOY_PATH, else build/envoy.sh)")
	fs.Parse(args)
	if *n < 1 || *rounds < 1 {
		return fmt.Errorf("-n and -rounds must be at least 1")
	}
	ops := splitList(*opList)
	for _, op := range ops {
		if !slices.Contains(all, op) {
			return fmt.Errorf("unknown op %q (known: %s)", op, strings.Join(all, " "))
		}
	}
	start := time.Now()
	bin, version, err := findEnvoy(*envoyPath)
	if err != nil {
		return err
	}
	wasm, err := filepath.Abs(filepath.Join("build", ".cache", "calib.wasm"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(wasm), 0o755); err != nil {
		return err
	}
	if err := buildModule("./bench/plugins/calib", wasm); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "apigw-calib-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	c := &benchConfig{id: "calib", title: "calibration module", plugin: func(int) string { return "" },
		module: "./bench/plugins/calib", direct: true, reply: "ok"}
	// The upstream address is not used: the route answers itself.
	e, err := startEnvoy(c, 1, settings{envoy: bin}, work, "127.0.0.1:1", wasm)
	if err != nil {
		return err
	}
	defer e.stop()
	logf("calib: Envoy ready after %v on %s", e.readyIn.Round(time.Millisecond), e.listenAddr)

	client := &http.Client{Timeout: 2 * time.Minute}
	headers := 0
	call := func(op string, n int) (float64, error) {
		req, _ := http.NewRequest("GET", "http://"+e.listenAddr+benchcfg.Path, nil)
		req.Host = benchcfg.Host
		for _, kv := range calibHeaders {
			req.Header.Set(kv[0], kv[1])
		}
		req.Header.Set("x-calib-op", op)
		req.Header.Set("x-calib-n", strconv.Itoa(n))
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return 0, err
		}
		m := calibRE.FindStringSubmatch(string(body))
		if resp.StatusCode != 200 || m == nil || m[1] != op {
			return 0, fmt.Errorf("op %s: %s: %q\n%s", op, resp.Status, body, e.tail(10))
		}
		headers, _ = strconv.Atoi(m[3])
		return strconv.ParseFloat(m[4], 64)
	}
	// One round of a tenth of the calls first, not counted: V8 compiles the module's functions
	// again, optimised, once they are hot, and the first rounds would time the baseline code.
	for _, op := range ops {
		if _, err := call(op, max(*n/10, 1)); err != nil {
			return err
		}
	}
	load := loadavg()
	res := map[string][]float64{}
	for round := 1; round <= *rounds; round++ {
		for _, op := range ops {
			ns, err := call(op, *n)
			if err != nil {
				return err
			}
			res[op] = append(res[op], ns)
		}
		logf("calib: round %d of %d done", round, *rounds)
	}
	load += " → " + loadavg()

	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("## Host-call calibration (bench/plugins/calib)\n\n")
	w("- command: `%s`, %s, took %v\n", strings.TrimSpace("go run ./bench calib "+strings.Join(args, " ")),
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), time.Since(start).Round(time.Second))
	w("- machine: %d CPUs (%s), %s; Envoy %s, --concurrency 1, V8\n", runtime.NumCPU(), cpuModel(), runtime.Version(), orDash(version))
	w("- each request repeats the op %d times in a loop inside OnHttpRequestHeaders, timed by the module; %d round(s) after one uncounted warm-up round; values are ns per call, median and min–max over rounds, the loop's own cost (nop) not subtracted\n", *n, *rounds)
	w("- request: GET with Host and %d ordinary browser headers; the module's request header map holds %d entries\n", len(calibHeaders), headers)
	w("- load average (1, 5, 15 min) of the machine, which others share, before → after: %s\n\n", load)
	w("| op | what it is | ns/call (median) | min–max |\n|---|---|---|---|\n")
	for _, o := range calibOps {
		if xs := res[o.op]; len(xs) > 0 {
			w("| %s | %s | %.1f | %.1f–%.1f |\n", o.op, o.what, median(xs), slices.Min(xs), slices.Max(xs))
		}
	}
	w("\n")
	fmt.Print(b.String())
	return nil
}
