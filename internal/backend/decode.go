package backend

import (
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/ascii"
	"github.com/apigw-wasm/apigw-wasm/internal/confjson"
	"github.com/apigw-wasm/apigw-wasm/internal/httpsyntax"
	"github.com/apigw-wasm/apigw-wasm/internal/reply"
)

// DecodeSettings reads the root's cluster_header and url_cluster. EndpointDeny is left to the
// caller: an ipfilter deny list with DefaultEndpointDeny.
func DecodeSettings(root *confjson.Object) Settings {
	s := Settings{
		ClusterHeader: ascii.Lower(root.Str("cluster_header", DefaultClusterHeader)),
		URLCluster:    root.Str("url_cluster", DefaultURLCluster),
	}
	if !httpsyntax.IsToken(s.ClusterHeader) {
		root.Field("cluster_header").Fail("must be a header name")
	}
	if s.URLCluster == "" {
		root.Field("url_cluster").Fail("must not be empty") // routing to a cluster without a name fails every url backend
	}
	return s
}

// decoding is one backend being decoded.
type decoding struct {
	b    *Backend
	vars []string   // the API path's variables
	code reply.Code // the first 481 answer found
}

func (d *decoding) mark(c reply.Code) {
	if d.code == reply.None {
		d.code = c
	}
}

// Decode reads an API's backend field. vars are the names of the API path's variables, which
// backend paths and path locations may name; websocket reports an API of protocol WEBSOCKET,
// the only kind a websocket backend serves. A backend that is well-formed but unusable comes
// with the first 481 answer that applies; else the code is reply.None.
func Decode(api *confjson.Object, vars []string, websocket bool) (Backend, reply.Code) {
	var b Backend
	v := api.Field("backend")
	if !v.Present() {
		return b, reply.APIConfigError
	}
	o := v.Object()
	if o == nil {
		return b, reply.None
	}
	d := &decoding{b: &b, vars: vars}
	b.Timeout = DefaultTimeout
	switch o.Enum("type", "http", "http", "mock", "microservice", "websocket") {
	case "http":
		o.Known("type", "cluster", "path", "host", "timeout_seconds", "url")
		b.Type = TypeHTTP
		d.http(o)
	case "websocket":
		o.Known("type", "cluster", "path", "host", "timeout_seconds", "url")
		b.Type = TypeWebSocket
		d.http(o)
		if !websocket {
			d.mark(reply.APIConfigError)
		}
	case "mock":
		o.Known("type", "status", "headers", "body")
		b.Type = TypeMock
		d.mock(o)
	case "microservice":
		o.Known("type", "namespace_location", "service_location", "microservices", "timeout_seconds", "path")
		b.Type = TypeMicroservice
		d.microservice(o)
	}
	return b, d.code
}

func timeout(o *confjson.Object) time.Duration {
	return time.Duration(o.Int("timeout_seconds", int64(DefaultTimeout/time.Second), 1, 3600)) * time.Second
}

func (d *decoding) mock(o *confjson.Object) {
	b := d.b
	b.MockStatus = int(o.Int("status", 200, 200, 599))
	if ho := o.FieldObject("headers"); ho != nil {
		for _, k := range ho.Keys() {
			val := ho.Str(k, "")
			if !httpsyntax.IsToken(k) {
				ho.Field(k).Fail("%q is not a header name", k)
				continue
			}
			name := ascii.Lower(k)
			if name == reply.RequestIDHeader {
				continue // always the gateway's own id
			}
			b.MockHeaders = append(b.MockHeaders, [2]string{name, val})
		}
	}
	if o.Has("body") {
		b.MockBody = o.Str("body", "")
	} else {
		d.mark(reply.MockConfigError)
	}
	for _, kv := range b.MockHeaders {
		if kv[0] == "content-type" {
			return
		}
	}
	ct := "text/plain; charset=utf-8"
	if confjson.Valid(b.MockBody) {
		ct = "application/json"
	}
	b.MockHeaders = append(b.MockHeaders, [2]string{"content-type", ct})
}

func (d *decoding) microservice(o *confjson.Object) {
	b := d.b
	b.Timeout = timeout(o)
	for i, name := range [...]string{"namespace_location", "service_location"} {
		raw := o.Str(name, "")
		loc, ok := d.location(raw)
		switch {
		case raw == "":
			d.mark(reply.MicroServiceLocationFail)
		case !ok:
			d.mark(reply.MicroServiceLocationFormat)
		}
		if i == 0 {
			b.namespace = loc
		} else {
			b.service = loc
		}
	}
	b.byKey = map[[2]string]*Microservice{}
	items := o.Array("microservices")
	if len(items) == 0 {
		d.mark(reply.TSFConfigError)
	}
	for _, it := range items {
		mo := it.Object()
		if mo == nil {
			continue
		}
		mo.Known("namespace", "name", "cluster", "path")
		// An entry without its own path takes the backend's.
		ms := Microservice{Namespace: mo.Str("namespace", ""), Name: mo.Str("name", ""),
			Cluster: mo.Str("cluster", ""), Path: mo.Str("path", o.Str("path", ""))}
		if ms.Cluster == "" || ms.Name == "" || ms.Namespace == "" {
			d.mark(reply.TSFConfigError)
		}
		if ms.Path != "" && (ms.Path[0] != '/' || !d.varsKnown(ms.Path)) {
			d.mark(reply.APIConfigError)
		}
		b.microservices = append(b.microservices, ms)
	}
	for i := range b.microservices {
		ms := &b.microservices[i]
		if _, dup := b.byKey[[2]string{ms.Namespace, ms.Name}]; !dup {
			b.byKey[[2]string{ms.Namespace, ms.Name}] = ms
		}
	}
}

// location parses method.req.{header|query|path}.<name>; a path location must name a {var}.
func (d *decoding) location(loc string) (location, bool) {
	rest, ok := strings.CutPrefix(loc, "method.req.")
	if !ok {
		return location{}, false
	}
	in, name, ok := strings.Cut(rest, ".")
	if !ok || name == "" {
		return location{}, false
	}
	switch in {
	case "header":
		return location{where: inHeader, name: ascii.Lower(name)}, httpsyntax.IsToken(name)
	case "query":
		return location{where: inQuery, name: name}, true
	case "path":
		for _, n := range d.vars {
			if n == name {
				return location{where: inPath, name: name}, true
			}
		}
	}
	return location{}, false
}

// http reads the target of an http or websocket backend: a cluster, or a url.
func (d *decoding) http(o *confjson.Object) {
	b := d.b
	b.Cluster = o.Str("cluster", "")
	if o.Has("path") {
		b.Path, b.HasPath = o.Str("path", ""), true
		if b.Path == "" || b.Path[0] != '/' {
			d.mark(reply.APIConfigError)
		} else if !d.varsKnown(b.Path) {
			d.mark(reply.APIConfigError)
		}
	}
	b.Host = o.Str("host", "")
	if b.Host != "" && !httpsyntax.ValidHostPort(b.Host) {
		o.Field("host").Fail("%q is not a host[:port]", b.Host)
	}
	b.Timeout = timeout(o)
	raw := o.Str("url", "")
	if raw == "" {
		if b.Cluster == "" {
			d.mark(reply.APIConfigError)
		}
		return
	}
	uv := o.Field("url")
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !httpsyntax.ValidHostPort(u.Host) || u.RawQuery != "" {
		uv.Fail("%q is not an http://host[:port][/path] URL", raw)
	} else {
		// The path as written (after scheme://host), so that {var}s stay as they are.
		rawPath := strings.TrimPrefix(raw, u.Scheme+"://"+u.Host)
		if u.Fragment != "" || strings.ContainsAny(rawPath, "#?") {
			uv.Fail("%q: a url backend takes no query or fragment", raw)
		}
		t := &urlTarget{hostPort: u.Host, basePath: strings.TrimRight(rawPath, "/")}
		if !d.varsKnown(t.basePath) {
			d.mark(reply.APIConfigError)
		}
		if ip, err := netip.ParseAddr(u.Hostname()); err == nil {
			t.ip = ip.Unmap()
		}
		if u.Port() == "" {
			port := "80"
			if u.Scheme == "https" {
				port = "443"
			}
			t.hostPort = u.Host + ":" + port
		}
		if !b.HasPath && t.basePath != "" {
			b.Path, b.HasPath, t.basePath = t.basePath, true, "" // the url's path is the backend path
		}
		b.url = t
	}
	if b.Cluster != "" {
		uv.Fail("a backend takes cluster or url, not both")
	}
	if b.Host != "" {
		o.Field("host").Fail("a url backend takes its host from the url")
	}
}

// varsKnown reports whether every {var} of a backend path is a variable of the API path.
func (d *decoding) varsKnown(p string) bool {
	for {
		i := strings.IndexByte(p, '{')
		if i < 0 {
			return !strings.Contains(p, "}")
		}
		j := strings.IndexByte(p[i:], '}')
		if j < 0 || !d.isVar(p[i+1:i+j]) {
			return false
		}
		p = p[i+j+1:]
	}
}

func (d *decoding) isVar(name string) bool {
	for _, n := range d.vars {
		if n == name {
			return true
		}
	}
	return false
}
