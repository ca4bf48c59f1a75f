package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/apigw-wasm/apigw-wasm/internal/limit"
	"github.com/apigw-wasm/apigw-wasm/plugin/abi"
)

// fakeHost is an in-memory host for go test: header maps, bodies and properties per context,
// shared data with the host's compare-and-swap rules (limit.Memory), local replies, logs,
// metrics and http calls recorded for the test to read. Calls act on the current context,
// which the test sets with enter (as Envoy does before each callback) or the plugin with
// setEffectiveContext.
type fakeHost struct {
	mu      sync.Mutex
	clock   time.Time
	current uint32
	config  string
	streams map[uint32]*fakeStream
	shared  limit.Memory
	logs    []string
	metrics map[string]int64
	names   []string // metric names by id-1
	tick    map[uint32]uint32
	calls   []fakeCall
	fail    map[string]abi.Status // a host call (its op name) that fails
	// The answer of the http call being delivered: its headers and body.
	callHeaders [][2]string
	callBody    []byte
	deleted     map[uint32]bool // contexts Envoy deleted

	// Values the host returns are views of a buffer that the next callback reuses, as in the
	// wasm build (plugin/abi's arena): ret[base:off] are this callback's, and enter overwrites
	// them unless keepReturned was called. A view the plugin reads after its callback then
	// reads poison.
	ret       []byte
	base, off int
	keep      bool
}

// poison is what a reused buffer holds: no header, path or address is made of it.
const poison = 0xEE

// give returns s as a view of the host's buffer.
func (f *fakeHost) give(s string) string {
	if s == "" {
		return ""
	}
	if f.off+len(s) > len(f.ret) {
		// A new buffer; the old one is left to the views of it (as plugin/abi's arena does).
		f.ret, f.base, f.off = make([]byte, max(64<<10, len(s))), 0, 0
	}
	b := f.ret[f.off : f.off+len(s)]
	copy(b, s)
	f.off += len(s)
	return unsafe.String(&b[0], len(b))
}

// newCallback starts a callback: the previous one's buffers are poisoned and reused, unless
// kept.
func (f *fakeHost) newCallback() {
	if f.keep {
		f.base, f.keep = f.off, false
		return
	}
	for i := f.base; i < f.off; i++ {
		f.ret[i] = poison
	}
	f.off = f.base
}

func (f *fakeHost) returned(s string) bool {
	if s == "" || f.off == f.base {
		return false
	}
	p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	start := uintptr(unsafe.Pointer(&f.ret[f.base]))
	return p >= start && p < start+uintptr(f.off-f.base)
}

func (f *fakeHost) keepReturned() { f.keep = true }

type fakeStream struct {
	request, response [][2]string
	body              []byte
	props             map[string]string
	reply             *fakeReply
	continued         bool
}

type fakeReply struct {
	status  int
	headers [][2]string
	body    []byte
	details string
}

type fakeCall struct {
	context uint32
	cluster string
	headers [][2]string
	body    []byte
	timeout time.Duration
}

func newFakeHost(config string) *fakeHost {
	return &fakeHost{
		clock:   time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC),
		config:  config,
		streams: map[uint32]*fakeStream{},
		metrics: map[string]int64{},
		tick:    map[uint32]uint32{},
		fail:    map[string]abi.Status{},
		deleted: map[uint32]bool{},
	}
}

// enter makes id the current context, as the host does before a callback, and starts the
// callback.
func (f *fakeHost) enter(id uint32) *fakeStream {
	f.newCallback()
	f.current = id
	s := f.streams[id]
	if s == nil {
		s = &fakeStream{props: map[string]string{}}
		f.streams[id] = s
	}
	return s
}

func (f *fakeHost) stream() *fakeStream {
	s := f.streams[f.current]
	if s == nil {
		s = &fakeStream{props: map[string]string{}}
		f.streams[f.current] = s
	}
	return s
}

func (f *fakeHost) failure(op string) error {
	if st, ok := f.fail[op]; ok {
		return &hostError{op: op, status: st}
	}
	return nil
}

func (f *fakeHost) log(level abi.LogLevel, msg string) {
	f.logs = append(f.logs, fmt.Sprintf("[%d] %s", level, msg))
}

func (f *fakeHost) now() time.Time { return f.clock }

func (f *fakeHost) buffer(b abi.BufferType, start, size int) (string, error) {
	if err := f.failure("buffer"); err != nil {
		return "", err
	}
	var all string
	switch b {
	case abi.PluginConfiguration:
		all = f.config
	case abi.RequestBody:
		all = string(f.stream().body)
	case abi.HTTPCallResponseBody:
		all = string(f.callBody)
	default:
		return "", &hostError{op: "get buffer", status: abi.StatusBadArgument}
	}
	if start > len(all) {
		return "", nil
	}
	return f.give(all[start:min(len(all), start+size)]), nil
}

func (f *fakeHost) setBuffer(b abi.BufferType, data []byte) error {
	if b != abi.RequestBody {
		return &hostError{op: "set buffer", status: abi.StatusBadArgument}
	}
	f.stream().body = append([]byte(nil), data...)
	return nil
}

func (f *fakeHost) headerMap(m abi.MapType) *[][2]string {
	if m == abi.HTTPCallResponseHeaders {
		return &f.callHeaders
	}
	s := f.stream()
	if m == abi.ResponseHeaders {
		return &s.response
	}
	return &s.request
}

func (f *fakeHost) headerPairs(m abi.MapType) (string, error) {
	if err := f.failure("headers"); err != nil {
		return "", err
	}
	return f.give(string(abi.AppendPairs(nil, *f.headerMap(m)))), nil
}

func (f *fakeHost) header(m abi.MapType, name string) (string, bool, error) {
	for _, kv := range *f.headerMap(m) {
		if kv[0] == name {
			return f.give(kv[1]), true, nil
		}
	}
	return "", false, nil
}

func (f *fakeHost) setHeader(m abi.MapType, name, value string) error {
	if err := f.failure("set header"); err != nil {
		return err
	}
	// Envoy copies what it is given and holds lowercase names.
	name, value = strings.ToLower(name), strings.Clone(value)
	hm := f.headerMap(m)
	out := (*hm)[:0:0]
	done := false
	for _, kv := range *hm {
		if kv[0] == name {
			if done {
				continue
			}
			kv[1], done = value, true
		}
		out = append(out, kv)
	}
	if !done {
		out = append(out, [2]string{name, value})
	}
	*hm = out
	return nil
}

func (f *fakeHost) removeHeader(m abi.MapType, name string) error {
	hm := f.headerMap(m)
	out := (*hm)[:0:0]
	for _, kv := range *hm {
		if kv[0] != name {
			out = append(out, kv)
		}
	}
	*hm = out
	return nil
}

func (f *fakeHost) property(path string) (string, bool, error) {
	v, ok := f.stream().props[path]
	return f.give(v), ok, nil
}

func (f *fakeHost) sharedData(key string) (string, uint32, bool, error) {
	v, cas, found, err := f.shared.Get(key)
	return f.give(string(v)), cas, found, err
}

func (f *fakeHost) setSharedData(key string, value []byte, cas uint32) error {
	return f.shared.Set(strings.Clone(key), value, cas)
}

func (f *fakeHost) sendReply(status int, headers [][2]string, body []byte, details string) error {
	if err := f.failure("send reply"); err != nil {
		return err
	}
	s := f.stream()
	if s.reply != nil {
		return &hostError{op: "send local response", status: abi.StatusBadArgument}
	}
	r := &fakeReply{status: status, body: append([]byte(nil), body...), details: strings.Clone(details)}
	for _, kv := range headers {
		r.headers = append(r.headers, [2]string{strings.ToLower(kv[0]), strings.Clone(kv[1])})
	}
	s.reply = r
	return nil
}

func (f *fakeHost) continueRequest() error {
	f.stream().continued = true
	return nil
}

func (f *fakeHost) setEffectiveContext(id uint32) error {
	if _, ok := f.streams[id]; !ok || f.deleted[id] {
		return &hostError{op: "set effective context", status: abi.StatusBadArgument}
	}
	f.current = id
	return nil
}

func (f *fakeHost) setTickPeriod(ms uint32) error {
	f.tick[f.current] = ms
	return nil
}

func (f *fakeHost) httpCall(cluster string, headers [][2]string, body []byte, timeout time.Duration) (uint32, error) {
	if err := f.failure("http call"); err != nil {
		return 0, err
	}
	var hs [][2]string
	for _, kv := range headers {
		hs = append(hs, [2]string{strings.Clone(kv[0]), strings.Clone(kv[1])})
	}
	f.calls = append(f.calls, fakeCall{f.current, strings.Clone(cluster), hs, bytes.Clone(body), timeout})
	return uint32(len(f.calls)), nil
}

func (f *fakeHost) defineCounter(name string) (uint32, error) {
	for i, n := range f.names {
		if n == name {
			return uint32(i + 1), nil
		}
	}
	f.names = append(f.names, strings.Clone(name))
	return uint32(len(f.names)), nil
}

func (f *fakeHost) increment(id uint32, delta int64) error {
	if id == 0 || int(id) > len(f.names) {
		return &hostError{op: "increment metric", status: abi.StatusNotFound}
	}
	f.metrics[f.names[id-1]] += delta
	return nil
}

// logged reports whether some log line contains s.
func (f *fakeHost) logged(s string) bool {
	for _, l := range f.logs {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// testVM is a VM of the plugin on a fake host, with one root context configured.
type testVM struct {
	t      *testing.T
	host   *fakeHost
	vm     *vm
	root   uint32
	nextID uint32
}

const testRootID = 1

// startVM configures the plugin with config as Envoy does: create the root context, start the
// VM, configure; ok is what configure answered.
func startVM(t *testing.T, config string) (*testVM, bool) {
	t.Helper()
	f := newFakeHost(config)
	v := newVM(f)
	f.enter(testRootID)
	v.OnContextCreate(testRootID, 0)
	v.OnVMStart(testRootID, 0)
	ok := v.OnConfigure(testRootID, len(config))
	return &testVM{t: t, host: f, vm: v, root: testRootID, nextID: testRootID}, ok
}

// request runs a request's headers through the plugin: its context id, stream and answer.
func (tv *testVM) request(headers [][2]string, end bool, props map[string]string) (uint32, *fakeStream, abi.Action) {
	tv.nextID++
	id := tv.nextID
	s := tv.host.enter(id)
	s.request = append([][2]string(nil), headers...)
	for k, v := range props {
		s.props[k] = v
	}
	tv.vm.OnContextCreate(id, tv.root)
	return id, s, tv.vm.OnRequestHeaders(id, len(headers), end)
}

// respond runs response headers through the plugin.
func (tv *testVM) respond(id uint32, headers [][2]string, end bool, props map[string]string) abi.Action {
	s := tv.host.enter(id)
	s.response = append([][2]string(nil), headers...)
	for k, v := range props {
		s.props[k] = v
	}
	return tv.vm.OnResponseHeaders(id, len(headers), end)
}

// finish ends a request as Envoy does: log, then delete.
func (tv *testVM) finish(id uint32) {
	tv.host.enter(id)
	tv.vm.OnLog(id)
	tv.vm.OnDelete(id)
	tv.host.deleted[id] = true
}

// answer delivers the answer of the i-th http call (from 0) as Envoy does, on the root
// context: status "" is a call that failed or timed out (no headers).
func (tv *testVM) answer(i int, status string, body []byte) {
	f := tv.host
	f.enter(tv.root)
	f.callHeaders, f.callBody = nil, body
	n := 0
	if status != "" {
		f.callHeaders = [][2]string{{":status", status}, {"content-type", "application/json"}}
		n = len(f.callHeaders)
	}
	tv.vm.OnHTTPCallResponse(tv.root, uint32(i+1), n, len(body), 0)
}

// tick runs the root context's tick.
func (tv *testVM) tick() {
	tv.host.enter(tv.root)
	tv.vm.OnTick(tv.root)
}

func get(hs [][2]string, name string) string {
	for _, kv := range hs {
		if kv[0] == name {
			return kv[1]
		}
	}
	return ""
}
