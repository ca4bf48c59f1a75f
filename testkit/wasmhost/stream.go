package wasmhost

import (
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Request is one HTTP stream to drive through the module.
type Request struct {
	// Headers are the request headers as the filter gets them, pseudo-headers (:method, :path,
	// :authority, :scheme) included. Names are lowercased.
	Headers [][2]string
	// Body is the request body; nil means the headers end the stream.
	Body []byte
	// Response is what the upstream answers if the module lets the request through.
	Response Response
	// ResponseFlags is the response.flags property (Envoy's response flags bit vector).
	ResponseFlags uint64
	// CodeDetails is response.code_details once the upstream has answered; default
	// "via_upstream".
	CodeDetails string
	// Meanwhile, if set, runs after proxy_on_request_headers, before the body or the response:
	// the VM serves other requests (it may call Request) while this one waits, as a worker's VM
	// does. The counts of this request then include theirs.
	Meanwhile func() error
}

// Response is an upstream response.
type Response struct {
	Status  int // default 200
	Headers [][2]string
	Body    []byte
}

// LocalReply is what the module sent with proxy_send_local_response.
type LocalReply struct {
	Status     int
	Details    string
	Headers    [][2]string
	Body       []byte
	GRPCStatus int32 // -1: none
}

// Result is what a Request did.
type Result struct {
	// Upstream is true when the request went to the upstream.
	Upstream bool
	// UpstreamHeaders and UpstreamBody are the request as the upstream got it.
	UpstreamHeaders [][2]string
	UpstreamBody    []byte
	// LocalReply is the module's own answer, if it sent one.
	LocalReply *LocalReply
	// ResponseHeaders and ResponseBody are the upstream's response as the client gets it.
	ResponseHeaders [][2]string
	ResponseBody    []byte
	// Calls are this request's calls by key, proxy_on_context_create to proxy_on_delete.
	Calls Counts
	// DataReturns are, per import, this request's calls that returned data through
	// proxy_on_memory_allocate.
	DataReturns Counts
	// Logs are the lines the module logged during the request.
	Logs []LogLine
}

// Header is the first value of a header in pairs, and whether there is one.
func Header(pairs [][2]string, name string) (string, bool) {
	name = strings.ToLower(name)
	for _, kv := range pairs {
		if kv[0] == name {
			return kv[1], true
		}
	}
	return "", false
}

// stream is the state of the HTTP context a Request drives.
type stream struct {
	id          uint32
	reqHeaders  *headerMap
	respHeaders *headerMap // nil until the upstream answers
	reqBody     *[]byte    // nil while the request has no body
	respBody    *[]byte
	local       *LocalReply
	codeDetails string
	flags       uint64
	resumed     [2]bool // proxy_continue_stream per direction
	closed      bool
}

// Filter return values of the ABI (Envoy's FilterHeadersStatus / FilterDataStatus): 0 is
// Continue, anything else stops iteration.
const actionContinue = 0

// Request drives one stream through the module as Envoy's wasm filter does:
// proxy_on_context_create(stream, root), proxy_on_request_headers, proxy_on_request_body once
// when there is a body, then, unless the module answered locally, proxy_on_response_headers
// and proxy_on_response_body once when there is a body; then proxy_on_log, proxy_on_done and
// proxy_on_delete (each only if the module exports it). Envoy also runs a local reply through
// the filter's response callbacks; this host does not. Counts are reset when it starts. A
// module that stops a direction without resuming it or answering is an error.
func (h *Host) Request(req Request) (*Result, error) {
	ctx := h.ctx
	h.calls, h.returns = Counts{}, Counts{}
	firstLog := len(h.logs)
	st := &stream{id: h.newContextID(), reqHeaders: newHeaderMap(req.Headers), flags: req.ResponseFlags}
	if req.Body != nil {
		body := slices.Clone(req.Body)
		st.reqBody = &body
	}
	h.stream = st
	defer func() { h.stream, h.current = nil, h.rootID }()
	res := &Result{}
	h.current = st.id
	if _, err := h.callback(ctx, "proxy_on_context_create", 0, uint64(st.id), uint64(h.rootID)); err != nil {
		return nil, err
	}
	err := h.exchange(ctx, st, req, res)
	// The end of the stream runs also after an error, as Envoy's does after a reset.
	for _, cb := range []string{"proxy_on_log", "proxy_on_done", "proxy_on_delete"} {
		h.current = st.id
		if _, cerr := h.callback(ctx, cb, 1, uint64(st.id)); cerr != nil && err == nil {
			err = cerr
		}
	}
	res.Calls, res.DataReturns = maps.Clone(h.calls), maps.Clone(h.returns)
	res.Logs = slices.Clone(h.logs[firstLog:])
	return res, err
}

func (h *Host) exchange(ctx context.Context, st *stream, req Request, res *Result) error {
	// Request path.
	eos := st.reqBody == nil
	h.current = st.id
	action, err := h.callback(ctx, "proxy_on_request_headers", actionContinue, uint64(st.id), uint64(len(st.reqHeaders.pairs)), b2u(eos))
	if err != nil {
		return err
	}
	if req.Meanwhile != nil {
		calls, returns := h.calls, h.returns
		err := req.Meanwhile()
		h.stream, h.current = st, st.id
		calls.add(h.calls)
		returns.add(h.returns)
		h.calls, h.returns = calls, returns
		if err != nil {
			return err
		}
	}
	// A filter stopped at headers still gets the body (Envoy buffers it for the filter).
	if !eos && st.local == nil {
		h.current = st.id
		if action, err = h.callback(ctx, "proxy_on_request_body", actionContinue, uint64(st.id), uint64(len(*st.reqBody)), 1); err != nil {
			return err
		}
	}
	if st.local != nil {
		res.LocalReply = st.local
		return nil
	}
	if action != actionContinue && !st.resumed[streamRequest] {
		return fmt.Errorf("the module stopped the request (action %d) and neither resumed it nor answered%s", action, h.logTail(h.logs))
	}
	res.Upstream = true
	res.UpstreamHeaders = slices.Clone(st.reqHeaders.pairs)
	if st.reqBody != nil {
		res.UpstreamBody = slices.Clone(*st.reqBody)
	}

	// Response path.
	resp := req.Response
	status := resp.Status
	if status == 0 {
		status = 200
	}
	hdrs := [][2]string{{":status", strconv.Itoa(status)}}
	for _, kv := range resp.Headers {
		if kv[0] != ":status" {
			hdrs = append(hdrs, kv)
		}
	}
	st.respHeaders = newHeaderMap(hdrs)
	st.codeDetails = req.CodeDetails
	if st.codeDetails == "" {
		st.codeDetails = "via_upstream"
	}
	if resp.Body != nil {
		body := slices.Clone(resp.Body)
		st.respBody = &body
	}
	eos = len(resp.Body) == 0
	h.current = st.id
	if action, err = h.callback(ctx, "proxy_on_response_headers", actionContinue, uint64(st.id), uint64(len(st.respHeaders.pairs)), b2u(eos)); err != nil {
		return err
	}
	if !eos && st.local == nil {
		h.current = st.id
		if action, err = h.callback(ctx, "proxy_on_response_body", actionContinue, uint64(st.id), uint64(len(*st.respBody)), 1); err != nil {
			return err
		}
	}
	if st.local != nil {
		res.LocalReply = st.local
		return nil
	}
	if action != actionContinue && !st.resumed[streamResponse] {
		return fmt.Errorf("the module stopped the response (action %d) and neither resumed it nor answered%s", action, h.logTail(h.logs))
	}
	res.ResponseHeaders = slices.Clone(st.respHeaders.pairs)
	if st.respBody != nil {
		res.ResponseBody = slices.Clone(*st.respBody)
	}
	return nil
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// headerMap is a header map like Envoy's: ordered, several values per name allowed, names
// lowercase.
type headerMap struct{ pairs [][2]string }

func newHeaderMap(pairs [][2]string) *headerMap {
	m := &headerMap{}
	for _, kv := range pairs {
		m.add(kv[0], kv[1])
	}
	return m
}

func (m *headerMap) get(name string) (string, bool) { return Header(m.pairs, name) }

func (m *headerMap) add(name, value string) {
	m.pairs = append(m.pairs, [2]string{strings.ToLower(name), value})
}

// replace is Envoy's setCopy: the first value replaced, or the header added.
func (m *headerMap) replace(name, value string) {
	name = strings.ToLower(name)
	for i := range m.pairs {
		if m.pairs[i][0] == name {
			m.pairs[i][1] = value
			return
		}
	}
	m.add(name, value)
}

func (m *headerMap) remove(name string) {
	name = strings.ToLower(name)
	m.pairs = slices.DeleteFunc(m.pairs, func(kv [2]string) bool { return kv[0] == name })
}

// serializePairs is the ABI's map encoding: the count, each key and value size (u32 little
// endian), then each key and value followed by a NUL.
func serializePairs(pairs [][2]string) []byte {
	size := 4
	for _, kv := range pairs {
		size += 8 + len(kv[0]) + len(kv[1]) + 2
	}
	b := make([]byte, 0, size)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(pairs)))
	for _, kv := range pairs {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(kv[0])))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(kv[1])))
	}
	for _, kv := range pairs {
		b = append(append(b, kv[0]...), 0)
		b = append(append(b, kv[1]...), 0)
	}
	return b
}

func deserializePairs(b []byte) ([][2]string, bool) {
	if len(b) < 4 {
		return nil, false
	}
	n := int(binary.LittleEndian.Uint32(b))
	if n > (len(b)-4)/8 {
		return nil, false
	}
	sizes, data := b[4:4+8*n], b[4+8*n:]
	out := make([][2]string, n)
	for i := range n {
		for j := range 2 {
			l := int(binary.LittleEndian.Uint32(sizes[8*i+4*j:]))
			if l+1 > len(data) {
				return nil, false
			}
			out[i][j] = string(data[:l])
			data = data[l+1:]
		}
	}
	return out, true
}
