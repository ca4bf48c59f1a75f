package main

import (
	"strconv"
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/limit/lease"
	"github.com/apigw-wasm/apigw-wasm/internal/limit/wire"
	"github.com/apigw-wasm/apigw-wasm/plugin/abi"
)

// limitsTick is the root context's tick in the global mode: reports go on it (spend, renewals,
// leases given back) besides right after the requests that need them; docs/limits.md measured
// the lease policy with reports on a 50 ms tick.
const limitsTick = 50 * time.Millisecond

// failureLogEvery: failed calls to the store are logged at most this often per VM (the metric
// apigw.limit.global.store_failures counts each one); a store that is down would otherwise log
// a line per request.
const failureLogEvery = 10 * time.Second

// globalLimits is a root context's side of the cluster-wide limits (docs/limits.md): it sends
// the lease client's calls to the bridge's cluster with proxy_http_call, hands their answers
// back, reports on the tick and exports the client's counters.
//
// Envoy makes every proxy_http_call on the root context of the calling context (proxy-wasm
// cpp-host, exports.cc http_call) and numbers calls per VM: a call made in a request's
// callback belongs to the root context, survives the request, and its answer comes with the
// root context's id and a token unique in the VM (measured in Envoy 1.40: answers of reports
// sent in request callbacks arrive after the request's proxy_on_delete, with the root's id,
// whether or not the callback first made the root context the effective one; docs/limits.md).
// Reports due after a request are therefore sent right from its callback, and answers are
// routed by token alone (vm.calls), whichever context id Envoy passes with them.
type globalLimits struct {
	host    host
	rootID  uint32
	client  *lease.Client
	cluster string
	timeout time.Duration         // of a call: the configuration's timeout_ms
	headers [][2]string           // of every call
	calls   map[uint32]*limitCall // the VM's calls in flight, by token (shared with vm)
	metrics [numLimitMetrics]uint32
	logged  time.Time // the last failure logged
}

// limitCall is a call in flight: a waiting request's take, or a report.
type limitCall struct {
	limits  *globalLimits
	request *httpContext // the request that waits for the answer; nil for a report
	report  *lease.Call
}

func newGlobalLimits(h host, rootID uint32, c *lease.Client, s lease.Settings, calls map[uint32]*limitCall) *globalLimits {
	cluster := s.Cluster
	return &globalLimits{host: h, rootID: rootID, client: c, cluster: cluster, timeout: s.Timeout, calls: calls,
		headers: [][2]string{{":method", "POST"}, {":path", wire.Path}, {":authority", wire.Authority(cluster)}, {"content-type", "application/json"}}}
}

// send makes one call; false when Envoy refused it (a cluster that does not exist).
func (g *globalLimits) send(call *lease.Call, lc *limitCall) bool {
	token, err := g.host.httpCall(g.cluster, g.headers, call.Body, call.Timeout)
	if err != nil {
		g.failed(func() string { return err.Error() })
		return false
	}
	g.calls[token] = lc
	return true
}

// wait sends the call a request waits for; false when it could not be sent.
func (g *globalLimits) wait(h *httpContext, call *lease.Call) bool {
	return g.send(call, &limitCall{limits: g, request: h})
}

// report sends a report, and again what the client's answer to a failure asks to send.
func (g *globalLimits) report(call *lease.Call) {
	for call != nil {
		if g.send(call, &limitCall{limits: g, report: call}) {
			return
		}
		call = g.client.Answer(call, 0, nil, g.host.now())
	}
}

// sync sends every report that is due, from the root context.
func (g *globalLimits) sync() {
	now := g.host.now()
	for call := g.client.Due(now); call != nil; call = g.client.Due(now) {
		g.report(call)
	}
}

// tick reports what is due and exports the counters.
func (g *globalLimits) tick() {
	g.sync()
	g.export()
}

// answer reads the answer of a call in its callback: the status (0 when the call failed or
// timed out: Envoy passes no headers then) and a copy of the body.
func (g *globalLimits) answer(headers, bodySize int) (int, []byte) {
	if headers == 0 {
		g.failed(func() string { return "no answer within " + g.timeout.String() })
		return 0, nil
	}
	v, _, err := g.host.header(abi.HTTPCallResponseHeaders, ":status")
	if err != nil {
		logHostError(g.host, err, "")
		return 0, nil
	}
	status, err := strconv.Atoi(v)
	if err != nil || status != 200 {
		g.failed(func() string { return "it answered status " + strconv.Quote(v) })
		return status, nil
	}
	var body []byte
	if bodySize > 0 {
		b, err := g.host.buffer(abi.HTTPCallResponseBody, 0, bodySize)
		if err != nil {
			logHostError(g.host, err, "")
			return 0, nil
		}
		body = []byte(b) // a copy: the host's buffer is reused by the next host call
	}
	return status, body
}

// failed logs a failed call, at most once per failureLogEvery.
func (g *globalLimits) failed(why func() string) {
	now := g.host.now()
	if !g.logged.IsZero() && now.Sub(g.logged) < failureLogEvery {
		return
	}
	g.logged = now
	g.host.log(abi.LogWarn, "limits: a call to the limits' store (cluster "+strconv.Quote(g.cluster)+") failed: "+why()+
		"; on_store_failure decides what needs the store (further failures of this worker are not logged for "+failureLogEvery.String()+")")
}

// The counters of the global mode (docs/behaviour.md, Metrics), in lease.Stats order.
const numLimitMetrics = 9

var limitMetricNames = [numLimitMetrics]string{
	"apigw.limit.global.reports", "apigw.limit.global.leases", "apigw.limit.global.tokens_leased",
	"apigw.limit.global.tokens_returned", "apigw.limit.global.store_failures", "apigw.limit.global.waited",
	"apigw.limit.global.debt", "apigw.limit.global.denied", "apigw.limit.global.outage_ms",
}

// export adds the client's counters since the last tick to Envoy's.
func (g *globalLimits) export() {
	s := g.client.TakeStats()
	for i, v := range [numLimitMetrics]int64{s.Reports, s.Leases, s.TokensLeased, s.TokensReturned,
		s.StoreFailures, s.Waited, s.Debt, s.Denied, s.OutageMillis} {
		if v <= 0 {
			continue
		}
		if g.metrics[i] == 0 {
			id, err := g.host.defineCounter(limitMetricNames[i])
			if err != nil {
				logHostError(g.host, err, "")
				continue
			}
			g.metrics[i] = id
		}
		if err := g.host.increment(g.metrics[i], v); err != nil {
			logHostError(g.host, err, "")
		}
	}
}

// onLimitsAnswer routes the answer of a call to the limits' store to its request or report; it
// reports false for a token that is not one of them.
func (v *vm) onLimitsAnswer(token uint32, headers, bodySize int) bool {
	lc := v.calls[token]
	if lc == nil {
		return false
	}
	delete(v.calls, token)
	g := lc.limits
	status, body := g.answer(headers, bodySize)
	if lc.request == nil {
		g.report(g.client.Answer(lc.report, status, body, g.host.now()))
		return true
	}
	lc.request.limitsAnswered(status, body)
	return true
}

// forgetCalls drops the calls of a root context that Envoy deleted: Envoy cancels them.
func (v *vm) forgetCalls(rootID uint32) {
	for token, lc := range v.calls {
		if lc.limits.rootID == rootID {
			delete(v.calls, token)
		}
	}
}
