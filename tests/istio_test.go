package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"gopkg.in/yaml.v3"
	extensions "istio.io/api/extensions/v1alpha1"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/apigw-wasm/apigw-wasm/internal/config"
	"github.com/apigw-wasm/apigw-wasm/internal/hmacauth"
	"github.com/apigw-wasm/apigw-wasm/internal/limitd/redistest"
)

// istioDir holds the Istio resources of the example: the WasmPlugin and the routing pieces.
const istioDir = "../envoy-examples/istio"

// istioCluster is the Istio cluster name the WasmPlugin's pluginConfig uses where
// envoy-examples/config.json says "demo".
const istioCluster = "outbound|8080||demo.apigw.svc.cluster.local"

// resource is one Kubernetes object of a YAML file, as the API server would see its fields.
type resource struct {
	APIVersion string         `yaml:"apiVersion"`
	Kind       string         `yaml:"kind"`
	Metadata   map[string]any `yaml:"metadata"`
	Spec       map[string]any `yaml:"spec"`
	raw        map[string]any
}

func readResources(t *testing.T, name string) []resource {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(istioDir, name))
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var out []resource
	for {
		var raw map[string]any
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		r := resource{raw: raw}
		r.APIVersion, _ = raw["apiVersion"].(string)
		r.Kind, _ = raw["kind"].(string)
		r.Metadata, _ = raw["metadata"].(map[string]any)
		r.Spec, _ = raw["spec"].(map[string]any)
		for k := range raw {
			if k != "apiVersion" && k != "kind" && k != "metadata" && k != "spec" {
				t.Errorf("%s: %s %v: unknown top-level field %q", name, r.Kind, r.Metadata["name"], k)
			}
		}
		out = append(out, r)
	}
	return out
}

// decodeSpec decodes a spec with Istio's own types, strictly: protojson rejects a field the
// type does not have (DiscardUnknown is false), as istiod's validation does.
func decodeSpec(spec map[string]any, msg proto.Message) error {
	b, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	return protojson.UnmarshalOptions{DiscardUnknown: false}.Unmarshal(b, msg)
}

func wasmPluginResource(t *testing.T) (resource, *extensions.WasmPlugin) {
	t.Helper()
	rs := readResources(t, "wasmplugin.yaml")
	if len(rs) != 1 || rs[0].APIVersion != "extensions.istio.io/v1alpha1" || rs[0].Kind != "WasmPlugin" {
		t.Fatalf("wasmplugin.yaml: want one extensions.istio.io/v1alpha1 WasmPlugin, got %+v", rs)
	}
	wp := &extensions.WasmPlugin{}
	if err := decodeSpec(rs[0].Spec, wp); err != nil {
		t.Fatalf("wasmplugin.yaml: spec: %v", err)
	}
	return rs[0], wp
}

// istioPluginConfig is the configuration Envoy gets from istiod for wp: the pluginConfig Struct
// written as JSON (istio pilot/pkg/model/extensions.go, protomarshal.ToJSON).
func istioPluginConfig(t *testing.T, wp *extensions.WasmPlugin) string {
	t.Helper()
	b, err := protojson.Marshal(wp.GetPluginConfig())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestIstioWasmPlugin(t *testing.T) {
	r, wp := wasmPluginResource(t)
	checks := []struct {
		what string
		ok   bool
	}{
		{"url is an oci:// image", strings.HasPrefix(wp.GetUrl(), "oci://")},
		{"imagePullPolicy is IfNotPresent", wp.GetImagePullPolicy() == extensions.PullPolicy_IfNotPresent},
		{"phase is AUTHN", wp.GetPhase() == extensions.PluginPhase_AUTHN},
		{"priority is set", wp.GetPriority() != nil},
		// FAIL_CLOSE is the proto default, so the YAML must say it to make the choice visible.
		{"failStrategy is FAIL_CLOSE, written out", r.Spec["failStrategy"] == "FAIL_CLOSE" && wp.GetFailStrategy() == extensions.FailStrategy_FAIL_CLOSE},
		{"type is HTTP", wp.GetType() == extensions.PluginType_HTTP},
		{"pluginName is the root id", wp.GetPluginName() == DefaultRootID},
		{"selector picks the ingress gateway", wp.GetSelector().GetMatchLabels()["istio"] == "ingressgateway"},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("wasmplugin.yaml: want: %s", c.what)
		}
	}

	conf := istioPluginConfig(t, wp)
	cfg, err := config.Load([]byte(conf))
	if err != nil {
		t.Fatalf("pluginConfig, as istiod hands it to the plugin, does not load: %v", err)
	}
	if len(cfg.Services) == 0 {
		t.Fatal("pluginConfig has no service")
	}

	// The pluginConfig is config.json with Istio's cluster names: they must not drift apart.
	// Its limits section (config.json is make run's, local) is TestIstioLimitd's.
	var got, want any
	json.Unmarshal([]byte(strings.ReplaceAll(conf, istioCluster, "demo")), &got)
	delete(got.(map[string]any), "limits")
	b, err := os.ReadFile(filepath.Join(examplesDir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(b, &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("wasmplugin.yaml's pluginConfig (with %q read as \"demo\") differs from config.json", istioCluster)
	}
}

// TestIstioStrictDecoding shows that decoding rejects a misspelt field, so the test above
// proves the YAML uses only fields Istio knows; a misspelling inside pluginConfig is the
// loader's to catch.
func TestIstioStrictDecoding(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(spec map[string]any)
		loader string // JSON path the loader must refuse; "" when Istio's types must refuse
	}{
		{"misspelt field", func(s map[string]any) { s["failStrategi"] = s["failStrategy"]; delete(s, "failStrategy") }, ""},
		{"misspelt nested field", func(s map[string]any) {
			s["selector"] = map[string]any{"matchLabel": map[string]any{"istio": "ingressgateway"}}
		}, ""},
		{"unknown enum value", func(s map[string]any) { s["phase"] = "AUTHENTICATION" }, ""},
		{"wrong type", func(s map[string]any) { s["priority"] = "high" }, ""},
		{"misspelt pluginConfig field", func(s map[string]any) { s["pluginConfig"].(map[string]any)["usage_plan"] = []any{} }, "usage_plan"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := wasmPluginResource(t)
			tt.edit(r.Spec)
			wp := &extensions.WasmPlugin{}
			err := decodeSpec(r.Spec, wp)
			if tt.loader == "" {
				if err == nil {
					t.Fatal("Istio's WasmPlugin type accepted the edited spec")
				}
				t.Logf("refused: %v", err)
				return
			}
			if err != nil {
				t.Fatalf("spec: %v", err)
			}
			_, err = config.Load([]byte(istioPluginConfig(t, wp)))
			var errs config.Errors
			if !errors.As(err, &errs) || errs[0].Path != tt.loader {
				t.Fatalf("loader: %v, want an error at %s", err, tt.loader)
			}
		})
	}
}

// TestIstioRouting checks the routing pieces against each other and against Istio's types.
func TestIstioRouting(t *testing.T) {
	wpRes, wp := wasmPluginResource(t)
	rs := readResources(t, "gateway.yaml")
	rs = append(rs, readResources(t, "envoyfilter.yaml")...)
	var gw *networking.Gateway
	var vs *networking.VirtualService
	var ef *networking.EnvoyFilter
	names := map[string]string{}
	for _, r := range rs {
		var msg proto.Message
		switch r.APIVersion + " " + r.Kind {
		case "networking.istio.io/v1 Gateway":
			gw = &networking.Gateway{}
			msg = gw
		case "networking.istio.io/v1 VirtualService":
			vs = &networking.VirtualService{}
			msg = vs
		case "networking.istio.io/v1alpha3 EnvoyFilter":
			ef = &networking.EnvoyFilter{}
			msg = ef
		default:
			t.Fatalf("unexpected resource %s %s", r.APIVersion, r.Kind)
		}
		if err := decodeSpec(r.Spec, msg); err != nil {
			t.Fatalf("%s: %v", r.Kind, err)
		}
		names[r.Kind], _ = r.Metadata["name"].(string)
		if r.Metadata["namespace"] != wpRes.Metadata["namespace"] {
			t.Errorf("%s is in namespace %v, the WasmPlugin in %v", r.Kind, r.Metadata["namespace"], wpRes.Metadata["namespace"])
		}
	}
	if gw == nil || vs == nil || ef == nil {
		t.Fatal("want a Gateway, a VirtualService and an EnvoyFilter")
	}
	labels := wp.GetSelector().GetMatchLabels()
	if !reflect.DeepEqual(gw.GetSelector(), labels) || !reflect.DeepEqual(ef.GetWorkloadSelector().GetLabels(), labels) {
		t.Errorf("selectors differ: WasmPlugin %v, Gateway %v, EnvoyFilter %v", labels, gw.GetSelector(), ef.GetWorkloadSelector().GetLabels())
	}
	if len(vs.GetGateways()) != 1 || vs.GetGateways()[0] != names["Gateway"] || len(vs.GetHttp()) != 1 {
		t.Fatalf("VirtualService: want one http route on gateway %q", names["Gateway"])
	}
	if len(ef.GetConfigPatches()) != 1 {
		t.Fatal("EnvoyFilter: want one patch")
	}
	p := ef.GetConfigPatches()[0]
	if p.GetApplyTo() != networking.EnvoyFilter_HTTP_ROUTE || p.GetPatch().GetOperation() != networking.EnvoyFilter_Patch_MERGE ||
		p.GetMatch().GetContext() != networking.EnvoyFilter_GATEWAY {
		t.Errorf("EnvoyFilter: want a MERGE on an HTTP_ROUTE of a GATEWAY, got %v", p)
	}
	if got := p.GetMatch().GetRouteConfiguration().GetVhost().GetRoute().GetName(); got != vs.GetHttp()[0].GetName() {
		t.Errorf("EnvoyFilter patches route %q, the VirtualService's route is %q", got, vs.GetHttp()[0].GetName())
	}
	cfg, err := config.Load([]byte(istioPluginConfig(t, wp)))
	if err != nil {
		t.Fatal(err)
	}
	value := p.GetPatch().GetValue().AsMap()
	if got := dig(value, "route", "cluster_header"); got != cfg.ClusterHeader {
		t.Errorf("EnvoyFilter routes on %v, the plugin writes %q", got, cfg.ClusterHeader)
	}
	// Every cluster the plugin names is an Istio outbound cluster, which istiod creates for a
	// Service; anything else would need a cluster of its own.
	for _, s := range cfg.Services {
		for _, a := range s.APIs {
			if c := a.Backend.Cluster; c != "" && !strings.HasPrefix(c, "outbound|") {
				t.Errorf("api %s: cluster %q is not an Istio outbound cluster", a.ID, c)
			}
		}
	}
}

// TestIstioInEnvoy runs the WasmPlugin's module and configuration the way an Istio gateway
// would have them, as far as a plain Envoy can: the configuration as istiod converts it, the
// filter named namespace.name with root_id pluginName and no vm_id, clusters named as istiod
// names Service clusters (the backend's, and the bridge's of limitd.yaml, with a bridge and a
// real Redis behind it: the usage plan counts in Redis), and the route that the EnvoyFilter's
// MERGE makes of the VirtualService's route. What it cannot show is istiod and the agent
// themselves.
func TestIstioInEnvoy(t *testing.T) {
	wpRes, wp := wasmPluginResource(t)
	var patch map[string]any
	for _, r := range readResources(t, "envoyfilter.yaml") {
		patches, _ := r.Spec["configPatches"].([]any)
		patch, _ = dig(patches[0], "patch", "value").(map[string]any)
	}
	route := map[string]any{"name": "apigw", "match": map[string]any{"prefix": "/"}}
	mergeInto(route, patch)

	up := StartUpstream(t)
	conf := istioPluginConfig(t, wp)
	var plugin struct {
		Limits struct{ Cluster string } `json:"limits"`
	}
	json.Unmarshal([]byte(conf), &plugin)
	redis := redistest.Start(t)
	bridge := startBridge(t, redis.Addr)
	g := StartGateway(t, Options{
		PluginConfig: conf,
		Clusters:     map[string]string{istioCluster: up.Addr, plugin.Limits.Cluster: bridge.Addr},
		RootID:       wp.GetPluginName(),
		Bootstrap: func(b map[string]any) {
			listeners := dig(b, "static_resources", "listeners").([]any)
			for _, f := range wasmFilters(b) {
				conf := dig(f, "typed_config", "config").(map[string]any)
				conf["name"] = wpRes.Metadata["namespace"].(string) + "." + wpRes.Metadata["name"].(string)
				delete(conf["vm_config"].(map[string]any), "vm_id")
			}
			for _, l := range listeners {
				hcm := dig(l.(map[string]any)["filter_chains"].([]any)[0], "filters").([]any)[0]
				vhost := dig(hcm, "typed_config", "route_config", "virtual_hosts").([]any)[0].(map[string]any)
				vhost["routes"] = []any{route}
			}
		},
	})

	signed := http.Header{"X-Date": {time.Now().UTC().Format(http.TimeFormat)}, "Source": {"istio-test"}}
	auth, err := hmacauth.Sign(signedRequest{"GET", "/signed", signed},
		hmacauth.Credential{ID: "AKIDdemo", Algorithm: "hmac-sha256", Headers: "x-date source"}, []byte("demo-secret-key"))
	if err != nil {
		t.Fatal(err)
	}
	signed.Set("Authorization", auth)
	RunCases(t, g, []Case{
		{Name: "mock", Req: Request{Host: "api.example.com", Path: "/hello"}, Status: 200, Body: `{"hello":"world"}`},
		{Name: "client's cluster header is overwritten", Req: Request{Host: "api.example.com", Path: "/users/7",
			Header: http.Header{"X-Apigw-Cluster": {"outbound|80||admin.internal.svc.cluster.local"}}}, Status: 200,
			Check: func(t *testing.T, r Response) {
				if rec := up.Last(t); rec.URI != "/internal/users/7?page=1" {
					t.Errorf("upstream saw %s", rec.URI)
				}
			}},
		{Name: "routed to the Istio cluster", Req: Request{Host: "api.example.com", Path: "/users/42"}, Status: 200,
			Check: func(t *testing.T, r Response) {
				if rec := up.Last(t); rec.URI != "/internal/users/42?page=1" {
					t.Errorf("upstream saw %s", rec.URI)
				}
			}},
		{Name: "signed", Req: Request{Host: "api.example.com", Path: "/signed", Header: signed}, Status: 200,
			Check: func(t *testing.T, r Response) {
				// The first request of a plan waits for Redis: its count is exact.
				used, err := redis.Client().HGet(context.Background(), "{apigw}q:apigw|q|usagePlan-demo|AKIDdemo", "u").Int()
				if q := r.Header.Get("X-UsagePlan-Quota"); q != "999/1000" || used != 1 {
					t.Errorf("X-UsagePlan-Quota %q, Redis counts %d (%v): want 999/1000 and 1", q, used, err)
				}
			}},
		{Name: "unsigned", Req: Request{Host: "api.example.com", Path: "/signed"}, Status: 401, Message: "HMAC authorization format error."},
		{Name: "unknown host", Req: Request{Host: "nope.example.com", Path: "/hello"}, Status: 404, Message: "There is no api match host[nope.example.com]."},
	})
}

// mergeInto merges src into dst the way a protobuf merge treats messages: nested objects merge,
// anything else replaces.
func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeInto(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}
