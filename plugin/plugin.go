package main

import (
	"fmt"
	"runtime/debug"
	"time"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/apigw-wasm/apigw-wasm/internal/config"
	"github.com/apigw-wasm/apigw-wasm/internal/gateway"
)

// pluginContext holds one loaded configuration; a reload makes a new one.
type pluginContext struct {
	types.DefaultPluginContext
	gw      *gateway.Gateway
	ids     requestIDs
	metrics metrics
	store   sharedData
	watch   bodyWatch
}

func (p *pluginContext) OnPluginStart(int) (status types.OnPluginStartStatus) {
	defer func() {
		if r := recover(); r != nil {
			proxywasm.LogCriticalf("configuration refused: internal error while loading: %v", r)
			status = types.OnPluginStartStatusFailed
		}
	}()
	start := time.Now()
	// Loading makes short-lived garbage in proportion to the configuration; a wasm VM never
	// gives memory back, so collect often while loading to keep the peak (and the VM) small.
	defer debug.SetGCPercent(debug.SetGCPercent(25))
	raw, err := proxywasm.GetPluginConfiguration()
	if err != nil && len(raw) == 0 {
		raw = nil
	}
	cfg, err := config.Load(raw)
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
				proxywasm.LogCriticalf("invalid configuration at %s: %s", where, e.Msg)
			}
			proxywasm.LogCriticalf("configuration refused: %d error(s)", len(errs))
		} else {
			proxywasm.LogCriticalf("configuration refused: %v", err)
		}
		return types.OnPluginStartStatusFailed
	}
	p.gw = gateway.New(cfg, &p.store)
	p.gw.Clock = wallClock
	p.watch.start(cfg)
	apis := 0
	for _, s := range cfg.Services {
		apis += len(s.APIs)
	}
	proxywasm.LogInfof("configuration loaded: %d service(s), %d api(s) in %s",
		len(cfg.Services), apis, time.Since(start).Round(time.Microsecond))
	return types.OnPluginStartStatusOK
}

func (p *pluginContext) NewHttpContext(id uint32) types.HttpContext {
	return &httpContext{plugin: p, id: id}
}

// OnTick runs the body watch (bodywatch.go), the only user of the tick.
func (p *pluginContext) OnTick() {
	defer func() {
		if r := recover(); r != nil {
			proxywasm.LogErrorf("internal error in the tick: %v", r)
		}
	}()
	p.watch.tick()
}
