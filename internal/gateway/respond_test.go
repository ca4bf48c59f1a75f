package gateway

import (
	"testing"

	"github.com/apigw-wasm/apigw-wasm/internal/config"
	"github.com/apigw-wasm/apigw-wasm/internal/limit"
	"github.com/apigw-wasm/apigw-wasm/internal/reply"
)

// fakeResponse is a response view; it counts what Respond reads, since each read is a host call.
type fakeResponse struct {
	status  int
	details string
	flags   uint64
	vary    []string
	reads   map[string]int
}

func (r *fakeResponse) Status() int { r.reads["status"]++; return r.status }
func (r *fakeResponse) Failure() (string, uint64) {
	r.reads["failure"]++
	return r.details, r.flags
}
func (r *fakeResponse) Values(name string) []string {
	r.reads["values:"+name]++
	if name == "vary" {
		return r.vary
	}
	return nil
}

const respondConfig = `{"services": [{"id": "svc", "default_domain": "api.example.com", "apis": [
  {"id": "limited", "path": "/l", "max_requests_per_second": 5, "cors": true, "backend": {"type": "http", "cluster": "c"}},
  {"id": "plain", "path": "/p", "backend": {"type": "http", "cluster": "c"}},
  {"id": "auth", "path": "=/auth", "business_type": "oauth", "oauth_config": {"public_key": {"kty": "EC", "crv": "P-256",
    "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}},
   "backend": {"type": "http", "cluster": "authsrv"}}]}]}`

func TestRespond(t *testing.T) {
	cfg, err := config.Load([]byte(respondConfig))
	if err != nil {
		t.Fatal(err)
	}
	g := New(cfg, &limit.Memory{})
	const upstreamReset = "upstream_reset_before_response_started{remote_connection_failure}"
	for _, tt := range []struct {
		name    string
		path    string
		origin  string
		resp    fakeResponse
		code    reply.Code // the answer that replaces the response; None: it passes
		headers map[string]string
		noReads []string // what Respond must not read (a host call it does not need)
	}{
		{name: "upstream 200", path: "/release/p", resp: fakeResponse{status: 200},
			headers: map[string]string{"x-api-requestid": "rid"}, noReads: []string{"failure", "values:vary"}},
		{name: "limit headers on the upstream's answer", path: "/release/l", resp: fakeResponse{status: 200},
			headers: map[string]string{"x-api-requestid": "rid", "X-Api-RateLimit": "4/5", "X-UsagePlan-Quota": "unlimited"}},
		{name: "upstream's own 503 passes", path: "/release/p", resp: fakeResponse{status: 503, details: "via_upstream"},
			headers: map[string]string{"x-api-requestid": "rid"}},
		{name: "refused", path: "/release/p", resp: fakeResponse{status: 503, details: upstreamReset, flags: flagUpstreamFailure}, code: reply.BadGateway},
		{name: "reset", path: "/release/p", resp: fakeResponse{status: 503, details: "upstream_reset_before_response_started{connection_termination}", flags: flagUpstreamRemote}, code: reply.BadGateway},
		{name: "no cluster", path: "/release/p", resp: fakeResponse{status: 503, details: "cluster_not_found", flags: flagNoCluster}, code: reply.BadGateway},
		{name: "dns", path: "/release/p", resp: fakeResponse{status: 503, details: "dns_resolution_failure{x}", flags: flagDNSFailure}, code: reply.BadGateway},
		{name: "timeout", path: "/release/p", resp: fakeResponse{status: 504, details: "response_timeout", flags: flagUpstreamTimeout}, code: reply.GatewayTimeout},
		{name: "authorization api refused", path: "/release/auth", resp: fakeResponse{status: 503, details: upstreamReset, flags: flagUpstreamFailure}, code: reply.OAuthCallServerFail},
		{name: "authorization api timeout", path: "/release/auth", resp: fakeResponse{status: 504, details: "response_timeout", flags: flagUpstreamTimeout}, code: reply.OAuthCallServerFail},
		{name: "failure keeps the limit headers", path: "/release/l", resp: fakeResponse{status: 503, details: upstreamReset, flags: flagUpstreamFailure},
			code: reply.BadGateway, headers: map[string]string{"X-Api-RateLimit": "4/5"}},
		{name: "vary merged", path: "/release/l", origin: "http://other.example", resp: fakeResponse{status: 200, vary: []string{"Accept-Encoding"}},
			headers: map[string]string{"vary": "Accept-Encoding, Origin", "access-control-allow-origin": "http://other.example"}},
		{name: "vary star stays", path: "/release/l", origin: "http://other.example", resp: fakeResponse{status: 200, vary: []string{"*"}},
			headers: map[string]string{"vary": "*"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := headerMap{}
			if tt.origin != "" {
				h["origin"] = tt.origin
			}
			g.store = &limit.Memory{} // every case starts with full buckets
			d := g.Handle(&Request{Authority: "api.example.com", Method: "GET", Path: tt.path, Headers: h, RequestID: "rid", Source: "10.0.0.1:1"})
			if d.Reply != nil {
				t.Fatalf("request answered %d %s", d.Reply.Status, d.Reply.Message)
			}
			tt.resp.reads = map[string]int{}
			act := g.Respond(d, &tt.resp)
			got := act.SetHeaders
			if tt.code != reply.None {
				if act.Reply == nil || act.Reply.Code != tt.code || act.Reply.Status != tt.code.Status() ||
					string(act.Reply.Body) != string(reply.JSONMessage(tt.code.Message(""))) || act.SetHeaders != nil {
					t.Fatalf("got %+v, want the answer %v", act, tt.code)
				}
				got = act.Reply.Headers
				if !hasHeader(got, "x-api-requestid", "rid") || !hasHeader(got, "content-type", reply.ContentType) {
					t.Fatalf("answer headers %v", got)
				}
			} else if act.Reply != nil {
				t.Fatalf("response replaced by %d %s", act.Reply.Status, act.Reply.Message)
			}
			for k, v := range tt.headers {
				if !hasHeader(got, k, v) {
					t.Errorf("header %s: %q missing from %v", k, v, got)
				}
			}
			for _, r := range tt.noReads {
				if tt.resp.reads[r] != 0 {
					t.Errorf("read %s, which this response does not need", r)
				}
			}
		})
	}
}

func TestClientClosed(t *testing.T) {
	for _, tt := range []struct {
		flags uint64
		want  bool
	}{{0, false}, {flagDownstreamClosed, true}, {flagDownstreamReset, true}, {flagUpstreamFailure, false}} {
		e := ClientClosed(tt.flags)
		if (e != nil) != tt.want || e != nil && (e.Code != reply.ClientClosed || e.Status() != 499 || e.Error() != "Client closed connetion.") {
			t.Errorf("ClientClosed(%#x) = %v", tt.flags, e)
		}
	}
}

func BenchmarkRespond(b *testing.B) {
	g := newGateway(b)
	d := g.Handle(&Request{Authority: "api.example.com", Method: "GET", Path: "/users/7/orders/9?x=1", Headers: headerMap{}, RequestID: "rid", Source: "10.1.2.3:4444"})
	r := &fakeResponse{status: 200, reads: map[string]int{}}
	b.ReportAllocs()
	for b.Loop() {
		if act := g.Respond(d, r); act.Reply != nil {
			b.Fatal(act.Reply.Message)
		}
	}
}
