package main

import (
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

func main() {}

func init() { proxywasm.SetVMContext(&vm{}) }

type vm struct{ types.DefaultVMContext }

func (*vm) NewPluginContext(uint32) types.PluginContext { return &pc{} }

type pc struct{ types.DefaultPluginContext }

func (*pc) NewHttpContext(uint32) types.HttpContext { return &hc{} }

type hc struct{ types.DefaultHttpContext }

func (*hc) OnHttpRequestHeaders(int, bool) types.Action {
	p, _ := proxywasm.GetHttpRequestHeader(":path")
	proxywasm.SendHttpResponse(418, [][2]string{{"x-path", p}}, []byte("hello "+p), -1)
	return types.ActionPause
}
