// Command calib is a proxy-wasm module of upstream Go that times single host calls from inside
// Envoy: a request with x-calib-op: OP and x-calib-n: N makes the call OP N times in a loop
// and answers with the nanoseconds per call (the clock is read before and after the loop).
// It prices each kind of crossing into Envoy, so that the plugin's host calls can be weighed
// one by one (docs/performance.md).
package main

import (
	"strconv"
	"time"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/apigw-wasm/apigw-wasm/bench/benchcfg"
	"github.com/apigw-wasm/apigw-wasm/internal/config"
	"github.com/apigw-wasm/apigw-wasm/internal/gateway"
	"github.com/apigw-wasm/apigw-wasm/internal/hmacauth"
	"github.com/apigw-wasm/apigw-wasm/internal/limit"
)

func main() {}

func init() { proxywasm.SetVMContext(&vm{}) }

type vm struct{ types.DefaultVMContext }

func (*vm) NewPluginContext(uint32) types.PluginContext { return &plugin{} }

type plugin struct {
	types.DefaultPluginContext
	counter  proxywasm.MetricCounter
	gwB, gwC *gateway.Gateway
	headers  *gateway.HeaderList
	now      time.Time
	verifier *hmacauth.Verifier
}

// request is the benchmark's request of (b) and (c), as the plugin hands it to the gateway.
func (p *plugin) request() *gateway.Request {
	return &gateway.Request{Authority: benchcfg.Host, Method: "GET", Path: benchcfg.Path, Source: "127.0.0.1:40000",
		RequestID: "0123456789abcdef0123456789abcdef", Headers: p.headers, Now: p.now}
}

type hmacReq struct{ h *gateway.HeaderList }

func (r hmacReq) Values(name string) []string { return r.h.Values(name) }
func (hmacReq) Method() string                { return "GET" }
func (hmacReq) Path() string                  { return benchcfg.Path }

func (p *plugin) OnPluginStart(int) types.OnPluginStartStatus {
	p.now = time.Now()
	signed, _ := benchcfg.SignedHeaders(p.now)
	p.headers = &gateway.HeaderList{}
	for _, kv := range append([][2]string{{":authority", benchcfg.Host}, {":method", "GET"}, {":path", benchcfg.Path},
		{"user-agent", "wrk"}, {"accept", "*/*"}}, signed...) {
		p.headers.Fields = append(p.headers.Fields, gateway.Field{Name: kv[0], Value: kv[1]})
	}
	for _, c := range []struct {
		gw     **gateway.Gateway
		secret bool
	}{{&p.gwB, false}, {&p.gwC, true}} {
		cfg, err := config.Load([]byte(benchcfg.PluginConfig(c.secret, 1)))
		if err != nil {
			proxywasm.LogCriticalf("config: %v", err)
			return types.OnPluginStartStatusFailed
		}
		*c.gw = gateway.New(cfg, &limit.Memory{})
	}
	p.verifier = &hmacauth.Verifier{Lookup: func(string) ([]byte, bool) { return []byte(benchcfg.Key), true }}
	p.counter = proxywasm.DefineCounterMetric("calib.counter")
	_ = proxywasm.SetSharedData("calib", []byte("0123456789abcdef"), 0)
	return types.OnPluginStartStatusOK
}

func (p *plugin) NewHttpContext(uint32) types.HttpContext { return &http{p: p} }

type http struct {
	types.DefaultHttpContext
	p *plugin
}

//go:noinline
func nop(s string) int { return len(s) }

var sink int

func (h *http) OnHttpRequestHeaders(int, bool) types.Action {
	op, _ := proxywasm.GetHttpRequestHeader("x-calib-op")
	ns, _ := proxywasm.GetHttpRequestHeader("x-calib-n")
	n, _ := strconv.Atoi(ns)
	pairs, _ := proxywasm.GetHttpRequestHeaders()
	start := time.Now()
	for i := 0; i < n; i++ {
		switch op {
		case "nop":
			sink += nop(op)
		case "get":
			v, _ := proxywasm.GetHttpRequestHeader(":path")
			sink += len(v)
		case "getmiss":
			v, _ := proxywasm.GetHttpRequestHeader("x-missing")
			sink += len(v)
		case "replace":
			_ = proxywasm.ReplaceHttpRequestHeader("x-calib", "value")
		case "respreplace":
			_ = proxywasm.ReplaceHttpRequestHeader("x-calib", "value")
		case "pairs":
			v, _ := proxywasm.GetHttpRequestHeaders()
			sink += len(v)
		case "setpairs":
			_ = proxywasm.ReplaceHttpRequestHeaders(pairs)
		case "prop":
			v, _ := proxywasm.GetProperty([]string{"source", "address"})
			sink += len(v)
		case "proptls":
			v, _ := proxywasm.GetProperty([]string{"connection", "tls_version"})
			sink += len(v)
		case "time":
			sink += int(time.Now().UnixNano() & 1)
		case "shget":
			v, _, _ := proxywasm.GetSharedData("calib")
			sink += len(v)
		case "shset":
			_ = proxywasm.SetSharedData("calib", []byte("0123456789abcdef"), 0)
		case "metric":
			h.p.counter.Increment(1)
		case "handle-b", "handle-c":
			gw := h.p.gwB
			if op == "handle-c" {
				gw = h.p.gwC
			}
			if d := gw.Handle(h.p.request()); d.Reply != nil {
				sink += d.Reply.Status
			}
		case "verify":
			if _, e := h.p.verifier.Verify(hmacReq{h.p.headers}, h.p.now); e != nil {
				sink++
			}
		case "alloc":
			sink += len(make([]byte, 64+i&7))
		}
	}
	el := time.Since(start)
	per := float64(el.Nanoseconds()) / float64(max(n, 1))
	body := op + " n=" + strconv.Itoa(n) + " headers=" + strconv.Itoa(len(pairs)) + " ns/call=" + strconv.FormatFloat(per, 'f', 1, 64) + "\n"
	_ = proxywasm.SendHttpResponse(200, nil, []byte(body), -1)
	return types.ActionPause
}
