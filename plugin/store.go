package main

import (
	"unsafe"

	"github.com/apigw-wasm/apigw-wasm/internal/limit"
)

// sharedData is the limiter's store: proxy-wasm shared data, one map for all workers of the
// VM id, updated with compare-and-swap. It counts lost swaps in apigw.limit.cas_mismatch, the
// measure of contention between workers.
type sharedData struct {
	host       host
	mismatches uint32 // the metric's id, 0 until first used
}

func (s *sharedData) Get(key string) ([]byte, uint32, bool, error) {
	v, cas, found, err := s.host.sharedData(key)
	return unsafeBytes(v), cas, found, err
}

func (s *sharedData) Set(key string, value []byte, cas uint32) error {
	err := s.host.setSharedData(key, value, cas)
	if err == limit.ErrCASMismatch {
		s.countMismatch()
	}
	return err
}

// countMismatch adds one to apigw.limit.cas_mismatch; a metric the host refuses is logged,
// as every failed host call is, and the swap's result stands.
func (s *sharedData) countMismatch() {
	if s.mismatches == 0 {
		id, err := s.host.defineCounter("apigw.limit.cas_mismatch")
		if err != nil {
			logHostError(s.host, err, "")
			return
		}
		s.mismatches = id
	}
	if err := s.host.increment(s.mismatches, 1); err != nil {
		logHostError(s.host, err, "")
	}
}

// unsafeBytes views a host buffer as bytes; the limiter only reads what Get returns.
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
