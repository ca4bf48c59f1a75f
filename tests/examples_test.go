package tests

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// examplesDir is envoy-examples/, seen from this package's folder.
const examplesDir = "../envoy-examples"

// TestExampleConfigInSync fails when the plugin configuration inline in envoy-examples/envoy.yaml
// and envoy-examples/config.json are not the same JSON document. It needs no Envoy.
func TestExampleConfigInSync(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(examplesDir, "envoy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var bootstrap any
	if err := yaml.Unmarshal(raw, &bootstrap); err != nil {
		t.Fatalf("envoy.yaml: %v", err)
	}
	standalone := readJSON(t, filepath.Join(examplesDir, "config.json"))

	filters := wasmFilters(bootstrap)
	if len(filters) == 0 {
		t.Fatal("envoy.yaml has no envoy.filters.http.wasm filter")
	}
	for i, f := range filters {
		conf := dig(f, "typed_config", "config")
		if got := dig(conf, "vm_config", "vm_id"); got != DefaultVMID {
			t.Errorf("wasm filter %d: vm_id %v, want %q", i, got, DefaultVMID)
		}
		if got := dig(conf, "root_id"); got != DefaultRootID {
			t.Errorf("wasm filter %d: root_id %v, want %q", i, got, DefaultRootID)
		}
		value, ok := dig(conf, "configuration", "value").(string)
		if !ok {
			t.Errorf("wasm filter %d: configuration is not a StringValue with a value", i)
			continue
		}
		inline, err := decodeJSON([]byte(value))
		if err != nil {
			t.Errorf("wasm filter %d: inline configuration is not JSON: %v", i, err)
			continue
		}
		if !reflect.DeepEqual(inline, standalone) {
			t.Errorf("wasm filter %d: inline configuration in envoy.yaml differs from config.json; keep them the same", i)
		}
	}
}

// TestExampleConfigLoads starts the module with envoy-examples/config.json, so the example
// stays a configuration the plugin accepts, and sends the requests of envoy-examples/try.txt:
// each gets the answer the file says, to the status and body. The gateway is shared: tests of
// the example's behaviour can use SharedExampleGateway without another Envoy start.
func TestExampleConfigLoads(t *testing.T) {
	g := SharedExampleGateway(t)
	const host = "api.example.com"
	reply := func(msg string) string { return `{"message":"` + msg + `"}` }
	fromGateway := func(t *testing.T, r Response) { checkGatewayReply(t, r) }
	// The demo upstream echoes the rewritten path.
	echoed := func(uri string) func(*testing.T, Response) {
		return func(t *testing.T, r Response) {
			if rec := DecodeEcho(t, r.Body); rec.URI != uri || rec.Host != host {
				t.Errorf("demo upstream saw %s (host %s), want %s", rec.URI, rec.Host, uri)
			}
		}
	}
	// Signed as try.txt's openssl line signs: HMAC-SHA256 of "x-date: <date>\nsource: demo".
	date := time.Now().UTC().Format(http.TimeFormat)
	mac := hmac.New(sha256.New, []byte("demo-secret-key"))
	io.WriteString(mac, "x-date: "+date+"\nsource: demo")
	signed := http.Header{"X-Date": {date}, "Source": {"demo"}, "Authorization": {`hmac id="AKIDdemo", algorithm="hmac-sha256", ` +
		`headers="x-date source", signature="` + base64.StdEncoding.EncodeToString(mac.Sum(nil)) + `"`}}
	RunCases(t, g, []Case{
		{Name: "mock API", Req: Request{Host: host, Path: "/hello"}, Status: 200, Body: `{"hello":"world"}`},
		{Name: "http API", Req: Request{Host: host, Path: "/users/42?x=1"}, Status: 200, Check: echoed("/internal/users/42?x=1&page=1")},
		{Name: "HTTPS", Req: Request{Host: host, SNI: host, TLS: true, Path: "/dev/files/a/b.txt"}, Status: 200, Check: echoed("/store/a/b.txt")},
		{Name: "unknown host", Req: Request{Host: "nope.example.com", Path: "/hello"},
			Status: 404, Body: reply("There is no api match host[nope.example.com]."), Check: fromGateway},
		{Name: "default domain without environment", Req: Request{Host: "service-demo-1250000000.gz.apigw.tencentcs.com", Path: "/prod/hello"},
			Status: 404, Body: reply("There is no api match default env_mapping[/prod]."), Check: fromGateway},
		{Name: "no API", Req: Request{Host: host, Path: "/nothing"}, Status: 404, Body: reply("There is no api match uri[/nothing]."), Check: fromGateway},
		{Name: "wrong method", Req: Request{Host: host, Method: "POST", Path: "/hello"}, Status: 405, Body: reply("Method Not Allowed."), Check: fromGateway},
		{Name: "path parameter of the wrong type", Req: Request{Host: host, Path: "/users/abc"}, Status: 403, Body: reply("Get id params fail."), Check: fromGateway},
		{Name: "broken API", Req: Request{Host: host, Path: "/broken"}, Status: 481, Body: reply("Mock config error."), Check: fromGateway},
		{Name: "missing signature", Req: Request{Host: host, Path: "/signed"}, Status: 401, Body: reply("HMAC authorization format error."), Check: fromGateway},
		{Name: "signed with openssl", Req: Request{Host: host, Path: "/signed", Header: signed}, Status: 200, Check: echoed("/signed")},
	})
}

// SharedExampleGateway is a shared gateway with envoy-examples/config.json, HTTPS, and the cluster
// demo on the shared upstream "demo".
func SharedExampleGateway(t testing.TB) *Gateway {
	t.Helper()
	conf, err := os.ReadFile(filepath.Join(examplesDir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	up := SharedUpstream(t, "demo")
	return SharedGateway(t, "example", Options{
		PluginConfig: string(conf),
		TLS:          true,
		Clusters:     map[string]string{"demo": up.Addr},
	})
}

// wasmFilters returns every wasm HTTP filter of every listener, YAML aliases resolved.
func wasmFilters(bootstrap any) []any {
	var out []any
	listeners, _ := dig(bootstrap, "static_resources", "listeners").([]any)
	for _, l := range listeners {
		chains, _ := dig(l, "filter_chains").([]any)
		for _, c := range chains {
			filters, _ := dig(c, "filters").([]any)
			for _, f := range filters {
				httpFilters, _ := dig(f, "typed_config", "http_filters").([]any)
				for _, hf := range httpFilters {
					if dig(hf, "name") == "envoy.filters.http.wasm" {
						out = append(out, hf)
					}
				}
			}
		}
	}
	return out
}

// dig follows map keys; nil when a step is missing.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func readJSON(t *testing.T, path string) any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := decodeJSON(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

// decodeJSON keeps numbers as written, so 1 and 1.0 count as different.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, &json.SyntaxError{Offset: dec.InputOffset()}
	}
	return v, nil
}
