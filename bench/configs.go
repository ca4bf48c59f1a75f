package main

import (
	"fmt"
	"strconv"

	"github.com/apigw-wasm/apigw-wasm/bench/benchcfg"
)

// benchConfig is one column of the comparison.
type benchConfig struct {
	id       string
	title    string
	plugin   func(apis int) string // the wasm filter's plugin configuration; nil: no wasm filter
	module   string                // another module than the plugin: a Go package, or a .wat file (attribution runs)
	env      map[string]string     // environment variables of the wasm VM
	native   bool                  // (e): Envoy's own filters do the routing work and a rate limit
	wantPath string                // the path the upstream must see
	direct   bool                  // the route names the cluster: the module does not set x-apigw-cluster
	alt      int                   // runs the alt-th module of -alt-wasm instead of the plugin (0: the plugin)
	reply    string                // the route answers 200 with this body itself (direct_response): no upstream
	global   bool                  // (g): the limits in Redis, through the bridge the driver starts (global.go)
}

// The default run: (a), the floor (f), the empty Go module (n), the plugin's (b), (c), issue 14's
// (g), (d) and the native peer (e); then the ones that attribute the plugin's cost or compare two
// builds of it (run them with -configs, see docs/performance.md).
var allConfigs = []*benchConfig{
	{id: "a", title: "Envoy alone: router only, no wasm filter", wantPath: benchcfg.Path},
	{id: "f", title: "floor: a proxy-wasm module in WebAssembly text that answers Continue to every callback (no Go)",
		plugin: func(int) string { return "" }, module: "bench/plugins/floor/floor.wat", wantPath: benchcfg.Path, direct: true},
	{id: "n", title: "empty Go module: plugin/abi's Base answers every callback, nothing else (bench/plugins/null)",
		plugin: func(int) string { return "" }, module: "./bench/plugins/null", wantPath: benchcfg.Path, direct: true},
	{id: "b", title: "plugin, one API with auth: none (host, env, template path, rewrite)",
		plugin: func(int) string { return benchcfg.PluginConfig(false, 1) }, wantPath: "/internal/users/42"},
	{id: "c", title: "plugin, auth: secret (hmac-sha256), usage plan rate 10^6/s + quota 10^9, 3 parameters",
		plugin: func(int) string { return benchcfg.PluginConfig(true, 1) }, wantPath: "/internal/users/42?page=1"},
	{id: "g", title: "as (c), with the usage plan's rate and quota counted in Redis (limits mode global, one bridge)",
		plugin: func(int) string { return globalPluginConfig() }, global: true, wantPath: "/internal/users/42?page=1"},
	{id: "d", title: "as (c), in a configuration of 10,000 APIs (exact, prefix, template, plain)",
		plugin: func(n int) string { return benchcfg.PluginConfig(true, n) }, wantPath: "/internal/users/42?page=1"},
	{id: "e", title: "native peer: Envoy route match + prefix rewrite + local_ratelimit (10^6/s), no wasm",
		native: true, wantPath: "/internal/users/42"},
	{id: "h", title: "attribution: a Go module making only (b)'s host calls",
		plugin: func(int) string { return "b" }, module: "./bench/plugins/hostcalls", wantPath: "/internal/users/42"},
	{id: "j", title: "attribution: as (h), but all request headers read with one host call",
		plugin: func(int) string { return "b-all" }, module: "./bench/plugins/hostcalls", wantPath: "/internal/users/42"},
	{id: "i", title: "attribution: a Go module making only (c)'s host calls",
		plugin: func(int) string { return "c" }, module: "./bench/plugins/hostcalls", wantPath: "/internal/users/42?page=1"},
	{id: "p", title: "A/B: (b) with the module given by -alt-wasm (p2, p3, ...: its second, third, ...)",
		plugin: func(int) string { return benchcfg.PluginConfig(false, 1) }, alt: 1, wantPath: "/internal/users/42"},
	{id: "o", title: "A/B: (c) with the module given by -alt-wasm (o2, o3, ...: its second, third, ...)",
		plugin: func(int) string { return benchcfg.PluginConfig(true, 1) }, alt: 1, wantPath: "/internal/users/42?page=1"},
	{id: "gc", title: "attribution: (c) with the Go garbage collector off (GOGC=off in the VM)",
		plugin: func(int) string { return benchcfg.PluginConfig(true, 1) }, env: map[string]string{"GOGC": "off"},
		wantPath: "/internal/users/42?page=1"},
}

func configByID(id string) *benchConfig {
	for _, c := range allConfigs {
		if c.id == id {
			return c
		}
	}
	// p2, o3, ...: (b) or (c) with another module of -alt-wasm.
	if len(id) > 1 && (id[0] == 'p' || id[0] == 'o') {
		if n, err := strconv.Atoi(id[1:]); err == nil && n > 1 {
			c := *configByID(id[:1])
			c.id, c.alt = id, n
			c.title = fmt.Sprintf("A/B: (%s) with module %d of -alt-wasm", map[byte]string{'p': "b", 'o': "c"}[id[0]], n)
			return &c
		}
	}
	return nil
}

// bootstrap renders the Envoy configuration of c, in the way tests/gateway_test.go does, with
// only what the measurement needs: one listener, no access log, the filters of c, the router.
func bootstrap(c *benchConfig, wasm string, apis int, upstreamAddr string, upstreamPort int) map[string]any {
	vm := map[string]any{
		"vm_id":   "apigw",
		"runtime": "envoy.wasm.runtime.v8",
		"code":    map[string]any{"local": map[string]any{"filename": wasm}},
	}
	if len(c.env) > 0 {
		vm["environment_variables"] = map[string]any{"key_values": c.env}
	}
	var filters []any
	route := map[string]any{"match": map[string]any{"prefix": "/"}, "route": map[string]any{"cluster": benchcfg.Upstream}}
	domains := []any{"*"}
	switch {
	case c.plugin != nil:
		filters = append(filters, map[string]any{
			"name": "envoy.filters.http.wasm",
			"typed_config": map[string]any{
				"@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
				"config": map[string]any{
					"name":      "apigw",
					"root_id":   "apigw",
					"vm_config": vm,
					"configuration": map[string]any{
						"@type": "type.googleapis.com/google.protobuf.StringValue",
						"value": c.plugin(apis),
					},
				},
			},
		})
		if !c.direct {
			route["route"] = map[string]any{"cluster_header": "x-apigw-cluster"}
		}
	case c.native:
		filters = append(filters, map[string]any{
			"name": "envoy.filters.http.local_ratelimit",
			"typed_config": map[string]any{
				"@type":       "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
				"stat_prefix": "bench_rl",
				"token_bucket": map[string]any{
					"max_tokens": 1_000_000, "tokens_per_fill": 1_000_000, "fill_interval": "1s",
				},
				"filter_enabled": map[string]any{"runtime_key": "rl_enabled",
					"default_value": map[string]any{"numerator": 100, "denominator": "HUNDRED"}},
				"filter_enforced": map[string]any{"runtime_key": "rl_enforced",
					"default_value": map[string]any{"numerator": 100, "denominator": "HUNDRED"}},
			},
		})
		domains = []any{benchcfg.Host}
		route = map[string]any{
			"match": map[string]any{"prefix": "/release/users/"},
			"route": map[string]any{"cluster": benchcfg.Upstream, "prefix_rewrite": "/internal/users/", "timeout": "15s"},
			"request_headers_to_add": []any{map[string]any{
				"header": map[string]any{"key": "x-api-id", "value": "api-users"}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
			}},
		}
	}
	clusters := []any{map[string]any{
		"name": benchcfg.Upstream, "type": "STATIC", "connect_timeout": "2s",
		"load_assignment": map[string]any{
			"cluster_name": benchcfg.Upstream,
			"endpoints": []any{map[string]any{"lb_endpoints": []any{map[string]any{
				"endpoint": map[string]any{"address": map[string]any{"socket_address": map[string]any{
					"address": upstreamAddr, "port_value": upstreamPort,
				}}},
			}}}},
		},
	}}
	if c.reply != "" {
		route = map[string]any{"match": map[string]any{"prefix": "/"},
			"direct_response": map[string]any{"status": 200, "body": map[string]any{"inline_string": c.reply}}}
		clusters = []any{}
	}
	filters = append(filters, map[string]any{
		"name":         "envoy.filters.http.router",
		"typed_config": map[string]any{"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
	})
	hcm := map[string]any{
		"@type":        "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
		"stat_prefix":  "bench",
		"http_filters": filters,
		"route_config": map[string]any{
			"name": "bench",
			"virtual_hosts": []any{map[string]any{
				"name": "all", "domains": domains, "routes": []any{route},
			}},
		},
	}
	loopback := map[string]any{"socket_address": map[string]any{"address": "127.0.0.1", "port_value": 0}}
	return map[string]any{
		"admin": map[string]any{"address": loopback},
		"static_resources": map[string]any{
			"listeners": []any{map[string]any{
				"name":    "http",
				"address": loopback,
				"filter_chains": []any{map[string]any{"filters": []any{map[string]any{
					"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm,
				}}}},
			}},
			"clusters": clusters,
		},
	}
}
