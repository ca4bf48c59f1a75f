// Package config turns the plugin's JSON configuration into the gateway's immutable model.
//
// Load reads the document's skeleton (services, their domains and environments, APIs, secrets,
// usage plans), resolves every reference between them (oauth_api links, plan bindings) and
// builds what the request path looks up (the host index, a route table per environment). Each
// feature decodes its own section with the shared confjson.Decoder: cors, params, oauth,
// hmacauth, ipfilter, limit, lease (the top-level limits section) and backend. A document that
// is not valid fails as a whole, with one Error per problem naming its JSON path and line. An
// API whose settings are well-formed but unusable (docs/gateway.md section 3, step 6) is kept
// and marked with its 481 answer, so the rest of the configuration keeps working. Nothing in
// the model changes after Load.
package config

import (
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/ascii"
	"github.com/apigw-wasm/apigw-wasm/internal/backend"
	"github.com/apigw-wasm/apigw-wasm/internal/confjson"
	"github.com/apigw-wasm/apigw-wasm/internal/cors"
	"github.com/apigw-wasm/apigw-wasm/internal/ipfilter"
	"github.com/apigw-wasm/apigw-wasm/internal/limit"
	"github.com/apigw-wasm/apigw-wasm/internal/limit/lease"
	"github.com/apigw-wasm/apigw-wasm/internal/oauth"
	"github.com/apigw-wasm/apigw-wasm/internal/params"
	"github.com/apigw-wasm/apigw-wasm/internal/reply"
	"github.com/apigw-wasm/apigw-wasm/internal/route"
)

// Error is one problem of a configuration document: its JSON path, line and message.
type Error = confjson.Error

// Errors are the problems of a document Load refuses.
type Errors = confjson.Errors

// Env is one of the three environments every service has.
type Env uint8

const (
	EnvTest Env = iota
	EnvPrepub
	EnvRelease
	numEnvs
)

// EnvNames are the environments' names, indexed by Env.
var EnvNames = [numEnvs]string{"test", "prepub", "release"}

func (e Env) String() string { return EnvNames[e] }

// ParseEnv maps a name to its Env.
func ParseEnv(s string) (Env, bool) {
	for i, n := range EnvNames {
		if s == n {
			return Env(i), true
		}
	}
	return 0, false
}

// Protocols is a set of downstream protocols.
type Protocols uint8

const (
	ProtoHTTP Protocols = 1 << iota
	ProtoHTTPS
)

// Allows reports whether the set takes https (tls true) or http.
func (p Protocols) Allows(tls bool) bool {
	if tls {
		return p&ProtoHTTPS != 0
	}
	return p&ProtoHTTP != 0
}

// Config is the whole compiled configuration.
type Config struct {
	backend.Settings // cluster_header, url_cluster, endpoint_deny
	HMACClockSkew    time.Duration
	OAuthClockSkew   time.Duration
	Limits           lease.Settings // the top-level limits section: local or cluster-wide
	Services         []*Service
	Secrets          map[string]*Secret // by secret_id

	hosts map[string]Binding // lowercase host -> what it serves
}

// Binding is what one host name serves: a service through its default domain, or one of its
// custom domains.
type Binding struct {
	Service *Service
	Custom  *CustomDomain // nil for the default domain
}

// Host looks up a host name (no port, any case).
func (c *Config) Host(host string) (Binding, bool) {
	b, ok := c.hosts[host]
	if !ok {
		b, ok = c.hosts[ascii.Lower(host)]
	}
	return b, ok
}

// Service is one API gateway service.
type Service struct {
	ID           string
	Protocols    Protocols
	Environments [numEnvs]*Environment
	APIs         []*API
	APIsByID     map[string]*API
}

// CustomDomain is a host bound to a service with its own protocols and path mappings.
type CustomDomain struct {
	Protocols    Protocols // the service's when the domain names none
	ForceHTTPS   bool
	PathMappings []PathMapping // longest path first; empty: environments as on the default domain
}

// PathMapping maps a path prefix of a custom domain to an environment.
type PathMapping struct {
	Path string // "/" or "/seg..." without a trailing slash
	Env  Env
}

// Environment is one environment of a service.
type Environment struct {
	Env     Env
	Rate    limit.Rate   // the service environment's limit; zero when unlimited
	Routes  *route.Table // the APIs published here; Index is the API's index in Service.APIs
	NumAPIs int
}

// Auth is how an API authenticates its callers.
type Auth uint8

const (
	AuthNone Auth = iota
	AuthSecret
	AuthOAuth
)

// APIProtocol is the frontend protocol of an API.
type APIProtocol uint8

const (
	APIProtoHTTP APIProtocol = iota
	APIProtoWebSocket
)

// API is one API of a service.
type API struct {
	Service       *Service
	Index         int
	ID            string
	Pattern       *route.Pattern
	Protocol      APIProtocol
	Auth          Auth
	OAuthBusiness bool          // business_type "oauth": an authorization API
	OAuthConfig   *oauth.Config // an authorization API's; nil when absent
	OAuthAPI      *API          // the linked authorization API, nil when missing
	CORS          *cors.Policy  // nil: CORS off
	Params        *params.Set   // nil while ConfigError is set by a parameter fault
	Backend       backend.Backend
	IPChain       ipfilter.Chain // the service's list, then the API's; empty: no restriction

	// Rates are the API's own limit per environment; zero when unlimited.
	Rates [numEnvs]limit.Rate
	// HasPlan reports, per environment, whether a usage plan binds the service environment
	// or this API in it.
	HasPlan [numEnvs]bool

	// ConfigError is the 481 answer of an API whose settings are unusable; None otherwise.
	ConfigError reply.Code
}

// mark keeps the first 481 answer found for an API.
func (a *API) mark(c reply.Code) {
	if a.ConfigError == reply.None {
		a.ConfigError = c
	}
}

// Secret is a key pair for HMAC authentication.
type Secret struct {
	ID      string
	Key     []byte
	Enabled bool
	Plans   []*UsagePlan // in config order
}

// UsagePlan binds secrets to service environments or single APIs, with limits.
type UsagePlan struct {
	ID string

	limits limit.PlanLimits
	envs   map[*Service]uint8 // bit e: binds the service's environment e
	apis   map[*API]uint8     // bit e: binds the API in environment e
	keys   map[string]string  // secret id -> its usage key (limit.UsageKey)
}

// Covers reports whether the plan binds the API's service environment or the API in env.
func (p *UsagePlan) Covers(a *API, env Env) bool {
	return p.envs[a.Service]&(1<<env) != 0 || p.apis[a]&(1<<env) != 0
}

// BindsAPIsIn reports whether the plan binds some API of the service in env, one by one.
func (p *UsagePlan) BindsAPIsIn(s *Service, env Env) bool {
	for a, bits := range p.apis {
		if a.Service == s && bits&(1<<env) != 0 {
			return true
		}
	}
	return false
}

// Limits are the plan's rate and quota for one of its secrets (limit.PlanLimits.For).
func (p *UsagePlan) Limits(secretID string) (limit.Rate, limit.Quota) {
	return p.limits.For(p.keys[secretID])
}
