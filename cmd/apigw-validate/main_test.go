package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExamplesValid runs the validator on every example configuration of the repository.
func TestExamplesValid(t *testing.T) {
	for _, f := range []string{
		"../../envoy-examples/config.json",
		"../../envoy-examples/envoy.yaml",
		"../../envoy-examples/istio/wasmplugin.yaml",
	} {
		t.Run(filepath.Base(f), func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run([]string{f}, nil, &out, &errOut); code != 0 {
				t.Fatalf("exit %d\n%s%s", code, out.String(), errOut.String())
			}
			if !strings.Contains(out.String(), f+": valid") {
				t.Fatalf("no valid line:\n%s", out.String())
			}
			// api-broken is there on purpose: it shows the 481 answer.
			if !strings.Contains(out.String(), `warning: API "api-broken" answers every request 481 "Mock config error."`) {
				t.Errorf("no warning about api-broken:\n%s", out.String())
			}
		})
	}
}

// TestBrokenExamples names every problem of each file in testdata/broken, with its line and
// JSON path, and nothing else.
func TestBrokenExamples(t *testing.T) {
	tests := []struct {
		file string
		want []string // "LINE: PATH: part of the message"
	}{
		{"unknown-field.json", []string{"6: services[0].apis[0].methd: unknown field (known: auth, backend,"}},
		{"wrong-types.json", []string{
			"2: hmac.clock_skew_seconds: must be a number",
			"6: services[0].environments.release.max_requests_per_second: must be -1 (unlimited) or a positive whole number",
			"8: services[0].apis[0].max_requests_per_second: must be -1 (unlimited) or a positive whole number",
			"9: services[0].apis[0].backend.body: must be a string",
		}},
		{"bad-values.json", []string{
			"2: cluster_header: must be a header name",
			"3: endpoint_deny: [1]",
			"6: services[0].protocols[1]: unknown protocol \"ftp\"",
			"7: services[0].default_domain: \"bad host.example.com\" is not a host name",
			"9: services[0].apis[0].method: unknown value \"FETCH\"",
			"9: services[0].apis[0].auth: unknown value \"hmac\"",
			"10: services[0].apis[0].parameters[0].position: unknown value \"cookie\"",
			"10: services[0].apis[0].parameters[0].type: unknown value \"uuid\"",
		}},
		{"references.json", []string{
			"6: services[0].apis[1].id: duplicate api id \"api-1\"",
			"8: services[1].id: duplicate service id \"service-a\"",
			"12: usage_plans[0].secrets[1]: no secret with secret_id \"AKIDmissing\"",
			"13: usage_plans[0].environments[0].service: no service \"service-z\"",
			"14: usage_plans[0].apis[0].environment: unknown environment \"prod\"",
		}},
		{"not-json.json", []string{"3: not valid JSON"}},
		{"envoy.yaml", []string{
			"31: services[0].apis[0].backend.type: unknown value \"grpc\"",
			"33: usage_plans[0].quota_period: unknown value \"week\"",
		}},
		{"wasmplugin-spec.yaml", []string{"13: spec.failStrategi: unknown field of the Istio WasmPlugin spec"}},
		{"wasmplugin-config.yaml", []string{
			"22: services[0].apis[0].backend.timeout_seconds: must be a whole number from 1 to 3600",
			"24: secrets[0].secret_key: must be a string, got a number",
		}},
		{"wasmplugin-empty.yaml", []string{"8: spec.pluginConfig: is missing or empty"}},
	}
	files, _ := filepath.Glob("testdata/broken/*")
	if len(files) != len(tests) {
		t.Errorf("testdata/broken has %d files, the table %d", len(files), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "broken", tt.file)
			var out, errOut bytes.Buffer
			if code := run([]string{path}, nil, &out, &errOut); code != 1 {
				t.Fatalf("exit %d, want 1\n%s%s", code, out.String(), errOut.String())
			}
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				if rest, ok := strings.CutPrefix(line, path+":"); ok && !strings.HasPrefix(rest, " invalid") {
					got = append(got, rest)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d problems, want %d:\n%s", len(got), len(tt.want), out.String())
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("problem %d: %q, want it to start with %q", i, got[i], w)
				}
			}
			if !strings.Contains(out.String(), path+": invalid") {
				t.Errorf("no summary line:\n%s", out.String())
			}
		})
	}
}

func TestInputs(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		stdin string
		code  int
		out   string
	}{
		{"stdin", []string{"-"}, `{"services":[]}`, 0, "-: valid"},
		{"stdin invalid", []string{"-"}, `{"services":{}}`, 1, "-:1: services: must be an array"},
		{"yaml configuration", []string{"-"}, "services:\n- id: a\n  default_domain: 5\n", 1, "-:3: services[0].default_domain: must be a string"},
		{"json envoy", []string{"-"}, `{"static_resources": {"listeners": []}}`, 1, "no type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm filter"},
		{"other resources only", []string{"-"}, "apiVersion: v1\nkind: Service\n", 1, "no plugin configuration found"},
		{"yaml syntax", []string{"-"}, "a: [\n", 1, "-:1: yaml: line 1:"},
		{"no files", nil, "", 2, ""},
		{"missing file", []string{"testdata/no-such-file.json"}, "", 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(tt.args, strings.NewReader(tt.stdin), &out, &errOut)
			if code != tt.code || !strings.Contains(out.String(), tt.out) {
				t.Fatalf("exit %d, want %d; output lacks %q:\n%s%s", code, tt.code, tt.out, out.String(), errOut.String())
			}
		})
	}
}

// TestLinesOfEnvoyJSON: in an Envoy JSON file the configuration is one escaped string, so its
// problems are reported at that string's line.
func TestLinesOfEnvoyJSON(t *testing.T) {
	doc := fmt.Sprintf(`{
  "static_resources": {"listeners": [{"name": "l", "filter_chains": [{"filters": [{"typed_config": {"http_filters": [
    {"typed_config": {"@type": %q, "config": {"name": "apigw", "configuration": {
      "@type": %q,
      "value": "{\"servics\": []}"}}}}]}}]}]}]}}`, wasmFilterType, stringValue)
	f := filepath.Join(t.TempDir(), "envoy.json")
	if err := os.WriteFile(f, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if code := run([]string{f}, nil, &out, &out); code != 1 || !strings.Contains(out.String(), f+":5: servics: unknown field") {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
}

// TestLimitsClusterWarning: an Envoy configuration whose plugin counts limits globally through
// a cluster it does not define is valid, with a warning; with the cluster, or with CDS (the
// cluster may come from there), there is none.
func TestLimitsClusterWarning(t *testing.T) {
	envoy := func(clusters, dynamic string) string {
		return fmt.Sprintf(`{%s"static_resources": {"clusters": [%s], "listeners": [{"name": "l", "filter_chains": [{"filters": [{"typed_config": {"http_filters": [
    {"typed_config": {"@type": %q, "config": {"name": "apigw", "configuration": {
      "@type": %q,
      "value": "{\"limits\": {\"mode\": \"global\", \"cluster\": \"limitd\"}}"}}}}]}}]}]}]}}`, dynamic, clusters, wasmFilterType, stringValue)
	}
	const warning = `limits.cluster: warning: cluster "limitd" is not a cluster of this Envoy configuration`
	for _, tt := range []struct {
		name, doc string
		warn      bool
	}{
		{"missing", envoy(`{"name": "other"}`, ""), true},
		{"present", envoy(`{"name": "other"}, {"name": "limitd"}`, ""), false},
		{"cds", envoy("", `"dynamic_resources": {"cds_config": {"ads": {}}}, `), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			code := run([]string{"-"}, strings.NewReader(tt.doc), &out, &out)
			if code != 0 || strings.Contains(out.String(), warning) != tt.warn {
				t.Fatalf("exit %d, warning wanted %v:\n%s", code, tt.warn, out.String())
			}
		})
	}
}
