package tests

// Faults: a panic in the plugin's request handling is answered 500 and the VM keeps serving.
// The panic comes from the test-only hook of plugin/faults_on.go, compiled into a second module
// (-tags apigw_faults) that this file builds once; the release module has no such hook.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

const faultsConfig = `{
  "services": [{
    "id": "service-faults",
    "default_domain": "faults.example.com",
    "apis": [
      {"id": "api-mock", "path": "=/mock", "backend": {"type": "mock", "body": "{\"ok\":true}"}},
      {"id": "api-up", "path": "/up", "backend": {"type": "http", "cluster": "up"}}
    ]
  }]
}`

// faultsModule builds the module with the fault hook, once per test binary.
func faultsModule(t *testing.T) string {
	t.Helper()
	v, err := sharedValue("wasm:faults", func() (any, error) {
		if err := resolveEnv(); err != nil {
			return nil, err
		}
		out := filepath.Join(binaryOwner{}.TempDir(), "faults.wasm")
		cmd := exec.Command("go", "run", "./build/wasmbuild", "-tags", "apigw_faults", "-o", out, "./plugin")
		cmd.Dir = env.root
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("building the fault module: %v\n%s", err, b)
		}
		return out, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return v.(string)
}

// exchange sends requests one after the other on one connection (so on one Envoy worker) and
// returns the responses.
func exchange(t *testing.T, g *Gateway, reqs ...string) []Response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(g.HTTPURL, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(15 * time.Second))
	br := bufio.NewReader(conn)
	var out []Response
	for _, req := range reqs {
		if _, err := io.WriteString(conn, req); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("reading the response to %q: %v", firstLine(req), err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, Response{Status: resp.StatusCode, Proto: resp.Proto, Header: resp.Header, Body: string(b)})
	}
	return out
}

func TestFaultPanicIsAnswered500AndTheVMKeepsServing(t *testing.T) {
	module := faultsModule(t)
	up := StartUpstream(t)
	g := StartGateway(t, Options{PluginConfig: faultsConfig, Clusters: map[string]string{"up": up.Addr}, Wasm: module})

	const (
		panicReq = "GET /release/mock HTTP/1.1\r\nHost: faults.example.com\r\nX-Apigw-Test-Fault: panic\r\n\r\n"
		mockReq  = "GET /release/mock HTTP/1.1\r\nHost: faults.example.com\r\n\r\n"
		upReq    = "GET /release/up/after?x=1 HTTP/1.1\r\nHost: faults.example.com\r\n\r\n"
	)
	// Envoy's log names the thread of every plugin line: the workers that panicked.
	threadOf := func(id string) string {
		re := regexp.MustCompile(`\]\[(\d+)\]\[error\]\[wasm\][^\n]*internal error request_id=` + id + `: fault injected by x-apigw-test-fault`)
		deadline := time.Now().Add(10 * time.Second)
		for {
			if m := re.FindStringSubmatch(g.Logs()); m != nil {
				return m[1]
			}
			if time.Now().After(deadline) {
				t.Fatalf("no log of the panic of request %s\n%s", id, g.logTail(20))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	threads := map[string]int{}
	panics := 0
	// New connections until both workers have panicked (the kernel spreads connections over
	// the workers' listeners), each followed on the same connection by normal requests.
	for i := 0; i < 40 && (len(threads) < 2 || i < 6); i++ {
		rs := exchange(t, g, panicReq, mockReq, upReq, panicReq, mockReq)
		for _, k := range []int{0, 3} {
			r := rs[k]
			CheckResponse(t, r, Case{Status: 500, Message: "Internal Server Error.", Body: `{"message":"Internal Server Error."}`})
			checkGatewayReply(t, r)
			id := r.Header.Get("X-Api-Requestid")
			g.WaitLog(t, `reply status=500 message="Internal Server Error." request_id=`+id+` service=- api=-`, 10*time.Second)
			threads[threadOf(id)]++
			panics++
		}
		for _, k := range []int{1, 4} {
			if r := rs[k]; r.Status != 200 || r.Body != `{"ok":true}` || !requestIDPattern.MatchString(r.Header.Get("X-Api-Requestid")) {
				t.Fatalf("mock after a panic:\n%s", r)
			}
		}
		if r := rs[2]; r.Status != 200 || up.Last(t).URI != "/up/after?x=1" || up.Last(t).Header.Get("X-Api-Requestid") != r.Header.Get("X-Api-Requestid") {
			t.Fatalf("upstream request after a panic: %d, upstream saw %s\n%s", r.Status, up.Last(t).URI, r)
		}
		if t.Failed() {
			return
		}
	}
	if len(threads) < 2 {
		t.Fatalf("every panic happened on one worker: %v", threads)
	}
	t.Logf("%d panics on workers %v", panics, threads)

	// Still serving, on fresh connections too, and the 500s are counted like any rejection
	// (this gateway has no stats_tags: the label-less names).
	for i := 0; i < 6; i++ {
		if r := g.Do(t, Request{Host: "faults.example.com", Path: "/release/mock"}); r.Status != 200 {
			t.Fatalf("after the panics:\n%s", r)
		}
	}
	prom := g.Admin(t, "/stats/prometheus")
	for _, want := range []string{
		fmt.Sprintf("apigw_requests_service___api___status_500{} %d", panics),
		fmt.Sprintf("apigw_rejections_status_500_reason_internal_server_error{} %d", panics),
	} {
		if !strings.Contains(prom, want) {
			t.Errorf("/stats/prometheus lacks %q:\n%s", want, grepLines(prom, "apigw_"))
		}
	}
	if strings.Contains(g.Logs(), "[critical][wasm]") {
		t.Errorf("the VM reported a critical failure:\n%s", g.logTail(20))
	}
}

// TestFaultHookNotInRelease: the release module ignores the test header.
func TestFaultHookNotInRelease(t *testing.T) {
	e := backends(t)
	r := e.g.Do(t, Request{Host: backendsHost, Path: "/release/mock", Header: http.Header{"X-Apigw-Test-Fault": {"panic"}}})
	if r.Status != 200 || r.Body != `{"ok":true}` {
		t.Fatalf("release module:\n%s", r)
	}
	if strings.Contains(e.g.Logs(), "fault injected") {
		t.Errorf("the release module panicked")
	}
}
