package tests

import (
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/hmacauth"
)

// hmacConfig: one service; plans bind its release environment (plan-env), single APIs
// (plan-api, plan-quota, plan-rate); secrets in and out of plans.
const hmacConfig = `{
  "services": [{
    "id": "service-hmac",
    "default_domain": "hmac.example.com",
    "environments": {"release": {}, "test": {}},
    "apis": [
      {"id": "api-signed", "path": "/signed", "auth": "secret", "backend": {"type": "http", "cluster": "up"}},
      {"id": "api-other", "path": "/other", "auth": "secret", "backend": {"type": "http", "cluster": "up"}},
      {"id": "api-quota", "path": "/quota", "auth": "secret", "backend": {"type": "http", "cluster": "up"}},
      {"id": "api-rate", "path": "/rate", "auth": "secret", "backend": {"type": "http", "cluster": "up"}},
      {"id": "api-open", "path": "/open", "max_requests_per_second": 1000, "backend": {"type": "mock", "body": "open"}}
    ]
  }],
  "secrets": [
    {"secret_id": "AKIDenv", "secret_key": "ZxF2whO0RhuwnVCj5JMMAuqcDcN2oPrC"},
    {"secret_id": "AKIDapi", "secret_key": "key-of-the-api-scoped-secret"},
    {"secret_id": "AKIDnone", "secret_key": "key-of-a-secret-in-no-plan"},
    {"secret_id": "AKIDoff", "secret_key": "key-of-a-disabled-secret", "enabled": false},
    {"secret_id": "AKIDquota", "secret_key": "key-of-the-quota-secret"},
    {"secret_id": "AKIDrate", "secret_key": "key-of-the-rate-secret"}
  ],
  "usage_plans": [
    {"id": "plan-env", "secrets": ["AKIDenv", "AKIDoff"], "environments": [{"service": "service-hmac", "environment": "release"}]},
    {"id": "plan-api", "secrets": ["AKIDapi"], "apis": [{"service": "service-hmac", "environment": "release", "api": "api-other"}]},
    {"id": "plan-quota", "max_requests": 5, "secrets": ["AKIDquota"], "apis": [{"service": "service-hmac", "environment": "release", "api": "api-quota"}]},
    {"id": "plan-rate", "max_requests_per_second": 5, "secrets": ["AKIDrate"], "apis": [{"service": "service-hmac", "environment": "release", "api": "api-rate"}]}
  ]
}`

var hmacKeys = map[string]string{
	"AKIDenv": "ZxF2whO0RhuwnVCj5JMMAuqcDcN2oPrC", "AKIDapi": "key-of-the-api-scoped-secret",
	"AKIDnone": "key-of-a-secret-in-no-plan", "AKIDoff": "key-of-a-disabled-secret",
	"AKIDquota": "key-of-the-quota-secret", "AKIDrate": "key-of-the-rate-secret",
}

func hmacGateway(t *testing.T) (*Gateway, *Upstream) {
	up := SharedUpstream(t, "hmac-up")
	g := SharedGateway(t, "hmac", Options{PluginConfig: hmacConfig, Clusters: map[string]string{"up": up.Addr}})
	return g, up
}

// signedRequest is a request signed with the project's signer (hmacauth.Sign).
type signedRequest struct {
	method, path string
	header       http.Header
}

func (s signedRequest) Values(name string) []string {
	return s.header.Values(name)
}
func (s signedRequest) Method() string { return s.method }
func (s signedRequest) Path() string   { return s.path }

func sign(t testing.TB, id, alg, headers, method, path string, h http.Header) http.Header {
	t.Helper()
	if h == nil {
		h = http.Header{}
	}
	if h.Get("X-Date") == "" && h.Get("Date") == "" {
		h.Set("X-Date", time.Now().UTC().Format(http.TimeFormat))
	}
	if h.Get("Source") == "" {
		h.Set("Source", "apigw-wasm-tests")
	}
	auth, err := hmacauth.Sign(signedRequest{method, path, h}, hmacauth.Credential{ID: id, Algorithm: alg, Headers: headers}, []byte(hmacKeys[id]))
	if err != nil {
		t.Fatal(err)
	}
	h.Set("Authorization", auth)
	return h
}

func TestHMACAlgorithmsPass(t *testing.T) {
	g, up := hmacGateway(t)
	for _, alg := range []string{"hmac-sha1", "hmac-sha256", "hmac-sha384", "hmac-sha512"} {
		for _, headers := range []string{"x-date source", "source x-date request-line"} {
			path := "/release/signed/x?alg=" + alg
			r := g.Do(t, Request{Host: "hmac.example.com", Path: path, Header: sign(t, "AKIDenv", alg, headers, "GET", path, nil)})
			if r.Status != 200 {
				t.Errorf("%s over %q: %d %q", alg, headers, r.Status, r.Message())
				continue
			}
			if rec := up.Last(t); rec.URI != "/signed/x?alg="+alg {
				t.Errorf("upstream saw %s", rec.URI)
			}
		}
	}
}

// TestHMACIndependentSigner signs with Python's hmac module, not with the code under test.
func TestHMACIndependentSigner(t *testing.T) {
	g, _ := hmacGateway(t)
	date := time.Now().UTC().Format(http.TimeFormat)
	for _, alg := range []string{"sha1", "sha256", "sha384", "sha512"} {
		script := fmt.Sprintf(`import hmac, hashlib, base64, sys
s = "x-date: %s\nsource: python"
print(base64.b64encode(hmac.new(b"%s", s.encode(), hashlib.%s).digest()).decode())`, date, hmacKeys["AKIDenv"], alg)
		out, err := exec.Command("python3", "-c", script).Output()
		if err != nil {
			t.Fatalf("python3: %v", err)
		}
		sig := strings.TrimSpace(string(out))
		h := http.Header{"X-Date": {date}, "Source": {"python"}}
		h.Set("Authorization", fmt.Sprintf(`hmac id="AKIDenv", algorithm="hmac-%s", headers="x-date source", signature="%s"`, alg, sig))
		r := g.Do(t, Request{Host: "hmac.example.com", Path: "/release/signed", Header: h})
		if r.Status != 200 {
			t.Errorf("hmac-%s signed by python: %d %q", alg, r.Status, r.Message())
		}
	}
}

func TestHMACErrors(t *testing.T) {
	g, up := hmacGateway(t)
	now := time.Now().UTC()
	good := func(h http.Header) http.Header {
		return sign(t, "AKIDenv", "hmac-sha256", "x-date source", "GET", "/release/signed", h)
	}
	set := func(h http.Header, k, v string) http.Header { h.Set(k, v); return h }
	cases := []struct {
		name   string
		path   string
		header http.Header
		status int
		msg    string
	}{
		{"no plan binds the environment", "/test/signed", sign(t, "AKIDenv", "hmac-sha1", "x-date", "GET", "/test/signed", nil), 403, "Found no validate usage plan."},
		{"no authorization", "/release/signed", http.Header{}, 401, "HMAC authorization format error."},
		{"not hmac", "/release/signed", http.Header{"Authorization": {"Basic YTpi"}}, 401, "HMAC authorization format error."},
		{"id missing", "/release/signed", http.Header{"Authorization": {`hmac algorithm="hmac-sha1", headers="x-date", signature="abc="`}}, 401, "HMAC id or signature missing."},
		{"headers missing", "/release/signed", http.Header{"Authorization": {`hmac id="AKIDenv", algorithm="hmac-sha1", signature="abc="`}}, 401, "HMAC authorization headers is invalidate."},
		{"headers without a date", "/release/signed", http.Header{"Authorization": {`hmac id="AKIDenv", algorithm="hmac-sha1", headers="source", signature="abc="`}}, 401, "HMAC authorization headers is invalidate."},
		{"algorithm", "/release/signed", http.Header{"Authorization": {`hmac id="AKIDenv", algorithm="hmac-md5", headers="x-date", signature="abc="`}}, 401, "HMAC algorithm hmac-md5 not supported."},
		{"repeated x-date", "/release/signed", func() http.Header { h := good(nil); h.Add("X-Date", now.Format(http.TimeFormat)); return h }(), 401, "HMAC do not support multiple HTTP header."},
		{"repeated signed header", "/release/signed", func() http.Header { h := good(nil); h.Add("Source", "again"); return h }(), 401, "HMAC do not support multiple HTTP header."},
		{"x-date not a date", "/release/signed", set(good(nil), "X-Date", "yesterday"), 401, "HMAC signature cannot be verified, a valid x-date header is required for HMAC Authentication."},
		{"x-date out of date", "/release/signed", good(http.Header{"X-Date": {now.Add(-16 * time.Minute).Format(http.TimeFormat)}}), 401, "HMAC signature cannot be verified, the x-date header is out of date for HMAC Authentication."},
		{"date out of date", "/release/signed", sign(t, "AKIDenv", "hmac-sha1", "date source", "GET", "/release/signed", http.Header{"Date": {now.Add(20 * time.Minute).Format(http.TimeFormat)}}), 401, "HMAC signature cannot be verified, the x-date header is out of date for HMAC Authentication."},
		{"no date at all", "/release/signed", func() http.Header {
			h := sign(t, "AKIDenv", "hmac-sha1", "date source", "GET", "/release/signed", http.Header{"Date": {now.Format(http.TimeFormat)}})
			h.Set("Date", "not a date")
			return h
		}(), 401, "HMAC signature cannot be verified, a valid date or x-date header is required."},
		{"stale unsigned date ignored", "/release/signed", func() http.Header {
			h := good(nil)
			h.Del("X-Date") // signed, absent: only the unsigned date is left
			h.Set("Date", now.Add(-time.Hour).Format(http.TimeFormat))
			return h
		}(), 401, "HMAC signature cannot be verified, a valid date or x-date header is required."},
		{"signed header absent", "/release/signed", func() http.Header { h := good(nil); h.Del("Source"); return h }(), 401, "HMAC signature cannot be verified, a valid source header is required."},
		{"unknown secret", "/release/signed", func() http.Header {
			h := good(nil)
			h.Set("Authorization", strings.Replace(h.Get("Authorization"), `id="AKIDenv"`, `id="AKIDunknown"`, 1))
			return h
		}(), 401, "HMAC signature cannot be verified."},
		{"disabled secret", "/release/signed", sign(t, "AKIDoff", "hmac-sha1", "x-date source", "GET", "/release/signed", nil), 401, "HMAC signature cannot be verified."},
		{"signature differs", "/release/signed", set(good(nil), "Source", "tampered"), 401, "HMAC signature does not match."},
		{"secret in no plan of the environment", "/release/signed", sign(t, "AKIDnone", "hmac-sha1", "x-date source", "GET", "/release/signed", nil), 401, "HMAC signature cannot be verified."},
		{"secret bound to another api", "/release/signed", sign(t, "AKIDapi", "hmac-sha1", "x-date source", "GET", "/release/signed", nil), 401, "HMAC apikey is invalid for API."},
	}
	before := up.Count()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := g.Do(t, Request{Host: "hmac.example.com", Path: c.path, Header: c.header})
			if r.Status != c.status || r.Message() != c.msg {
				t.Fatalf("got %d %q, want %d %q", r.Status, r.Message(), c.status, c.msg)
			}
			checkGatewayReply(t, r)
		})
	}
	if n := up.Count() - before; n != 0 {
		t.Errorf("the upstream saw %d rejected requests", n)
	}
	// The API-scoped secret passes on its own API, and no log line holds a signature.
	h := sign(t, "AKIDapi", "hmac-sha1", "x-date source", "GET", "/release/other", nil)
	if r := g.Do(t, Request{Host: "hmac.example.com", Path: "/release/other", Header: h}); r.Status != 200 {
		t.Errorf("api-scoped secret on its api: %d %q", r.Status, r.Message())
	}
	sig := h.Get("Authorization")[strings.Index(h.Get("Authorization"), "signature="):]
	if logs := g.Logs(); strings.Contains(logs, sig) || strings.Contains(logs, hmacKeys["AKIDapi"]) {
		t.Error("a signature or key reached the log")
	}
}

func TestHMACQuotaIsExact(t *testing.T) {
	g, up := hmacGateway(t)
	before := up.Count()
	const n = 40
	var wg sync.WaitGroup
	statuses := make([]int, n)
	messages := make([]string, n)
	quotaHeaders := make([]string, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		h := sign(t, "AKIDquota", "hmac-sha256", "x-date source", "GET", "/release/quota", nil)
		wg.Add(1)
		go func(i int, h http.Header) {
			defer wg.Done()
			<-start
			r, err := g.Send(Request{Host: "hmac.example.com", Path: "/release/quota", Header: h})
			if err != nil {
				messages[i] = err.Error()
				return
			}
			statuses[i], messages[i], quotaHeaders[i] = r.Status, r.Message(), r.Header.Get("X-Usageplan-Quota")
		}(i, h)
	}
	close(start)
	wg.Wait()
	ok, over := 0, 0
	remaining := map[string]bool{}
	for i := range statuses {
		switch {
		case statuses[i] == 200:
			ok++
			remaining[quotaHeaders[i]] = true
		case statuses[i] == 429 && messages[i] == "API quota exceeded.":
			over++
			if quotaHeaders[i] != "0/5" {
				t.Errorf("rejected request's quota header %q", quotaHeaders[i])
			}
		default:
			t.Errorf("request %d: %d %q", i, statuses[i], messages[i])
		}
	}
	if ok != 5 || over != 35 {
		t.Fatalf("%d passed and %d were over quota; want exactly 5 and 35", ok, over)
	}
	for _, want := range []string{"4/5", "3/5", "2/5", "1/5", "0/5"} {
		if !remaining[want] {
			t.Errorf("no passing request showed quota %s (saw %v)", want, remaining)
		}
	}
	if n := up.Count() - before; n != 5 {
		t.Errorf("upstream saw %d requests, want 5", n)
	}
}

func TestHMACRateLimit(t *testing.T) {
	g, _ := hmacGateway(t)
	const rate = 5
	ok, limited := 0, 0
	var mu sync.Mutex
	var wg sync.WaitGroup
	headers := make([]http.Header, 3*rate)
	for i := range headers {
		headers[i] = sign(t, "AKIDrate", "hmac-sha1", "x-date source", "GET", "/release/rate", nil)
	}
	for _, h := range headers {
		wg.Add(1)
		go func(h http.Header) {
			defer wg.Done()
			r, err := g.Send(Request{Host: "hmac.example.com", Path: "/release/rate", Header: h})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				t.Error(err)
			case r.Status == 200:
				ok++
			case r.Status == 429 && r.Message() == "API rate limit exceeded.":
				limited++
				if r.Header.Get("X-Usageplan-Ratelimit") != "0/5" || r.Header.Get("X-Usageplan-Quota") != "unlimited" {
					t.Errorf("limit headers on a 429: %v", r.Header)
				}
			default:
				t.Errorf("%d %q", r.Status, r.Message())
			}
		}(h)
	}
	wg.Wait()
	// A burst takes well under a second, so the bucket admits R and at most one refill.
	if ok < rate || ok > rate+1 || ok+limited != 3*rate {
		t.Fatalf("burst of %d at rate %d: %d passed, %d limited", 3*rate, rate, ok, limited)
	}
}

func TestLimitHeadersOnUnsignedAPI(t *testing.T) {
	g, _ := hmacGateway(t)
	r := g.Do(t, Request{Host: "hmac.example.com", Path: "/release/open"})
	if r.Status != 200 || r.Header.Get("X-Api-Ratelimit") == "" || r.Header.Get("X-Service-Ratelimit") != "unlimited" ||
		r.Header.Get("X-Usageplan-Ratelimit") != "unlimited" || r.Header.Get("X-Usageplan-Quota") != "unlimited" {
		t.Fatalf("limit headers:\n%s", r)
	}
	if v := r.Header.Get("X-Api-Ratelimit"); !strings.HasSuffix(v, "/1000") {
		t.Fatalf("X-Api-RateLimit %q", v)
	}
}
