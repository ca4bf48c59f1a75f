package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/apigw-wasm/apigw-wasm/bench/benchcfg"
	"github.com/apigw-wasm/apigw-wasm/testkit/wasmhost"
)

// hostcallsMain counts the calls across the host boundary that one request of configurations
// (b) and (c) makes: the module runs in testkit/wasmhost (wazero), not in Envoy, so the counts are
// exact and every call is named, the Go runtime's WASI calls and the host's calls into the guest
// (proxy_on_memory_allocate among them) included. The request is the benchmark's, signed, and
// must pass to the upstream with the rewritten path, or the run fails.
func hostcallsMain(args []string) error {
	fs := flag.NewFlagSet("hostcalls", flag.ExitOnError)
	wasm := fs.String("wasm", "build/apigw.wasm", "the plugin module")
	cfgs := fs.String("configs", "b,c", "configurations to count (b, c or d)")
	warmup := fs.Int("warmup", 3, "requests sent before counting")
	n := fs.Int("n", 5, "requests counted")
	compiler := fs.Bool("compiler", false, "run the module with wazero's compiler instead of its interpreter (same counts; "+
		"the interpreter starts in a fraction of the time)")
	fs.Parse(args)
	if *n < 1 {
		return fmt.Errorf("-n must be at least 1")
	}
	module, err := os.ReadFile(*wasm)
	if err != nil {
		return err
	}
	ctx := context.Background()
	cache := wazero.NewCompilationCache() // with -compiler: compile once for all configurations
	defer cache.Close(ctx)
	for _, id := range splitList(*cfgs) {
		c := configByID(id)
		if c == nil || c.plugin == nil || c.module != "" || c.alt > 0 || c.env != nil || c.native {
			return fmt.Errorf("configuration %q: only the plugin's own configurations (b, c, d) can be counted", id)
		}
		start := time.Now()
		opts := []wasmhost.Option{wasmhost.WithInterpreter()}
		if *compiler {
			opts = []wasmhost.Option{wasmhost.WithCompilationCache(cache)}
		}
		h, err := wasmhost.New(ctx, module, []byte(c.plugin(apisOf(id))), opts...)
		if err != nil {
			return fmt.Errorf("(%s): %v", id, err)
		}
		loaded := time.Since(start)
		startup := h.TotalCalls()
		var runs []*wasmhost.Result
		for i := 0; i < *warmup+*n; i++ {
			res, err := hostcallsRequest(h, c.wantPath)
			if err != nil {
				h.Close()
				return fmt.Errorf("(%s) request %d: %v", id, i+1, err)
			}
			if i >= *warmup {
				runs = append(runs, res)
			}
		}
		h.Close()
		fmt.Printf("## (%s) %s\n\n", c.id, c.title)
		fmt.Printf("Loaded in %s (start-up: %d host calls, %d calls into the guest); %d requests counted after %d of warm-up.\n\n",
			loaded.Round(time.Millisecond), startup.HostCalls(), startup.GuestCalls(), *n, *warmup)
		printHostcalls(runs)
	}
	return nil
}

func apisOf(id string) int {
	if id == "d" {
		return 10000
	}
	return 1
}

// hostcallsRequest sends the benchmark's request, as Envoy's filter chain gives it to the
// plugin, and checks that it reached the upstream as configured.
func hostcallsRequest(h *wasmhost.Host, wantPath string) (*wasmhost.Result, error) {
	signed, err := benchcfg.SignedHeaders(time.Now())
	if err != nil {
		return nil, err
	}
	hdrs := [][2]string{{":authority", benchcfg.Host}, {":path", benchcfg.Path}, {":method", "GET"}, {":scheme", "http"},
		{"user-agent", "wrk"}, {"accept", "*/*"}}
	hdrs = append(hdrs, signed...)
	// Envoy's connection manager adds these before any filter runs.
	hdrs = append(hdrs, [2]string{"x-forwarded-proto", "http"}, [2]string{"x-request-id", "6d0f4b8e-3c1a-4f7e-9a53-2b8c0d1e4f60"})
	res, err := h.Request(wasmhost.Request{
		Headers: hdrs,
		Response: wasmhost.Response{Status: 200, Body: []byte("ok\n"), Headers: [][2]string{
			{"content-type", "text/plain"}, {"x-upstream-path", wantPath}, {"content-length", "3"},
			{"date", time.Now().UTC().Format(time.RFC1123)}, {"x-envoy-upstream-service-time", "0"},
		}},
	})
	if err != nil {
		return nil, err
	}
	if res.LocalReply != nil {
		return nil, fmt.Errorf("the plugin answered %d %s: %s", res.LocalReply.Status, res.LocalReply.Details, res.LocalReply.Body)
	}
	if p, _ := wasmhost.Header(res.UpstreamHeaders, ":path"); p != wantPath {
		return nil, fmt.Errorf("upstream got path %q, want %q", p, wantPath)
	}
	if cl, _ := wasmhost.Header(res.UpstreamHeaders, "x-apigw-cluster"); cl != benchcfg.Upstream {
		return nil, fmt.Errorf("upstream got x-apigw-cluster %q, want %q", cl, benchcfg.Upstream)
	}
	if id, _ := wasmhost.Header(res.ResponseHeaders, "x-api-requestid"); len(id) != 32 {
		return nil, fmt.Errorf("no x-api-requestid in the response: %q", res.ResponseHeaders)
	}
	return res, nil
}

// printHostcalls prints, per call, how many times one request makes it (a range when the
// counted requests differ, as the Go runtime's calls may) and how many of those returned data.
func printHostcalls(runs []*wasmhost.Result) {
	keys := map[string]bool{}
	for _, r := range runs {
		for k := range r.Calls {
			keys[k] = true
		}
	}
	all := make(wasmhost.Counts)
	for k := range keys {
		all[k] = 1
	}
	span := func(f func(r *wasmhost.Result) int) string {
		lo, hi := f(runs[0]), f(runs[0])
		for _, r := range runs[1:] {
			lo, hi = min(lo, f(r)), max(hi, f(r))
		}
		if lo == hi {
			return strconv.Itoa(lo)
		}
		return fmt.Sprintf("%d-%d", lo, hi)
	}
	fmt.Printf("| call | per request | returned data |\n|---|---|---|\n")
	for _, k := range all.Keys() {
		ret := "-"
		if !strings.HasPrefix(k, wasmhost.ExportPrefix) {
			ret = span(func(r *wasmhost.Result) int { return r.DataReturns[k] })
		}
		fmt.Printf("| %s | %s | %s |\n", k, span(func(r *wasmhost.Result) int { return r.Calls[k] }), ret)
	}
	fmt.Printf("| **host calls** (guest → env, WASI) | %s | |\n", span(func(r *wasmhost.Result) int { return r.Calls.HostCalls() }))
	fmt.Printf("| **calls into the guest** (host → exports) | %s | |\n", span(func(r *wasmhost.Result) int { return r.Calls.GuestCalls() }))
	fmt.Printf("| **data-returning calls** (triggered proxy_on_memory_allocate) | %s | |\n\n",
		span(func(r *wasmhost.Result) int { return r.DataReturns.Total() }))
}
