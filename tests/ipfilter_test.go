package tests

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/apigw-wasm/apigw-wasm/testkit/envoyproc"
)

// ipConfig exercises docs/gateway.md section 3, step 7: ip_allow / ip_deny of services and APIs,
// IPv4 and IPv6. Clients come from 127.0.0.1 (the "http" listener), ::1 (the "http6" listener the
// test adds) and a unix socket.
const ipConfig = `{
  "services": [
    {"id": "service-ip", "default_domain": "ip.example.com",
     "apis": [
       {"id": "api-open", "path": "=/open", "backend": {"type": "http", "cluster": "up"}},
       {"id": "api-allow-v4", "path": "=/allow-v4", "ip_allow": ["127.0.0.0/8"], "backend": {"type": "http", "cluster": "up"}},
       {"id": "api-allow-host", "path": "=/allow-host", "ip_allow": ["192.168.1.1", "127.0.0.1"], "backend": {"type": "http", "cluster": "up"}},
       {"id": "api-allow-other", "path": "=/allow-other", "ip_allow": ["10.0.0.0/8", "127.0.0.2", "fd00::/8"], "backend": {"type": "http", "cluster": "up"}},
       {"id": "api-deny-v4", "path": "=/deny-v4", "ip_deny": ["127.0.0.1/32"], "backend": {"type": "http", "cluster": "up"}},
       {"id": "api-deny-net", "path": "=/deny-net", "ip_deny": ["127.0.0.0/30"], "backend": {"type": "http", "cluster": "up"}},
       {"id": "api-deny-other", "path": "=/deny-other", "ip_deny": ["10.0.0.0/8", "127.0.0.2"], "backend": {"type": "http", "cluster": "up"}},
       {"id": "api-deny-wins", "path": "=/deny-wins", "ip_allow": ["127.0.0.0/8", "::/0"], "ip_deny": ["127.0.0.1", "::1/128"], "backend": {"type": "http", "cluster": "up"}},
       {"id": "api-allow-v6", "path": "=/allow-v6", "ip_allow": ["::1/128"], "backend": {"type": "http", "cluster": "up"}},
       {"id": "api-allow-v6-net", "path": "=/allow-v6-net", "ip_allow": ["::/120"], "backend": {"type": "http", "cluster": "up"}},
       {"id": "api-deny-v6-all", "path": "=/deny-v6-all", "ip_deny": ["::/0"], "backend": {"type": "http", "cluster": "up"}},
       {"id": "api-mapped", "path": "=/mapped", "ip_allow": ["::ffff:127.0.0.0/104"], "backend": {"type": "http", "cluster": "up"}},
       {"id": "api-order", "path": "=/order", "ip_deny": ["127.0.0.1"],
        "parameters": [{"name": "X-Need", "position": "header", "required": true}], "backend": {"type": "http", "cluster": "up"}}
     ]},
    {"id": "service-ip-deny", "default_domain": "deny.ip.example.com", "ip_deny": ["127.0.0.0/8", "::1"],
     "apis": [
       {"id": "api-rescue", "path": "=/rescue", "ip_allow": ["127.0.0.1", "::1"], "backend": {"type": "http", "cluster": "up"}},
       {"id": "api-plain", "path": "=/plain", "backend": {"type": "http", "cluster": "up"}}
     ]},
    {"id": "service-ip-allow", "default_domain": "allow.ip.example.com", "ip_allow": ["127.0.0.1", "::1"],
     "apis": [
       {"id": "api-none", "path": "=/none", "backend": {"type": "http", "cluster": "up"}},
       {"id": "api-deny", "path": "=/deny", "ip_deny": ["127.0.0.1"], "backend": {"type": "http", "cluster": "up"}},
       {"id": "api-narrow", "path": "=/narrow", "ip_allow": ["::1"], "backend": {"type": "http", "cluster": "up"}}
     ]},
    {"id": "service-ip-narrow", "default_domain": "narrow.ip.example.com", "ip_allow": ["10.0.0.0/8"],
     "apis": [
       {"id": "api-widen", "path": "=/widen", "ip_allow": ["127.0.0.1", "::1"], "backend": {"type": "http", "cluster": "up"}}
     ]}
  ]
}`

// ipGateway is the gateway of this file, with a second plain listener, "http6", on [::1].
// The connection manager sets use_remote_address, as an edge proxy must: otherwise Envoy takes
// the client address from X-Forwarded-For (see TestIPFilterForwardedForCannotSpoof).
func ipGateway(t *testing.T) (*Gateway, *Upstream, string) {
	t.Helper()
	up := SharedUpstream(t, "ip-up")
	g := SharedGateway(t, "ipfilter", Options{
		PluginConfig: ipConfig,
		Clusters:     map[string]string{"up": up.Addr},
		UnixSocket:   true,
		HCM:          map[string]any{"use_remote_address": true},
		Bootstrap: func(b map[string]any) {
			static := b["static_resources"].(map[string]any)
			listeners := static["listeners"].([]any)
			var v6 map[string]any
			for _, l := range listeners {
				if l := l.(map[string]any); l["name"] == "http" {
					v6 = map[string]any{"name": "http6", "filter_chains": l["filter_chains"],
						"address": map[string]any{"socket_address": map[string]any{"address": "::1", "port_value": 0}}}
				}
			}
			static["listeners"] = append(listeners, v6)
		},
	})
	return g, up, ip6Listener(t, g)
}

// ip6Listener returns the [::1]:port address of the "http6" listener.
func ip6Listener(t *testing.T, g *Gateway) string {
	t.Helper()
	ls, err := envoyproc.Listeners(g.AdminURL)
	if err != nil || ls["http6"] == "" {
		t.Fatalf("no http6 listener: %v %v", ls, err)
	}
	return ls["http6"]
}

// do6 sends a GET from ::1 to the gateway's IPv6 listener.
func do6(t *testing.T, addr, host, path string) Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	tr := &http.Transport{DialContext: func(ctx context.Context, _, a string) (net.Conn, error) {
		return (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv6loopback}}).DialContext(ctx, "tcp6", a)
	}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, Proto: resp.Proto, Header: resp.Header, Body: string(b)}
}

const ipDenied = "Your IP address is not allowed."

type ipCase struct {
	host, path string
	v4, v6     int // expected status from 127.0.0.1 and from ::1: 200 passes, 403 is ipDenied
}

// TestIPFilterLists: allow and deny lists, CIDRs and single addresses, IPv4 and IPv6, on APIs
// and services, judged from 127.0.0.1 and from ::1. Every refusal is 403 ipDenied and never
// reaches the upstream; every pass does, with x-real-ip the client's address.
func TestIPFilterLists(t *testing.T) {
	g, up, addr6 := ipGateway(t)
	const svc, deny, allow, narrow = "ip.example.com", "deny.ip.example.com", "allow.ip.example.com", "narrow.ip.example.com"
	for _, c := range []ipCase{
		{svc, "/release/open", 200, 200},
		{svc, "/release/allow-v4", 200, 403},     // an IPv4 allow list refuses IPv6 clients
		{svc, "/release/allow-host", 200, 403},   // a single address in the list
		{svc, "/release/allow-other", 403, 403},  // a non-empty allow list must contain the address
		{svc, "/release/deny-v4", 403, 200},      // deny /32
		{svc, "/release/deny-net", 403, 200},     // deny CIDR
		{svc, "/release/deny-other", 200, 200},   // other addresses denied
		{svc, "/release/deny-wins", 403, 403},    // in both lists: deny wins
		{svc, "/release/allow-v6", 403, 200},     // an IPv6-only allow list refuses 127.0.0.1
		{svc, "/release/allow-v6-net", 403, 200}, // ::1 in ::/120
		{svc, "/release/deny-v6-all", 200, 403},  // ::/0 does not cover IPv4
		{svc, "/release/mapped", 200, 403},       // an IPv4-mapped rule is the IPv4 rule
		{deny, "/release/rescue", 403, 403},      // the API's allow cannot undo the service's deny
		{deny, "/release/plain", 403, 403},       // the service's list covers every API
		{allow, "/release/none", 200, 200},       // service allow list alone
		{allow, "/release/deny", 403, 200},       // then the API's deny still applies
		{allow, "/release/narrow", 403, 200},     // the API's allow narrows the service's
		{narrow, "/release/widen", 403, 403},     // and cannot widen it
	} {
		for _, from := range []string{"127.0.0.1", "::1"} {
			want := c.v4
			if from == "::1" {
				want = c.v6
			}
			t.Run(c.host+c.path+" from "+from, func(t *testing.T) {
				before := up.Count()
				var r Response
				if from == "::1" {
					r = do6(t, addr6, c.host, c.path)
				} else {
					r = g.Do(t, Request{Host: c.host, Path: c.path})
				}
				switch want {
				case 200:
					if r.Status != 200 {
						t.Fatalf("got %d %q, want it through", r.Status, r.Message())
					}
					if rec := up.Last(t); rec.Header.Get("X-Real-Ip") != from {
						t.Errorf("upstream x-real-ip %q, want %s", rec.Header.Get("X-Real-Ip"), from)
					}
				default:
					if r.Status != 403 || r.Message() != ipDenied {
						t.Fatalf("got %d %q, want 403 %q", r.Status, r.Message(), ipDenied)
					}
					checkGatewayReply(t, r)
					if n := up.Count() - before; n != 0 {
						t.Errorf("the upstream saw the refused request")
					}
				}
			})
		}
	}
}

// TestIPFilterStepOrder: step 7 comes before CORS (8) and parameters (11).
func TestIPFilterStepOrder(t *testing.T) {
	g, _, _ := ipGateway(t)
	RunCases(t, g, []Case{
		replyCase(Case{Name: "before parameters", Req: Request{Host: "ip.example.com", Path: "/release/order"},
			Status: 403, Message: ipDenied}),
		replyCase(Case{Name: "before cors", Req: Request{Host: "ip.example.com", Path: "/release/order",
			Header: http.Header{"Origin": {"https://app.example.com"}}}, Status: 403, Message: ipDenied}),
	})
}

// TestIPFilterUnixSocket: a request on the unix-socket listener has no client IP: APIs whose
// service or own lists restrict addresses refuse it, others serve it.
func TestIPFilterUnixSocket(t *testing.T) {
	g, up, _ := ipGateway(t)
	const unknown = "Cannot identify the client IP address, unix domain sockets are not supported."
	before := up.Count()
	var cases []Case
	for _, c := range []struct{ host, path string }{
		{"ip.example.com", "/release/allow-v4"},
		{"ip.example.com", "/release/deny-other"}, // a deny list alone needs the address too
		{"ip.example.com", "/release/deny-v6-all"},
		{"allow.ip.example.com", "/release/none"}, // the service's list
		{"deny.ip.example.com", "/release/plain"},
	} {
		cases = append(cases, replyCase(Case{Name: c.host + c.path, Req: Request{Unix: true, Host: c.host, Path: c.path},
			Status: 403, Message: unknown}))
	}
	// Not even a forwarded address makes it one.
	cases = append(cases, replyCase(Case{Name: "with X-Forwarded-For", Req: Request{Unix: true, Host: "ip.example.com", Path: "/release/allow-other",
		Header: http.Header{"X-Forwarded-For": {"10.1.2.3"}}}, Status: 403, Message: unknown}))
	RunCases(t, g, cases)
	if n := up.Count() - before; n != 0 {
		t.Errorf("the upstream saw %d refused requests", n)
	}
	r := g.Do(t, Request{Unix: true, Host: "ip.example.com", Path: "/release/open"})
	if r.Status != 200 {
		t.Fatalf("an API without lists over the unix socket: %d %q", r.Status, r.Message())
	}
	if rec := up.Last(t); rec.Header.Get("X-Real-Ip") != "" {
		t.Errorf("x-real-ip %q for a unix-socket client", rec.Header.Get("X-Real-Ip"))
	}
}

// TestIPFilterForwardedForCannotSpoof: with use_remote_address (an edge proxy), the address
// judged is the connection's, whatever X-Forwarded-For or X-Real-IP say.
func TestIPFilterForwardedForCannotSpoof(t *testing.T) {
	g, up, _ := ipGateway(t)
	for _, h := range []http.Header{
		{"X-Forwarded-For": {"10.1.2.3"}},
		{"X-Forwarded-For": {"127.0.0.2, 10.1.2.3"}},
		{"X-Real-Ip": {"10.1.2.3"}},
	} {
		r := g.Do(t, Request{Host: "ip.example.com", Path: "/release/allow-other", Header: h})
		if r.Status != 403 || r.Message() != ipDenied {
			t.Errorf("%v: got %d %q, want 403", h, r.Status, r.Message())
		}
		r = g.Do(t, Request{Host: "ip.example.com", Path: "/release/open", Header: h})
		if rec := up.Last(t); r.Status != 200 || rec.Header.Get("X-Real-Ip") != "127.0.0.1" {
			t.Errorf("%v: %d, upstream x-real-ip %q, want 127.0.0.1", h, r.Status, rec.Header.Get("X-Real-Ip"))
		}
	}
}
