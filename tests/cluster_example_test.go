package tests

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/apigw-wasm/apigw-wasm/internal/limitd/redistest"
)

// TestClusterExample runs what `make run-cluster` runs and does what envoy-examples/try-cluster.txt
// does: two Envoys with cluster/config.json and the example's own bridge cluster (health checks,
// outlier detection, from envoy-a.yaml), two bridges to a real Redis, one of them killed before
// the plan's 10 requests are spent alternately on both Envoys. Exactly 10 pass, the quota header
// counts down, then both Envoys answer 429 "API quota exceeded.", Redis counts 10, and
// both Envoys take the dead bridge out of the rotation. Only the ports differ from the example.
func TestClusterExample(t *testing.T) {
	redis := redistest.Start(t)
	bridges := startExampleBridges(t, redis.Addr, 2)
	up := StartUpstream(t)
	dir := filepath.Join(examplesDir, "cluster")
	conf, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "envoy-a.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var example map[string]any
	if err := yaml.Unmarshal(raw, &example); err != nil {
		t.Fatal(err)
	}
	var bridgeCluster map[string]any
	for _, c := range dig(example, "static_resources", "clusters").([]any) {
		if dig(c, "name") == "apigw_limitd" {
			bridgeCluster = c.(map[string]any)
		}
	}
	var endpoints []any
	for _, b := range bridges {
		host, port, _ := net.SplitHostPort(b.addr)
		var portNum int
		fmt.Sscan(port, &portNum)
		endpoints = append(endpoints, map[string]any{"endpoint": map[string]any{"address": map[string]any{
			"socket_address": map[string]any{"address": host, "port_value": portNum}}}})
	}
	dig(bridgeCluster, "load_assignment", "endpoints").([]any)[0].(map[string]any)["lb_endpoints"] = endpoints

	var gws []*Gateway
	for range clusterExample {
		gws = append(gws, StartGateway(t, Options{
			PluginConfig: string(conf),
			Clusters:     map[string]string{"demo": up.Addr},
			Bootstrap: func(b map[string]any) {
				sr := b["static_resources"].(map[string]any)
				sr["clusters"] = append(sr["clusters"].([]any), bridgeCluster)
			},
		}))
	}
	for i, g := range gws {
		if r := g.Do(t, Request{Host: "api.example.com", Path: "/hello"}); r.Status != 200 {
			t.Fatalf("envoy %d: /hello: %v", i, r)
		}
	}

	// As try-cluster.txt suggests: one bridge killed before the plan is spent.
	bridges[1].cmd.Process.Kill()
	bridges[1].cmd.Wait()

	date := time.Now().UTC().Format(http.TimeFormat)
	mac := hmac.New(sha256.New, []byte("demo-secret-key"))
	io.WriteString(mac, "x-date: "+date+"\nsource: demo")
	signed := http.Header{"X-Date": {date}, "Source": {"demo"}, "Authorization": {`hmac id="AKIDdemo", algorithm="hmac-sha256", ` +
		`headers="x-date source", signature="` + base64.StdEncoding.EncodeToString(mac.Sum(nil)) + `"`}}
	var quotas []string
	for i := 1; i <= 12; i++ {
		r := gws[i%2].Do(t, Request{Host: "api.example.com", Path: "/signed", Header: signed})
		q := r.Header.Get("X-UsagePlan-Quota")
		t.Logf("request %d, envoy %d: %d %s, X-UsagePlan-Quota %s", i, i%2, r.Status, r.Body, q)
		switch {
		case i <= 10 && (r.Status != 200 || r.Body != `{"hello":"AKIDdemo"}`):
			t.Errorf("request %d: %d %s, want 200 from the mock", i, r.Status, r.Body)
		case i > 10 && (r.Status != 429 || r.Message() != "API quota exceeded." || q != "0/10"):
			t.Errorf("request %d: %d %s (quota %s), want 429 API quota exceeded. with 0/10", i, r.Status, r.Body, q)
		}
		if i <= 10 {
			quotas = append(quotas, q)
		}
		time.Sleep(500 * time.Millisecond)
	}
	// The header is the count as Redis last told that Envoy, less its own spend since: the
	// first request waits for Redis (exact, 9/10); each Envoy's header never goes up; none is
	// below what is really left (it may be high by the other Envoy's unreported spend).
	last := [2]int{10, 10}
	for i, q := range quotas {
		var n, of int
		if _, err := fmt.Sscanf(q, "%d/%d", &n, &of); err != nil || of != 10 || n > last[(i+1)%2] || n < 10-(i+1) {
			t.Errorf("X-UsagePlan-Quota of request %d is %q: want at least %d/10 and at most this Envoy's last %d/10", i+1, q, 10-(i+1), last[(i+1)%2])
		}
		last[(i+1)%2] = n
	}
	if len(quotas) == 10 && quotas[0] != "9/10" {
		t.Errorf("X-UsagePlan-Quota went %v, want from 9/10", quotas)
	}
	used, err := redis.Client().HGet(context.Background(), "{apigw}q:apigw|q|usagePlan-demo|AKIDdemo", "u").Int()
	if err != nil || used != 10 {
		t.Errorf("Redis counts %d (%v), want 10", used, err)
	}
	// Both Envoys took the dead bridge out: its health check failed or it was ejected.
	dead := bridges[1].addr
	for i, g := range gws {
		deadline := time.Now().Add(15 * time.Second)
		for {
			flags := ""
			for _, line := range strings.Split(g.Admin(t, "/clusters"), "\n") {
				if strings.HasPrefix(line, "apigw_limitd::"+dead+"::health_flags::") {
					flags = line
				}
			}
			if strings.Contains(flags, "failed_active_hc") || strings.Contains(flags, "failed_outlier_check") {
				t.Logf("envoy %d: %s", i, flags)
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("envoy %d still sends calls to the dead bridge: %q", i, flags)
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// exampleBridge is one bridge (cmd/apigw-limitd) a test runs.
type exampleBridge struct {
	addr string
	cmd  *exec.Cmd
}

// startExampleBridges starts n bridges to the Redis at redisAddr and waits until each answers
// /healthz; they are killed when the test ends.
func startExampleBridges(t *testing.T, redisAddr string, n int) []*exampleBridge {
	t.Helper()
	bin := buildCommand(t, "apigw-limitd")
	var out []*exampleBridge
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		b := &exampleBridge{addr: l.Addr().String()}
		l.Close()
		b.cmd = exec.Command(bin, "-listen", b.addr, "-redis", redisAddr)
		if err := b.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.cmd.Process.Kill(); b.cmd.Wait() })
		deadline := time.Now().Add(15 * time.Second)
		for {
			resp, err := http.Get("http://" + b.addr + "/healthz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("bridge on %s not healthy: %v", b.addr, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		out = append(out, b)
	}
	return out
}
