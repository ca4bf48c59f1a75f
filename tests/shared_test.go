package tests

import (
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
)

// owner is what a gateway or upstream lives as long as: one test (testing.TB), or the whole
// test binary (binaryOwner).
type owner interface {
	TempDir() string
	Cleanup(func())
}

// binaryOwner keeps things until TestMain's m.Run returns.
type binaryOwner struct{}

var shared struct {
	mu       sync.Mutex
	cleanups []func()
	entries  map[string]*sharedEntry
}

type sharedEntry struct {
	once sync.Once
	val  any
	err  error
}

func (binaryOwner) TempDir() string {
	dir, err := os.MkdirTemp("", "apigw-shared-")
	if err != nil {
		panic(err)
	}
	binaryOwner{}.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func (binaryOwner) Cleanup(f func()) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	shared.cleanups = append(shared.cleanups, f)
}

// TestMain stops the shared gateways and upstreams once every test has run.
func TestMain(m *testing.M) {
	code := m.Run()
	shared.mu.Lock()
	cleanups := shared.cleanups
	shared.cleanups = nil
	shared.mu.Unlock()
	for _, f := range slices.Backward(cleanups) {
		f()
	}
	os.Exit(code)
}

// sharedValue makes the value for key once per test binary.
func sharedValue(key string, start func() (any, error)) (any, error) {
	shared.mu.Lock()
	if shared.entries == nil {
		shared.entries = make(map[string]*sharedEntry)
	}
	e := shared.entries[key]
	if e == nil {
		e = &sharedEntry{}
		shared.entries[key] = e
	}
	shared.mu.Unlock()
	e.once.Do(func() { e.val, e.err = start() })
	return e.val, e.err
}

// SharedGateway returns the gateway that the first call with this key started; it runs until
// every test of the package is done. Starting Envoy costs seconds of CPU (V8 compiles the
// module), so tests that can use one configuration should share it. Every call with a key must
// pass the same options; the upstreams it names should be SharedUpstreams. Its log is shared too.
func SharedGateway(t testing.TB, key string, opts Options) *Gateway {
	t.Helper()
	v, err := sharedValue("gateway:"+key, func() (any, error) {
		g, err := startGateway(binaryOwner{}, opts)
		if err != nil {
			return nil, fmt.Errorf("shared gateway %q did not start: %v\n%s", key, err, g.logTail(60))
		}
		return g, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return v.(*Gateway)
}

// SharedUpstream returns the echoing upstream that the first call with this key started; it
// runs until every test of the package is done. Its records accumulate across tests: use Reset
// or compare counts.
func SharedUpstream(t testing.TB, key string) *Upstream {
	t.Helper()
	v, err := sharedValue("upstream:"+key, func() (any, error) {
		return startUpstream(binaryOwner{}, nil), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return v.(*Upstream)
}
