// Package abi is the proxy-wasm ABI 0.2.0 for upstream Go (GOOS=wasip1): the host calls a
// module makes into Envoy, and the callbacks Envoy makes into the module, forwarded to one
// Handler. It is the only code of the project that touches the ABI: the plugin and the
// benchmark's modules build on it. Host calls return the host's Status; buffers the host hands
// back are read in place as strings. Outside wasm (go test, go vet) the host calls answer
// StatusUnimplemented and no callback is ever made.
package abi

import "encoding/binary"

// Status is the result of a host call.
type Status uint32

const (
	StatusOK                   Status = 0
	StatusNotFound             Status = 1
	StatusBadArgument          Status = 2
	StatusSerializationFailure Status = 3
	StatusParseFailure         Status = 4
	StatusEmpty                Status = 7
	StatusCASMismatch          Status = 8
	StatusInternalFailure      Status = 10
	StatusUnimplemented        Status = 12
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusNotFound:
		return "not found"
	case StatusBadArgument:
		return "bad argument"
	case StatusSerializationFailure:
		return "serialization failure"
	case StatusParseFailure:
		return "parse failure"
	case StatusEmpty:
		return "empty"
	case StatusCASMismatch:
		return "cas mismatch"
	case StatusInternalFailure:
		return "internal failure"
	case StatusUnimplemented:
		return "unimplemented"
	}
	return "status " + itoa(uint32(s))
}

func itoa(n uint32) string {
	var b [10]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		if n /= 10; n == 0 {
			return string(b[i:])
		}
	}
}

// MapType names a header map.
type MapType uint32

const (
	RequestHeaders          MapType = 0
	RequestTrailers         MapType = 1
	ResponseHeaders         MapType = 2
	ResponseTrailers        MapType = 3
	HTTPCallResponseHeaders MapType = 6
)

// BufferType names a buffer.
type BufferType uint32

const (
	RequestBody          BufferType = 0
	ResponseBody         BufferType = 1
	HTTPCallResponseBody BufferType = 4
	VMConfiguration      BufferType = 6
	PluginConfiguration  BufferType = 7
)

// Action is a stream callback's answer.
type Action uint32

const (
	Continue Action = 0
	Pause    Action = 1 // headers: stop iteration; body: stop iteration and buffer
)

// StreamType names the direction proxy_continue_stream resumes.
type StreamType uint32

const (
	StreamRequest  StreamType = 0
	StreamResponse StreamType = 1
)

// LogLevel is the level of a log line.
type LogLevel uint32

const (
	LogTrace LogLevel = iota
	LogDebug
	LogInfo
	LogWarn
	LogError
	LogCritical
)

// MetricType is the kind of a metric.
type MetricType uint32

const (
	Counter   MetricType = 0
	Gauge     MetricType = 1
	Histogram MetricType = 2
)

// Handler receives the callbacks of one VM. Context ids are the host's; a root context (a
// plugin configuration) has parent 0. Callbacks never run concurrently: a VM is one thread.
type Handler interface {
	OnVMStart(vmID uint32, configSize int) bool
	OnConfigure(rootID uint32, configSize int) bool
	OnContextCreate(id, parent uint32)
	OnRequestHeaders(id uint32, headers int, end bool) Action
	OnRequestBody(id uint32, size int, end bool) Action
	OnRequestTrailers(id uint32, trailers int) Action
	OnResponseHeaders(id uint32, headers int, end bool) Action
	OnLog(id uint32)
	OnDelete(id uint32)
	OnTick(rootID uint32)
	OnHTTPCallResponse(rootID, token uint32, headers, bodySize, trailers int)
}

var handler Handler

// SetHandler installs the VM's handler. Call it from an init function: a reactor module runs
// its package initializers in _initialize, and never main.
func SetHandler(h Handler) { handler = h }

// AppendPairs appends the ABI's serialization of header pairs: a little-endian uint32 count, a
// pair of uint32 lengths per field, then each name and value followed by a NUL.
func AppendPairs(b []byte, pairs [][2]string) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(pairs)))
	for _, kv := range pairs {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(kv[0])))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(kv[1])))
	}
	for _, kv := range pairs {
		b = append(append(append(append(b, kv[0]...), 0), kv[1]...), 0)
	}
	return b
}

// ParsePairs reads the pairs serialization in place: fn gets each name and value, substrings
// of b. It reports false for a buffer that does not add up; fn may have seen fields by then.
func ParsePairs(b string, fn func(name, value string)) bool {
	if len(b) < 4 {
		return len(b) == 0
	}
	n := le32(b, 0)
	if n < 0 || n > (len(b)-4)/8 {
		return false
	}
	lens := b[4 : 4+8*n]
	data := b[4+8*n:]
	for i := 0; i < n; i++ {
		nl, vl := le32(lens, 8*i), le32(lens, 8*i+4)
		if nl < 0 || vl < 0 || nl+vl+2 > len(data) || data[nl] != 0 || data[nl+1+vl] != 0 {
			return false
		}
		fn(data[:nl], data[nl+1:nl+1+vl])
		data = data[nl+vl+2:]
	}
	return true
}

// PairCount is the number of fields a pairs serialization announces (0 when it is too short).
func PairCount(b string) int {
	if len(b) < 4 {
		return 0
	}
	return le32(b, 0)
}

// le32 is the little-endian uint32 at s[i:], as an int (without converting s to bytes, a copy).
func le32(s string, i int) int {
	return int(uint32(s[i]) | uint32(s[i+1])<<8 | uint32(s[i+2])<<16 | uint32(s[i+3])<<24)
}

// Base is a Handler that does nothing: every stream continues, every configuration is taken.
// Small modules embed it and override what they use.
type Base struct{}

func (Base) OnVMStart(uint32, int) bool                       { return true }
func (Base) OnConfigure(uint32, int) bool                     { return true }
func (Base) OnContextCreate(uint32, uint32)                   {}
func (Base) OnRequestHeaders(uint32, int, bool) Action        { return Continue }
func (Base) OnRequestBody(uint32, int, bool) Action           { return Continue }
func (Base) OnRequestTrailers(uint32, int) Action             { return Continue }
func (Base) OnResponseHeaders(uint32, int, bool) Action       { return Continue }
func (Base) OnLog(uint32)                                     {}
func (Base) OnDelete(uint32)                                  {}
func (Base) OnTick(uint32)                                    {}
func (Base) OnHTTPCallResponse(uint32, uint32, int, int, int) {}
