package tests

// Path normalization, spec step 1b, in Envoy: every rule on the default domain and on a
// custom domain with path mappings, through a prefix API (^~/files/ to /store/) and a template
// API whose {id} goes into the backend path, with the exact answer and the exact request line
// the upstream received. Requests are written byte for byte (Go's client would clean their
// paths), and the upstream reads its request line byte for byte (Go's server would refuse some
// of them). The same table runs against Envoy with normalize_path and merge_slashes off and on.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const pathConfig = `{
  "services": [{
    "id": "service-path",
    "default_domain": "path.example.com",
    "custom_domains": [
      {"host": "paths.example.com", "path_mappings": [{"path": "/", "environment": "release"}, {"path": "/dev", "environment": "test"}]},
      {"host": "force-path.example.com", "force_https": true}
    ],
    "apis": [
      {"id": "api-files", "path": "^~/files/", "method": "ANY", "backend": {"type": "http", "cluster": "up", "path": "/store/"}},
      {"id": "api-users", "path": "/users/{id}", "method": "GET", "backend": {"type": "http", "cluster": "up", "path": "/internal/users/{id}"}},
      {"id": "api-where-release", "path": "=/where", "environments": ["release"], "backend": {"type": "mock", "body": "release"}},
      {"id": "api-where-test", "path": "=/where", "environments": ["test"], "backend": {"type": "mock", "body": "test"}},
      {"id": "api-signed", "path": "=/signed", "auth": "secret", "environments": ["release"], "backend": {"type": "http", "cluster": "up", "path": "/signed"}}
    ]
  }],
  "secrets": [{"secret_id": "AKIDenv", "secret_key": "ZxF2whO0RhuwnVCj5JMMAuqcDcN2oPrC"}],
  "usage_plans": [{"id": "plan-path", "secrets": ["AKIDenv"], "environments": [{"service": "service-path", "environment": "release"}]}]
}`

const (
	pathDefault = "path.example.com"
	pathCustom  = "paths.example.com"
	pathForce   = "force-path.example.com"
)

// rawUpstream is an HTTP/1.1 server that records each request line's target as received and
// answers 200 with that target as the body.
type rawUpstream struct {
	addr    string
	mu      sync.Mutex
	targets []string
}

func startRawUpstream(o owner) (*rawUpstream, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u := &rawUpstream{addr: ln.Addr().String()}
	var conns sync.WaitGroup
	o.Cleanup(func() {
		ln.Close()
		conns.Wait()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer conns.Done()
				u.serve(c)
			}()
		}
	}()
	return u, nil
}

func (u *rawUpstream) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	tp := textproto.NewReader(br)
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		h, err := tp.ReadMIMEHeader()
		if err != nil {
			return
		}
		if n, _ := strconv.Atoi(h.Get("Content-Length")); n > 0 {
			io.CopyN(io.Discard, br, int64(n))
		}
		parts := strings.Split(line, " ")
		target := parts[min(1, len(parts)-1)]
		u.mu.Lock()
		u.targets = append(u.targets, target)
		u.mu.Unlock()
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(target), target)
	}
}

func (u *rawUpstream) received() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.targets...)
}

// pathGateway is the shared gateway of this file with Envoy's normalize_path and merge_slashes
// on or off, and the upstream behind both.
func pathGateway(t *testing.T, envoyNormalizes bool) (*Gateway, *rawUpstream) {
	t.Helper()
	v, err := sharedValue("upstream:path-raw", func() (any, error) { return startRawUpstream(binaryOwner{}) })
	if err != nil {
		t.Fatal(err)
	}
	up := v.(*rawUpstream)
	g := SharedGateway(t, fmt.Sprintf("path-normalize-%v", envoyNormalizes), Options{
		PluginConfig:        pathConfig,
		Clusters:            map[string]string{"up": up.addr},
		EnvoyNormalizesPath: envoyNormalizes,
	})
	return g, up
}

// pathCase is one request of the table and its answer in both Envoys.
type pathCase struct {
	name, host, target string
	status             int
	body               string // the exact body: the upstream's echo of its target, a mock's, or the gateway's JSON
	up                 string // the target the upstream receives; "" when nothing reaches it
	merged             string // the target with Envoy's merge_slashes on, where it differs from up
	location           string // the Location of a redirect
	envoyRefuses       bool   // with normalize_path on, Envoy answers 400 itself before the plugin
}

func invalidPath(name, host, target string) pathCase {
	return pathCase{name: name, host: host, target: target, status: 400, body: `{"message":"Invalid request path."}`}
}

func routed(name, host, target, up string) pathCase {
	return pathCase{name: name, host: host, target: target, status: 200, body: up, up: up}
}

func answered(name, host, target string, status int, body string) pathCase {
	return pathCase{name: name, host: host, target: target, status: status, body: body}
}

func noAPI(format, arg string) string { return `{"message":"` + fmt.Sprintf(format, arg) + `"}` }

var pathCases = []pathCase{
	// 1. unreserved escapes decoded, either case
	routed("unreserved decoded", pathDefault, "/release/%66iles/a%2Db%7e%5F", "/store/a-b~_"),
	routed("environment decoded", pathDefault, "/%72elease/files/x", "/store/x"),
	routed("hex in either case", pathDefault, "/release/files/%7E%7e%41%61", "/store/~~Aa"),
	routed("custom: decoded", pathCustom, "/%66iles/a", "/store/a"),
	answered("custom: mapping decoded", pathCustom, "/%64ev/where", 200, "test"),
	routed("template: variable decoded, other escapes kept", pathDefault, "/release/users/%41%20b", "/internal/users/A%20b"),

	// 2. escapes of '/', '\' and NUL refused
	invalidPath("escape of /", pathDefault, "/release/files/a%2fb"),
	invalidPath("escape of / in capitals", pathDefault, "/release/files/a%2Fb"),
	invalidPath("escape of \\", pathDefault, "/release/files/a%5cb"),
	invalidPath("escape of \\ in capitals", pathCustom, "/dev/files/a%5Cb"),
	{name: "escape of NUL", host: pathDefault, target: "/release/files/a%00b", status: 400, body: `{"message":"Invalid request path."}`, envoyRefuses: true},
	{name: "escape of NUL in a removed segment", host: pathDefault, target: "/release/files/%00/../b", status: 400, body: `{"message":"Invalid request path."}`, envoyRefuses: true},
	invalidPath("the issue's encoded traversal", pathDefault, "/release/files/..%2f..%2fetc/passwd"),
	invalidPath("custom: the issue's encoded traversal", pathCustom, "/files/..%2f..%2fetc/passwd"),
	invalidPath("template: encoded traversal", pathDefault, "/release/users/..%2f..%2fadmin"),
	invalidPath("encoded dots and slash", pathDefault, "/release/files/a/%2e%2e%2fb"),
	invalidPath("refused before the environment", pathDefault, "/nowhere%2F"),
	routed("escape of / in a segment '..' removes", pathDefault, "/release/files/a%2Fb/../c", "/store/c"),

	// 3. dot-segments removed (RFC 3986 5.2.4)
	routed("dot-segments", pathDefault, "/release/files/a/./b/../c", "/store/a/c"),
	answered("'..' into another environment", pathDefault, "/release/../test/where", 200, "test"),
	routed("'..' above the root dropped", pathDefault, "/../release/files/x", "/store/x"),
	routed("encoded dot-segments", pathDefault, "/release/files/a/%2e%2E/b/.%2e/c", "/store/c"),
	routed("trailing '..'", pathDefault, "/release/files/x/..", "/store/"),
	routed("trailing '.'", pathDefault, "/release/files/x/.", "/store/x/"),
	answered("the issue's traversal", pathDefault, "/release/files/../../etc/passwd", 404, noAPI("There is no api match default env_mapping[%s].", "/etc")),
	answered("custom: the issue's traversal", pathCustom, "/files/../../etc/passwd", 404, noAPI("There is no api match uri[%s].", "/etc/passwd")),
	answered("custom: '..' leaves /dev", pathCustom, "/dev/../where", 200, "release"),
	answered("custom: '..' into /dev", pathCustom, "/x/../dev/where", 200, "test"),
	routed("custom: prefix API under /dev", pathCustom, "/dev/files/x/../y", "/store/y"),
	routed("template: variable after '..'", pathDefault, "/release/users/a/../b", "/internal/users/b"),
	routed("template: dots inside the variable", pathDefault, "/release/users/a/./b", "/internal/users/a/b"),
	answered("template: the variable cannot carry '..'", pathDefault, "/release/users/x/../../where", 200, "release"),
	routed("custom: template", pathCustom, "/dev/users/a/%2e%2e/b", "/internal/users/b"),
	answered("$uri is normalized", pathDefault, "/release/nothing/./here/..", 404, noAPI("There is no api match uri[%s].", "/nothing/")),
	answered("$seg is normalized", pathDefault, "/%70rod/x", 404, noAPI("There is no api match default env_mapping[%s].", "/prod")),

	// 4. every other escape kept as sent; a stray '%' never becomes an escape
	routed("other escapes kept", pathDefault, "/release/files/a%20b%3Fc%3fd%25", "/store/a%20b%3Fc%3fd%25"),
	routed("UTF-8 escapes kept", pathDefault, "/release/files/%e4%b8%AD", "/store/%e4%b8%AD"),
	routed("malformed escapes kept", pathDefault, "/release/files/a%zz%2", "/store/a%zz%2"),
	routed("a stray % never forms %2e", pathDefault, "/release/files/%%32%65%%32%65/x", "/store/%252e%252e/x"),
	routed("a stray % before decoded hex", pathDefault, "/release/files/a%%41%42", "/store/a%25AB"),

	// repeated slashes stay (Envoy's merge_slashes merges them before the plugin)
	{name: "repeated slashes", host: pathDefault, target: "/release/files/a//b", status: 200, body: "/store/a//b", up: "/store/a//b", merged: "/store/a/b"},
	{name: "custom: repeated slashes", host: pathCustom, target: "/dev/files/a//b", status: 200, body: "/store/a//b", up: "/store/a//b", merged: "/store/a/b"},
	routed("'..' after repeated slashes", pathDefault, "/release/files/a//../b", "/store/a/b"),

	// a literal backslash is a slash
	routed("backslash", pathDefault, "/release/files/a\\b", "/store/a/b"),
	answered("backslash dot-segments", pathDefault, "/release/files/a\\..\\..\\where", 200, "release"),

	// the query is never touched
	routed("query as sent", pathDefault, "/release/files/a/../b?x=/../%2e%2F&y=%zz", "/store/b?x=/../%2e%2F&y=%zz"),

	// force_https: the normalized path, the query as sent
	{name: "force_https Location", host: pathForce, target: "/release/./x/../where?q=/../%2e", status: 301,
		location: "https://force-path.example.com/release/where?q=/../%2e"},
}

// TestPathNormalization runs the table against Envoy with normalize_path and merge_slashes off,
// then on: the answers are the same but for Envoy's own slash merging and its own 400 for an
// escape of NUL.
func TestPathNormalization(t *testing.T) {
	for _, envoyNormalizes := range []bool{false, true} {
		t.Run(fmt.Sprintf("normalize_path=%v", envoyNormalizes), func(t *testing.T) {
			g, up := pathGateway(t, envoyNormalizes)
			start := len(up.received())
			for _, c := range pathCases {
				t.Run(c.name, func(t *testing.T) {
					before := len(up.received())
					r := g.Raw(t, RawRequest{Data: "GET " + c.target + " HTTP/1.1\r\nHost: " + c.host + "\r\nConnection: close\r\n\r\n"})
					status, body, wantUp := c.status, c.body, c.up
					if envoyNormalizes && c.merged != "" {
						body, wantUp = c.merged, c.merged
					}
					if envoyNormalizes && c.envoyRefuses {
						body = "" // Envoy's own 400, which the plugin never sees
					}
					if r.Status != status || r.Body != body {
						t.Fatalf("got %d %q, want %d %q\n%s", r.Status, r.Body, status, body, r)
					}
					if c.location != "" && r.Header.Get("Location") != c.location {
						t.Errorf("Location %q, want %q", r.Header.Get("Location"), c.location)
					}
					if strings.HasPrefix(body, `{"message"`) {
						checkGatewayReply(t, r)
					}
					got := up.received()[before:]
					switch {
					case wantUp == "" && len(got) != 0:
						t.Errorf("the upstream received %q", got)
					case wantUp != "" && (len(got) != 1 || got[0] != wantUp):
						t.Errorf("the upstream received %q, want %q", got, wantUp)
					}
				})
			}
			checkUpstreamTargets(t, up.received()[start:])
		})
	}
}

// checkUpstreamTargets: no request line an upstream received has a "." or ".." segment, or an
// escape of '/', '\' or NUL in its path.
func checkUpstreamTargets(t *testing.T, targets []string) {
	t.Helper()
	if len(targets) == 0 {
		t.Fatal("the upstream received nothing")
	}
	for _, target := range targets {
		p, _, _ := strings.Cut(target, "?")
		for _, seg := range strings.Split(p, "/") {
			if seg == "." || seg == ".." {
				t.Errorf("the upstream received a dot-segment: %q", target)
			}
		}
		for i := 0; i+2 < len(p); i++ {
			if p[i] != '%' {
				continue
			}
			v, err := strconv.ParseUint(p[i+1:i+3], 16, 8)
			if err != nil {
				continue
			}
			if v == '/' || v == '\\' || v == 0 {
				t.Errorf("the upstream received an escape of %q: %q", rune(v), target)
			}
			i += 2
		}
	}
}

// TestPathHMACSignsThePathAsSent: the request-line of a key-pair signature is the path the
// client sent, not the normalized one; the upstream receives the normalized one. With Envoy's
// normalize_path on, "as sent" is as Envoy passes it on: a signature over the client's own
// path then no longer matches.
func TestPathHMACSignsThePathAsSent(t *testing.T) {
	const sent = "/release/x/../%73igned?q=1"
	for _, c := range []struct {
		envoyNormalizes bool
		signed          string
		status          int
		message         string
	}{
		{false, sent, 200, ""},
		{false, "/release/signed?q=1", 401, "HMAC signature does not match."},
		{true, "/release/signed?q=1", 200, ""},
		{true, sent, 401, "HMAC signature does not match."},
	} {
		t.Run(fmt.Sprintf("normalize_path=%v signed %s", c.envoyNormalizes, c.signed), func(t *testing.T) {
			g, _ := pathGateway(t, c.envoyNormalizes)
			h := sign(t, "AKIDenv", "hmac-sha256", "x-date request-line", "GET", c.signed, nil)
			var req strings.Builder
			fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", sent, pathDefault)
			h.Write(&req)
			req.WriteString("\r\n")
			r := g.Raw(t, RawRequest{Data: req.String()})
			if r.Status != c.status || (c.message != "" && r.Message() != c.message) {
				t.Fatalf("got %d %q, want %d %q\n%s", r.Status, r.Message(), c.status, c.message, r)
			}
			if c.status == 200 && r.Body != "/signed?q=1" {
				t.Errorf("the upstream received %q", r.Body)
			}
		})
	}
}
