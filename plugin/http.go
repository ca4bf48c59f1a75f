package main

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/gateway"
	"github.com/apigw-wasm/apigw-wasm/internal/reply"
	"github.com/apigw-wasm/apigw-wasm/plugin/abi"
)

// httpContext is one request: it hands the gateway views of the request and of the response,
// and carries out what the gateway decides. The VM reuses it for a later request once this one
// is deleted (reset).
type httpContext struct {
	id          uint32
	root        *rootContext // nil for a request of an unknown root: it gets 500
	host        host
	requestID   string
	decision    *gateway.Decision
	replied     bool // the plugin answered locally
	waitBody    bool // headers are held until the whole body is here (body parameters)
	waitLimits  bool // headers are held until the limits' store answers (global mode)
	bodyEnd     bool // the request's end has been seen (headers, body or trailers)
	gone        bool // deleted (the client went away); an answer of the store may still come
	bodySize    int
	sawResponse bool       // response headers passed this filter
	status      int        // the status the client got, for metrics
	code        reply.Code // the gateway answer the client got, for metrics

	// The gateway's views and its decision, kept here so that a request allocates none of them.
	headers  gateway.HeaderList
	request  gateway.Request
	resp     response
	exchange *gateway.Exchange
}

// reset makes the context new for another request, keeping the header list's memory. Nothing
// may hold the context, its request or its decision any more: the host has deleted it.
func (h *httpContext) reset() {
	headers := h.headers
	headers.Reset()
	*h = httpContext{headers: headers, exchange: h.exchange}
}

func (h *httpContext) gateway() *gateway.Gateway {
	if h.root == nil {
		return nil
	}
	return h.root.gw
}

// recoverFault turns a panic into 500 Internal Server Error; the VM keeps serving.
func (h *httpContext) recoverFault(action *abi.Action) {
	if r := recover(); r != nil {
		h.host.log(abi.LogError, fmt.Sprintf("internal error request_id=%s: %v", h.requestID, r))
		if !h.replied {
			*action = h.sendFault()
		}
	}
}

// hostFailed reports a failed host call of this request.
func (h *httpContext) hostFailed(err error) { logHostError(h.host, err, h.requestID) }

func (h *httpContext) onRequestHeaders(end bool) abi.Action {
	gw := h.gateway()
	if gw == nil {
		h.requestID = newRequestID(h.root)
		return h.sendFault()
	}
	h.requestID = h.root.ids.next()
	headers, err := h.requestHeaders()
	if err != nil {
		h.hostFailed(err)
		return h.sendFault()
	}
	injectFault(headers)
	tlsVersion, tls, err := h.host.property(propTLSVersion)
	if err != nil {
		h.hostFailed(err)
	}
	source, _, err := h.host.property(propSourceAddress)
	if err != nil {
		h.hostFailed(err)
	}
	authority, _ := headers.Get(":authority")
	method, _ := headers.Get(":method")
	path, _ := headers.Get(":path")
	h.request = gateway.Request{
		Authority: authority,
		Method:    method,
		Path:      path,
		TLS:       tls && tlsVersion != "",
		Source:    source,
		RequestID: h.requestID,
		Headers:   headers,
	}
	if h.exchange == nil {
		h.exchange = new(gateway.Exchange)
	}
	h.decision, h.bodyEnd = gw.HandleIn(h.exchange, &h.request), end
	return h.proceed(false)
}

// proceed carries a decision on until it is final: it sends the call of a request that waits
// for the limits' store and holds the request, holds a request for its body, or applies the
// decision. answered: it runs in the answer of a call, where the root's context is the current
// one, not in a callback of the request.
func (h *httpContext) proceed(answered bool) abi.Action {
	gw, d := h.gateway(), h.decision
	for {
		if d.LimitsSync {
			// From the request's callback too: its calls are the root context's (limits.go).
			d.LimitsSync = false
			h.root.limits.sync()
		}
		if d.LimitsWait == nil {
			break
		}
		if h.root.limits.wait(h, d.LimitsWait.Call()) {
			// Held at headers until the answer; a body that arrives meanwhile is buffered.
			h.waitLimits = true
			// The pipeline goes on in the answer's callback, on this callback's buffers.
			h.host.keepReturned()
			return abi.Pause
		}
		gw.ResumeLimits(d, 0, nil) // not sent: a failed call
	}
	if answered {
		if err := h.host.setEffectiveContext(h.id); err != nil {
			h.hostFailed(err)
			return abi.Pause
		}
	}
	if d.LimitsDenied {
		h.host.log(abi.LogWarn, "limits: the limit store is unavailable and on_store_failure is deny: request refused request_id="+h.requestID)
	}
	if d.NeedBody {
		if !h.bodyEnd {
			// Held at headers (allow_on_headers_stop_iteration): nothing goes upstream until
			// the body has been checked. The watch answers if Envoy never delivers it.
			h.waitBody = true
			h.root.watch.hold(h)
			// The request and all the pipeline made of it view the host's buffers of this
			// callback until Resume runs, in a later one.
			h.host.keepReturned()
			return abi.Pause
		}
		// The whole body came while the request waited for the store (or there is none):
		// Envoy holds all of it, which may be more than the last callback's size.
		size := 0
		if h.bodySize > 0 {
			size = wholeBody
		}
		body, err := h.body(size)
		if err != nil {
			h.hostFailed(err)
			return h.sendFault()
		}
		gw.Resume(d, body)
	}
	return h.apply(d)
}

// wholeBody reads all of a buffered body: the host clamps a read to the buffer's size.
const wholeBody = 1 << 30

// body reads the request body, up to size bytes; nil when there is none.
func (h *httpContext) body(size int) ([]byte, error) {
	if size <= 0 {
		return nil, nil
	}
	b, err := h.host.buffer(abi.RequestBody, 0, size)
	if err != nil || b == "" {
		return nil, err
	}
	return []byte(b), nil
}

// limitsAnswered resumes a request with the answer of the limits' store (limits.go): it
// continues, is answered, waits again, or is held for its body.
func (h *httpContext) limitsAnswered(status int, body []byte) {
	defer func() {
		if r := recover(); r != nil {
			h.host.log(abi.LogError, fmt.Sprintf("internal error request_id=%s: %v", h.requestID, r))
			if !h.replied && !h.gone && h.host.setEffectiveContext(h.id) == nil {
				h.sendFault()
			}
		}
	}()
	h.waitLimits = false
	d := h.decision
	h.gateway().ResumeLimits(d, status, body)
	if h.gone {
		// The client went away: the answer is in the leases; only its reports are left to send.
		if d.LimitsSync {
			h.root.limits.sync()
		}
		return
	}
	if h.proceed(true) == abi.Continue {
		if err := h.host.continueRequest(); err != nil {
			h.hostFailed(err)
		}
	}
}

// requestHeaders reads every request header with one host call; names and values are
// substrings of the host's buffer.
func (h *httpContext) requestHeaders() (*gateway.HeaderList, error) {
	raw, err := h.host.headerPairs(abi.RequestHeaders)
	if err != nil {
		return nil, err
	}
	l := &h.headers
	l.Reset()
	l.Fields = slices.Grow(l.Fields, abi.PairCount(raw))
	if !abi.ParsePairs(raw, func(name, value string) {
		l.Fields = append(l.Fields, gateway.Field{Name: name, Value: value})
	}) {
		return nil, &hostError{op: "get header pairs", status: abi.StatusSerializationFailure}
	}
	return l, nil
}

func (h *httpContext) onRequestBody(size int, end bool) abi.Action {
	if !h.waitBody && !h.waitLimits {
		return abi.Continue
	}
	h.root.watch.bodyArrived()
	h.bodySize, h.bodyEnd = size, end
	if !end || h.waitLimits {
		return abi.Pause // Envoy buffers, within its buffer limit
	}
	return h.bodyDone()
}

func (h *httpContext) onRequestTrailers() abi.Action {
	if !h.waitBody && !h.waitLimits {
		return abi.Continue
	}
	h.root.watch.bodyArrived()
	h.bodyEnd = true
	if h.waitLimits {
		return abi.Pause
	}
	return h.bodyDone()
}

// bodyNeverCame answers a request that has waited, held, for a body Envoy did not deliver
// (bodyWatch): 500, and a log line naming the setting it needs. It runs in the plugin's tick,
// so the request's context is made the effective one first.
func (h *httpContext) bodyNeverCame(waited time.Duration) {
	if err := h.host.setEffectiveContext(h.id); err != nil {
		h.hostFailed(err)
		return
	}
	api := "-"
	if d := h.decision; d != nil && d.API != nil {
		api = d.Service.ID + "/" + d.API.ID
	}
	h.host.log(abi.LogError, fmt.Sprintf("no request body after %s: API %s has body parameters, which need %s: true in the wasm filter's config; answered 500 request_id=%s",
		waited.Round(time.Millisecond), api, settingName, h.requestID))
	h.waitBody = false
	h.sendFault()
}

func (h *httpContext) bodyDone() abi.Action {
	h.waitBody = false
	body, err := h.body(h.bodySize)
	if err != nil {
		h.hostFailed(err)
		return h.sendFault()
	}
	h.gateway().Resume(h.decision, body)
	return h.apply(h.decision)
}

// apply carries out a final decision: a local reply, or the request's way upstream.
func (h *httpContext) apply(d *gateway.Decision) abi.Action {
	if d.Reply != nil {
		return h.send(d.Reply)
	}
	// The response headers are set in a later callback: those that view a buffer of this one
	// (a CORS policy echoes the request's Origin) must outlive it.
	for _, kv := range d.ResponseHeaders {
		if h.host.returned(kv[1]) {
			h.host.keepReturned()
			break
		}
	}
	for _, kv := range d.SetHeaders {
		if err := h.host.setHeader(abi.RequestHeaders, kv[0], kv[1]); err != nil {
			h.hostFailed(err)
		}
	}
	if d.Body != nil {
		if err := h.host.setBuffer(abi.RequestBody, d.Body); err != nil {
			h.hostFailed(err)
		}
		if err := h.host.removeHeader(abi.RequestHeaders, "content-length"); err != nil {
			h.hostFailed(err)
		}
	}
	return abi.Continue
}

// send answers locally and logs gateway errors at info level (never secrets or tokens).
func (h *httpContext) send(r *gateway.Reply) abi.Action {
	if r.Code != reply.None {
		h.logReply(r.Status, r.Message)
	}
	h.replied, h.status, h.code = true, r.Status, r.Code
	if err := h.host.sendReply(r.Status, r.Headers, r.Body, r.Details); err != nil {
		h.hostFailed(err)
	}
	return abi.Pause
}

func (h *httpContext) logReply(status int, message string) {
	svc, api := "-", "-"
	if d := h.decision; d != nil {
		if d.Service != nil {
			svc = d.Service.ID
		}
		if d.API != nil {
			api = d.API.ID
		}
	}
	h.host.log(abi.LogInfo, fmt.Sprintf("reply status=%d message=%q request_id=%s service=%s api=%s", status, message, h.requestID, svc, api))
}

// sendFault answers 500 Internal Server Error for a fault of the plugin itself.
func (h *httpContext) sendFault() abi.Action {
	return h.send(reply.New(reply.InternalServerError, "").Answer(h.requestID))
}

func (h *httpContext) onResponseHeaders(bool) abi.Action {
	h.sawResponse = true
	gw := h.gateway()
	if h.replied || h.decision == nil || gw == nil {
		return abi.Continue // our own reply already carries its headers
	}
	h.resp = response{h: h}
	act := gw.Respond(h.decision, &h.resp)
	if act.Reply != nil {
		// In place of a reply the router made: Envoy sends it directly, the router's is dropped.
		return h.send(act.Reply)
	}
	h.status = h.resp.Status()
	for _, kv := range act.SetHeaders {
		if err := h.host.setHeader(abi.ResponseHeaders, kv[0], kv[1]); err != nil {
			h.hostFailed(err)
		}
	}
	return abi.Continue
}

// onLog runs when the request is complete, also when the client went away.
func (h *httpContext) onLog() {
	if h.requestID == "" {
		return
	}
	if h.waitBody && h.root != nil {
		h.root.watch.release(h)
	}
	if !h.sawResponse && !h.replied {
		flags, err := intProperty(h.host, propFlags)
		if err != nil {
			h.hostFailed(err)
		}
		if e := gateway.ClientClosed(flags); e != nil {
			h.status, h.code = e.Status(), e.Code
			h.logReply(e.Status(), e.Error())
		}
	}
	if h.root != nil {
		h.root.metrics.record(h.decision, h.status, h.code)
	}
}

// response is the gateway's view of the response headers, read from the host on demand.
type response struct {
	h      *httpContext
	status int
	read   bool
}

func (r *response) Status() int {
	if !r.read {
		r.read = true
		v, _, err := r.h.host.header(abi.ResponseHeaders, ":status")
		if err != nil {
			r.h.hostFailed(err)
		}
		r.status, _ = strconv.Atoi(v)
	}
	return r.status
}

func (r *response) Failure() (string, uint64) {
	details, _, err := r.h.host.property(propCodeDetails)
	if err != nil {
		r.h.hostFailed(err)
	}
	flags, err := intProperty(r.h.host, propFlags)
	if err != nil {
		r.h.hostFailed(err)
	}
	return details, flags
}

func (r *response) Values(name string) []string {
	raw, err := r.h.host.headerPairs(abi.ResponseHeaders)
	if err != nil {
		r.h.hostFailed(err)
		return nil
	}
	var out []string
	abi.ParsePairs(raw, func(n, v string) {
		if n == name {
			out = append(out, v)
		}
	})
	return out
}

// newRequestID is an id for a request of a root context that has none or no gateway.
func newRequestID(root *rootContext) string {
	if root != nil {
		return root.ids.next()
	}
	var ids requestIDs
	return ids.next()
}
