// Package benchcfg holds what the benchmark's Envoy runs and the gateway benchmarks share: the
// plugin configurations of (b), (c) and (d) and the one request they all serve, signed.
package benchcfg

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/hmacauth"
)

// The one request every configuration serves: the same bytes for all of them, so that Envoy
// parses the same headers whether or not a filter reads them.
const (
	Host     = "service-bench-1250000000.gz.apigw.tencentcs.com"
	Path     = "/release/users/42"
	Token    = "bench-token"
	SecretID = "AKIDbench"
	Key      = "bench-secret-key-0123456789abcdef"
	Upstream = "upstream"
)

// testedAPI is the API every request hits. With secret, it is (c)'s: key-pair auth and three
// parameters (a path int, a required header, a query int with a default); else (b)'s.
func testedAPI(secret bool) map[string]any {
	api := map[string]any{
		"id": "api-users", "path": "/users/{id}", "method": "GET",
		"backend": map[string]any{"type": "http", "cluster": Upstream, "path": "/internal/users/{id}", "timeout_seconds": 15},
	}
	if secret {
		api["auth"] = "secret"
		api["parameters"] = []any{
			map[string]any{"name": "id", "position": "path", "type": "int", "required": true},
			map[string]any{"name": "X-Token", "position": "header", "required": true},
			map[string]any{"name": "page", "position": "query", "type": "int", "default": "1"},
		}
	}
	return api
}

// PluginConfig is the plugin configuration with apis APIs in one service, the tested one in the
// middle of the list.
func PluginConfig(secret bool, apis int) string {
	list := otherAPIs(apis - 1)
	mid := len(list) / 2
	list = append(list[:mid], append([]any{testedAPI(secret)}, list[mid:]...)...)
	cfg := map[string]any{
		"cluster_header": "x-apigw-cluster",
		"services": []any{map[string]any{
			"id":             "service-bench",
			"protocols":      []any{"http", "https"},
			"default_domain": Host,
			"environments":   map[string]any{"release": map[string]any{}, "test": map[string]any{}, "prepub": map[string]any{}},
			"apis":           list,
		}},
	}
	if secret {
		cfg["secrets"] = []any{map[string]any{"secret_id": SecretID, "secret_key": Key, "enabled": true}}
		cfg["usage_plans"] = []any{map[string]any{
			"id": "usagePlan-bench", "max_requests_per_second": 1_000_000, "max_requests": 1_000_000_000,
			"quota_period": "total", "secrets": []any{SecretID},
			"environments": []any{map[string]any{"service": "service-bench", "environment": "release"}},
		}}
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// otherAPIs makes n APIs that a large service could have: resources r<k>, each with an exact
// health path, a static prefix, two templates and a plain search path, plus siblings of the
// tested API under /users (one of them, the plain /users, also matches its requests but ranks
// after templates). A third need key-pair auth, a quarter have a query parameter.
func otherAPIs(n int) []any {
	out := make([]any, 0, n)
	users := []string{"=/users/me", "^~/users/static/", "/users/{id}/orders", "/users/{id}/items/{item}", "/users"}
	for i := 0; len(out) < n; i++ {
		var path string
		method := []string{"GET", "POST", "ANY", "PUT"}[i%4]
		if i < len(users) {
			path = users[i]
		} else {
			k := i / 5
			switch i % 5 {
			case 0:
				path = fmt.Sprintf("=/r%d/health", k)
			case 1:
				path = fmt.Sprintf("^~/r%d/static/", k)
			case 2:
				path = fmt.Sprintf("/r%d/{id}", k)
			case 3:
				path = fmt.Sprintf("/r%d/{id}/items/{item}", k)
			case 4:
				path = fmt.Sprintf("/r%d/search", k)
			}
		}
		api := map[string]any{
			"id": fmt.Sprintf("api-%05d", i), "path": path, "method": method,
			"backend": map[string]any{"type": "http", "cluster": Upstream, "path": fmt.Sprintf("/b/%d", i)},
		}
		if i%3 == 0 {
			api["auth"] = "secret"
		}
		if i%4 == 0 {
			api["parameters"] = []any{map[string]any{"name": "page", "position": "query", "type": "int", "default": "1"}}
		}
		out = append(out, api)
	}
	return out
}

// SignedHeaders are the request's headers, signed now for (c) and (d) (and sent to every
// configuration alike). The x-date stays valid for the 900 s window, so every run signs anew.
func SignedHeaders(now time.Time) ([][2]string, error) {
	h := [][2]string{
		{"x-token", Token},
		{"x-date", now.UTC().Format(http.TimeFormat)},
	}
	auth, err := hmacauth.Sign(signReq{h}, hmacauth.Credential{
		ID: SecretID, Algorithm: "hmac-sha256", Headers: "x-date x-token",
	}, []byte(Key))
	if err != nil {
		return nil, err
	}
	return append(h, [2]string{"authorization", auth}), nil
}

// signReq is the request as hmacauth.Sign reads it.
type signReq struct{ h [][2]string }

func (r signReq) Values(name string) []string {
	var out []string
	for _, kv := range r.h {
		if strings.EqualFold(kv[0], name) {
			out = append(out, kv[1])
		}
	}
	return out
}
func (signReq) Method() string { return "GET" }
func (signReq) Path() string   { return Path }
