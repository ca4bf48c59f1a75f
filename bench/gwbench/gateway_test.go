// Package gwbench benchmarks the gateway's pipeline on exactly the requests and configurations
// the Envoy benchmark uses, outside Envoy: natively (`go test -bench . ./bench/gwbench`)
// and compiled to wasm in V8, the engine Envoy runs the module in (`make bench-wasm`, through
// Node.js and Go's go_js_wasm_exec). The gap between the two is what the wasm target costs; the
// gap between the V8 figures and the plugin's cost in Envoy is host calls and the runtime.
package gwbench

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apigw-wasm/apigw-wasm/bench/benchcfg"
	"github.com/apigw-wasm/apigw-wasm/internal/config"
	"github.com/apigw-wasm/apigw-wasm/internal/gateway"
	"github.com/apigw-wasm/apigw-wasm/internal/hmacauth"
	"github.com/apigw-wasm/apigw-wasm/internal/limit"
)

// headers is the request's header list as the plugin's host view gives it.
type headers = gateway.HeaderList

func request(b *testing.B) *gateway.Request {
	now := time.Now()
	signed, err := benchcfg.SignedHeaders(now)
	if err != nil {
		b.Fatal(err)
	}
	h := &headers{}
	for _, kv := range append([][2]string{{":authority", benchcfg.Host}, {":method", "GET"}, {":path", benchcfg.Path},
		{"user-agent", "wrk"}, {"accept", "*/*"}}, signed...) {
		h.Fields = append(h.Fields, gateway.Field{Name: kv[0], Value: kv[1]})
	}
	return &gateway.Request{Authority: benchcfg.Host, Method: "GET", Path: benchcfg.Path, Source: "127.0.0.1:40000",
		RequestID: strings.Repeat("a", 32), Headers: h, Now: now}
}

func load(b *testing.B, doc string) *gateway.Gateway {
	cfg, err := config.Load([]byte(doc))
	if err != nil {
		b.Fatal(err)
	}
	return gateway.New(cfg, &limit.Memory{})
}

// BenchmarkHandle is the pipeline of configurations (b), (c) and (d) for their request.
func BenchmarkHandle(b *testing.B) {
	for _, c := range []struct {
		name   string
		secret bool
		apis   int
	}{{"b", false, 1}, {"c", true, 1}, {"d", true, 10000}} {
		b.Run(c.name, func(b *testing.B) {
			g := load(b, benchcfg.PluginConfig(c.secret, c.apis))
			r := request(b)
			b.ReportAllocs()
			for b.Loop() {
				if d := g.Handle(r); d.Reply != nil {
					b.Fatalf("%d %s", d.Reply.Status, d.Reply.Message)
				}
			}
		})
	}
}

// BenchmarkLoad is the configuration load of (c) and of (d)'s 10,000 APIs.
func BenchmarkLoad(b *testing.B) {
	for _, c := range []struct {
		name string
		apis int
	}{{"c", 1}, {"d", 10000}} {
		b.Run(c.name, func(b *testing.B) {
			doc := []byte(benchcfg.PluginConfig(true, c.apis))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := config.Load(doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// hmacReq is the request as the verifier reads it.
type hmacReq struct{ h *headers }

func (r hmacReq) Values(name string) []string { return r.h.Values(name) }
func (hmacReq) Method() string                { return "GET" }
func (hmacReq) Path() string                  { return benchcfg.Path }

// BenchmarkVerify is the HMAC check of (c) alone (hmac-sha256, two signed headers).
func BenchmarkVerify(b *testing.B) {
	r := request(b)
	v := hmacauth.Verifier{Lookup: func(string) ([]byte, bool) { return []byte(benchcfg.Key), true }}
	req := hmacReq{r.Headers.(*headers)}
	b.ReportAllocs()
	for b.Loop() {
		if _, e := v.Verify(req, r.Now); e != nil {
			b.Fatal(e.Error())
		}
	}
}

// BenchmarkTimeNow is time.Now, which the plugin calls once per request; on wasm it is a host
// call (WASI clock_time_get), twice.
func BenchmarkTimeNow(b *testing.B) {
	for b.Loop() {
		_ = time.Now()
	}
}

var sink string

// BenchmarkDate is formatting an HTTP date, for scale.
func BenchmarkDate(b *testing.B) {
	t := time.Now()
	for b.Loop() {
		sink = t.Format(http.TimeFormat)
	}
}
