package tests

import (
	"net/http"
	"testing"
)

// corsConfig exercises docs/gateway.md section 3, step 8 and the `cors` field of section 4. The
// "vary" upstream answers with its own Vary and Access-Control-Allow-Origin, as some backends do.
const corsConfig = `{
  "services": [{
    "id": "service-cors",
    "default_domain": "cors.example.com",
    "custom_domains": [{"host": "www.cors.example.com", "path_mappings": [{"path": "/v1", "environment": "release"}]}],
    "apis": [
      {"id": "api-default", "path": "=/default", "method": "POST", "cors": true,
       "backend": {"type": "http", "cluster": "up", "path": "/default"}},
      {"id": "api-object", "path": "=/object", "method": "PUT",
       "cors": {"allow_origins": ["https://app.example.com", "http://localhost:3000"], "allow_methods": ["GET", "put"],
                "allow_headers": ["X-Custom", "Content-Type"], "expose_headers": ["X-Api-RequestId", "X-Up"],
                "allow_credentials": false, "max_age_seconds": 600},
       "backend": {"type": "http", "cluster": "up", "path": "/object"}},
      {"id": "api-any", "path": "=/any", "method": "GET", "cors": {"allow_origins": ["*"], "allow_methods": ["GET"]},
       "backend": {"type": "http", "cluster": "up", "path": "/any"}},
      {"id": "api-cred", "path": "=/cred", "method": "GET",
       "cors": {"allow_origins": ["*"], "allow_methods": ["GET"], "allow_headers": ["*"], "allow_credentials": true, "max_age_seconds": 0},
       "backend": {"type": "http", "cluster": "vary", "path": "/cred"}},
      {"id": "api-plain", "path": "/plain", "method": "ANY", "backend": {"type": "http", "cluster": "up"}},
      {"id": "api-off", "path": "=/off", "cors": false, "backend": {"type": "mock", "body": "off"}},
      {"id": "api-param", "path": "=/param", "method": "GET", "cors": true,
       "parameters": [{"name": "X-Need", "position": "header", "required": true}],
       "backend": {"type": "http", "cluster": "up"}},
      {"id": "api-form", "path": "=/form", "method": "POST", "cors": true,
       "parameters": [{"name": "name", "position": "body", "required": true}],
       "backend": {"type": "http", "cluster": "up", "path": "/form"}},
      {"id": "api-bad-origin", "path": "=/bad-origin", "cors": {"allow_origins": ["app.example.com"], "allow_methods": ["GET"]},
       "backend": {"type": "mock", "body": "x"}},
      {"id": "api-bad-method", "path": "=/bad-method", "cors": {"allow_methods": ["TRACE"]}, "backend": {"type": "mock", "body": "x"}},
      {"id": "api-no-method", "path": "=/no-method", "cors": {"allow_origins": ["*"], "allow_methods": []}, "backend": {"type": "mock", "body": "x"}},
      {"id": "api-neg-age", "path": "=/neg-age", "cors": {"allow_methods": ["GET"], "max_age_seconds": -1}, "backend": {"type": "mock", "body": "x"}}
    ]
  }]
}`

const corsHost = "cors.example.com"

// corsHeaders are every response header CORS may set.
var corsHeaders = []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
	"Access-Control-Allow-Credentials", "Access-Control-Expose-Headers", "Access-Control-Max-Age"}

func corsGateway(t *testing.T) (*Gateway, *Upstream, *Upstream) {
	t.Helper()
	up := SharedUpstream(t, "cors-up")
	v, err := sharedValue("upstream:cors-vary", func() (any, error) {
		return startUpstream(binaryOwner{}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Vary", "Accept-Encoding")
			w.Header().Set("Access-Control-Allow-Origin", "https://backend.example")
			w.Header().Set("X-Up", "1")
			w.Write([]byte("vary"))
		}), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	vary := v.(*Upstream)
	g := SharedGateway(t, "cors", Options{
		PluginConfig: corsConfig,
		Clusters:     map[string]string{"up": up.Addr, "vary": vary.Addr},
		TLS:          true,
	})
	return g, up, vary
}

// corsPreflight is a browser's preflight: OPTIONS with Origin and the Access-Control-Request-* headers.
func corsPreflight(path, origin, method, headers string) Request {
	h := http.Header{"Origin": {origin}, "Access-Control-Request-Method": {method}}
	if headers != "" {
		h.Set("Access-Control-Request-Headers", headers)
	}
	return Request{Method: "OPTIONS", Host: corsHost, Path: path, Header: h}
}

func withOrigin(r Request, origin string) Request {
	if r.Header == nil {
		r.Header = http.Header{}
	}
	r.Header.Set("Origin", origin)
	if r.Host == "" {
		r.Host = corsHost
	}
	return r
}

// checkCORSPreflight204 checks what every gateway preflight answer has: 204, the request id, no body.
func checkCORSPreflight204(t *testing.T, r Response) {
	t.Helper()
	if id := r.Header.Get("X-Api-Requestid"); !requestIDPattern.MatchString(id) {
		t.Errorf("x-api-requestid %q", id)
	}
	if r.Body != "" {
		t.Errorf("preflight body %q", r.Body)
	}
}

// TestCORSPreflight: the gateway answers a preflight to a CORS API with 204 and the headers
// of its policy, without asking the upstream; an origin the policy refuses gets 204 alone.
func TestCORSPreflight(t *testing.T) {
	g, up, _ := corsGateway(t)
	before := up.Count()
	cases := []Case{
		{Name: "cors true: Tencent defaults, origin echoed for credentials",
			Req:    corsPreflight("/release/default", "https://app.example.com", "POST", "X-Custom, Content-Type"),
			Status: 204, Header: map[string]string{
				"Access-Control-Allow-Origin":      "https://app.example.com",
				"Access-Control-Allow-Methods":     "GET,POST,PUT,DELETE,HEAD,OPTIONS,PATCH",
				"Access-Control-Allow-Headers":     "X-Custom, Content-Type",
				"Access-Control-Allow-Credentials": "true",
				"Access-Control-Max-Age":           "86400",
				"Vary":                             "Origin, Access-Control-Request-Headers",
			}, NoHeader: []string{"Access-Control-Expose-Headers"}},
		{Name: "cors true without requested headers",
			Req:    corsPreflight("/release/default", "http://localhost:8080", "POST", ""),
			Status: 204, Header: map[string]string{"Access-Control-Allow-Origin": "http://localhost:8080", "Access-Control-Allow-Credentials": "true"},
			NoHeader: []string{"Access-Control-Allow-Headers"}},
		{Name: "object: listed origin",
			Req:    corsPreflight("/release/object", "https://app.example.com", "PUT", "x-custom"),
			Status: 204, Header: map[string]string{
				"Access-Control-Allow-Origin":  "https://app.example.com",
				"Access-Control-Allow-Methods": "GET,PUT",
				"Access-Control-Allow-Headers": "X-Custom,Content-Type",
				"Access-Control-Max-Age":       "600",
				"Vary":                         "Origin",
			}, NoHeader: []string{"Access-Control-Allow-Credentials", "Access-Control-Expose-Headers"}},
		{Name: "object: listed origin with its default port",
			Req:    corsPreflight("/release/object", "https://app.example.com:443", "PUT", ""),
			Status: 204, Header: map[string]string{"Access-Control-Allow-Origin": "https://app.example.com:443"}},
		{Name: "object: second origin",
			Req:    corsPreflight("/release/object", "http://localhost:3000", "PUT", ""),
			Status: 204, Header: map[string]string{"Access-Control-Allow-Origin": "http://localhost:3000"}},
		{Name: "object: unlisted origin gets a bare 204",
			Req:    corsPreflight("/release/object", "http://localhost:3001", "PUT", "x-custom"),
			Status: 204, NoHeader: append(corsHeaders, "Vary")},
		{Name: "object: other scheme is another origin",
			Req:    corsPreflight("/release/object", "http://app.example.com", "PUT", ""),
			Status: 204, NoHeader: corsHeaders},
		{Name: "any origin without credentials",
			Req:    corsPreflight("/release/any", "https://x.example.org", "GET", "X-A"),
			Status: 204, Header: map[string]string{
				"Access-Control-Allow-Origin":  "*",
				"Access-Control-Allow-Methods": "GET",
				"Access-Control-Allow-Headers": "X-A",
				"Access-Control-Max-Age":       "86400",
				"Vary":                         "Access-Control-Request-Headers",
			}, NoHeader: []string{"Access-Control-Allow-Credentials"}},
		{Name: "credentials with allow_headers * echo the requested headers",
			Req:    corsPreflight("/release/cred", "https://x.example.org", "GET", "authorization"),
			Status: 204, Header: map[string]string{
				"Access-Control-Allow-Origin":      "https://x.example.org",
				"Access-Control-Allow-Headers":     "authorization",
				"Access-Control-Allow-Credentials": "true",
				"Vary":                             "Origin, Access-Control-Request-Headers",
			}, NoHeader: []string{"Access-Control-Max-Age"}},
	}
	for i := range cases {
		cases[i].Check = checkCORSPreflight204
	}
	RunCases(t, g, cases)
	if n := up.Count() - before; n != 0 {
		t.Errorf("the upstream saw %d preflights", n)
	}
	// A preflight matches with the requested method: DELETE is not api-default's method.
	r := g.Do(t, corsPreflight("/release/default", "https://app.example.com", "DELETE", ""))
	if r.Status != 405 || r.Message() != "Method Not Allowed." {
		t.Errorf("preflight for a method the API lacks: %d %q", r.Status, r.Message())
	}
}

// TestCORSActualRequests: a cross-origin request to a CORS API reaches the upstream and its
// answer carries the CORS headers; so does a gateway error of a later step.
func TestCORSActualRequests(t *testing.T) {
	g, up, vary := corsGateway(t)
	RunCases(t, g, []Case{
		{Name: "cors true", Req: withOrigin(Request{Method: "POST", Path: "/release/default", Body: "x"}, "https://app.example.com"),
			Status: 200, Header: map[string]string{
				"Access-Control-Allow-Origin":      "https://app.example.com",
				"Access-Control-Allow-Credentials": "true",
				"Access-Control-Expose-Headers":    "X-Api-ID,X-Service-RateLimit,X-Api-RateLimit,X-UsagePlan-RateLimit,X-UsagePlan-Quota,X-Api-RequestId",
				"Vary":                             "Origin",
				"Content-Type":                     "application/json",
			}, NoHeader: []string{"Access-Control-Allow-Methods", "Access-Control-Max-Age"},
			Check: func(t *testing.T, r Response) {
				if rec := DecodeEcho(t, r.Body); rec.URI != "/default" || rec.Header.Get("Origin") != "https://app.example.com" {
					t.Errorf("upstream got %s, origin %q", rec.URI, rec.Header.Get("Origin"))
				}
			}},
		{Name: "object", Req: withOrigin(Request{Method: "PUT", Path: "/release/object"}, "http://localhost:3000"),
			Status: 200, Header: map[string]string{
				"Access-Control-Allow-Origin":   "http://localhost:3000",
				"Access-Control-Expose-Headers": "X-Api-RequestId,X-Up",
				"Vary":                          "Origin",
			}, NoHeader: []string{"Access-Control-Allow-Credentials"}},
		{Name: "object: unlisted origin passes without CORS headers", Req: withOrigin(Request{Method: "PUT", Path: "/release/object"}, "https://evil.example.com"),
			Status: 200, NoHeader: append(corsHeaders, "Vary")},
		{Name: "any origin", Req: withOrigin(Request{Path: "/release/any"}, "http://a.b"),
			Status: 200, Header: map[string]string{"Access-Control-Allow-Origin": "*"}, NoHeader: []string{"Vary", "Access-Control-Allow-Credentials"}},
		{Name: "any origin, null origin", Req: withOrigin(Request{Path: "/release/any"}, "null"),
			Status: 200, Header: map[string]string{"Access-Control-Allow-Origin": "*"}},
		{Name: "credentials never echo null", Req: withOrigin(Request{Method: "POST", Path: "/release/default"}, "null"),
			Status: 200, NoHeader: corsHeaders},
		{Name: "gateway error of a later step carries them", Req: withOrigin(Request{Path: "/release/param"}, "https://app.example.com"),
			Status: 403, Message: "header X-Need is required.", Header: map[string]string{
				"Access-Control-Allow-Origin":      "https://app.example.com",
				"Access-Control-Allow-Credentials": "true",
				"Vary":                             "Origin",
				"Content-Type":                     "application/json; charset=utf-8",
			}, Check: func(t *testing.T, r Response) { checkGatewayReply(t, r) }},
		{Name: "on a body-parameter failure, after the body was read", Req: withOrigin(Request{Method: "POST", Path: "/release/form",
			Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, Body: "nam=e"}, "https://app.example.com"),
			Status: 403, Message: "body param name is required.", Header: map[string]string{
				"Access-Control-Allow-Origin": "https://app.example.com",
				"Vary":                        "Origin",
			}, Check: func(t *testing.T, r Response) { checkGatewayReply(t, r) }},
		{Name: "on the upstream's answer to a request whose body was read", Req: withOrigin(Request{Method: "POST", Path: "/release/form",
			Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, Body: "name=e"}, "https://app.example.com"),
			Status: 200, Header: map[string]string{"Access-Control-Allow-Origin": "https://app.example.com", "Vary": "Origin"},
			Check: func(t *testing.T, r Response) {
				if rec := DecodeEcho(t, r.Body); rec.URI != "/form" || rec.Body != "name=e" {
					t.Errorf("upstream got %s %q", rec.URI, rec.Body)
				}
			}},
		{Name: "preflight to a body-parameter API is answered without a body", Req: corsPreflight("/release/form", "https://app.example.com", "POST", ""),
			Status: 204, Header: map[string]string{"Access-Control-Allow-Origin": "https://app.example.com"}},
		{Name: "same-origin request gets none", Req: withOrigin(Request{Method: "POST", Path: "/release/default"}, "http://cors.example.com"),
			Status: 200, NoHeader: corsHeaders},
		{Name: "no origin gets none", Req: Request{Method: "POST", Host: corsHost, Path: "/release/default"},
			Status: 200, NoHeader: corsHeaders},
	})
	// The gateway's CORS headers replace the upstream's own Access-Control-Allow-Origin; the
	// upstream's Vary must survive next to the gateway's Origin.
	before := vary.Count()
	r := g.Do(t, withOrigin(Request{Path: "/release/cred"}, "https://x.example.org"))
	if r.Status != 200 || vary.Count() != before+1 {
		t.Fatalf("cred API:\n%s", r)
	}
	if got := r.Header.Values("Access-Control-Allow-Origin"); len(got) != 1 || got[0] != "https://x.example.org" {
		t.Errorf("Access-Control-Allow-Origin %q", got)
	}
	if got := varyTokens(r.Header); !got["origin"] || !got["accept-encoding"] {
		t.Errorf("Vary %q: want Origin and the upstream's Accept-Encoding", r.Header.Values("Vary"))
	}
	_ = up
}

// varyTokens is the set of lower-case field names of every Vary header.
func varyTokens(h http.Header) map[string]bool {
	set := map[string]bool{}
	for _, v := range h.Values("Vary") {
		for _, f := range splitVary(v) {
			set[f] = true
		}
	}
	return set
}

func splitVary(v string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(v); i++ {
		if i == len(v) || v[i] == ',' {
			f := v[start:i]
			for len(f) > 0 && (f[0] == ' ' || f[0] == '\t') {
				f = f[1:]
			}
			for len(f) > 0 && (f[len(f)-1] == ' ' || f[len(f)-1] == '\t') {
				f = f[:len(f)-1]
			}
			if f != "" {
				b := []byte(f)
				for j, c := range b {
					if 'A' <= c && c <= 'Z' {
						b[j] = c + 'a' - 'A'
					}
				}
				out = append(out, string(b))
			}
			start = i + 1
		}
	}
	return out
}

// TestCORSCrossOriginRefused: a cross-origin request to an API without CORS is 429, naming
// the path after the environment part; same-origin requests pass.
func TestCORSCrossOriginRefused(t *testing.T) {
	g, up, _ := corsGateway(t)
	refused := func(uri string) string {
		return "req is cross origin, api " + uri + " need open cors flag on qcloud apigateway."
	}
	before := up.Count()
	cases := []Case{
		{Name: "default domain", Req: withOrigin(Request{Path: "/release/plain/a?x=1"}, "https://app.example.com"),
			Status: 429, Message: refused("/plain/a")},
		{Name: "custom domain mapping", Req: withOrigin(Request{Host: "www.cors.example.com", Path: "/v1/plain?x=1"}, "https://app.example.com"),
			Status: 429, Message: refused("/plain")},
		{Name: "cors false", Req: withOrigin(Request{Path: "/release/off"}, "https://app.example.com"),
			Status: 429, Message: refused("/off")},
		{Name: "preflight to an API without CORS", Req: corsPreflight("/release/plain", "https://app.example.com", "GET", ""),
			Status: 429, Message: refused("/plain")},
		{Name: "other scheme", Req: withOrigin(Request{Path: "/release/plain"}, "https://cors.example.com"),
			Status: 429, Message: refused("/plain")},
		{Name: "other port", Req: withOrigin(Request{Host: "cors.example.com:8080", Path: "/release/plain"}, "http://cors.example.com:8081"),
			Status: 429, Message: refused("/plain")},
		{Name: "other host", Req: withOrigin(Request{Path: "/release/plain"}, "http://www.cors.example.com"),
			Status: 429, Message: refused("/plain")},
		{Name: "null origin", Req: withOrigin(Request{Path: "/release/plain"}, "null"),
			Status: 429, Message: refused("/plain")},
		{Name: "https page calling http", Req: withOrigin(Request{TLS: true, Path: "/release/plain"}, "http://cors.example.com"),
			Status: 429, Message: refused("/plain")},
	}
	for i := range cases {
		cases[i].Check = func(t *testing.T, r Response) { checkGatewayReply(t, r) }
		cases[i].NoHeader = corsHeaders
	}
	RunCases(t, g, cases)
	if n := up.Count() - before; n != 0 {
		t.Errorf("the upstream saw %d refused requests", n)
	}
	for _, c := range []struct {
		name string
		req  Request
	}{
		{"same origin", withOrigin(Request{Path: "/release/plain"}, "http://cors.example.com")},
		{"same origin, any case", withOrigin(Request{Path: "/release/plain"}, "HTTP://CORS.Example.COM")},
		{"same origin, explicit default port", withOrigin(Request{Path: "/release/plain"}, "http://cors.example.com:80")},
		{"same origin with port", withOrigin(Request{Host: "cors.example.com:8080", Path: "/release/plain"}, "http://cors.example.com:8080")},
		{"same origin over TLS", withOrigin(Request{TLS: true, Path: "/release/plain"}, "https://cors.example.com")},
		{"same origin on a custom domain", withOrigin(Request{Host: "www.cors.example.com", Path: "/v1/plain"}, "http://www.cors.example.com")},
		{"no origin", Request{Host: corsHost, Path: "/release/plain"}},
	} {
		r := g.Do(t, c.req)
		if r.Status != 200 {
			t.Errorf("%s: %d %q", c.name, r.Status, r.Message())
		}
	}
	if n := up.Count() - before; n != 7 {
		t.Errorf("the upstream saw %d same-origin requests, want 7", n)
	}
}

// TestCORSInvalidConfig: a well-typed but invalid cors object is the API's 481, for every
// request to it; the other APIs keep working.
func TestCORSInvalidConfig(t *testing.T) {
	g, _, _ := corsGateway(t)
	var cases []Case
	for _, path := range []string{"/release/bad-origin", "/release/bad-method", "/release/no-method", "/release/neg-age"} {
		for _, req := range []Request{
			{Host: corsHost, Path: path},
			withOrigin(Request{Path: path}, "https://app.example.com"),
			corsPreflight(path, "https://app.example.com", "GET", ""),
		} {
			cases = append(cases, replyCase(Case{Name: req.Method + " " + path + " " + req.Header.Get("Origin"), Req: req,
				Status: 481, Message: "Found no valid cors config.", NoHeader: corsHeaders}))
		}
	}
	RunCases(t, g, cases)
	if r := g.Do(t, Request{Host: corsHost, Path: "/release/any"}); r.Status != 200 {
		t.Errorf("a valid API beside the broken ones: %d", r.Status)
	}
}

// TestCORSAnswersCarryNoLimitHeaders: the APIs of this file have no limit at all (no service, API
// or plan limit), so none of their answers — the gateway's preflight 204, its 429, the upstream's
// 200 — carries the limit headers of docs/gateway.md section 7 ("every response of a limited API";
// a limited API is one to which at least one limit applies).
func TestCORSAnswersCarryNoLimitHeaders(t *testing.T) {
	g, _, _ := corsGateway(t)
	limitHeaders := []string{"X-Service-Ratelimit", "X-Api-Ratelimit", "X-Usageplan-Ratelimit", "X-Usageplan-Quota"}
	RunCases(t, g, []Case{
		{Name: "preflight", Req: corsPreflight("/release/default", "https://app.example.com", "POST", ""), Status: 204, NoHeader: limitHeaders},
		{Name: "actual", Req: withOrigin(Request{Method: "POST", Path: "/release/default"}, "https://app.example.com"), Status: 200, NoHeader: limitHeaders},
		{Name: "refused", Req: withOrigin(Request{Path: "/release/plain"}, "https://app.example.com"), Status: 429, NoHeader: limitHeaders},
		{Name: "same origin", Req: Request{Host: corsHost, Path: "/release/plain"}, Status: 200, NoHeader: limitHeaders},
	})
}
