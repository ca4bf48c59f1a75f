package main

import (
	"os"
	"path/filepath"
	"time"

	"github.com/apigw-wasm/apigw-wasm/testkit/certs"
)

// defaultNames cover the example's domains: custom domains under example.com and the
// services' default domains.
var defaultNames = []string{"*.example.com", "example.com", "*.gz.apigw.tencentcs.com", "localhost", "127.0.0.1", "::1"}

// ensureCert keeps dir/tls.crt and dir/tls.key (signed by dir/ca.crt, so clients can trust the
// CA with curl --cacert) when they cover names and stay valid a while; else it makes new ones.
func ensureCert(dir string, names []string) error {
	if certs.Covers(filepath.Join(dir, "tls.crt"), names, 7*24*time.Hour) {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	const validity = 90 * 24 * time.Hour
	ca, err := certs.NewCA("apigw-wasm demo CA", validity)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), ca.PEM(), 0o644); err != nil {
		return err
	}
	_, _, err = ca.WriteServer(dir, "apigw-wasm demo", names, validity)
	return err
}
