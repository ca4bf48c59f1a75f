//go:build !apigw_faults

package main

import "github.com/apigw-wasm/apigw-wasm/internal/gateway"

// injectFault does nothing in the release module; see faults_on.go.
func injectFault(*gateway.HeaderList) {}
