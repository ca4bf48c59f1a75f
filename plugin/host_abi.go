package main

import (
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/limit"
	"github.com/apigw-wasm/apigw-wasm/plugin/abi"
)

// abiHost is the host in the wasm build: direct calls of the proxy-wasm ABI. Buffers the host
// returns are read in place (strings over module memory the host filled), property paths are
// constants, and every call reports its status in one way.
type abiHost struct{}

func fail(op string, st abi.Status) error {
	if st == abi.StatusOK {
		return nil
	}
	return &hostError{op: op, status: st}
}

func (abiHost) log(level abi.LogLevel, msg string) { abi.Log(level, msg) }

func (abiHost) now() time.Time {
	if ns, st := abi.Now(); st == abi.StatusOK {
		return time.Unix(0, ns)
	}
	return time.Now()
}

func (abiHost) buffer(b abi.BufferType, start, size int) (string, error) {
	v, st := abi.BufferBytes(b, start, size)
	if st == abi.StatusNotFound || st == abi.StatusEmpty {
		return "", nil
	}
	return v, fail("get buffer", st)
}

func (abiHost) setBuffer(b abi.BufferType, data []byte) error {
	// start 0 and a size beyond any buffer replace the whole of it
	return fail("set buffer", abi.SetBufferBytes(b, 0, 1<<30, data))
}

func (abiHost) headerPairs(m abi.MapType) (string, error) {
	v, st := abi.HeaderPairs(m)
	return v, fail("get header pairs", st)
}

func (abiHost) header(m abi.MapType, name string) (string, bool, error) {
	v, st := abi.HeaderValue(m, name)
	switch st {
	case abi.StatusOK:
		return v, true, nil
	case abi.StatusNotFound:
		return "", false, nil
	}
	return "", false, &hostError{op: "get header " + name, status: st}
}

func (abiHost) setHeader(m abi.MapType, name, value string) error {
	// The op's name is made only on failure: this runs for every header the gateway writes.
	if st := abi.ReplaceHeader(m, name, value); st != abi.StatusOK {
		return &hostError{op: "set header " + name, status: st}
	}
	return nil
}

func (abiHost) removeHeader(m abi.MapType, name string) error {
	if st := abi.RemoveHeader(m, name); st != abi.StatusOK && st != abi.StatusNotFound {
		return &hostError{op: "remove header " + name, status: st}
	}
	return nil
}

func (abiHost) property(path string) (string, bool, error) {
	v, st := abi.Property(path)
	if st == abi.StatusNotFound {
		return "", false, nil
	}
	return v, st == abi.StatusOK, fail("get property", st)
}

func (abiHost) sharedData(key string) (string, uint32, bool, error) {
	v, cas, st := abi.SharedData(key)
	if st == abi.StatusNotFound {
		return "", 0, false, nil
	}
	return v, cas, st == abi.StatusOK, fail("get shared data", st)
}

func (abiHost) setSharedData(key string, value []byte, cas uint32) error {
	st := abi.SetSharedData(key, value, cas)
	if st == abi.StatusCASMismatch {
		return limit.ErrCASMismatch
	}
	return fail("set shared data", st)
}

func (abiHost) sendReply(status int, headers [][2]string, body []byte, details string) error {
	return fail("send local response", abi.SendLocalResponse(uint32(status), details, body, abi.AppendPairs(nil, headers)))
}

func (abiHost) continueRequest() error {
	return fail("continue request", abi.ContinueStream(abi.StreamRequest))
}

func (abiHost) setEffectiveContext(id uint32) error {
	return fail("set effective context", abi.SetEffectiveContext(id))
}

func (abiHost) setTickPeriod(ms uint32) error { return fail("set tick period", abi.SetTickPeriod(ms)) }

func (abiHost) httpCall(cluster string, headers [][2]string, body []byte, timeout time.Duration) (uint32, error) {
	token, st := abi.HTTPCall(cluster, abi.AppendPairs(nil, headers), body, abi.AppendPairs(nil, nil), uint32(timeout.Milliseconds()))
	return token, fail("http call to "+cluster, st)
}

func (abiHost) defineCounter(name string) (uint32, error) {
	id, st := abi.DefineMetric(abi.Counter, name)
	return id, fail("define metric "+name, st)
}

func (abiHost) increment(id uint32, delta int64) error {
	return fail("increment metric", abi.IncrementMetric(id, delta))
}

func (abiHost) returned(s string) bool { return abi.Returned(s) }

func (abiHost) keepReturned() { abi.KeepReturned() }
