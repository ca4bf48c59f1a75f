// Package backend is where a request that passed every check goes, step 12 of the pipeline:
// an Envoy cluster (http and websocket backends), a URL reached through the dynamic forward
// proxy, the microservice that a header, query parameter or path variable of the request
// names, or a mock answer the gateway gives itself. Decode compiles an API's backend section
// once; per request, Upstream picks the cluster, the :authority and the backend path, reading
// the request through the small Request view. Joining the backend path with the request's
// path and the parameters' defaults is the gateway's, which knows both.
package backend

import (
	"net/netip"
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/ipfilter"
	"github.com/apigw-wasm/apigw-wasm/internal/reply"
)

// Defaults of the settings.
const (
	DefaultClusterHeader = "x-apigw-cluster"
	DefaultURLCluster    = "apigw_dynamic_forward_proxy"
	DefaultTimeout       = 15 * time.Second
)

// DefaultEndpointDeny are the address ranges a url backend may not name when endpoint_deny is
// absent: link-local (cloud metadata services) and "this network".
var DefaultEndpointDeny = []string{"169.254.0.0/16", "0.0.0.0/8"}

// Settings are the document's top-level settings of how requests reach their upstreams.
type Settings struct {
	ClusterHeader string         // the request header Envoy's route reads the cluster from
	URLCluster    string         // the dynamic forward proxy cluster of url backends
	EndpointDeny  *ipfilter.List // IP literals a url backend may not name (endpoint_deny)
}

// Type is the kind of a backend.
type Type uint8

const (
	TypeHTTP Type = iota
	TypeMock
	TypeMicroservice
	TypeWebSocket
)

// Backend is an API's compiled backend. It is immutable and safe for concurrent use.
type Backend struct {
	Type    Type
	Cluster string
	Path    string // may hold {var}s of the API path; empty: the request path
	HasPath bool
	Host    string // the :authority to send; empty keeps the client's
	Timeout time.Duration

	url *urlTarget // http backends given as a url

	MockStatus  int
	MockHeaders [][2]string // lowercase names; content-type always set
	MockBody    string

	namespace, service location // where a microservice backend reads the two keys
	microservices      []Microservice
	byKey              map[[2]string]*Microservice
}

// urlTarget is a backend given as http://host:port/base.
type urlTarget struct {
	hostPort string     // with the scheme's port when the url names none
	ip       netip.Addr // the host when it is an IP literal, checked against endpoint_deny
	basePath string     // what precedes the backend path; empty when the url's path is it
}

// Microservice is one entry of a microservice backend.
type Microservice struct {
	Namespace string
	Name      string
	Cluster   string
	Path      string
}

// where is the part of the request a microservice location reads.
type where uint8

const (
	inHeader where = iota + 1
	inQuery
	inPath
)

// location is a parsed method.req.{header|query|path}.<name>.
type location struct {
	where where
	name  string // lowercase for headers
}

// Request is what Upstream reads of a request.
type Request interface {
	// Header is the first value of a request header; name is lowercase.
	Header(name string) (string, bool)
	// Query is the decoded value of a query parameter; not ok when absent or malformed.
	Query(name string) (string, bool)
	// PathVar is the value of a variable of the API path, as matched.
	PathVar(name string) (string, bool)
}

// Target is where one request goes.
type Target struct {
	Cluster   string
	Authority string // the :authority to send; empty keeps the client's
	Base      string // a url backend's base path, put before Path
	Path      string // the backend path, with {var}s of the API path
	HasPath   bool   // false: the request path takes the place of Path
}

// Upstream picks the target of a request to an http, websocket or microservice backend, or
// the answer to give instead: EndpointIPNotAllowed for a url whose address s refuses,
// MicroServiceNotFound when the request names no configured microservice. A mock backend has
// no upstream: the caller answers it.
func (b *Backend) Upstream(r Request, s *Settings) (Target, reply.Code) {
	switch b.Type {
	case TypeHTTP, TypeWebSocket:
		t := Target{Cluster: b.Cluster, Authority: b.Host, Path: b.Path, HasPath: b.HasPath}
		if u := b.url; u != nil {
			if u.ip.IsValid() && !s.EndpointDeny.Allows(u.ip) {
				return Target{}, reply.EndpointIPNotAllowed
			}
			t.Cluster, t.Authority, t.Base = s.URLCluster, u.hostPort, u.basePath
		}
		return t, reply.None
	case TypeMicroservice:
		ns, ok1 := b.namespace.read(r)
		name, ok2 := b.service.read(r)
		if !ok1 || !ok2 {
			return Target{}, reply.MicroServiceNotFound
		}
		ms := b.byKey[[2]string{ns, name}]
		if ms == nil {
			return Target{}, reply.MicroServiceNotFound
		}
		return Target{Cluster: ms.Cluster, Path: ms.Path, HasPath: ms.Path != ""}, reply.None
	}
	return Target{}, reply.InternalServerError
}

// read reads a microservice location; an empty value counts as absent.
func (l location) read(r Request) (string, bool) {
	var v string
	var ok bool
	switch l.where {
	case inHeader:
		v, ok = r.Header(l.name)
	case inQuery:
		v, ok = r.Query(l.name)
	case inPath:
		v, ok = r.PathVar(l.name)
	}
	return v, ok && v != ""
}
