//go:build wasip1

package abi

import "unsafe"

// The callbacks Envoy makes, with the ABI's i32 signatures, forwarded to the Handler. Callbacks
// the gateway needs on no request are not exported (proxy_on_response_body, trailers, proxy_on_done,
// queues, network filters): Envoy then does not enter the module for them at all.

func boolI32(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

//go:wasmexport proxy_abi_version_0_2_0
func exportABIVersion() {}

// proxy_on_memory_allocate is called by the host in the middle of a data-returning host call;
// the buffer comes from the arena (arena.go).
//
//go:wasmexport proxy_on_memory_allocate
func exportOnMemoryAllocate(size uint32) unsafe.Pointer {
	return unsafe.Pointer(unsafe.SliceData(returnedArena.alloc(max(int(size), 1))))
}

// Every other callback is bracketed by the arena's enter and leave.

//go:wasmexport proxy_on_vm_start
func exportOnVMStart(vmID uint32, configSize int32) int32 {
	returnedArena.enter()
	ok := handler.OnVMStart(vmID, int(configSize))
	returnedArena.leave()
	return boolI32(ok)
}

//go:wasmexport proxy_on_configure
func exportOnConfigure(rootID uint32, configSize int32) int32 {
	returnedArena.enter()
	ok := handler.OnConfigure(rootID, int(configSize))
	returnedArena.leave()
	return boolI32(ok)
}

//go:wasmexport proxy_on_context_create
func exportOnContextCreate(id, parent uint32) {
	returnedArena.enter()
	handler.OnContextCreate(id, parent)
	returnedArena.leave()
}

//go:wasmexport proxy_on_request_headers
func exportOnRequestHeaders(id uint32, headers int32, end int32) uint32 {
	returnedArena.enter()
	a := handler.OnRequestHeaders(id, int(headers), end != 0)
	returnedArena.leave()
	return uint32(a)
}

//go:wasmexport proxy_on_request_body
func exportOnRequestBody(id uint32, size int32, end int32) uint32 {
	returnedArena.enter()
	a := handler.OnRequestBody(id, int(size), end != 0)
	returnedArena.leave()
	return uint32(a)
}

//go:wasmexport proxy_on_request_trailers
func exportOnRequestTrailers(id uint32, trailers int32) uint32 {
	returnedArena.enter()
	a := handler.OnRequestTrailers(id, int(trailers))
	returnedArena.leave()
	return uint32(a)
}

//go:wasmexport proxy_on_response_headers
func exportOnResponseHeaders(id uint32, headers int32, end int32) uint32 {
	returnedArena.enter()
	a := handler.OnResponseHeaders(id, int(headers), end != 0)
	returnedArena.leave()
	return uint32(a)
}

//go:wasmexport proxy_on_log
func exportOnLog(id uint32) {
	returnedArena.enter()
	handler.OnLog(id)
	returnedArena.leave()
}

//go:wasmexport proxy_on_delete
func exportOnDelete(id uint32) {
	returnedArena.enter()
	handler.OnDelete(id)
	returnedArena.leave()
}

//go:wasmexport proxy_on_tick
func exportOnTick(rootID uint32) {
	returnedArena.enter()
	handler.OnTick(rootID)
	returnedArena.leave()
}

//go:wasmexport proxy_on_http_call_response
func exportOnHTTPCallResponse(rootID, token uint32, headers, bodySize, trailers int32) {
	returnedArena.enter()
	handler.OnHTTPCallResponse(rootID, token, int(headers), int(bodySize), int(trailers))
	returnedArena.leave()
}
