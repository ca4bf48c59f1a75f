// Command plugin is the proxy-wasm module: it adapts Envoy's callbacks to the gateway of
// internal/gateway and carries out its decisions. It stays thin: it reads what the gateway asks
// for from the host, and writes back headers and local replies. Built for GOOS=wasip1 by
// build/wasmbuild; the proxytest host of the SDK runs it natively in unit tests.
package main

import (
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

// main is never called: a reactor module runs init() from _initialize.
func main() {}

func init() { proxywasm.SetVMContext(&vmContext{}) }

type vmContext struct{ types.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }
