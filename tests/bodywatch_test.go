package tests

import (
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Body parameters and allow_on_headers_stop_iteration (plugin/bodywatch.go): the plugin holds a
// request to an API with body parameters at its headers until it has read the body, and Envoy
// delivers that body only with the setting on. Without it, the request is answered 500 after
// the watch's bound instead of waiting for Envoy's stream timeout.

// watchBound is the plugin's holdBound; the watch looks once a second.
const watchBound = 5 * time.Second

// slowBody writes a form body after pause: longer than the bound, so the watch has looked.
func slowBody(body string, pause time.Duration) func(io.Writer) error {
	return func(w io.Writer) error {
		time.Sleep(pause)
		_, err := io.WriteString(w, body)
		return err
	}
}

func formHead(path string, n int) string {
	return "POST " + path + " HTTP/1.1\r\nHost: " + paramsHost + "\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
		"Content-Length: " + strconv.Itoa(n) + "\r\nConnection: close\r\n\r\n"
}

// TestBodyWatchWithoutSetting: Envoy without allow_on_headers_stop_iteration. The plugin warns
// at start, naming the setting and the APIs; a request to a body-parameter API is answered 500
// within the bound and a tick, with an error line naming the setting and the API; nothing
// reaches the upstream; APIs without body parameters are not affected.
func TestBodyWatchWithoutSetting(t *testing.T) {
	up := StartUpstream(t)
	g := StartGateway(t, Options{
		PluginConfig:           paramsConfig,
		Clusters:               map[string]string{"up": up.Addr, "early": up.Addr},
		NoHeadersStopIteration: true,
	})
	g.WaitLog(t, "APIs with body parameters need allow_on_headers_stop_iteration: true in the wasm filter's config", 10*time.Second)
	for _, api := range []string{"service-params/api-order", "service-params/api-form", "service-params/api-held"} {
		if !strings.Contains(g.Logs(), api) {
			t.Errorf("the start warning does not name %s", api)
		}
	}

	const body = "name=bob"
	start := time.Now()
	r := streamRequest(t, g, formHead("/release/form", len(body)), func(w io.Writer) error {
		_, err := io.WriteString(w, body)
		return err
	})
	took := time.Since(start)
	t.Logf("answered after %v", took)
	if r.Status != 500 || r.Message() != "Internal Server Error." {
		t.Fatalf("after %v: got\n%s", took, r)
	}
	checkGatewayReply(t, r)
	if took < watchBound-time.Second || took > watchBound+3*time.Second {
		t.Errorf("answered after %v, want the bound %v plus a tick", took, watchBound)
	}
	id := r.Header.Get("X-Api-Requestid")
	g.WaitLog(t, "API service-params/api-form has body parameters, which need allow_on_headers_stop_iteration: true in the wasm filter's config; answered 500 request_id="+id, 5*time.Second)
	if n := up.Count(); n != 0 {
		t.Errorf("the upstream saw %d requests", n)
	}

	// An API without body parameters is not held, and passes.
	if r := g.Do(t, Request{Host: paramsHost, Path: "/release/raw"}); r.Status != 200 {
		t.Errorf("API without body parameters:\n%s", r)
	}
}

// TestBodyWatchWithSetting: with the setting on, the first held request that gets its body
// proves it, and the watch ends: a body that comes later than the bound then still passes. The
// exception, as documented: on a fresh VM, before any held request has had its body, a client
// that sends no body byte for longer than the bound is answered 500. One worker, so that every
// request meets the same VM.
func TestBodyWatchWithSetting(t *testing.T) {
	up := StartUpstream(t)
	g := StartGateway(t, Options{
		PluginConfig: paramsConfig,
		Clusters:     map[string]string{"up": up.Addr, "early": up.Addr},
		Concurrency:  1,
	})
	const body = "name=bob"
	late := watchBound + 2*time.Second

	r := streamRequest(t, g, formHead("/release/form", len(body)), slowBody(body, late))
	if r.Status != 500 || r.Message() != "Internal Server Error." {
		t.Fatalf("a late body on a fresh VM: got\n%s", r)
	}

	r = g.Do(t, Request{Method: "POST", Host: paramsHost, Path: "/release/form", Body: body, Header: formHeader()})
	if r.Status != 200 {
		t.Fatalf("a body right after the headers:\n%s", r)
	}

	r = streamRequest(t, g, formHead("/release/form", len(body)), slowBody(body, late))
	if r.Status != 200 {
		t.Fatalf("a body %v after the headers, the setting proven:\n%s", late, r)
	}
	if rec := up.Last(t); rec.URI != "/f?page=1" || rec.Body != body+"&lang=en" {
		t.Errorf("upstream got %s %q", rec.URI, rec.Body)
	}
}
