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
	host     host
	roots    map[uint32]*rootContext
	lastRoot *rootContext // the root of the last request: most VMs have one
	streams  contextTable
	// free are contexts of ended requests, reused by the next ones with the memory they
	// grew (header list, request, response, decision): a request then allocates no context.
	free  []*httpContext
	calls map[uint32]*limitCall // calls to the limits' store in flight, by token (limits.go)
}

// maxFree bounds the contexts kept for reuse: about the requests a worker has in flight.
const maxFree = 1024

func newVM(h host) *vm {
	return &vm{host: h, roots: map[uint32]*rootContext{}, calls: map[uint32]*limitCall{}}
}

// newStream is a request's context, reused when one is free.
func (v *vm) newStream(id uint32, root *rootContext) *httpContext {
	var h *httpContext
	if n := len(v.free); n > 0 {
		h, v.free[n-1] = v.free[n-1], nil
		v.free = v.free[:n-1]
	} else {
		h = new(httpContext)
	}
	h.id, h.root, h.host = id, root, v.host
	v.streams.put(h)
	return h
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
	root := v.lastRoot
	if root == nil || root.id != parent {
		// A request of an unknown root (cannot happen with Envoy) has no gateway: it gets 500.
		root = v.roots[parent]
		v.lastRoot = root
	}
	v.newStream(id, root)
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
	if h := v.streams.remove(id); h != nil {
		if h.waitBody && h.root != nil {
			h.root.watch.release(h) // a request that ended without on_log (the client went away)
		}
		if h.waitLimits {
			// A call of the limits' store holds the context: its answer may still come
			// (limitsAnswered), so the context is not reused.
			h.gone = true
			return
		}
		if len(v.free) < maxFree {
			h.reset()
			v.free = append(v.free, h)
		}
		return
	}
	if r := v.roots[id]; r != nil {
		v.forgetCalls(id)
		delete(v.roots, id)
		if v.lastRoot == r {
			v.lastRoot = nil
		}
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
	if h := v.streams.get(id); h != nil {
		return h
	}
	return v.newStream(id, nil)
}
