module github.com/apigw-wasm/apigw-wasm

go 1.26.8

require github.com/tetratelabs/proxy-wasm-go-sdk v0.24.0
