package main

import (
	"errors"
	"time"

	"github.com/apigw-wasm/apigw-wasm/plugin/abi"
)

// host is what the plugin needs of Envoy. Calls act on the context of the current callback (or
// the one setEffectiveContext named). An absent value is found == false, never an error;
// errors are failures of the host call, and callers hand them to one place (logHostError).
type host interface {
	log(level abi.LogLevel, msg string)
	now() time.Time

	buffer(b abi.BufferType, start, size int) (string, error)
	setBuffer(b abi.BufferType, data []byte) error
	headerPairs(m abi.MapType) (string, error)
	header(m abi.MapType, name string) (value string, found bool, err error)
	setHeader(m abi.MapType, name, value string) error
	removeHeader(m abi.MapType, name string) error
	property(path string) (value string, found bool, err error)

	// sharedData and setSharedData are proxy-wasm shared data; setSharedData answers
	// limit.ErrCASMismatch when cas names another version.
	sharedData(key string) (value string, cas uint32, found bool, err error)
	setSharedData(key string, value []byte, cas uint32) error

	sendReply(status int, headers [][2]string, body []byte, details string) error
	continueRequest() error
	setEffectiveContext(id uint32) error
	setTickPeriod(ms uint32) error
	httpCall(cluster string, headers [][2]string, body []byte, timeout time.Duration) (token uint32, err error)

	defineCounter(name string) (uint32, error)
	increment(id uint32, delta int64) error

	// Values the host returns (headers, properties, shared data, buffers) are views of its
	// buffers, which the next callback reuses. returned reports whether s is one of this
	// callback's; keepReturned makes all of this callback's outlive it.
	returned(s string) bool
	keepReturned()
}

// hostError is a host call that failed.
type hostError struct {
	op     string
	status abi.Status
}

func (e *hostError) Error() string { return e.op + ": " + e.status.String() }

// errAbsent is the host's "not found" where a value was required.
var errAbsent = errors.New("not found")

// Property paths: the ABI separates path elements with NUL.
const (
	propTLSVersion    = "connection\x00tls_version"
	propSourceAddress = "source\x00address"
	propCodeDetails   = "response\x00code_details"
	propFlags         = "response\x00flags"
)

// intProperty reads an integer attribute: 8 bytes, little-endian.
func intProperty(h host, path string) (uint64, error) {
	v, found, err := h.property(path)
	if err != nil || !found {
		return 0, err
	}
	if len(v) != 8 {
		return 0, &hostError{op: "property " + path, status: abi.StatusSerializationFailure}
	}
	return uint64(v[0]) | uint64(v[1])<<8 | uint64(v[2])<<16 | uint64(v[3])<<24 |
		uint64(v[4])<<32 | uint64(v[5])<<40 | uint64(v[6])<<48 | uint64(v[7])<<56, nil
}
