package gateway

import (
	"net/http"
	"testing"
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/config"
	"github.com/apigw-wasm/apigw-wasm/internal/hmacauth"
	"github.com/apigw-wasm/apigw-wasm/internal/limit"
	"github.com/apigw-wasm/apigw-wasm/internal/reply"
)

// TestPathNormalizationOrder: step 1b runs after the host (1) and before the environment (2),
// so everything from the environment on sees the normalized path: the environment part, the
// API match, $seg and $uri, path variables and the upstream :path. The query stays as sent.
func TestPathNormalizationOrder(t *testing.T) {
	g := newGateway(t)
	const def = "svc-1250000000.gz.apigw.tencentcs.com"
	type want struct {
		code    reply.Code // the answer; None: routed upstream
		message string
		env     config.Env // for a routed request
		api     string
		path    string // the upstream :path
	}
	for _, c := range []struct {
		name, host, path string
		want             want
	}{
		{"host before the path", "nope.example.com", "/a%2fb", want{code: reply.NoAPIForHost, message: "There is no api match host[nope.example.com]."}},
		{"refused before the environment", def, "/nowhere%2f", want{code: reply.InvalidRequestPath, message: "Invalid request path."}},
		{"refused before matching", "api.example.com", "/users/7/orders/1%5C", want{code: reply.InvalidRequestPath, message: "Invalid request path."}},
		{"NUL refused", "api.example.com", "/a/b%00", want{code: reply.InvalidRequestPath, message: "Invalid request path."}},
		{"environment after '..'", def, "/release/../test/users/1/orders/2", want{env: config.EnvTest, api: "tmpl", path: "/u/1/o/2"}},
		{"environment decoded", def, "/%74est/users/1/orders/2?x=%2e", want{env: config.EnvTest, api: "tmpl", path: "/u/1/o/2?x=%2e"}},
		{"$seg of the normalized path", def, "/release/../%2e%2e/prod/x", want{code: reply.NoDefaultEnvMapping, message: "There is no api match default env_mapping[/prod]."}},
		{"custom mapping after '..'", "api.example.com", "/dev/../users/1/orders/2", want{env: config.EnvRelease, api: "tmpl", path: "/u/1/o/2"}},
		{"custom mapping reached by '..'", "api.example.com", "/x/../dev/users/1/orders/2", want{env: config.EnvTest, api: "tmpl", path: "/u/1/o/2"}},
		{"$uri of the normalized path", "api.example.com", "/zzz/./q/..?a=/../b", want{code: reply.NoAPIForURI, message: "There is no api match uri[/zzz/]."}},
		{"exact API through dots", "api.example.com", "/a/./x/../b", want{code: reply.None, api: "exact"}},
		{"prefix cannot climb out", "api.example.com", "/a/x/../../etc/passwd", want{code: reply.NoAPIForURI, message: "There is no api match uri[/etc/passwd]."}},
		{"prefix remainder normalized", "api.example.com", "/a/x/%2e%2e/y/./z", want{env: config.EnvRelease, api: "prefix", path: "/base/y/z"}},
		{"path variables normalized", "api.example.com", "/users/a/../%41%20/orders/%7e", want{env: config.EnvRelease, api: "tmpl", path: "/u/A%20/o/~"}},
		{"variable cannot carry '..'", "api.example.com", "/users/../../x/orders/1", want{code: reply.NoAPIForURI, message: "There is no api match uri[/x/orders/1]."}},
		{"backslash is a slash", "api.example.com", "/a\\x\\..\\y", want{env: config.EnvRelease, api: "prefix", path: "/base/y"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := g.Handle(&Request{Authority: c.host, Method: "GET", Path: c.path, Headers: headerMap{}, RequestID: "rid", Source: "10.0.0.1:1"})
			if c.want.code != reply.None || c.want.api == "exact" {
				if d.Reply == nil {
					t.Fatalf("routed to %s, want an answer", get(d, ":path"))
				}
				if d.Reply.Code != c.want.code || d.Reply.Message != c.want.message && c.want.message != "" {
					t.Fatalf("answered %d %q, want %v %q", d.Reply.Status, d.Reply.Message, c.want.code, c.want.message)
				}
				if c.want.code == reply.InvalidRequestPath && (d.Reply.Status != 400 || string(d.Reply.Body) != `{"message":"Invalid request path."}`) {
					t.Fatalf("answer %d %s", d.Reply.Status, d.Reply.Body)
				}
				if c.want.api != "" && (d.API == nil || d.API.ID != c.want.api) {
					t.Fatalf("api %v, want %s", d.API, c.want.api)
				}
				return
			}
			if d.Reply != nil {
				t.Fatalf("answered %d %q", d.Reply.Status, d.Reply.Message)
			}
			if d.Env != c.want.env || d.API.ID != c.want.api || get(d, ":path") != c.want.path {
				t.Fatalf("routed %v %s %q, want %v %s %q", d.Env, d.API.ID, get(d, ":path"), c.want.env, c.want.api, c.want.path)
			}
		})
	}
}

// TestForceHTTPSLocation: the redirect carries the normalized path and the query as sent.
func TestForceHTTPSLocation(t *testing.T) {
	g := newGateway(t)
	for path, want := range map[string]string{
		"/release/./x/../a/b?q=/../%2e": "https://force.example.com/release/a/b?q=/../%2e",
		"/release/%61/b?":               "https://force.example.com/release/a/b?",
		"/release/a/b":                  "https://force.example.com/release/a/b",
	} {
		d := g.Handle(&Request{Authority: "force.example.com", Method: "GET", Path: path, Headers: headerMap{}, RequestID: "rid"})
		if d.Reply == nil || d.Reply.Status != 301 || !hasHeader(d.Reply.Headers, "location", want) {
			t.Errorf("%s: %+v, want location %s", path, d.Reply, want)
		}
	}
}

// TestHMACSignsThePathAsSent: the request-line of a signature is the path the client sent,
// dot-segments and escapes included, not the normalized one.
func TestHMACSignsThePathAsSent(t *testing.T) {
	cfg, err := config.Load([]byte(`{"services": [{"id": "s", "default_domain": "s.example.com",
	  "apis": [{"id": "signed", "path": "/signed", "auth": "secret", "backend": {"type": "http", "cluster": "c"}}]}],
	  "secrets": [{"secret_id": "AKIDx", "secret_key": "k"}],
	  "usage_plans": [{"id": "p", "secrets": ["AKIDx"], "environments": [{"service": "s", "environment": "release"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	g := New(cfg, &limit.Memory{})
	const sent = "/release/x/../%73igned/./a?q=1"
	for _, c := range []struct {
		signed string
		want   reply.Code
	}{
		{sent, reply.None},
		{"/release/signed/a?q=1", reply.HMACSignatureMismatch},
	} {
		h := http.Header{"X-Date": {time.Now().UTC().Format(http.TimeFormat)}}
		auth, err := hmacauth.Sign(signed{"GET", c.signed, h}, hmacauth.Credential{ID: "AKIDx", Algorithm: "hmac-sha256", Headers: "x-date request-line"}, []byte("k"))
		if err != nil {
			t.Fatal(err)
		}
		d := g.Handle(&Request{Authority: "s.example.com", Method: "GET", Path: sent, RequestID: "rid",
			Headers: headerMap{"x-date": h.Get("X-Date"), "authorization": auth}})
		switch {
		case c.want == reply.None && d.Reply != nil:
			t.Errorf("signed over %q: answered %q", c.signed, d.Reply.Message)
		case c.want == reply.None && get(d, ":path") != "/signed/a?q=1":
			t.Errorf("signed over %q: upstream path %q", c.signed, get(d, ":path"))
		case c.want != reply.None && (d.Reply == nil || d.Reply.Code != c.want):
			t.Errorf("signed over %q: %+v, want %v", c.signed, d.Reply, c.want)
		}
	}
}

type signed struct {
	method, path string
	h            http.Header
}

func (s signed) Values(name string) []string { return s.h.Values(name) }
func (s signed) Method() string              { return s.method }
func (s signed) Path() string                { return s.path }
