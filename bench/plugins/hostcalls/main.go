// Command hostcalls is a proxy-wasm module of upstream Go that makes the host calls the
// gateway makes for one request, and nothing else: no configuration model, no pipeline. In the
// benchmark (configurations h and i) it separates the cost of crossing into Envoy from the
// cost of the gateway's own logic. Its plugin configuration is "b" (the calls of an auth: none
// API) or "c" (every request header at once, two shared-data reads and compare-and-swap writes,
// four limit headers: the calls of a secret API with a usage plan), or "b-all": (b)'s calls, but every request header
// read at once instead of one at a time. It answers by routing to the cluster "upstream", path
// /internal/users/42 (plus ?page=1 for "c").
package main

import (
	"strconv"

	"github.com/apigw-wasm/apigw-wasm/plugin/abi"
)

func main() {}

func init() { abi.SetHandler(&module{ids: map[uint32]string{}}) }

type module struct {
	abi.Base
	secret bool
	all    bool // read the request headers with one call
	n      uint64
	ids    map[uint32]string // request id per context
}

func (m *module) OnConfigure(_ uint32, size int) bool {
	c, _ := abi.BufferBytes(abi.PluginConfiguration, 0, size)
	m.secret = c == "c"
	m.all = c == "b-all"
	return true
}

var limitKeys = [2]string{"apigw|p|usagePlan-bench|AKIDbench", "apigw|q|usagePlan-bench|AKIDbench"}

func (m *module) OnRequestHeaders(id uint32, _ int, _ bool) abi.Action {
	m.n++
	rid := strconv.FormatUint(m.n, 16)
	m.ids[id] = rid
	abi.Property("connection\x00tls_version")
	src, _ := abi.Property("source\x00address")
	if m.all || m.secret {
		abi.HeaderPairs(abi.RequestHeaders)
	} else {
		for _, name := range []string{":authority", ":method", ":path", "upgrade", "origin"} {
			abi.HeaderValue(abi.RequestHeaders, name)
		}
	}
	path := "/internal/users/42"
	if m.secret {
		var buf [16]byte
		for _, k := range limitKeys {
			_, cas, _ := abi.SharedData(k)
			abi.SetSharedData(k, buf[:], cas)
		}
		path += "?page=1"
	}
	for _, kv := range [][2]string{
		{"x-apigw-cluster", "upstream"}, {":path", path}, {"x-envoy-upstream-rq-timeout-ms", "15000"},
		{"x-api-requestid", rid}, {"x-api-id", "api-users"}, {"x-client-proto", "http"}, {"x-real-ip", src},
	} {
		abi.ReplaceHeader(abi.RequestHeaders, kv[0], kv[1])
	}
	return abi.Continue
}

func (m *module) OnResponseHeaders(id uint32, _ int, _ bool) abi.Action {
	abi.ReplaceHeader(abi.ResponseHeaders, "x-api-requestid", m.ids[id])
	if m.secret {
		for _, name := range []string{"x-service-ratelimit", "x-api-ratelimit", "x-usageplan-ratelimit", "x-usageplan-quota"} {
			abi.ReplaceHeader(abi.ResponseHeaders, name, "unlimited")
		}
	}
	return abi.Continue
}

func (m *module) OnDelete(id uint32) { delete(m.ids, id) }
