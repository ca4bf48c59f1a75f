// Host calls of the proxy-wasm 0.2.0 ABI for upstream Go (GOOS=wasip1).
//
// This file is not a package of this module: the wasm build (build/wasmbuild) lays it into the
// SDK's proxywasm/internal package through a go build -overlay, in place of the SDK's native
// mock (abi_hostcalls_mock.go). The SDK declares these functions with TinyGo's //export and Go's
// int; the host speaks wasm32 i32, so every size is narrowed to int32 here and every pointer the
// host writes back lands in a 32-bit slot that is widened afterwards.

//go:build apigw_sdkshim

package internal

import "unsafe"

//go:wasmimport env proxy_log
func hostLog(level uint32, msg unsafe.Pointer, size int32) uint32

//go:wasmimport env proxy_send_local_response
func hostSendLocalResponse(code uint32, details unsafe.Pointer, detailsSize int32, body unsafe.Pointer, bodySize int32,
	headers unsafe.Pointer, headersSize int32, grpcStatus int32) uint32

//go:wasmimport env proxy_get_shared_data
func hostGetSharedData(key unsafe.Pointer, keySize int32, retData unsafe.Pointer, retSize unsafe.Pointer, retCas unsafe.Pointer) uint32

//go:wasmimport env proxy_set_shared_data
func hostSetSharedData(key unsafe.Pointer, keySize int32, value unsafe.Pointer, valueSize int32, cas uint32) uint32

//go:wasmimport env proxy_register_shared_queue
func hostRegisterSharedQueue(name unsafe.Pointer, nameSize int32, retID unsafe.Pointer) uint32

//go:wasmimport env proxy_resolve_shared_queue
func hostResolveSharedQueue(vmID unsafe.Pointer, vmIDSize int32, name unsafe.Pointer, nameSize int32, retID unsafe.Pointer) uint32

//go:wasmimport env proxy_dequeue_shared_queue
func hostDequeueSharedQueue(queueID uint32, retData unsafe.Pointer, retSize unsafe.Pointer) uint32

//go:wasmimport env proxy_enqueue_shared_queue
func hostEnqueueSharedQueue(queueID uint32, value unsafe.Pointer, valueSize int32) uint32

//go:wasmimport env proxy_get_header_map_value
func hostGetHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize int32, retData unsafe.Pointer, retSize unsafe.Pointer) uint32

//go:wasmimport env proxy_add_header_map_value
func hostAddHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize int32, value unsafe.Pointer, valueSize int32) uint32

//go:wasmimport env proxy_replace_header_map_value
func hostReplaceHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize int32, value unsafe.Pointer, valueSize int32) uint32

//go:wasmimport env proxy_remove_header_map_value
func hostRemoveHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize int32) uint32

//go:wasmimport env proxy_get_header_map_pairs
func hostGetHeaderMapPairs(mapType uint32, retData unsafe.Pointer, retSize unsafe.Pointer) uint32

//go:wasmimport env proxy_set_header_map_pairs
func hostSetHeaderMapPairs(mapType uint32, data unsafe.Pointer, size int32) uint32

//go:wasmimport env proxy_get_buffer_bytes
func hostGetBufferBytes(bufferType uint32, start int32, maxSize int32, retData unsafe.Pointer, retSize unsafe.Pointer) uint32

//go:wasmimport env proxy_set_buffer_bytes
func hostSetBufferBytes(bufferType uint32, start int32, maxSize int32, data unsafe.Pointer, size int32) uint32

//go:wasmimport env proxy_continue_stream
func hostContinueStream(streamType uint32) uint32

//go:wasmimport env proxy_close_stream
func hostCloseStream(streamType uint32) uint32

//go:wasmimport env proxy_http_call
func hostHttpCall(upstream unsafe.Pointer, upstreamSize int32, headers unsafe.Pointer, headersSize int32,
	body unsafe.Pointer, bodySize int32, trailers unsafe.Pointer, trailersSize int32, timeout uint32, retID unsafe.Pointer) uint32

//go:wasmimport env proxy_call_foreign_function
func hostCallForeignFunction(name unsafe.Pointer, nameSize int32, param unsafe.Pointer, paramSize int32, retData unsafe.Pointer, retSize unsafe.Pointer) uint32

//go:wasmimport env proxy_set_tick_period_milliseconds
func hostSetTickPeriodMilliseconds(period uint32) uint32

//go:wasmimport env proxy_set_effective_context
func hostSetEffectiveContext(contextID uint32) uint32

//go:wasmimport env proxy_done
func hostDone() uint32

//go:wasmimport env proxy_define_metric
func hostDefineMetric(metricType uint32, name unsafe.Pointer, nameSize int32, retID unsafe.Pointer) uint32

//go:wasmimport env proxy_increment_metric
func hostIncrementMetric(metricID uint32, offset int64) uint32

//go:wasmimport env proxy_record_metric
func hostRecordMetric(metricID uint32, value uint64) uint32

//go:wasmimport env proxy_get_metric
func hostGetMetric(metricID uint32, retValue unsafe.Pointer) uint32

//go:wasmimport env proxy_get_property
func hostGetProperty(path unsafe.Pointer, pathSize int32, retData unsafe.Pointer, retSize unsafe.Pointer) uint32

//go:wasmimport env proxy_set_property
func hostSetProperty(path unsafe.Pointer, pathSize int32, value unsafe.Pointer, valueSize int32) uint32

// hostBuffer is where the host writes a returned buffer: a wasm32 address and an i32 length.
type hostBuffer struct {
	ptr  uint32
	size int32
}

// store widens the host's answer into the SDK's out-parameters.
func (b *hostBuffer) store(data **byte, size *int) {
	*data = (*byte)(unsafe.Pointer(uintptr(b.ptr)))
	*size = int(b.size)
}

func ptr(b *byte) unsafe.Pointer { return unsafe.Pointer(b) }

func ProxyLog(logLevel LogLevel, messageData *byte, messageSize int) Status {
	return Status(hostLog(uint32(logLevel), ptr(messageData), int32(messageSize)))
}

func ProxySendLocalResponse(statusCode uint32, statusCodeDetailData *byte, statusCodeDetailsSize int,
	bodyData *byte, bodySize int, headersData *byte, headersSize int, grpcStatus int32) Status {
	return Status(hostSendLocalResponse(statusCode, ptr(statusCodeDetailData), int32(statusCodeDetailsSize),
		ptr(bodyData), int32(bodySize), ptr(headersData), int32(headersSize), grpcStatus))
}

func ProxyGetSharedData(keyData *byte, keySize int, returnValueData **byte, returnValueSize *int, returnCas *uint32) Status {
	var b hostBuffer
	var cas uint32
	st := Status(hostGetSharedData(ptr(keyData), int32(keySize), unsafe.Pointer(&b.ptr), unsafe.Pointer(&b.size), unsafe.Pointer(&cas)))
	b.store(returnValueData, returnValueSize)
	*returnCas = cas
	return st
}

func ProxySetSharedData(keyData *byte, keySize int, valueData *byte, valueSize int, cas uint32) Status {
	return Status(hostSetSharedData(ptr(keyData), int32(keySize), ptr(valueData), int32(valueSize), cas))
}

func ProxyRegisterSharedQueue(nameData *byte, nameSize int, returnID *uint32) Status {
	return Status(hostRegisterSharedQueue(ptr(nameData), int32(nameSize), unsafe.Pointer(returnID)))
}

func ProxyResolveSharedQueue(vmIDData *byte, vmIDSize int, nameData *byte, nameSize int, returnID *uint32) Status {
	return Status(hostResolveSharedQueue(ptr(vmIDData), int32(vmIDSize), ptr(nameData), int32(nameSize), unsafe.Pointer(returnID)))
}

func ProxyDequeueSharedQueue(queueID uint32, returnValueData **byte, returnValueSize *int) Status {
	var b hostBuffer
	st := Status(hostDequeueSharedQueue(queueID, unsafe.Pointer(&b.ptr), unsafe.Pointer(&b.size)))
	b.store(returnValueData, returnValueSize)
	return st
}

func ProxyEnqueueSharedQueue(queueID uint32, valueData *byte, valueSize int) Status {
	return Status(hostEnqueueSharedQueue(queueID, ptr(valueData), int32(valueSize)))
}

func ProxyGetHeaderMapValue(mapType MapType, keyData *byte, keySize int, returnValueData **byte, returnValueSize *int) Status {
	var b hostBuffer
	st := Status(hostGetHeaderMapValue(uint32(mapType), ptr(keyData), int32(keySize), unsafe.Pointer(&b.ptr), unsafe.Pointer(&b.size)))
	b.store(returnValueData, returnValueSize)
	return st
}

func ProxyAddHeaderMapValue(mapType MapType, keyData *byte, keySize int, valueData *byte, valueSize int) Status {
	return Status(hostAddHeaderMapValue(uint32(mapType), ptr(keyData), int32(keySize), ptr(valueData), int32(valueSize)))
}

func ProxyReplaceHeaderMapValue(mapType MapType, keyData *byte, keySize int, valueData *byte, valueSize int) Status {
	return Status(hostReplaceHeaderMapValue(uint32(mapType), ptr(keyData), int32(keySize), ptr(valueData), int32(valueSize)))
}

func ProxyRemoveHeaderMapValue(mapType MapType, keyData *byte, keySize int) Status {
	return Status(hostRemoveHeaderMapValue(uint32(mapType), ptr(keyData), int32(keySize)))
}

func ProxyGetHeaderMapPairs(mapType MapType, returnValueData **byte, returnValueSize *int) Status {
	var b hostBuffer
	st := Status(hostGetHeaderMapPairs(uint32(mapType), unsafe.Pointer(&b.ptr), unsafe.Pointer(&b.size)))
	b.store(returnValueData, returnValueSize)
	return st
}

func ProxySetHeaderMapPairs(mapType MapType, mapData *byte, mapSize int) Status {
	return Status(hostSetHeaderMapPairs(uint32(mapType), ptr(mapData), int32(mapSize)))
}

func ProxyGetBufferBytes(bufferType BufferType, start int, maxSize int, returnBufferData **byte, returnBufferSize *int) Status {
	var b hostBuffer
	st := Status(hostGetBufferBytes(uint32(bufferType), int32(start), int32(maxSize), unsafe.Pointer(&b.ptr), unsafe.Pointer(&b.size)))
	b.store(returnBufferData, returnBufferSize)
	return st
}

func ProxySetBufferBytes(bufferType BufferType, start int, maxSize int, bufferData *byte, bufferSize int) Status {
	return Status(hostSetBufferBytes(uint32(bufferType), int32(start), int32(maxSize), ptr(bufferData), int32(bufferSize)))
}

func ProxyContinueStream(streamType StreamType) Status {
	return Status(hostContinueStream(uint32(streamType)))
}

func ProxyCloseStream(streamType StreamType) Status {
	return Status(hostCloseStream(uint32(streamType)))
}

func ProxyHttpCall(upstreamData *byte, upstreamSize int, headerData *byte, headerSize int,
	bodyData *byte, bodySize int, trailersData *byte, trailersSize int, timeout uint32, calloutIDPtr *uint32,
) Status {
	return Status(hostHttpCall(ptr(upstreamData), int32(upstreamSize), ptr(headerData), int32(headerSize),
		ptr(bodyData), int32(bodySize), ptr(trailersData), int32(trailersSize), timeout, unsafe.Pointer(calloutIDPtr)))
}

func ProxyCallForeignFunction(funcNamePtr *byte, funcNameSize int, paramPtr *byte, paramSize int, returnData **byte, returnSize *int) Status {
	var b hostBuffer
	st := Status(hostCallForeignFunction(ptr(funcNamePtr), int32(funcNameSize), ptr(paramPtr), int32(paramSize),
		unsafe.Pointer(&b.ptr), unsafe.Pointer(&b.size)))
	b.store(returnData, returnSize)
	return st
}

func ProxySetTickPeriodMilliseconds(period uint32) Status {
	return Status(hostSetTickPeriodMilliseconds(period))
}

func ProxySetEffectiveContext(contextID uint32) Status {
	return Status(hostSetEffectiveContext(contextID))
}

func ProxyDone() Status { return Status(hostDone()) }

func ProxyDefineMetric(metricType MetricType, metricNameData *byte, metricNameSize int, returnMetricIDPtr *uint32) Status {
	return Status(hostDefineMetric(uint32(metricType), ptr(metricNameData), int32(metricNameSize), unsafe.Pointer(returnMetricIDPtr)))
}

func ProxyIncrementMetric(metricID uint32, offset int64) Status {
	return Status(hostIncrementMetric(metricID, offset))
}

func ProxyRecordMetric(metricID uint32, value uint64) Status {
	return Status(hostRecordMetric(metricID, value))
}

func ProxyGetMetric(metricID uint32, returnMetricValue *uint64) Status {
	return Status(hostGetMetric(metricID, unsafe.Pointer(returnMetricValue)))
}

func ProxyGetProperty(pathData *byte, pathSize int, returnValueData **byte, returnValueSize *int) Status {
	var b hostBuffer
	st := Status(hostGetProperty(ptr(pathData), int32(pathSize), unsafe.Pointer(&b.ptr), unsafe.Pointer(&b.size)))
	b.store(returnValueData, returnValueSize)
	return st
}

func ProxySetProperty(pathData *byte, pathSize int, valueData *byte, valueSize int) Status {
	return Status(hostSetProperty(ptr(pathData), int32(pathSize), ptr(valueData), int32(valueSize)))
}
