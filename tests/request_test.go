package tests

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Request is a request to the gateway through Go's HTTP client. Use Raw for requests the client
// would refuse or normalise.
type Request struct {
	Method  string      // default GET
	Path    string      // path with optional query; default "/"
	Host    string      // :authority; default the listener's address ("localhost" on the unix socket)
	Header  http.Header // extra headers; Go adds User-Agent unless set here
	Body    string
	TLS     bool          // send to the HTTPS listener (Options.TLS)
	Unix    bool          // send over the unix socket (Options.UnixSocket)
	SNI     string        // TLS server name, also verified; default none (the certificate is checked for 127.0.0.1)
	Timeout time.Duration // default 15s
}

// Response is what the gateway answered. Redirects are not followed, bodies not decompressed.
type Response struct {
	Status int
	Proto  string
	Header http.Header
	Body   string
}

// Message returns the "message" of a JSON body such as the gateway's {"message":"..."}, or "".
func (r Response) Message() string {
	var m struct {
		Message string `json:"message"`
	}
	json.Unmarshal([]byte(r.Body), &m)
	return m.Message
}

// JSON decodes the body into v and fails the test if it is not JSON.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.Body), v); err != nil {
		t.Fatalf("body is not JSON: %v: %q", err, r.Body)
	}
}

// String shows the response in failure messages.
func (r Response) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d\n", r.Proto, r.Status)
	r.Header.Write(&b)
	body := r.Body
	if len(body) > 2000 {
		body = body[:2000] + "..."
	}
	fmt.Fprintf(&b, "\n%s", body)
	return b.String()
}

// Do sends r and fails the test when no HTTP response comes back.
func (g *Gateway) Do(t testing.TB, r Request) Response {
	t.Helper()
	resp, err := g.Send(r)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// Send sends r and returns the response or the transport error.
func (g *Gateway) Send(r Request) (Response, error) {
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	path := r.Path
	if path == "" {
		path = "/"
	}
	base := g.HTTPURL
	switch {
	case r.Unix:
		base = "http://localhost"
	case r.TLS:
		base = g.HTTPSURL
	}
	if base == "" {
		return Response{}, fmt.Errorf("the gateway has no listener for this request (Options.TLS/UnixSocket)")
	}
	u, err := url.Parse(base + path)
	if err != nil {
		return Response{}, fmt.Errorf("path %q: %v (use Raw for such paths)", path, err)
	}
	timeout := r.Timeout
	if timeout == 0 {
		timeout = 15 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var body io.Reader
	if r.Body != "" {
		body = strings.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return Response{}, err
	}
	for k, vs := range r.Header {
		req.Header[k] = append(req.Header[k], vs...)
	}
	if r.Host != "" {
		req.Host = r.Host
	}
	resp, err := g.client(r.TLS, r.Unix, r.SNI).Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: reading body: %w", method, path, err)
	}
	return Response{Status: resp.StatusCode, Proto: resp.Proto, Header: resp.Header, Body: string(b)}, nil
}

type clientKey struct {
	tls, unix bool
	sni       string
}

// client returns a keep-alive client per listener kind and SNI.
func (g *Gateway) client(useTLS, unix bool, sni string) *http.Client {
	key := clientKey{useTLS, unix, sni}
	if c, ok := g.clients.Load(key); ok {
		return c.(*http.Client)
	}
	tr := &http.Transport{
		DisableCompression:  true,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
	}
	if useTLS {
		tr.TLSClientConfig = clientTLS(sni)
	}
	if unix {
		path := g.SocketPath
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		}
	}
	c := &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	actual, _ := g.clients.LoadOrStore(key, c)
	return actual.(*http.Client)
}

// RawRequest is a request written byte for byte, for what Go's client would not send: an empty
// or odd Host, unusual methods or paths, duplicate or malformed headers. Data is the whole request
// ("GET / HTTP/1.1\r\nHost: a\r\n\r\n"); end it with a body when the headers announce one.
type RawRequest struct {
	Data string
	TLS  bool
	Unix bool
	SNI  string
}

// Raw writes r.Data on a new connection and reads one response.
func (g *Gateway) Raw(t testing.TB, r RawRequest) Response {
	t.Helper()
	resp, err := g.SendRaw(r)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// SendRaw is Raw returning the error instead of failing the test.
func (g *Gateway) SendRaw(r RawRequest) (Response, error) {
	network, addr := "tcp", ""
	switch {
	case r.Unix:
		network, addr = "unix", g.SocketPath
	case r.TLS:
		addr = strings.TrimPrefix(g.HTTPSURL, "https://")
	default:
		addr = strings.TrimPrefix(g.HTTPURL, "http://")
	}
	if addr == "" {
		return Response{}, fmt.Errorf("the gateway has no listener for this request (Options.TLS/UnixSocket)")
	}
	conn, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		return Response{}, err
	}
	defer conn.Close()
	if r.TLS {
		tc := tls.Client(conn, clientTLS(r.SNI))
		conn = tc
	}
	conn.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := io.WriteString(conn, r.Data); err != nil {
		return Response{}, err
	}
	// ReadResponse needs the method to know whether a body follows (HEAD).
	method, _, _ := strings.Cut(r.Data, " ")
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		return Response{}, fmt.Errorf("reading response to %q: %w", firstLine(r.Data), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, fmt.Errorf("reading body of response to %q: %w", firstLine(r.Data), err)
	}
	return Response{Status: resp.StatusCode, Proto: resp.Proto, Header: resp.Header, Body: string(b)}, nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\r\n")
	return line
}

// Case is one request and what its response must be, for RunCases.
type Case struct {
	Name     string
	Req      Request
	Status   int               // expected status; 0 skips the check
	Message  string            // expected "message" of the gateway's JSON body; "" skips the check
	Header   map[string]string // headers that must have exactly these values
	NoHeader []string          // headers that must be absent
	Body     string            // expected body; "" skips the check
	Check    func(t *testing.T, r Response)
}

// RunCases runs each case as a subtest against one gateway, in order.
func RunCases(t *testing.T, g *Gateway, cases []Case) {
	t.Helper()
	for _, c := range cases {
		name := c.Name
		if name == "" {
			name = c.Req.Method + " " + c.Req.Host + c.Req.Path
		}
		t.Run(name, func(t *testing.T) {
			r := g.Do(t, c.Req)
			CheckResponse(t, r, c)
			if c.Check != nil && !t.Failed() {
				c.Check(t, r)
			}
		})
	}
}

// CheckResponse reports every way r differs from c's expectations.
func CheckResponse(t testing.TB, r Response, c Case) {
	t.Helper()
	var errs []string
	if c.Status != 0 && r.Status != c.Status {
		errs = append(errs, fmt.Sprintf("status %d, want %d", r.Status, c.Status))
	}
	if c.Message != "" {
		if got := r.Message(); got != c.Message {
			errs = append(errs, fmt.Sprintf("message %q, want %q", got, c.Message))
		}
	}
	for k, want := range c.Header {
		if got, ok := r.Header[http.CanonicalHeaderKey(k)]; !ok || strings.Join(got, ", ") != want {
			errs = append(errs, fmt.Sprintf("header %s: %q, want %q", k, got, want))
		}
	}
	for _, k := range c.NoHeader {
		if got, ok := r.Header[http.CanonicalHeaderKey(k)]; ok {
			errs = append(errs, fmt.Sprintf("header %s: %q, want none", k, got))
		}
	}
	if c.Body != "" && r.Body != c.Body {
		errs = append(errs, fmt.Sprintf("body %q, want %q", r.Body, c.Body))
	}
	if len(errs) > 0 {
		t.Errorf("%s\n--- response ---\n%s", strings.Join(errs, "\n"), r)
	}
}
