// Package limit enforces the gateway's rate limits and quotas (docs/gateway.md section 7) on a
// shared key-value store with compare-and-swap, the model of proxy-wasm shared data: one map per
// vm_id that every worker VM reads and writes, where a write may name the version it replaces but
// the creation of a key is never guarded. Rate limits are token buckets of capacity R refilled at R
// per second; quotas are exact counters per plan and secret over a total, daily or monthly (UTC)
// period. Take checks the up to four limits of a request and either takes from all of them or from
// none, and reports what the response headers show. Keys depend only on identities, never on the
// limits, so counters outlive configuration reloads and a changed limit applies at once.
package limit

import (
	"errors"
	"sync"
)

// Store is the shared state: proxy-wasm shared data in the plugin, Memory in tests.
//
// Get returns the value of key and its cas (version), or found == false when the key does not
// exist. The caller does not modify value. Set writes value: with cas == 0 unconditionally; with
// cas != 0 it fails with ErrCASMismatch when the key exists with another cas, and it succeeds when
// the key does not exist. Set does not keep value after it returns.
type Store interface {
	Get(key string) (value []byte, cas uint32, found bool, err error)
	Set(key string, value []byte, cas uint32) error
}

// ErrCASMismatch is the error of a Set whose cas no longer matches the key's.
var ErrCASMismatch = errors.New("limit: cas mismatch")

// Memory is a Store in process memory with the host's semantics: one global cas counter that
// starts at 1, wraps and skips 0; creation not guarded. Its zero value is ready to use, and it is
// safe for concurrent use.
type Memory struct {
	mu   sync.Mutex
	m    map[string]memEntry
	next uint32 // the cas of the next write; 0 stands for 1
}

type memEntry struct {
	value []byte // never modified once stored: Get hands it out
	cas   uint32
}

// Get implements Store. The value returned is shared and must not be modified.
func (s *Memory) Get(key string) ([]byte, uint32, bool, error) {
	s.mu.Lock()
	e, ok := s.m[key]
	s.mu.Unlock()
	return e.value, e.cas, ok, nil
}

// Set implements Store.
func (s *Memory) Set(key string, value []byte, cas uint32) error {
	v := append([]byte(nil), value...)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.m[key]; ok && cas != 0 && cas != e.cas {
		return ErrCASMismatch
	}
	if s.m == nil {
		s.m = make(map[string]memEntry)
	}
	if s.next == 0 {
		s.next = 1
	}
	s.m[key] = memEntry{value: v, cas: s.next}
	if s.next++; s.next == 0 {
		s.next = 1
	}
	return nil
}
