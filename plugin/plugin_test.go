package main

import (
	"strings"
	"testing"

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
