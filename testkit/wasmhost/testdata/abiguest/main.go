// Command abiguest is the module testkit/wasmhost's tests run: it makes, depending on the
// request's :path, the host calls the gateway does not make (bodies, header adds and removes,
// whole header maps, local replies, metrics, effective contexts, ...) and logs what it got, so
// that the test can compare the host's answers with Envoy's. Built by build/wasmbuild.
package main

import (
	"bytes"
	"encoding/binary"
	"errors"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

func main() {}

func init() { proxywasm.SetVMContext(&vm{}) }

type vm struct{ types.DefaultVMContext }

func (*vm) OnVMStart(int) types.OnVMStartStatus {
	c, err := proxywasm.GetVMConfiguration()
	proxywasm.LogInfof("vm config %q %v", c, err)
	return types.OnVMStartStatusOK
}

func (*vm) NewPluginContext(id uint32) types.PluginContext { return &plugin{id: id} }

type plugin struct {
	types.DefaultPluginContext
	id      uint32
	counter proxywasm.MetricCounter
	gauge   proxywasm.MetricGauge
	hist    proxywasm.MetricHistogram
}

func (p *plugin) OnPluginStart(int) types.OnPluginStartStatus {
	c, err := proxywasm.GetPluginConfiguration()
	proxywasm.LogInfof("plugin config %q %v", c, err)
	if string(c) == "refuse" {
		proxywasm.LogCritical("refused")
		return types.OnPluginStartStatusFailed
	}
	p.counter = proxywasm.DefineCounterMetric("abi.requests")
	p.gauge = proxywasm.DefineGaugeMetric("abi.gauge")
	p.hist = proxywasm.DefineHistogramMetric("abi.hist")
	if err := proxywasm.SetTickPeriodMilliSeconds(250); err != nil {
		proxywasm.LogErrorf("tick: %v", err)
	}
	return types.OnPluginStartStatusOK
}

func (*plugin) OnTick() { proxywasm.LogInfo("tick") }

func (p *plugin) NewHttpContext(id uint32) types.HttpContext { return &http{p: p, id: id} }

type http struct {
	types.DefaultHttpContext
	p    *plugin
	id   uint32
	path string
}

func status(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

func (h *http) OnHttpRequestHeaders(n int, eos bool) types.Action {
	h.p.counter.Increment(1)
	h.p.gauge.Add(-3)
	h.p.hist.Record(7)
	proxywasm.LogInfof("metrics counter=%d gauge=%d", h.p.counter.Value(), h.p.gauge.Value())
	h.path, _ = proxywasm.GetHttpRequestHeader(":path")
	switch h.path {
	case "/local":
		err := proxywasm.SendHttpResponse(403, [][2]string{{"X-Reason", "test"}, {"x-multi", "1"}, {"x-multi", "2"}}, []byte("denied"), -1)
		proxywasm.LogInfof("local %s", status(err))
		return types.ActionPause
	case "/stall":
		return types.ActionPause
	case "/resume":
		proxywasm.LogInfof("resume %s", status(proxywasm.ResumeHttpRequest()))
		return types.ActionPause
	case "/headers":
		pairs, err := proxywasm.GetHttpRequestHeaders()
		proxywasm.LogInfof("headers n=%d eos=%v %q %s", n, eos, pairs, status(err))
		_, err = proxywasm.GetHttpRequestHeader("x-missing")
		proxywasm.LogInfof("missing %s", status(err))
		proxywasm.AddHttpRequestHeader("X-Added", "1")
		proxywasm.AddHttpRequestHeader("x-added", "2")
		proxywasm.RemoveHttpRequestHeader("x-remove-me")
		proxywasm.RemoveHttpRequestHeader("x-never-there")
		proxywasm.ReplaceHttpRequestHeader("X-Multi", "first-only")
		proxywasm.ReplaceHttpRequestHeader("x-new", "new")
		_, err = proxywasm.GetHttpResponseHeaders()
		proxywasm.LogInfof("response headers before response %s", status(err))
	case "/setpairs":
		err := proxywasm.ReplaceHttpRequestHeaders([][2]string{{":path", "/new"}, {":method", "PUT"}, {"X-Only", "1"}})
		proxywasm.LogInfof("setpairs %s", status(err))
	case "/props":
		for _, p := range [][]string{{"source", "address"}, {"source", "port"}, {"connection", "tls_version"},
			{"response", "code_details"}, {"response", "flags"}, {"plugin_name"}, {"plugin_root_id"}, {"request", "path"}} {
			v, err := proxywasm.GetProperty(p)
			if len(v) == 8 && (p[len(p)-1] == "port" || p[len(p)-1] == "flags") {
				proxywasm.LogInfof("prop %v = %d %s", p, binary.LittleEndian.Uint64(v), status(err))
			} else {
				proxywasm.LogInfof("prop %v = %q %s", p, v, status(err))
			}
		}
	case "/shared":
		_, _, err := proxywasm.GetSharedData("k")
		proxywasm.LogInfof("get missing %s", status(err))
		err = proxywasm.SetSharedData("k", []byte("v1"), 0)
		proxywasm.LogInfof("set unconditional %s", status(err))
		v, cas, err := proxywasm.GetSharedData("k")
		proxywasm.LogInfof("get %q %s", v, status(err))
		err = proxywasm.SetSharedData("k", []byte("stale"), cas+1)
		proxywasm.LogInfof("set stale cas %v", errors.Is(err, types.ErrorStatusCasMismatch))
		err = proxywasm.SetSharedData("k", []byte("v2"), cas)
		proxywasm.LogInfof("set current cas %s", status(err))
		v, cas2, _ := proxywasm.GetSharedData("k")
		proxywasm.LogInfof("get %q newcas=%v", v, cas2 != cas)
		err = proxywasm.SetSharedData("k", []byte("v3"), cas)
		proxywasm.LogInfof("set old cas %v", errors.Is(err, types.ErrorStatusCasMismatch))
	case "/effective":
		proxywasm.LogInfof("to root %s", status(proxywasm.SetEffectiveContext(h.p.id)))
		_, err := proxywasm.GetHttpRequestHeader(":path")
		proxywasm.LogInfof("header in root %s", status(err))
		proxywasm.LogInfof("to unknown %s", status(proxywasm.SetEffectiveContext(9999)))
		proxywasm.LogInfof("back %s", status(proxywasm.SetEffectiveContext(h.id)))
		_, err = proxywasm.GetHttpRequestHeader(":path")
		proxywasm.LogInfof("header in stream %s", status(err))
	}
	return types.ActionContinue
}

func (h *http) OnHttpRequestBody(size int, eos bool) types.Action {
	b, err := proxywasm.GetHttpRequestBody(0, size)
	proxywasm.LogInfof("request body %d %v %q %s", size, eos, b, status(err))
	if h.path == "/body-local" {
		proxywasm.SendHttpResponse(413, nil, nil, -1)
		return types.ActionPause
	}
	proxywasm.ReplaceHttpRequestBody(bytes.ToUpper(b))
	proxywasm.PrependHttpRequestBody([]byte("<"))
	proxywasm.AppendHttpRequestBody([]byte(">"))
	return types.ActionContinue
}

func (h *http) OnHttpResponseHeaders(n int, eos bool) types.Action {
	st, _ := proxywasm.GetHttpResponseHeader(":status")
	proxywasm.AddHttpResponseHeader("x-status-seen", st)
	proxywasm.RemoveHttpResponseHeader("server")
	d, err := proxywasm.GetProperty([]string{"response", "code_details"})
	proxywasm.AddHttpResponseHeader("x-code-details", string(d)+" "+status(err))
	if h.path == "/stall-response" {
		return types.ActionPause
	}
	return types.ActionContinue
}

func (h *http) OnHttpResponseBody(size int, eos bool) types.Action {
	b, _ := proxywasm.GetHttpResponseBody(0, size)
	proxywasm.ReplaceHttpResponseBody(append(b, " (seen)"...))
	return types.ActionContinue
}

func (h *http) OnHttpStreamDone() { proxywasm.LogInfof("done %s", h.path) }
