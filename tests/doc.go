// Package tests holds the end-to-end tests of apigw-wasm: the built module (build/apigw.wasm)
// inside a real Envoy started through func-e, real upstreams on 127.0.0.1 and real HTTP clients.
// The harness lives in gateway_test.go (StartGateway), shared_test.go (one Envoy for many tests),
// request_test.go (clients, RunCases), upstream_test.go, tls_test.go and dns_test.go (the DNS
// server Envoy's DNS cache asks); smoke_test.go and examples_test.go check the harness and
// envoy-examples/. The gateway's own tests go in files of their own, one per section of
// docs/gateway.md (host_test.go, auth_test.go, ...). Each Envoy start costs seconds of CPU while
// V8 compiles the module, so group cases behind one gateway. Run
// `make build` first (make test does) or set APIGW_WASM; ENVOY_PATH picks Envoy as in the Makefile.
package tests
