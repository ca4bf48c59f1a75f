package wasmhost

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero"
)

// The modules the tests run are built here from source (build/wasmbuild), once per test binary:
// plugin/abi's do-nothing handler (null), the benchmark's host-call module (hostcalls) and this
// package's ABI exerciser (testdata/abiguest).
var built struct {
	sync.Mutex
	dir  string
	wasm map[string][]byte
}

func buildGuest(t *testing.T, pkg string) []byte {
	t.Helper()
	built.Lock()
	defer built.Unlock()
	if b, ok := built.wasm[pkg]; ok {
		return b
	}
	if built.wasm == nil {
		dir, err := os.MkdirTemp("", "wasmhost-test-")
		if err != nil {
			t.Fatal(err)
		}
		built.dir, built.wasm = dir, map[string][]byte{}
	}
	out := filepath.Join(built.dir, strings.ReplaceAll(strings.Trim(pkg, "./"), "/", "_")+".wasm")
	cmd := exec.Command("go", "run", "./build/wasmbuild", "-o", out, pkg)
	cmd.Dir = filepath.Join("..", "..") // the module root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", pkg, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	built.wasm[pkg] = b
	return b
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// cache is shared by every host of the test binary: each module compiles once per engine.
var cache = wazero.NewCompilationCache()

// engines runs f with wazero's compiler and with its interpreter: the compiler passes i32
// parameters with garbage in their upper 32 bits, the interpreter does not, so both must pass.
func engines(t *testing.T, f func(t *testing.T, opts ...Option)) {
	t.Run("compiler", func(t *testing.T) { f(t, WithCompilationCache(cache)) })
	t.Run("interpreter", func(t *testing.T) { f(t, WithInterpreter()) })
}

func newHost(t *testing.T, wasm []byte, config string, opts ...Option) *Host {
	t.Helper()
	h, err := New(t.Context(), wasm, []byte(config), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func messages(lines []LogLine) []string {
	var out []string
	for _, l := range lines {
		out = append(out, l.Message)
	}
	return out
}

func wantLogs(t *testing.T, res *Result, want ...string) {
	t.Helper()
	got := messages(res.Logs)
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("no log line %q in\n  %s", w, strings.Join(got, "\n  "))
		}
	}
}

func get(req [][2]string, path string) [][2]string {
	return append([][2]string{{":method", "GET"}, {":path", path}, {":authority", "example.com"}, {":scheme", "http"}}, req...)
}

func TestNullModule(t *testing.T) {
	wasm := buildGuest(t, "./bench/plugins/null")
	engines(t, func(t *testing.T, opts ...Option) {
		h := newHost(t, wasm, "", opts...)
		start := h.TotalCalls()
		for _, k := range []string{"export._initialize", "export.proxy_on_vm_start", "export.proxy_on_configure", "export.proxy_on_context_create"} {
			if start[k] != 1 {
				t.Errorf("start-up: %s called %d times, want 1 (%v)", k, start[k], start)
			}
		}
		req := Request{Headers: get([][2]string{{"X-Mixed-Case", "v"}}, "/a"), Body: []byte("hello"),
			Response: Response{Headers: [][2]string{{"content-type", "text/plain"}}, Body: []byte("ok")}}
		res, err := h.Request(req)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Upstream || res.LocalReply != nil || string(res.UpstreamBody) != "hello" || string(res.ResponseBody) != "ok" {
			t.Fatalf("not passed through: %+v", res)
		}
		if v, _ := Header(res.UpstreamHeaders, "x-mixed-case"); v != "v" {
			t.Errorf("upstream headers %q: names must be lowercase, values kept", res.UpstreamHeaders)
		}
		want := Counts{}
		for _, cb := range []string{"context_create", "request_headers", "request_body", "response_headers", "response_body", "log", "done", "delete"} {
			if h.exported("proxy_on_"+cb) != nil { // the shim may leave proxy_on_done out
				want[ExportPrefix+"proxy_on_"+cb] = 1
			}
		}
		got := Counts{}
		for k, v := range res.Calls {
			if strings.HasPrefix(k, ExportPrefix) || strings.HasPrefix(k, EnvModule+".") {
				got[k] = v
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("calls of a request: %v, want %v (all: %v)", got, want, res.Calls)
		}
		if tot := h.TotalCalls(); tot["export.proxy_on_request_headers"] != 1 || tot["export.proxy_on_context_create"] != 2 {
			t.Errorf("totals %v", tot)
		}
	})
}

// TestCounts checks the counts against a module whose calls are known: the benchmark's
// host-call module in its (c) mode.
func TestCounts(t *testing.T) {
	wasm := buildGuest(t, "./bench/plugins/hostcalls")
	engines(t, func(t *testing.T, opts ...Option) {
		h := newHost(t, wasm, "c", opts...)
		req := Request{Headers: get(nil, "/release/users/42"), Response: Response{Headers: [][2]string{{"x-up", "1"}}}}
		for i, gets := range []int{0, 2} { // the first request finds no shared data
			res, err := h.Request(req)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string][2]int{ // calls, of which returned data
				"env.proxy_get_property":             {2, 1}, // tls_version: NotFound on plain text
				"env.proxy_get_header_map_value":     {0, 0},
				"env.proxy_get_header_map_pairs":     {1, 1},
				"env.proxy_get_shared_data":          {2, gets},
				"env.proxy_set_shared_data":          {2, 0},
				"env.proxy_replace_header_map_value": {12, 0},
			}
			allocs := 0
			for k, w := range want {
				if res.Calls[k] != w[0] || res.DataReturns[k] != w[1] {
					t.Errorf("request %d: %s: %d calls, %d returned data; want %d, %d", i+1, k, res.Calls[k], res.DataReturns[k], w[0], w[1])
				}
				allocs += w[1]
			}
			if n := res.Calls["export.proxy_on_memory_allocate"]; n != allocs || res.DataReturns.Total() != allocs {
				t.Errorf("request %d: %d allocations, %d data returns; want %d", i+1, n, res.DataReturns.Total(), allocs)
			}
			if p, _ := Header(res.UpstreamHeaders, ":path"); p != "/internal/users/42?page=1" {
				t.Errorf(":path %q", p)
			}
			if ip, _ := Header(res.UpstreamHeaders, "x-real-ip"); ip != "127.0.0.1:40000" {
				t.Errorf("x-real-ip %q", ip)
			}
			if q, _ := Header(res.ResponseHeaders, "x-usageplan-quota"); q != "unlimited" {
				t.Errorf("response headers %q", res.ResponseHeaders)
			}
		}
		if v, cas, ok := h.SharedData("apigw|q|usagePlan-bench|AKIDbench"); !ok || len(v) != 16 || cas == 0 {
			t.Errorf("shared data %q %d %v", v, cas, ok)
		}
		res, err := newHost(t, wasm, "c", append(opts, WithTLS("TLSv1.3"))...).Request(req)
		if err != nil {
			t.Fatal(err)
		}
		if res.DataReturns["env.proxy_get_property"] != 2 {
			t.Errorf("with TLS, tls_version must be returned: %v", res.DataReturns)
		}
	})
}

func TestABI(t *testing.T) {
	wasm := buildGuest(t, "./testkit/wasmhost/testdata/abiguest")
	engines(t, func(t *testing.T, opts ...Option) {
		h := newHost(t, wasm, "cfg", append(opts, WithVMConfig([]byte("vmcfg")), WithPluginName("pn"), WithRootID("rid"))...)
		wantLogs(t, &Result{Logs: h.Logs()}, `vm config "vmcfg" ok`, `plugin config "cfg" ok`)
		if h.TickPeriod() != 250 {
			t.Errorf("tick period %d", h.TickPeriod())
		}
		if err := h.Tick(); err != nil || h.Logs()[len(h.Logs())-1].Message != "tick" {
			t.Errorf("tick: %v %v", err, h.Logs())
		}
		do := func(t *testing.T, req Request) *Result {
			t.Helper()
			res, err := h.Request(req)
			if err != nil {
				t.Fatal(err)
			}
			return res
		}

		t.Run("headers", func(t *testing.T) {
			res := do(t, Request{Headers: get([][2]string{{"x-multi", "a"}, {"X-Remove-Me", "r"}, {"x-multi", "b"}}, "/headers"),
				Response: Response{Status: 201, Headers: [][2]string{{"server", "up"}, {"x-up", "1"}}}})
			wantLogs(t, res,
				`headers n=7 eos=true [[":method" "GET"] [":path" "/headers"] [":authority" "example.com"] [":scheme" "http"] ["x-multi" "a"] ["x-remove-me" "r"] ["x-multi" "b"]] ok`,
				"missing not found",
				"response headers before response bad argument",
				"done /headers")
			want := [][2]string{{":method", "GET"}, {":path", "/headers"}, {":authority", "example.com"}, {":scheme", "http"},
				{"x-multi", "first-only"}, {"x-multi", "b"}, {"x-added", "1"}, {"x-added", "2"}, {"x-new", "new"}}
			if !reflect.DeepEqual(res.UpstreamHeaders, want) {
				t.Errorf("upstream headers\n got %q\nwant %q", res.UpstreamHeaders, want)
			}
			wantResp := [][2]string{{":status", "201"}, {"x-up", "1"}, {"x-status-seen", "201"}, {"x-code-details", "via_upstream ok"}}
			if !reflect.DeepEqual(res.ResponseHeaders, wantResp) {
				t.Errorf("response headers\n got %q\nwant %q", res.ResponseHeaders, wantResp)
			}
		})
		t.Run("set pairs", func(t *testing.T) {
			res := do(t, Request{Headers: get([][2]string{{"x-gone", "1"}}, "/setpairs")})
			want := [][2]string{{":path", "/new"}, {":method", "PUT"}, {"x-only", "1"}}
			if !reflect.DeepEqual(res.UpstreamHeaders, want) {
				t.Errorf("upstream headers %q, want %q", res.UpstreamHeaders, want)
			}
		})
		t.Run("local reply", func(t *testing.T) {
			res := do(t, Request{Headers: get(nil, "/local")})
			want := &LocalReply{Status: 403, Headers: [][2]string{{"x-reason", "test"}, {"x-multi", "1"}, {"x-multi", "2"}}, Body: []byte("denied"), GRPCStatus: -1}
			if res.Upstream || !reflect.DeepEqual(res.LocalReply, want) {
				t.Errorf("local reply %+v, want %+v", res.LocalReply, want)
			}
			if res.Calls["export.proxy_on_response_headers"] != 0 || res.Calls["export.proxy_on_log"] != 1 {
				t.Errorf("calls %v", res.Calls)
			}
			res = do(t, Request{Headers: get(nil, "/body-local"), Body: []byte("x")})
			if res.LocalReply == nil || res.LocalReply.Status != 413 {
				t.Errorf("local reply at body %+v", res.LocalReply)
			}
		})
		t.Run("bodies", func(t *testing.T) {
			res := do(t, Request{Headers: get(nil, "/body"), Body: []byte("abc"), Response: Response{Body: []byte("resp")}})
			wantLogs(t, res, `request body 3 true "abc" ok`)
			if string(res.UpstreamBody) != "<ABC>" || string(res.ResponseBody) != "resp (seen)" {
				t.Errorf("bodies %q %q", res.UpstreamBody, res.ResponseBody)
			}
			if res.DataReturns["env.proxy_get_buffer_bytes"] != 2 {
				t.Errorf("data returns %v", res.DataReturns)
			}
		})
		t.Run("properties", func(t *testing.T) {
			res := do(t, Request{Headers: get(nil, "/props"), ResponseFlags: 5})
			wantLogs(t, res,
				`prop [source address] = "127.0.0.1:40000" ok`,
				`prop [source port] = 40000 ok`,
				`prop [connection tls_version] = "" not found`,
				`prop [response code_details] = "" not found`,
				`prop [response flags] = 5 ok`,
				`prop [plugin_name] = "pn" ok`,
				`prop [plugin_root_id] = "rid" ok`,
				`prop [request path] = "" not found`)
		})
		t.Run("shared data", func(t *testing.T) {
			res := do(t, Request{Headers: get(nil, "/shared")})
			wantLogs(t, res, "get missing not found", "set unconditional ok", `get "v1" ok`,
				"set stale cas cas mismatch", "set current cas ok", `get "v2" newcas=true`, "set old cas cas mismatch")
			// A missing key is written whatever the cas, as in Envoy; cas 0 always writes.
			if st := h.SetSharedData("new", []byte("x"), 77); st != StatusOK {
				t.Errorf("missing key with a cas: %d", st)
			}
			_, cas, _ := h.SharedData("new")
			if st := h.SetSharedData("new", []byte("y"), cas+1); st != StatusCasMismatch {
				t.Errorf("stale cas: %d", st)
			}
			if st := h.SetSharedData("new", []byte("z"), 0); st != StatusOK {
				t.Errorf("cas 0: %d", st)
			}
		})
		t.Run("effective context", func(t *testing.T) {
			res := do(t, Request{Headers: get(nil, "/effective")})
			wantLogs(t, res, "to root ok", "header in root bad argument",
				"to unknown bad argument", "back ok", "header in stream ok")
		})
		t.Run("stalls", func(t *testing.T) {
			if _, err := h.Request(Request{Headers: get(nil, "/stall")}); err == nil || !strings.Contains(err.Error(), "stopped the request") {
				t.Errorf("a stopped request: %v", err)
			}
			if _, err := h.Request(Request{Headers: get(nil, "/stall-response")}); err == nil || !strings.Contains(err.Error(), "stopped the response") {
				t.Errorf("a stopped response: %v", err)
			}
			res := do(t, Request{Headers: get(nil, "/resume")})
			if !res.Upstream {
				t.Errorf("a resumed request must pass")
			}
		})
		m := h.Metrics()
		if c := m["abi.requests"]; c.Type != 0 || c.Value != 11 {
			t.Errorf("counter %+v", c)
		}
		if g, hi := m["abi.gauge"], m["abi.hist"]; g.Value != -33 || hi.Records != 11 || hi.Value != 7 {
			t.Errorf("gauge %+v, histogram %+v", g, hi)
		}
		wantLogs(t, &Result{Logs: h.Logs()}, "metrics counter=11 gauge=-33")
	})
}

func TestRefusedConfiguration(t *testing.T) {
	wasm := buildGuest(t, "./testkit/wasmhost/testdata/abiguest")
	_, err := New(t.Context(), wasm, []byte("refuse"), WithInterpreter())
	if err == nil || !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), "[critical] refused") {
		t.Fatalf("err = %v, want the refusal with the module's log", err)
	}
}

func TestPairs(t *testing.T) {
	for _, p := range [][][2]string{{{"a", "1"}}, {{":path", "/x"}, {"empty", ""}, {"k", "v"}, {"k", "w"}}} {
		if got, ok := deserializePairs(serializePairs(p)); !ok || !reflect.DeepEqual(got, p) {
			t.Errorf("round trip of %q: %q %v", p, got, ok)
		}
	}
	if got, ok := deserializePairs(serializePairs(nil)); !ok || len(got) != 0 {
		t.Errorf("empty map: %q %v", got, ok)
	}
	if _, ok := deserializePairs([]byte{5, 0, 0, 0, 1}); ok {
		t.Error("a truncated map must not parse")
	}
}
