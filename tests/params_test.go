package tests

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// paramsConfig exercises docs/gateway.md section 3, step 11: parameters by position, type and
// default; form bodies. api-held routes to the "early" upstream, which counts a request as soon as
// its headers arrive.
const paramsConfig = `{
  "services": [{
    "id": "service-params",
    "default_domain": "params.example.com",
    "apis": [
      {"id": "api-path", "path": "/users/{id}", "method": "GET",
       "parameters": [{"name": "id", "position": "path", "type": "int", "required": true}],
       "backend": {"type": "http", "cluster": "up", "path": "/u/{id}"}},
      {"id": "api-order", "path": "/order/{oid}", "method": "POST",
       "parameters": [
         {"name": "b", "position": "body", "required": true},
         {"name": "q", "position": "query", "required": true},
         {"name": "X-H", "position": "header", "required": true},
         {"name": "oid", "position": "path", "required": true}],
       "backend": {"type": "http", "cluster": "up"}},
      {"id": "api-types", "path": "=/types", "method": "GET",
       "parameters": [
         {"name": "X-Int", "position": "header", "type": "int"},
         {"name": "i", "position": "query", "type": "int"},
         {"name": "l", "position": "query", "type": "long"},
         {"name": "f", "position": "query", "type": "float"},
         {"name": "d", "position": "query", "type": "double"},
         {"name": "b", "position": "query", "type": "boolean"},
         {"name": "s", "position": "query", "type": "string"}],
       "backend": {"type": "http", "cluster": "up", "path": "/t"}},
      {"id": "api-defaults", "path": "=/defaults", "method": "GET",
       "parameters": [
         {"name": "X-Token", "position": "header", "required": true},
         {"name": "X-Trace", "position": "header", "default": "trace-default"},
         {"name": "page", "position": "query", "type": "int", "default": "1"},
         {"name": "sort", "position": "query", "default": "name asc"},
         {"name": "q", "position": "query", "required": true}],
       "backend": {"type": "http", "cluster": "up", "path": "/d"}},
      {"id": "api-form", "path": "=/form", "method": "POST",
       "parameters": [
         {"name": "name", "position": "body", "required": true},
         {"name": "age", "position": "body", "type": "int"},
         {"name": "lang", "position": "body", "default": "en"},
         {"name": "page", "position": "query", "type": "int", "default": "1"}],
       "backend": {"type": "http", "cluster": "up", "path": "/f"}},
      {"id": "api-held", "path": "=/held", "method": "POST",
       "parameters": [{"name": "name", "position": "body", "required": true}],
       "backend": {"type": "http", "cluster": "early", "path": "/held"}},
      {"id": "api-noparams", "path": "=/raw", "method": "GET",
       "backend": {"type": "http", "cluster": "up", "path": "/raw"}}
    ]
  }]
}`

const paramsHost = "params.example.com"

// earlyUpstream counts a request when its headers arrive, before its body is read: it sees a
// request that Envoy forwarded at its headers, which Upstream (it records after the body) cannot.
type earlyUpstream struct {
	addr  string
	heads atomic.Int64
	mu    sync.Mutex
	body  string
}

func (e *earlyUpstream) lastBody() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.body
}

func paramsGateway(t *testing.T) (*Gateway, *Upstream, *earlyUpstream) {
	t.Helper()
	up := SharedUpstream(t, "params-up")
	v, err := sharedValue("upstream:params-early", func() (any, error) {
		e := &earlyUpstream{}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			e.heads.Add(1)
			b, _ := io.ReadAll(r.Body)
			e.mu.Lock()
			e.body = string(b)
			e.mu.Unlock()
			io.WriteString(w, "held ok")
		}))
		binaryOwner{}.Cleanup(srv.Close)
		e.addr = srv.Listener.Addr().String()
		return e, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	early := v.(*earlyUpstream)
	g := SharedGateway(t, "params", Options{
		PluginConfig: paramsConfig,
		Clusters:     map[string]string{"up": up.Addr, "early": early.addr},
	})
	return g, up, early
}

// replyCase marks a case as a gateway error: its reply format is checked too (docs/gateway.md
// section 2).
func replyCase(c Case) Case {
	c.Check = func(t *testing.T, r Response) { checkGatewayReply(t, r) }
	return c
}

func formHeader(extra ...string) http.Header {
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	for i := 0; i+1 < len(extra); i += 2 {
		h.Add(extra[i], extra[i+1])
	}
	return h
}

// TestParamsRequiredByPosition: every "required" row of step 11, and the order path, header,
// query, body (api-order declares them in the reverse order). None reaches the upstream.
func TestParamsRequiredByPosition(t *testing.T) {
	g, up, _ := paramsGateway(t)
	before := up.Count()
	cases := []Case{
		replyCase(Case{Name: "template variable that matched nothing", Req: Request{Host: paramsHost, Path: "/release/users/"},
			Status: 403, Message: "path variable id is required."}),
		replyCase(Case{Name: "path variable of the wrong type", Req: Request{Host: paramsHost, Path: "/release/users/abc"},
			Status: 403, Message: "Get id params fail."}),
		replyCase(Case{Name: "a variable takes slashes too", Req: Request{Host: paramsHost, Path: "/release/users/12/x"},
			Status: 403, Message: "Get id params fail."}),
		replyCase(Case{Name: "path first", Req: Request{Method: "POST", Host: paramsHost, Path: "/release/order/"},
			Status: 403, Message: "path variable oid is required."}),
		replyCase(Case{Name: "then header", Req: Request{Method: "POST", Host: paramsHost, Path: "/release/order/7"},
			Status: 403, Message: "header X-H is required."}),
		replyCase(Case{Name: "header name any case", Req: Request{Method: "POST", Host: paramsHost, Path: "/release/order/7",
			Header: http.Header{"x-h": {"1"}}}, Status: 403, Message: "querystring q is required."}),
		replyCase(Case{Name: "query key must match exactly", Req: Request{Method: "POST", Host: paramsHost, Path: "/release/order/7?Q=1&qq=1",
			Header: http.Header{"X-H": {"1"}}}, Status: 403, Message: "querystring q is required."}),
		replyCase(Case{Name: "then body content type", Req: Request{Method: "POST", Host: paramsHost, Path: "/release/order/7?q=1",
			Header: http.Header{"X-H": {"1"}}, Body: "b=1"}, Status: 403, Message: "req content type need application/x-www-form-urlencoded."}),
		replyCase(Case{Name: "json is no form", Req: Request{Method: "POST", Host: paramsHost, Path: "/release/order/7?q=1",
			Header: http.Header{"X-H": {"1"}, "Content-Type": {"application/json"}}, Body: `{"b":1}`},
			Status: 403, Message: "req content type need application/x-www-form-urlencoded."}),
		replyCase(Case{Name: "then body param, empty body", Req: Request{Method: "POST", Host: paramsHost, Path: "/release/order/7?q=1",
			Header: formHeader("X-H", "1")}, Status: 403, Message: "body param b is required."}),
		replyCase(Case{Name: "then body param, other pairs", Req: Request{Method: "POST", Host: paramsHost, Path: "/release/order/7?q=1",
			Header: formHeader("X-H", "1"), Body: "a=1&bb=2&B=3"}, Status: 403, Message: "body param b is required."}),
	}
	RunCases(t, g, cases)
	if n := up.Count() - before; n != 0 {
		t.Errorf("the upstream saw %d rejected requests", n)
	}
	// All present: the request passes, body untouched (no body default on this API).
	r := g.Do(t, Request{Method: "POST", Host: paramsHost, Path: "/release/order/7?q=1",
		Header: formHeader("X-H", "1"), Body: "b="})
	if r.Status != 200 {
		t.Fatalf("all parameters present:\n%s", r)
	}
	if rec := up.Last(t); rec.URI != "/order/7?q=1" || rec.Body != "b=" {
		t.Errorf("upstream request %s %q", rec.URI, rec.Body)
	}
	r = g.Do(t, Request{Host: paramsHost, Path: "/release/users/0042"})
	if rec := up.Last(t); r.Status != 200 || rec.URI != "/u/0042" {
		t.Errorf("valid path variable: %d, upstream %s", r.Status, rec.URI)
	}
}

// TestParamsTypes: the type rules of step 11 in headers and query strings, every failure
// answered 403 "Get xxx params fail." and kept from the upstream; good values pass.
func TestParamsTypes(t *testing.T) {
	g, up, _ := paramsGateway(t)
	bad := func(name, query string, header http.Header, param string) Case {
		return replyCase(Case{Name: name, Req: Request{Host: paramsHost, Path: "/release/types?" + query, Header: header},
			Status: 403, Message: "Get " + param + " params fail."})
	}
	before := up.Count()
	RunCases(t, g, []Case{
		bad("int letters", "i=abc", nil, "i"),
		bad("int empty value is present", "i=", nil, "i"),
		bad("int key without =", "i", nil, "i"),
		bad("int decimal point", "i=1.0", nil, "i"),
		bad("int over int64", "i=9223372036854775808", nil, "i"),
		bad("int plus decodes to space", "i=1+2", nil, "i"),
		bad("int any occurrence", "i=1&i=x", nil, "i"),
		bad("long over int64", "l=-9223372036854775809", nil, "l"),
		bad("long hex", "l=0x10", nil, "l"),
		bad("float trailing junk", "f=1.5x", nil, "f"),
		bad("float infinity", "f=inf", nil, "f"),
		bad("float just a point", "f=.", nil, "f"),
		bad("double NaN", "d=NaN", nil, "d"),
		bad("double beyond float64", "d=1e309", nil, "d"),
		bad("boolean yes", "b=yes", nil, "b"),
		bad("boolean 1", "b=1", nil, "b"),
		bad("config order within query", "b=yes&i=abc", nil, "i"),
		bad("header int", "", http.Header{"X-Int": {"12a"}}, "X-Int"),
		bad("header before query", "i=abc", http.Header{"X-Int": {"x"}}, "X-Int"),
		bad("encoded key matches", "%69=z", nil, "i"),
	})
	if n := up.Count() - before; n != 0 {
		t.Errorf("the upstream saw %d rejected requests", n)
	}
	for _, q := range []string{
		"i=-9223372036854775808&l=9223372036854775807",
		"i=%2B5&l=007",
		"f=1.5e3&d=-0.25&b=TRUE",
		"f=1&d=1E-400&b=false",
		"s=&b=False",
		"s=%E4%BD%A0+x",
		"",
	} {
		r := g.Do(t, Request{Host: paramsHost, Path: "/release/types?" + q, Header: http.Header{"X-Int": {"-3"}}})
		if r.Status != 200 {
			t.Errorf("%q: %d %q", q, r.Status, r.Message())
			continue
		}
		want := "/t"
		if q != "" {
			want += "?" + q
		}
		if rec := up.Last(t); rec.URI != want {
			t.Errorf("upstream URI %q, want %q", rec.URI, want)
		}
	}
}

// TestParamsUndecodableQuery: a query string with a broken %-escape is 500 on an API with
// query parameters. Sent byte for byte; Envoy passes the query through untouched, as the API
// without parameters shows at the upstream.
func TestParamsUndecodableQuery(t *testing.T) {
	g, up, _ := paramsGateway(t)
	before := up.Count()
	for _, q := range []string{"a=%zz", "i=1&x=%", "%g1=2", "page=%2"} {
		for _, path := range []string{"/release/types?", "/release/defaults?q=1&"} {
			r := g.Raw(t, RawRequest{Data: "GET " + path + q + " HTTP/1.1\r\nHost: " + paramsHost + "\r\nX-Token: t\r\nConnection: close\r\n\r\n"})
			if r.Status != 500 || r.Message() != "Error occurred during query params." {
				t.Errorf("%s%s: %d %q, want 500", path, q, r.Status, r.Message())
				continue
			}
			checkGatewayReply(t, r)
		}
	}
	if n := up.Count() - before; n != 0 {
		t.Errorf("the upstream saw %d rejected requests", n)
	}
	// Go's client sends the escape as it is too.
	r := g.Do(t, Request{Host: paramsHost, Path: "/release/types?a=%zz"})
	if r.Status != 500 || r.Message() != "Error occurred during query params." {
		t.Errorf("through Go's client: %d %q", r.Status, r.Message())
	}
	// What Envoy hands on: the query exactly as sent.
	r = g.Raw(t, RawRequest{Data: "GET /release/raw?a=%zz&b=%&c=%E4 HTTP/1.1\r\nHost: " + paramsHost + "\r\nConnection: close\r\n\r\n"})
	if r.Status != 200 {
		t.Fatalf("API without parameters:\n%s", r)
	}
	if rec := up.Last(t); rec.URI != "/raw?a=%zz&b=%&c=%E4" {
		t.Errorf("upstream got %q", rec.URI)
	}
}

// TestParamsDefaults: absent optional parameters with a default reach the upstream: a header
// as a header, a query default appended to the query.
func TestParamsDefaults(t *testing.T) {
	g, up, _ := paramsGateway(t)
	tok := http.Header{"X-Token": {"t"}}
	before := up.Count()
	RunCases(t, g, []Case{
		replyCase(Case{Name: "required header", Req: Request{Host: paramsHost, Path: "/release/defaults?q=1"},
			Status: 403, Message: "header X-Token is required."}),
		replyCase(Case{Name: "required query", Req: Request{Host: paramsHost, Path: "/release/defaults?page=2", Header: tok},
			Status: 403, Message: "querystring q is required."}),
		replyCase(Case{Name: "a present value is checked, not defaulted", Req: Request{Host: paramsHost, Path: "/release/defaults?q=1&page=x", Header: tok},
			Status: 403, Message: "Get page params fail."}),
	})
	if n := up.Count() - before; n != 0 {
		t.Errorf("the upstream saw %d rejected requests", n)
	}
	for _, c := range []struct {
		name, path string
		header     http.Header
		uri, trace string
	}{
		{"every default", "/release/defaults?q=x", tok, "/d?q=x&page=1&sort=name+asc", "trace-default"},
		{"trailing ampersand", "/release/defaults?q=x&", tok, "/d?q=x&page=1&sort=name+asc", "trace-default"},
		{"given values stay", "/release/defaults?sort=id&q=x&p%61ge=3", http.Header{"X-Token": {"t"}, "X-Trace": {"mine"}}, "/d?sort=id&q=x&p%61ge=3", "mine"},
		{"one default", "/release/defaults?q=&page=2", tok, "/d?q=&page=2&sort=name+asc", "trace-default"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := g.Do(t, Request{Host: paramsHost, Path: c.path, Header: c.header})
			if r.Status != 200 {
				t.Fatalf("%d %q", r.Status, r.Message())
			}
			rec := up.Last(t)
			if rec.URI != c.uri {
				t.Errorf("upstream URI %q, want %q", rec.URI, c.uri)
			}
			if got := rec.Header.Values("X-Trace"); len(got) != 1 || got[0] != c.trace {
				t.Errorf("upstream X-Trace %q, want %q", got, c.trace)
			}
		})
	}
}

// TestParamsFormBody: body parameters of a form, the body default appended to the body the
// upstream receives, and rejected bodies that never reach it.
func TestParamsFormBody(t *testing.T) {
	g, up, _ := paramsGateway(t)
	before := up.Count()
	RunCases(t, g, []Case{
		replyCase(Case{Name: "no content type", Req: Request{Method: "POST", Host: paramsHost, Path: "/release/form", Body: "name=a"},
			Status: 403, Message: "req content type need application/x-www-form-urlencoded."}),
		replyCase(Case{Name: "multipart", Req: Request{Method: "POST", Host: paramsHost, Path: "/release/form", Body: "name=a",
			Header: http.Header{"Content-Type": {"multipart/form-data; boundary=x"}}},
			Status: 403, Message: "req content type need application/x-www-form-urlencoded."}),
		replyCase(Case{Name: "missing", Req: Request{Method: "POST", Host: paramsHost, Path: "/release/form", Body: "age=3", Header: formHeader()},
			Status: 403, Message: "body param name is required."}),
		replyCase(Case{Name: "no body at all", Req: Request{Method: "POST", Host: paramsHost, Path: "/release/form", Header: formHeader()},
			Status: 403, Message: "body param name is required."}),
		replyCase(Case{Name: "bad int", Req: Request{Method: "POST", Host: paramsHost, Path: "/release/form", Body: "name=bob&age=x", Header: formHeader()},
			Status: 403, Message: "Get age params fail."}),
		replyCase(Case{Name: "broken escape in a declared pair", Req: Request{Method: "POST", Host: paramsHost, Path: "/release/form", Body: "name=%zz", Header: formHeader()},
			Status: 403, Message: "Get name params fail."}),
		replyCase(Case{Name: "query before body", Req: Request{Method: "POST", Host: paramsHost, Path: "/release/form?page=1.5", Body: "age=3", Header: formHeader()},
			Status: 403, Message: "Get page params fail."}),
		replyCase(Case{Name: "undecodable query", Req: Request{Method: "POST", Host: paramsHost, Path: "/release/form?x=%zz", Body: "name=a", Header: formHeader()},
			Status: 500, Message: "Error occurred during query params."}),
	})
	if n := up.Count() - before; n != 0 {
		t.Errorf("the upstream saw %d rejected requests", n)
	}
	for _, c := range []struct {
		name, ct, path, body, uri, upBody string
	}{
		{"defaults appended", "application/x-www-form-urlencoded", "/release/form", "name=bob&age=30", "/f?page=1", "name=bob&age=30&lang=en"},
		{"content type with charset, any case", "Application/X-WWW-Form-Urlencoded; charset=UTF-8", "/release/form?page=4", "age=-1&name=%E4%BD%A0&", "/f?page=4", "age=-1&name=%E4%BD%A0&lang=en"},
		{"given values stay", "application/x-www-form-urlencoded", "/release/form", "lang=fr&name=x", "/f?page=1", "lang=fr&name=x"},
		{"undeclared pairs are not judged", "application/x-www-form-urlencoded", "/release/form", "name=x&junk=%zz", "/f?page=1", "name=x&junk=%zz&lang=en"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := g.Do(t, Request{Method: "POST", Host: paramsHost, Path: c.path, Body: c.body, Header: http.Header{"Content-Type": {c.ct}}})
			if r.Status != 200 {
				t.Fatalf("%d %q", r.Status, r.Message())
			}
			rec := up.Last(t)
			if rec.URI != c.uri || rec.Body != c.upBody {
				t.Errorf("upstream got %s %q, want %s %q", rec.URI, rec.Body, c.uri, c.upBody)
			}
			if cl := rec.Header.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(c.upBody)) {
				t.Errorf("upstream content-length %s for a body of %d bytes", cl, len(c.upBody))
			}
		})
	}
}

// streamRequest writes head (request line and headers, ending in a blank line) on a new
// connection to the gateway, then lets write send the body while a reader waits for the
// response. Write errors after the gateway answered (it may close early) are ignored.
func streamRequest(t *testing.T, g *Gateway, head string, write func(w io.Writer) error) Response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(g.HTTPURL, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	type result struct {
		r   Response
		err error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			done <- result{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- result{Response{Status: resp.StatusCode, Proto: resp.Proto, Header: resp.Header, Body: string(b)}, err}
	}()
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	werr := write(conn)
	res := <-done
	if res.err != nil {
		t.Fatalf("no response (write error: %v): %v", werr, res.err)
	}
	return res.r
}

// chunkedBody writes each piece as one HTTP/1.1 chunk, pausing between them, then the last chunk.
func chunkedBody(pieces []string, pause time.Duration, between func(i int)) func(io.Writer) error {
	return func(w io.Writer) error {
		for i, p := range pieces {
			if _, err := fmt.Fprintf(w, "%x\r\n%s\r\n", len(p), p); err != nil {
				return err
			}
			if between != nil {
				between(i)
			}
			time.Sleep(pause)
		}
		_, err := io.WriteString(w, "0\r\n\r\n")
		return err
	}
}

func splitEvery(s string, n int) []string {
	var out []string
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	return append(out, s)
}

func chunkedHead(path string) string {
	return "POST " + path + " HTTP/1.1\r\nHost: " + paramsHost + "\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
		"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
}

// TestParamsChunkedBody: the plugin holds a request with body parameters at its headers and
// reads the whole body, arriving in chunks, before anything goes upstream.
func TestParamsChunkedBody(t *testing.T) {
	g, up, early := paramsGateway(t)

	t.Run("large failing body never reaches the upstream", func(t *testing.T) {
		before := up.Count()
		body := "age=1&pad=" + strings.Repeat("x", 200*1024) + "&nam=e"
		r := streamRequest(t, g, chunkedHead("/release/form"), chunkedBody(splitEvery(body, 16*1024), 5*time.Millisecond, nil))
		if r.Status != 403 || r.Message() != "body param name is required." {
			t.Fatalf("got %d %q\n%s", r.Status, r.Message(), r)
		}
		checkGatewayReply(t, r)
		if n := up.Count() - before; n != 0 {
			t.Errorf("the upstream saw %d requests", n)
		}
	})

	t.Run("held at the headers while the body arrives", func(t *testing.T) {
		before := early.heads.Load()
		var mid int64 = -1
		r := streamRequest(t, g, chunkedHead("/release/held"), chunkedBody([]string{"na", "me=bo", "b"}, 0, func(i int) {
			if i == 1 {
				time.Sleep(500 * time.Millisecond) // time enough for Envoy to forward headers, were they not held
				mid = early.heads.Load() - before
			}
		}))
		if r.Status != 200 || r.Body != "held ok" {
			t.Fatalf("got\n%s", r)
		}
		if mid != 0 {
			t.Errorf("the upstream saw the request's headers before its body was complete (%d)", mid)
		}
		if n := early.heads.Load() - before; n != 1 || early.lastBody() != "name=bob" {
			t.Errorf("upstream saw %d requests, body %q", n, early.lastBody())
		}
		// And a failing one is never seen at all, not even its headers.
		r = streamRequest(t, g, chunkedHead("/release/held"), chunkedBody([]string{"nam", "e2=x"}, 100*time.Millisecond, nil))
		if r.Status != 403 || r.Message() != "body param name is required." {
			t.Fatalf("got %d %q", r.Status, r.Message())
		}
		time.Sleep(100 * time.Millisecond)
		if n := early.heads.Load() - before; n != 1 {
			t.Errorf("a rejected request reached the upstream (%d requests)", n)
		}
	})

	t.Run("chunked body passes with defaults", func(t *testing.T) {
		r := streamRequest(t, g, chunkedHead("/release/form?x=1"), chunkedBody([]string{"name=al", "ice&ag", "e=5"}, 20*time.Millisecond, nil))
		if r.Status != 200 {
			t.Fatalf("got\n%s", r)
		}
		rec := up.Last(t)
		if rec.URI != "/f?x=1&page=1" || rec.Body != "name=alice&age=5&lang=en" {
			t.Errorf("upstream got %s %q", rec.URI, rec.Body)
		}
	})

	t.Run("large chunked body passes whole", func(t *testing.T) {
		body := "name=big&pad=" + strings.Repeat("y", 200*1024)
		r := streamRequest(t, g, chunkedHead("/release/form"), chunkedBody(splitEvery(body, 8*1024), 0, nil))
		if r.Status != 200 {
			t.Fatalf("got %d %q", r.Status, r.Message())
		}
		if rec := up.Last(t); rec.Body != body+"&lang=en" {
			t.Errorf("upstream body: %d bytes, want %d", len(rec.Body), len(body)+len("&lang=en"))
		}
	})
}

// TestParamsBodyOverBufferLimit: a body larger than Envoy's buffer limit (1 MiB, the default
// per_connection_buffer_limit_bytes) on an API with body parameters is answered by Envoy
// itself with 413, and nothing reaches the upstream.
func TestParamsBodyOverBufferLimit(t *testing.T) {
	g, up, _ := paramsGateway(t)
	before := up.Count()
	body := "name=x&pad=" + strings.Repeat("z", 2<<20)
	for _, c := range []struct {
		name  string
		head  string
		write func(io.Writer) error
	}{
		{"content-length", "POST /release/form HTTP/1.1\r\nHost: " + paramsHost + "\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
			"Content-Length: " + strconv.Itoa(len(body)) + "\r\nConnection: close\r\n\r\n",
			func(w io.Writer) error { _, err := io.WriteString(w, body); return err }},
		{"chunked", chunkedHead("/release/form"), chunkedBody(splitEvery(body, 64*1024), 0, nil)},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := streamRequest(t, g, c.head, c.write)
			if r.Status != 413 {
				t.Fatalf("got\n%s", r)
			}
			t.Logf("Envoy's answer to a body over its buffer limit: %d, content-type %q, x-api-requestid %q, body %q",
				r.Status, r.Header.Get("Content-Type"), r.Header.Get("X-Api-Requestid"), r.Body)
			if r.Body != "Payload Too Large" || r.Header.Get("Content-Type") != "text/plain" {
				t.Errorf("content-type %q, body %q", r.Header.Get("Content-Type"), r.Body)
			}
			// Envoy's own answer passes the plugin's response path, which adds the request id.
			if id := r.Header.Get("X-Api-Requestid"); !requestIDPattern.MatchString(id) {
				t.Errorf("x-api-requestid %q", id)
			}
		})
	}
	if n := up.Count() - before; n != 0 {
		t.Errorf("the upstream saw %d requests", n)
	}
}
