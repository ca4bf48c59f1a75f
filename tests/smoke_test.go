package tests

import (
	"net/http"
	"strings"
	"testing"
)

// TestSmoke proves the harness: Envoy loads the module on every listener kind and the module
// answers. With no services, every request gets its 404 for an unknown host (the host without
// its port); the rest of the gateway's behaviour is the other tests' job.
func TestSmoke(t *testing.T) {
	up := StartUpstream(t)
	g := StartGateway(t, Options{
		Clusters:   map[string]string{"demo": up.Addr},
		TLS:        true,
		UnixSocket: true,
	})
	// Loaded: the wasm filter's VM is up (the gauge counts the base VM and its clones).
	if stats := g.Admin(t, "/stats?filter=wasm"); !strings.Contains(stats, "wasm.envoy.wasm.runtime.v8.active") {
		t.Errorf("no wasm VM in the stats:\n%s", stats)
	}
	unknownHost := func(host string) string { return `{"message":"There is no api match host[` + host + `]."}` }
	for _, c := range []struct {
		req  Request
		host string // as the module names it
	}{
		{Request{Path: "/smoke?x=1"}, "127.0.0.1"},
		{Request{Path: "/smoke", TLS: true, Host: "api.example.com"}, "api.example.com"},
		{Request{Path: "/smoke", TLS: true, SNI: "api.example.com"}, "127.0.0.1"},
		{Request{Path: "/smoke", Unix: true}, "localhost"},
	} {
		r := g.Do(t, c.req)
		if r.Status != 404 || r.Body != unknownHost(c.host) || r.Header.Get("Server") != "envoy" {
			t.Errorf("%+v: want the module's 404 for host %s:\n%s", c.req, c.host, r)
		}
		checkGatewayReply(t, r)
	}
	raw := g.Raw(t, RawRequest{Data: "GET /raw HTTP/1.1\r\nHost: api.example.com\r\nConnection: close\r\n\r\n"})
	if raw.Status != 404 || raw.Body != unknownHost("api.example.com") {
		t.Errorf("raw request: want the module's 404 for host api.example.com:\n%s", raw)
	}
	// The harness's own parts: the upstream echoes through a plain client.
	resp, err := http.Get(up.Server.URL + "/echo?a=b")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if rec := up.Last(t); rec.URI != "/echo?a=b" || rec.Method != "GET" {
		t.Errorf("upstream record %+v", rec)
	}
}

// TestStartFailure proves StartGatewayExpectFailure, with a module Envoy cannot load (a
// configuration the plugin refuses is the gateway tests' matter).
func TestStartFailure(t *testing.T) {
	logs := StartGatewayExpectFailure(t, Options{
		Bootstrap: func(b map[string]any) {
			wasm := dig(b, "static_resources", "listeners").([]any)[0]
			hcm := dig(wasm, "filter_chains").([]any)[0]
			hcm = dig(hcm, "filters").([]any)[0]
			filter := dig(hcm, "typed_config", "http_filters").([]any)[0]
			vm := dig(filter, "typed_config", "config", "vm_config").(map[string]any)
			vm["code"] = map[string]any{"local": map[string]any{"inline_string": "not wasm"}}
		},
	})
	if !strings.Contains(logs, "Unable to create Wasm") {
		t.Errorf("log does not tell the wasm failure:\n%s", logs)
	}
}
