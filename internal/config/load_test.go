package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/limit"
	"github.com/apigw-wasm/apigw-wasm/internal/limit/lease"
	"github.com/apigw-wasm/apigw-wasm/internal/reply"
	"github.com/apigw-wasm/apigw-wasm/internal/route"
)

// svc wraps API objects into a minimal valid document.
func svc(apis string) string {
	return `{"services":[{"id":"s","default_domain":"s.example.com","apis":[` + apis + `]}]}`
}

func TestLoadRefuses(t *testing.T) {
	tests := []struct {
		name, doc, path, msg string
	}{
		{"not json", `{"services":[}`, "", "not valid JSON"},
		{"not an object", `[]`, "", "must be an object"},
		{"unknown top field", `{"servics":[]}`, "servics", "unknown field"},
		{"services not array", `{"services":{}}`, "services", "must be an array"},
		{"service id type", `{"services":[{"id":1}]}`, "services[0].id", "must be a string"},
		{"service id missing", `{"services":[{"default_domain":"a.b"}]}`, "services[0].id", "is required"},
		{"duplicate service", `{"services":[{"id":"a"},{"id":"a"}]}`, "services[1].id", "duplicate service id"},
		{"bad protocol", `{"services":[{"id":"a","protocols":["ftp"]}]}`, "services[0].protocols[0]", "unknown protocol"},
		{"host twice", `{"services":[{"id":"a","default_domain":"x.com"},{"id":"b","default_domain":"X.com"}]}`, "services[1].default_domain", "bound twice"},
		{"bad host", `{"services":[{"id":"a","default_domain":"x y"}]}`, "services[0].default_domain", "not a host name"},
		{"bad env name", `{"services":[{"id":"a","environments":{"prod":{}}}]}`, "services[0].environments.prod", "unknown field"},
		{"bad limit", `{"services":[{"id":"a","environments":{"test":{"max_requests_per_second":0}}}]}`, "services[0].environments.test.max_requests_per_second", "positive whole number"},
		{"mapping env", `{"services":[{"id":"a","custom_domains":[{"host":"c.com","path_mappings":[{"path":"/","environment":"prod"}]}]}]}`, "services[0].custom_domains[0].path_mappings[0].environment", "unknown environment"},
		{"api method", svc(`{"id":"x","path":"/a","method":"FETCH","backend":{"type":"mock","body":""}}`), "services[0].apis[0].method", "unknown value"},
		{"api path", svc(`{"id":"x","path":"/a/{","backend":{"type":"mock","body":""}}`), "services[0].apis[0].path", ""},
		{"duplicate api", svc(`{"id":"x","path":"/a","backend":{"type":"mock","body":""}},{"id":"x","path":"/b","backend":{"type":"mock","body":""}}`), "services[0].apis[1].id", "duplicate api id"},
		{"backend type", svc(`{"id":"x","path":"/a","backend":{"type":"ftp"}}`), "services[0].apis[0].backend.type", "unknown value"},
		{"backend field", svc(`{"id":"x","path":"/a","backend":{"type":"mock","body":"","clster":"a"}}`), "services[0].apis[0].backend.clster", "unknown field"},
		{"mock body type", svc(`{"id":"x","path":"/a","backend":{"type":"mock","body":1}}`), "services[0].apis[0].backend.body", "must be a string"},
		{"param position", svc(`{"id":"x","path":"/a","parameters":[{"name":"p","position":"cookie"}],"backend":{"type":"mock","body":""}}`), "services[0].apis[0].parameters[0].position", "unknown value"},
		{"auth", svc(`{"id":"x","path":"/a","auth":"basic","backend":{"type":"mock","body":""}}`), "services[0].apis[0].auth", "unknown value"},
		{"cidr", svc(`{"id":"x","path":"/a","ip_deny":["10.0.0.0/33"],"backend":{"type":"mock","body":""}}`), "services[0].apis[0]", "ip_deny[0]"},
		{"plan secret", `{"secrets":[],"usage_plans":[{"id":"p","secrets":["AKID"]}]}`, "usage_plans[0].secrets[0]", "no secret"},
		{"plan service", `{"usage_plans":[{"id":"p","environments":[{"service":"nope","environment":"release"}]}]}`, "usage_plans[0].environments[0].service", "no service"},
		{"plan api", svc(`{"id":"x","path":"/a","backend":{"type":"mock","body":""}}`)[:len(svc(`{"id":"x","path":"/a","backend":{"type":"mock","body":""}}`))-1] + `,"usage_plans":[{"id":"p","apis":[{"service":"s","environment":"test","api":"y"}]}]}`, "usage_plans[0].apis[0].api", "no api"},
		{"quota period", `{"usage_plans":[{"id":"p","quota_period":"week"}]}`, "usage_plans[0].quota_period", "unknown value"},
		{"empty url cluster", `{"url_cluster":""}`, "url_cluster", "must not be empty"},
		{"cluster header", `{"cluster_header":"x y"}`, "cluster_header", "must be a header name"},
		{"endpoint deny", `{"endpoint_deny":["169.254.0.0/16","nope"]}`, "endpoint_deny", "[1]"},
		{"param type", svc(`{"id":"x","path":"/a","parameters":[{"name":"p","type":"uuid"}],"backend":{"type":"mock","body":""}}`), "services[0].apis[0].parameters[0].type", "unknown value"},
		{"duplicate secret", `{"secrets":[{"secret_id":"a","secret_key":"k"},{"secret_id":"a","secret_key":"k"}]}`, "secrets[1].secret_id", "duplicate secret"},
		{"duplicate key", `{"services":[],"services":[]}`, "services", "duplicate key"},
		{"limits type", `{"limits":"global"}`, "limits", "must be an object"},
		{"limits field", `{"limits":{"mode":"global","timeout":5}}`, "limits.timeout", "unknown field"},
		{"limits mode", `{"limits":{"mode":"redis"}}`, "limits.mode", "unknown value"},
		{"limits cluster", `{"limits":{"cluster":""}}`, "limits.cluster", "must not be empty"},
		{"limits timeout low", `{"limits":{"timeout_ms":9}}`, "limits.timeout_ms", "from 10 to 10000"},
		{"limits timeout high", `{"limits":{"timeout_ms":10001}}`, "limits.timeout_ms", "from 10 to 10000"},
		{"limits failure mode", `{"limits":{"on_store_failure":"open"}}`, "limits.on_store_failure", "unknown value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load([]byte(tt.doc))
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Load accepted the document (err %v)", err)
			}
			for _, e := range errs {
				if e.Path == tt.path && strings.Contains(e.Msg, tt.msg) {
					return
				}
			}
			t.Fatalf("no error at %q containing %q; got %v", tt.path, tt.msg, errs)
		})
	}
}

// TestLimitsSection: the limits section's defaults and values (lease.DecodeSettings).
func TestLimitsSection(t *testing.T) {
	tests := []struct {
		doc  string
		want lease.Settings
	}{
		{`{}`, lease.DefaultSettings},
		{`{"limits":null}`, lease.DefaultSettings},
		{`{"limits":{}}`, lease.DefaultSettings},
		{`{"limits":{"mode":"local","timeout_ms":50}}`, lease.Settings{Cluster: "apigw_limitd", Timeout: 50 * time.Millisecond}},
		{`{"limits":{"mode":"global"}}`, lease.Settings{Global: true, Cluster: "apigw_limitd", Timeout: 100 * time.Millisecond}},
		{`{"limits":{"mode":"global","cluster":"limits","timeout_ms":10000,"on_store_failure":"deny"}}`,
			lease.Settings{Global: true, Cluster: "limits", Timeout: 10 * time.Second, OnStoreFailure: lease.Deny}},
	}
	for _, tt := range tests {
		cfg, err := Load([]byte(tt.doc))
		if err != nil {
			t.Fatalf("%s: %v", tt.doc, err)
		}
		if cfg.Limits != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.doc, cfg.Limits, tt.want)
		}
	}
}

func TestAPIConfigErrors(t *testing.T) {
	tests := []struct {
		name, api string
		want      reply.Code
	}{
		{"ok", `{"id":"x","path":"/a","backend":{"type":"mock","body":""}}`, reply.None},
		{"mock without body", `{"id":"x","path":"/a","backend":{"type":"mock"}}`, reply.MockConfigError},
		{"no backend", `{"id":"x","path":"/a"}`, reply.APIConfigError},
		{"http without cluster", `{"id":"x","path":"/a","backend":{"type":"http"}}`, reply.APIConfigError},
		{"path param names no var", `{"id":"x","path":"/a/{id}","parameters":[{"name":"idd","position":"path"}],"backend":{"type":"mock","body":""}}`, reply.APIConfigError},
		{"path param names a var", `{"id":"x","path":"/a/{id}","parameters":[{"name":"id","position":"path"}],"backend":{"type":"mock","body":""}}`, reply.None},
		{"backend var unknown", `{"id":"x","path":"/a/{id}","backend":{"type":"http","cluster":"c","path":"/b/{other}"}}`, reply.APIConfigError},
		{"cors origin", `{"id":"x","path":"/a","cors":{"allow_origins":["example.com"],"allow_methods":["GET"]},"backend":{"type":"mock","body":""}}`, reply.CORSConfigError},
		{"cors no methods", `{"id":"x","path":"/a","cors":{"allow_origins":["*"],"allow_methods":[]},"backend":{"type":"mock","body":""}}`, reply.CORSConfigError},
		{"cors bad method", `{"id":"x","path":"/a","cors":{"allow_origins":["*"],"allow_methods":["FETCH"]},"backend":{"type":"mock","body":""}}`, reply.CORSConfigError},
		{"cors max age", `{"id":"x","path":"/a","cors":{"allow_origins":["https://a.com:8443"],"allow_methods":["GET"],"max_age_seconds":-1},"backend":{"type":"mock","body":""}}`, reply.CORSConfigError},
		{"cors ok", `{"id":"x","path":"/a","cors":{"allow_origins":["https://a.com:8443","*"],"allow_methods":["GET"]},"backend":{"type":"mock","body":""}}`, reply.None},
		{"cors true", `{"id":"x","path":"/a","cors":true,"backend":{"type":"mock","body":""}}`, reply.None},
		{"oauth no config", `{"id":"x","path":"/a","business_type":"oauth","backend":{"type":"http","cluster":"c"}}`, reply.OAuthNoConfig},
		{"oauth no key", `{"id":"x","path":"/a","business_type":"oauth","oauth_config":{},"backend":{"type":"http","cluster":"c"}}`, reply.OAuthNoPublicKey},
		{"oauth location", `{"id":"x","path":"/a","business_type":"oauth","oauth_config":{"public_key":{"kty":"RSA","n":"AQAB","e":"AQAB"},"token_location":"method.req.query.t"},"backend":{"type":"http","cluster":"c"}}`, reply.OAuthLocationForbidden},
		{"oauth bad key", `{"id":"x","path":"/a","business_type":"oauth","oauth_config":{"public_key":"-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----"},"backend":{"type":"http","cluster":"c"}}`, reply.OAuthPublicKeyError},
		{"ms no location", `{"id":"x","path":"/a","backend":{"type":"microservice","service_location":"method.req.header.s","microservices":[{"namespace":"n","name":"s","cluster":"c"}]}}`, reply.MicroServiceLocationFail},
		{"ms bad location", `{"id":"x","path":"/a","backend":{"type":"microservice","namespace_location":"header.n","service_location":"method.req.header.s","microservices":[{"namespace":"n","name":"s","cluster":"c"}]}}`, reply.MicroServiceLocationFormat},
		{"ms path location without var", `{"id":"x","path":"/a","backend":{"type":"microservice","namespace_location":"method.req.path.ns","service_location":"method.req.header.s","microservices":[{"namespace":"n","name":"s","cluster":"c"}]}}`, reply.MicroServiceLocationFormat},
		{"ms empty", `{"id":"x","path":"/a","backend":{"type":"microservice","namespace_location":"method.req.query.n","service_location":"method.req.header.s","microservices":[]}}`, reply.TSFConfigError},
		{"ms no cluster", `{"id":"x","path":"/a","backend":{"type":"microservice","namespace_location":"method.req.query.n","service_location":"method.req.header.s","microservices":[{"namespace":"n","name":"s"}]}}`, reply.TSFConfigError},
		{"ms ok", `{"id":"x","path":"/{ns}/a","backend":{"type":"microservice","namespace_location":"method.req.path.ns","service_location":"method.req.header.s","microservices":[{"namespace":"n","name":"s","cluster":"c"}]}}`, reply.None},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load([]byte(svc(tt.api)))
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Services[0].APIs[0].ConfigError; got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOAuthBrokenAuthorizationAPI(t *testing.T) {
	cfg, err := Load([]byte(svc(`{"id":"auth","path":"/oauth","business_type":"oauth","oauth_config":{"public_key":"k","token_location":"cookie"},"backend":{"type":"http","cluster":"c"}},
		{"id":"biz","path":"/biz","auth":"oauth","oauth_api":"auth","backend":{"type":"http","cluster":"c"}},
		{"id":"orphan","path":"/o","auth":"oauth","oauth_api":"missing","backend":{"type":"http","cluster":"c"}}`)))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Services[0]
	if s.APIsByID["biz"].ConfigError != reply.OAuthLocationForbidden {
		t.Fatalf("business API: %v", s.APIsByID["biz"].ConfigError)
	}
	if o := s.APIsByID["orphan"]; o.ConfigError != reply.None || o.OAuthAPI != nil {
		t.Fatalf("orphan: %v %v", o.ConfigError, o.OAuthAPI)
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := Load([]byte(`{"services":[{"id":"s","custom_domains":[{"host":"A.example.com","path_mappings":[{"path":"/","environment":"release"},{"path":"/dev/","environment":"test"}]}],
		"apis":[{"id":"x","path":"/a","backend":{"type":"http","url":"http://10.0.0.5/base/"}}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ClusterHeader != "x-apigw-cluster" || cfg.URLCluster != "apigw_dynamic_forward_proxy" || cfg.HMACClockSkew.Seconds() != 900 || cfg.OAuthClockSkew.Seconds() != 60 {
		t.Fatalf("top-level defaults: %+v", cfg)
	}
	if cfg.EndpointDeny == nil {
		t.Fatal("endpoint_deny default missing")
	}
	b, ok := cfg.Host("a.EXAMPLE.com")
	if !ok || b.Custom == nil {
		t.Fatal("custom domain host not found case-insensitively")
	}
	if pm := b.Custom.PathMappings; pm[0].Path != "/dev" || pm[1].Path != "/" {
		t.Fatalf("mappings not longest first: %v", pm)
	}
	a := cfg.Services[0].APIs[0]
	for _, env := range cfg.Services[0].Environments { // method ANY, in every environment
		if _, res := env.Routes.Lookup("/a", "DELETE", nil); res != route.Found || a.Backend.Timeout.Seconds() != 15 {
			t.Fatalf("api defaults in %v: %v, timeout %v", env.Env, res, a.Backend.Timeout)
		}
	}
	if u, _ := a.Backend.Upstream(nil, &cfg.Settings); u.Authority != "10.0.0.5:80" || u.Path != "/base" || u.Cluster != cfg.URLCluster {
		t.Fatalf("url backend: %+v", u)
	}
	if cfg.Services[0].Protocols != ProtoHTTP|ProtoHTTPS || cfg.Services[0].Environments[EnvRelease].Rate != (limit.Rate{}) {
		t.Fatal("service defaults")
	}
}

func TestErrorLines(t *testing.T) {
	doc := "{\n  \"services\": [\n    {\"id\": 5}\n  ]\n}"
	_, err := Load([]byte(doc))
	var errs Errors
	if !errors.As(err, &errs) || errs[0].Line != 3 {
		t.Fatalf("want an error on line 3, got %v", err)
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte(svc(`{"id":"x","path":"/a/{id}","parameters":[{"name":"id","position":"path"}],"backend":{"type":"mock","body":""}}`)))
	f.Add([]byte(`{"services":[{"id":"s","custom_domains":[{"host":"c.com","path_mappings":[{"path":"/","environment":"release"}]}]}],"secrets":[{"secret_id":"a","secret_key":"b"}],"usage_plans":[{"id":"p","secrets":["a"],"environments":[{"service":"s","environment":"test"}]}]}`))
	f.Add([]byte(`{"services":[{"id":"s","apis":[{"id":"x","path":"^~/a","cors":true,"backend":{"type":"microservice","microservices":[{}]}}]}]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		cfg, err := Load(doc)
		if err == nil && cfg == nil {
			t.Fatal("nil config without error")
		}
		if err != nil {
			var errs Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error is not Errors: %v", err)
			}
		}
	})
}
