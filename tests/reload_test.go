package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// reloadConfig is a quota of max requests for one secret on one API; the test changes max.
func reloadConfig(max string) string {
	return `{
  "services": [{"id": "service-reload", "default_domain": "reload.example.com",
    "apis": [{"id": "api-q", "path": "/q", "auth": "secret", "max_requests_per_second": 1000,
              "backend": {"type": "mock", "body": "ok"}}]}],
  "secrets": [{"secret_id": "AKIDenv", "secret_key": "ZxF2whO0RhuwnVCj5JMMAuqcDcN2oPrC"}],
  "usage_plans": [{"id": "plan-reload", "max_requests": ` + max + `, "secrets": ["AKIDenv"],
    "environments": [{"service": "service-reload", "environment": "release"}]}]
}`
}

// TestCountersSurviveReload serves the listener through LDS from a watched file, uses part of
// a quota, then changes the plugin configuration the way an operator does (a new listener
// resource) and checks that the count went on and the new limit applies.
func TestCountersSurviveReload(t *testing.T) {
	dir := t.TempDir()
	ldsPath := filepath.Join(dir, "lds.json")
	var listener map[string]any
	g := StartGateway(t, Options{
		PluginConfig: reloadConfig("3"),
		Bootstrap: func(b map[string]any) {
			static := b["static_resources"].(map[string]any)
			listener = static["listeners"].([]any)[0].(map[string]any)
			delete(static, "listeners")
			writeLDS(t, ldsPath, listener, "1")
			b["node"] = map[string]any{"id": "apigw-reload-test", "cluster": "apigw"}
			b["dynamic_resources"] = map[string]any{"lds_config": map[string]any{
				"path_config_source": map[string]any{"path": ldsPath, "watched_directory": map[string]any{"path": dir}},
			}}
		},
	})
	// Each request on a new connection: a kept-alive one would stay on the old listener.
	send := func() Response {
		h := sign(t, "AKIDenv", "hmac-sha256", "x-date source", "GET", "/release/q", nil)
		var b strings.Builder
		b.WriteString("GET /release/q HTTP/1.1\r\nHost: reload.example.com\r\nConnection: close\r\n")
		for k, vs := range h {
			for _, v := range vs {
				b.WriteString(k + ": " + v + "\r\n")
			}
		}
		b.WriteString("\r\n")
		return g.Raw(t, RawRequest{Data: b.String()})
	}
	for i, want := range []string{"2/3", "1/3"} {
		if r := send(); r.Status != 200 || r.Header.Get("X-Usageplan-Quota") != want {
			t.Fatalf("request %d before the reload: %d %q quota %q, want %s", i+1, r.Status, r.Message(), r.Header.Get("X-Usageplan-Quota"), want)
		}
	}

	// The same listener with max_requests 5 instead of 3.
	wasm := dig(listener["filter_chains"].([]any)[0], "filters").([]any)[0]
	filter := dig(wasm, "typed_config", "http_filters").([]any)[0]
	dig(filter, "typed_config", "config", "configuration").(map[string]any)["value"] = reloadConfig("5")
	writeLDS(t, ldsPath, listener, "2")
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(g.Admin(t, "/stats?filter=listener_manager.lds.update_success"), "update_success: 2") {
		if time.Now().After(deadline) {
			t.Fatalf("Envoy did not take the new listener:\n%s", tail(g.Logs(), 30))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := g.discoverListeners(); err != nil { // port 0: the new listener may bind anew
		t.Fatal(err)
	}
	// Until the new listener takes connections, the old one (limit 3) may still answer. Its
	// answers go to the same counters, so rather than demand that it never answer (a race on
	// a slow machine), the loop counts what it spent: a 200 one request, a 429 none (a
	// rejected request consumes nothing). The new limit's answers must go on from that count.
	used := 2
	var r Response
	deadline = time.Now().Add(30 * time.Second)
	for {
		r = send()
		quota := r.Header.Get("X-Usageplan-Quota")
		if strings.HasSuffix(quota, "/5") || time.Now().After(deadline) {
			break
		}
		switch {
		case r.Status == 200 && quota == fmt.Sprintf("%d/3", 3-used-1):
			used++
		case r.Status == 429 && used == 3 && quota == "0/3" && r.Message() == "API quota exceeded.":
		default:
			t.Fatalf("while the new listener starts: %d %q quota %q, want the old limit's answer after %d requests", r.Status, r.Message(), quota, used)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if used > 2 {
		t.Logf("the old listener answered after the update: %d requests used before the new limit", used)
	}
	// The count went on: the first answer of the new limit shows what 5 leaves after the used
	// requests and itself, each next one a request less, down to 0/5.
	for left := 5 - used - 1; ; left-- {
		if want := fmt.Sprintf("%d/5", left); r.Status != 200 || r.Header.Get("X-Usageplan-Quota") != want {
			t.Fatalf("after the reload (%d requests used before it took over): %d %q quota %q, want 200 and %s (the count went on)", used, r.Status, r.Message(), r.Header.Get("X-Usageplan-Quota"), want)
		}
		if left == 0 {
			break
		}
		r = send()
	}
	if r := send(); r.Status != 429 || r.Message() != "API quota exceeded." || r.Header.Get("X-Usageplan-Quota") != "0/5" {
		t.Fatalf("over the new limit: %d %q quota %q", r.Status, r.Message(), r.Header.Get("X-Usageplan-Quota"))
	}
}

func writeLDS(t *testing.T, path string, listener map[string]any, version string) {
	t.Helper()
	res := map[string]any{"@type": "type.googleapis.com/envoy.config.listener.v3.Listener"}
	for k, v := range listener {
		res[k] = v
	}
	b, err := json.Marshal(map[string]any{"version_info": version, "resources": []any{res}})
	if err != nil {
		t.Fatal(err)
	}
	// Envoy watches the directory for a file moved into place.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
