// Command abiguest is the module testkit/wasmhost's tests run: it makes, depending on the
// request's :path, the host calls the gateway does not make (bodies, header adds and removes,
// whole header maps, local replies, metrics, effective contexts, ...) and logs what it got, so
// that the test can compare the host's answers with Envoy's. It is built on plugin/abi, plus the
// two ABI functions the plugin has no use for and so plugin/abi does not carry: the callback
// proxy_on_response_body and the host call proxy_get_metric, declared here.
package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"unsafe"

	"github.com/apigw-wasm/apigw-wasm/plugin/abi"
)

func main() {}

func init() { abi.SetHandler(g) }

var g = &guest{paths: map[uint32]string{}}

type guest struct {
	abi.Base
	root                 uint32
	counter, gauge, hist uint32
	paths                map[uint32]string // each request's :path
}

func logf(format string, args ...any) { abi.Log(abi.LogInfo, fmt.Sprintf(format, args...)) }

//go:wasmimport env proxy_get_metric
func hostGetMetric(id uint32, ret unsafe.Pointer) uint32

func metric(id uint32) int64 {
	var v uint64
	hostGetMetric(id, unsafe.Pointer(&v))
	return int64(v)
}

//go:wasmexport proxy_on_response_body
func exportOnResponseBody(id uint32, size int32, end int32) uint32 {
	b, _ := abi.BufferBytes(abi.ResponseBody, 0, int(size))
	abi.SetBufferBytes(abi.ResponseBody, 0, int(size), append([]byte(b), " (seen)"...))
	return uint32(abi.Continue)
}

func (*guest) OnVMStart(_ uint32, size int) bool {
	c, st := abi.BufferBytes(abi.VMConfiguration, 0, size)
	logf("vm config %q %s", c, st)
	return true
}

func (g *guest) OnConfigure(root uint32, size int) bool {
	g.root = root
	c, st := abi.BufferBytes(abi.PluginConfiguration, 0, size)
	logf("plugin config %q %s", c, st)
	if c == "refuse" {
		abi.Log(abi.LogCritical, "refused")
		return false
	}
	g.counter, _ = abi.DefineMetric(abi.Counter, "abi.requests")
	g.gauge, _ = abi.DefineMetric(abi.Gauge, "abi.gauge")
	g.hist, _ = abi.DefineMetric(abi.Histogram, "abi.hist")
	if st := abi.SetTickPeriod(250); st != abi.StatusOK {
		abi.Log(abi.LogError, "tick: "+st.String())
	}
	return true
}

func (*guest) OnTick(uint32) { abi.Log(abi.LogInfo, "tick") }

func (g *guest) OnRequestHeaders(id uint32, n int, eos bool) abi.Action {
	abi.IncrementMetric(g.counter, 1)
	abi.IncrementMetric(g.gauge, -3)
	abi.RecordMetric(g.hist, 7)
	logf("metrics counter=%d gauge=%d", metric(g.counter), metric(g.gauge))
	path, _ := abi.HeaderValue(abi.RequestHeaders, ":path")
	// A copy: later callbacks read it, and plugin/abi reuses a returned buffer after its callback.
	g.paths[id] = strings.Clone(path)
	switch path {
	case "/local":
		hs := abi.AppendPairs(nil, [][2]string{{"X-Reason", "test"}, {"x-multi", "1"}, {"x-multi", "2"}})
		logf("local %s", abi.SendLocalResponse(403, "", []byte("denied"), hs))
		return abi.Pause
	case "/stall":
		return abi.Pause
	case "/resume":
		logf("resume %s", abi.ContinueStream(abi.StreamRequest))
		return abi.Pause
	case "/headers":
		raw, st := abi.HeaderPairs(abi.RequestHeaders)
		var pairs [][2]string
		abi.ParsePairs(raw, func(k, v string) { pairs = append(pairs, [2]string{k, v}) })
		logf("headers n=%d eos=%v %q %s", n, eos, pairs, st)
		_, st = abi.HeaderValue(abi.RequestHeaders, "x-missing")
		logf("missing %s", st)
		abi.AddHeader(abi.RequestHeaders, "X-Added", "1")
		abi.AddHeader(abi.RequestHeaders, "x-added", "2")
		abi.RemoveHeader(abi.RequestHeaders, "x-remove-me")
		abi.RemoveHeader(abi.RequestHeaders, "x-never-there")
		abi.ReplaceHeader(abi.RequestHeaders, "X-Multi", "first-only")
		abi.ReplaceHeader(abi.RequestHeaders, "x-new", "new")
		_, st = abi.HeaderPairs(abi.ResponseHeaders)
		logf("response headers before response %s", st)
	case "/setpairs":
		st := abi.SetHeaderPairs(abi.RequestHeaders, abi.AppendPairs(nil, [][2]string{{":path", "/new"}, {":method", "PUT"}, {"X-Only", "1"}}))
		logf("setpairs %s", st)
	case "/props":
		for _, p := range [][]string{{"source", "address"}, {"source", "port"}, {"connection", "tls_version"},
			{"response", "code_details"}, {"response", "flags"}, {"plugin_name"}, {"plugin_root_id"}, {"request", "path"}} {
			v, st := abi.Property(string(bytes.Join(toBytes(p), []byte{0})))
			if len(v) == 8 && (p[len(p)-1] == "port" || p[len(p)-1] == "flags") {
				logf("prop %v = %d %s", p, binary.LittleEndian.Uint64([]byte(v)), st)
			} else {
				logf("prop %v = %q %s", p, v, st)
			}
		}
	case "/shared":
		_, _, st := abi.SharedData("k")
		logf("get missing %s", st)
		logf("set unconditional %s", abi.SetSharedData("k", []byte("v1"), 0))
		v, cas, st := abi.SharedData("k")
		logf("get %q %s", v, st)
		logf("set stale cas %s", abi.SetSharedData("k", []byte("stale"), cas+1))
		logf("set current cas %s", abi.SetSharedData("k", []byte("v2"), cas))
		v, cas2, _ := abi.SharedData("k")
		logf("get %q newcas=%v", v, cas2 != cas)
		logf("set old cas %s", abi.SetSharedData("k", []byte("v3"), cas))
	case "/effective":
		logf("to root %s", abi.SetEffectiveContext(g.root))
		_, st := abi.HeaderValue(abi.RequestHeaders, ":path")
		logf("header in root %s", st)
		logf("to unknown %s", abi.SetEffectiveContext(9999))
		logf("back %s", abi.SetEffectiveContext(id))
		_, st = abi.HeaderValue(abi.RequestHeaders, ":path")
		logf("header in stream %s", st)
	}
	return abi.Continue
}

func toBytes(p []string) [][]byte {
	out := make([][]byte, len(p))
	for i, s := range p {
		out[i] = []byte(s)
	}
	return out
}

func (g *guest) OnRequestBody(id uint32, size int, eos bool) abi.Action {
	b, st := abi.BufferBytes(abi.RequestBody, 0, size)
	logf("request body %d %v %q %s", size, eos, b, st)
	if g.paths[id] == "/body-local" {
		abi.SendLocalResponse(413, "", nil, abi.AppendPairs(nil, nil))
		return abi.Pause
	}
	abi.SetBufferBytes(abi.RequestBody, 0, size, bytes.ToUpper([]byte(b))) // replace
	abi.SetBufferBytes(abi.RequestBody, 0, 0, []byte("<"))                 // prepend
	abi.SetBufferBytes(abi.RequestBody, 1<<30, 0, []byte(">"))             // append
	return abi.Continue
}

func (g *guest) OnResponseHeaders(id uint32, n int, eos bool) abi.Action {
	st, _ := abi.HeaderValue(abi.ResponseHeaders, ":status")
	abi.AddHeader(abi.ResponseHeaders, "x-status-seen", st)
	abi.RemoveHeader(abi.ResponseHeaders, "server")
	d, s := abi.Property("response\x00code_details")
	abi.AddHeader(abi.ResponseHeaders, "x-code-details", d+" "+s.String())
	if g.paths[id] == "/stall-response" {
		return abi.Pause
	}
	return abi.Continue
}

func (g *guest) OnLog(id uint32) { logf("done %s", g.paths[id]) }

func (g *guest) OnDelete(id uint32) { delete(g.paths, id) }
