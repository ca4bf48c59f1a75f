//go:build !wasip1

package abi

// Outside wasm there is no host: every call answers StatusUnimplemented, so that code built on
// this package compiles and vets natively (tests give the plugin a host of their own).

func Log(LogLevel, string) Status                             { return StatusUnimplemented }
func SendLocalResponse(uint32, string, []byte, []byte) Status { return StatusUnimplemented }
func SharedData(string) (string, uint32, Status)              { return "", 0, StatusUnimplemented }
func SetSharedData(string, []byte, uint32) Status             { return StatusUnimplemented }
func HeaderValue(MapType, string) (string, Status)            { return "", StatusUnimplemented }
func HeaderPairs(MapType) (string, Status)                    { return "", StatusUnimplemented }
func SetHeaderPairs(MapType, []byte) Status                   { return StatusUnimplemented }
func AddHeader(MapType, string, string) Status                { return StatusUnimplemented }
func ReplaceHeader(MapType, string, string) Status            { return StatusUnimplemented }
func RemoveHeader(MapType, string) Status                     { return StatusUnimplemented }
func BufferBytes(BufferType, int, int) (string, Status)       { return "", StatusUnimplemented }
func SetBufferBytes(BufferType, int, int, []byte) Status      { return StatusUnimplemented }
func ContinueStream(StreamType) Status                        { return StatusUnimplemented }
func HTTPCall(string, []byte, []byte, []byte, uint32) (uint32, Status) {
	return 0, StatusUnimplemented
}
func SetTickPeriod(uint32) Status                      { return StatusUnimplemented }
func SetEffectiveContext(uint32) Status                { return StatusUnimplemented }
func DefineMetric(MetricType, string) (uint32, Status) { return 0, StatusUnimplemented }
func IncrementMetric(uint32, int64) Status             { return StatusUnimplemented }
func RecordMetric(uint32, uint64) Status               { return StatusUnimplemented }
func Property(string) (string, Status)                 { return "", StatusUnimplemented }
func Now() (int64, Status)                             { return 0, StatusUnimplemented }
