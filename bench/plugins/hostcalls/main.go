// Command hostcalls is a proxy-wasm module of upstream Go that makes the host calls the
// gateway makes for one request, and nothing else: no configuration model, no pipeline. In the
// benchmark (configurations h and i) it separates the cost of crossing into Envoy from the
// cost of the gateway's own logic. Its plugin configuration is "b" (the calls of an auth: none
// API) or "c" (also every request header at once, two shared-data reads and compare-and-swap
// writes, four limit headers: the calls of a secret API with a usage plan), or "b-all": (b)'s
// calls, but every request header read at once instead of one at a time. It answers by
// routing to the cluster "upstream", path /internal/users/42 (plus ?page=1 for "c").
package main

import (
	"strconv"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

func main() {}

func init() { proxywasm.SetVMContext(&vm{}) }

type vm struct{ types.DefaultVMContext }

func (*vm) NewPluginContext(uint32) types.PluginContext { return &plugin{} }

type plugin struct {
	types.DefaultPluginContext
	secret bool
	all    bool // read the request headers with one call
	n      uint64
}

func (p *plugin) OnPluginStart(int) types.OnPluginStartStatus {
	c, _ := proxywasm.GetPluginConfiguration()
	p.secret = string(c) == "c"
	p.all = string(c) == "b-all"
	return types.OnPluginStartStatusOK
}

func (p *plugin) NewHttpContext(uint32) types.HttpContext { return &http{p: p} }

type http struct {
	types.DefaultHttpContext
	p  *plugin
	id string
}

var limitKeys = [2]string{"apigw|p|usagePlan-bench|AKIDbench", "apigw|q|usagePlan-bench|AKIDbench"}

func (h *http) OnHttpRequestHeaders(int, bool) types.Action {
	h.p.n++
	h.id = strconv.FormatUint(h.p.n, 16)
	proxywasm.GetProperty([]string{"connection", "tls_version"})
	src, _ := proxywasm.GetProperty([]string{"source", "address"})
	if h.p.all {
		proxywasm.GetHttpRequestHeaders()
	} else {
		for _, name := range []string{":authority", ":method", ":path", "upgrade", "origin"} {
			proxywasm.GetHttpRequestHeader(name)
		}
	}
	path := "/internal/users/42"
	if h.p.secret {
		proxywasm.GetHttpRequestHeaders()
		var buf [16]byte
		for _, k := range limitKeys {
			_, cas, _ := proxywasm.GetSharedData(k)
			proxywasm.SetSharedData(k, buf[:], cas)
		}
		path += "?page=1"
	}
	for _, kv := range [][2]string{
		{"x-apigw-cluster", "upstream"}, {":path", path}, {"x-envoy-upstream-rq-timeout-ms", "15000"},
		{"x-api-requestid", h.id}, {"x-api-id", "api-users"}, {"x-client-proto", "http"}, {"x-real-ip", string(src)},
	} {
		proxywasm.ReplaceHttpRequestHeader(kv[0], kv[1])
	}
	return types.ActionContinue
}

func (h *http) OnHttpResponseHeaders(int, bool) types.Action {
	proxywasm.ReplaceHttpResponseHeader("x-api-requestid", h.id)
	if h.p.secret {
		for _, name := range []string{"x-service-ratelimit", "x-api-ratelimit", "x-usageplan-ratelimit", "x-usageplan-quota"} {
			proxywasm.ReplaceHttpResponseHeader(name, "unlimited")
		}
	}
	return types.ActionContinue
}
