package wasmhost

import (
	"context"
	"encoding/binary"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Buffer types, header map types and stream types of the ABI.
const (
	bufferRequestBody   = 0
	bufferResponseBody  = 1
	bufferVMConfig      = 6
	bufferPluginConfig  = 7
	mapRequestHeaders   = 0
	mapResponseHeaders  = 2
	streamRequest       = 0
	streamResponse      = 1
	metricCounter       = 0
	metricGauge         = 1
	metricHistogram     = 2
	memoryAllocate      = "proxy_on_memory_allocate"
	envKeyPrefix        = EnvModule + "."
	i32, i64            = api.ValueTypeI32, api.ValueTypeI64
	maxHostCallDataSize = 1 << 30 // sanity bound on sizes the guest passes
)

// envModule defines the proxy_* imports. Signatures are the proxy-wasm 0.2.x ABI on wasm32
// (pointers and sizes are i32, metric values i64), as plugin/abi declares them; functions the
// module does not import are simply not linked.
func (h *Host) envModule() wazero.HostModuleBuilder {
	b := h.rt.NewHostModuleBuilder(EnvModule)
	def := func(name string, params []api.ValueType, f func(ctx context.Context, m api.Module, s []uint64) Status) {
		b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, s []uint64) {
			s[0] = uint64(f(ctx, m, s))
		}), params, []api.ValueType{i32}).Export(name)
	}
	n := func(k int) []api.ValueType {
		p := make([]api.ValueType, k)
		for i := range p {
			p[i] = i32
		}
		return p
	}

	def("proxy_log", n(3), h.log)
	def("proxy_get_buffer_bytes", n(5), h.getBufferBytes)
	def("proxy_get_buffer_status", n(3), h.getBufferStatus)
	def("proxy_set_buffer_bytes", n(5), h.setBufferBytes)
	def("proxy_get_header_map_value", n(5), h.getHeaderMapValue)
	def("proxy_get_header_map_pairs", n(3), h.getHeaderMapPairs)
	def("proxy_add_header_map_value", n(5), h.addHeaderMapValue)
	def("proxy_replace_header_map_value", n(5), h.replaceHeaderMapValue)
	def("proxy_remove_header_map_value", n(3), h.removeHeaderMapValue)
	def("proxy_set_header_map_pairs", n(3), h.setHeaderMapPairs)
	def("proxy_get_property", n(4), h.getProperty)
	def("proxy_set_property", n(4), func(context.Context, api.Module, []uint64) Status { return StatusUnimplemented })
	def("proxy_get_shared_data", n(5), h.getSharedData)
	def("proxy_set_shared_data", n(5), h.setSharedData)
	def("proxy_define_metric", n(4), h.defineMetric)
	def("proxy_increment_metric", []api.ValueType{i32, i64}, h.incrementMetric)
	def("proxy_record_metric", []api.ValueType{i32, i64}, h.recordMetric)
	def("proxy_get_metric", n(2), h.getMetric)
	def("proxy_send_local_response", n(8), h.sendLocalResponse)
	def("proxy_set_tick_period_milliseconds", n(1), func(_ context.Context, _ api.Module, s []uint64) Status {
		h.tickPeriod = uint32(s[0])
		return StatusOK
	})
	def("proxy_get_current_time_nanoseconds", n(1), func(_ context.Context, m api.Module, s []uint64) Status {
		if !m.Memory().WriteUint64Le(uint32(s[0]), uint64(time.Now().UnixNano())) {
			return StatusInvalidMemoryAccess
		}
		return StatusOK
	})
	def("proxy_set_effective_context", n(1), h.setEffectiveContext)
	def("proxy_continue_stream", n(1), h.continueStream)
	def("proxy_close_stream", n(1), h.closeStream)
	def("proxy_done", nil, func(context.Context, api.Module, []uint64) Status { return StatusOK })
	// No upstreams, queues or foreign functions here: answered as Envoy answers a name it does
	// not know, or as not implemented.
	def("proxy_http_call", n(10), func(context.Context, api.Module, []uint64) Status { return StatusUnimplemented })
	def("proxy_call_foreign_function", n(6), func(context.Context, api.Module, []uint64) Status { return StatusNotFound })
	def("proxy_register_shared_queue", n(3), func(context.Context, api.Module, []uint64) Status { return StatusUnimplemented })
	def("proxy_resolve_shared_queue", n(5), func(context.Context, api.Module, []uint64) Status { return StatusNotFound })
	def("proxy_dequeue_shared_queue", n(3), func(context.Context, api.Module, []uint64) Status { return StatusNotFound })
	def("proxy_enqueue_shared_queue", n(3), func(context.Context, api.Module, []uint64) Status { return StatusNotFound })
	return b
}

// read is guest memory [ptr, ptr+size), copied (the guest may reuse it once the call returns).
// ptr and size are i32 parameters: only their low 32 bits are defined (wazero's compiler leaves
// garbage above them), so they are cut before use, as everywhere else here.
func read(m api.Module, ptr, size uint64) ([]byte, bool) {
	if uint32(size) > maxHostCallDataSize {
		return nil, false
	}
	b, ok := m.Memory().Read(uint32(ptr), uint32(size))
	if !ok {
		return nil, false
	}
	return append([]byte(nil), b...), true
}

func readString(m api.Module, ptr, size uint64) (string, bool) {
	b, ok := read(m, ptr, size)
	return string(b), ok
}

// returnData gives data to the guest the way Envoy's copyToPointerSize does: memory from the
// guest's proxy_on_memory_allocate (nothing for empty data), the address and size written to
// the guest's two out-parameters. key is the import, for the data-returning counts.
func (h *Host) returnData(ctx context.Context, m api.Module, key string, data []byte, ptrPtr, sizePtr uint64) Status {
	var ptr uint32
	if len(data) > 0 {
		h.returns[key]++
		h.totRet[key]++
		r, err := h.call(ctx, memoryAllocate, uint64(len(data)))
		if err != nil {
			panic(err) // fails the guest's call, and so the callback the host is in
		}
		if ptr = uint32(r[0]); ptr == 0 || !m.Memory().Write(ptr, data) {
			return StatusInvalidMemoryAccess
		}
	}
	mem := m.Memory()
	if !mem.WriteUint32Le(uint32(ptrPtr), ptr) || !mem.WriteUint32Le(uint32(sizePtr), uint32(len(data))) {
		return StatusInvalidMemoryAccess
	}
	return StatusOK
}

// proxy_log(level, msg, size)
func (h *Host) log(_ context.Context, m api.Module, s []uint64) Status {
	msg, ok := readString(m, s[1], s[2])
	if !ok {
		return StatusInvalidMemoryAccess
	}
	h.logs = append(h.logs, LogLine{Level: int(uint32(s[0])), Context: h.current, Message: msg})
	return StatusOK
}

// buffer is the buffer of a type as the effective context sees it; nil if it has none.
func (h *Host) buffer(typ uint32) *[]byte {
	switch typ {
	case bufferVMConfig:
		return &h.opts.vmConfig
	case bufferPluginConfig:
		return &h.plugin
	case bufferRequestBody, bufferResponseBody:
		st := h.stream
		if st == nil || h.current != st.id {
			return nil
		}
		if typ == bufferRequestBody {
			return st.reqBody
		}
		return st.respBody
	}
	return nil
}

// proxy_get_buffer_bytes(type, start, length, ret_ptr, ret_size), as proxy-wasm-cpp-host:
// a length past the end is cut, and nothing to copy is Ok without touching the out-parameters.
func (h *Host) getBufferBytes(ctx context.Context, m api.Module, s []uint64) Status {
	buf := h.buffer(uint32(s[0]))
	if buf == nil {
		return StatusNotFound
	}
	start, length := uint64(uint32(s[1])), uint64(uint32(s[2]))
	size := uint64(len(*buf))
	if start > size {
		return StatusBadArgument
	}
	if start+length > size {
		length = size - start
	}
	if length == 0 {
		return StatusOK
	}
	return h.returnData(ctx, m, envKeyPrefix+"proxy_get_buffer_bytes", (*buf)[start:start+length], s[3], s[4])
}

// proxy_get_buffer_status(type, ret_length, ret_flags)
func (h *Host) getBufferStatus(_ context.Context, m api.Module, s []uint64) Status {
	buf := h.buffer(uint32(s[0]))
	if buf == nil {
		return StatusNotFound
	}
	mem := m.Memory()
	if !mem.WriteUint32Le(uint32(s[1]), uint32(len(*buf))) || !mem.WriteUint32Le(uint32(s[2]), 0) {
		return StatusInvalidMemoryAccess
	}
	return StatusOK
}

// proxy_set_buffer_bytes(type, start, length, data, size), as Envoy's Buffer::copyFrom: at 0
// it drains length bytes and prepends, at or past the end it appends.
func (h *Host) setBufferBytes(_ context.Context, m api.Module, s []uint64) Status {
	typ := uint32(s[0])
	if typ != bufferRequestBody && typ != bufferResponseBody {
		if h.buffer(typ) == nil {
			return StatusNotFound
		}
		return StatusUnimplemented // configurations are read-only
	}
	buf := h.buffer(typ)
	if buf == nil {
		return StatusNotFound
	}
	data, ok := read(m, s[3], s[4])
	if !ok {
		return StatusInvalidMemoryAccess
	}
	start, length := uint64(uint32(s[1])), uint64(uint32(s[2]))
	switch {
	case start == 0:
		rest := *buf
		if length >= uint64(len(rest)) {
			rest = nil
		} else {
			rest = rest[length:]
		}
		*buf = append(data, rest...)
	case start >= uint64(len(*buf)):
		*buf = append(*buf, data...)
	default:
		return StatusBadArgument
	}
	return StatusOK
}

// headerMap is the map of a type as the effective context sees it; nil if it has none.
func (h *Host) headerMap(typ uint32) *headerMap {
	st := h.stream
	if st == nil || h.current != st.id {
		return nil
	}
	switch typ {
	case mapRequestHeaders:
		return st.reqHeaders
	case mapResponseHeaders:
		return st.respHeaders
	}
	return nil
}

// proxy_get_header_map_value(type, key, key_size, ret_ptr, ret_size): the first value.
func (h *Host) getHeaderMapValue(ctx context.Context, m api.Module, s []uint64) Status {
	hm := h.headerMap(uint32(s[0]))
	if hm == nil {
		return StatusBadArgument
	}
	key, ok := readString(m, s[1], s[2])
	if !ok {
		return StatusInvalidMemoryAccess
	}
	v, found := hm.get(key)
	if !found {
		return StatusNotFound
	}
	return h.returnData(ctx, m, envKeyPrefix+"proxy_get_header_map_value", []byte(v), s[3], s[4])
}

// proxy_get_header_map_pairs(type, ret_ptr, ret_size)
func (h *Host) getHeaderMapPairs(ctx context.Context, m api.Module, s []uint64) Status {
	hm := h.headerMap(uint32(s[0]))
	if hm == nil {
		return StatusBadArgument
	}
	var data []byte
	if len(hm.pairs) > 0 {
		data = serializePairs(hm.pairs)
	}
	return h.returnData(ctx, m, envKeyPrefix+"proxy_get_header_map_pairs", data, s[1], s[2])
}

// keyValue reads the (key, value) arguments of the add and replace calls.
func (h *Host) keyValue(m api.Module, s []uint64) (*headerMap, string, string, Status) {
	hm := h.headerMap(uint32(s[0]))
	if hm == nil {
		return nil, "", "", StatusBadArgument
	}
	key, ok1 := readString(m, s[1], s[2])
	value, ok2 := readString(m, s[3], s[4])
	if !ok1 || !ok2 {
		return nil, "", "", StatusInvalidMemoryAccess
	}
	return hm, key, value, StatusOK
}

// proxy_add_header_map_value(type, key, key_size, value, value_size): one more value.
func (h *Host) addHeaderMapValue(_ context.Context, m api.Module, s []uint64) Status {
	hm, k, v, st := h.keyValue(m, s)
	if st == StatusOK {
		hm.add(k, v)
	}
	return st
}

// proxy_replace_header_map_value: Envoy's setCopy, the first value replaced or one added.
func (h *Host) replaceHeaderMapValue(_ context.Context, m api.Module, s []uint64) Status {
	hm, k, v, st := h.keyValue(m, s)
	if st == StatusOK {
		hm.replace(k, v)
	}
	return st
}

// proxy_remove_header_map_value(type, key, key_size): every value; Ok when there was none.
func (h *Host) removeHeaderMapValue(_ context.Context, m api.Module, s []uint64) Status {
	hm := h.headerMap(uint32(s[0]))
	if hm == nil {
		return StatusBadArgument
	}
	key, ok := readString(m, s[1], s[2])
	if !ok {
		return StatusInvalidMemoryAccess
	}
	hm.remove(key)
	return StatusOK
}

// proxy_set_header_map_pairs(type, data, size): the whole map replaced.
func (h *Host) setHeaderMapPairs(_ context.Context, m api.Module, s []uint64) Status {
	hm := h.headerMap(uint32(s[0]))
	if hm == nil {
		return StatusBadArgument
	}
	data, ok := read(m, s[1], s[2])
	if !ok {
		return StatusInvalidMemoryAccess
	}
	pairs, ok := deserializePairs(data)
	if !ok {
		return StatusParseFailure
	}
	hm.pairs = hm.pairs[:0]
	for _, kv := range pairs {
		hm.add(kv[0], kv[1])
	}
	return StatusOK
}

// proxy_get_property(path, path_size, ret_ptr, ret_size)
func (h *Host) getProperty(ctx context.Context, m api.Module, s []uint64) Status {
	path, ok := readString(m, s[0], s[1])
	if !ok {
		return StatusInvalidMemoryAccess
	}
	v, found := h.property(path)
	if !found {
		return StatusNotFound
	}
	return h.returnData(ctx, m, envKeyPrefix+"proxy_get_property", v, s[2], s[3])
}

// property is a property by its serialized path, as Envoy would give it now: strings as they
// are, integers 8 bytes little-endian, response attributes only once there is a response.
func (h *Host) property(path string) ([]byte, bool) {
	if v, ok := h.opts.props[path]; ok {
		return v, true
	}
	st := h.stream
	if st != nil && h.current != st.id {
		st = nil
	}
	switch path {
	case propertyKey([]string{"source", "address"}):
		return []byte(h.opts.source), true
	case propertyKey([]string{"source", "port"}):
		_, port, err := net.SplitHostPort(h.opts.source)
		p, perr := strconv.ParseInt(port, 10, 64)
		if err != nil || perr != nil {
			return nil, false
		}
		return le64(uint64(p)), true
	case propertyKey([]string{"connection", "tls_version"}):
		if h.opts.tlsVersion == "" {
			return nil, false
		}
		return []byte(h.opts.tlsVersion), true
	case propertyKey([]string{"plugin_name"}):
		return []byte(h.opts.pluginName), true
	case propertyKey([]string{"plugin_root_id"}):
		return []byte(h.opts.rootID), true
	case propertyKey([]string{"response", "code_details"}):
		if st == nil || st.codeDetails == "" {
			return nil, false
		}
		return []byte(st.codeDetails), true
	case propertyKey([]string{"response", "flags"}):
		if st == nil {
			return nil, false
		}
		return le64(st.flags), true
	}
	return nil, false
}

func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

// proxy_get_shared_data(key, key_size, ret_ptr, ret_size, ret_cas)
func (h *Host) getSharedData(ctx context.Context, m api.Module, s []uint64) Status {
	key, ok := readString(m, s[0], s[1])
	if !ok {
		return StatusInvalidMemoryAccess
	}
	v := h.shared[key]
	if v == nil {
		return StatusNotFound
	}
	if st := h.returnData(ctx, m, envKeyPrefix+"proxy_get_shared_data", v.data, s[2], s[3]); st != StatusOK {
		return st
	}
	if !m.Memory().WriteUint32Le(uint32(s[4]), v.cas) {
		return StatusInvalidMemoryAccess
	}
	return StatusOK
}

// proxy_set_shared_data(key, key_size, value, value_size, cas), with Envoy's rules: cas 0
// writes unconditionally, another cas must be the key's current one (a missing key is written
// whatever the cas), and every write gives the key a new cas.
func (h *Host) setSharedData(_ context.Context, m api.Module, s []uint64) Status {
	key, ok1 := readString(m, s[0], s[1])
	value, ok2 := read(m, s[2], s[3])
	if !ok1 || !ok2 {
		return StatusInvalidMemoryAccess
	}
	return h.SetSharedData(key, value, uint32(s[4]))
}

// SetSharedData writes shared data as proxy_set_shared_data does, for a test to play another
// worker of the VM.
func (h *Host) SetSharedData(key string, value []byte, cas uint32) Status {
	v := h.shared[key]
	if v != nil && cas != 0 && cas != v.cas {
		return StatusCasMismatch
	}
	if v == nil {
		v = &sharedValue{}
		h.shared[key] = v
	}
	v.data, v.cas = slices.Clone(value), h.nextCas
	if h.nextCas++; h.nextCas == 0 {
		h.nextCas = 1
	}
	return StatusOK
}

// proxy_define_metric(type, name, name_size, ret_id): one id per (type, name), as Envoy's
// stats are one per name.
func (h *Host) defineMetric(_ context.Context, m api.Module, s []uint64) Status {
	typ := int(uint32(s[0]))
	if typ > metricHistogram {
		return StatusBadArgument
	}
	name, ok := readString(m, s[1], s[2])
	if !ok {
		return StatusInvalidMemoryAccess
	}
	k := strconv.Itoa(typ) + "\x00" + name
	id, found := h.metricIDs[k]
	if !found {
		h.metrics = append(h.metrics, &Metric{Type: typ, Name: name})
		id = uint32(len(h.metrics))
		h.metricIDs[k] = id
	}
	if !m.Memory().WriteUint32Le(uint32(s[3]), id) {
		return StatusInvalidMemoryAccess
	}
	return StatusOK
}

func (h *Host) metric(id uint64) *Metric {
	if id == 0 || id > uint64(len(h.metrics)) {
		return nil
	}
	return h.metrics[id-1]
}

// proxy_increment_metric(id, offset i64): counters only go up (Envoy refuses a negative
// offset), gauges either way.
func (h *Host) incrementMetric(_ context.Context, _ api.Module, s []uint64) Status {
	mt := h.metric(uint64(uint32(s[0])))
	if mt == nil {
		return StatusNotFound
	}
	offset := int64(s[1])
	switch mt.Type {
	case metricCounter:
		if offset <= 0 {
			return StatusBadArgument
		}
		mt.Value += offset
	case metricGauge:
		mt.Value += offset
	default:
		return StatusBadArgument
	}
	return StatusOK
}

// proxy_record_metric(id, value u64): adds to a counter, sets a gauge, records a histogram.
func (h *Host) recordMetric(_ context.Context, _ api.Module, s []uint64) Status {
	mt := h.metric(uint64(uint32(s[0])))
	if mt == nil {
		return StatusNotFound
	}
	switch mt.Type {
	case metricCounter:
		mt.Value += int64(s[1])
	case metricGauge:
		mt.Value = int64(s[1])
	case metricHistogram:
		mt.Value = int64(s[1])
		mt.Records++
	}
	return StatusOK
}

// proxy_get_metric(id, ret_value u64*)
func (h *Host) getMetric(_ context.Context, m api.Module, s []uint64) Status {
	mt := h.metric(uint64(uint32(s[0])))
	if mt == nil {
		return StatusNotFound
	}
	if mt.Type == metricHistogram {
		return StatusBadArgument
	}
	if !m.Memory().WriteUint64Le(uint32(s[1]), uint64(mt.Value)) {
		return StatusInvalidMemoryAccess
	}
	return StatusOK
}

// proxy_send_local_response(status, details, details_size, body, body_size, headers,
// headers_size, grpc_status): the reply is captured; the stream stops after the callback.
func (h *Host) sendLocalResponse(_ context.Context, m api.Module, s []uint64) Status {
	st := h.stream
	if st == nil || h.current != st.id {
		return StatusBadArgument
	}
	details, ok1 := readString(m, s[1], s[2])
	body, ok2 := read(m, s[3], s[4])
	hdrs, ok3 := read(m, s[5], s[6])
	if !ok1 || !ok2 || !ok3 {
		return StatusInvalidMemoryAccess
	}
	var pairs [][2]string
	if len(hdrs) > 0 {
		var ok bool
		if pairs, ok = deserializePairs(hdrs); !ok {
			return StatusParseFailure
		}
	}
	for i := range pairs {
		pairs[i][0] = strings.ToLower(pairs[i][0])
	}
	st.local = &LocalReply{Status: int(uint32(s[0])), Details: details, Headers: pairs, Body: body, GRPCStatus: int32(uint32(s[7]))}
	st.codeDetails = details
	return StatusOK
}

// proxy_set_effective_context(context_id)
func (h *Host) setEffectiveContext(_ context.Context, _ api.Module, s []uint64) Status {
	id := uint32(s[0])
	if id != h.rootID && (h.stream == nil || id != h.stream.id) {
		return StatusBadArgument
	}
	h.current = id
	return StatusOK
}

// proxy_continue_stream(type): resumes a paused request or response.
func (h *Host) continueStream(_ context.Context, _ api.Module, s []uint64) Status {
	st := h.stream
	if st == nil || h.current != st.id {
		return StatusBadArgument
	}
	switch uint32(s[0]) {
	case streamRequest:
		st.resumed[streamRequest] = true
	case streamResponse:
		st.resumed[streamResponse] = true
	default:
		return StatusBadArgument
	}
	return StatusOK
}

// proxy_close_stream(type)
func (h *Host) closeStream(_ context.Context, _ api.Module, s []uint64) Status {
	st := h.stream
	if st == nil || h.current != st.id || uint32(s[0]) > streamResponse {
		return StatusBadArgument
	}
	st.closed = true
	return StatusOK
}
