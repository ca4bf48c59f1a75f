package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apigw-wasm/apigw-wasm/bench/benchcfg"
	"github.com/apigw-wasm/apigw-wasm/testkit/wasmhost"
)

// Host-call budget of one request of the benchmark's configurations (b) and (c): calls of the
// module into its imports (proxy-wasm and WASI), and among them those that return data (each
// costs a second crossing, the host's call of proxy_on_memory_allocate). Set to the counts
// measured when the test was written; lower them when a change saves calls, never raise them
// without a reason. `go run ./bench hostcalls` prints the full table.
const (
	hostCallBudgetB   = 13
	dataReturnBudgetB = 3
	hostCallBudgetC   = 20
	dataReturnBudgetC = 4
)

// TestHostCallsBudget runs (b) and (c) in testkit/wasmhost (wazero, no Envoy), checks that the
// request passes to the upstream as configured, and holds the per-request counts to the budget.
func TestHostCallsBudget(t *testing.T) {
	wasm := hostcallsModule(t)
	for _, c := range []struct {
		id                 string
		secret             bool
		path               string
		hostCalls, returns int
	}{
		{"b", false, "/internal/users/42", hostCallBudgetB, dataReturnBudgetB},
		{"c", true, "/internal/users/42?page=1", hostCallBudgetC, dataReturnBudgetC},
	} {
		t.Run(c.id, func(t *testing.T) {
			// The interpreter: the 6.5 MB module loads in a fraction of a second (the compiler
			// takes seconds), and the counts do not depend on the engine.
			h, err := wasmhost.New(t.Context(), wasm, []byte(benchcfg.PluginConfig(c.secret, 1)), wasmhost.WithInterpreter())
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			// Two requests of warm-up (the first finds no rate-limit state), then three counted. The
			// budget holds the fewest calls of the three: a regression adds calls to every request,
			// while the Go runtime may add some to one request now and then (a GC cycle).
			var last *wasmhost.Result
			minCalls, minReturns, maxCalls := -1, -1, 0
			for i := range 5 {
				res := hostcallsRequest(t, h, c.path)
				if i < 2 {
					continue
				}
				last = res
				n, r := res.Calls.HostCalls(), res.DataReturns.Total()
				if minCalls < 0 || n < minCalls {
					minCalls = n
				}
				if minReturns < 0 || r < minReturns {
					minReturns = r
				}
				maxCalls = max(maxCalls, n)
			}
			t.Logf("(%s) one request:\n%s", c.id, hostcallsTable(last))
			if minCalls != maxCalls {
				t.Logf("host calls varied between requests: %d to %d", minCalls, maxCalls)
			}
			if minCalls > c.hostCalls {
				t.Errorf("(%s) %d host calls per request, over the budget of %d", c.id, minCalls, c.hostCalls)
			}
			if minReturns > c.returns {
				t.Errorf("(%s) %d data-returning host calls per request, over the budget of %d", c.id, minReturns, c.returns)
			}
			if minCalls < c.hostCalls || minReturns < c.returns {
				t.Logf("(%s) under budget (%d/%d host calls, %d/%d returning data): lower the budget constants",
					c.id, minCalls, c.hostCalls, minReturns, c.returns)
			}
		})
	}
}

// TestSecondEngineSoak runs 30,000 requests of (c) through the module in wazero's compiler, a
// second wasm engine beside Envoy's V8. Each request allocates in Go and hands the host pointers
// into Go memory (returned buffers read in place, header values passed by address), so a
// pointer the collector does not see would corrupt the heap within this many collections; the
// run also checks every request's result, not only that nothing crashed.
func TestSecondEngineSoak(t *testing.T) {
	wasm := hostcallsModule(t)
	h, err := wasmhost.New(t.Context(), wasm, []byte(benchcfg.PluginConfig(true, 1)))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for range 30000 {
		hostcallsRequest(t, h, "/internal/users/42?page=1")
	}
}

// hostcallsModule is the built module: APIGW_WASM, else build/apigw.wasm above the working
// directory. (Not resolveEnv: no Envoy is needed here.)
func hostcallsModule(t *testing.T) []byte {
	t.Helper()
	path := os.Getenv("APIGW_WASM")
	if path == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for dir := wd; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				path = filepath.Join(dir, "build", "apigw.wasm")
				break
			}
			if filepath.Dir(dir) == dir {
				t.Fatalf("no go.mod above %s", wd)
			}
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("wasm module %s is missing: run make build (%v)", path, err)
	}
	return b
}

// hostcallsRequest sends the benchmark's signed request as Envoy's filter chain gives it to the
// plugin and checks that it reached the upstream rewritten.
func hostcallsRequest(t *testing.T, h *wasmhost.Host, wantPath string) *wasmhost.Result {
	t.Helper()
	signed, err := benchcfg.SignedHeaders(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	hdrs := [][2]string{{":authority", benchcfg.Host}, {":path", benchcfg.Path}, {":method", "GET"}, {":scheme", "http"},
		{"user-agent", "wrk"}, {"accept", "*/*"}}
	hdrs = append(hdrs, signed...)
	// Envoy's connection manager adds these before any filter runs.
	hdrs = append(hdrs, [2]string{"x-forwarded-proto", "http"}, [2]string{"x-request-id", "6d0f4b8e-3c1a-4f7e-9a53-2b8c0d1e4f60"})
	res, err := h.Request(wasmhost.Request{
		Headers: hdrs,
		Response: wasmhost.Response{Status: 200, Body: []byte("ok\n"), Headers: [][2]string{
			{"content-type", "text/plain"}, {"content-length", "3"}, {"x-upstream-path", wantPath}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.LocalReply != nil {
		t.Fatalf("the plugin answered %d: %s\n%v", res.LocalReply.Status, res.LocalReply.Body, res.Logs)
	}
	if p, _ := wasmhost.Header(res.UpstreamHeaders, ":path"); p != wantPath {
		t.Fatalf("upstream got :path %q, want %q", p, wantPath)
	}
	if cl, _ := wasmhost.Header(res.UpstreamHeaders, "x-apigw-cluster"); cl != benchcfg.Upstream {
		t.Fatalf("upstream got x-apigw-cluster %q, want %q (headers %q)", cl, benchcfg.Upstream, res.UpstreamHeaders)
	}
	if id, _ := wasmhost.Header(res.ResponseHeaders, "x-api-requestid"); len(id) != 32 {
		t.Fatalf("the response has no x-api-requestid: %q", res.ResponseHeaders)
	}
	return res
}

func hostcallsTable(res *wasmhost.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %-45s %6s %s\n", "call", "calls", "returned data")
	for _, k := range res.Calls.Keys() {
		fmt.Fprintf(&b, "  %-45s %6d", k, res.Calls[k])
		if !strings.HasPrefix(k, wasmhost.ExportPrefix) {
			fmt.Fprintf(&b, " %d", res.DataReturns[k])
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "  host calls %d, calls into the guest %d, data-returning calls %d",
		res.Calls.HostCalls(), res.Calls.GuestCalls(), res.DataReturns.Total())
	return b.String()
}

// TestHeldRequestAfterArenaReuse runs the module (wazero's compiler) as a worker's VM runs it
// in Envoy: a request is held for its body while other requests go through, then its body
// comes. The buffers the host returned to the held request's first callback (its headers, its
// address) are by then memory that every callback of the other requests reused, unless the
// plugin kept them (plugin/abi's arena): the held request must still be decided on its own
// headers (content type, path, Origin) and address. A request that is not held, whose CORS
// response echoes its Origin in a later callback, is checked the same way.
func TestHeldRequestAfterArenaReuse(t *testing.T) {
	const origin = "https://app.example.com"
	const config = `{"services":[{"id":"s","default_domain":"s.example.com","apis":[
	  {"id":"form","path":"=/form","method":"POST","parameters":[{"name":"name","position":"body","required":true}],
	   "cors":{"allow_origins":["https://app.example.com"],"allow_methods":["GET","POST"],"allow_credentials":true},
	   "backend":{"type":"http","cluster":"c"}},
	  {"id":"get","path":"/g/{id}","cors":{"allow_origins":["https://app.example.com"],"allow_methods":["GET"],"allow_credentials":true},
	   "backend":{"type":"http","cluster":"c","path":"/in/{id}"}},
	  {"id":"plain","path":"/plain","backend":{"type":"http","cluster":"c"}}]}]}`
	h, err := wasmhost.New(t.Context(), hostcallsModule(t), []byte(config), wasmhost.WithSourceAddress("10.1.2.3:5000"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	others := func() error {
		for i := range 20 {
			res, err := h.Request(wasmhost.Request{Headers: [][2]string{{":authority", "s.example.com"}, {":method", "GET"},
				{":path", "/release/plain/" + strings.Repeat("p", i*7)}, {":scheme", "http"}, {"x-filler", strings.Repeat("f", 50+i*13)}}})
			if err != nil {
				return err
			}
			if !res.Upstream {
				return fmt.Errorf("another request was answered: %+v", res.LocalReply)
			}
		}
		return nil
	}
	for _, c := range []struct {
		name     string
		headers  [][2]string
		body     []byte
		wantPath string
	}{
		{"held for its body", [][2]string{{":authority", "s.example.com"}, {":method", "POST"}, {":path", "/release/form"},
			{":scheme", "http"}, {"content-type", "application/x-www-form-urlencoded"}, {"origin", origin}}, []byte("name=a"), "/form"},
		{"not held", [][2]string{{":authority", "s.example.com"}, {":method", "GET"}, {":path", "/release/g/7"},
			{":scheme", "http"}, {"origin", origin}}, nil, "/in/7"},
	} {
		t.Run(c.name, func(t *testing.T) {
			// The others run after the request's headers: before its body, or before its response.
			res, err := h.Request(wasmhost.Request{Headers: c.headers, Body: c.body, Meanwhile: others})
			if err != nil {
				t.Fatal(err)
			}
			if res.LocalReply != nil {
				t.Fatalf("answered %d: %s", res.LocalReply.Status, res.LocalReply.Body)
			}
			if p, _ := wasmhost.Header(res.UpstreamHeaders, ":path"); p != c.wantPath {
				t.Fatalf("upstream :path %q, want %q", p, c.wantPath)
			}
			if ip, _ := wasmhost.Header(res.UpstreamHeaders, "x-real-ip"); ip != "10.1.2.3" {
				t.Fatalf("upstream x-real-ip %q", ip)
			}
			if o, _ := wasmhost.Header(res.ResponseHeaders, "access-control-allow-origin"); o != origin {
				t.Fatalf("response access-control-allow-origin %q, want %q", o, origin)
			}
		})
	}
}
