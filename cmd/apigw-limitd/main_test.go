package main

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/limit/wire"
	"github.com/apigw-wasm/apigw-wasm/internal/limitd/redistest"
)

// syncBuffer is a log sink the server goroutine writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeAndStop runs the command on a real Redis given as a URL, takes from a quota over
// HTTP, and stops it with SIGTERM.
func TestServeAndStop(t *testing.T) {
	rs := redistest.Start(t)
	var logs syncBuffer
	ready := make(chan string, 1)
	code := make(chan int, 1)
	go func() {
		code <- run([]string{"-listen", "127.0.0.1:0", "-redis", "redis://" + rs.Addr + "/0", "-timeout", "1s"}, &logs, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case c := <-code:
		t.Fatalf("exited with %d: %s", c, logs.String())
	case <-time.After(10 * time.Second):
		t.Fatal("not serving after 10 s")
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	req := wire.Request{Instance: "cmdtest", TTL: 1000, Take: true,
		Ops: []wire.Op{{Key: "apigw|q|p|s", Kind: wire.Quota, Limit: 3, Take: true}}}
	resp, err = http.Post("http://"+addr+wire.Path, "application/json", bytes.NewReader(wire.AppendRequest(nil, &req)))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("take: %v %v", resp, err)
	}
	resp.Body.Close()
	if n, err := rs.Client().HGet(t.Context(), "{apigw}q:apigw|q|p|s", "u").Int(); err != nil || n != 1 {
		t.Fatalf("used in Redis: %d, %v", n, err)
	}
	syscall.Kill(syscall.Getpid(), syscall.SIGTERM)
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit %d: %s", c, logs.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still running 10 s after SIGTERM")
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Error("still accepting connections after stopping")
	}
	if !strings.Contains(logs.String(), "stopped") || strings.Contains(logs.String(), rs.Addr) {
		t.Errorf("logs (no Redis address, a URL may hold a password):\n%s", logs.String())
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-divisor", "0"}, "-divisor must be at least 1"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"-redis", "redis://[::1"}, "not a valid Redis URL"},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		if c := run(tt.args, &stderr, nil); c != 2 || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", tt.args, c, stderr.String(), tt.want)
		}
	}
}
