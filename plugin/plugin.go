package main

import (
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/config"
	"github.com/apigw-wasm/apigw-wasm/internal/gateway"
	"github.com/apigw-wasm/apigw-wasm/internal/limit/lease"
	"github.com/apigw-wasm/apigw-wasm/plugin/abi"
)

// rootContext is one plugin configuration on one VM; a reload makes a new one.
type rootContext struct {
	id      uint32
	host    host
	gw      *gateway.Gateway
	ids     requestIDs
	metrics metrics
	store   sharedData
	watch   bodyWatch
	limits  *globalLimits         // the global mode's; nil in the local mode
	calls   map[uint32]*limitCall // the VM's calls to the limits' store in flight (vm.calls)
	tickMS  uint32                // the tick period set
}

// configure loads the plugin configuration; false refuses it (Envoy rejects the listener).
func (p *rootContext) configure(size int) bool {
	start := time.Now()
	// Loading makes short-lived garbage in proportion to the configuration; a wasm VM never
	// gives memory back, so collect often while loading to keep the peak (and the VM) small.
	defer debug.SetGCPercent(debug.SetGCPercent(25))
	raw, err := p.host.buffer(abi.PluginConfiguration, 0, size)
	if err != nil {
		p.host.log(abi.LogCritical, "configuration refused: cannot read it: "+err.Error())
		return false
	}
	cfg, err := config.Load([]byte(raw))
	if err != nil {
		if errs, ok := err.(config.Errors); ok {
			for _, e := range errs {
				where := e.Path
				if where == "" {
					where = "(document)"
				}
				if e.Line > 0 {
					where += fmt.Sprintf(" (line %d)", e.Line)
				}
				p.host.log(abi.LogCritical, fmt.Sprintf("invalid configuration at %s: %s", where, e.Msg))
			}
			p.host.log(abi.LogCritical, fmt.Sprintf("configuration refused: %d error(s)", len(errs)))
		} else {
			p.host.log(abi.LogCritical, "configuration refused: "+err.Error())
		}
		return false
	}
	p.store.host = p.host
	p.metrics.host = p.host
	p.gw = gateway.New(cfg, &p.store)
	p.gw.Clock = p.host.now
	p.limits = nil
	if lim := cfg.Limits; lim.Global {
		// One client per VM and configuration; a reload's client goes on with the same
		// leases, which live in the Envoy's shared data.
		c, err := lease.NewClient(&p.store, lim.Policy(), lim.OnStoreFailure)
		if err != nil {
			p.host.log(abi.LogCritical, "configuration refused: the cluster-wide limits cannot start: "+err.Error())
			return false
		}
		p.gw.Leases = c
		p.limits = newGlobalLimits(p.host, p.id, c, lim, p.calls)
		p.host.log(abi.LogInfo, fmt.Sprintf("limits: global, through cluster %q, timeout %s, on_store_failure %s, instance %s",
			lim.Cluster, lim.Timeout, map[lease.Mode]string{lease.Local: "local", lease.Deny: "deny"}[lim.OnStoreFailure], c.Instance()))
	}
	p.watch.host = p.host
	p.watch.start(cfg)
	p.setTick()
	apis := 0
	for _, s := range cfg.Services {
		apis += len(s.APIs)
	}
	p.host.log(abi.LogInfo, fmt.Sprintf("configuration loaded: %d service(s), %d api(s) in %s",
		len(cfg.Services), apis, time.Since(start).Round(time.Microsecond)))
	return true
}

// onTick runs the body watch (bodywatch.go) and the global limits' reports (limits.go), which
// share the tick: it runs at the shorter period either needs, and stops when neither does.
func (p *rootContext) onTick() {
	p.watch.tick()
	if p.limits != nil {
		p.limits.tick()
	}
	p.setTick()
}

// setTick sets the tick period the root context needs now.
func (p *rootContext) setTick() {
	var ms uint32
	switch {
	case p.limits != nil:
		ms = uint32(limitsTick / time.Millisecond)
	case p.watch.on:
		ms = uint32(watchTick / time.Millisecond)
	}
	if ms == p.tickMS {
		return
	}
	if err := p.host.setTickPeriod(ms); err != nil {
		logHostError(p.host, err, "")
		return
	}
	p.tickMS = ms
}

// logHostError is the one way a failed host call is reported: one error line naming the call
// and, for a request, its id.
func logHostError(h host, err error, requestID string) {
	var b strings.Builder
	b.WriteString("host call failed: ")
	b.WriteString(err.Error())
	if requestID != "" {
		b.WriteString(" request_id=")
		b.WriteString(requestID)
	}
	h.log(abi.LogError, b.String())
}
