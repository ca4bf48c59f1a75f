// Package wasmhost is a small proxy-wasm 0.2.x host on wazero whose purpose is to count the
// calls a module makes across the host boundary, per request, so that they can be tracked and
// budgeted (bench hostcalls, tests/hostcalls_test.go). It is a real host, not a mock: it
// loads the module like Envoy does (_initialize, proxy_on_context_create, proxy_on_vm_start,
// proxy_on_configure), drives one HTTP stream per Request through the callbacks in Envoy's
// order, keeps header maps, bodies, shared data (with Envoy's compare-and-swap rules), metrics,
// properties and log lines, and returns data to the guest through its proxy_on_memory_allocate,
// as Envoy does, because that callback is part of what a host call costs. WASI comes from
// wazero's wasi_snapshot_preview1 with a real clock and real randomness, so the Go runtime's own
// calls (clock_time_get, sched_yield, poll_oneoff, ...) are counted as they happen.
//
// Every call is counted under a key: "env.proxy_get_header_map_value" and
// "wasi_snapshot_preview1.clock_time_get" for calls of the guest into an import,
// "export.proxy_on_request_headers" and "export.proxy_on_memory_allocate" for calls of the host
// into the guest. A Host runs one stream at a time and is not safe for concurrent use.
package wasmhost

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Module names of the counted calls.
const (
	EnvModule    = "env"
	WASIModule   = wasi_snapshot_preview1.ModuleName
	ExportPrefix = "export."
)

// Status is a proxy-wasm status code, as host calls return it.
type Status uint32

// The proxy-wasm status codes (proxy-wasm spec, WasmResult in proxy-wasm-cpp-host).
const (
	StatusOK                   Status = 0
	StatusNotFound             Status = 1
	StatusBadArgument          Status = 2
	StatusSerializationFailure Status = 3
	StatusParseFailure         Status = 4
	StatusInvalidMemoryAccess  Status = 6
	StatusEmpty                Status = 7
	StatusCasMismatch          Status = 8
	StatusUnimplemented        Status = 12
)

// Option changes how New sets up the host.
type Option func(*options)

type options struct {
	interpreter bool
	cache       wazero.CompilationCache
	vmConfig    []byte
	pluginName  string
	rootID      string
	source      string
	tlsVersion  string
	props       map[string][]byte
}

// WithInterpreter runs the module in wazero's interpreter instead of its compiler: almost no
// compile time (0.25 s for the 6.5 MB plugin, against 3.5 s), slower code. Counts do not
// depend on the engine.
func WithInterpreter() Option { return func(o *options) { o.interpreter = true } }

// WithCompilationCache shares compiled code between hosts (wazero.NewCompilationCache) or
// across processes (wazero.NewCompilationCacheWithDir): compiling a large Go module takes
// seconds, loading it from the cache a fraction of that.
func WithCompilationCache(c wazero.CompilationCache) Option {
	return func(o *options) { o.cache = c }
}

// WithVMConfig is the VM configuration (proxy_on_vm_start's buffer); default empty.
func WithVMConfig(b []byte) Option { return func(o *options) { o.vmConfig = slices.Clone(b) } }

// WithPluginName sets the plugin_name property; default "apigw".
func WithPluginName(name string) Option { return func(o *options) { o.pluginName = name } }

// WithRootID sets the plugin_root_id property; default "apigw".
func WithRootID(id string) Option { return func(o *options) { o.rootID = id } }

// WithSourceAddress is the downstream peer (source.address, source.port); default
// "127.0.0.1:40000".
func WithSourceAddress(addr string) Option { return func(o *options) { o.source = addr } }

// WithTLS makes the downstream connection TLS: connection.tls_version is version (e.g.
// "TLSv1.3"). Without it the property is NotFound, as in Envoy on plain text.
func WithTLS(version string) Option { return func(o *options) { o.tlsVersion = version } }

// WithProperty adds or overrides a property, given as its path elements and the bytes Envoy
// would serialize (strings as is, integers as 8 bytes little-endian).
func WithProperty(path []string, value []byte) Option {
	return func(o *options) { o.props[propertyKey(path)] = slices.Clone(value) }
}

// propertyKey is a property path as the ABI serializes it: elements separated by NUL.
func propertyKey(path []string) string { return strings.Join(path, "\x00") }

// LogLine is one proxy_log call.
type LogLine struct {
	Level   int    // proxy-wasm log level: 0 trace ... 5 critical
	Context uint32 // the effective context when it was logged
	Message string
}

var levelNames = []string{"trace", "debug", "info", "warn", "error", "critical"}

func (l LogLine) String() string {
	name := "level" + strconv.Itoa(l.Level)
	if l.Level >= 0 && l.Level < len(levelNames) {
		name = levelNames[l.Level]
	}
	return fmt.Sprintf("[%s] %s", name, l.Message)
}

// Counts are calls by key (see the package comment).
type Counts map[string]int

// HostCalls is how many calls the guest made into its imports (env and WASI).
func (c Counts) HostCalls() int {
	n := 0
	for k, v := range c {
		if !strings.HasPrefix(k, ExportPrefix) {
			n += v
		}
	}
	return n
}

// GuestCalls is how many calls the host made into the guest's exports.
func (c Counts) GuestCalls() int {
	n := 0
	for k, v := range c {
		if strings.HasPrefix(k, ExportPrefix) {
			n += v
		}
	}
	return n
}

// Total is the sum of all counts.
func (c Counts) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// Keys are the keys in order: exports last, each group sorted.
func (c Counts) Keys() []string {
	keys := slices.Collect(maps.Keys(c))
	slices.SortFunc(keys, func(a, b string) int {
		ea, eb := strings.HasPrefix(a, ExportPrefix), strings.HasPrefix(b, ExportPrefix)
		if ea != eb {
			if ea {
				return 1
			}
			return -1
		}
		return strings.Compare(a, b)
	})
	return keys
}

func (c Counts) add(o Counts) {
	for k, v := range o {
		c[k] += v
	}
}

// Metric is a metric the module defined.
type Metric struct {
	Type    int // 0 counter, 1 gauge, 2 histogram
	Name    string
	Value   int64 // counter or gauge value; the last recorded value of a histogram
	Records int   // values recorded into a histogram
}

type sharedValue struct {
	data []byte
	cas  uint32
}

// Host is one loaded module: one VM with its root (plugin) context.
type Host struct {
	ctx    context.Context // New's: the context of every later call into the module
	rt     wazero.Runtime
	mod    api.Module
	funcs  map[string]*export // by export name; nil for a name the module does not export
	opts   options
	plugin []byte
	stdio  bytes.Buffer // the guest's stdout and stderr (Go runtime panics land here)

	rootID  uint32
	nextID  uint32
	current uint32  // the effective context of host calls
	stream  *stream // the stream a Request drives, nil between requests

	logs    []LogLine
	calls   Counts // since the current Request started
	returns Counts // import key -> calls of it that returned data through proxy_on_memory_allocate
	totals  Counts
	totRet  Counts

	shared     map[string]*sharedValue
	nextCas    uint32
	metrics    []*Metric
	metricIDs  map[string]uint32
	tickPeriod uint32
}

// export is a guest function with a guard against calling it while it runs: a host call made
// from inside proxy_on_memory_allocate could need it again, and a wazero api.Function keeps
// one stack.
type export struct {
	fn   api.Function
	busy bool
}

// New compiles and instantiates wasm with WASI and the proxy-wasm imports, then starts it the
// way Envoy starts a plugin: _initialize, proxy_on_context_create(root, 0),
// proxy_on_vm_start(root, len(vm config)), proxy_on_configure(root, len(pluginConfig)). A
// refused configuration is an error that carries the module's log lines. Callbacks the module
// does not export are skipped, as proxy-wasm-cpp-host skips them.
//
// The default engine is wazero's compiler. (wazero v1.7.2, which func-e's go.mod names, corrupts
// the heap of this repository's Go modules after a few thousand requests: "fatal error:
// s.allocCount != s.nelems", from request ~4,400 of (c), where its interpreter and v1.12.0's
// compiler run 30,000 without fault; hence the module requires v1.12.0.)
func New(ctx context.Context, wasm []byte, pluginConfig []byte, opts ...Option) (*Host, error) {
	o := options{pluginName: "apigw", rootID: "apigw", source: "127.0.0.1:40000", props: map[string][]byte{}}
	for _, f := range opts {
		f(&o)
	}
	h := &Host{
		ctx: ctx, opts: o, plugin: slices.Clone(pluginConfig), funcs: map[string]*export{},
		calls: Counts{}, returns: Counts{}, totals: Counts{}, totRet: Counts{},
		shared: map[string]*sharedValue{}, nextCas: 1, metricIDs: map[string]uint32{},
	}
	cfg := wazero.NewRuntimeConfigCompiler()
	if o.interpreter {
		cfg = wazero.NewRuntimeConfigInterpreter()
	}
	if o.cache != nil {
		cfg = cfg.WithCompilationCache(o.cache)
	}
	h.rt = wazero.NewRuntimeWithConfig(ctx, cfg)
	ok := false
	defer func() {
		if !ok {
			h.rt.Close(ctx)
		}
	}()

	// Imports are counted by a function listener on the host modules only: it sees WASI's calls
	// as well as ours, and the guest is compiled without one, so its code (and its cache entry)
	// stays the same as without counting.
	lctx := experimental.WithFunctionListenerFactory(ctx, experimental.FunctionListenerFactoryFunc(h.listenerFor))
	if _, err := wasi_snapshot_preview1.NewBuilder(h.rt).Instantiate(lctx); err != nil {
		return nil, fmt.Errorf("wasi: %w", err)
	}
	if _, err := h.envModule().Instantiate(lctx); err != nil {
		return nil, fmt.Errorf("env module: %w", err)
	}
	compiled, err := h.rt.CompileModule(ctx, wasm)
	if err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	// A reactor: no _start; the host calls _initialize itself, as Envoy does.
	mc := wazero.NewModuleConfig().WithName("guest").WithStartFunctions().
		WithSysWalltime().WithSysNanotime().WithSysNanosleep().WithRandSource(rand.Reader).
		WithStdout(&h.stdio).WithStderr(&h.stdio)
	if h.mod, err = h.rt.InstantiateModule(ctx, compiled, mc); err != nil {
		return nil, fmt.Errorf("instantiate: %w", err)
	}

	if h.mod.ExportedFunction("_initialize") != nil {
		if _, err := h.call(ctx, "_initialize"); err != nil {
			return nil, err
		}
	}
	h.nextID = 1
	h.rootID = h.newContextID()
	h.current = h.rootID
	if h.exported(memoryAllocate) == nil {
		return nil, fmt.Errorf("the module does not export %s: the host could not return data to it", memoryAllocate)
	}
	if _, err := h.callback(ctx, "proxy_on_context_create", 0, uint64(h.rootID), 0); err != nil {
		return nil, err
	}
	if r, err := h.callback(ctx, "proxy_on_vm_start", 1, uint64(h.rootID), uint64(len(o.vmConfig))); err != nil {
		return nil, err
	} else if r != 1 {
		return nil, fmt.Errorf("proxy_on_vm_start returned %d%s", r, h.logTail(h.logs))
	}
	if r, err := h.callback(ctx, "proxy_on_configure", 1, uint64(h.rootID), uint64(len(h.plugin))); err != nil {
		return nil, err
	} else if r != 1 {
		return nil, fmt.Errorf("plugin configuration refused (proxy_on_configure returned %d)%s", r, h.logTail(h.logs))
	}
	ok = true
	return h, nil
}

// Close releases the runtime and the module.
func (h *Host) Close() error { return h.rt.Close(h.ctx) }

// Logs are every line the module logged so far.
func (h *Host) Logs() []LogLine { return slices.Clone(h.logs) }

// TotalCalls are the counts since New, start-up included.
func (h *Host) TotalCalls() Counts { return maps.Clone(h.totals) }

// TotalDataReturns are, per import, the calls since New that returned data through
// proxy_on_memory_allocate.
func (h *Host) TotalDataReturns() Counts { return maps.Clone(h.totRet) }

// Metrics are the metrics the module defined, by name.
func (h *Host) Metrics() map[string]Metric {
	out := make(map[string]Metric, len(h.metrics))
	for _, m := range h.metrics {
		out[m.Name] = *m
	}
	return out
}

// SharedData is the value and CAS of a shared-data key.
func (h *Host) SharedData(key string) (value []byte, cas uint32, ok bool) {
	v := h.shared[key]
	if v == nil {
		return nil, 0, false
	}
	return slices.Clone(v.data), v.cas, true
}

// TickPeriod is the last period (milliseconds) the module asked for; 0 means no ticks.
func (h *Host) TickPeriod() uint32 { return h.tickPeriod }

// Tick calls proxy_on_tick on the root context, as Envoy's timer does.
func (h *Host) Tick() error {
	h.current = h.rootID
	_, err := h.callback(h.ctx, "proxy_on_tick", 0, uint64(h.rootID))
	return err
}

func (h *Host) newContextID() uint32 {
	id := h.nextID
	h.nextID++
	return id
}

// listenerFor counts the calls of one imported function under "module.name".
func (h *Host) listenerFor(def api.FunctionDefinition) experimental.FunctionListener {
	name := def.Name()
	if names := def.ExportNames(); len(names) > 0 {
		name = names[0]
	}
	key := def.ModuleName() + "." + name
	return experimental.FunctionListenerFunc(func(context.Context, api.Module, api.FunctionDefinition, []uint64, experimental.StackIterator) {
		h.count(key)
	})
}

func (h *Host) count(key string) {
	h.calls[key]++
	h.totals[key]++
}

// exported is the export name, nil if the module has none.
func (h *Host) exported(name string) *export {
	e, ok := h.funcs[name]
	if !ok {
		if fn := h.mod.ExportedFunction(name); fn != nil {
			e = &export{fn: fn}
		}
		h.funcs[name] = e
	}
	return e
}

// callback calls a proxy_on_* callback that a module may leave out, as proxy-wasm-cpp-host
// does: a missing one is not called (nor counted) and answers def, its default (Continue for a
// filter callback, true for proxy_on_done and the start-up ones).
func (h *Host) callback(ctx context.Context, name string, def uint64, args ...uint64) (uint64, error) {
	if h.exported(name) == nil {
		return def, nil
	}
	r, err := h.call(ctx, name, args...)
	if err != nil || len(r) == 0 {
		return def, err
	}
	return uint64(uint32(r[0])), nil
}

// call calls a guest export and counts it. A trap is an error with the module's output.
func (h *Host) call(ctx context.Context, name string, args ...uint64) ([]uint64, error) {
	e := h.exported(name)
	if e == nil {
		return nil, fmt.Errorf("the module does not export %s", name)
	}
	h.count(ExportPrefix + name)
	fn := e.fn
	if e.busy {
		fn = h.mod.ExportedFunction(name) // reentered: a fresh stack
	} else {
		e.busy = true
		defer func() { e.busy = false }()
	}
	r, err := fn.Call(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w%s%s", name, err, h.stdioTail(), h.logTail(h.logs))
	}
	return r, nil
}

func (h *Host) stdioTail() string {
	s := strings.TrimSpace(h.stdio.String())
	if s == "" {
		return ""
	}
	if len(s) > 4000 {
		s = "..." + s[len(s)-4000:]
	}
	return "\nmodule output:\n" + s
}

func (h *Host) logTail(lines []LogLine) string {
	if len(lines) == 0 {
		return ""
	}
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	var b strings.Builder
	b.WriteString("\nmodule log:")
	for _, l := range lines {
		b.WriteString("\n  " + l.String())
	}
	return b.String()
}
