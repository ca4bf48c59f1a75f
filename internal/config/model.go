// Package config turns the plugin's JSON configuration into the gateway's immutable model.
//
// Load parses the document once with gjson, checks every field's shape, type and enum value,
// resolves every reference (services, APIs, secrets, plans) and compiles what the request path
// needs (path matchers per environment, host index, CIDR sets). A document that is not valid fails
// as a whole, with one Error per problem naming its JSON path. An API whose settings are
// well-formed but unusable (docs/gateway.md section 3, step 6) is kept and marked with its 481
// answer, so the rest of the configuration keeps working. Nothing in the model changes after Load.
package config

import (
	"net/netip"
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/ascii"
	"github.com/apigw-wasm/apigw-wasm/internal/cors"
	"github.com/apigw-wasm/apigw-wasm/internal/ipfilter"
	"github.com/apigw-wasm/apigw-wasm/internal/limit"
	"github.com/apigw-wasm/apigw-wasm/internal/oauth"
	"github.com/apigw-wasm/apigw-wasm/internal/params"
	"github.com/apigw-wasm/apigw-wasm/internal/reply"
	"github.com/apigw-wasm/apigw-wasm/internal/route"
)

// Unlimited is the value of a limit that is absent or -1.
const Unlimited int64 = -1

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
	ClusterHeader  string
	URLCluster     string
	HMACClockSkew  time.Duration
	OAuthClockSkew time.Duration
	EndpointDeny   *ipfilter.List // backend IP literals refused (endpoint_deny)
	Services       []*Service
	Secrets        map[string]*Secret // by secret_id
	UsagePlans     []*UsagePlan

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
	ID            string
	Protocols     Protocols
	DefaultDomain string
	CustomDomains []*CustomDomain
	Environments  [numEnvs]*Environment
	IPFilter      *ipfilter.List // nil: no ip_allow/ip_deny
	APIs          []*API
	APIsByID      map[string]*API
}

// CustomDomain is a host bound to a service with its own protocols and path mappings.
type CustomDomain struct {
	Host         string
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
	MaxRPS  int64
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
	Path          string
	Pattern       *route.Pattern
	Method        string // a method of step 4, or "ANY"
	Protocol      APIProtocol
	Environments  [numEnvs]bool
	Auth          Auth
	OAuthBusiness bool // business_type "oauth": an authorization API
	OAuthConfig   *OAuthConfig
	OAuthAPIID    string
	OAuthAPI      *API         // the linked authorization API, nil when missing
	CORS          *cors.Policy // nil: CORS off
	MaxRPS        int64
	Parameters    []params.Spec
	Params        *params.Set // nil while ConfigError is set by a parameter fault
	Backend       Backend
	IPChain       ipfilter.Chain // the service's list, then the API's; empty: no restriction

	// Rates are the API's own limit per environment; zero when unlimited.
	Rates [numEnvs]limit.Rate
	// HasPlan reports, per environment, whether a usage plan binds the service environment
	// or this API in it.
	HasPlan [numEnvs]bool

	// ConfigError is the 481 answer of an API whose settings are unusable; None otherwise.
	ConfigError reply.Code
}

// OAuthConfig is the oauth_config of an authorization API, as written.
type OAuthConfig struct {
	PublicKey     string // a JWK object's JSON text or a PEM string
	TokenLocation string
	Key           *oauth.PublicKey // nil when the key is missing or does not parse
	Location      oauth.Location
}

// BackendType is the kind of backend of an API.
type BackendType uint8

const (
	BackendHTTP BackendType = iota
	BackendMock
	BackendMicroservice
	BackendWebSocket
)

// Backend is where a request that passed every check goes.
type Backend struct {
	Type    BackendType
	Cluster string
	Path    string // may hold {var}s of the API path; empty: the request path
	HasPath bool
	Host    string
	Timeout time.Duration

	URL *URLTarget // http backends given as a url

	MockStatus  int
	MockHeaders [][2]string // lowercase names; content-type always set
	MockBody    string

	NamespaceLocation Location
	ServiceLocation   Location
	Microservices     []Microservice
	byKey             map[[2]string]*Microservice
}

// Microservice is the entry for a namespace and service name; nil when none.
func (b *Backend) Microservice(namespace, name string) *Microservice {
	return b.byKey[[2]string{namespace, name}]
}

// Where a microservice location reads from.
type Where uint8

const (
	InHeader Where = iota + 1
	InQuery
	InPath
)

// Location is a parsed method.req.{header|query|path}.<name>.
type Location struct {
	Where Where
	Name  string // lowercase for headers
}

// URLTarget is a backend given as http://host:port/base.
type URLTarget struct {
	Scheme   string
	HostPort string
	Host     string     // without port
	IP       netip.Addr // the host when it is an IP literal, checked against endpoint_deny
	BasePath string
}

// Microservice is one entry of a microservice backend.
type Microservice struct {
	Namespace string
	Name      string
	Cluster   string
	Path      string
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
	ID          string
	MaxRPS      int64
	MaxRequests int64
	QuotaPeriod string // total, day, month
	Secrets     []string
	EnvBindings []EnvBinding
	APIBindings []APIBinding
	Period      limit.Period

	envs map[*Service]uint8 // bit e: binds the service's environment e
	apis map[*API]uint8     // bit e: binds the API in environment e
	keys map[string]string  // secret id -> its usage key (limit.UsageKey)
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

// Limits are the plan's rate and quota for one of its secrets. Both carry the secret's usage
// key, also when unlimited (Limit -1): the limiter stores them as one value and keeps the part
// of a limit that is off, so that a reload turning it on again finds its count.
func (p *UsagePlan) Limits(secretID string) (limit.Rate, limit.Quota) {
	k := p.keys[secretID]
	return limit.Rate{Key: k, Limit: p.MaxRPS}, limit.Quota{Key: k, Limit: p.MaxRequests, Period: p.Period}
}

// EnvBinding binds a plan to a service environment.
type EnvBinding struct {
	Service *Service
	Env     Env
}

// APIBinding binds a plan to one API in one environment.
type APIBinding struct {
	API *API
	Env Env
}
