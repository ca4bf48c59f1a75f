//go:build wasip1

package main

import (
	"time"
	"unsafe"
)

// The request path's host calls, made directly on the proxy-wasm ABI instead of through the SDK:
// a returned buffer is read in place (the SDK copies it into strings or maps), property paths
// are constants, and request headers come in one call. Each crossing into Envoy costs about a
// microsecond, and one that returns data costs a second crossing back in (the host calls
// proxy_on_memory_allocate for the buffer); see docs/performance.md.

//go:wasmimport env proxy_get_header_map_pairs
func abiGetHeaderMapPairs(mapType uint32, retData unsafe.Pointer, retSize unsafe.Pointer) uint32

//go:wasmimport env proxy_get_header_map_value
func abiGetHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize int32, retData unsafe.Pointer, retSize unsafe.Pointer) uint32

//go:wasmimport env proxy_replace_header_map_value
func abiReplaceHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize int32, value unsafe.Pointer, valueSize int32) uint32

//go:wasmimport env proxy_get_property
func abiGetProperty(path unsafe.Pointer, pathSize int32, retData unsafe.Pointer, retSize unsafe.Pointer) uint32

//go:wasmimport env proxy_get_shared_data
func abiGetSharedData(key unsafe.Pointer, keySize int32, retData unsafe.Pointer, retSize unsafe.Pointer, retCas unsafe.Pointer) uint32

//go:wasmimport env proxy_set_shared_data
func abiSetSharedData(key unsafe.Pointer, keySize int32, value unsafe.Pointer, valueSize int32, cas uint32) uint32

//go:wasmimport env proxy_get_current_time_nanoseconds
func abiGetCurrentTimeNanoseconds(retTime unsafe.Pointer) uint32

// wallClock is the host's wall clock in one host call; time.Now makes two (wall and monotonic).
func wallClock() time.Time {
	var ns int64
	if abiGetCurrentTimeNanoseconds(unsafe.Pointer(&ns)) != uint32(statusOK) {
		return time.Now()
	}
	return time.Unix(0, ns)
}

// returned is a buffer the host allocated in this module's memory (through
// proxy_on_memory_allocate, a Go allocation) and filled: a wasm32 address and a length.
type returned struct {
	ptr  uint32
	size int32
}

// string views the buffer in place. No allocation happens between the host call and this
// conversion, so the collector cannot have reclaimed the buffer; the string keeps it alive.
func (r *returned) string() string {
	if r.ptr == 0 || r.size <= 0 {
		return ""
	}
	return unsafe.String((*byte)(unsafe.Add(nil, uintptr(r.ptr))), int(r.size))
}

func strPtr(s string) unsafe.Pointer { return unsafe.Pointer(unsafe.StringData(s)) }

func headerPairs(m mapType) (string, abiStatus) {
	var r returned
	st := abiStatus(abiGetHeaderMapPairs(uint32(m), unsafe.Pointer(&r.ptr), unsafe.Pointer(&r.size)))
	return r.string(), st
}

func headerValue(m mapType, name string) (string, abiStatus) {
	var r returned
	st := abiStatus(abiGetHeaderMapValue(uint32(m), strPtr(name), int32(len(name)), unsafe.Pointer(&r.ptr), unsafe.Pointer(&r.size)))
	return r.string(), st
}

func replaceHeader(m mapType, name, value string) abiStatus {
	return abiStatus(abiReplaceHeaderMapValue(uint32(m), strPtr(name), int32(len(name)), strPtr(value), int32(len(value))))
}

func getProperty(path string) (string, abiStatus) {
	var r returned
	st := abiStatus(abiGetProperty(strPtr(path), int32(len(path)), unsafe.Pointer(&r.ptr), unsafe.Pointer(&r.size)))
	return r.string(), st
}

func getSharedData(key string) (string, uint32, abiStatus) {
	var r returned
	var cas uint32
	st := abiStatus(abiGetSharedData(strPtr(key), int32(len(key)), unsafe.Pointer(&r.ptr), unsafe.Pointer(&r.size), unsafe.Pointer(&cas)))
	return r.string(), cas, st
}

func setSharedData(key string, value []byte, cas uint32) abiStatus {
	return abiStatus(abiSetSharedData(strPtr(key), int32(len(key)), unsafe.Pointer(unsafe.SliceData(value)), int32(len(value)), cas))
}
