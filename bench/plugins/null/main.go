// Command null is a proxy-wasm module of upstream Go that does nothing per request: plugin/abi's
// Base answers every callback. In the benchmark (configuration n) it measures what a Go module
// costs before it does any work: Envoy's wasm filter and the callbacks into the Go runtime, with
// the same exports as the plugin.
package main

import "github.com/apigw-wasm/apigw-wasm/plugin/abi"

func main() {}

func init() { abi.SetHandler(abi.Base{}) }
