package backend

import (
	"reflect"
	"testing"
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/confjson"
	"github.com/apigw-wasm/apigw-wasm/internal/ipfilter"
	"github.com/apigw-wasm/apigw-wasm/internal/reply"
)

// decode compiles the backend of an API object; vars are the API path's variables.
func decode(t *testing.T, api string, vars []string, websocket bool) (Backend, reply.Code) {
	t.Helper()
	d, err := confjson.New([]byte(api))
	if err != nil {
		t.Fatal(err)
	}
	b, c := Decode(d.Root().Object(), vars, websocket)
	if err := d.Err(); err != nil {
		t.Fatal(err)
	}
	return b, c
}

type request struct{ headers, query, vars map[string]string }

func get(m map[string]string, k string) (string, bool) {
	v, ok := m[k]
	return v, ok
}

func (r request) Header(name string) (string, bool)  { return get(r.headers, name) }
func (r request) Query(name string) (string, bool)   { return get(r.query, name) }
func (r request) PathVar(name string) (string, bool) { return get(r.vars, name) }

func TestUpstream(t *testing.T) {
	deny, err := ipfilter.Compile(nil, DefaultEndpointDeny)
	if err != nil {
		t.Fatal(err)
	}
	s := &Settings{ClusterHeader: DefaultClusterHeader, URLCluster: DefaultURLCluster, EndpointDeny: deny}
	ms := `{"backend": {"type": "microservice", "namespace_location": "method.req.query.ns", "service_location": "method.req.header.X-Svc",
		"path": "/base", "microservices": [{"namespace": "n", "name": "a", "cluster": "ca"}, {"namespace": "n", "name": "b", "cluster": "cb", "path": "/b"}]}}`
	tests := []struct {
		name string
		api  string
		r    request
		want Target
		code reply.Code
	}{
		{"cluster", `{"backend": {"cluster": "c", "host": "h.internal:8080", "path": "/u/{id}"}}`, request{},
			Target{Cluster: "c", Authority: "h.internal:8080", Path: "/u/{id}", HasPath: true}, reply.None},
		{"cluster without path", `{"backend": {"type": "websocket", "cluster": "ws"}}`, request{},
			Target{Cluster: "ws"}, reply.None},
		{"url path is the backend path", `{"backend": {"url": "http://10.0.0.5/base/"}}`, request{},
			Target{Cluster: DefaultURLCluster, Authority: "10.0.0.5:80", Path: "/base", HasPath: true}, reply.None},
		{"url base before the path", `{"backend": {"url": "https://h.example.com/base", "path": "/p"}}`, request{},
			Target{Cluster: DefaultURLCluster, Authority: "h.example.com:443", Base: "/base", Path: "/p", HasPath: true}, reply.None},
		{"url denied", `{"backend": {"url": "http://169.254.169.254:8080/"}}`, request{}, Target{}, reply.EndpointIPNotAllowed},
		{"url mapped address denied", `{"backend": {"url": "http://[::ffff:169.254.1.1]/"}}`, request{}, Target{}, reply.EndpointIPNotAllowed},
		{"microservice", ms, request{query: map[string]string{"ns": "n"}, headers: map[string]string{"x-svc": "a"}},
			Target{Cluster: "ca", Path: "/base", HasPath: true}, reply.None},
		{"microservice own path", ms, request{query: map[string]string{"ns": "n"}, headers: map[string]string{"x-svc": "b"}},
			Target{Cluster: "cb", Path: "/b", HasPath: true}, reply.None},
		{"microservice unknown", ms, request{query: map[string]string{"ns": "n"}, headers: map[string]string{"x-svc": "c"}},
			Target{}, reply.MicroServiceNotFound},
		{"microservice empty value", ms, request{query: map[string]string{"ns": ""}, headers: map[string]string{"x-svc": "a"}},
			Target{}, reply.MicroServiceNotFound},
		{"microservice path variable", `{"backend": {"type": "microservice", "namespace_location": "method.req.path.ns", "service_location": "method.req.path.ns",
			"microservices": [{"namespace": "x", "name": "x", "cluster": "cx"}]}}`, request{vars: map[string]string{"ns": "x"}},
			Target{Cluster: "cx"}, reply.None},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, c := decode(t, tt.api, []string{"id", "ns"}, true)
			if c != reply.None {
				t.Fatalf("decoded with %v", c)
			}
			got, code := b.Upstream(tt.r, s)
			if got != tt.want || code != tt.code {
				t.Fatalf("got %+v, %v; want %+v, %v", got, code, tt.want, tt.code)
			}
		})
	}
}

func TestDecodeDefaults(t *testing.T) {
	b, c := decode(t, `{"backend": {"cluster": "c"}}`, nil, false)
	if c != reply.None || b.Type != TypeHTTP || b.Timeout != 15*time.Second {
		t.Errorf("http: %+v %v", b, c)
	}
	b, c = decode(t, `{"backend": {"type": "mock", "headers": {"X-A": "1", "X-Api-RequestId": "forged"}, "body": "{}"}}`, nil, false)
	want := [][2]string{{"x-a", "1"}, {"content-type", "application/json"}}
	if c != reply.None || b.MockStatus != 200 || !reflect.DeepEqual(b.MockHeaders, want) {
		t.Errorf("mock: %+v %v", b, c)
	}
	b, _ = decode(t, `{"backend": {"type": "mock", "body": "hello"}}`, nil, false)
	if b.MockHeaders[0] != [2]string{"content-type", "text/plain; charset=utf-8"} {
		t.Errorf("mock text: %v", b.MockHeaders)
	}
	if _, c = decode(t, `{"backend": {"type": "websocket", "cluster": "c"}}`, nil, false); c != reply.APIConfigError {
		t.Errorf("websocket backend of an HTTP API: %v", c)
	}
	if _, c = decode(t, `{}`, nil, false); c != reply.APIConfigError {
		t.Errorf("no backend: %v", c)
	}
}
