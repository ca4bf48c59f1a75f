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
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/apigw-wasm/apigw-wasm/internal/limitd/redistest"
)

// clusterExample is what `make run-cluster` runs: two Envoys sharing one usage plan through the
// bridges (envoy-examples/cluster/).
var clusterExample = []struct {
	file               string
	name               string // as its access log names it
	adminPort, rawPort int
}{
	{"envoy-a.yaml", "envoy-a", 9902, 10001},
	{"envoy-b.yaml", "envoy-b", 9903, 10002},
}

// bridgePorts are the bridges demo/run -cluster starts (its -bridges default).
var bridgePorts = []int{8090, 8091}

// TestClusterExampleInSync checks envoy-examples/cluster/ without Envoy: both Envoys are the same
// but for their name and ports, run cluster/config.json, and reach the bridges through a cluster
// shaped as docs/limits.md asks (HTTP/1.1, active health checks on /healthz, a bridge that fails
// at the connection level ejected).
func TestClusterExampleInSync(t *testing.T) {
	dir := filepath.Join(examplesDir, "cluster")
	standalone := readJSON(t, filepath.Join(dir, "config.json"))
	var first map[string]any
	for _, ex := range clusterExample {
		raw, err := os.ReadFile(filepath.Join(dir, ex.file))
		if err != nil {
			t.Fatal(err)
		}
		var b map[string]any
		if err := yaml.Unmarshal(raw, &b); err != nil {
			t.Fatalf("%s: %v", ex.file, err)
		}
		filters := wasmFilters(b)
		if len(filters) != 1 {
			t.Fatalf("%s: %d wasm filters, want 1", ex.file, len(filters))
		}
		value, _ := dig(filters[0], "typed_config", "config", "configuration", "value").(string)
		inline, err := decodeJSON([]byte(value))
		if err != nil {
			t.Fatalf("%s: inline configuration: %v", ex.file, err)
		}
		if !reflect.DeepEqual(inline, standalone) {
			t.Errorf("%s: inline configuration differs from cluster/config.json", ex.file)
		}

		// The ports demo/run and try-cluster.txt use; then blank what may differ.
		admin := dig(b, "admin", "address", "socket_address").(map[string]any)
		listener := dig(b, "static_resources", "listeners").([]any)[0]
		sock := dig(listener, "address", "socket_address").(map[string]any)
		if admin["port_value"] != ex.adminPort || sock["port_value"] != ex.rawPort {
			t.Errorf("%s: admin port %v, listener port %v; want %d, %d", ex.file, admin["port_value"], sock["port_value"], ex.adminPort, ex.rawPort)
		}
		admin["port_value"], sock["port_value"] = 0, 0
		hcm := dig(listener, "filter_chains").([]any)[0]
		logs := dig(dig(hcm, "filters").([]any)[0], "typed_config", "access_log").([]any)
		format := dig(logs[0], "typed_config", "log_format", "text_format_source").(map[string]any)
		want := "[" + ex.name + "] "
		if s, _ := format["inline_string"].(string); len(s) < len(want) || s[:len(want)] != want {
			t.Errorf("%s: the access log line does not start with %q: %q", ex.file, want, s)
		} else {
			format["inline_string"] = s[len(want):]
		}
		if first == nil {
			first = b
		} else if !reflect.DeepEqual(first, b) {
			t.Errorf("%s differs from %s in more than its name and ports", ex.file, clusterExample[0].file)
		}
	}

	limits, _ := dig(standalone, "limits").(map[string]any)
	if limits["mode"] != "global" {
		t.Fatalf("cluster/config.json: limits %v, want mode global", limits)
	}
	clusters := map[string]any{}
	for _, c := range dig(first, "static_resources", "clusters").([]any) {
		clusters[dig(c, "name").(string)] = c
	}
	bridge := clusters[limits["cluster"].(string)]
	if bridge == nil {
		t.Fatalf("no Envoy cluster %v, the plugin's limits.cluster", limits["cluster"])
	}
	var ports []int
	for _, ep := range dig(dig(bridge, "load_assignment", "endpoints").([]any)[0], "lb_endpoints").([]any) {
		ports = append(ports, dig(ep, "endpoint", "address", "socket_address", "port_value").(int))
	}
	hc := dig(bridge, "health_checks").([]any)
	checks := []struct {
		what string
		ok   bool
	}{
		{"both bridges of demo/run as endpoints", reflect.DeepEqual(ports, bridgePorts)},
		{"HTTP/1.1", dig(bridge, "typed_extension_protocol_options", "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
			"explicit_http_config", "http_protocol_options") != nil},
		{"an active health check of /healthz", len(hc) == 1 && dig(hc[0], "http_health_check", "path") == "/healthz"},
		{"ejection after consecutive local-origin failures", dig(bridge, "outlier_detection", "split_external_local_origin_errors") == true &&
			dig(bridge, "outlier_detection", "consecutive_local_origin_failure") != nil &&
			dig(bridge, "outlier_detection", "enforcing_consecutive_local_origin_failure") == 100},
		{"no ejection for 5xx (Redis failing is every bridge's)", dig(bridge, "outlier_detection", "enforcing_consecutive_5xx") == 0},
		{"one of two bridges may be ejected", dig(bridge, "outlier_detection", "max_ejection_percent") == 50},
		{"the demo upstream of demo/run", dig(dig(dig(clusters["demo"], "load_assignment", "endpoints").([]any)[0], "lb_endpoints").([]any)[0],
			"endpoint", "address", "socket_address", "port_value") == 18000},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("cluster %v: want %s", limits["cluster"], c.what)
		}
	}
}

// TestClusterExample runs what `make run-cluster` runs and does what envoy-examples/try-cluster.txt
// does: two Envoys with cluster/config.json and the example's own bridge cluster (health checks,
// outlier detection, from envoy-a.yaml), two bridges to a real Redis, one of them killed before
// the plan's 10 requests are spent alternately on both Envoys. Exactly 10 pass, the quota header
// counts down, then both Envoys answer 429 "API quota exceeded.", Redis counts 10, and
// both Envoys take the dead bridge out of the rotation. Only the ports differ from the example.
func TestClusterExample(t *testing.T) {
	redis := redistest.Start(t)
	bridges := []*bridgeProc{startBridge(t, redis.Addr), startBridge(t, redis.Addr)}
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
		host, port, _ := net.SplitHostPort(b.Addr)
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
	bridges[1].Kill()

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
	dead := bridges[1].Addr
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
