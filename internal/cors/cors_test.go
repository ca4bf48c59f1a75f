package cors

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/apigw-wasm/apigw-wasm/internal/reply"
)

func TestCompileErrors(t *testing.T) {
	ok := Config{AllowOrigins: []string{"*"}, AllowMethods: []string{"GET"}}
	tests := []struct {
		name   string
		change func(c *Config)
		want   string
	}{
		{"origin without scheme", func(c *Config) { c.AllowOrigins = []string{"*", "example.com"} }, `allow_origins[1]: "example.com" is neither`},
		{"origin with path", func(c *Config) { c.AllowOrigins = []string{"https://example.com/"} }, `allow_origins[0]: "https://example.com/"`},
		{"origin wildcard subdomain", func(c *Config) { c.AllowOrigins = []string{"https://*.example.com"} }, `allow_origins[0]`},
		{"origin null", func(c *Config) { c.AllowOrigins = []string{"null"} }, `allow_origins[0]: "null"`},
		{"origin port too big", func(c *Config) { c.AllowOrigins = []string{"https://a.com:65536"} }, `allow_origins[0]`},
		{"origin empty port", func(c *Config) { c.AllowOrigins = []string{"https://a.com:"} }, `allow_origins[0]`},
		{"origin user info", func(c *Config) { c.AllowOrigins = []string{"https://u@a.com"} }, `allow_origins[0]`},
		{"origin bad IPv6", func(c *Config) { c.AllowOrigins = []string{"http://[::g]"} }, `allow_origins[0]`},
		{"origin empty", func(c *Config) { c.AllowOrigins = []string{""} }, `allow_origins[0]`},
		{"method unknown", func(c *Config) { c.AllowMethods = []string{"GET", "TRACE"} }, `allow_methods[1]: "TRACE" is not one of`},
		{"method wildcard", func(c *Config) { c.AllowMethods = []string{"*"} }, `allow_methods[0]: "*"`},
		{"methods empty", func(c *Config) { c.AllowMethods = []string{} }, "allow_methods: empty"},
		{"methods absent", func(c *Config) { c.AllowMethods = nil }, "allow_methods: empty"},
		{"max age negative", func(c *Config) { c.MaxAgeSeconds = -1 }, "max_age_seconds: negative"},
		{"allow header not a name", func(c *Config) { c.AllowHeaders = []string{"X-A", "X B"} }, `allow_headers[1]: "X B" is not a header name`},
		{"expose header injection", func(c *Config) { c.ExposeHeaders = []string{"a\r\nSet-Cookie: x"} }, `expose_headers[0]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.change(&c)
			p, err := Compile(c)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("got %v, %v; want error %q", p, err, tt.want)
			}
		})
	}
	if _, err := Compile(ok); err != nil {
		t.Fatalf("valid config: %v", err)
	}
}

func TestIsCrossOrigin(t *testing.T) {
	tests := []struct {
		origin, scheme, host string
		want                 bool
	}{
		{"", "https", "api.example.com", false},
		{"https://api.example.com", "https", "api.example.com", false},
		{"HTTPS://API.Example.COM", "https", "api.example.com", false},
		{"https://api.example.com:443", "https", "api.example.com", false},
		{"https://api.example.com", "https", "api.example.com:443", false},
		{"http://api.example.com", "http", "api.example.com:80", false},
		{"http://api.example.com:8080", "http", "api.example.com:8080", false},
		{"http://[::1]:8080", "http", "[::1]:8080", false},
		{"http://[::1]", "http", "[::1]:80", false},
		{"http://10.0.0.1", "http", "10.0.0.1", false},
		{"http://api.example.com", "https", "api.example.com", true},
		{"https://api.example.com:8443", "https", "api.example.com", true},
		{"https://web.example.com", "https", "api.example.com", true},
		{"https://api.example.com.evil", "https", "api.example.com", true},
		{"http://api.example.com:443", "https", "api.example.com", true},
		{"null", "https", "api.example.com", true},
		{"garbage", "https", "api.example.com", true},
		{"https://api.example.com/", "https", "api.example.com", true},
		{"https://api.example.com", "https", "bad host", true},
		{"https://api.example.com", "https", "", true},
	}
	for _, tt := range tests {
		if got := IsCrossOrigin(tt.origin, tt.scheme, tt.host); got != tt.want {
			t.Errorf("IsCrossOrigin(%q, %q, %q) = %v", tt.origin, tt.scheme, tt.host, got)
		}
	}
}

func TestIsPreflight(t *testing.T) {
	tests := []struct {
		method, origin, acrm string
		want                 bool
	}{
		{"OPTIONS", "https://a.com", "POST", true},
		{"OPTIONS", "https://a.com", "", false},
		{"OPTIONS", "", "POST", false},
		{"GET", "https://a.com", "POST", false},
		{"options", "https://a.com", "POST", false}, // methods are case-sensitive
	}
	for _, tt := range tests {
		if got := IsPreflight(tt.method, tt.origin, tt.acrm); got != tt.want {
			t.Errorf("IsPreflight(%q, %q, %q) = %v", tt.method, tt.origin, tt.acrm, got)
		}
	}
}

func h(kv ...string) []Header {
	var hs []Header
	for i := 0; i < len(kv); i += 2 {
		hs = append(hs, Header{kv[i], kv[i+1]})
	}
	return hs
}

func TestHeaders(t *testing.T) {
	const web = "https://web.example.com"
	star, err := Compile(Config{AllowOrigins: []string{"*"}, AllowMethods: []string{"get", "Post"}, AllowHeaders: []string{"X-A", "Content-Type"}, ExposeHeaders: []string{"X-Api-ID"}, MaxAgeSeconds: 600})
	if err != nil {
		t.Fatal(err)
	}
	list, err := Compile(Config{AllowOrigins: []string{"https://WEB.example.com:443", "http://localhost:3000"}, AllowMethods: []string{"PUT"}, AllowHeaders: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	listCred, err := Compile(Config{AllowOrigins: []string{web}, AllowMethods: []string{"GET"}, AllowHeaders: []string{"X-A"}, AllowCredentials: true})
	if err != nil {
		t.Fatal(err)
	}
	anyByDefault, err := Compile(Config{AllowMethods: []string{"GET"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		p         *Policy
		origin    string
		acrh      string
		preflight []Header
		actual    []Header
	}{
		{"true: origin echoed with credentials", Default(), web, "X-Token, content-type",
			h(AllowOrigin, web, AllowMethods, "GET,POST,PUT,DELETE,HEAD,OPTIONS,PATCH", AllowHeaders, "X-Token, content-type",
				AllowCredentials, "true", MaxAge, "86400", Vary, "Origin, Access-Control-Request-Headers"),
			h(AllowOrigin, web, AllowCredentials, "true", ExposeHeaders, defaultExpose, Vary, "Origin")},
		{"true: no requested headers", Default(), web, "",
			h(AllowOrigin, web, AllowMethods, "GET,POST,PUT,DELETE,HEAD,OPTIONS,PATCH",
				AllowCredentials, "true", MaxAge, "86400", Vary, "Origin, Access-Control-Request-Headers"),
			h(AllowOrigin, web, AllowCredentials, "true", ExposeHeaders, defaultExpose, Vary, "Origin")},
		{"true: null origin is never echoed", Default(), "null", "", nil, nil},
		{"star without credentials", star, web, "X-Other",
			h(AllowOrigin, "*", AllowMethods, "GET,POST", AllowHeaders, "X-A,Content-Type", MaxAge, "600"),
			h(AllowOrigin, "*", ExposeHeaders, "X-Api-ID")},
		{"star: null origin gets *", star, "null", "",
			h(AllowOrigin, "*", AllowMethods, "GET,POST", AllowHeaders, "X-A,Content-Type", MaxAge, "600"),
			h(AllowOrigin, "*", ExposeHeaders, "X-Api-ID")},
		{"star: no origin", star, "", "", nil, nil},
		{"list: allowed, default port and case normalised", list, web, "X-B",
			h(AllowOrigin, web, AllowMethods, "PUT", AllowHeaders, "X-B", Vary, "Origin, Access-Control-Request-Headers"),
			h(AllowOrigin, web, Vary, "Origin")},
		{"list: allowed with port", list, "http://localhost:3000", "",
			h(AllowOrigin, "http://localhost:3000", AllowMethods, "PUT", Vary, "Origin, Access-Control-Request-Headers"),
			h(AllowOrigin, "http://localhost:3000", Vary, "Origin")},
		{"list: other port refused", list, "http://localhost:3001", "X-B", nil, nil},
		{"list: other scheme refused", list, "http://web.example.com", "", nil, nil},
		{"list: null refused", list, "null", "", nil, nil},
		{"list: garbage refused", list, "web.example.com", "", nil, nil},
		{"list with credentials", listCred, web, "X-B",
			h(AllowOrigin, web, AllowMethods, "GET", AllowHeaders, "X-A", AllowCredentials, "true", Vary, "Origin"),
			h(AllowOrigin, web, AllowCredentials, "true", Vary, "Origin")},
		{"empty allow_origins allows all", anyByDefault, web, "",
			h(AllowOrigin, "*", AllowMethods, "GET", Vary, "Access-Control-Request-Headers"),
			h(AllowOrigin, "*")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Preflight(nil, tt.origin, tt.acrh); !slices.Equal(got, tt.preflight) {
				t.Errorf("Preflight:\n got %q\nwant %q", got, tt.preflight)
			}
			if got := tt.p.Actual(nil, tt.origin); !slices.Equal(got, tt.actual) {
				t.Errorf("Actual:\n got %q\nwant %q", got, tt.actual)
			}
			// dst is appended to, not replaced.
			pre := []Header{{"x-api-requestid", "0"}}
			if got := tt.p.Actual(pre, tt.origin); len(got) != 1+len(tt.actual) || got[0] != pre[0] {
				t.Errorf("Actual did not append: %q", got)
			}
		})
	}
}

func TestRefuse(t *testing.T) {
	e := Refuse("/users/1")
	if e.Code != reply.CrossOrigin || e.Status() != 429 ||
		e.Error() != "req is cross origin, api /users/1 need open cors flag on qcloud apigateway." {
		t.Errorf("got %d %q", e.Status(), e.Error())
	}
}

func TestNoAllocations(t *testing.T) {
	dst := make([]Header, 0, 8)
	p := Default()
	list, _ := Compile(Config{AllowOrigins: []string{"https://a.example.com", "https://web.example.com:8443"}, AllowMethods: []string{"GET"}})
	allocs := testing.AllocsPerRun(100, func() {
		_ = IsCrossOrigin("https://web.example.com:8443", "https", "api.example.com")
		_ = IsPreflight("OPTIONS", "https://web.example.com", "GET")
		_ = p.Preflight(dst[:0], "https://web.example.com", "X-A")
		_ = p.Actual(dst[:0], "https://web.example.com")
		_ = list.Actual(dst[:0], "https://web.example.com:8443")
	})
	if allocs != 0 {
		t.Errorf("%v allocations per request", allocs)
	}
}

// FuzzOrigin: the origin parser never panics, agrees with net/url on what it accepts, and
// every accepted origin is same-origin with itself.
func FuzzOrigin(f *testing.F) {
	for _, s := range []string{"https://a.com", "http://[::1]:80", "HTTP://A.COM:0080", "null", "https://a.com:", "a://b", "https://[::1", "x-y+z.1://h_1:65535"} {
		f.Add(s, "https", "a.com")
	}
	f.Fuzz(func(t *testing.T, origin, scheme, host string) {
		_ = IsCrossOrigin(origin, scheme, host)
		sch, hst, port, ok := splitOrigin(origin)
		if !ok {
			return
		}
		u, err := url.Parse(origin)
		if err != nil {
			t.Fatalf("%q: accepted, net/url: %v", origin, err)
		}
		if !strings.EqualFold(u.Scheme, sch) || u.Hostname() != strings.Trim(hst, "[]") || u.Port() != port || u.Path != "" || u.User != nil {
			t.Fatalf("%q: got %q %q %q, net/url %+v", origin, sch, hst, port, u)
		}
		authority := hst
		if port != "" {
			authority += ":" + port
		}
		if IsCrossOrigin(origin, sch, authority) {
			t.Fatalf("%q: cross-origin with itself", origin)
		}
		if p, err := Compile(Config{AllowOrigins: []string{origin}, AllowMethods: []string{"GET"}}); err != nil || len(p.Actual(nil, origin)) == 0 {
			t.Fatalf("%q: not allowed by a policy listing it (%v)", origin, err)
		}
	})
}

func TestNilPolicy(t *testing.T) {
	var p *Policy
	if got := p.Preflight(nil, "https://a.com", "X-A"); got != nil {
		t.Errorf("Preflight = %q", got)
	}
	if got := p.Actual(nil, "https://a.com"); got != nil {
		t.Errorf("Actual = %q", got)
	}
}
