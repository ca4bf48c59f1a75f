package config

import (
	"sort"
	"strings"

	"github.com/apigw-wasm/apigw-wasm/internal/ascii"
	"github.com/apigw-wasm/apigw-wasm/internal/backend"
	"github.com/apigw-wasm/apigw-wasm/internal/confjson"
	"github.com/apigw-wasm/apigw-wasm/internal/cors"
	"github.com/apigw-wasm/apigw-wasm/internal/hmacauth"
	"github.com/apigw-wasm/apigw-wasm/internal/httpsyntax"
	"github.com/apigw-wasm/apigw-wasm/internal/ipfilter"
	"github.com/apigw-wasm/apigw-wasm/internal/limit"
	"github.com/apigw-wasm/apigw-wasm/internal/limit/lease"
	"github.com/apigw-wasm/apigw-wasm/internal/oauth"
	"github.com/apigw-wasm/apigw-wasm/internal/params"
	"github.com/apigw-wasm/apigw-wasm/internal/reply"
	"github.com/apigw-wasm/apigw-wasm/internal/route"
)

// Load parses and validates a configuration document. On failure the error is Errors.
func Load(doc []byte) (*Config, error) {
	d, err := confjson.New(doc)
	if err != nil {
		return nil, err
	}
	l := &loader{
		cfg:      &Config{Secrets: map[string]*Secret{}, hosts: map[string]Binding{}},
		oauthAPI: map[*API]string{},
	}
	cfg := l.config(d.Root())
	if err := d.Err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// loader is one document being loaded.
type loader struct {
	cfg      *Config
	oauthAPI map[*API]string // a business API's oauth_api, linked once every service is read
}

func (l *loader) config(root confjson.Value) *Config {
	o := root.Object()
	if o == nil {
		return nil
	}
	o.Known("cluster_header", "url_cluster", "hmac", "oauth", "endpoint_deny", "limits", "services", "secrets", "usage_plans")
	cfg := l.cfg
	cfg.Settings = backend.DecodeSettings(o)
	cfg.HMACClockSkew = hmacauth.DecodeClockSkew(o)
	cfg.OAuthClockSkew = oauth.DecodeClockSkew(o)
	cfg.EndpointDeny = ipfilter.DecodeDeny(o, "endpoint_deny", backend.DefaultEndpointDeny)
	cfg.Limits = lease.DecodeSettings(o)

	ids := map[string]bool{}
	for _, it := range o.Array("services") {
		s := l.service(it)
		if s == nil {
			continue
		}
		if ids[s.ID] {
			it.FailAt(it.Path()+".id", "duplicate service id %q", s.ID)
		}
		ids[s.ID] = true
		cfg.Services = append(cfg.Services, s)
	}
	l.linkOAuth()

	for _, it := range o.Array("secrets") {
		l.secret(it)
	}
	services := map[string]*Service{}
	for _, s := range cfg.Services {
		services[s.ID] = s
	}
	planIDs := map[string]bool{}
	for _, it := range o.Array("usage_plans") {
		if pl := l.usagePlan(it, services); pl != nil {
			if planIDs[pl.ID] {
				it.FailAt(it.Path()+".id", "duplicate usage plan id %q", pl.ID)
			}
			planIDs[pl.ID] = true
		}
	}
	return cfg
}

func protocols(o *confjson.Object, name string, def Protocols) Protocols {
	if !o.Has(name) {
		return def
	}
	v := o.Field(name)
	list := o.Strings(name)
	var set Protocols
	for i, s := range list {
		switch s {
		case "http":
			set |= ProtoHTTP
		case "https":
			set |= ProtoHTTPS
		default:
			v.FailAt(confjson.Index(v.Path(), i), "unknown protocol %q (want http or https)", s)
		}
	}
	if len(list) == 0 {
		v.Fail("must name at least one protocol")
	}
	return set
}

// bind adds a host name of the value v to the host index.
func (l *loader) bind(v confjson.Value, host string, b Binding) {
	h := ascii.Lower(strings.TrimSuffix(host, "."))
	if !httpsyntax.ValidHost(h) || strings.Contains(h, ":") {
		v.Fail("%q is not a host name", host)
		return
	}
	if _, dup := l.cfg.hosts[h]; dup {
		v.Fail("host %q is bound twice", h)
		return
	}
	l.cfg.hosts[h] = b
}

func (l *loader) service(v confjson.Value) *Service {
	o := v.Object()
	if o == nil {
		return nil
	}
	o.Known("id", "protocols", "default_domain", "custom_domains", "environments", "ip_allow", "ip_deny", "apis")
	s := &Service{ID: o.RequiredStr("id"), APIsByID: map[string]*API{}}
	s.Protocols = protocols(o, "protocols", ProtoHTTP|ProtoHTTPS)
	if o.Has("default_domain") {
		l.bind(o.Field("default_domain"), o.RequiredStr("default_domain"), Binding{Service: s})
	}
	for _, it := range o.Array("custom_domains") {
		l.customDomain(s, it)
	}
	for e := range s.Environments {
		s.Environments[e] = &Environment{Env: Env(e)}
	}
	if eo := o.FieldObject("environments"); eo != nil {
		eo.Known(EnvNames[:]...)
		for e, name := range EnvNames {
			if xo := eo.FieldObject(name); xo != nil {
				xo.Known("max_requests_per_second")
				if rps := limit.DecodeLimit(xo, "max_requests_per_second"); rps != limit.Unlimited {
					s.Environments[e].Rate = limit.Rate{Key: limit.ServiceKey(s.ID, name), Limit: rps}
				}
			}
		}
	}
	ips := ipfilter.Decode(o)

	var entries [numEnvs][]route.Entry // the APIs published in each environment
	for _, it := range o.Array("apis") {
		a, method, envs := l.api(s, ips, it)
		if a == nil {
			continue
		}
		if _, dup := s.APIsByID[a.ID]; dup {
			it.FailAt(it.Path()+".id", "duplicate api id %q in service %q", a.ID, s.ID)
			continue
		}
		a.Index = len(s.APIs)
		s.APIs = append(s.APIs, a)
		s.APIsByID[a.ID] = a
		for e, in := range envs {
			if in && a.Pattern != nil {
				entries[e] = append(entries[e], route.Entry{Pattern: a.Pattern, Method: method, Index: a.Index})
			}
		}
	}
	for e, env := range s.Environments {
		env.NumAPIs = len(entries[e])
		t, err := route.NewTable(entries[e])
		if err != nil {
			o.FailAt(confjson.Join(o.Path(), "apis"), "%v", err)
			continue
		}
		env.Routes = t
	}
	return s
}

func (l *loader) customDomain(s *Service, v confjson.Value) {
	o := v.Object()
	if o == nil {
		return
	}
	o.Known("host", "protocols", "force_https", "path_mappings")
	cd := &CustomDomain{}
	l.bind(o.Field("host"), o.RequiredStr("host"), Binding{Service: s, Custom: cd})
	cd.Protocols = protocols(o, "protocols", s.Protocols)
	cd.ForceHTTPS = o.Bool("force_https", false)
	seen := map[string]bool{}
	for _, it := range o.Array("path_mappings") {
		mo := it.Object()
		if mo == nil {
			continue
		}
		mo.Known("path", "environment")
		mp := mo.RequiredStr("path")
		if mp != "" && mp[0] != '/' {
			mo.Field("path").Fail("must start with /")
		}
		if len(mp) > 1 {
			mp = strings.TrimRight(mp, "/")
			if mp == "" {
				mp = "/"
			}
		}
		if seen[mp] {
			mo.Field("path").Fail("path %q is mapped twice", mp)
		}
		seen[mp] = true
		envName := mo.RequiredStr("environment")
		env, ok := ParseEnv(envName)
		if !ok && envName != "" {
			mo.Field("environment").Fail("unknown environment %q (want test, prepub or release)", envName)
		}
		cd.PathMappings = append(cd.PathMappings, PathMapping{Path: mp, Env: env})
	}
	sort.SliceStable(cd.PathMappings, func(i, j int) bool {
		return len(cd.PathMappings[i].Path) > len(cd.PathMappings[j].Path)
	})
}

// api reads an API of service s, whose own ip_allow/ip_deny are ips, with the method and the
// environments its route table entries take.
func (l *loader) api(s *Service, ips *ipfilter.List, v confjson.Value) (a *API, method string, envs [numEnvs]bool) {
	o := v.Object()
	if o == nil {
		return nil, "", envs
	}
	o.Known("id", "path", "method", "protocol", "environments", "auth", "cors", "max_requests_per_second",
		"parameters", "backend", "business_type", "oauth_config", "oauth_api", "ip_allow", "ip_deny")
	a = &API{Service: s, ID: o.RequiredStr("id")}
	if path := o.RequiredStr("path"); path != "" {
		pat, err := route.Compile(path)
		if err != nil {
			o.Field("path").Fail("%v", err)
		} else {
			a.Pattern = pat
		}
	}
	method = o.Enum("method", "ANY", append([]string{"ANY"}, httpsyntax.Methods[:]...)...)
	if o.Enum("protocol", "HTTP", "HTTP", "WEBSOCKET") == "WEBSOCKET" {
		a.Protocol = APIProtoWebSocket
	}
	if o.Has("environments") {
		ev := o.Field("environments")
		for i, name := range o.Strings("environments") {
			e, ok := ParseEnv(name)
			if !ok {
				ev.FailAt(confjson.Index(ev.Path(), i), "unknown environment %q (want test, prepub or release)", name)
				continue
			}
			envs[e] = true
		}
	} else {
		envs = [numEnvs]bool{true, true, true}
	}
	switch o.Enum("auth", "none", "none", "secret", "oauth") {
	case "secret":
		a.Auth = AuthSecret
	case "oauth":
		a.Auth = AuthOAuth
	}
	a.OAuthBusiness = o.Enum("business_type", "normal", "normal", "oauth") == "oauth"
	if id := o.Str("oauth_api", ""); id != "" {
		l.oauthAPI[a] = id
	}
	if rps := limit.DecodeLimit(o, "max_requests_per_second"); rps != limit.Unlimited {
		for e := range a.Rates {
			a.Rates[e] = limit.Rate{Key: limit.APIKey(s.ID, EnvNames[e], a.ID), Limit: rps}
		}
	}
	for _, list := range [...]*ipfilter.List{ips, ipfilter.Decode(o)} {
		if list != nil {
			a.IPChain = append(a.IPChain, list)
		}
	}

	// The features' sections, in this order: the first 481 answer found is the API's.
	var vars []string
	if a.Pattern != nil {
		vars = a.Pattern.VarNames()
	}
	var c reply.Code
	a.CORS, c = cors.Decode(o)
	a.mark(c)
	a.Params, c = params.Decode(o, vars)
	a.mark(c)
	a.Backend, c = backend.Decode(o, vars, a.Protocol == APIProtoWebSocket)
	a.mark(c)
	if a.OAuthBusiness {
		a.OAuthConfig, c = oauth.DecodeConfig(o)
		a.mark(c)
	} else if o.Has("oauth_config") {
		o.Field("oauth_config").Fail("only an authorization API (business_type oauth) has an oauth_config")
	}
	if a.OAuthBusiness && a.Auth == AuthOAuth {
		o.Field("auth").Fail("an authorization API (business_type oauth) cannot itself use auth oauth")
	}
	return a, method, envs
}
