package tests

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/apigw-wasm/apigw-wasm/testkit/certs"
)

// DefaultTLSNames are the names every gateway certificate is valid for.
var DefaultTLSNames = []string{"*.example.com", "example.com", "localhost", "127.0.0.1", "::1"}

// testCA signs the gateway certificates of this test process; CertPool trusts it.
var testCA struct {
	once sync.Once
	ca   *certs.CA
	pool *x509.CertPool
	err  error
}

// CertPool returns a pool that trusts every gateway certificate made by this process.
func CertPool() *x509.CertPool {
	initCA()
	return testCA.pool
}

func initCA() {
	testCA.once.Do(func() {
		testCA.ca, testCA.err = certs.NewCA("apigw-wasm test CA", 24*time.Hour)
		if testCA.err == nil {
			testCA.pool = testCA.ca.Pool()
		}
	})
}

// writeServerCert writes a certificate for DefaultTLSNames plus extra, signed by the test CA,
// as PEM files in dir, and returns their paths.
func writeServerCert(dir string, extra []string) (certFile, keyFile string, err error) {
	initCA()
	if testCA.err != nil {
		return "", "", fmt.Errorf("test CA: %w", testCA.err)
	}
	return testCA.ca.WriteServer(dir, "apigw-wasm test gateway", slices.Concat(DefaultTLSNames, extra), 24*time.Hour)
}

// clientTLS is the client side: trusts the test CA; sni, when set, is sent and verified.
func clientTLS(sni string) *tls.Config {
	return &tls.Config{RootCAs: CertPool(), ServerName: sni, MinVersion: tls.VersionTLS12}
}
