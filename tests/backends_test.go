package tests

// Backends (docs/gateway.md section 3 steps 12-13, section 8): microservice backends, url backends
// through the dynamic forward proxy cluster with endpoint_deny, and the response path against real
// misbehaving upstreams (refused, reset, closed, stalled, answering 5xx themselves) and clients
// that go away. One shared gateway carries every API of this file and of metrics_test.go; its
// second listener, "deny", has a plugin configuration of its own, with a custom endpoint_deny. An
// access log line per request shows what Envoy recorded (response flags, code details).
//
// The upstream path of a microservice backend, as observed: the entry's "path" with the API's
// {var}s filled, followed, for a prefix API, by the request path after the prefix (one slash
// between); an entry without "path" sends the request path after the environment part as it
// is. The query is kept, :authority is the client's, the route timeout is the backend's
// timeout_seconds (default 15).

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const backendsHost = "backends.example.com"

// backendsConfig: @URL@ is the url upstream's host:port, @PORT@ its port. The microservice APIs
// api-ms-* route ("ns","a") to cluster ms_a, with an entry path, and ("ns","b") to ms_b,
// without; they differ in where namespace and service name are read (header, query, path).
const backendsConfig = `{
  "services": [{
    "id": "service-backends",
    "default_domain": "backends.example.com",
    "apis": [
      {"id": "api-ms-hq", "path": "/ms-hq", "method": "ANY",
       "backend": {"type": "microservice", "namespace_location": "method.req.header.X-NameSpace-Code", "service_location": "method.req.query.svc",
                   "microservices": [{"namespace": "ns", "name": "a", "cluster": "ms_a", "path": "/"}, {"namespace": "ns", "name": "b", "cluster": "ms_b"},
                                     {"namespace": "ns", "name": "ghost", "cluster": "no_such_cluster"}]}},
      {"id": "api-ms-path", "path": "/ms/{ns}/{svc}", "method": "ANY",
       "backend": {"type": "microservice", "namespace_location": "method.req.path.ns", "service_location": "method.req.path.svc",
                   "microservices": [{"namespace": "ns", "name": "a", "cluster": "ms_a", "path": "/"}, {"namespace": "ns", "name": "b", "cluster": "ms_b"}]}},
      {"id": "api-ms-qh", "path": "/ms-qh", "method": "ANY",
       "backend": {"type": "microservice", "namespace_location": "method.req.query.ns", "service_location": "method.req.header.X-MicroService-Name",
                   "microservices": [{"namespace": "ns", "name": "a", "cluster": "ms_a", "path": "/svc-a"}, {"namespace": "ns", "name": "b", "cluster": "ms_b"}]}},
      {"id": "api-ms-tpl", "path": "/ms-tpl/{x}/{svc}", "method": "ANY",
       "backend": {"type": "microservice", "namespace_location": "method.req.header.X-NameSpace-Code", "service_location": "method.req.path.svc",
                   "microservices": [{"namespace": "ns", "name": "a", "cluster": "ms_a", "path": "/in/{x}"}, {"namespace": "ns", "name": "b", "cluster": "ms_b"}]}},

      {"id": "api-ms-no-location", "path": "=/broken/no-location",
       "backend": {"type": "microservice", "service_location": "method.req.query.svc",
                   "microservices": [{"namespace": "ns", "name": "a", "cluster": "ms_a"}]}},
      {"id": "api-ms-empty-location", "path": "=/broken/empty-location",
       "backend": {"type": "microservice", "namespace_location": "method.req.header.X-NameSpace-Code", "service_location": "",
                   "microservices": [{"namespace": "ns", "name": "a", "cluster": "ms_a"}]}},
      {"id": "api-ms-cookie", "path": "=/broken/cookie",
       "backend": {"type": "microservice", "namespace_location": "method.req.cookie.ns", "service_location": "method.req.query.svc",
                   "microservices": [{"namespace": "ns", "name": "a", "cluster": "ms_a"}]}},
      {"id": "api-ms-no-prefix", "path": "=/broken/no-prefix",
       "backend": {"type": "microservice", "namespace_location": "header.X-NameSpace-Code", "service_location": "method.req.query.svc",
                   "microservices": [{"namespace": "ns", "name": "a", "cluster": "ms_a"}]}},
      {"id": "api-ms-no-name", "path": "=/broken/no-name",
       "backend": {"type": "microservice", "namespace_location": "method.req.header.", "service_location": "method.req.query.svc",
                   "microservices": [{"namespace": "ns", "name": "a", "cluster": "ms_a"}]}},
      {"id": "api-ms-unknown-var", "path": "=/broken/unknown-var",
       "backend": {"type": "microservice", "namespace_location": "method.req.path.ns", "service_location": "method.req.query.svc",
                   "microservices": [{"namespace": "ns", "name": "a", "cluster": "ms_a"}]}},
      {"id": "api-ms-empty", "path": "=/broken/empty",
       "backend": {"type": "microservice", "namespace_location": "method.req.header.X-NameSpace-Code", "service_location": "method.req.query.svc",
                   "microservices": []}},
      {"id": "api-ms-absent", "path": "=/broken/absent",
       "backend": {"type": "microservice", "namespace_location": "method.req.header.X-NameSpace-Code", "service_location": "method.req.query.svc"}},
      {"id": "api-ms-no-cluster", "path": "=/broken/no-cluster",
       "backend": {"type": "microservice", "namespace_location": "method.req.header.X-NameSpace-Code", "service_location": "method.req.query.svc",
                   "microservices": [{"namespace": "ns", "name": "a", "cluster": "ms_a"}, {"namespace": "ns", "name": "b"}]}},

      {"id": "api-url", "path": "/url", "method": "ANY", "backend": {"type": "http", "url": "http://@URL@/base"}},
      {"id": "api-url-tpl", "path": "/url-tpl/{id}", "backend": {"type": "http", "url": "http://@URL@/base/{id}/x"}},
      {"id": "api-url-metadata", "path": "=/url-metadata", "backend": {"type": "http", "url": "http://169.254.169.254/latest/meta-data"}},
      {"id": "api-url-nxdomain", "path": "=/url-nxdomain", "backend": {"type": "http", "url": "http://apigw-no-such-host.invalid:8080/"}},
      {"id": "api-url-name", "path": "=/url-name", "backend": {"type": "http", "url": "http://upstream.apigw.test:@PORT@/named"}},
      {"id": "api-url-zero", "path": "=/url-zero", "backend": {"type": "http", "url": "http://0.0.0.0:@PORT@/base"}},

      {"id": "api-refused", "path": "/refused", "method": "ANY", "backend": {"type": "http", "cluster": "closed", "timeout_seconds": 1}},
      {"id": "api-reset", "path": "/reset", "backend": {"type": "http", "cluster": "reset"}},
      {"id": "api-close", "path": "/close", "backend": {"type": "http", "cluster": "close"}},
      {"id": "api-stall", "path": "/stall", "method": "ANY", "backend": {"type": "http", "cluster": "stall", "timeout_seconds": 1}},
      {"id": "api-stall-long", "path": "/stall-long", "backend": {"type": "http", "cluster": "stall", "timeout_seconds": 10}},
      {"id": "api-ms-stall", "path": "/ms-stall", "backend": {"type": "microservice", "timeout_seconds": 1,
       "namespace_location": "method.req.header.X-NameSpace-Code", "service_location": "method.req.query.svc",
       "microservices": [{"namespace": "ns", "name": "s", "cluster": "stall"}]}},
      {"id": "api-status", "path": "/status", "method": "ANY", "backend": {"type": "http", "cluster": "status"}},
      {"id": "api-mock", "path": "=/mock", "backend": {"type": "mock", "body": "{\"ok\":true}"}}
    ]
  }, {
    "id": "service-metrics",
    "default_domain": "metrics.example.com",
    "apis": [
      {"id": "api-ok", "path": "=/ok", "method": "GET", "backend": {"type": "mock", "body": "{\"ok\":true}"}},
      {"id": "api.with.dots", "path": "=/dots", "backend": {"type": "mock", "status": 201, "body": "dots"}},
      {"id": "api-refused", "path": "=/refused", "backend": {"type": "http", "cluster": "closed"}},
      {"id": "api-stall", "path": "=/stall", "backend": {"type": "http", "cluster": "stall", "timeout_seconds": 10}}
    ]
  }]
}`

// denyConfig is the plugin configuration of the gateway's second listener, "deny": a custom
// endpoint_deny, which replaces the default list. @DENIED@ listens on 127.0.0.2.
const denyConfig = `{
  "endpoint_deny": ["127.0.0.2/32"],
  "services": [{"id": "service-deny", "default_domain": "deny.example.com", "apis": [
    {"id": "api-denied", "path": "/denied", "backend": {"type": "http", "url": "http://@DENIED@/"}},
    {"id": "api-denied-int", "path": "/int", "backend": {"type": "http", "url": "http://@DENIEDINT@/"}},
    {"id": "api-denied-hex", "path": "/hex", "backend": {"type": "http", "url": "http://@DENIEDHEX@/"}},
    {"id": "api-loopback", "path": "/loopback", "backend": {"type": "http", "url": "http://@URL@/lo"}},
    {"id": "api-zero", "path": "/zero", "backend": {"type": "http", "url": "http://0.0.0.0:@PORT@/zero"}}
  ]}]
}`

// statsTags turn the plugin's counter names into Prometheus labels (see plugin/metrics.go).
var statsTags = []any{
	map[string]any{"tag_name": "service", "regex": `^wasmcustom\.apigw\.requests(\.service\.([^.]+))`},
	map[string]any{"tag_name": "api", "regex": `^wasmcustom\.apigw\.requests\.service\.[^.]+(\.api\.([^.]+))`},
	map[string]any{"tag_name": "status", "regex": `^wasmcustom\.apigw\.(?:requests\.service\.[^.]+\.api\.[^.]+|rejections)(\.status\.([0-9]+))`},
	map[string]any{"tag_name": "reason", "regex": `^wasmcustom\.apigw\.rejections\.status\.[0-9]+(\.reason\.([a-z0-9_]+))$`},
}

// accessLog writes one line per request to Envoy's log with what the router saw: the
// response flags and code details of each failure, keyed by the gateway's request id.
var accessLog = map[string]any{
	"access_log": []any{map[string]any{
		"name": "envoy.access_loggers.stdout",
		"typed_config": map[string]any{
			"@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
			"log_format": map[string]any{"text_format_source": map[string]any{"inline_string": "apigw-access " +
				"rid=%REQ(X-API-REQUESTID)% resp_rid=%RESP(X-API-REQUESTID)% code=%RESPONSE_CODE% " +
				"flags=%RESPONSE_FLAGS% details=%RESPONSE_CODE_DETAILS% upstream=%UPSTREAM_HOST%\n"}},
		},
	}},
}

// backendsEnv is the shared gateway of this file and the upstreams behind it.
type backendsEnv struct {
	g             *Gateway
	msA, msB, url *Upstream
	stall, status *Upstream
	reset, close  *closingUpstream
	closedAddr    string
	urlPort       string
	denied        *Upstream // listens on 127.0.0.2, inside the deny listener's endpoint_deny
	denyURL       string    // http://127.0.0.1:port of the listener "deny"
	dns           *dnsStub  // what the forward proxy's DNS cache asks
}

func backends(t *testing.T) *backendsEnv {
	t.Helper()
	v, err := sharedValue("env:backends", func() (any, error) {
		e := &backendsEnv{
			msA:   startUpstream(binaryOwner{}, nil),
			msB:   startUpstream(binaryOwner{}, nil),
			url:   startUpstream(binaryOwner{}, nil),
			stall: startUpstream(binaryOwner{}, stallHandler),
			status: startUpstream(binaryOwner{}, func(w http.ResponseWriter, r *http.Request) {
				code := 503
				fmt.Sscan(r.URL.Query().Get("code"), &code)
				w.Header().Set("Content-Type", "text/plain")
				w.Header().Set("X-Upstream", "own-answer")
				w.WriteHeader(code)
				io.WriteString(w, "upstream says no\n")
			}),
			reset:  startClosingUpstream(binaryOwner{}, true),
			close:  startClosingUpstream(binaryOwner{}, false),
			denied: startUpstreamAt(binaryOwner{}, "127.0.0.2:0"),
		}
		e.closedAddr = closedPort(binaryOwner{})
		var err error
		if e.dns, err = sharedDNSStub(); err != nil {
			return nil, err
		}
		_, e.urlPort, _ = net.SplitHostPort(e.url.Addr)
		_, deniedPort, _ := net.SplitHostPort(e.denied.Addr)
		fill := strings.NewReplacer("@URL@", e.url.Addr, "@PORT@", e.urlPort, "@DENIED@", e.denied.Addr,
			"@DENIEDINT@", "2130706434:"+deniedPort, "@DENIEDHEX@", "0x7f.0.0.2:"+deniedPort)
		g, err := startGateway(binaryOwner{}, Options{
			PluginConfig: fill.Replace(backendsConfig),
			Clusters: map[string]string{
				"ms_a": e.msA.Addr, "ms_b": e.msB.Addr, "closed": e.closedAddr,
				"reset": e.reset.addr, "close": e.close.addr, "stall": e.stall.Addr, "status": e.status.Addr,
			},
			HCM: accessLog,
			Bootstrap: func(b map[string]any) {
				b["stats_config"] = map[string]any{"stats_tags": statsTags}
				addListener(b, "deny", fill.Replace(denyConfig))
			},
		})
		if err != nil {
			return nil, fmt.Errorf("backends gateway did not start: %v\n%s", err, g.logTail(60))
		}
		e.g = g
		if e.denyURL, err = listenerURL(g, "deny"); err != nil {
			return nil, err
		}
		return e, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return v.(*backendsEnv)
}

// addListener copies the listener "http" as another one, name, whose wasm filter has its own
// plugin configuration (same VM). It binds an ephemeral port on 127.0.0.1.
func addListener(b map[string]any, name, pluginConfig string) {
	sr := b["static_resources"].(map[string]any)
	ls := sr["listeners"].([]any)
	raw, _ := json.Marshal(ls[0])
	var l map[string]any
	json.Unmarshal(raw, &l)
	l["name"] = name
	chain := dig(l, "filter_chains").([]any)[0]
	hcm := dig(chain, "filters").([]any)[0]
	filter := dig(hcm, "typed_config", "http_filters").([]any)[0]
	conf := dig(filter, "typed_config", "config").(map[string]any)
	conf["name"] = "apigw-" + name
	conf["configuration"].(map[string]any)["value"] = pluginConfig
	sr["listeners"] = append(ls, l)
}

// listenerURL is http://address of the listener name, from the admin API.
func listenerURL(g *Gateway, name string) (string, error) {
	body, err := g.adminGet("/listeners?format=json")
	if err != nil {
		return "", err
	}
	var ls struct {
		ListenerStatuses []struct {
			Name         string
			LocalAddress struct {
				SocketAddress struct {
					Address   string
					PortValue int `json:"port_value"`
				} `json:"socket_address"`
			} `json:"local_address"`
		} `json:"listener_statuses"`
	}
	if err := json.Unmarshal([]byte(body), &ls); err != nil {
		return "", err
	}
	for _, l := range ls.ListenerStatuses {
		if l.Name == name {
			a := l.LocalAddress.SocketAddress
			return "http://" + net.JoinHostPort(a.Address, fmt.Sprint(a.PortValue)), nil
		}
	}
	return "", fmt.Errorf("no listener %q: %s", name, body)
}

// stallHandler answers only after 15 s, or never when the request goes away first.
func stallHandler(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(15 * time.Second):
		io.WriteString(w, "late")
	}
}

// closedPort is a local address where connections are refused: a TCP socket bound there and
// never listening, kept open so that no one else takes the port while the tests run.
func closedPort(o owner) string {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		panic(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		panic(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		panic(err)
	}
	o.Cleanup(func() { syscall.Close(fd) })
	return fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
}

// closingUpstream accepts connections, reads one request head and closes the connection
// without answering: with rst, abortively (SO_LINGER 0: the peer gets a TCP RST), else with FIN.
type closingUpstream struct {
	addr     string
	requests atomic.Int64 // request heads read
}

func startClosingUpstream(o owner, rst bool) *closingUpstream {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	u := &closingUpstream{addr: l.Addr().String()}
	o.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						c.Close()
						return
					}
					if line == "\r\n" {
						break
					}
				}
				u.requests.Add(1)
				if rst {
					c.(*net.TCPConn).SetLinger(0)
				}
				c.Close()
			}()
		}
	}()
	return u
}

// accessLine returns the access log line of the request with this id, waiting for it.
func accessLine(t *testing.T, g *Gateway, id string) string {
	t.Helper()
	re := regexp.MustCompile(`apigw-access rid=` + id + `[^\n]*|apigw-access rid=- resp_rid=` + id + `[^\n]*`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := re.FindString(g.Logs()); m != "" {
			return m
		}
		// Envoy writes access logs out every 10 s (--file-flush-interval-msec); reopening
		// them writes out what is buffered.
		if resp, err := http.Post(g.AdminURL+"/reopen_logs", "text/plain", nil); err == nil {
			resp.Body.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("no access log line for request %s\n%s", id, g.logTail(20))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestBackendsMicroserviceRouting(t *testing.T) {
	e := backends(t)
	nsHeader := func(v string) http.Header { return http.Header{"X-Namespace-Code": {v}} }
	for _, c := range []struct {
		name   string
		req    Request
		up     *Upstream
		uri    string // what the upstream sees
		method string
	}{
		// header + query; entry a has path "/", b none.
		{"header and query to a", Request{Path: "/release/ms-hq/orders/7?svc=a&x=1", Header: nsHeader("ns")}, e.msA, "/orders/7?svc=a&x=1", "GET"},
		{"header and query to b", Request{Path: "/release/ms-hq/orders/7?svc=b&x=1", Header: nsHeader("ns")}, e.msB, "/ms-hq/orders/7?svc=b&x=1", "GET"},
		{"prefix api exactly", Request{Path: "/release/ms-hq?svc=a", Header: nsHeader("ns")}, e.msA, "/?svc=a", "GET"},
		{"post to b", Request{Method: "POST", Path: "/release/ms-hq/x?svc=b", Header: nsHeader("ns"), Body: "payload"}, e.msB, "/ms-hq/x?svc=b", "POST"},
		// path + path
		{"path to a", Request{Path: "/release/ms/ns/a"}, e.msA, "/", "GET"},
		{"path to b", Request{Path: "/release/ms/ns/b?q=1"}, e.msB, "/ms/ns/b?q=1", "GET"},
		// query + header; entry a's path is appended to like a prefix API's backend path
		{"query and header to a", Request{Path: "/release/ms-qh/deep/er?ns=ns", Header: http.Header{"X-Microservice-Name": {"a"}}}, e.msA, "/svc-a/deep/er?ns=ns", "GET"},
		{"query and header to b", Request{Path: "/release/ms-qh/deep/er?ns=ns", Header: http.Header{"X-Microservice-Name": {"b"}}}, e.msB, "/ms-qh/deep/er?ns=ns", "GET"},
		// header + path var, entry path with a {var} of the API
		{"template entry path to a", Request{Path: "/release/ms-tpl/42/a", Header: nsHeader("ns")}, e.msA, "/in/42", "GET"},
		{"template without entry path to b", Request{Path: "/release/ms-tpl/42/b", Header: nsHeader("ns")}, e.msB, "/ms-tpl/42/b", "GET"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, b := e.msA.Count(), e.msB.Count()
			c.req.Host = backendsHost
			r := e.g.Do(t, c.req)
			if r.Status != 200 {
				t.Fatalf("status %d\n%s", r.Status, r)
			}
			other, was := e.msB, b
			if c.up == e.msB {
				other, was = e.msA, a
			}
			if other.Count() != was {
				t.Fatalf("the other microservice got the request too")
			}
			rec := c.up.Last(t)
			id := r.Header.Get("X-Api-Requestid")
			if !requestIDPattern.MatchString(id) || rec.Header.Get("X-Api-Requestid") != id {
				t.Errorf("request id: response %q, upstream %q", id, rec.Header.Get("X-Api-Requestid"))
			}
			if rec.URI != c.uri || rec.Method != c.method {
				t.Errorf("upstream saw %s %s, want %s %s", rec.Method, rec.URI, c.method, c.uri)
			}
			if rec.Host != backendsHost {
				t.Errorf("upstream :authority %q, want the client's %q", rec.Host, backendsHost)
			}
			if got := rec.Header.Get("X-Envoy-Expected-Rq-Timeout-Ms"); got != "15000" {
				t.Errorf("route timeout %q, want 15000", got)
			}
			if c.req.Body != "" && rec.Body != c.req.Body {
				t.Errorf("body %q", rec.Body)
			}
		})
	}
	// The client's cluster header never chooses the cluster.
	r := e.g.Do(t, Request{Host: backendsHost, Path: "/release/ms-hq?svc=a", Header: http.Header{"X-Namespace-Code": {"ns"}, "X-Apigw-Cluster": {"ms_b"}}})
	if r.Status != 200 || e.msA.Last(t).Header.Get("X-Apigw-Cluster") != "ms_a" || e.msA.Last(t).Header.Get("X-Api-Requestid") != r.Header.Get("X-Api-Requestid") {
		t.Errorf("forged cluster header: %d, ms_a saw %v", r.Status, e.msA.Last(t).Header)
	}
}

func TestBackendsMicroserviceErrors(t *testing.T) {
	e := backends(t)
	const notFound = "Not found micro service with key."
	ns := http.Header{"X-Namespace-Code": {"ns"}}
	cases := []Case{
		{Name: "unknown name", Req: Request{Path: "/release/ms-hq?svc=c", Header: ns}, Status: 404, Message: notFound},
		{Name: "unknown namespace", Req: Request{Path: "/release/ms-hq?svc=a", Header: http.Header{"X-Namespace-Code": {"other"}}}, Status: 404, Message: notFound},
		{Name: "names are case sensitive", Req: Request{Path: "/release/ms-hq?svc=A", Header: ns}, Status: 404, Message: notFound},
		{Name: "namespace header absent", Req: Request{Path: "/release/ms-hq?svc=a"}, Status: 404, Message: notFound},
		{Name: "namespace header empty", Req: Request{Path: "/release/ms-hq?svc=a", Header: http.Header{"X-Namespace-Code": {""}}}, Status: 404, Message: notFound},
		{Name: "service query absent", Req: Request{Path: "/release/ms-hq?other=a", Header: ns}, Status: 404, Message: notFound},
		{Name: "service query empty", Req: Request{Path: "/release/ms-hq?svc=", Header: ns}, Status: 404, Message: notFound},
		{Name: "no query at all", Req: Request{Path: "/release/ms-hq/x", Header: ns}, Status: 404, Message: notFound},
		{Name: "path pair unknown", Req: Request{Path: "/release/ms/ns/zz"}, Status: 404, Message: notFound},
		// An empty path variable is absent: step 11 answers before the backend (docs/gateway.md
		// section 3, step 5).
		{Name: "path variable empty", Req: Request{Path: "/release/ms/ns/"}, Status: 403, Message: "path variable svc is required."},
		{Name: "service header absent", Req: Request{Path: "/release/ms-qh?ns=ns"}, Status: 404, Message: notFound},
		{Name: "missing namespace_location", Req: Request{Path: "/release/broken/no-location?svc=a", Header: ns}, Status: 481, Message: "Get location of micro service info fail."},
		{Name: "empty service_location", Req: Request{Path: "/release/broken/empty-location?svc=a", Header: ns}, Status: 481, Message: "Get location of micro service info fail."},
		{Name: "cookie location", Req: Request{Path: "/release/broken/cookie?svc=a"}, Status: 481, Message: "Only support the map_from like method.req.{path}.{}."},
		{Name: "location without method.req", Req: Request{Path: "/release/broken/no-prefix?svc=a", Header: ns}, Status: 481, Message: "Only support the map_from like method.req.{path}.{}."},
		{Name: "location without a name", Req: Request{Path: "/release/broken/no-name?svc=a", Header: ns}, Status: 481, Message: "Only support the map_from like method.req.{path}.{}."},
		{Name: "path location naming no variable", Req: Request{Path: "/release/broken/unknown-var?svc=a"}, Status: 481, Message: "Only support the map_from like method.req.{path}.{}."},
		{Name: "empty microservices", Req: Request{Path: "/release/broken/empty?svc=a", Header: ns}, Status: 481, Message: "TSF config error."},
		{Name: "absent microservices", Req: Request{Path: "/release/broken/absent?svc=a", Header: ns}, Status: 481, Message: "TSF config error."},
		{Name: "entry without cluster", Req: Request{Path: "/release/broken/no-cluster?svc=a", Header: ns}, Status: 481, Message: "TSF config error."},
	}
	a, b := e.msA.Count(), e.msB.Count()
	for i := range cases {
		cases[i].Req.Host = backendsHost
		cases[i].Check = func(t *testing.T, r Response) { checkGatewayReply(t, r) }
	}
	RunCases(t, e.g, cases)
	if e.msA.Count() != a || e.msB.Count() != b {
		t.Errorf("a rejected request reached a microservice: ms_a +%d, ms_b +%d", e.msA.Count()-a, e.msB.Count()-b)
	}
	// Each answer is logged with its API.
	r := e.g.Do(t, Request{Host: backendsHost, Path: "/release/broken/empty"})
	e.g.WaitLog(t, `reply status=481 message="TSF config error." request_id=`+r.Header.Get("X-Api-Requestid")+` service=service-backends api=api-ms-empty`, 10*time.Second)
}

func TestBackendsURL(t *testing.T) {
	e := backends(t)
	before := e.url.Count()
	r := e.g.Do(t, Request{Host: backendsHost, Method: "PUT", Path: "/release/url/items/9?x=a%20b", Body: "hello",
		Header: http.Header{"X-Apigw-Cluster": {"status"}}})
	if r.Status != 200 {
		t.Fatalf("status %d\n%s", r.Status, r)
	}
	if e.url.Count() != before+1 {
		t.Fatalf("url upstream got %d requests, want 1", e.url.Count()-before)
	}
	rec := e.url.Last(t)
	id := r.Header.Get("X-Api-Requestid")
	for name, c := range map[string][2]string{
		"path":       {rec.URI, "/base/items/9?x=a%20b"},
		"authority":  {rec.Host, e.url.Addr},
		"method":     {rec.Method, "PUT"},
		"body":       {rec.Body, "hello"},
		"request id": {rec.Header.Get("X-Api-Requestid"), id},
		"api id":     {rec.Header.Get("X-Api-Id"), "api-url"},
		"cluster":    {rec.Header.Get("X-Apigw-Cluster"), "apigw_dynamic_forward_proxy"},
	} {
		if c[0] != c[1] {
			t.Errorf("%s: %q, want %q", name, c[0], c[1])
		}
	}
	if !requestIDPattern.MatchString(id) {
		t.Errorf("request id %q", id)
	}
	if line := accessLine(t, e.g, id); !strings.Contains(line, "upstream="+e.url.Addr) {
		t.Errorf("access log: %s", line)
	}

	// A url host that is a name: the forward proxy's DNS cache resolves it (through the tests'
	// DNS stub, which alone knows it), and the upstream gets it as :authority.
	r = e.g.Do(t, Request{Host: backendsHost, Path: "/release/url-name?q=1"})
	if rec := e.url.Last(t); r.Status != 200 || rec.URI != "/named?q=1" || rec.Host != "upstream.apigw.test:"+e.urlPort {
		t.Errorf("url with a host name: %d, upstream saw %s (host %s), want /named?q=1\n%s", r.Status, rec.URI, rec.Host, r)
	}
	if line := accessLine(t, e.g, r.Header.Get("X-Api-Requestid")); !strings.Contains(line, "upstream="+e.url.Addr) {
		t.Errorf("access log: %s", line)
	}

	// The prefix API itself.
	for path, want := range map[string]string{
		"/release/url":  "/base",
		"/release/url/": "/base/",
	} {
		r := e.g.Do(t, Request{Host: backendsHost, Path: path})
		if r.Status != 200 {
			t.Errorf("%s: status %d\n%s", path, r.Status, r)
			continue
		}
		if rec := e.url.Last(t); rec.URI != want || rec.Host != e.url.Addr {
			t.Errorf("%s: upstream saw %s (host %s), want %s", path, rec.URI, rec.Host, want)
		}
	}
}

func TestBackendsEndpointDeny(t *testing.T) {
	e := backends(t)
	cx := func() string {
		m := regexp.MustCompile(`cluster\.apigw_dynamic_forward_proxy\.upstream_cx_total: (\d+)`).FindStringSubmatch(e.g.Admin(t, "/stats?filter=apigw_dynamic_forward_proxy.upstream_cx_total"))
		if m == nil {
			t.Fatal("no upstream_cx_total counter for the forward proxy cluster")
		}
		return m[1]
	}
	before, count := cx(), e.url.Count()
	for _, path := range []string{"/release/url-metadata", "/release/url-zero"} {
		start := time.Now()
		r := e.g.Do(t, Request{Host: backendsHost, Path: path})
		CheckResponse(t, r, Case{Status: 403, Message: "Endpoint IP address is not allowed."})
		checkGatewayReply(t, r)
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: the answer took %v: was a connection attempted?", path, d)
		}
		id := r.Header.Get("X-Api-Requestid")
		e.g.WaitLog(t, `reply status=403 message="Endpoint IP address is not allowed." request_id=`+id+` service=service-backends api=`, 10*time.Second)
		if line := accessLine(t, e.g, id); !strings.HasSuffix(line, " upstream=-") {
			t.Errorf("%s went upstream: %s", path, line)
		}
	}
	if after := cx(); after != before {
		t.Errorf("the forward proxy cluster opened connections: %s -> %s", before, after)
	}
	if e.url.Count() != count {
		t.Errorf("0.0.0.0 reached the upstream")
	}

	// A custom endpoint_deny replaces the default (the listener "deny"): 127.0.0.2 is refused,
	// and the upstream listening there sees nothing; 0.0.0.0 and 127.0.0.1 are reached.
	deny := func(path string) Response {
		t.Helper()
		req, _ := http.NewRequest("GET", e.denyURL+path, nil)
		req.Host = "deny.example.com"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return Response{Status: resp.StatusCode, Proto: resp.Proto, Header: resp.Header, Body: string(b)}
	}
	r := deny("/release/denied/x")
	CheckResponse(t, r, Case{Status: 403, Message: "Endpoint IP address is not allowed."})
	checkGatewayReply(t, r)
	e.g.WaitLog(t, `reply status=403 message="Endpoint IP address is not allowed." request_id=`+r.Header.Get("X-Api-Requestid")+` service=service-deny api=api-denied`, 10*time.Second)
	for path, want := range map[string]string{"/release/loopback/x": "/lo/x", "/release/zero": "/zero"} {
		n := e.url.Count()
		r := deny(path)
		if r.Status != 200 || e.url.Count() != n+1 || e.url.Last(t).URI != want {
			t.Errorf("%s: %d, upstream saw %q, want %q\n%s", path, r.Status, e.url.Last(t).URI, want, r)
		}
	}
	// Numeric forms of 127.0.0.2 are no way around the list: they are no IP literal to the
	// gateway, and Envoy's resolver (c-ares) takes them for names, which the DNS stub, as the
	// real DNS, does not know.
	for path, name := range map[string]string{"/release/int": "2130706434", "/release/hex": "0x7f.0.0.2"} {
		r := deny(path)
		CheckResponse(t, r, Case{Status: 502, Message: "Bad Gateway."})
		checkGatewayReply(t, r)
		t.Logf("%s: %s", path, accessLine(t, e.g, r.Header.Get("X-Api-Requestid")))
		if !e.dns.Asked(name) {
			t.Errorf("%s: no DNS query for %s", path, name)
		}
	}
	if e.denied.Count() != 0 {
		t.Errorf("the denied endpoint got %d requests", e.denied.Count())
	}
	// The same address is fine where the default list applies: the deny list is per configuration.
	if r := e.g.Do(t, Request{Host: backendsHost, Path: "/release/mock"}); r.Status != 200 {
		t.Errorf("main listener: %d", r.Status)
	}
}

// TestBackendsURLPathVariables: a url's path is the backend path, so its {var}s take the API's
// variables as a backend path's do (docs/gateway.md section 3, "Routing to the upstream").
func TestBackendsURLPathVariables(t *testing.T) {
	e := backends(t)
	r := e.g.Do(t, Request{Host: backendsHost, Path: "/release/url-tpl/77?k"})
	if r.Status != 200 {
		t.Fatalf("status %d\n%s", r.Status, r)
	}
	if rec := e.url.Last(t); rec.URI != "/base/77/x?k" || rec.Host != e.url.Addr {
		t.Errorf("upstream saw %s (host %s), want /base/77/x?k", rec.URI, rec.Host)
	}
}

// startUpstreamAt is an echoing upstream on a given address (startUpstream takes 127.0.0.1).
func startUpstreamAt(o owner, addr string) *Upstream {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		panic(err)
	}
	u := startUpstream(o, nil)
	u.Server.Close()
	srv := &http.Server{Handler: u.Server.Config.Handler}
	go srv.Serve(l)
	o.Cleanup(func() { srv.Close() })
	u.Addr = l.Addr().String()
	return u
}

// TestBackendsUpstreamFailures: the router's own answers for broken upstreams become the
// gateway's JSON errors; each case also shows what Envoy recorded (response flags, details).
func TestBackendsUpstreamFailures(t *testing.T) {
	e := backends(t)
	for _, c := range []struct {
		name    string
		req     Request
		status  int
		message string
		flags   string // the access log's %RESPONSE_FLAGS%
		// A prefix of %RESPONSE_CODE_DETAILS%. The router's cluster_not_found reply has no body,
		// so the plugin answers afresh, and its local reply leaves the details empty.
		details string
		max     time.Duration
	}{
		{"connection refused", Request{Path: "/release/refused/x"}, 502, "Bad Gateway.", "UF", "upstream_reset_before_response_started{remote_connection_failure", 3 * time.Second},
		{"connection refused, POST with a body", Request{Method: "POST", Path: "/release/refused", Body: "abc"}, 502, "Bad Gateway.", "UF", "upstream_reset_before_response_started{remote_connection_failure", 3 * time.Second},
		{"reset before answering", Request{Path: "/release/reset"}, 502, "Bad Gateway.", "UC", "upstream_reset_before_response_started{connection_termination", 3 * time.Second},
		{"closed before answering", Request{Path: "/release/close"}, 502, "Bad Gateway.", "UC", "upstream_reset_before_response_started{connection_termination", 3 * time.Second},
		{"cluster Envoy does not know", Request{Path: "/release/ms-hq?svc=ghost", Header: http.Header{"X-Namespace-Code": {"ns"}}}, 502, "Bad Gateway.", "NC", "", 3 * time.Second},
		// The DNS stub answers NXDOMAIN at once (no resolver timeout).
		{"url host that does not resolve", Request{Path: "/release/url-nxdomain"}, 502, "Bad Gateway.", "DF", "dns_resolution_failure{cares_norecords:Domain_name_not_found}", 3 * time.Second},
		{"stalled past timeout_seconds", Request{Path: "/release/stall"}, 504, "Gateway Time-out.", "UT", "response_timeout", 5 * time.Second},
		{"stalled microservice", Request{Path: "/release/ms-stall?svc=s", Header: http.Header{"X-Namespace-Code": {"ns"}}}, 504, "Gateway Time-out.", "UT", "response_timeout", 5 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.req.Host = backendsHost
			start := time.Now()
			r := e.g.Do(t, c.req)
			took := time.Since(start)
			CheckResponse(t, r, Case{Status: c.status, Message: c.message, Body: `{"message":"` + c.message + `"}`})
			checkGatewayReply(t, r)
			if c.status == 504 && took < 900*time.Millisecond {
				t.Errorf("timed out after %v, before the API's 1 s", took)
			}
			if took > c.max {
				t.Errorf("answer took %v", took)
			}
			if cl := r.Header.Get("Content-Length"); cl != "" && cl != fmt.Sprint(len(r.Body)) {
				t.Errorf("content-length %s for a %d-byte body", cl, len(r.Body))
			}
			id := r.Header.Get("X-Api-Requestid")
			e.g.WaitLog(t, fmt.Sprintf(`reply status=%d message=%q request_id=%s service=service-backends api=`, c.status, c.message, id), 10*time.Second)
			line := accessLine(t, e.g, id)
			t.Logf("envoy: %s", line)
			if !strings.Contains(line, " flags="+c.flags+" ") || !strings.Contains(line, " details="+c.details) {
				t.Errorf("access log %q, want flags=%s details=%s...", line, c.flags, c.details)
			}
		})
	}
	if !e.dns.Asked("apigw-no-such-host.invalid") {
		t.Error("no DNS query for apigw-no-such-host.invalid reached the DNS stub")
	}
	if e.reset.requests.Load() == 0 || e.close.requests.Load() == 0 {
		t.Errorf("the closing upstreams read no request: reset %d, close %d", e.reset.requests.Load(), e.close.requests.Load())
	}

	// HEAD gets the same status and headers, without a body.
	r := e.g.Do(t, Request{Method: "HEAD", Host: backendsHost, Path: "/release/refused/head"})
	if r.Status != 502 || r.Body != "" || r.Header.Get("Content-Type") != "application/json; charset=utf-8" ||
		r.Header.Get("Content-Length") != fmt.Sprint(len(`{"message":"Bad Gateway."}`)) || !requestIDPattern.MatchString(r.Header.Get("X-Api-Requestid")) {
		t.Errorf("HEAD to a refused upstream:\n%s", r)
	}
}

// TestBackendsUpstreamOwnErrors: a 5xx the upstream sends itself is passed on unchanged.
func TestBackendsUpstreamOwnErrors(t *testing.T) {
	e := backends(t)
	for _, code := range []int{503, 502, 504, 500} {
		r := e.g.Do(t, Request{Host: backendsHost, Path: fmt.Sprintf("/release/status?code=%d", code)})
		CheckResponse(t, r, Case{Status: code, Body: "upstream says no\n",
			Header: map[string]string{"Content-Type": "text/plain", "X-Upstream": "own-answer"}})
		id := r.Header.Get("X-Api-Requestid")
		if !requestIDPattern.MatchString(id) || e.status.Last(t).Header.Get("X-Api-Requestid") != id {
			t.Errorf("%d: request id %q, upstream saw %q", code, id, e.status.Last(t).Header.Get("X-Api-Requestid"))
		}
		if line := accessLine(t, e.g, id); !strings.Contains(line, " flags=- details=via_upstream ") {
			t.Errorf("%d: access log %s", code, line)
		}
	}
}

// TestBackendsClientGoesAway: a client that leaves before the response is logged as 499.
func TestBackendsClientGoesAway(t *testing.T) {
	e := backends(t)
	want := func(t *testing.T, id string) {
		t.Helper()
		e.g.WaitLog(t, `reply status=499 message="Client closed connetion." request_id=`+id+` service=service-backends api=api-stall-long`, 10*time.Second)
		line := accessLine(t, e.g, id)
		t.Logf("envoy: %s", line)
		if !strings.Contains(line, " flags=DC ") {
			t.Errorf("access log %s, want flags=DC", line)
		}
	}

	t.Run("client timeout", func(t *testing.T) {
		n := e.stall.Count()
		_, err := e.g.Send(Request{Host: backendsHost, Path: "/release/stall-long/client-timeout", Timeout: 500 * time.Millisecond})
		if err == nil {
			t.Fatal("the stalled request got an answer")
		}
		e.stall.WaitCount(t, n+1, 5*time.Second)
		want(t, e.stall.Last(t).Header.Get("X-Api-Requestid"))
	})

	t.Run("raw connection closed", func(t *testing.T) {
		n := e.stall.Count()
		conn, err := net.Dial("tcp", strings.TrimPrefix(e.g.HTTPURL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(conn, "GET /release/stall-long/raw HTTP/1.1\r\nHost: "+backendsHost+"\r\n\r\n")
		e.stall.WaitCount(t, n+1, 5*time.Second)
		conn.Close()
		rec := e.stall.Last(t)
		if rec.URI != "/stall-long/raw" {
			t.Fatalf("upstream saw %s", rec.URI)
		}
		want(t, rec.Header.Get("X-Api-Requestid"))
	})
}
