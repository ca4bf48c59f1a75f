// Callbacks of the proxy-wasm 0.2.0 ABI for upstream Go (GOOS=wasip1).
//
// Laid into the SDK's proxywasm/internal package by the wasm build, like hostcalls.go. The SDK's
// callbacks carry TinyGo's //export, which upstream Go ignores; these //go:wasmexport wrappers
// give the host the i32 signatures it calls and forward to the SDK's own functions.

//go:build apigw_sdkshim

package internal

import (
	"unsafe"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

func boolI32(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

//go:wasmexport proxy_abi_version_0_2_0
func exportABIVersion() { proxyABIVersion() }

//go:wasmexport proxy_on_memory_allocate
func exportOnMemoryAllocate(size uint32) unsafe.Pointer {
	if size == 0 {
		size = 1 // the SDK indexes buf[0]
	}
	return unsafe.Pointer(proxyOnMemoryAllocate(uint(size)))
}

//go:wasmexport proxy_on_context_create
func exportOnContextCreate(contextID, parentID uint32) { proxyOnContextCreate(contextID, parentID) }

//go:wasmexport proxy_on_vm_start
func exportOnVMStart(contextID uint32, configSize int32) int32 {
	return boolI32(bool(proxyOnVMStart(contextID, int(configSize))))
}

//go:wasmexport proxy_on_configure
func exportOnConfigure(contextID uint32, configSize int32) int32 {
	return boolI32(bool(proxyOnConfigure(contextID, int(configSize))))
}

//go:wasmexport proxy_on_new_connection
func exportOnNewConnection(contextID uint32) uint32 { return uint32(proxyOnNewConnection(contextID)) }

//go:wasmexport proxy_on_downstream_data
func exportOnDownstreamData(contextID uint32, size int32, end int32) uint32 {
	return uint32(proxyOnDownstreamData(contextID, int(size), end != 0))
}

//go:wasmexport proxy_on_downstream_connection_close
func exportOnDownstreamConnectionClose(contextID uint32, peer uint32) {
	proxyOnDownstreamConnectionClose(contextID, types.PeerType(peer))
}

//go:wasmexport proxy_on_upstream_data
func exportOnUpstreamData(contextID uint32, size int32, end int32) uint32 {
	return uint32(proxyOnUpstreamData(contextID, int(size), end != 0))
}

//go:wasmexport proxy_on_upstream_connection_close
func exportOnUpstreamConnectionClose(contextID uint32, peer uint32) {
	proxyOnUpstreamConnectionClose(contextID, types.PeerType(peer))
}

//go:wasmexport proxy_on_request_headers
func exportOnRequestHeaders(contextID uint32, count int32, end int32) uint32 {
	return uint32(proxyOnRequestHeaders(contextID, int(count), end != 0))
}

//go:wasmexport proxy_on_request_body
func exportOnRequestBody(contextID uint32, size int32, end int32) uint32 {
	return uint32(proxyOnRequestBody(contextID, int(size), end != 0))
}

//go:wasmexport proxy_on_request_trailers
func exportOnRequestTrailers(contextID uint32, count int32) uint32 {
	return uint32(proxyOnRequestTrailers(contextID, int(count)))
}

//go:wasmexport proxy_on_response_headers
func exportOnResponseHeaders(contextID uint32, count int32, end int32) uint32 {
	return uint32(proxyOnResponseHeaders(contextID, int(count), end != 0))
}

//go:wasmexport proxy_on_response_body
func exportOnResponseBody(contextID uint32, size int32, end int32) uint32 {
	return uint32(proxyOnResponseBody(contextID, int(size), end != 0))
}

//go:wasmexport proxy_on_response_trailers
func exportOnResponseTrailers(contextID uint32, count int32) uint32 {
	return uint32(proxyOnResponseTrailers(contextID, int(count)))
}

//go:wasmexport proxy_on_http_call_response
func exportOnHttpCallResponse(contextID, calloutID uint32, headers, bodySize, trailers int32) {
	proxyOnHttpCallResponse(contextID, calloutID, int(headers), int(bodySize), int(trailers))
}

//go:wasmexport proxy_on_log
func exportOnLog(contextID uint32) { proxyOnLog(contextID) }

//go:wasmexport proxy_on_done
func exportOnDone(contextID uint32) int32 { return boolI32(proxyOnDone(contextID)) }

//go:wasmexport proxy_on_delete
func exportOnDelete(contextID uint32) { proxyOnDelete(contextID) }

//go:wasmexport proxy_on_queue_ready
func exportOnQueueReady(contextID, queueID uint32) { proxyOnQueueReady(contextID, queueID) }

//go:wasmexport proxy_on_tick
func exportOnTick(contextID uint32) { proxyOnTick(contextID) }
