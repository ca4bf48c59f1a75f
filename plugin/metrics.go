package main

import (
	"strconv"

	"github.com/apigw-wasm/apigw-wasm/internal/config"
	"github.com/apigw-wasm/apigw-wasm/internal/gateway"
	"github.com/apigw-wasm/apigw-wasm/internal/reply"
)

// metrics are Envoy counters, defined on first use and kept by id. Their names alternate a tag
// name and its value, so that Envoy's tag extraction can make Prometheus labels of them:
//
//	apigw.requests.service.<service>.api.<api>.status.<status>  every request; "-" for a service or api not known
//	apigw.rejections.status.<status>.reason.<key>                the gateway's own answers by table row (reply.Code.Key)
//
// Ids keep [A-Za-z0-9_-]; any other byte becomes '_', so that a '.' in an id cannot shift the
// fields. /stats shows them as wasmcustom.apigw.... In /stats/prometheus, without tag
// extraction, each combination is a label-less name (apigw_requests_service_<service>_api_<api>_status_<status>,
// '-' turned into '_'); with these stats_tags in the bootstrap's stats_config (Envoy's regexes
// see the whole name; the first group is cut from it, the second is the value) they are
// apigw_requests{service,api,status} and apigw_rejections{status,reason}, ids as they are:
//
//	stats_tags:
//	  - {tag_name: service, regex: '^wasmcustom\.apigw\.requests(\.service\.([^.]+))'}
//	  - {tag_name: api, regex: '^wasmcustom\.apigw\.requests\.service\.[^.]+(\.api\.([^.]+))'}
//	  - {tag_name: status, regex: '^wasmcustom\.apigw\.(?:requests\.service\.[^.]+\.api\.[^.]+|rejections)(\.status\.([0-9]+))'}
//	  - {tag_name: reason, regex: '^wasmcustom\.apigw\.rejections\.status\.[0-9]+(\.reason\.([a-z0-9_]+))$'}
type metrics struct {
	host       host
	requests   map[requestKey]uint32 // metric ids
	rejections map[reply.Code]uint32
	// The last request's counter: most requests in a row share a key, and a map lookup of a
	// struct key costs about a microsecond in the wasm VM.
	lastKey     requestKey
	lastCounter uint32
}

type requestKey struct {
	svc    *config.Service
	api    *config.API
	status int
}

// metricID is an id as a name field: '-' when unknown, else the id with bytes outside
// [A-Za-z0-9_-] replaced by '_'.
func metricID(id string) string {
	if id == "" {
		return "-"
	}
	b := []byte(id)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
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
		m.requests = map[requestKey]uint32{}
		m.rejections = map[reply.Code]uint32{}
	}
	c, ok := m.lastCounter, m.lastCounter != 0 && k == m.lastKey
	if !ok {
		c, ok = m.requests[k]
	}
	if !ok {
		var svc, api string
		if k.svc != nil {
			svc = k.svc.ID
		}
		if k.api != nil {
			api = k.api.ID
		}
		var err error
		c, err = m.host.defineCounter("apigw.requests.service." + metricID(svc) + ".api." + metricID(api) +
			".status." + strconv.Itoa(status))
		if err != nil {
			logHostError(m.host, err, "")
			return
		}
		m.requests[k] = c
	}
	m.lastKey, m.lastCounter = k, c
	if err := m.host.increment(c, 1); err != nil {
		logHostError(m.host, err, "")
	}
	if code == reply.None {
		return
	}
	r, ok := m.rejections[code]
	if !ok {
		var err error
		r, err = m.host.defineCounter("apigw.rejections.status." + strconv.Itoa(code.Status()) + ".reason." + code.Key())
		if err != nil {
			logHostError(m.host, err, "")
			return
		}
		m.rejections[code] = r
	}
	if err := m.host.increment(r, 1); err != nil {
		logHostError(m.host, err, "")
	}
}
