// Command plugin is the proxy-wasm module: it adapts Envoy's callbacks to the gateway of
// internal/gateway and carries out its decisions. It is transport only: it reads what the
// gateway asks for from the host, hands it a request or response view, and writes back headers
// and local replies; every rule of the pipeline, response path included, lives in
// internal/gateway. Envoy is reached through one small interface, host: the direct ABI calls of
// plugin/abi in the wasm build, an in-memory fake in go test. Built with
// GOOS=wasip1 GOARCH=wasm -buildmode=c-shared (build/wasmbuild).
package main

import "github.com/apigw-wasm/apigw-wasm/plugin/abi"

// main is never called: a reactor module runs init() from _initialize.
func main() {}

func init() { abi.SetHandler(newVM(abiHost{})) }
