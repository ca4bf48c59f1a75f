package main

import (
	"strconv"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"

	"github.com/apigw-wasm/apigw-wasm/internal/config"
	"github.com/apigw-wasm/apigw-wasm/internal/gateway"
	"github.com/apigw-wasm/apigw-wasm/internal/reply"
)

// metrics are Envoy counters, defined on first use and kept by id:
// apigw.requests.<service>.<api>.<status> counts every request, "-" standing for a service or
// api not known; apigw.rejections.<status>.<key> counts the gateway's own answers by table row.
// Envoy shows them as wasmcustom.apigw... in /stats and apigw_... in /stats/prometheus.
type metrics struct {
	requests   map[requestKey]proxywasm.MetricCounter
	rejections map[reply.Code]proxywasm.MetricCounter
}

type requestKey struct {
	svc    *config.Service
	api    *config.API
	status int
}

func (m *metrics) record(d *gateway.Decision, status int, code reply.Code) {
	if status == 0 {
		return
	}
	k := requestKey{status: status}
	if d != nil {
		k.svc, k.api = d.Service, d.API
	}
	if m.requests == nil {
		m.requests = map[requestKey]proxywasm.MetricCounter{}
		m.rejections = map[reply.Code]proxywasm.MetricCounter{}
	}
	c, ok := m.requests[k]
	if !ok {
		svc, api := "-", "-"
		if k.svc != nil {
			svc = k.svc.ID
		}
		if k.api != nil {
			api = k.api.ID
		}
		c = proxywasm.DefineCounterMetric("apigw.requests." + svc + "." + api + "." + strconv.Itoa(status))
		m.requests[k] = c
	}
	c.Increment(1)
	if code == reply.None {
		return
	}
	r, ok := m.rejections[code]
	if !ok {
		r = proxywasm.DefineCounterMetric("apigw.rejections." + strconv.Itoa(code.Status()) + "." + code.Key())
		m.rejections[code] = r
	}
	r.Increment(1)
}
