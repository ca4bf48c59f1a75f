// Command null is a proxy-wasm module of upstream Go that does nothing per request: the SDK's
// default contexts answer every callback. In the benchmark (configuration n) it measures what a
// Go module costs before it does any work: Envoy's wasm filter, the callbacks into the Go
// runtime, the SDK's context bookkeeping. Built by build/wasmbuild like the plugin.
package main

import (
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

func main() {}

func init() { proxywasm.SetVMContext(&vm{}) }

type vm struct{ types.DefaultVMContext }

func (*vm) NewPluginContext(uint32) types.PluginContext { return &plugin{} }

type plugin struct{ types.DefaultPluginContext }

func (*plugin) NewHttpContext(uint32) types.HttpContext { return &types.DefaultHttpContext{} }
