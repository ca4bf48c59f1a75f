package main

import (
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/config"
	"github.com/apigw-wasm/apigw-wasm/internal/gateway"
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
	p.watch.host = p.host
	p.watch.start(cfg)
	apis := 0
	for _, s := range cfg.Services {
		apis += len(s.APIs)
	}
	p.host.log(abi.LogInfo, fmt.Sprintf("configuration loaded: %d service(s), %d api(s) in %s",
		len(cfg.Services), apis, time.Since(start).Round(time.Microsecond)))
	return true
}

// onTick runs the body watch (bodywatch.go).
func (p *rootContext) onTick() { p.watch.tick() }

func (p *rootContext) onHTTPCallResponse(token uint32, headers, bodySize int) {}

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
