package main

import (
	"fmt"
	"runtime/debug"

	"github.com/apigw-wasm/apigw-wasm/plugin/abi"
)

// vm receives the callbacks of one VM (one Envoy worker or the main thread) and dispatches them
// to the plugin's root contexts (one per plugin configuration) and request contexts. A panic
// in a callback is recovered here: the VM keeps serving, and a request that was being decided
// gets 500.
type vm struct {
	host    host
	roots   map[uint32]*rootContext
	streams map[uint32]*httpContext
	calls   map[uint32]*limitCall // calls to the limits' store in flight, by token (limits.go)
}

func newVM(h host) *vm {
	return &vm{host: h, roots: map[uint32]*rootContext{}, streams: map[uint32]*httpContext{}, calls: map[uint32]*limitCall{}}
}

// recovered logs a panic of a callback; what the request gets is the caller's business.
func (v *vm) recovered(where string, r any) {
	v.host.log(abi.LogError, fmt.Sprintf("internal error in %s: %v\n%s", where, r, debug.Stack()))
}

func (v *vm) OnVMStart(uint32, int) bool { return true }

func (v *vm) OnConfigure(rootID uint32, size int) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			v.host.log(abi.LogCritical, fmt.Sprintf("configuration refused: internal error while loading: %v", r))
			ok = false
		}
	}()
	root := v.roots[rootID]
	if root == nil {
		root = &rootContext{id: rootID, host: v.host, calls: v.calls}
		v.roots[rootID] = root
	}
	return root.configure(size)
}

func (v *vm) OnContextCreate(id, parent uint32) {
	if parent == 0 {
		v.roots[id] = &rootContext{id: id, host: v.host, calls: v.calls}
		return
	}
	// A request of an unknown root (cannot happen with Envoy) has no gateway: it gets 500.
	v.streams[id] = &httpContext{id: id, root: v.roots[parent], host: v.host}
}

func (v *vm) OnRequestHeaders(id uint32, _ int, end bool) (action abi.Action) {
	h := v.stream(id)
	defer h.recoverFault(&action)
	return h.onRequestHeaders(end)
}

func (v *vm) OnRequestBody(id uint32, size int, end bool) (action abi.Action) {
	h := v.stream(id)
	defer h.recoverFault(&action)
	return h.onRequestBody(size, end)
}

func (v *vm) OnRequestTrailers(id uint32, _ int) (action abi.Action) {
	h := v.stream(id)
	defer h.recoverFault(&action)
	return h.onRequestTrailers()
}

func (v *vm) OnResponseHeaders(id uint32, _ int, end bool) abi.Action {
	defer func() {
		if r := recover(); r != nil {
			v.recovered("response", r)
		}
	}()
	return v.stream(id).onResponseHeaders(end)
}

func (v *vm) OnLog(id uint32) {
	defer func() {
		if r := recover(); r != nil {
			v.recovered("log", r)
		}
	}()
	v.stream(id).onLog()
}

func (v *vm) OnDelete(id uint32) {
	if h := v.streams[id]; h != nil {
		if h.waitBody && h.root != nil {
			h.root.watch.release(h) // a request that ended without on_log (the client went away)
		}
		h.gone = true // an answer of the limits' store may still come for it
		delete(v.streams, id)
		return
	}
	if _, ok := v.roots[id]; ok {
		v.forgetCalls(id)
		delete(v.roots, id)
	}
}

func (v *vm) OnTick(rootID uint32) {
	defer func() {
		if r := recover(); r != nil {
			v.recovered("tick", r)
		}
	}()
	if root := v.roots[rootID]; root != nil {
		root.onTick()
	}
}

// OnHTTPCallResponse routes an answer by its token alone: the context id Envoy passes is the
// root context's that made the call (limits.go), but a request's call is found either way.
func (v *vm) OnHTTPCallResponse(_, token uint32, headers, bodySize, trailers int) {
	defer func() {
		if r := recover(); r != nil {
			v.recovered("http call response", r)
		}
	}()
	v.onLimitsAnswer(token, headers, bodySize)
}

// stream finds a request's context; one the host never announced is made on the spot, so that
// a callback for it is answered rather than dropped.
func (v *vm) stream(id uint32) *httpContext {
	h := v.streams[id]
	if h == nil {
		h = &httpContext{id: id, host: v.host}
		v.streams[id] = h
	}
	return h
}
