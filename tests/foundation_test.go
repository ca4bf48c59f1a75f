package tests

import (
	"regexp"
	"strings"
	"testing"
)

// foundationConfig has a service reached through its default domain and four custom domains,
// a mock, an http API to an upstream, a broken mock beside them and an environment with
// nothing published.
const foundationConfig = `{
  "services": [{
    "id": "service-found",
    "default_domain": "service-found-1250000000.gz.apigw.tencentcs.com",
    "custom_domains": [
      {"host": "api.example.com", "path_mappings": [{"path": "/", "environment": "release"}, {"path": "/dev", "environment": "test"}]},
      {"host": "mapped.example.com", "path_mappings": [{"path": "/v1", "environment": "release"}]},
      {"host": "secure.example.com", "protocols": ["https"]},
      {"host": "plain.example.com", "protocols": ["http"]},
      {"host": "force.example.com", "force_https": true}
    ],
    "apis": [
      {"id": "api-hello", "path": "=/hello", "method": "GET", "environments": ["release", "test"],
       "backend": {"type": "mock", "status": 201, "headers": {"x-mock": "yes"}, "body": "{\"hello\":\"world\"}"}},
      {"id": "api-users", "path": "/users/{id}", "method": "GET", "environments": ["release", "test"],
       "backend": {"type": "http", "cluster": "users", "path": "/internal/users/{id}", "host": "users.internal", "timeout_seconds": 3}},
      {"id": "api-files", "path": "^~/files/", "method": "ANY", "environments": ["release", "test"],
       "backend": {"type": "http", "cluster": "users", "path": "/store/"}},
      {"id": "api-broken", "path": "=/broken", "environments": ["release", "test"], "backend": {"type": "mock"}},
      {"id": "api-bad-param", "path": "=/bad-param", "environments": ["release"],
       "parameters": [{"name": "id", "position": "path"}], "backend": {"type": "mock", "body": "never"}},
      {"id": "api-no-backend", "path": "=/no-backend", "environments": ["release"]}
    ]
  }]
}`

var requestIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

func foundationGateway(t *testing.T) (*Gateway, *Upstream) {
	up := SharedUpstream(t, "foundation-users")
	g := SharedGateway(t, "foundation", Options{
		PluginConfig: foundationConfig,
		Clusters:     map[string]string{"users": up.Addr},
		TLS:          true,
	})
	return g, up
}

// checkGatewayReply asserts the reply format of docs/gateway.md section 2.
func checkGatewayReply(t *testing.T, r Response) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("content-type %q", ct)
	}
	if id := r.Header.Get("X-Api-Requestid"); !requestIDPattern.MatchString(id) {
		t.Errorf("x-api-requestid %q is not 32 lowercase hex", id)
	}
}

func TestFoundationErrors(t *testing.T) {
	g, _ := foundationGateway(t)
	const def = "service-found-1250000000.gz.apigw.tencentcs.com"
	cases := []Case{
		{Name: "unknown host", Req: Request{Host: "nope.example.com", Path: "/release/hello"},
			Status: 404, Message: "There is no api match host[nope.example.com]."},
		{Name: "unknown host with port", Req: Request{Host: "nope.example.com:8080", Path: "/"},
			Status: 404, Message: "There is no api match host[nope.example.com]."},
		{Name: "default domain env", Req: Request{Host: def, Path: "/prod/hello?x=1"},
			Status: 404, Message: "There is no api match default env_mapping[/prod]."},
		{Name: "default domain root", Req: Request{Host: def, Path: "/"},
			Status: 404, Message: "There is no api match default env_mapping[/]."},
		{Name: "custom domain mapping", Req: Request{Host: "mapped.example.com", Path: "/v2/hello"},
			Status: 404, Message: "There is no api match env_mapping[/v2]."},
		{Name: "mapping is a segment prefix", Req: Request{Host: "mapped.example.com", Path: "/v10/hello"},
			Status: 404, Message: "There is no api match env_mapping[/v10]."},
		{Name: "environment without apis", Req: Request{Host: def, Path: "/prepub/hello"},
			Status: 404, Message: "Found no api."},
		{Name: "no api for uri", Req: Request{Host: "api.example.com", Path: "/nothing/here?q=1"},
			Status: 404, Message: "There is no api match uri[/nothing/here]."},
		{Name: "no api for uri under a mapping", Req: Request{Host: "api.example.com", Path: "/dev/nothing"},
			Status: 404, Message: "There is no api match uri[/nothing]."},
		{Name: "method not allowed", Req: Request{Method: "POST", Host: "api.example.com", Path: "/hello"},
			Status: 405, Message: "Method Not Allowed."},
		{Name: "head is its own method", Req: Request{Method: "HEAD", Host: "api.example.com", Path: "/users/7"},
			Status: 405},
		{Name: "http to an https-only domain", Req: Request{Host: "secure.example.com", Path: "/release/hello"},
			Status: 426, Message: "Not allow use HTTP protocol."},
		{Name: "https to an http-only domain", Req: Request{TLS: true, Host: "plain.example.com", Path: "/release/hello"},
			Status: 426, Message: "Not allow use HTTPS protocol."},
		{Name: "broken mock", Req: Request{Host: "api.example.com", Path: "/broken"},
			Status: 481, Message: "Mock config error."},
		{Name: "path parameter naming no variable", Req: Request{Host: "api.example.com", Path: "/bad-param"},
			Status: 481, Message: "API config error."},
		{Name: "api without backend", Req: Request{Host: "api.example.com", Path: "/no-backend"},
			Status: 481, Message: "API config error."},
		{Name: "websocket upgrade to an http api", Req: Request{Host: "api.example.com", Path: "/hello",
			Header: map[string][]string{"Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}, "Sec-Websocket-Version": {"13"}}},
			Status: 426, Message: "Not allow use WS protocol."},
	}
	for i := range cases {
		cases[i].Check = func(t *testing.T, r Response) { checkGatewayReply(t, r) }
	}
	RunCases(t, g, cases)
}

func TestFoundationRawErrors(t *testing.T) {
	g, _ := foundationGateway(t)
	for _, c := range []struct{ name, data, message string }{
		{"empty host", "GET /hello HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n", "Not Found Host."},
		{"host with a bad port", "GET /hello HTTP/1.1\r\nHost: api.example.com:http\r\nConnection: close\r\n\r\n", "Get Host Fail."},
		{"host that is no name", "GET /hello HTTP/1.1\r\nHost: a..b\r\nConnection: close\r\n\r\n", "Get Host Fail."},
		{"unsupported method TRACE", "TRACE /hello HTTP/1.1\r\nHost: api.example.com\r\nConnection: close\r\n\r\n", "Could not support method."},
		{"unsupported method PROPFIND", "PROPFIND /hello HTTP/1.1\r\nHost: api.example.com\r\nConnection: close\r\n\r\n", "Could not support method."},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := g.Raw(t, RawRequest{Data: c.data})
			if r.Status != 404 || r.Message() != c.message {
				t.Fatalf("got %d %q, want 404 %q\n%s", r.Status, r.Message(), c.message, r)
			}
			checkGatewayReply(t, r)
		})
	}
}

func TestFoundationMockBesideBrokenAPI(t *testing.T) {
	g, _ := foundationGateway(t)
	for _, req := range []Request{
		{Host: "api.example.com", Path: "/hello"},
		{Host: "api.example.com", Path: "/dev/hello"},
		{Host: "service-found-1250000000.gz.apigw.tencentcs.com", Path: "/release/hello"},
		{Host: "secure.example.com", Path: "/test/hello", TLS: true},
	} {
		r := g.Do(t, req)
		if r.Status != 201 || r.Body != `{"hello":"world"}` || r.Header.Get("X-Mock") != "yes" ||
			r.Header.Get("Content-Type") != "application/json" || !requestIDPattern.MatchString(r.Header.Get("X-Api-Requestid")) {
			t.Errorf("%s%s: mock reply wrong:\n%s", req.Host, req.Path, r)
		}
	}
}

func TestFoundationHTTPBackend(t *testing.T) {
	g, up := foundationGateway(t)
	before := up.Count()
	r := g.Do(t, Request{Host: "api.example.com:443", Path: "/users/42?page=2&x=a%20b",
		Header: map[string][]string{"X-Apigw-Cluster": {"somewhere-else"}, "X-Api-Requestid": {"forged"}}})
	if r.Status != 200 {
		t.Fatalf("status %d\n%s", r.Status, r)
	}
	if up.Count() != before+1 {
		t.Fatalf("upstream saw %d requests, want 1", up.Count()-before)
	}
	rec := up.Last(t)
	id := r.Header.Get("X-Api-Requestid")
	if !requestIDPattern.MatchString(id) || id == "forged" {
		t.Fatalf("response request id %q", id)
	}
	checks := map[string][2]string{
		"path":            {rec.URI, "/internal/users/42?page=2&x=a%20b"},
		"authority":       {rec.Host, "users.internal"},
		"request id":      {rec.Header.Get("X-Api-Requestid"), id},
		"api id":          {rec.Header.Get("X-Api-Id"), "api-users"},
		"client proto":    {rec.Header.Get("X-Client-Proto"), "http"},
		"real ip":         {rec.Header.Get("X-Real-Ip"), "127.0.0.1"},
		"route timeout":   {rec.Header.Get("X-Envoy-Expected-Rq-Timeout-Ms"), "3000"},
		"cluster header":  {rec.Header.Get("X-Apigw-Cluster"), "users"},
		"one request id":  {strings.Join(rec.Header.Values("X-Api-Requestid"), ","), id},
		"upstream answer": {r.Header.Get("Content-Type"), "application/json"},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s: %q, want %q", name, c[0], c[1])
		}
	}

	// A prefix API appends what follows its prefix to the backend path, over TLS too.
	r = g.Do(t, Request{TLS: true, Method: "PUT", Host: "api.example.com", Path: "/dev/files/a/b.txt", Body: "x"})
	if r.Status != 200 {
		t.Fatalf("status %d\n%s", r.Status, r)
	}
	rec = up.Last(t)
	if rec.URI != "/store/a/b.txt" || rec.Method != "PUT" || rec.Header.Get("X-Client-Proto") != "https" || rec.Body != "x" {
		t.Errorf("prefix API upstream request: %+v", rec)
	}
}

func TestFoundationForceHTTPS(t *testing.T) {
	g, _ := foundationGateway(t)
	r := g.Do(t, Request{Host: "force.example.com:8080", Path: "/release/hello?a=1"})
	if r.Status != 301 || r.Header.Get("Location") != "https://force.example.com/release/hello?a=1" ||
		!requestIDPattern.MatchString(r.Header.Get("X-Api-Requestid")) {
		t.Fatalf("redirect:\n%s", r)
	}
	r = g.Do(t, Request{TLS: true, Host: "force.example.com", Path: "/release/hello"})
	if r.Status != 201 {
		t.Fatalf("https request on a force_https domain:\n%s", r)
	}
}

func TestFoundationReplyIsLogged(t *testing.T) {
	g, _ := foundationGateway(t)
	r := g.Do(t, Request{Host: "api.example.com", Path: "/logged-miss"})
	id := r.Header.Get("X-Api-Requestid")
	g.WaitLog(t, `reply status=404 message="There is no api match uri[/logged-miss]." request_id=`+id+` service=service-found api=-`, 10e9)
}

func TestFoundationRefusesInvalidConfig(t *testing.T) {
	for _, c := range []struct{ name, config, log string }{
		{"invalid JSON", `{"services": [`, "invalid configuration at (document)"},
		{"wrong type", `{"services": [{"id": "s", "apis": [{"id": "a", "path": "/a", "method": 7}]}]}`, "invalid configuration at services[0].apis[0].method"},
		{"unknown enum", `{"services": [{"id": "s", "protocols": ["gopher"]}]}`, "invalid configuration at services[0].protocols[0]"},
		{"missing reference", `{"usage_plans": [{"id": "p", "secrets": ["AKIDnope"]}]}`, "invalid configuration at usage_plans[0].secrets[0]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			logs := StartGatewayExpectFailure(t, Options{PluginConfig: c.config})
			if !strings.Contains(logs, c.log) {
				t.Fatalf("log does not name the problem %q:\n%s", c.log, tail(logs, 30))
			}
		})
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
