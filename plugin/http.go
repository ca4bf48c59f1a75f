package main

import (
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
	requestID string
	decision  *gateway.Decision
	replied   bool // the plugin answered locally; its reply passes the response callbacks too
}

func header(name string) string {
	v, _ := proxywasm.GetHttpRequestHeader(name)
	return v
}

func property(path ...string) (string, bool) {
	v, err := proxywasm.GetProperty(path)
	if err != nil {
		return "", false
	}
	return string(v), true
}

func (h *httpContext) OnHttpRequestHeaders(int, bool) (action types.Action) {
	h.requestID = h.plugin.ids.next()
	defer func() {
		if r := recover(); r != nil {
			proxywasm.LogErrorf("internal error request_id=%s: %v", h.requestID, r)
			action = h.sendFault()
		}
	}()
	if h.plugin.gw == nil {
		return h.sendFault()
	}
	tlsVersion, tls := property("connection", "tls_version")
	source, _ := property("source", "address")
	req := gateway.Request{
		Authority: header(":authority"),
		Method:    header(":method"),
		Path:      header(":path"),
		TLS:       tls && tlsVersion != "",
		Source:    source,
		RequestID: h.requestID,
		Headers:   &hostHeaders{},
		Now:       time.Now(),
	}
	d := h.plugin.gw.Handle(&req)
	h.decision = d
	if d.Reply != nil {
		return h.send(d.Reply)
	}
	for _, kv := range d.SetHeaders {
		if err := proxywasm.ReplaceHttpRequestHeader(kv[0], kv[1]); err != nil {
			proxywasm.LogErrorf("cannot set request header %s: %v request_id=%s", kv[0], err, h.requestID)
		}
	}
	return types.ActionContinue
}

// send answers locally and logs gateway errors at info level (never secrets or tokens).
func (h *httpContext) send(r *gateway.Reply) types.Action {
	if r.Code != reply.None {
		svc, api := "-", "-"
		if d := h.decision; d != nil {
			if d.Service != nil {
				svc = d.Service.ID
			}
			if d.API != nil {
				api = d.API.ID
			}
		}
		proxywasm.LogInfof("reply status=%d message=%q request_id=%s service=%s api=%s",
			r.Status, r.Message, h.requestID, svc, api)
	}
	h.replied = true
	if err := proxywasm.SendHttpResponse(uint32(r.Status), r.Headers, r.Body, -1); err != nil {
		proxywasm.LogErrorf("cannot send reply: %v request_id=%s", err, h.requestID)
	}
	return types.ActionPause
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

func (h *httpContext) OnHttpResponseHeaders(int, bool) types.Action {
	defer func() {
		if r := recover(); r != nil {
			proxywasm.LogErrorf("internal error in response request_id=%s: %v", h.requestID, r)
		}
	}()
	if h.replied || h.requestID == "" {
		return types.ActionContinue // our own reply already carries its headers
	}
	_ = proxywasm.ReplaceHttpResponseHeader(reply.RequestIDHeader, h.requestID)
	if h.decision != nil {
		for _, kv := range h.decision.ResponseHeaders {
			_ = proxywasm.ReplaceHttpResponseHeader(kv[0], kv[1])
		}
	}
	return types.ActionContinue
}
