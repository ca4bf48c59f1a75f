// Package gateway is the request pipeline of docs/gateway.md section 3: a request view goes in, a
// decision comes out — either a local reply (an error of the table, a mock, a redirect) or the
// changes that route the request to its upstream. The steps run in the order of that section,
// each one either passing the request on or answering it: host (1), path normalization (1b),
// environment (2), protocol (3), method (4), API (5), API config (6), client IP (7), CORS (8),
// authentication (9), limits (10), parameters (11), backend (12); the table `pipeline` below is
// that order. From step 1b on, every step sees the normalized path only. Respond is step 13, the
// response side. Two steps may pause a request: the limits (10) in the global mode, while the
// limits' store is asked (Decision.LimitsWait, ResumeLimits), and the parameters (11) for the
// request body (Decision.NeedBody, Resume); one request may pause at both. The package knows
// nothing of the proxy-wasm host: plugin/ adapts Envoy to Request, Decision and Response, and
// sends the calls to the store.
package gateway

import (
	"strconv"
	"strings"
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/ascii"
	"github.com/apigw-wasm/apigw-wasm/internal/backend"
	"github.com/apigw-wasm/apigw-wasm/internal/config"
	"github.com/apigw-wasm/apigw-wasm/internal/hmacauth"
	"github.com/apigw-wasm/apigw-wasm/internal/httpsyntax"
	"github.com/apigw-wasm/apigw-wasm/internal/limit"
	"github.com/apigw-wasm/apigw-wasm/internal/limit/lease"
	"github.com/apigw-wasm/apigw-wasm/internal/params"
	"github.com/apigw-wasm/apigw-wasm/internal/reply"
	"github.com/apigw-wasm/apigw-wasm/internal/route"
)

// Headers reads request headers by lowercase name.
type Headers interface {
	// Get returns the header's (first) value and whether it is present.
	Get(name string) (string, bool)
	// Values returns every value of the header, in arrival order; nil when absent.
	Values(name string) []string
}

// Request is what the gateway sees of one request.
type Request struct {
	Authority string // :authority as sent
	Method    string
	Path      string // :path as sent, query included; only the HMAC request-line reads it unnormalized
	TLS       bool   // the downstream connection is TLS
	Source    string // downstream address: "ip:port", "[ip6]:port", or a unix socket path
	RequestID string
	Headers   Headers
	Now       time.Time // zero: read the clock when a step needs it
	// Body is the whole request body, read only for APIs whose parameters need it.
	Body []byte
}

// Reply is an answer the gateway gives itself.
type Reply = reply.Answer

// Decision is the outcome of Handle.
type Decision struct {
	Reply *Reply // non-nil: answer with it

	Service *config.Service // known once the host matched
	API     *config.API     // known once an API matched
	Env     config.Env

	// SetHeaders replace (or add) request headers on the way upstream, pseudo-headers included.
	SetHeaders [][2]string
	// ResponseHeaders are set on the response the upstream gives (see Respond): the request id,
	// then the API's CORS and limit headers.
	ResponseHeaders [][2]string

	// NeedBody asks for the whole request body: the API checks body parameters. Call Resume
	// with it; until then nothing else of the Decision is final.
	NeedBody bool
	// Body replaces the request body upstream when body parameter defaults apply; nil: keep it.
	Body []byte

	// LimitsWait, in the global mode, asks the host to send LimitsWait.Call() to the limits'
	// store and to give its answer to ResumeLimits; until then nothing else of the Decision is
	// final.
	LimitsWait *lease.Pending
	// LimitsSync: reports to the store are due; the host asks the client's Due soon, from the
	// root context.
	LimitsSync bool
	// LimitsDenied: on_store_failure "deny" refused the request (Reply is its answer) because
	// the store is failing; the host logs why.
	LimitsDenied bool

	paused *state // where Resume continues
	next   int

	requestID string
	respBuf   [9][2]string // ResponseHeaders without an allocation: the id, 4 CORS and 4 limit headers
	setBuf    [][2]string  // SetHeaders' memory, kept when an Exchange is reused
}

// Gateway runs the pipeline over one immutable configuration.
type Gateway struct {
	// Clock reads the wall clock when a step needs the time; nil is time.Now. The plugin
	// sets a clock of one host call: time.Now makes two in a wasm VM (wall and monotonic).
	Clock func() time.Time

	// Leases, when set, counts the limits cluster-wide (the limits section's global mode):
	// step 10 takes from its leases and may wait for the store. Nil: the local mode, every
	// limit counted in store alone.
	Leases *lease.Client

	cfg      *config.Config
	store    limit.Store
	verifier hmacauth.Verifier
}

// New returns a gateway for cfg whose rate limits and quotas live in store.
func New(cfg *config.Config, store limit.Store) *Gateway {
	g := &Gateway{cfg: cfg, store: store}
	g.verifier = hmacauth.Verifier{ClockSkew: cfg.HMACClockSkew, Lookup: g.secretKey}
	return g
}

func (g *Gateway) secretKey(id string) ([]byte, bool) {
	s := g.cfg.Secrets[id]
	if s == nil || !s.Enabled {
		return nil, false
	}
	return s.Key, true
}

// Config is the configuration the gateway runs.
func (g *Gateway) Config() *config.Config { return g.cfg }

// state is one request's way through the pipeline.
type state struct {
	g   *Gateway
	r   *Request
	d   *Decision
	uri string // the request path without query, normalized from step 1b on
	q   string // the query, without '?'; "" when none

	binding config.Binding
	env     *config.Environment
	rest    string // the path after the environment part: what APIs match against
	method  string // the method APIs match against (the requested one for a preflight)
	match   route.Match
	vars    route.Vars

	extra    [][2]string // CORS headers for whatever response the request gets
	plan     *config.UsagePlan
	secretID string
	limited  bool // step 10 ran and outcome holds its result
	outcome  limit.Outcome
	defaults params.Defaults
	bodyRead bool
}

// step is one stage of the pipeline: nil passes the request on, a reply answers it.
type step func(*state) *Reply

// pipeline is docs/gateway.md section 3, in order.
var pipeline = []step{
	stepHost,          // 1
	stepNormalizePath, // 1b
	stepEnvironment,   // 2
	stepProtocol,      // 3
	stepMethod,        // 4
	stepAPI,           // 5
	stepAPIConfig,     // 6
	stepClientIP,      // 7
	stepCORS,          // 8
	stepAuth,          // 9
	stepLimits,        // 10
	stepParams,        // 11
	stepBackend,       // 12
}

// Handle runs the pipeline for r.
func (g *Gateway) Handle(r *Request) *Decision {
	return g.HandleIn(new(Exchange), r) // one allocation for the decision and the pipeline's state
}

// Exchange holds a request's Decision and the pipeline's state, so that a caller that handles
// many requests can keep one per request in flight and reuse it: HandleIn then allocates
// neither. The zero value is ready to use.
type Exchange struct {
	d  Decision
	st state
}

// HandleIn is Handle with the decision and the pipeline's state in x, which it overwrites: x
// may be reused once nothing reads the Decision of its last request (Resume and Respond
// included).
func (g *Gateway) HandleIn(x *Exchange, r *Request) *Decision {
	setBuf := x.d.setBuf[:0] // keep the upstream headers' memory
	clear(setBuf[:cap(setBuf)])
	*x = Exchange{}
	d, st := &x.d, &x.st
	d.setBuf = setBuf
	st.g, st.r, st.d = g, r, d
	d.requestID = r.RequestID
	st.uri, st.q, _ = strings.Cut(r.Path, "?")
	st.run(0)
	return d
}

// Resume runs the rest of the pipeline of a Decision that asked for the request body.
func (g *Gateway) Resume(d *Decision, body []byte) {
	st := d.paused
	if st == nil || !d.NeedBody {
		return
	}
	d.paused, d.NeedBody = nil, false
	st.r.Body, st.bodyRead = body, true
	st.run(d.next)
}

// ResumeLimits runs the rest of the pipeline of a Decision that waited for the limits' store,
// with the answer of its call: the HTTP status and body, or status 0 when the call failed or
// timed out. The Decision may ask to wait again (LimitsWait: a call that failed fast is sent
// once more).
func (g *Gateway) ResumeLimits(d *Decision, status int, body []byte) {
	st, p := d.paused, d.LimitsWait
	if st == nil || p == nil || g.Leases == nil {
		return
	}
	d.paused, d.LimitsWait = nil, nil
	rep := st.limitsResult(g.Leases.Resume(p, status, body, g.now()))
	if rep == waitLimits {
		d.paused = st
		return
	}
	if rep != nil {
		d.Reply = rep
		st.finish()
		return
	}
	st.run(d.next + 1)
}

// Markers of a step that pauses the request: for its body, or for the limits' store.
var needBody, waitLimits = &Reply{}, &Reply{}

func (st *state) run(from int) {
	for i := from; i < len(pipeline); i++ {
		rep := pipeline[i](st)
		if rep == needBody {
			st.d.NeedBody, st.d.paused, st.d.next = true, st, i
			return
		}
		if rep == waitLimits {
			st.d.paused, st.d.next = st, i
			return
		}
		if rep != nil {
			st.d.Reply = rep
			break
		}
	}
	st.finish()
}

// finish adds the headers every response of the API carries, local replies included: CORS
// headers and, for a limited API, the four limit headers.
func (st *state) finish() {
	var limits [4][2]string
	n := 0
	if st.d.API != nil {
		out, limited := st.outcome, st.limited
		if !limited {
			if l := st.limits(); l.Apply() {
				if st.g.Leases != nil {
					out = st.g.Leases.Peek(&l, st.now())
				} else {
					out = limit.Peek(st.g.store, &l, st.now())
				}
				limited = true
			}
		}
		if limited && out.Limited() {
			limits, n = out.Headers(), len(limits)
		}
	}
	if st.d.Reply == nil {
		h := append(st.d.respBuf[:0], [2]string{reply.RequestIDHeader, st.r.RequestID})
		st.d.ResponseHeaders = append(append(h, st.extra...), limits[:n]...)
		return
	}
	if len(st.extra)+n == 0 {
		return
	}
	dst := &st.d.Reply.Headers
	h := make([][2]string, 0, len(*dst)+len(st.extra)+n)
	h = append(append(h, *dst...), st.extra...)
	*dst = append(h, limits[:n]...)
}

// now is the request's time, read from the clock once and only when a step needs it (auth,
// limits): a clock read is a host call in the wasm VM.
func (st *state) now() time.Time {
	if st.r.Now.IsZero() {
		st.r.Now = st.g.now()
	}
	return st.r.Now
}

// now reads the clock.
func (g *Gateway) now() time.Time {
	if g.Clock != nil {
		return g.Clock()
	}
	return time.Now()
}

// fail is the reply for a row of the table.
func (st *state) fail(c reply.Code, arg string) *Reply {
	return st.failWith(&reply.Error{Code: c, Arg: arg})
}

// failWith is the reply for an answer of the table.
func (st *state) failWith(e *reply.Error) *Reply { return e.Answer(st.r.RequestID) }

func stepHost(st *state) *Reply {
	a := st.r.Authority
	if a == "" {
		return st.fail(reply.HostNotFound, "")
	}
	if !httpsyntax.ValidHostPort(a) {
		return st.fail(reply.HostInvalid, "")
	}
	host, _ := httpsyntax.SplitHostPort(a)
	b, ok := st.g.cfg.Host(strings.TrimSuffix(host, "."))
	if !ok {
		return st.fail(reply.NoAPIForHost, host)
	}
	st.binding = b
	st.d.Service = b.Service
	return nil
}

// stepNormalizePath is step 1b: every later step, message, path variable and the upstream
// :path use the normalized path (internal/httpsyntax); the query is not touched.
func stepNormalizePath(st *state) *Reply {
	uri, ok := httpsyntax.NormalizePath(st.uri)
	if !ok {
		return st.fail(reply.InvalidRequestPath, "")
	}
	st.uri = uri
	return nil
}

// firstSegment is "/" plus the path's first segment, as the env_mapping messages show it.
func firstSegment(p string) string {
	p = strings.TrimPrefix(p, "/")
	if i := strings.IndexByte(p, '/'); i >= 0 {
		p = p[:i]
	}
	return "/" + p
}

func stepEnvironment(st *state) *Reply {
	svc := st.binding.Service
	if cd := st.binding.Custom; cd != nil && len(cd.PathMappings) > 0 {
		for _, m := range cd.PathMappings {
			if rest, ok := stripMapping(st.uri, m.Path); ok {
				st.env, st.rest = svc.Environments[m.Env], rest
				break
			}
		}
		if st.env == nil {
			return st.fail(reply.NoEnvMapping, firstSegment(st.uri))
		}
	} else {
		seg := firstSegment(st.uri)
		env, ok := config.ParseEnv(seg[1:])
		if !ok {
			return st.fail(reply.NoDefaultEnvMapping, seg)
		}
		st.env = svc.Environments[env]
		st.rest = strings.TrimPrefix(st.uri, seg)
		if st.rest == "" {
			st.rest = "/"
		}
	}
	st.d.Env = st.env.Env
	if st.env.NumAPIs == 0 {
		return st.fail(reply.NoAPIInEnvironment, "")
	}
	return nil
}

// stripMapping matches a mapping path as a segment prefix and returns what follows it.
func stripMapping(uri, mapping string) (string, bool) {
	if mapping == "/" {
		return uri, true
	}
	rest, ok := strings.CutPrefix(uri, mapping)
	if !ok {
		return "", false
	}
	if rest == "" {
		return "/", true
	}
	if rest[0] != '/' {
		return "", false
	}
	return rest, true
}

func stepProtocol(st *state) *Reply {
	protos := st.binding.Service.Protocols
	if cd := st.binding.Custom; cd != nil {
		if cd.ForceHTTPS && !st.r.TLS {
			// The normalized path and the query as sent: the https request finds its path
			// already normal.
			host, _ := httpsyntax.SplitHostPort(st.r.Authority)
			query := ""
			if i := strings.IndexByte(st.r.Path, '?'); i >= 0 {
				query = st.r.Path[i:]
			}
			return &Reply{
				Status: 301,
				Headers: [][2]string{
					{"location", "https://" + host + st.uri + query},
					{reply.RequestIDHeader, st.r.RequestID},
				},
			}
		}
		protos = cd.Protocols
	}
	if !protos.Allows(st.r.TLS) {
		if st.r.TLS {
			return st.fail(reply.HTTPSNotAllowed, "")
		}
		return st.fail(reply.HTTPNotAllowed, "")
	}
	return nil
}

func stepMethod(st *state) *Reply {
	if !httpsyntax.IsMethod(st.r.Method) {
		return st.fail(reply.MethodNotSupported, "")
	}
	st.method = st.r.Method
	if st.method == "OPTIONS" {
		if m, ok := st.r.Headers.Get("access-control-request-method"); ok && m != "" {
			st.method = m // a CORS preflight matches the API of the method it asks for
		}
	}
	return nil
}

// isUpgrade reports a WebSocket upgrade request.
func isUpgrade(h Headers) bool {
	v, ok := h.Get("upgrade")
	return ok && strings.EqualFold(strings.TrimSpace(v), "websocket")
}

func stepAPI(st *state) *Reply {
	m, res := st.env.Routes.Lookup(st.rest, st.method, &st.vars)
	switch res {
	case route.NoMatch:
		return st.fail(reply.NoAPIForURI, st.rest)
	case route.MethodNotAllowed:
		return st.fail(reply.MethodNotAllowed, "")
	}
	st.match = m
	api := st.binding.Service.APIs[m.Index]
	st.d.API = api
	if api.Protocol != config.APIProtoWebSocket && isUpgrade(st.r.Headers) {
		if st.r.TLS {
			return st.fail(reply.ProtocolNotAllowed, "WSS")
		}
		return st.fail(reply.ProtocolNotAllowed, "WS")
	}
	return nil
}

func stepAPIConfig(st *state) *Reply {
	if c := st.d.API.ConfigError; c != reply.None {
		return st.fail(c, "")
	}
	return nil
}

func stepBackend(st *state) *Reply {
	b := &st.d.API.Backend
	if b.Type == backend.TypeMock {
		return st.mock(b)
	}
	t, c := b.Upstream(backendRequest{st}, &st.g.cfg.Settings)
	if c != reply.None {
		return st.fail(c, "")
	}
	st.route(t.Cluster, t.Authority, st.upstreamPath(t.Base, t.Path, t.HasPath), b.Timeout)
	return nil
}

// backendRequest is what a microservice backend reads of the request to name its service.
type backendRequest struct{ st *state }

func (r backendRequest) Header(name string) (string, bool)  { return r.st.r.Headers.Get(name) }
func (r backendRequest) PathVar(name string) (string, bool) { return r.st.vars.Get(name) }
func (r backendRequest) Query(name string) (string, bool) {
	v, ok, err := params.Lookup(r.st.q, name)
	return v, ok && err == nil
}

// upstreamPath is the upstream :path: base, then the backend path p with the API's variables
// filled, then the part of the request after a prefix API's prefix (without a backend path,
// the request path instead of both), "/" if that is empty, then the query with its defaults.
// Built in one allocation, or none when the request path passes unchanged.
func (st *state) upstreamPath(base, p string, hasPath bool) string {
	var rest string // a prefix API's remainder, joined to the backend path
	if !hasPath {
		p = st.rest
	} else if k := st.d.API.Pattern.Kind(); k == route.Prefix || k == route.PlainPrefix {
		rest = st.match.Remainder
	}
	template := hasPath && strings.IndexByte(p, '{') >= 0
	qlen := st.defaults.QueryLen(st.q)
	if !template && rest == "" && qlen == 0 && base == "" && p != "" {
		return p
	}
	var sb strings.Builder
	sb.Grow(len(base) + len(p) + len(rest) + 2 + qlen)
	sb.WriteString(base)
	start := sb.Len()
	if template {
		for {
			i := strings.IndexByte(p, '{')
			if i < 0 {
				break
			}
			j := strings.IndexByte(p[i:], '}')
			sb.WriteString(p[:i])
			name := p[i+1 : i+j]
			v, ok := st.vars.Get(name)
			if !ok {
				v, _ = st.defaults.PathVar(name)
			}
			sb.WriteString(v)
			p = p[i+j+1:]
		}
	}
	sb.WriteString(p)
	if rest != "" {
		// joined to the backend path alone, base excluded
		slash, tail := joint(sb.String()[start:], rest)
		if slash {
			sb.WriteByte('/')
		}
		sb.WriteString(tail)
	}
	if sb.Len() == 0 {
		sb.WriteByte('/')
	}
	if qlen > 0 {
		sb.WriteByte('?')
		st.defaults.WriteQuery(&sb, st.q)
	}
	return sb.String()
}

// joinPath appends a remainder to a base path with exactly one slash between them.
func joinPath(base, rest string) string {
	slash, tail := joint(base, rest)
	if slash {
		return base + "/" + tail
	}
	return base + tail
}

// joint is how rest joins base with exactly one slash between them: a slash to insert, or
// rest with its leading slash dropped.
func joint(base, rest string) (slash bool, tail string) {
	switch {
	case rest == "":
		return false, ""
	case strings.HasSuffix(base, "/") && rest[0] == '/':
		return false, rest[1:]
	case !strings.HasSuffix(base, "/") && rest[0] != '/':
		return true, rest
	}
	return false, rest
}

func (st *state) route(cluster, authority, path string, timeout time.Duration) {
	proto := "http"
	if st.r.TLS {
		proto = "https"
	}
	h := st.d.SetHeaders
	if h == nil {
		h = st.d.setBuf[:0]
		if cap(h) == 0 {
			h = make([][2]string, 0, 12)
		}
	}
	h = append(h,
		[2]string{st.g.cfg.ClusterHeader, cluster},
		[2]string{":path", path},
		[2]string{"x-envoy-upstream-rq-timeout-ms", timeoutMS(timeout)},
		[2]string{reply.RequestIDHeader, st.r.RequestID},
		[2]string{"x-api-id", st.d.API.ID},
		[2]string{"x-client-proto", proto},
	)
	if authority != "" {
		h = append(h, [2]string{":authority", authority})
	}
	if ip, ok := httpsyntax.SourceIP(st.r.Source); ok && ip != "" {
		h = append(h, [2]string{"x-real-ip", ip})
	}
	for name, value := range st.defaults.Headers() {
		h = append(h, [2]string{ascii.Lower(name), value})
	}
	st.d.SetHeaders, st.d.setBuf = h, h[:0]
}

func (st *state) mock(b *backend.Backend) *Reply {
	h := make([][2]string, 0, len(b.MockHeaders)+1)
	h = append(h, b.MockHeaders...)
	h = append(h, [2]string{reply.RequestIDHeader, st.r.RequestID})
	return &Reply{Status: b.MockStatus, Headers: h, Body: []byte(b.MockBody)}
}

// timeoutMS formats a backend timeout in milliseconds; whole seconds up to 60 are precomputed.
func timeoutMS(d time.Duration) string {
	if s := int(d / time.Second); d%time.Second == 0 && s >= 1 && s <= len(secondsMS) {
		return secondsMS[s-1]
	}
	return strconv.FormatInt(d.Milliseconds(), 10)
}

var secondsMS = func() (out [60]string) {
	for i := range out {
		out[i] = strconv.Itoa((i + 1) * 1000)
	}
	return
}()
