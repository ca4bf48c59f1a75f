package main

import (
	"fmt"
	"unsafe"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"

	"github.com/apigw-wasm/apigw-wasm/internal/gateway"
	"github.com/apigw-wasm/apigw-wasm/internal/limit"
)

// loadRequestHeaders reads every request header with one host call.
func loadRequestHeaders() (*gateway.HeaderList, bool) {
	raw, st := headerPairs(requestHeaders)
	if st != statusOK {
		return &gateway.HeaderList{}, false
	}
	fields, ok := parsePairs(raw)
	return &gateway.HeaderList{Fields: fields}, ok
}

// sharedData is the limiter's store: proxy-wasm shared data, one map for all workers of the
// VM id, updated with compare-and-swap. It counts lost swaps in apigw.limit.cas_mismatch, the
// measure of contention between workers.
type sharedData struct {
	mismatches proxywasm.MetricCounter
	defined    bool
}

func (*sharedData) Get(key string) ([]byte, uint32, bool, error) {
	v, cas, st := getSharedData(key)
	switch st {
	case statusOK:
		return unsafeBytes(v), cas, true, nil
	case statusNotFound:
		return nil, 0, false, nil
	}
	return nil, 0, false, fmt.Errorf("get shared data: status %d", st)
}

func (s *sharedData) Set(key string, value []byte, cas uint32) error {
	st := setSharedData(key, value, cas)
	if st == statusCasMismatch {
		if !s.defined {
			s.mismatches, s.defined = proxywasm.DefineCounterMetric("apigw.limit.cas_mismatch"), true
		}
		s.mismatches.Increment(1)
		return limit.ErrCASMismatch
	}
	if st != statusOK {
		return fmt.Errorf("set shared data: status %d", st)
	}
	return nil
}

// unsafeBytes views a host buffer as bytes; the limiter only reads what Get returns.
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
