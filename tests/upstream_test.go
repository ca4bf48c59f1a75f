package tests

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Record is one request as an upstream received it.
type Record struct {
	Method string      `json:"method"`
	URI    string      `json:"uri"` // path with raw query, exactly as sent by Envoy
	Host   string      `json:"host"`
	Proto  string      `json:"proto"`
	Header http.Header `json:"headers"` // canonical keys, as net/http stores them
	Body   string      `json:"body"`
}

// Upstream is an HTTP/1.1 server on 127.0.0.1 that records every request.
type Upstream struct {
	Server *httptest.Server
	Addr   string // host:port, for Options.Clusters

	mu      sync.Mutex
	records []Record
	notify  chan struct{} // closed and replaced on every new record
}

// StartUpstream starts an upstream that answers every request 200 with its Record as JSON.
// It stops when the test ends.
func StartUpstream(t testing.TB) *Upstream {
	return StartUpstreamHandler(t, nil)
}

// StartUpstreamHandler starts an upstream that records every request, then lets h answer it
// (r.Body is already read and replaced, so h can read it again). A nil h echoes, as StartUpstream.
func StartUpstreamHandler(t testing.TB, h http.HandlerFunc) *Upstream {
	return startUpstream(t, h)
}

func startUpstream(o owner, h http.HandlerFunc) *Upstream {
	u := &Upstream{notify: make(chan struct{})}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec := Record{
			Method: r.Method,
			URI:    r.RequestURI,
			Host:   r.Host,
			Proto:  r.Proto,
			Header: r.Header.Clone(),
			Body:   string(body),
		}
		u.mu.Lock()
		u.records = append(u.records, rec)
		close(u.notify)
		u.notify = make(chan struct{})
		u.mu.Unlock()
		if h != nil {
			r.Body = io.NopCloser(strings.NewReader(string(body)))
			h(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(rec)
	}))
	u.Addr = u.Server.Listener.Addr().String()
	o.Cleanup(u.Server.Close)
	return u
}

// Count returns how many requests the upstream got.
func (u *Upstream) Count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.records)
}

// Records returns a copy of every request received so far, oldest first.
func (u *Upstream) Records() []Record {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]Record(nil), u.records...)
}

// Last returns the newest request; the test fails if there is none.
func (u *Upstream) Last(t testing.TB) Record {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.records) == 0 {
		t.Fatal("upstream got no request")
	}
	return u.records[len(u.records)-1]
}

// Reset forgets the requests received so far.
func (u *Upstream) Reset() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.records = nil
}

// WaitCount waits until the upstream got at least n requests, failing the test after timeout.
func (u *Upstream) WaitCount(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		u.mu.Lock()
		got, ch := len(u.records), u.notify
		u.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("upstream got %d requests, want at least %d within %v", got, n, timeout)
		}
	}
}

// DecodeEcho parses the JSON echo of an upstream started by StartUpstream.
func DecodeEcho(t testing.TB, body string) Record {
	t.Helper()
	var rec Record
	if err := json.Unmarshal([]byte(body), &rec); err != nil {
		t.Fatalf("not an upstream echo: %v: %q", err, body)
	}
	return rec
}
