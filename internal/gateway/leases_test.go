package gateway

import (
	"fmt"
	"testing"
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/config"
	"github.com/apigw-wasm/apigw-wasm/internal/limit"
	"github.com/apigw-wasm/apigw-wasm/internal/limit/lease"
	"github.com/apigw-wasm/apigw-wasm/internal/limit/wire"
	"github.com/apigw-wasm/apigw-wasm/internal/reply"
)

const globalConfig = `{
  "limits": {"mode": "global", "on_store_failure": "%s"},
  "services": [{"id": "svc", "default_domain": "svc.example.com", "apis": [
    {"id": "q", "path": "=/q", "max_requests_per_second": 100, "backend": {"type": "http", "cluster": "c"}},
    {"id": "form", "path": "=/form", "method": "POST", "max_requests_per_second": 100,
     "parameters": [{"name": "name", "position": "body", "required": true}], "backend": {"type": "http", "cluster": "c"}},
    {"id": "hidden", "path": "=/hidden", "max_requests_per_second": 100, "ip_allow": ["10.0.0.0/8"], "backend": {"type": "mock", "body": ""}}
  ]}]
}`

var leaseNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// newGlobalGateway is a gateway in the global mode over one VM's lease client.
func newGlobalGateway(t *testing.T, onFailure string) *Gateway {
	t.Helper()
	cfg, err := config.Load([]byte(fmt.Sprintf(globalConfig, onFailure)))
	if err != nil {
		t.Fatal(err)
	}
	store := &limit.Memory{}
	g := New(cfg, store)
	g.Clock = func() time.Time { return leaseNow }
	g.Leases, err = lease.NewClient(store, cfg.Limits.Policy(), cfg.Limits.OnStoreFailure)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// storeAnswer is the store's answer to a take call: ok takes, rem remaining.
func storeAnswer(t *testing.T, p *lease.Pending, ok bool, rem int64) []byte {
	t.Helper()
	req, err := wire.ParseRequest(p.Call().Body)
	if err != nil || !req.Take {
		t.Fatalf("the take call %s: %v", p.Call().Body, err)
	}
	a := wire.Answer{Now: leaseNow.UnixMilli(), OK: ok}
	for range req.Ops {
		a.Ops = append(a.Ops, wire.Result{Remaining: rem, Over: !ok, Until: map[bool]int64{true: 0, false: 500}[ok]})
	}
	return wire.AppendAnswer(nil, &a)
}

func responseHeader(d *Decision, name string) string {
	hs := d.ResponseHeaders
	if d.Reply != nil {
		hs = d.Reply.Headers
	}
	for _, kv := range hs {
		if kv[0] == name {
			return kv[1]
		}
	}
	return ""
}

// TestGlobalLimitsWait: in the global mode a request without a lease waits for the store; the
// answer lets it pass, refuses it, or (the store failing) leaves it to on_store_failure; the
// Decision is final only then.
func TestGlobalLimitsWait(t *testing.T) {
	for _, tt := range []struct {
		name, onFailure string
		status          int
		ok              bool
		wantCode        reply.Code
		wantPass        bool
		denied          bool
		header          string
	}{
		{"admitted", "local", 200, true, reply.None, true, false, "42/100"},
		{"refused", "local", 200, false, reply.RateLimitExceeded, false, false, "0/100"},
		{"store failed, local", "local", 0, false, reply.None, true, false, "99/100"},
		{"store failed, deny", "deny", 0, false, reply.InternalServerError, false, true, "100/100"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := newGlobalGateway(t, tt.onFailure)
			d := g.Handle(&Request{Authority: "svc.example.com", Method: "GET", Path: "/release/q", Headers: headerMap{}, RequestID: "id1", Source: "127.0.0.1:1"})
			if d.LimitsWait == nil || d.Reply != nil || d.SetHeaders != nil || d.ResponseHeaders != nil || !d.LimitsSync {
				t.Fatalf("the first request did not wait alone: %+v", d)
			}
			p := d.LimitsWait
			var body []byte
			if tt.status == 200 {
				body = storeAnswer(t, p, tt.ok, 42)
			}
			d.LimitsSync = false
			g.ResumeLimits(d, tt.status, body)
			// A fast failure is sent again, up to twice (lease: resends).
			for i := 0; tt.status == 0 && d.LimitsWait != nil && i < 2; i++ {
				g.ResumeLimits(d, 0, nil)
			}
			if d.LimitsWait != nil {
				t.Fatal("still waiting")
			}
			if tt.wantPass {
				if d.Reply != nil || get(d, "x-apigw-cluster") != "c" {
					t.Fatalf("not routed: %+v", d.Reply)
				}
			} else if d.Reply == nil || d.Reply.Code != tt.wantCode {
				t.Fatalf("reply %+v, want %v", d.Reply, tt.wantCode)
			}
			if d.LimitsDenied != tt.denied || tt.denied && d.Reply.Details != limitStoreDetails {
				t.Fatalf("denied %v, details %q", d.LimitsDenied, d.Reply.Details)
			}
			if got := responseHeader(d, "X-Api-RateLimit"); got != tt.header {
				t.Fatalf("X-Api-RateLimit %q, want %q", got, tt.header)
			}
		})
	}
}

// TestGlobalLimitsThenBody: one request pauses twice, for the store and then for its body.
func TestGlobalLimitsThenBody(t *testing.T) {
	g := newGlobalGateway(t, "local")
	d := g.Handle(&Request{Authority: "svc.example.com", Method: "POST", Path: "/release/form",
		Headers: headerMap{"content-type": "application/x-www-form-urlencoded"}, RequestID: "id2", Source: "127.0.0.1:1"})
	if d.LimitsWait == nil || d.NeedBody {
		t.Fatalf("no wait for the store first: %+v", d)
	}
	g.ResumeLimits(d, 200, storeAnswer(t, d.LimitsWait, true, 99))
	if !d.NeedBody || d.Reply != nil || d.LimitsWait != nil {
		t.Fatalf("no pause for the body after the store: %+v", d)
	}
	g.Resume(d, []byte("name=a"))
	if d.NeedBody || d.Reply != nil || get(d, "x-apigw-cluster") != "c" {
		t.Fatalf("not routed after both pauses: %+v", d)
	}
}

// TestGlobalLimitsPeek: a request refused before step 10 shows the leases' counts without
// taking, and never waits.
func TestGlobalLimitsPeek(t *testing.T) {
	g := newGlobalGateway(t, "local")
	d := g.Handle(&Request{Authority: "svc.example.com", Method: "GET", Path: "/release/hidden", Headers: headerMap{}, RequestID: "id4", Source: "127.0.0.1:1"})
	if d.LimitsWait != nil || d.Reply == nil || d.Reply.Code != reply.IPNotAllowed {
		t.Fatalf("%+v", d)
	}
	if got := responseHeader(d, "X-Api-RateLimit"); got != "100/100" {
		t.Fatalf("X-Api-RateLimit %q", got)
	}
}
