package tests

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"gopkg.in/yaml.v3"
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
