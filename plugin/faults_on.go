//go:build apigw_faults

package main

import "github.com/apigw-wasm/apigw-wasm/internal/gateway"

// injectFault panics when the request asks for it: a test-only hook, compiled into the module
// only with -tags apigw_faults, that proves a panic is answered 500 and the VM keeps serving.
func injectFault(h *gateway.HeaderList) {
	if v, _ := h.Get("x-apigw-test-fault"); v == "panic" {
		panic("fault injected by x-apigw-test-fault")
	}
}
