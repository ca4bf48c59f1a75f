//go:build wasip1

package abi

import "unsafe"

// The host's functions. Sizes are wasm32 i32; a pointer the host writes back lands in a 32-bit
// slot (returned).

//go:wasmimport env proxy_log
func hostLog(level uint32, msg unsafe.Pointer, size int32) uint32

//go:wasmimport env proxy_send_local_response
func hostSendLocalResponse(code uint32, details unsafe.Pointer, detailsSize int32, body unsafe.Pointer, bodySize int32,
	headers unsafe.Pointer, headersSize int32, grpcStatus int32) uint32

//go:wasmimport env proxy_get_shared_data
func hostGetSharedData(key unsafe.Pointer, keySize int32, retData unsafe.Pointer, retSize unsafe.Pointer, retCas unsafe.Pointer) uint32

//go:wasmimport env proxy_set_shared_data
func hostSetSharedData(key unsafe.Pointer, keySize int32, value unsafe.Pointer, valueSize int32, cas uint32) uint32

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

//go:wasmimport env proxy_http_call
func hostHTTPCall(upstream unsafe.Pointer, upstreamSize int32, headers unsafe.Pointer, headersSize int32,
	body unsafe.Pointer, bodySize int32, trailers unsafe.Pointer, trailersSize int32, timeout uint32, retToken unsafe.Pointer) uint32

//go:wasmimport env proxy_set_tick_period_milliseconds
func hostSetTickPeriodMilliseconds(period uint32) uint32

//go:wasmimport env proxy_set_effective_context
func hostSetEffectiveContext(contextID uint32) uint32

//go:wasmimport env proxy_define_metric
func hostDefineMetric(metricType uint32, name unsafe.Pointer, nameSize int32, retID unsafe.Pointer) uint32

//go:wasmimport env proxy_increment_metric
func hostIncrementMetric(metricID uint32, offset int64) uint32

//go:wasmimport env proxy_record_metric
func hostRecordMetric(metricID uint32, value uint64) uint32

//go:wasmimport env proxy_get_property
func hostGetProperty(path unsafe.Pointer, pathSize int32, retData unsafe.Pointer, retSize unsafe.Pointer) uint32

//go:wasmimport env proxy_get_current_time_nanoseconds
func hostGetCurrentTimeNanoseconds(retTime unsafe.Pointer) uint32

// returned is where the host writes a buffer it allocated in this module's memory (through
// proxy_on_memory_allocate) and filled: a wasm32 address and a length.
type returned struct {
	ptr  uint32
	size int32
}

// string views the buffer in place; the string keeps the allocation alive.
func (r *returned) string() string {
	if r.ptr == 0 || r.size <= 0 {
		return ""
	}
	return unsafe.String((*byte)(unsafe.Add(nil, uintptr(r.ptr))), int(r.size))
}

func strPtr(s string) unsafe.Pointer { return unsafe.Pointer(unsafe.StringData(s)) }

func bytesPtr(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }

// Log writes a line to Envoy's log at level.
func Log(level LogLevel, msg string) Status {
	return Status(hostLog(uint32(level), strPtr(msg), int32(len(msg))))
}

// SendLocalResponse answers the current stream; headers are the pairs serialization (AppendPairs).
func SendLocalResponse(status uint32, details string, body, headers []byte) Status {
	return Status(hostSendLocalResponse(status, strPtr(details), int32(len(details)), bytesPtr(body), int32(len(body)),
		bytesPtr(headers), int32(len(headers)), -1))
}

// SharedData reads a shared-data value and its cas.
func SharedData(key string) (string, uint32, Status) {
	var r returned
	var cas uint32
	st := Status(hostGetSharedData(strPtr(key), int32(len(key)), unsafe.Pointer(&r.ptr), unsafe.Pointer(&r.size), unsafe.Pointer(&cas)))
	return r.string(), cas, st
}

// SetSharedData writes a shared-data value; a cas other than 0 must match the stored one.
func SetSharedData(key string, value []byte, cas uint32) Status {
	return Status(hostSetSharedData(strPtr(key), int32(len(key)), bytesPtr(value), int32(len(value)), cas))
}

// HeaderValue reads one header of a map.
func HeaderValue(m MapType, name string) (string, Status) {
	var r returned
	st := Status(hostGetHeaderMapValue(uint32(m), strPtr(name), int32(len(name)), unsafe.Pointer(&r.ptr), unsafe.Pointer(&r.size)))
	return r.string(), st
}

// HeaderPairs reads a whole header map in the pairs serialization (ParsePairs).
func HeaderPairs(m MapType) (string, Status) {
	var r returned
	st := Status(hostGetHeaderMapPairs(uint32(m), unsafe.Pointer(&r.ptr), unsafe.Pointer(&r.size)))
	return r.string(), st
}

// SetHeaderPairs replaces a whole header map with a pairs serialization (AppendPairs).
func SetHeaderPairs(m MapType, pairs []byte) Status {
	return Status(hostSetHeaderMapPairs(uint32(m), bytesPtr(pairs), int32(len(pairs))))
}

// AddHeader adds a header line.
func AddHeader(m MapType, name, value string) Status {
	return Status(hostAddHeaderMapValue(uint32(m), strPtr(name), int32(len(name)), strPtr(value), int32(len(value))))
}

// ReplaceHeader sets a header, replacing every line of that name.
func ReplaceHeader(m MapType, name, value string) Status {
	return Status(hostReplaceHeaderMapValue(uint32(m), strPtr(name), int32(len(name)), strPtr(value), int32(len(value))))
}

// RemoveHeader removes every line of a header.
func RemoveHeader(m MapType, name string) Status {
	return Status(hostRemoveHeaderMapValue(uint32(m), strPtr(name), int32(len(name))))
}

// BufferBytes reads size bytes of a buffer from start.
func BufferBytes(b BufferType, start, size int) (string, Status) {
	var r returned
	st := Status(hostGetBufferBytes(uint32(b), int32(start), int32(size), unsafe.Pointer(&r.ptr), unsafe.Pointer(&r.size)))
	return r.string(), st
}

// SetBufferBytes replaces size bytes of a buffer from start with data.
func SetBufferBytes(b BufferType, start, size int, data []byte) Status {
	return Status(hostSetBufferBytes(uint32(b), int32(start), int32(size), bytesPtr(data), int32(len(data))))
}

// ContinueStream resumes a paused stream of the current context.
func ContinueStream(t StreamType) Status { return Status(hostContinueStream(uint32(t))) }

// HTTPCall sends a request to an Envoy cluster; the answer comes to the root context's
// OnHTTPCallResponse with the returned token. headers and trailers are pairs serializations.
func HTTPCall(cluster string, headers, body, trailers []byte, timeoutMS uint32) (uint32, Status) {
	var token uint32
	st := Status(hostHTTPCall(strPtr(cluster), int32(len(cluster)), bytesPtr(headers), int32(len(headers)),
		bytesPtr(body), int32(len(body)), bytesPtr(trailers), int32(len(trailers)), timeoutMS, unsafe.Pointer(&token)))
	return token, st
}

// SetTickPeriod makes the host call OnTick of the current root context every period ms (0: never).
func SetTickPeriod(ms uint32) Status { return Status(hostSetTickPeriodMilliseconds(ms)) }

// SetEffectiveContext makes later host calls of this callback act on another context.
func SetEffectiveContext(id uint32) Status { return Status(hostSetEffectiveContext(id)) }

// DefineMetric defines (or finds) a metric by name.
func DefineMetric(t MetricType, name string) (uint32, Status) {
	var id uint32
	st := Status(hostDefineMetric(uint32(t), strPtr(name), int32(len(name)), unsafe.Pointer(&id)))
	return id, st
}

// IncrementMetric adds delta to a counter or gauge.
func IncrementMetric(id uint32, delta int64) Status { return Status(hostIncrementMetric(id, delta)) }

// RecordMetric sets a gauge or records a histogram value.
func RecordMetric(id uint32, value uint64) Status { return Status(hostRecordMetric(id, value)) }

// Property reads an attribute; path elements are separated by NUL.
func Property(path string) (string, Status) {
	var r returned
	st := Status(hostGetProperty(strPtr(path), int32(len(path)), unsafe.Pointer(&r.ptr), unsafe.Pointer(&r.size)))
	return r.string(), st
}

// Now is the host's wall clock in nanoseconds since the Unix epoch (one host call; Go's time.Now
// makes two WASI calls).
func Now() (int64, Status) {
	var ns int64
	st := Status(hostGetCurrentTimeNanoseconds(unsafe.Pointer(&ns)))
	return ns, st
}
