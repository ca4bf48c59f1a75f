package main

import (
	"testing"
	"time"

	"github.com/apigw-wasm/apigw-wasm/bench/benchcfg"
	"github.com/apigw-wasm/apigw-wasm/internal/limit"
	"github.com/apigw-wasm/apigw-wasm/plugin/abi"
)

// benchHost answers the host calls of the benchmark's request at the least cost go test can
// (the request headers serialized once, writes dropped), so that a profile of the request path
// is the plugin's and the gateway's code rather than a fake host's.
type benchHost struct {
	config   string
	request  string // the request headers, serialized as the ABI returns them
	response string
	shared   limit.Memory
	clock    time.Time
	writes   int
}

func (h *benchHost) log(abi.LogLevel, string) {}
func (h *benchHost) now() time.Time           { return h.clock }
func (h *benchHost) buffer(b abi.BufferType, start, size int) (string, error) {
	if b != abi.PluginConfiguration {
		return "", nil
	}
	return h.config[start:min(len(h.config), start+size)], nil
}
func (h *benchHost) setBuffer(abi.BufferType, []byte) error { return nil }
func (h *benchHost) headerPairs(m abi.MapType) (string, error) {
	if m == abi.ResponseHeaders {
		return h.response, nil
	}
	return h.request, nil
}
func (h *benchHost) header(m abi.MapType, name string) (string, bool, error) {
	if m == abi.ResponseHeaders && name == ":status" {
		return "200", true, nil
	}
	return "", false, nil
}
func (h *benchHost) setHeader(abi.MapType, string, string) error { h.writes++; return nil }
func (h *benchHost) removeHeader(abi.MapType, string) error      { return nil }
func (h *benchHost) property(path string) (string, bool, error) {
	if path == propSourceAddress {
		return "127.0.0.1:40000", true, nil
	}
	return "", false, nil
}
func (h *benchHost) sharedData(key string) (string, uint32, bool, error) {
	v, cas, found, err := h.shared.Get(key)
	return string(v), cas, found, err
}
func (h *benchHost) setSharedData(key string, value []byte, cas uint32) error {
	return h.shared.Set(key, value, cas)
}
func (h *benchHost) sendReply(int, [][2]string, []byte, string) error { return nil }
func (h *benchHost) continueRequest() error                           { return nil }
func (h *benchHost) setEffectiveContext(uint32) error                 { return nil }
func (h *benchHost) setTickPeriod(uint32) error                       { return nil }
func (h *benchHost) httpCall(string, [][2]string, []byte, time.Duration) (uint32, error) {
	return 0, nil
}
func (h *benchHost) defineCounter(string) (uint32, error) { return 1, nil }
func (h *benchHost) increment(uint32, int64) error        { return nil }
func (h *benchHost) returned(string) bool                 { return false }
func (h *benchHost) keepReturned()                        {}

// BenchmarkRequest runs the benchmark's request of (b) and (c) through every callback Envoy
// makes for it (context create, request headers, response headers, log, delete). Natively it
// is the profile of the request path for profile-guided optimization: `make pgo` records it
// into default.pgo, which go build uses for the module.
func BenchmarkRequest(b *testing.B) {
	for _, c := range []struct {
		name   string
		secret bool
	}{{"b", false}, {"c", true}} {
		b.Run(c.name, func(b *testing.B) {
			signed, err := benchcfg.SignedHeaders(time.Now())
			if err != nil {
				b.Fatal(err)
			}
			request := append([][2]string{{":authority", benchcfg.Host}, {":path", benchcfg.Path}, {":method", "GET"},
				{":scheme", "http"}, {"user-agent", "wrk"}, {"accept", "*/*"}}, signed...)
			request = append(request, [2]string{"x-forwarded-proto", "http"}, [2]string{"x-request-id", "6d0f4b8e-3c1a-4f7e-9a53-2b8c0d1e4f60"})
			h := &benchHost{
				config:   benchcfg.PluginConfig(c.secret, 1),
				request:  string(abi.AppendPairs(nil, request)),
				response: string(abi.AppendPairs(nil, [][2]string{{":status", "200"}, {"content-type", "text/plain"}, {"content-length", "3"}})),
				clock:    time.Now(),
			}
			v := newVM(h)
			v.OnContextCreate(testRootID, 0)
			v.OnVMStart(testRootID, 0)
			if !v.OnConfigure(testRootID, len(h.config)) {
				b.Fatal("configuration refused")
			}
			id := uint32(testRootID)
			b.ReportAllocs()
			for b.Loop() {
				id++
				v.OnContextCreate(id, testRootID)
				if v.OnRequestHeaders(id, len(request), true) != abi.Continue {
					b.Fatal("the request was answered by the plugin")
				}
				v.OnResponseHeaders(id, 3, false)
				v.OnLog(id)
				v.OnDelete(id)
			}
			if h.writes == 0 {
				b.Fatal("no request reached the upstream")
			}
		})
	}
}
