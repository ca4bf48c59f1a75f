package config

import (
	"encoding/json"
	"errors"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/apigw-wasm/apigw-wasm/internal/ascii"
	"github.com/apigw-wasm/apigw-wasm/internal/cors"
	"github.com/apigw-wasm/apigw-wasm/internal/ipfilter"
	"github.com/apigw-wasm/apigw-wasm/internal/limit"
	"github.com/apigw-wasm/apigw-wasm/internal/oauth"
	"github.com/apigw-wasm/apigw-wasm/internal/params"
	"github.com/apigw-wasm/apigw-wasm/internal/reply"
	"github.com/apigw-wasm/apigw-wasm/internal/route"
)

// Defaults of the top-level settings.
const (
	DefaultClusterHeader  = "x-apigw-cluster"
	DefaultURLCluster     = "apigw_dynamic_forward_proxy"
	DefaultHMACClockSkew  = 900 * time.Second
	DefaultOAuthClockSkew = 60 * time.Second
	DefaultTimeout        = 15 * time.Second
)

// DefaultEndpointDeny are the backend address ranges refused when endpoint_deny is absent.
var DefaultEndpointDeny = []string{"169.254.0.0/16", "0.0.0.0/8"}

// Methods are the request methods the gateway supports (docs/gateway.md section 3, step 4).
var Methods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}

// Load parses and validates a configuration document. On failure the error is Errors.
func Load(doc []byte) (*Config, error) {
	if !gjson.ValidBytes(doc) {
		return nil, Errors{{Path: "", Offset: -1, Msg: "not valid JSON" + syntaxHint(doc)}}
	}
	d := &decoder{doc: string(doc)}
	cfg := d.config(gjson.ParseBytes(doc))
	if len(d.errs) > 0 {
		return nil, d.errs
	}
	return cfg, nil
}

// syntaxHint names where encoding/json finds the first syntax error, for the log line.
func syntaxHint(doc []byte) string {
	var v any
	err := json.Unmarshal(doc, &v)
	if se, ok := err.(*json.SyntaxError); ok {
		line := 1 + strings.Count(string(doc[:min(int(se.Offset), len(doc))]), "\n")
		return " (" + se.Error() + ", line " + strconv.Itoa(line) + ")"
	}
	if err != nil {
		return " (" + err.Error() + ")"
	}
	return ""
}

func (d *decoder) config(root gjson.Result) *Config {
	o := d.asObject("", root)
	if o == nil {
		return nil
	}
	o.known("cluster_header", "url_cluster", "hmac", "oauth", "endpoint_deny", "services", "secrets", "usage_plans")
	cfg := &Config{
		ClusterHeader:  ascii.Lower(o.str("cluster_header", DefaultClusterHeader)),
		URLCluster:     o.str("url_cluster", DefaultURLCluster),
		HMACClockSkew:  DefaultHMACClockSkew,
		OAuthClockSkew: DefaultOAuthClockSkew,
		Secrets:        map[string]*Secret{},
		hosts:          map[string]Binding{},
	}
	if !validHeaderName(cfg.ClusterHeader) {
		v, p, _ := o.get("cluster_header")
		d.fail(p, v, "must be a header name")
	}
	if v, p, ok := o.get("hmac"); ok {
		if h := d.asObject(p, v); h != nil {
			h.known("clock_skew_seconds")
			cfg.HMACClockSkew = time.Duration(h.integer("clock_skew_seconds", 900, 1, 365*86400)) * time.Second
		}
	}
	if v, p, ok := o.get("oauth"); ok {
		if h := d.asObject(p, v); h != nil {
			h.known("clock_skew_seconds")
			cfg.OAuthClockSkew = time.Duration(h.integer("clock_skew_seconds", 60, 0, 365*86400)) * time.Second
		}
	}
	deny := DefaultEndpointDeny
	if o.has("endpoint_deny") {
		deny = o.strings("endpoint_deny")
	}
	if l, err := ipfilter.Compile(nil, deny); err != nil {
		d.fail("endpoint_deny", o.fields["endpoint_deny"], "%s", strings.TrimPrefix(err.Error(), "ip_deny"))
	} else {
		cfg.EndpointDeny = l
	}

	items, p := o.array("services")
	ids := map[string]bool{}
	for i, it := range items {
		s := d.service(cfg, index(p, i), it)
		if s == nil {
			continue
		}
		if ids[s.ID] {
			d.fail(index(p, i)+".id", it, "duplicate service id %q", s.ID)
		}
		ids[s.ID] = true
		cfg.Services = append(cfg.Services, s)
	}
	d.linkOAuth(cfg)

	items, p = o.array("secrets")
	for i, it := range items {
		d.secret(cfg, index(p, i), it)
	}
	items, p = o.array("usage_plans")
	planIDs := map[string]bool{}
	for i, it := range items {
		pl := d.usagePlan(cfg, index(p, i), it)
		if pl == nil {
			continue
		}
		if planIDs[pl.ID] {
			d.fail(index(p, i)+".id", it, "duplicate usage plan id %q", pl.ID)
		}
		planIDs[pl.ID] = true
		cfg.UsagePlans = append(cfg.UsagePlans, pl)
		for _, b := range pl.EnvBindings {
			for _, a := range b.Service.APIs {
				a.HasPlan[b.Env] = true
			}
		}
		for _, b := range pl.APIBindings {
			b.API.HasPlan[b.Env] = true
		}
	}
	return cfg
}

func (d *decoder) protocols(o *object, name string, def Protocols) Protocols {
	if !o.has(name) {
		return def
	}
	v, p, _ := o.get(name)
	list := o.strings(name)
	var set Protocols
	for i, s := range list {
		switch s {
		case "http":
			set |= ProtoHTTP
		case "https":
			set |= ProtoHTTPS
		default:
			d.fail(index(p, i), v, "unknown protocol %q (want http or https)", s)
		}
	}
	if len(list) == 0 {
		d.fail(p, v, "must name at least one protocol")
	}
	return set
}

func (d *decoder) host(cfg *Config, path string, v gjson.Result, host string, b Binding) string {
	h := ascii.Lower(strings.TrimSuffix(host, "."))
	if !ValidHost(h) || strings.Contains(h, ":") {
		d.fail(path, v, "%q is not a host name", host)
		return h
	}
	if _, dup := cfg.hosts[h]; dup {
		d.fail(path, v, "host %q is bound twice", h)
		return h
	}
	cfg.hosts[h] = b
	return h
}

func (d *decoder) service(cfg *Config, path string, v gjson.Result) *Service {
	o := d.asObject(path, v)
	if o == nil {
		return nil
	}
	o.known("id", "protocols", "default_domain", "custom_domains", "environments", "ip_allow", "ip_deny", "apis")
	s := &Service{ID: o.requiredStr("id"), APIsByID: map[string]*API{}}
	s.Protocols = d.protocols(o, "protocols", ProtoHTTP|ProtoHTTPS)
	if o.has("default_domain") {
		dv, dp, _ := o.get("default_domain")
		s.DefaultDomain = d.host(cfg, dp, dv, o.requiredStr("default_domain"), Binding{Service: s})
	}
	items, p := o.array("custom_domains")
	for i, it := range items {
		if cd := d.customDomain(cfg, s, index(p, i), it); cd != nil {
			s.CustomDomains = append(s.CustomDomains, cd)
		}
	}
	for e := range s.Environments {
		s.Environments[e] = &Environment{Env: Env(e), MaxRPS: Unlimited}
	}
	if ev, ep, ok := o.get("environments"); ok {
		if eo := d.asObject(ep, ev); eo != nil {
			eo.known(EnvNames[:]...)
			for e, name := range EnvNames {
				if xv, xp, ok := eo.get(name); ok {
					if xo := d.asObject(xp, xv); xo != nil {
						xo.known("max_requests_per_second")
						s.Environments[e].MaxRPS = xo.limit("max_requests_per_second")
					}
				}
			}
		}
	}
	s.IPFilter = d.ipFilter(path, o)

	items, p = o.array("apis")
	for i, it := range items {
		a := d.api(cfg, s, index(p, i), it)
		if a == nil {
			continue
		}
		if _, dup := s.APIsByID[a.ID]; dup {
			d.fail(index(p, i)+".id", it, "duplicate api id %q in service %q", a.ID, s.ID)
			continue
		}
		if a.MaxRPS != Unlimited {
			for e := range a.Rates {
				a.Rates[e] = limit.Rate{Key: limit.APIKey(s.ID, EnvNames[e], a.ID), Limit: a.MaxRPS}
			}
		}
		a.Index = len(s.APIs)
		s.APIs = append(s.APIs, a)
		s.APIsByID[a.ID] = a
	}
	for _, env := range s.Environments {
		var entries []route.Entry
		for _, a := range s.APIs {
			if a.Environments[env.Env] && a.Pattern != nil {
				entries = append(entries, route.Entry{Pattern: a.Pattern, Method: a.Method, Index: a.Index})
			}
		}
		env.NumAPIs = len(entries)
		t, err := route.NewTable(entries)
		if err != nil {
			d.fail(join(path, "apis"), v, "%v", err)
			continue
		}
		env.Routes = t
		if env.MaxRPS != Unlimited {
			env.Rate = limit.Rate{Key: limit.ServiceKey(s.ID, env.Env.String()), Limit: env.MaxRPS}
		}
	}
	return s
}

func (d *decoder) customDomain(cfg *Config, s *Service, path string, v gjson.Result) *CustomDomain {
	o := d.asObject(path, v)
	if o == nil {
		return nil
	}
	o.known("host", "protocols", "force_https", "path_mappings")
	cd := &CustomDomain{}
	hv, hp, _ := o.get("host")
	cd.Host = d.host(cfg, hp, hv, o.requiredStr("host"), Binding{Service: s, Custom: cd})
	cd.Protocols = d.protocols(o, "protocols", s.Protocols)
	cd.ForceHTTPS = o.boolean("force_https", false)
	items, p := o.array("path_mappings")
	seen := map[string]bool{}
	for i, it := range items {
		mo := d.asObject(index(p, i), it)
		if mo == nil {
			continue
		}
		mo.known("path", "environment")
		mp := mo.requiredStr("path")
		if mp != "" && mp[0] != '/' {
			mv, mpath, _ := mo.get("path")
			d.fail(mpath, mv, "must start with /")
		}
		if len(mp) > 1 {
			mp = strings.TrimRight(mp, "/")
			if mp == "" {
				mp = "/"
			}
		}
		if seen[mp] {
			mv, mpath, _ := mo.get("path")
			d.fail(mpath, mv, "path %q is mapped twice", mp)
		}
		seen[mp] = true
		envName := mo.requiredStr("environment")
		env, ok := ParseEnv(envName)
		if !ok && envName != "" {
			ev, epath, _ := mo.get("environment")
			d.fail(epath, ev, "unknown environment %q (want test, prepub or release)", envName)
		}
		cd.PathMappings = append(cd.PathMappings, PathMapping{Path: mp, Env: env})
	}
	sort.SliceStable(cd.PathMappings, func(i, j int) bool {
		return len(cd.PathMappings[i].Path) > len(cd.PathMappings[j].Path)
	})
	return cd
}

func (d *decoder) api(cfg *Config, s *Service, path string, v gjson.Result) *API {
	o := d.asObject(path, v)
	if o == nil {
		return nil
	}
	o.known("id", "path", "method", "protocol", "environments", "auth", "cors", "max_requests_per_second",
		"parameters", "backend", "business_type", "oauth_config", "oauth_api", "ip_allow", "ip_deny")
	a := &API{Service: s, ID: o.requiredStr("id"), Path: o.requiredStr("path")}
	if a.Path != "" {
		pat, err := route.Compile(a.Path)
		if err != nil {
			pv, pp, _ := o.get("path")
			d.fail(pp, pv, "%v", err)
		} else {
			a.Pattern = pat
		}
	}
	a.Method = o.enum("method", "ANY", append([]string{"ANY"}, Methods...)...)
	switch o.enum("protocol", "HTTP", "HTTP", "WEBSOCKET") {
	case "WEBSOCKET":
		a.Protocol = APIProtoWebSocket
	}
	if o.has("environments") {
		ev, ep, _ := o.get("environments")
		for i, name := range o.strings("environments") {
			e, ok := ParseEnv(name)
			if !ok {
				d.fail(index(ep, i), ev, "unknown environment %q (want test, prepub or release)", name)
				continue
			}
			a.Environments[e] = true
		}
	} else {
		a.Environments = [numEnvs]bool{true, true, true}
	}
	switch o.enum("auth", "none", "none", "secret", "oauth") {
	case "secret":
		a.Auth = AuthSecret
	case "oauth":
		a.Auth = AuthOAuth
	}
	a.OAuthBusiness = o.enum("business_type", "normal", "normal", "oauth") == "oauth"
	a.OAuthAPIID = o.str("oauth_api", "")
	a.MaxRPS = o.limit("max_requests_per_second")
	for _, l := range []*ipfilter.List{s.IPFilter, d.ipFilter(path, o)} {
		if l != nil {
			a.IPChain = append(a.IPChain, l)
		}
	}

	a.CORS = d.cors(a, o)
	d.parameters(a, o)
	d.backend(cfg, a, o)
	d.oauthConfig(a, o)
	if a.OAuthBusiness && a.Auth == AuthOAuth {
		av, apath, _ := o.get("auth")
		d.fail(apath, av, "an authorization API (business_type oauth) cannot itself use auth oauth")
	}
	return a
}

// mark keeps the first 481 answer found for an API.
func (a *API) mark(c reply.Code) {
	if a.ConfigError == reply.None {
		a.ConfigError = c
	}
}

func (d *decoder) cors(a *API, o *object) *cors.Policy {
	v, p, ok := o.get("cors")
	if !ok || v.Type == gjson.False {
		return nil
	}
	if v.Type == gjson.True {
		return cors.Default()
	}
	co := d.asObject(p, v)
	if co == nil {
		return nil
	}
	co.known("allow_origins", "allow_methods", "allow_headers", "expose_headers", "allow_credentials", "max_age_seconds")
	pol, err := cors.Compile(cors.Config{
		AllowOrigins:     co.strings("allow_origins"),
		AllowMethods:     co.strings("allow_methods"),
		AllowHeaders:     co.strings("allow_headers"),
		ExposeHeaders:    co.strings("expose_headers"),
		AllowCredentials: co.boolean("allow_credentials", false),
		MaxAgeSeconds:    co.integer("max_age_seconds", 86400, -1<<53, 1<<53),
	})
	if err != nil {
		a.mark(reply.CORSConfigError)
		return nil
	}
	return pol
}

// ipFilter compiles an object's ip_allow and ip_deny; nil when both are empty or invalid.
func (d *decoder) ipFilter(path string, o *object) *ipfilter.List {
	allow, deny := o.strings("ip_allow"), o.strings("ip_deny")
	l, err := ipfilter.Compile(allow, deny)
	if err != nil {
		d.fail(path, o.v, "%v", err)
		return nil
	}
	return l
}

func isMethod(m string) bool {
	for _, x := range Methods {
		if m == x {
			return true
		}
	}
	return false
}

var paramTypes = []string{"string", "int", "long", "float", "double", "boolean"}

func (d *decoder) parameters(a *API, o *object) {
	items, p := o.array("parameters")
	for i, it := range items {
		po := d.asObject(index(p, i), it)
		if po == nil {
			continue
		}
		po.known("name", "position", "type", "required", "default")
		pr := params.Spec{
			Name:     po.requiredStr("name"),
			Position: po.enum("position", "query", "path", "header", "query", "body"),
			Type:     po.enum("type", "string", paramTypes...),
			Required: po.boolean("required", false),
		}
		if po.has("default") {
			pr.Default, pr.HasDefault = po.str("default", ""), true
		}
		a.Parameters = append(a.Parameters, pr)
	}
	var vars []string
	if a.Pattern != nil {
		vars = a.Pattern.VarNames()
	}
	set, err := params.Compile(a.Parameters, vars)
	switch {
	case errors.Is(err, params.ErrAPIConfig):
		a.mark(reply.APIConfigError)
	case err != nil:
		var ce *params.ConfigError
		if errors.As(err, &ce) {
			at := join(index(p, ce.Index), ce.Field)
			d.fail(at, o.v, "%v", ce.Err)
		} else {
			d.fail(p, o.v, "%v", err)
		}
	default:
		a.Params = set
	}
}

func (d *decoder) backend(cfg *Config, a *API, o *object) {
	v, p, ok := o.get("backend")
	if !ok {
		a.mark(reply.APIConfigError)
		return
	}
	bo := d.asObject(p, v)
	if bo == nil {
		return
	}
	b := &a.Backend
	b.Timeout = DefaultTimeout
	switch bo.enum("type", "http", "http", "mock", "microservice", "websocket") {
	case "http":
		bo.known("type", "cluster", "path", "host", "timeout_seconds", "url")
		b.Type = BackendHTTP
		d.httpTarget(a, bo)
	case "websocket":
		bo.known("type", "cluster", "path", "host", "timeout_seconds", "url")
		b.Type = BackendWebSocket
		d.httpTarget(a, bo)
		if a.Protocol != APIProtoWebSocket {
			a.mark(reply.APIConfigError)
		}
	case "mock":
		bo.known("type", "status", "headers", "body")
		b.Type = BackendMock
		b.MockStatus = int(bo.integer("status", 200, 200, 599))
		if hv, hp, ok := bo.get("headers"); ok {
			if ho := d.asObject(hp, hv); ho != nil {
				for _, k := range ho.order {
					val := ho.str(k, "")
					if !validHeaderName(ascii.Lower(k)) || strings.HasPrefix(k, ":") {
						d.fail(join(hp, k), ho.fields[k], "%q is not a header name", k)
						continue
					}
					if ascii.Lower(k) == "x-api-requestid" {
						continue // always the gateway's own id
					}
					b.MockHeaders = append(b.MockHeaders, [2]string{ascii.Lower(k), val})
				}
			}
		}
		if bo.has("body") {
			b.MockBody = bo.str("body", "")
		} else {
			a.mark(reply.MockConfigError)
		}
		hasType := false
		for _, kv := range b.MockHeaders {
			hasType = hasType || kv[0] == "content-type"
		}
		if !hasType {
			ct := "text/plain; charset=utf-8"
			if gjson.Valid(b.MockBody) {
				ct = "application/json"
			}
			b.MockHeaders = append(b.MockHeaders, [2]string{"content-type", ct})
		}
	case "microservice":
		bo.known("type", "namespace_location", "service_location", "microservices", "timeout_seconds", "path")
		b.Type = BackendMicroservice
		b.Timeout = time.Duration(bo.integer("timeout_seconds", 15, 1, 3600)) * time.Second
		for i, name := range []string{"namespace_location", "service_location"} {
			raw := bo.str(name, "")
			loc, ok := d.location(raw, a)
			switch {
			case raw == "":
				a.mark(reply.MicroServiceLocationFail)
			case !ok:
				a.mark(reply.MicroServiceLocationFormat)
			}
			if i == 0 {
				b.NamespaceLocation = loc
			} else {
				b.ServiceLocation = loc
			}
		}
		b.byKey = map[[2]string]*Microservice{}
		items, mp := bo.array("microservices")
		if len(items) == 0 {
			a.mark(reply.TSFConfigError)
		}
		for i, it := range items {
			mo := d.asObject(index(mp, i), it)
			if mo == nil {
				continue
			}
			mo.known("namespace", "name", "cluster", "path")
			// An entry without its own path takes the backend's.
			ms := Microservice{Namespace: mo.str("namespace", ""), Name: mo.str("name", ""),
				Cluster: mo.str("cluster", ""), Path: mo.str("path", bo.str("path", ""))}
			if ms.Cluster == "" || ms.Name == "" || ms.Namespace == "" {
				a.mark(reply.TSFConfigError)
			}
			if ms.Path != "" && (ms.Path[0] != '/' || !d.backendVarsKnown(ms.Path, a)) {
				a.mark(reply.APIConfigError)
			}
			b.Microservices = append(b.Microservices, ms)
		}
		for i := range b.Microservices {
			ms := &b.Microservices[i]
			if _, dup := b.byKey[[2]string{ms.Namespace, ms.Name}]; !dup {
				b.byKey[[2]string{ms.Namespace, ms.Name}] = ms
			}
		}
	}
}

// location parses method.req.{header|query|path}.<name>; a path location must name a {var}.
func (d *decoder) location(loc string, a *API) (Location, bool) {
	rest, ok := strings.CutPrefix(loc, "method.req.")
	if !ok {
		return Location{}, false
	}
	where, name, ok := strings.Cut(rest, ".")
	if !ok || name == "" {
		return Location{}, false
	}
	switch where {
	case "header":
		return Location{Where: InHeader, Name: ascii.Lower(name)}, validHeaderName(ascii.Lower(name))
	case "query":
		return Location{Where: InQuery, Name: name}, true
	case "path":
		if a.Pattern == nil {
			return Location{}, false
		}
		for _, n := range a.Pattern.VarNames() {
			if n == name {
				return Location{Where: InPath, Name: name}, true
			}
		}
	}
	return Location{}, false
}

func (d *decoder) httpTarget(a *API, bo *object) {
	b := &a.Backend
	b.Cluster = bo.str("cluster", "")
	if bo.has("path") {
		b.Path, b.HasPath = bo.str("path", ""), true
		if b.Path == "" || b.Path[0] != '/' {
			a.mark(reply.APIConfigError)
		} else if !d.backendVarsKnown(b.Path, a) {
			a.mark(reply.APIConfigError)
		}
	}
	b.Host = bo.str("host", "")
	if b.Host != "" && !ValidHostPort(b.Host) {
		hv, hp, _ := bo.get("host")
		d.fail(hp, hv, "%q is not a host[:port]", b.Host)
	}
	b.Timeout = time.Duration(bo.integer("timeout_seconds", 15, 1, 3600)) * time.Second
	if raw := bo.str("url", ""); raw != "" {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !ValidHostPort(u.Host) || u.RawQuery != "" {
			uv, up, _ := bo.get("url")
			d.fail(up, uv, "%q is not an http://host[:port][/path] URL", raw)
		} else {
			// The path as written (after scheme://host), so that {var}s stay as they are.
			rawPath := strings.TrimPrefix(raw, u.Scheme+"://"+u.Host)
			if u.Fragment != "" || strings.ContainsAny(rawPath, "#?") {
				uv, up, _ := bo.get("url")
				d.fail(up, uv, "%q: a url backend takes no query or fragment", raw)
			}
			t := &URLTarget{Scheme: u.Scheme, HostPort: u.Host, Host: u.Hostname(), BasePath: strings.TrimRight(rawPath, "/")}
			if !d.backendVarsKnown(t.BasePath, a) {
				a.mark(reply.APIConfigError)
			}
			if ip, err := netip.ParseAddr(t.Host); err == nil {
				t.IP = ip.Unmap()
			}
			if u.Port() == "" {
				port := "80"
				if u.Scheme == "https" {
					port = "443"
				}
				t.HostPort = u.Host + ":" + port
			}
			if !b.HasPath && t.BasePath != "" {
				b.Path, b.HasPath, t.BasePath = t.BasePath, true, "" // the url's path is the backend path
			}
			b.URL = t
		}
		if b.Cluster != "" {
			uv, up, _ := bo.get("url")
			d.fail(up, uv, "a backend takes cluster or url, not both")
		}
		if b.Host != "" {
			hv, hp, _ := bo.get("host")
			d.fail(hp, hv, "a url backend takes its host from the url")
		}
	} else if b.Cluster == "" {
		a.mark(reply.APIConfigError)
	}
}

// backendVarsKnown reports whether every {var} of a backend path is a variable of the API path.
func (d *decoder) backendVarsKnown(p string, a *API) bool {
	known := map[string]bool{}
	if a.Pattern != nil {
		for _, n := range a.Pattern.VarNames() {
			known[n] = true
		}
	}
	for {
		i := strings.IndexByte(p, '{')
		if i < 0 {
			return !strings.Contains(p, "}")
		}
		j := strings.IndexByte(p[i:], '}')
		if j < 0 || !known[p[i+1:i+j]] {
			return false
		}
		p = p[i+j+1:]
	}
}

func (d *decoder) oauthConfig(a *API, o *object) {
	if !a.OAuthBusiness {
		if o.has("oauth_config") {
			v, p, _ := o.get("oauth_config")
			d.fail(p, v, "only an authorization API (business_type oauth) has an oauth_config")
		}
		return
	}
	v, p, ok := o.get("oauth_config")
	if !ok {
		a.mark(reply.OAuthNoConfig)
		return
	}
	oo := d.asObject(p, v)
	if oo == nil {
		return
	}
	oo.known("public_key", "token_location", "login_redirect_url")
	oc := &OAuthConfig{TokenLocation: oo.str("token_location", "method.req.header.authorization")}
	if kv, kp, ok := oo.get("public_key"); ok {
		switch {
		case kv.Type == gjson.String:
			oc.PublicKey = kv.Str
		case kv.IsObject():
			oc.PublicKey = kv.Raw
		default:
			d.fail(kp, kv, "must be a JWK object or a PEM string, got %s", kind(kv))
		}
	}
	oo.str("login_redirect_url", "")
	if loc, err := oauth.ParseLocation(oc.TokenLocation); err != nil {
		a.mark(reply.OAuthLocationForbidden)
	} else {
		oc.Location = loc
	}
	if strings.TrimSpace(oc.PublicKey) == "" {
		a.mark(reply.OAuthNoPublicKey)
	} else if k, err := oauth.ParsePublicKey([]byte(oc.PublicKey)); err != nil {
		a.mark(reply.OAuthPublicKeyError)
	} else {
		oc.Key = k
	}
	a.OAuthConfig = oc
}

// linkOAuth resolves every business API's oauth_api within its service.
func (d *decoder) linkOAuth(cfg *Config) {
	for _, s := range cfg.Services {
		for _, a := range s.APIs {
			if a.Auth != AuthOAuth || a.OAuthAPIID == "" {
				continue
			}
			target := s.APIsByID[a.OAuthAPIID]
			if target == nil || !target.OAuthBusiness {
				continue // answered 401 at request time
			}
			a.OAuthAPI = target
			if isOAuthConfigError(target.ConfigError) {
				a.mark(target.ConfigError)
			}
		}
	}
}

func (d *decoder) secret(cfg *Config, path string, v gjson.Result) {
	o := d.asObject(path, v)
	if o == nil {
		return
	}
	o.known("secret_id", "secret_key", "enabled")
	s := &Secret{ID: o.requiredStr("secret_id"), Key: []byte(o.requiredStr("secret_key")), Enabled: o.boolean("enabled", true)}
	if _, dup := cfg.Secrets[s.ID]; dup && s.ID != "" {
		d.fail(path+".secret_id", v, "duplicate secret id %q", s.ID)
		return
	}
	cfg.Secrets[s.ID] = s
}

func (d *decoder) usagePlan(cfg *Config, path string, v gjson.Result) *UsagePlan {
	o := d.asObject(path, v)
	if o == nil {
		return nil
	}
	o.known("id", "max_requests_per_second", "max_requests", "quota_period", "secrets", "environments", "apis")
	pl := &UsagePlan{
		ID:          o.requiredStr("id"),
		MaxRPS:      o.limit("max_requests_per_second"),
		MaxRequests: o.limit("max_requests"),
		QuotaPeriod: o.enum("quota_period", "total", "total", "day", "month"),
		envs:        map[*Service]uint8{},
		apis:        map[*API]uint8{},
		keys:        map[string]string{},
	}
	pl.Period, _ = limit.ParsePeriod(pl.QuotaPeriod)
	sv, sp, _ := o.get("secrets")
	for i, id := range o.strings("secrets") {
		s := cfg.Secrets[id]
		if s == nil {
			d.fail(index(sp, i), sv, "no secret with secret_id %q", id)
			continue
		}
		pl.Secrets = append(pl.Secrets, id)
		s.Plans = append(s.Plans, pl)
		pl.keys[id] = limit.UsageKey(pl.ID, id)
	}
	services := map[string]*Service{}
	for _, s := range cfg.Services {
		services[s.ID] = s
	}
	items, ep := o.array("environments")
	for i, it := range items {
		bo := d.asObject(index(ep, i), it)
		if bo == nil {
			continue
		}
		bo.known("service", "environment")
		s, env, ok := d.serviceEnv(bo, services)
		if ok {
			pl.EnvBindings = append(pl.EnvBindings, EnvBinding{Service: s, Env: env})
			pl.envs[s] |= 1 << env
		}
	}
	items, ap := o.array("apis")
	for i, it := range items {
		bo := d.asObject(index(ap, i), it)
		if bo == nil {
			continue
		}
		bo.known("service", "environment", "api")
		s, env, ok := d.serviceEnv(bo, services)
		id := bo.requiredStr("api")
		if !ok || id == "" {
			continue
		}
		a := s.APIsByID[id]
		if a == nil {
			av, apath, _ := bo.get("api")
			d.fail(apath, av, "no api %q in service %q", id, s.ID)
			continue
		}
		pl.APIBindings = append(pl.APIBindings, APIBinding{API: a, Env: env})
		pl.apis[a] |= 1 << env
	}
	return pl
}

func (d *decoder) serviceEnv(bo *object, services map[string]*Service) (*Service, Env, bool) {
	id := bo.requiredStr("service")
	name := bo.requiredStr("environment")
	s := services[id]
	if s == nil && id != "" {
		sv, sp, _ := bo.get("service")
		d.fail(sp, sv, "no service %q", id)
	}
	env, ok := ParseEnv(name)
	if !ok && name != "" {
		ev, ep, _ := bo.get("environment")
		d.fail(ep, ev, "unknown environment %q (want test, prepub or release)", name)
	}
	return s, env, s != nil && ok
}

// validHeaderName accepts lowercase HTTP token characters.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// ValidHost accepts a DNS name or an IP literal (IPv6 in brackets), without port.
func ValidHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	if h[0] == '[' {
		if h[len(h)-1] != ']' {
			return false
		}
		a, err := netip.ParseAddr(h[1 : len(h)-1])
		return err == nil && a.Is6()
	}
	if strings.IndexByte(h, ':') >= 0 || strings.Trim(h, "0123456789.") == "" {
		if _, err := netip.ParseAddr(h); err == nil {
			return true
		}
	}
	// DNS labels of 1 to 63 letters, digits, '-' or '_', checked without splitting (per request).
	label := 0
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_':
			if label++; label > 63 {
				return false
			}
		default:
			return false
		}
	}
	return label > 0
}

// ValidHostPort accepts host or host:port with a port from 1 to 65535.
func ValidHostPort(hp string) bool {
	host, port := SplitHostPort(hp)
	if !ValidHost(host) {
		return false
	}
	if port == "" {
		return !strings.HasSuffix(hp, ":")
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535 && port[0] != '+'
}

// SplitHostPort splits host[:port] where an IPv6 host is in brackets; port may be empty.
func SplitHostPort(hp string) (host, port string) {
	if strings.HasPrefix(hp, "[") {
		if i := strings.IndexByte(hp, ']'); i >= 0 {
			host, rest := hp[:i+1], hp[i+1:]
			if p, ok := strings.CutPrefix(rest, ":"); ok {
				return host, p
			}
			if rest != "" {
				return hp, "" // junk after the bracket: let ValidHost refuse it
			}
			return host, ""
		}
		return hp, ""
	}
	if i := strings.LastIndexByte(hp, ':'); i >= 0 {
		return hp[:i], hp[i+1:]
	}
	return hp, ""
}

func isOAuthConfigError(c reply.Code) bool {
	switch c {
	case reply.OAuthPublicKeyError, reply.OAuthLocationForbidden, reply.OAuthNoConfig, reply.OAuthNoPublicKey:
		return true
	}
	return false
}
