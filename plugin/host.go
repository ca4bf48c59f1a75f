package main

import (
	"errors"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/apigw-wasm/apigw-wasm/internal/limit"
)

// hostHeaders reads request headers from the host: one value at a time while the gateway
// asks for single values, and all pairs at once the first time it asks for every value of a
// header (HMAC checks repeated headers).
type hostHeaders struct {
	pairs  [][2]string
	values []string // values[i] is pairs[i][1]: a single value is returned as values[i:i+1]
	loaded bool
}

func (h *hostHeaders) Get(name string) (string, bool) {
	if h.loaded {
		for _, kv := range h.pairs {
			if kv[0] == name {
				return kv[1], true
			}
		}
		return "", false
	}
	v, err := proxywasm.GetHttpRequestHeader(name)
	if err != nil {
		return "", false
	}
	return v, true
}

func (h *hostHeaders) Values(name string) []string {
	if !h.loaded {
		h.pairs, _ = proxywasm.GetHttpRequestHeaders()
		h.values = make([]string, len(h.pairs))
		for i, kv := range h.pairs {
			h.values[i] = kv[1]
		}
		h.loaded = true
	}
	first, n := -1, 0
	for i, kv := range h.pairs {
		if kv[0] == name {
			if n == 0 {
				first = i
			}
			n++
		}
	}
	switch n {
	case 0:
		return nil
	case 1:
		return h.values[first : first+1 : first+1]
	}
	out := make([]string, 0, n)
	for _, kv := range h.pairs[first:] {
		if kv[0] == name {
			out = append(out, kv[1])
		}
	}
	return out
}

// sharedData is the limiter's store: proxy-wasm shared data, one map for all workers of the
// VM id, updated with compare-and-swap. It counts lost swaps in apigw.limit.cas_mismatch, the
// measure of contention between workers.
type sharedData struct {
	mismatches proxywasm.MetricCounter
	defined    bool
}

func (*sharedData) Get(key string) ([]byte, uint32, bool, error) {
	v, cas, err := proxywasm.GetSharedData(key)
	if errors.Is(err, types.ErrorStatusNotFound) {
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, err
	}
	return v, cas, true, nil
}

func (s *sharedData) Set(key string, value []byte, cas uint32) error {
	err := proxywasm.SetSharedData(key, value, cas)
	if errors.Is(err, types.ErrorStatusCasMismatch) {
		if !s.defined {
			s.mismatches, s.defined = proxywasm.DefineCounterMetric("apigw.limit.cas_mismatch"), true
		}
		s.mismatches.Increment(1)
		return limit.ErrCASMismatch
	}
	return err
}
