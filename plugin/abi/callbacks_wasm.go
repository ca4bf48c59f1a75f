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

// allocated keeps the last buffer handed to the host alive until the next one: the host fills it
// during a host call and the caller reads it in place right after.
var allocated []byte

//go:wasmexport proxy_on_memory_allocate
func exportOnMemoryAllocate(size uint32) unsafe.Pointer {
	if size == 0 {
		size = 1
	}
	allocated = make([]byte, size)
	return unsafe.Pointer(unsafe.SliceData(allocated))
}

//go:wasmexport proxy_on_vm_start
func exportOnVMStart(vmID uint32, configSize int32) int32 {
	return boolI32(handler.OnVMStart(vmID, int(configSize)))
}

//go:wasmexport proxy_on_configure
func exportOnConfigure(rootID uint32, configSize int32) int32 {
	return boolI32(handler.OnConfigure(rootID, int(configSize)))
}

//go:wasmexport proxy_on_context_create
func exportOnContextCreate(id, parent uint32) { handler.OnContextCreate(id, parent) }

//go:wasmexport proxy_on_request_headers
func exportOnRequestHeaders(id uint32, headers int32, end int32) uint32 {
	return uint32(handler.OnRequestHeaders(id, int(headers), end != 0))
}

//go:wasmexport proxy_on_request_body
func exportOnRequestBody(id uint32, size int32, end int32) uint32 {
	return uint32(handler.OnRequestBody(id, int(size), end != 0))
}

//go:wasmexport proxy_on_request_trailers
func exportOnRequestTrailers(id uint32, trailers int32) uint32 {
	return uint32(handler.OnRequestTrailers(id, int(trailers)))
}

//go:wasmexport proxy_on_response_headers
func exportOnResponseHeaders(id uint32, headers int32, end int32) uint32 {
	return uint32(handler.OnResponseHeaders(id, int(headers), end != 0))
}

//go:wasmexport proxy_on_log
func exportOnLog(id uint32) { handler.OnLog(id) }

//go:wasmexport proxy_on_delete
func exportOnDelete(id uint32) { handler.OnDelete(id) }

//go:wasmexport proxy_on_tick
func exportOnTick(rootID uint32) { handler.OnTick(rootID) }

//go:wasmexport proxy_on_http_call_response
func exportOnHTTPCallResponse(rootID, token uint32, headers, bodySize, trailers int32) {
	handler.OnHTTPCallResponse(rootID, token, int(headers), int(bodySize), int(trailers))
}
