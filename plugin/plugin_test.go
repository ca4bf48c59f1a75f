package main

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apigw-wasm/apigw-wasm/plugin/abi"
)

const testConfig = `{"services":[{"id":"s","default_domain":"s.example.com","apis":[
  {"id":"mock","path":"=/m","backend":{"type":"mock","body":"{\"ok\":true}"}},
  {"id":"up","path":"/u/{id}","max_requests_per_second":10,"backend":{"type":"http","cluster":"c","path":"/in/{id}"}},
  {"id":"auth","path":"=/auth","business_type":"oauth","oauth_config":{"public_key":{"kty":"EC","crv":"P-256",
    "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}},
   "backend":{"type":"http","cluster":"authsrv"}}]}]}`

func flags(v uint64) string {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	return string(b[:])
}

func TestPluginStartRefusesBadConfig(t *testing.T) {
	tv, ok := startVM(t, `{"services":[{"id":1}]}`)
	if ok {
		t.Fatal("plugin started with an invalid configuration")
	}
	if !tv.host.logged("invalid configuration at services[0].id") {
		t.Fatalf("log does not name the JSON path: %q", tv.host.logs)
	}
}

func TestMockReplyAndRouting(t *testing.T) {
	tv, ok := startVM(t, testConfig)
	if !ok {
		t.Fatalf("start failed: %q", tv.host.logs)
	}
	id, s, act := tv.request([][2]string{{":authority", "s.example.com"}, {":method", "GET"}, {":path", "/test/m"}}, true, nil)
	if act != abi.Pause || s.reply == nil || s.reply.status != 200 || string(s.reply.body) != `{"ok":true}` {
		t.Fatalf("mock reply: %v %+v", act, s.reply)
	}
	tv.finish(id)

	id, s, act = tv.request([][2]string{{":authority", "s.example.com"}, {":method", "GET"}, {":path", "/release/u/5?a=b"},
		{"x-apigw-cluster", "evil"}}, true, map[string]string{propSourceAddress: "10.0.0.1:5000"})
	if act != abi.Continue {
		t.Fatalf("routing paused: %+v", s.reply)
	}
	if get(s.request, ":path") != "/in/5?a=b" || get(s.request, "x-apigw-cluster") != "c" || len(get(s.request, "x-api-requestid")) != 32 ||
		get(s.request, "x-real-ip") != "10.0.0.1" {
		t.Fatalf("upstream headers: %v", s.request)
	}
	tv.respond(id, [][2]string{{":status", "200"}, {"x-api-requestid", "upstream's"}}, false, nil)
	if rid := get(s.response, "x-api-requestid"); rid != get(s.request, "x-api-requestid") {
		t.Fatalf("response request id %q, upstream saw %q", rid, get(s.request, "x-api-requestid"))
	}
	if get(s.response, "x-api-ratelimit") != "9/10" {
		t.Fatalf("limit header on the upstream's response: %v", s.response)
	}
	tv.finish(id)
	if tv.host.metrics["apigw.requests.service.s.api.up.status.200"] != 1 || tv.host.metrics["apigw.requests.service.s.api.mock.status.200"] != 1 {
		t.Fatalf("metrics: %v", tv.host.metrics)
	}
}

// Step 13 through the plugin: what the router replies itself becomes the gateway's answer,
// sent in place of the router's; the upstream's own answers pass with the gateway's headers.
func TestRouterFailures(t *testing.T) {
	tv, _ := startVM(t, testConfig)
	for _, c := range []struct {
		name, path, status, details string
		flags                       uint64
		wantStatus                  int
		wantBody                    string
	}{
		{"refused", "/release/u/1", "503", "upstream_reset_before_response_started{remote_connection_failure}", 1 << 5, 502, `{"message":"Bad Gateway."}`},
		{"timeout", "/release/u/1", "504", "response_timeout", 1 << 2, 504, `{"message":"Gateway Time-out."}`},
		{"unknown cluster", "/release/u/1", "503", "cluster_not_found", 1 << 24, 502, `{"message":"Bad Gateway."}`},
		{"authorization api", "/release/auth", "503", "upstream_reset_before_response_started{remote_connection_failure}", 1 << 5, 401,
			`{"message":"Oauth call authentication server fail."}`},
		{"upstream's own 503", "/release/u/1", "503", "via_upstream", 0, 0, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			id, s, act := tv.request([][2]string{{":authority", "s.example.com"}, {":method", "GET"}, {":path", c.path}}, true, nil)
			if act != abi.Continue {
				t.Fatalf("request not routed: %+v", s.reply)
			}
			tv.respond(id, [][2]string{{":status", c.status}, {"content-length", "91"}}, false,
				map[string]string{propCodeDetails: c.details, propFlags: flags(c.flags)})
			if c.wantStatus == 0 {
				if s.reply != nil || get(s.response, ":status") != c.status || get(s.response, "x-api-requestid") == "" {
					t.Fatalf("the upstream's answer was changed: %+v %v", s.reply, s.response)
				}
				return
			}
			if s.reply == nil || s.reply.status != c.wantStatus || string(s.reply.body) != c.wantBody || s.reply.details != c.details ||
				get(s.reply.headers, "x-api-requestid") != get(s.request, "x-api-requestid") {
				t.Fatalf("reply %+v", s.reply)
			}
			if c.path == "/release/u/1" && get(s.reply.headers, "x-api-ratelimit") == "" {
				t.Fatalf("the limit headers are missing from the answer: %v", s.reply.headers)
			}
			tv.finish(id)
			if !tv.host.logged(fmt.Sprintf("reply status=%d message=%q", c.wantStatus, c.wantBody[12:len(c.wantBody)-2])) {
				t.Fatalf("no reply log line: %q", tv.host.logs)
			}
		})
	}
}

func TestClientClosedIsLogged(t *testing.T) {
	tv, _ := startVM(t, testConfig)
	id, s, _ := tv.request([][2]string{{":authority", "s.example.com"}, {":method", "GET"}, {":path", "/release/u/1"}}, true, nil)
	s.props[propFlags] = flags(1 << 14)
	tv.finish(id)
	if !tv.host.logged(`reply status=499 message="Client closed connetion."`) {
		t.Fatalf("no 499 line: %q", tv.host.logs)
	}
	if tv.host.metrics["apigw.rejections.status.499.reason.client_closed"] != 1 {
		t.Fatalf("metrics: %v", tv.host.metrics)
	}
}

// A host call that fails is reported one way: one error line naming the call and the request;
// a request whose headers cannot be read gets 500.
func TestHostFailure(t *testing.T) {
	tv, _ := startVM(t, testConfig)
	tv.host.fail["headers"] = abi.StatusInternalFailure
	_, s, act := tv.request([][2]string{{":authority", "s.example.com"}, {":method", "GET"}, {":path", "/release/u/1"}}, true, nil)
	if act != abi.Pause || s.reply == nil || s.reply.status != 500 || string(s.reply.body) != `{"message":"Internal Server Error."}` {
		t.Fatalf("reply %+v", s.reply)
	}
	var line string
	for _, l := range tv.host.logs {
		if strings.Contains(l, "host call failed") {
			line = l
		}
	}
	if !strings.Contains(line, "headers: internal failure request_id="+get(s.reply.headers, "x-api-requestid")) {
		t.Fatalf("host failure line: %q", line)
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

	tv, ok := startVM(t, bodyConfig)
	if !ok {
		t.Fatalf("start failed: %q", tv.host.logs)
	}
	if !tv.host.logged("allow_on_headers_stop_iteration") || !tv.host.logged("s/form") || tv.host.logged("s/plain") {
		t.Fatalf("start warning: %q", tv.host.logs)
	}
	if p := tv.host.tick[tv.root]; p != 1000 {
		t.Fatalf("tick period %d", p)
	}
	held, hs, act := tv.request(formHeaders("/release/form"), false, nil)
	if act != abi.Pause || hs.reply != nil {
		t.Fatal("the request was not held for its body")
	}
	_, other, _ := tv.request(formHeaders("/release/plain"), false, nil) // not held: never answered by the watch
	tv.host.enter(tv.root)
	tv.vm.OnTick(tv.root)
	if hs.reply == nil || hs.reply.status != 500 || string(hs.reply.body) != `{"message":"Internal Server Error."}` {
		t.Fatalf("held request after the bound: %+v", hs.reply)
	}
	if other.reply != nil {
		t.Fatalf("a request not held was answered: %+v", other.reply)
	}
	if !tv.host.logged("API s/form has body parameters, which need allow_on_headers_stop_iteration") {
		t.Fatalf("error log: %q", tv.host.logs)
	}
	tv.finish(held)

	// A body reaches a held request: the setting is on, the watch stops.
	first, fs, _ := tv.request(formHeaders("/release/form"), false, nil)
	fs.body = []byte("name=a")
	if act := tv.vm.OnRequestBody(first, len(fs.body), true); act != abi.Continue || fs.reply != nil {
		t.Fatalf("body with its parameter: %v %+v", act, fs.reply)
	}
	_, ls, _ := tv.request(formHeaders("/release/form"), false, nil)
	tv.host.enter(tv.root)
	tv.vm.OnTick(tv.root)
	if ls.reply != nil {
		t.Fatalf("the watch answered after a body proved the setting: %+v", ls.reply)
	}
	if p := tv.host.tick[tv.root]; p != 0 {
		t.Fatalf("tick period %d after the watch ended", p)
	}
}

// TestBodyWatchOff: without body parameters there is no warning and no tick.
func TestBodyWatchOff(t *testing.T) {
	tv, _ := startVM(t, testConfig)
	if tv.host.logged("allow_on_headers_stop_iteration") || tv.host.tick[tv.root] != 0 {
		t.Fatalf("logs %q, tick period %d", tv.host.logs, tv.host.tick[tv.root])
	}
}

const heldConfig = `{"services":[{"id":"s","default_domain":"s.example.com","apis":[
  {"id":"form","path":"=/form","method":"POST","parameters":[{"name":"name","position":"body","required":true}],
   "cors":{"allow_origins":["https://app.example.com"],"allow_methods":["GET","POST"],"allow_credentials":true},
   "backend":{"type":"http","cluster":"c"}},
  {"id":"get","path":"/g/{id}","cors":{"allow_origins":["https://app.example.com"],"allow_methods":["GET","POST"],"allow_credentials":true},
   "backend":{"type":"http","cluster":"c","path":"/in/{id}"}},
  {"id":"plain","path":"/plain","backend":{"type":"http","cluster":"c"}}]}]}`

// TestReturnedBuffersOutliveTheirCallback: what the host returned in one callback (header
// values, the source address) and the plugin still reads in a later one is valid then, after
// other requests' callbacks have reused the host's buffers (the fake host poisons what it
// reuses, as plugin/abi's arena reuses it): a request held for its body is resumed on its own
// headers and address, and a CORS response echoes the request's Origin.
func TestReturnedBuffersOutliveTheirCallback(t *testing.T) {
	const origin = "https://app.example.com"
	source := map[string]string{propSourceAddress: "10.1.2.3:5000"}
	for _, c := range []struct {
		name     string
		headers  [][2]string
		body     string // "": the headers end the request
		wantPath string
	}{
		{"held for its body", append(formHeaders("/release/form"), [2]string{"origin", origin}), "name=a", "/form"},
		{"not held", [][2]string{{":authority", "s.example.com"}, {":method", "GET"}, {":path", "/release/g/7"}, {"origin", origin}}, "", "/in/7"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tv, ok := startVM(t, heldConfig)
			if !ok {
				t.Fatalf("start failed: %q", tv.host.logs)
			}
			id, s, act := tv.request(c.headers, c.body == "", source)
			if c.body != "" && act != abi.Pause {
				t.Fatalf("the request was not held: %v %+v", act, s.reply)
			}
			// Other requests in between: their callbacks reuse the host's buffers.
			for i := range 3 {
				oid, os, _ := tv.request([][2]string{{":authority", "s.example.com"}, {":method", "GET"},
					{":path", "/release/plain/" + strings.Repeat("x", 40*i)}, {"x-other", strings.Repeat("y", 100)}}, true,
					map[string]string{propSourceAddress: "192.168.9.9:1"})
				tv.respond(oid, [][2]string{{":status", "200"}}, true, nil)
				tv.finish(oid)
				if get(os.request, "x-real-ip") != "192.168.9.9" {
					t.Fatalf("other request: %v %+v", os.request, os.reply)
				}
			}
			if c.body != "" {
				tv.host.enter(id)
				s.body = []byte(c.body)
				if act := tv.vm.OnRequestBody(id, len(s.body), true); act != abi.Continue || s.reply != nil {
					t.Fatalf("body: %v %+v", act, s.reply)
				}
			}
			if get(s.request, ":path") != c.wantPath || get(s.request, "x-real-ip") != "10.1.2.3" || get(s.request, "x-api-id") != "form" && c.body != "" {
				t.Fatalf("upstream headers: %q", s.request)
			}
			tv.respond(id, [][2]string{{":status", "200"}}, true, nil)
			if get(s.response, "access-control-allow-origin") != origin || get(s.response, "access-control-allow-credentials") != "true" {
				t.Fatalf("response headers: %q", s.response)
			}
			tv.finish(id)
		})
	}
}
