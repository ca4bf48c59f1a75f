package main

import (
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

const testConfig = `{"services":[{"id":"s","default_domain":"s.example.com","apis":[
  {"id":"mock","path":"=/m","backend":{"type":"mock","body":"{\"ok\":true}"}},
  {"id":"up","path":"/u/{id}","backend":{"type":"http","cluster":"c","path":"/in/{id}"}}]}]}`

func start(t *testing.T, cfg string) (proxytest.HostEmulator, func()) {
	t.Helper()
	opt := proxytest.NewEmulatorOption().WithVMContext(&vmContext{}).WithPluginConfiguration([]byte(cfg))
	host, reset := proxytest.NewHostEmulator(opt)
	return host, reset
}

func TestPluginStartRefusesBadConfig(t *testing.T) {
	host, reset := start(t, `{"services":[{"id":1}]}`)
	defer reset()
	if st := host.StartPlugin(); st != types.OnPluginStartStatusFailed {
		t.Fatal("plugin started with an invalid configuration")
	}
	logs := strings.Join(host.GetCriticalLogs(), "\n")
	if !strings.Contains(logs, "services[0].id") {
		t.Fatalf("log does not name the JSON path: %s", logs)
	}
}

func TestMockReplyAndRouting(t *testing.T) {
	host, reset := start(t, testConfig)
	defer reset()
	if st := host.StartPlugin(); st != types.OnPluginStartStatusOK {
		t.Fatalf("start failed: %v", host.GetCriticalLogs())
	}
	id := host.InitializeHttpContext()
	act := host.CallOnRequestHeaders(id, [][2]string{{":authority", "s.example.com"}, {":method", "GET"}, {":path", "/test/m"}}, true)
	if act != types.ActionPause {
		t.Fatal("mock did not pause")
	}
	r := host.GetSentLocalResponse(id)
	if r == nil || r.StatusCode != 200 || string(r.Data) != `{"ok":true}` {
		t.Fatalf("mock reply: %+v", r)
	}

	id = host.InitializeHttpContext()
	act = host.CallOnRequestHeaders(id, [][2]string{{":authority", "s.example.com"}, {":method", "GET"}, {":path", "/release/u/5?a=b"}, {"x-apigw-cluster", "evil"}}, true)
	if act != types.ActionContinue {
		t.Fatalf("routing paused: %+v", host.GetSentLocalResponse(id))
	}
	got := map[string]string{}
	for _, kv := range host.GetCurrentRequestHeaders(id) {
		got[kv[0]] = kv[1]
	}
	if got[":path"] != "/in/5?a=b" || got["x-apigw-cluster"] != "c" || len(got["x-api-requestid"]) != 32 {
		t.Fatalf("upstream headers: %v", got)
	}
	host.CallOnResponseHeaders(id, [][2]string{{":status", "200"}}, false)
	var rid string
	for _, kv := range host.GetCurrentResponseHeaders(id) {
		if kv[0] == "x-api-requestid" {
			rid = kv[1]
		}
	}
	if rid != got["x-api-requestid"] {
		t.Fatalf("response request id %q, upstream saw %q", rid, got["x-api-requestid"])
	}
}

const bodyConfig = `{"services":[{"id":"s","default_domain":"s.example.com","apis":[
  {"id":"form","path":"=/form","method":"POST","parameters":[{"name":"name","position":"body","required":true}],
   "backend":{"type":"http","cluster":"c"}},
  {"id":"plain","path":"=/plain","backend":{"type":"http","cluster":"c"}}]}]}`

func formHeaders(path string) [][2]string {
	return [][2]string{{":authority", "s.example.com"}, {":method", "POST"}, {":path", path},
		{"content-type", "application/x-www-form-urlencoded"}}
}

// TestBodyWatch: a request held for a body that never comes is answered 500 from the tick,
// with a log line naming the setting, while no held request has had its body; the first body
// ends the watch and its tick.
func TestBodyWatch(t *testing.T) {
	defer func(d time.Duration) { holdBound = d }(holdBound)
	holdBound = 0 // every held request is overdue at the next tick

	host, reset := start(t, bodyConfig)
	defer reset()
	if st := host.StartPlugin(); st != types.OnPluginStartStatusOK {
		t.Fatalf("start failed: %v", host.GetCriticalLogs())
	}
	warn := strings.Join(host.GetWarnLogs(), "\n")
	if !strings.Contains(warn, "allow_on_headers_stop_iteration") || !strings.Contains(warn, "s/form") || strings.Contains(warn, "s/plain") {
		t.Fatalf("start warning: %q", warn)
	}
	if p := host.GetTickPeriod(); p != 1000 {
		t.Fatalf("tick period %d", p)
	}

	held := host.InitializeHttpContext()
	if act := host.CallOnRequestHeaders(held, formHeaders("/release/form"), false); act != types.ActionPause {
		t.Fatal("the request was not held for its body")
	}
	other := host.InitializeHttpContext()
	host.CallOnRequestHeaders(other, formHeaders("/release/plain"), false) // not held: never answered by the watch
	host.Tick()
	r := host.GetSentLocalResponse(held)
	if r == nil || r.StatusCode != 500 || string(r.Data) != `{"message":"Internal Server Error."}` {
		t.Fatalf("held request after the bound: %+v", r)
	}
	if r := host.GetSentLocalResponse(other); r != nil {
		t.Fatalf("a request not held was answered: %+v", r)
	}
	errs := strings.Join(host.GetErrorLogs(), "\n")
	if !strings.Contains(errs, "allow_on_headers_stop_iteration") || !strings.Contains(errs, "API s/form") {
		t.Fatalf("error log: %q", errs)
	}
	host.CompleteHttpContext(held)

	// A body reaches a held request: the setting is on, the watch stops.
	first := host.InitializeHttpContext()
	host.CallOnRequestHeaders(first, formHeaders("/release/form"), false)
	if act := host.CallOnRequestBody(first, []byte("name=a"), true); act != types.ActionContinue {
		t.Fatalf("body with its parameter: %v %+v", act, host.GetSentLocalResponse(first))
	}
	late := host.InitializeHttpContext()
	host.CallOnRequestHeaders(late, formHeaders("/release/form"), false)
	host.Tick()
	if r := host.GetSentLocalResponse(late); r != nil {
		t.Fatalf("the watch answered after a body proved the setting: %+v", r)
	}
	if p := host.GetTickPeriod(); p != 0 {
		t.Fatalf("tick period %d after the watch ended", p)
	}
}

// TestBodyWatchOff: without body parameters there is no warning and no tick.
func TestBodyWatchOff(t *testing.T) {
	host, reset := start(t, testConfig)
	defer reset()
	host.StartPlugin()
	if w := host.GetWarnLogs(); len(w) != 0 || host.GetTickPeriod() != 0 {
		t.Fatalf("warnings %q, tick period %d", w, host.GetTickPeriod())
	}
}
