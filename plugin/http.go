package main

import (
	"encoding/binary"
	"strconv"
	"strings"
	"time"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/apigw-wasm/apigw-wasm/internal/gateway"
	"github.com/apigw-wasm/apigw-wasm/internal/reply"
)

// httpContext is one request.
type httpContext struct {
	types.DefaultHttpContext
	plugin    *pluginContext
	id        uint32 // the host's context id
	requestID string
	decision  *gateway.Decision
	replied   bool // the plugin answered locally; its reply passes the response callbacks too
	waitBody  bool // headers are held until the whole body is here (body parameters)
	bodySize  int
	head      bool       // a HEAD request: its answers have no body
	sawReply  bool       // response headers passed this filter
	rewrite   reply.Code // a router reply that becomes this gateway answer; None otherwise
	status    int        // the status the client got, for metrics
	code      reply.Code // the gateway answer the client got, for metrics
}

func property(path string) (string, bool) {
	v, st := getProperty(path)
	return v, st == statusOK
}

// intProperty reads an integer attribute: 8 bytes, little-endian.
func intProperty(path string) (uint64, bool) {
	v, st := getProperty(path)
	if st != statusOK || len(v) != 8 {
		return 0, false
	}
	return binary.LittleEndian.Uint64([]byte(v)), true
}

// recoverFault turns a panic of the plugin into 500 Internal Server Error; the VM keeps serving.
func (h *httpContext) recoverFault(action *types.Action) {
	if r := recover(); r != nil {
		proxywasm.LogErrorf("internal error request_id=%s: %v", h.requestID, r)
		if !h.replied {
			*action = h.sendFault()
		}
	}
}

func (h *httpContext) OnHttpRequestHeaders(_ int, endOfStream bool) (action types.Action) {
	h.requestID = h.plugin.ids.next()
	defer h.recoverFault(&action)
	if h.plugin.gw == nil {
		return h.sendFault()
	}
	headers, ok := loadRequestHeaders()
	if !ok {
		proxywasm.LogErrorf("cannot read request headers request_id=%s", h.requestID)
		return h.sendFault()
	}
	injectFault(headers)
	tlsVersion, tls := property(propTLSVersion)
	source, _ := property(propSourceAddress)
	authority, _ := headers.Get(":authority")
	method, _ := headers.Get(":method")
	path, _ := headers.Get(":path")
	req := &gateway.Request{
		Authority: authority,
		Method:    method,
		Path:      path,
		TLS:       tls && tlsVersion != "",
		Source:    source,
		RequestID: h.requestID,
		Headers:   headers,
	}
	h.head = req.Method == "HEAD"
	d := h.plugin.gw.Handle(req)
	h.decision = d
	if d.NeedBody {
		if !endOfStream {
			// Held at headers (allow_on_headers_stop_iteration): nothing goes upstream until
			// the body has been checked. The watch answers if Envoy never delivers it.
			h.waitBody = true
			h.plugin.watch.hold(h)
			return types.ActionPause
		}
		h.plugin.gw.Resume(d, nil)
	}
	return h.apply(d)
}

func (h *httpContext) OnHttpRequestBody(bodySize int, endOfStream bool) (action types.Action) {
	defer h.recoverFault(&action)
	if !h.waitBody {
		return types.ActionContinue
	}
	h.plugin.watch.bodyArrived()
	h.bodySize = bodySize
	if !endOfStream {
		return types.ActionPause // Envoy buffers, within its buffer limit
	}
	return h.bodyDone()
}

func (h *httpContext) OnHttpRequestTrailers(int) (action types.Action) {
	defer h.recoverFault(&action)
	if !h.waitBody {
		return types.ActionContinue
	}
	h.plugin.watch.bodyArrived()
	return h.bodyDone()
}

func (h *httpContext) bodyDone() types.Action {
	h.waitBody = false
	var body []byte
	if h.bodySize > 0 {
		var err error
		if body, err = proxywasm.GetHttpRequestBody(0, h.bodySize); err != nil {
			proxywasm.LogErrorf("cannot read request body: %v request_id=%s", err, h.requestID)
			return h.sendFault()
		}
	}
	h.plugin.gw.Resume(h.decision, body)
	return h.apply(h.decision)
}

// bodyNeverCame answers a request that has waited, held, for a body Envoy did not deliver
// (bodyWatch): 500, and a log line naming the setting it needs. It runs in the plugin's tick,
// so the request's context is made the effective one first.
func (h *httpContext) bodyNeverCame(waited time.Duration) {
	defer func() {
		if r := recover(); r != nil {
			proxywasm.LogErrorf("internal error in the body watch request_id=%s: %v", h.requestID, r)
		}
	}()
	if err := proxywasm.SetEffectiveContext(h.id); err != nil {
		proxywasm.LogErrorf("cannot answer a request held for its body: %v request_id=%s", err, h.requestID)
		return
	}
	api := "-"
	if d := h.decision; d != nil && d.API != nil {
		api = d.Service.ID + "/" + d.API.ID
	}
	proxywasm.LogErrorf("no request body after %s: API %s has body parameters, which need %s: true in the wasm filter's config; answered 500 request_id=%s",
		waited.Round(time.Millisecond), api, settingName, h.requestID)
	h.waitBody = false
	h.sendFault()
}

// apply carries out a final decision: a local reply, or the request's way upstream.
func (h *httpContext) apply(d *gateway.Decision) types.Action {
	if d.Reply != nil {
		return h.send(d.Reply)
	}
	for _, kv := range d.SetHeaders {
		if st := replaceHeader(requestHeaders, kv[0], kv[1]); st != statusOK {
			proxywasm.LogErrorf("cannot set request header %s: status %d request_id=%s", kv[0], st, h.requestID)
		}
	}
	if d.Body != nil {
		if err := proxywasm.ReplaceHttpRequestBody(d.Body); err != nil {
			proxywasm.LogErrorf("cannot replace request body: %v request_id=%s", err, h.requestID)
		}
		_ = proxywasm.RemoveHttpRequestHeader("content-length")
	}
	return types.ActionContinue
}

// send answers locally and logs gateway errors at info level (never secrets or tokens).
func (h *httpContext) send(r *gateway.Reply) types.Action {
	if r.Code != reply.None {
		h.logReply(r.Status, r.Message)
	}
	h.replied, h.status, h.code = true, r.Status, r.Code
	if err := proxywasm.SendHttpResponse(uint32(r.Status), r.Headers, r.Body, -1); err != nil {
		proxywasm.LogErrorf("cannot send reply: %v request_id=%s", err, h.requestID)
	}
	return types.ActionPause
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
	proxywasm.LogInfof("reply status=%d message=%q request_id=%s service=%s api=%s", status, message, h.requestID, svc, api)
}

// sendFault answers 500 Internal Server Error for a fault of the plugin itself.
func (h *httpContext) sendFault() types.Action {
	c := reply.InternalServerError
	return h.send(&gateway.Reply{
		Status:  c.Status(),
		Headers: [][2]string{{"content-type", reply.ContentType}, {reply.RequestIDHeader, h.requestID}},
		Body:    reply.JSONMessage(c.Message("")),
		Code:    c,
		Message: c.Message(""),
	})
}

// Response flags (Envoy's StreamInfo core flags as a bit vector).
const (
	flagNoHealthyUpstream = 1 << 1
	flagUpstreamTimeout   = 1 << 2
	flagUpstreamRemote    = 1 << 4 // UR: the upstream reset the stream
	flagUpstreamFailure   = 1 << 5
	flagUpstreamReset     = 1 << 6
	flagUpstreamOverflow  = 1 << 7
	flagDownstreamClosed  = 1 << 14
	flagUpstreamRetries   = 1 << 15
	flagNoCluster         = 1 << 24
	flagDNSFailure        = 1 << 26 // DF: a url backend's host did not resolve (dynamic forward proxy)
	flagDownstreamReset   = 1 << 28
)

// routerFailure maps a reply the router made itself to the gateway's answer for it.
func routerFailure(status string) reply.Code {
	if status != "503" && status != "504" && status != "502" {
		return reply.None
	}
	details, _ := property(propCodeDetails)
	if details == "via_upstream" || details == "" {
		return reply.None
	}
	flags, _ := intProperty(propFlags)
	switch {
	case flags&flagUpstreamTimeout != 0 || strings.HasSuffix(details, "timeout"):
		return reply.GatewayTimeout
	case flags&(flagUpstreamFailure|flagUpstreamReset|flagUpstreamRemote|flagNoHealthyUpstream|flagUpstreamOverflow|flagUpstreamRetries|flagNoCluster|flagDNSFailure) != 0,
		strings.HasPrefix(details, "upstream_reset"), details == "cluster_not_found", details == "no_healthy_upstream",
		strings.HasPrefix(details, "dns_resolution_failure"):
		return reply.BadGateway
	}
	return reply.None
}

func (h *httpContext) OnHttpResponseHeaders(_ int, endOfStream bool) (action types.Action) {
	defer func() {
		if r := recover(); r != nil {
			proxywasm.LogErrorf("internal error in response request_id=%s: %v", h.requestID, r)
		}
	}()
	h.sawReply = true
	if h.replied || h.requestID == "" {
		return types.ActionContinue // our own reply already carries its headers
	}
	status, _ := headerValue(responseHeaders, ":status")
	h.status, _ = strconv.Atoi(status)
	if c := routerFailure(status); c != reply.None {
		if d := h.decision; d != nil && d.API != nil && d.API.OAuthBusiness {
			c = reply.OAuthCallServerFail
		}
		if endOfStream && !h.head {
			// A router reply without a body (cluster_not_found) cannot be given one here:
			// answer afresh instead; Envoy sends it in place of the router's.
			return h.sendRouterFailure(c)
		}
		h.status, h.code = c.Status(), c
		_ = proxywasm.ReplaceHttpResponseHeader(":status", strconv.Itoa(c.Status()))
		_ = proxywasm.ReplaceHttpResponseHeader("content-type", reply.ContentType)
		if endOfStream {
			// The router's reply to HEAD has no body; its length is the one GET would get.
			_ = proxywasm.ReplaceHttpResponseHeader("content-length", strconv.Itoa(len(reply.JSONMessage(c.Message("")))))
		} else {
			h.rewrite = c // OnHttpResponseBody puts the JSON body in place of the router's
			_ = proxywasm.RemoveHttpResponseHeader("content-length")
		}
		h.logReply(c.Status(), c.Message(""))
	}
	replaceHeader(responseHeaders, reply.RequestIDHeader, h.requestID)
	if h.decision != nil {
		for _, kv := range h.decision.ResponseHeaders {
			if kv[0] == "vary" {
				kv[1] = mergeVary(kv[1])
			}
			replaceHeader(responseHeaders, kv[0], kv[1])
		}
	}
	return types.ActionContinue
}

// sendRouterFailure answers c with a local reply in place of a router reply, with the headers
// every response of the request carries.
func (h *httpContext) sendRouterFailure(c reply.Code) types.Action {
	hs := [][2]string{{"content-type", reply.ContentType}, {reply.RequestIDHeader, h.requestID}}
	if h.decision != nil {
		hs = append(hs, h.decision.ResponseHeaders...)
	}
	return h.send(&gateway.Reply{Status: c.Status(), Headers: hs, Body: reply.JSONMessage(c.Message("")), Code: c, Message: c.Message("")})
}

func (h *httpContext) OnHttpResponseBody(_ int, endOfStream bool) types.Action {
	if h.rewrite == reply.None {
		return types.ActionContinue
	}
	if !endOfStream {
		return types.ActionPause
	}
	_ = proxywasm.ReplaceHttpResponseBody(reply.JSONMessage(h.rewrite.Message("")))
	return types.ActionContinue
}

// OnHttpStreamDone runs when the request is complete, also when the client went away.
func (h *httpContext) OnHttpStreamDone() {
	defer func() {
		if r := recover(); r != nil {
			proxywasm.LogErrorf("internal error in stream done request_id=%s: %v", h.requestID, r)
		}
	}()
	if h.requestID == "" {
		return
	}
	if h.waitBody {
		h.plugin.watch.release(h)
	}
	if !h.sawReply && !h.replied {
		if flags, _ := intProperty(propFlags); flags&(flagDownstreamClosed|flagDownstreamReset) != 0 {
			c := reply.ClientClosed
			h.status, h.code = c.Status(), c
			h.logReply(c.Status(), c.Message(""))
		}
	}
	h.plugin.metrics.record(h.decision, h.status, h.code)
}

// mergeVary adds the gateway's Vary field names to those of the upstream's Vary headers, so
// that neither list is lost; "*" stays alone.
func mergeVary(ours string) string {
	hs, _ := proxywasm.GetHttpResponseHeaders()
	var fields []string
	seen := map[string]bool{}
	add := func(list string) {
		for _, f := range strings.Split(list, ",") {
			f = strings.TrimSpace(f)
			if f != "" && !seen[strings.ToLower(f)] {
				seen[strings.ToLower(f)] = true
				fields = append(fields, f)
			}
		}
	}
	for _, kv := range hs {
		if strings.EqualFold(kv[0], "vary") {
			add(kv[1])
		}
	}
	if seen["*"] {
		return "*"
	}
	add(ours)
	return strings.Join(fields, ", ")
}
