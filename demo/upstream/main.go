// Command upstream is the upstream of `make run`. It answers every request with JSON that
// describes what it received (method, path with query, host, headers, body), so the gateway's
// work shows: the rewritten path, the added headers such as x-api-requestid.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// echo is the answer; header names are lowercased as HTTP/2 and Envoy show them.
type echo struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Host    string            `json:"host"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body,omitempty"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:18000", "listen address")
	flag.Parse()
	log.SetPrefix("demo upstream: ")
	log.SetFlags(0)

	srv := &http.Server{
		Addr:              *addr,
		Handler:           http.HandlerFunc(handle),
		ReadHeaderTimeout: 10 * time.Second,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	log.Printf("listening on %s", *addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

func handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	e := echo{
		Method:  r.Method,
		Path:    r.RequestURI,
		Host:    r.Host,
		Headers: make(map[string]string, len(r.Header)),
		Body:    string(body),
	}
	for k, vs := range r.Header {
		e.Headers[strings.ToLower(k)] = strings.Join(vs, ", ")
	}
	log.Printf("%s %s x-api-requestid=%s", r.Method, r.RequestURI, r.Header.Get("X-Api-Requestid"))
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(e)
}
