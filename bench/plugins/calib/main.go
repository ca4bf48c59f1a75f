// Command calib is a proxy-wasm module of upstream Go that times single host calls from inside
// Envoy: a request with x-calib-op: OP and x-calib-n: N makes the call OP N times in a loop
// and answers with the nanoseconds per call (the clock is read before and after the loop).
// It prices each kind of crossing into Envoy, so that the plugin's host calls can be weighed
// one by one (docs/performance.md).
package main

import (
	"strconv"
	"time"

	"github.com/apigw-wasm/apigw-wasm/bench/benchcfg"
	"github.com/apigw-wasm/apigw-wasm/internal/config"
	"github.com/apigw-wasm/apigw-wasm/internal/gateway"
	"github.com/apigw-wasm/apigw-wasm/internal/hmacauth"
	"github.com/apigw-wasm/apigw-wasm/internal/limit"
	"github.com/apigw-wasm/apigw-wasm/plugin/abi"
)

func main() {}

func init() { abi.SetHandler(&module{}) }

type module struct {
	abi.Base
	counter  uint32
	gwB, gwC *gateway.Gateway
	headers  *gateway.HeaderList
	now      time.Time
	verifier *hmacauth.Verifier
}

// request is the benchmark's request of (b) and (c), as the plugin hands it to the gateway.
func (m *module) request() *gateway.Request {
	return &gateway.Request{Authority: benchcfg.Host, Method: "GET", Path: benchcfg.Path, Source: "127.0.0.1:40000",
		RequestID: "0123456789abcdef0123456789abcdef", Headers: m.headers, Now: m.now}
}

type hmacReq struct{ h *gateway.HeaderList }

func (r hmacReq) Values(name string) []string { return r.h.Values(name) }
func (hmacReq) Method() string                { return "GET" }
func (hmacReq) Path() string                  { return benchcfg.Path }

func (m *module) OnConfigure(uint32, int) bool {
	m.now = time.Now()
	signed, _ := benchcfg.SignedHeaders(m.now)
	m.headers = &gateway.HeaderList{}
	for _, kv := range append([][2]string{{":authority", benchcfg.Host}, {":method", "GET"}, {":path", benchcfg.Path},
		{"user-agent", "wrk"}, {"accept", "*/*"}}, signed...) {
		m.headers.Fields = append(m.headers.Fields, gateway.Field{Name: kv[0], Value: kv[1]})
	}
	for _, c := range []struct {
		gw     **gateway.Gateway
		secret bool
	}{{&m.gwB, false}, {&m.gwC, true}} {
		cfg, err := config.Load([]byte(benchcfg.PluginConfig(c.secret, 1)))
		if err != nil {
			abi.Log(abi.LogCritical, "config: "+err.Error())
			return false
		}
		*c.gw = gateway.New(cfg, &limit.Memory{})
	}
	m.verifier = &hmacauth.Verifier{Lookup: func(string) ([]byte, bool) { return []byte(benchcfg.Key), true }}
	m.counter, _ = abi.DefineMetric(abi.Counter, "calib.counter")
	abi.SetSharedData("calib", []byte("0123456789abcdef"), 0)
	return true
}

//go:noinline
func nop(s string) int { return len(s) }

var sink int

func (m *module) OnRequestHeaders(uint32, int, bool) abi.Action {
	op, _ := abi.HeaderValue(abi.RequestHeaders, "x-calib-op")
	ns, _ := abi.HeaderValue(abi.RequestHeaders, "x-calib-n")
	n, _ := strconv.Atoi(ns)
	pairs, _ := abi.HeaderPairs(abi.RequestHeaders)
	start := time.Now()
	for i := 0; i < n; i++ {
		switch op {
		case "nop":
			sink += nop(op)
		case "get":
			v, _ := abi.HeaderValue(abi.RequestHeaders, ":path")
			sink += len(v)
		case "getmiss":
			v, _ := abi.HeaderValue(abi.RequestHeaders, "x-missing")
			sink += len(v)
		case "replace", "respreplace":
			abi.ReplaceHeader(abi.RequestHeaders, "x-calib", "value")
		case "setpairs":
			abi.SetHeaderPairs(abi.RequestHeaders, []byte(pairs))
		case "pairs":
			v, _ := abi.HeaderPairs(abi.RequestHeaders)
			sink += len(v)
		case "prop":
			v, _ := abi.Property("source\x00address")
			sink += len(v)
		case "proptls":
			v, _ := abi.Property("connection\x00tls_version")
			sink += len(v)
		case "time":
			sink += int(time.Now().UnixNano() & 1)
		case "hosttime":
			ns, _ := abi.Now()
			sink += int(ns & 1)
		case "shget":
			v, _, _ := abi.SharedData("calib")
			sink += len(v)
		case "shset":
			abi.SetSharedData("calib", []byte("0123456789abcdef"), 0)
		case "metric":
			abi.IncrementMetric(m.counter, 1)
		case "handle-b", "handle-c":
			gw := m.gwB
			if op == "handle-c" {
				gw = m.gwC
			}
			if d := gw.Handle(m.request()); d.Reply != nil {
				sink += d.Reply.Status
			}
		case "verify":
			if _, e := m.verifier.Verify(hmacReq{m.headers}, m.now); e != nil {
				sink++
			}
		case "alloc":
			sink += len(make([]byte, 64+i&7))
		}
	}
	el := time.Since(start)
	per := float64(el.Nanoseconds()) / float64(max(n, 1))
	body := op + " n=" + strconv.Itoa(n) + " headers=" + strconv.Itoa(abi.PairCount(pairs)) + " ns/call=" + strconv.FormatFloat(per, 'f', 1, 64) + "\n"
	abi.SendLocalResponse(200, "", []byte(body), abi.AppendPairs(nil, nil))
	return abi.Pause
}
