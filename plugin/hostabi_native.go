//go:build !wasip1

package main

import (
	"encoding/binary"
	"errors"
	"strings"
	"time"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

// Outside wasm (unit tests under the SDK's proxytest emulator) the request path's host calls go
// through the SDK, with the same results as the direct ABI calls of hostabi_wasm.go.

func statusOf(err error) abiStatus {
	switch {
	case err == nil:
		return statusOK
	case errors.Is(err, types.ErrorStatusNotFound):
		return statusNotFound
	case errors.Is(err, types.ErrorStatusCasMismatch):
		return statusCasMismatch
	}
	return statusBadArgument
}

// headerPairs serializes the SDK's pairs as the host does: a count, then each name and value
// length, then each name and value followed by a NUL.
func headerPairs(m mapType) (string, abiStatus) {
	var hs [][2]string
	var err error
	if m == requestHeaders {
		hs, err = proxywasm.GetHttpRequestHeaders()
	} else {
		hs, err = proxywasm.GetHttpResponseHeaders()
	}
	if err != nil {
		return "", statusOf(err)
	}
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(hs)))
	for _, kv := range hs {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(kv[0])))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(kv[1])))
	}
	for _, kv := range hs {
		b = append(append(append(append(b, kv[0]...), 0), kv[1]...), 0)
	}
	return string(b), statusOK
}

func headerValue(m mapType, name string) (string, abiStatus) {
	var v string
	var err error
	if m == requestHeaders {
		v, err = proxywasm.GetHttpRequestHeader(name)
	} else {
		v, err = proxywasm.GetHttpResponseHeader(name)
	}
	return v, statusOf(err)
}

func replaceHeader(m mapType, name, value string) abiStatus {
	if m == requestHeaders {
		return statusOf(proxywasm.ReplaceHttpRequestHeader(name, value))
	}
	return statusOf(proxywasm.ReplaceHttpResponseHeader(name, value))
}

func getProperty(path string) (string, abiStatus) {
	v, err := proxywasm.GetProperty(strings.Split(path, "\x00"))
	return string(v), statusOf(err)
}

func getSharedData(key string) (string, uint32, abiStatus) {
	v, cas, err := proxywasm.GetSharedData(key)
	return string(v), cas, statusOf(err)
}

func setSharedData(key string, value []byte, cas uint32) abiStatus {
	return statusOf(proxywasm.SetSharedData(key, value, cas))
}

func wallClock() time.Time { return time.Now() }
