// Package cors is the gateway's cross-origin resource sharing, step 8 of the pipeline. An
// API's `cors` setting is compiled once into an immutable Policy (nil when CORS is off);
// per request the package tells whether a request is cross-origin or a preflight, and appends
// the headers of the gateway's 204 preflight answer or of a normal response to a caller's
// slice, without allocating. An origin the policy does not allow gets no CORS headers at all
// and the browser enforces the refusal, as with Envoy's and Kong's CORS filters.
package cors

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"

	"github.com/apigw-wasm/apigw-wasm/internal/ascii"
	"github.com/apigw-wasm/apigw-wasm/internal/httpsyntax"
	"github.com/apigw-wasm/apigw-wasm/internal/reply"
)

// Config is the `cors` object as configured. A nil or empty AllowOrigins allows every origin,
// a nil or empty AllowHeaders echoes the preflight's Access-Control-Request-Headers, and a
// zero MaxAgeSeconds sends no Access-Control-Max-Age (the browser's default applies).
type Config struct {
	AllowOrigins     []string // "*" or scheme://host[:port]
	AllowMethods     []string // GET HEAD POST PUT DELETE PATCH OPTIONS, any case; not empty
	AllowHeaders     []string // header names; "*" echoes the requested ones
	ExposeHeaders    []string // header names, or "*"
	AllowCredentials bool
	MaxAgeSeconds    int64 // not negative
}

// Header is one response header; names are lower case.
type Header struct{ Name, Value string }

// Response header names.
const (
	AllowOrigin      = "access-control-allow-origin"
	AllowMethods     = "access-control-allow-methods"
	AllowHeaders     = "access-control-allow-headers"
	AllowCredentials = "access-control-allow-credentials"
	ExposeHeaders    = "access-control-expose-headers"
	MaxAge           = "access-control-max-age"
	Vary             = "vary"
)

// Policy is a compiled CORS configuration. It is immutable and safe for concurrent use. A nil
// Policy is CORS off: it adds no headers, and the caller answers cross-origin requests with
// Refuse.
type Policy struct {
	anyOrigin   bool
	origins     []origin
	credentials bool
	methods     string
	headers     string // "" echoes Access-Control-Request-Headers
	expose      string
	maxAge      string
	actualVary  string // Vary of a normal response, "" when it does not depend on Origin
	flightVary  string // Vary of a preflight answer
}

type origin struct {
	scheme, host string // lower case
	port         int    // explicit or the scheme's default; -1 when neither
}

// defaultExpose are the gateway's own response headers, exposed to scripts by `cors: true`.
const defaultExpose = "X-Api-ID,X-Service-RateLimit,X-Api-RateLimit,X-UsagePlan-RateLimit,X-UsagePlan-Quota,X-Api-RequestId"

// defaultMethods are Tencent's Access-Control-Allow-Methods of `cors: true`, in its order.
const defaultMethods = "GET,POST,PUT,DELETE,HEAD,OPTIONS,PATCH"

// defaultMaxAge is the max age of `cors: true` and of a cors object that names none.
const defaultMaxAge = 86400

var defaultPolicy = mustCompile(Config{
	AllowOrigins:     []string{"*"},
	AllowMethods:     strings.Split(defaultMethods, ","),
	ExposeHeaders:    strings.Split(defaultExpose, ","),
	AllowCredentials: true,
	MaxAgeSeconds:    defaultMaxAge,
})

func mustCompile(c Config) *Policy {
	p, err := Compile(c)
	if err != nil {
		panic(err)
	}
	return p
}

// Default is the policy of `cors: true`, Tencent's defaults: every origin (echoed, as
// credentials are allowed), the seven methods, the requested headers, the gateway's own
// response headers exposed, max age 86400.
func Default() *Policy { return defaultPolicy }

// Compile checks and compiles a `cors` object. Its errors name the field at fault; the
// caller answers the API's requests with 481 CORSConfigError.
func Compile(c Config) (*Policy, error) {
	p := &Policy{credentials: c.AllowCredentials, anyOrigin: len(c.AllowOrigins) == 0}
	for i, o := range c.AllowOrigins {
		if o == "*" {
			p.anyOrigin = true
			continue
		}
		scheme, host, port, ok := splitOrigin(o)
		if !ok {
			return nil, fieldError("allow_origins", i, o, "is neither * nor scheme://host[:port]")
		}
		p.origins = append(p.origins, origin{strings.ToLower(scheme), strings.ToLower(host), effectivePort(scheme, port)})
	}
	if p.anyOrigin {
		p.origins = nil
	}
	if len(c.AllowMethods) == 0 {
		return nil, errors.New("allow_methods: empty")
	}
	var ms []string
	for i, m := range c.AllowMethods {
		u := strings.ToUpper(m)
		if !httpsyntax.IsMethod(u) {
			return nil, fieldError("allow_methods", i, m, "is not one of "+strings.Join(httpsyntax.Methods[:], " "))
		}
		ms = append(ms, u)
	}
	p.methods = strings.Join(ms, ",")
	var err error
	if p.headers, err = headerList("allow_headers", c.AllowHeaders); err != nil {
		return nil, err
	}
	if p.headers == "*" {
		p.headers = "" // with credentials "*" is literal to browsers: echo instead
	}
	if p.expose, err = headerList("expose_headers", c.ExposeHeaders); err != nil {
		return nil, err
	}
	switch {
	case c.MaxAgeSeconds < 0:
		return nil, errors.New("max_age_seconds: negative")
	case c.MaxAgeSeconds > 0:
		p.maxAge = strconv.FormatInt(c.MaxAgeSeconds, 10)
	}
	var vary []string
	if !p.anyOrigin || p.credentials {
		p.actualVary = "Origin"
		vary = append(vary, "Origin")
	}
	if p.headers == "" {
		vary = append(vary, "Access-Control-Request-Headers")
	}
	p.flightVary = strings.Join(vary, ", ")
	return p, nil
}

func fieldError(field string, i int, value, reason string) error {
	return errors.New(field + "[" + strconv.Itoa(i) + "]: " + strconv.Quote(value) + " " + reason)
}

// headerList joins header names; a "*" among them stands alone.
func headerList(field string, names []string) (string, error) {
	for i, n := range names {
		if n == "*" {
			return "*", nil
		}
		if !httpsyntax.IsToken(n) {
			return "", fieldError(field, i, n, "is not a header name")
		}
	}
	return strings.Join(names, ","), nil
}

// IsPreflight reports whether a request is a CORS preflight: OPTIONS with an Origin and an
// Access-Control-Request-Method.
func IsPreflight(method, origin, requestMethod string) bool {
	return method == "OPTIONS" && origin != "" && requestMethod != ""
}

// IsCrossOrigin reports whether an Origin header differs from the request's own origin:
// its scheme (http or https) and its host, the :authority with or without a port. Scheme and
// host compare without case, and a missing port is the scheme's default. No Origin is not
// cross-origin; "null" and anything that is not scheme://host[:port] are.
func IsCrossOrigin(originHeader, scheme, host string) bool {
	if originHeader == "" {
		return false
	}
	oScheme, oHost, oPort, ok := splitOrigin(originHeader)
	if !ok {
		return true
	}
	rHost, rPort, ok := splitHostPort(host)
	return !ok || !ascii.EqualFold(oScheme, scheme) || !ascii.EqualFold(oHost, rHost) ||
		effectivePort(oScheme, oPort) != effectivePort(scheme, rPort)
}

// allowOrigin is the Access-Control-Allow-Origin value for an origin, "" when refused.
// "null" (sandboxed documents, file: pages) is allowed only by "*" without credentials: it
// is shared by every opaque origin, so it is never echoed.
func (p *Policy) allowOrigin(o string) string {
	switch {
	case p == nil || o == "":
		return ""
	case o == "null":
		if p.anyOrigin && !p.credentials {
			return "*"
		}
		return ""
	case p.anyOrigin:
		if p.credentials {
			return o
		}
		return "*"
	}
	scheme, host, port, ok := splitOrigin(o)
	if !ok {
		return ""
	}
	eff := effectivePort(scheme, port)
	for _, a := range p.origins {
		if a.port == eff && ascii.EqualFold(a.scheme, scheme) && ascii.EqualFold(a.host, host) {
			return o
		}
	}
	return ""
}

// Preflight appends the headers of the gateway's 204 answer to a preflight to dst. An origin
// the policy refuses gets none. The requested method and headers are not judged here: the
// allowed ones are listed and the browser decides.
func (p *Policy) Preflight(dst []Header, origin, requestHeaders string) []Header {
	ao := p.allowOrigin(origin)
	if ao == "" {
		return dst
	}
	dst = append(dst, Header{AllowOrigin, ao}, Header{AllowMethods, p.methods})
	if h := p.headers; h != "" {
		dst = append(dst, Header{AllowHeaders, h})
	} else if requestHeaders != "" {
		dst = append(dst, Header{AllowHeaders, requestHeaders})
	}
	if p.credentials {
		dst = append(dst, Header{AllowCredentials, "true"})
	}
	if p.maxAge != "" {
		dst = append(dst, Header{MaxAge, p.maxAge})
	}
	if p.flightVary != "" {
		dst = append(dst, Header{Vary, p.flightVary})
	}
	return dst
}

// Actual appends the headers to add to the response of a cross-origin request that is not a
// preflight to dst. An origin the policy refuses gets none.
func (p *Policy) Actual(dst []Header, origin string) []Header {
	ao := p.allowOrigin(origin)
	if ao == "" {
		return dst
	}
	dst = append(dst, Header{AllowOrigin, ao})
	if p.credentials {
		dst = append(dst, Header{AllowCredentials, "true"})
	}
	if p.expose != "" {
		dst = append(dst, Header{ExposeHeaders, p.expose})
	}
	if p.actualVary != "" {
		dst = append(dst, Header{Vary, p.actualVary})
	}
	return dst
}

// Refuse is the answer to a cross-origin request to an API without CORS: 429 CrossOrigin
// naming uri, the path after the environment part.
func Refuse(uri string) *reply.Error { return reply.New(reply.CrossOrigin, uri) }

// splitOrigin splits scheme://host[:port] (RFC 6454 serialization, no path, no user info).
// The host is a DNS-like name, an IPv4 address or a bracketed IPv6 address; port, when
// present, is 0 to 65535 without sign.
func splitOrigin(s string) (scheme, host, port string, ok bool) {
	i := strings.Index(s, "://")
	if i <= 0 || !isScheme(s[:i]) {
		return "", "", "", false
	}
	host, port, ok = splitHostPort(s[i+3:])
	return s[:i], host, port, ok
}

func isScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return s != ""
}

// splitHostPort splits host[:port] or [v6][:port] (httpsyntax.SplitHostPort) and checks them
// as an origin's: an IPv6 address without zone, or the bytes of a DNS name or IPv4 address;
// a port, when there is a colon, of 0 to 65535. The brackets stay on the host.
func splitHostPort(s string) (host, port string, ok bool) {
	host, port = httpsyntax.SplitHostPort(s)
	if strings.HasPrefix(host, "[") {
		if !strings.HasSuffix(host, "]") {
			return "", "", false
		}
		if a, err := netip.ParseAddr(host[1 : len(host)-1]); err != nil || !a.Is6() || a.Zone() != "" {
			return "", "", false
		}
	} else if !isRegName(host) {
		return "", "", false
	}
	if len(host) < len(s) && !isPort(port) { // a colon, then no valid port
		return "", "", false
	}
	return host, port, true
}

// isRegName accepts the bytes of DNS names and IPv4 addresses (letters, digits, '-', '.',
// '_'); percent-encoded and other sub-delims hosts are not origins browsers send.
func isRegName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return s != ""
}

func isPort(s string) bool {
	if s == "" || len(s) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n <= 65535
}

// effectivePort is the port number, or the scheme's default when none is given; -1 when the
// scheme has none.
func effectivePort(scheme, port string) int {
	if port != "" {
		n, _ := strconv.Atoi(port)
		return n
	}
	switch {
	case ascii.EqualFold(scheme, "http"), ascii.EqualFold(scheme, "ws"):
		return 80
	case ascii.EqualFold(scheme, "https"), ascii.EqualFold(scheme, "wss"):
		return 443
	}
	return -1
}
