package gateway

import (
	"reflect"
	"testing"

	"github.com/apigw-wasm/apigw-wasm/internal/config"
	"github.com/apigw-wasm/apigw-wasm/internal/limit"
	"github.com/apigw-wasm/apigw-wasm/internal/reply"
)

const testConfig = `{
  "services": [{
    "id": "svc",
    "default_domain": "svc-1250000000.gz.apigw.tencentcs.com",
    "custom_domains": [
      {"host": "api.example.com", "path_mappings": [{"path": "/", "environment": "release"}, {"path": "/dev", "environment": "test"}]},
      {"host": "secure.example.com", "protocols": ["https"]},
      {"host": "plain.example.com", "protocols": ["http"]},
      {"host": "force.example.com", "force_https": true}
    ],
    "apis": [
      {"id": "exact", "path": "=/a/b", "method": "GET", "backend": {"type": "mock", "body": "exact"}},
      {"id": "prefix", "path": "^~/a", "method": "GET", "backend": {"type": "http", "cluster": "c1", "path": "/base/"}},
      {"id": "tmpl", "path": "/users/{id}/orders/{oid}", "method": "ANY",
       "backend": {"type": "http", "cluster": "users", "path": "/u/{id}/o/{oid}", "host": "users.internal", "timeout_seconds": 3}},
      {"id": "plain", "path": "/p", "method": "POST", "backend": {"type": "http", "cluster": "c2"}},
      {"id": "broken", "path": "=/broken", "backend": {"type": "mock"}},
      {"id": "only-prepub", "path": "/x", "environments": ["prepub"], "backend": {"type": "mock", "body": "{}"}},
      {"id": "ws", "path": "=/ws", "protocol": "WEBSOCKET", "backend": {"type": "websocket", "cluster": "ws", "path": "/ws"}},
      {"id": "url", "path": "^~/ext", "backend": {"type": "http", "url": "http://10.0.0.5:8080/base"}}
    ]
  }, {
    "id": "empty",
    "default_domain": "empty.example.com",
    "apis": [{"id": "e", "path": "/", "environments": ["release"], "backend": {"type": "mock", "body": ""}}]
  }]
}`

type headerMap map[string]string

func (h headerMap) Get(name string) (string, bool) {
	v, ok := h[name]
	return v, ok
}

func (h headerMap) Values(name string) []string {
	if v, ok := h[name]; ok {
		return []string{v}
	}
	return nil
}

func newGateway(t testing.TB) *Gateway {
	t.Helper()
	cfg, err := config.Load([]byte(testConfig))
	if err != nil {
		t.Fatal(err)
	}
	return New(cfg, &limit.Memory{})
}

func get(d *Decision, name string) string {
	for _, kv := range d.SetHeaders {
		if kv[0] == name {
			return kv[1]
		}
	}
	return ""
}

func TestPipelineErrors(t *testing.T) {
	g := newGateway(t)
	tests := []struct {
		name      string
		authority string
		method    string
		path      string
		tls       bool
		headers   headerMap
		code      reply.Code
		message   string
	}{
		{"no host", "", "GET", "/", false, nil, reply.HostNotFound, "Not Found Host."},
		{"bad host", "a b", "GET", "/", false, nil, reply.HostInvalid, "Get Host Fail."},
		{"bad port", "api.example.com:99999", "GET", "/", false, nil, reply.HostInvalid, "Get Host Fail."},
		{"unknown host", "nope.example.com:8080", "GET", "/", false, nil, reply.NoAPIForHost, "There is no api match host[nope.example.com]."},
		{"default env", "svc-1250000000.gz.apigw.tencentcs.com", "GET", "/prod/a?x=1", false, nil, reply.NoDefaultEnvMapping, "There is no api match default env_mapping[/prod]."},
		{"default env root", "svc-1250000000.gz.apigw.tencentcs.com", "GET", "/", false, nil, reply.NoDefaultEnvMapping, "There is no api match default env_mapping[/]."},
		{"no published api", "svc-1250000000.gz.apigw.tencentcs.com", "GET", "/release/zzz", false, nil, reply.NoAPIForURI, "There is no api match uri[/zzz]."},
		{"empty env", "empty.example.com", "GET", "/test/a", false, nil, reply.NoAPIInEnvironment, "Found no api."},
		{"https only", "secure.example.com", "GET", "/release/a/b", false, nil, reply.HTTPNotAllowed, "Not allow use HTTP protocol."},
		{"http only", "plain.example.com", "GET", "/release/a/b", true, nil, reply.HTTPSNotAllowed, "Not allow use HTTPS protocol."},
		{"method", "api.example.com", "TRACE", "/a/b", false, nil, reply.MethodNotSupported, "Could not support method."},
		{"405", "api.example.com", "DELETE", "/a/b", false, nil, reply.MethodNotAllowed, "Method Not Allowed."},
		{"404 uri", "api.example.com", "GET", "/nothing?q=1", false, nil, reply.NoAPIForURI, "There is no api match uri[/nothing]."},
		{"404 uri under mapping", "api.example.com", "GET", "/dev/nothing", false, nil, reply.NoAPIForURI, "There is no api match uri[/nothing]."},
		{"481", "api.example.com", "GET", "/broken", false, nil, reply.MockConfigError, "Mock config error."},
		{"ws to http api", "api.example.com", "GET", "/a/b", false, headerMap{"upgrade": "websocket"}, reply.ProtocolNotAllowed, "Not allow use WS protocol."},
		{"wss to http api", "api.example.com", "GET", "/a/b", true, headerMap{"upgrade": "WebSocket"}, reply.ProtocolNotAllowed, "Not allow use WSS protocol."},
		{"preflight matches requested method", "api.example.com", "OPTIONS", "/p", false, headerMap{"access-control-request-method": "GET", "origin": "http://x"}, reply.MethodNotAllowed, "Method Not Allowed."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.headers
			if h == nil {
				h = headerMap{}
			}
			d := g.Handle(&Request{Authority: tt.authority, Method: tt.method, Path: tt.path, TLS: tt.tls,
				Headers: h, RequestID: "0123456789abcdef0123456789abcdef", Source: "127.0.0.1:5000"})
			if d.Reply == nil {
				t.Fatalf("passed; want %v", tt.code)
			}
			if d.Reply.Code != tt.code || d.Reply.Message != tt.message || d.Reply.Status != tt.code.Status() {
				t.Fatalf("got %d %v %q, want %v %q", d.Reply.Status, d.Reply.Code, d.Reply.Message, tt.code, tt.message)
			}
			if string(d.Reply.Body) != string(reply.JSONMessage(tt.message)) {
				t.Fatalf("body %s", d.Reply.Body)
			}
		})
	}
}

func TestRouting(t *testing.T) {
	g := newGateway(t)
	tests := []struct {
		name, authority, method, path string
		tls                           bool
		cluster, upPath, authorityOut string
		timeout                       string
	}{
		{"template with vars", "api.example.com", "GET", "/users/7/orders/9?x=1", false, "users", "/u/7/o/9?x=1", "users.internal", "3000"},
		{"template under /dev", "api.example.com:8080", "PUT", "/dev/users/a/b/orders/c", true, "users", "/u/a/b/o/c", "users.internal", "3000"},
		{"prefix keeps remainder", "api.example.com", "GET", "/a/x/y", false, "c1", "/base/x/y", "", "15000"},
		{"plain prefix, request path", "api.example.com", "POST", "/pest", false, "c2", "/pest", "", "15000"},
		{"default domain env stripped", "SVC-1250000000.gz.apigw.tencentcs.com", "POST", "/test/p/q", false, "c2", "/p/q", "", "15000"},
		{"url backend", "api.example.com", "GET", "/ext/v1?k=v", false, "apigw_dynamic_forward_proxy", "/base/v1?k=v", "10.0.0.5:8080", "15000"},
		{"websocket api", "api.example.com", "GET", "/ws", false, "ws", "/ws", "", "15000"},
	}
	for _, tt := range tests {
		hm := headerMap{}
		if tt.name == "websocket api" {
			hm["upgrade"] = "websocket"
			hm["sec-websocket-key"] = "dGhlIHNhbXBsZSBub25jZQ=="
			hm["sec-websocket-version"] = "13"
		}
		d := g.Handle(&Request{Authority: tt.authority, Method: tt.method, Path: tt.path, TLS: tt.tls,
			Headers: hm, RequestID: "rid", Source: "10.1.2.3:4444"})
		if d.Reply != nil {
			t.Errorf("%s: answered %d %s", tt.name, d.Reply.Status, d.Reply.Message)
			continue
		}
		proto := "http"
		if tt.tls {
			proto = "https"
		}
		want := map[string]string{"x-apigw-cluster": tt.cluster, ":path": tt.upPath, ":authority": tt.authorityOut,
			"x-envoy-upstream-rq-timeout-ms": tt.timeout, "x-api-requestid": "rid", "x-real-ip": "10.1.2.3", "x-client-proto": proto}
		for k, v := range want {
			if got := get(d, k); got != v {
				t.Errorf("%s: %s = %q, want %q", tt.name, k, got, v)
			}
		}
	}
}

func TestMockAndRedirect(t *testing.T) {
	g := newGateway(t)
	d := g.Handle(&Request{Authority: "api.example.com", Method: "GET", Path: "/a/b", Headers: headerMap{}, RequestID: "rid"})
	if d.Reply == nil || d.Reply.Status != 200 || string(d.Reply.Body) != "exact" || d.Reply.Code != reply.None {
		t.Fatalf("mock: %+v", d.Reply)
	}
	if !hasHeader(d.Reply.Headers, "content-type", "text/plain; charset=utf-8") || !hasHeader(d.Reply.Headers, "x-api-requestid", "rid") {
		t.Fatalf("mock headers: %v", d.Reply.Headers)
	}
	d = g.Handle(&Request{Authority: "force.example.com:8080", Method: "GET", Path: "/release/a/b?q=1", Headers: headerMap{}, RequestID: "rid"})
	if d.Reply == nil || d.Reply.Status != 301 || !hasHeader(d.Reply.Headers, "location", "https://force.example.com/release/a/b?q=1") {
		t.Fatalf("redirect: %+v", d.Reply)
	}
}

// TestWebSocketHeadersOnEveryRequest: a WEBSOCKET API checks Sec-WebSocket-Key, then
// Sec-WebSocket-Version, whether the request asks for an upgrade or not.
func TestWebSocketHeadersOnEveryRequest(t *testing.T) {
	g := newGateway(t)
	const key, version = "dGhlIHNhbXBsZSBub25jZQ==", "13"
	for _, c := range []struct {
		name    string
		headers headerMap
		want    reply.Code
	}{
		{"plain GET, neither", headerMap{}, reply.NeedWebSocketKey},
		{"plain GET, version only", headerMap{"sec-websocket-version": version}, reply.NeedWebSocketKey},
		{"plain GET, key only", headerMap{"sec-websocket-key": key}, reply.NeedWebSocketVersion},
		{"plain GET, both", headerMap{"sec-websocket-key": key, "sec-websocket-version": version}, reply.None},
		{"upgrade, neither", headerMap{"upgrade": "websocket"}, reply.NeedWebSocketKey},
		{"upgrade, key only", headerMap{"upgrade": "websocket", "sec-websocket-key": key}, reply.NeedWebSocketVersion},
		{"upgrade, both", headerMap{"upgrade": "websocket", "sec-websocket-key": key, "sec-websocket-version": version}, reply.None},
	} {
		d := g.Handle(&Request{Authority: "api.example.com", Method: "GET", Path: "/ws", Headers: c.headers, RequestID: "rid"})
		got := reply.None
		if d.Reply != nil {
			got = d.Reply.Code
		}
		if got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func hasHeader(h [][2]string, k, v string) bool {
	for _, kv := range h {
		if kv[0] == k && kv[1] == v {
			return true
		}
	}
	return false
}

func TestJoinPath(t *testing.T) {
	for _, tt := range [][3]string{{"/base/", "/x", "/base/x"}, {"/base", "x", "/base/x"}, {"/base/", "x", "/base/x"}, {"/base", "/x", "/base/x"}, {"/base", "", "/base"}} {
		if got := joinPath(tt[0], tt[1]); got != tt[2] {
			t.Errorf("joinPath(%q, %q) = %q, want %q", tt[0], tt[1], got, tt[2])
		}
	}
}

func BenchmarkHandle(b *testing.B) {
	g := newGateway(b)
	r := &Request{Authority: "api.example.com", Method: "GET", Path: "/users/7/orders/9?x=1", Headers: headerMap{}, RequestID: "rid", Source: "10.1.2.3:4444"}
	b.ReportAllocs()
	for b.Loop() {
		if d := g.Handle(r); d.Reply != nil {
			b.Fatal(d.Reply.Message)
		}
	}
}

// TestHandleInReuse: one Exchange reused for a run of different requests (routed with more or
// fewer upstream headers, answered, websocket) decides each exactly as a fresh Handle does.
func TestHandleInReuse(t *testing.T) {
	g := newGateway(t)
	ws := headerMap{"upgrade": "websocket", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13"}
	reqs := []Request{
		{Authority: "api.example.com", Method: "GET", Path: "/users/7/orders/9?x=1", Headers: headerMap{}, Source: "10.1.2.3:4444"},
		{Authority: "api.example.com", Method: "GET", Path: "/a/b", Headers: headerMap{}},
		{Authority: "api.example.com", Method: "GET", Path: "/ext/v1?k=v", Headers: headerMap{}, TLS: true},
		{Authority: "nope.example.com", Method: "GET", Path: "/", Headers: headerMap{}},
		{Authority: "api.example.com", Method: "GET", Path: "/ws", Headers: ws, Source: "[::1]:80"},
		{Authority: "api.example.com", Method: "POST", Path: "/pest", Headers: headerMap{}},
	}
	type exported struct {
		Reply                       *Reply
		SetHeaders, ResponseHeaders [][2]string
		NeedBody                    bool
		Body                        []byte
		API                         string
	}
	view := func(d *Decision) exported {
		e := exported{Reply: d.Reply, SetHeaders: d.SetHeaders, ResponseHeaders: d.ResponseHeaders, NeedBody: d.NeedBody, Body: d.Body}
		if d.API != nil {
			e.API = d.API.ID
		}
		return e
	}
	var x Exchange
	for round := range 3 {
		for i := range reqs {
			r := reqs[(i*(round+1))%len(reqs)]
			r.RequestID = "rid"
			fresh := r
			want := view(g.Handle(&fresh))
			if got := view(g.HandleIn(&x, &r)); !reflect.DeepEqual(got, want) {
				t.Fatalf("round %d, %s %s: reused exchange decided\n%+v\nfresh\n%+v", round, r.Method, r.Path, got, want)
			}
		}
	}
}
