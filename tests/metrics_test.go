package tests

// Metrics: the plugin's counters in Envoy's admin API, /stats and /stats/prometheus, on the
// backends gateway (backends_test.go), whose bootstrap has the stats_tags documented in
// plugin/metrics.go. The gateway is shared (and outlives a round of -count=N), so every counter
// is compared as the difference it made; only this file sends to service-metrics, so those
// differences are exact.

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// promCounters reads the samples of one metric from /stats/prometheus: labels as written
// ({a="x",b="y"}) -> value.
func promCounters(t *testing.T, g *Gateway, name string) map[string]int {
	t.Helper()
	out := map[string]int{}
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `(\{[^}]*\}) (\d+)$`)
	for _, m := range re.FindAllStringSubmatch(g.Admin(t, "/stats/prometheus"), -1) {
		n, _ := strconv.Atoi(m[2])
		out[m[1]] = n
	}
	return out
}

func TestMetrics(t *testing.T) {
	e := backends(t)
	g := e.g
	const host = "metrics.example.com"
	rejBefore := promCounters(t, g, "apigw_rejections")
	reqBefore := promCounters(t, g, "apigw_requests")
	const statsFilter = "/stats?filter=^wasmcustom\\.apigw\\.requests\\.service\\.service-metrics\\."
	readStats := func(body string) map[string]int {
		got := map[string]int{}
		for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
			name, v, ok := strings.Cut(line, ": ")
			if !ok {
				continue
			}
			got[name], _ = strconv.Atoi(v)
		}
		return got
	}
	statsBefore := readStats(g.Admin(t, statsFilter))

	send := func(n int, req Request, status int) {
		t.Helper()
		if req.Host == "" {
			req.Host = host
		}
		for i := 0; i < n; i++ {
			if r := g.Do(t, req); r.Status != status {
				t.Fatalf("%s %s: status %d, want %d\n%s", req.Method, req.Path, r.Status, status, r)
			}
		}
	}
	send(3, Request{Path: "/release/ok"}, 200)
	send(2, Request{Path: "/release/dots"}, 201)
	send(2, Request{Path: "/release/missing"}, 404)
	send(1, Request{Method: "POST", Path: "/release/ok"}, 405)
	send(2, Request{Path: "/release/refused"}, 502)
	send(1, Request{Host: "nobody.example.com", Path: "/x"}, 404) // service unknown: "-"
	// A client that goes away: 499, counted when Envoy ends the stream.
	n := e.stall.Count()
	if _, err := g.Send(Request{Host: host, Path: "/release/stall", Timeout: 300 * time.Millisecond}); err == nil {
		t.Fatal("the stalled request got an answer")
	}
	e.stall.WaitCount(t, n+1, 5*time.Second)
	g.WaitLog(t, `reply status=499 message="Client closed connetion." request_id=`+e.stall.Last(t).Header.Get("X-Api-Requestid"), 10*time.Second)

	// /stats: the names as the plugin defines them, under Envoy's wasmcustom namespace.
	wantStats := map[string]int{
		"wasmcustom.apigw.requests.service.service-metrics.api.api-ok.status.200":        3,
		"wasmcustom.apigw.requests.service.service-metrics.api.api_with_dots.status.201": 2,
		"wasmcustom.apigw.requests.service.service-metrics.api.-.status.404":             2,
		"wasmcustom.apigw.requests.service.service-metrics.api.-.status.405":             1, // no API takes POST
		"wasmcustom.apigw.requests.service.service-metrics.api.api-refused.status.502":   2,
		"wasmcustom.apigw.requests.service.service-metrics.api.api-stall.status.499":     1,
	}
	var stats string
	deadline := time.Now().Add(10 * time.Second)
	for {
		stats = g.Admin(t, statsFilter)
		got := map[string]int{}
		for name, v := range readStats(stats) {
			if d := v - statsBefore[name]; d != 0 {
				got[name] = d
			}
		}
		if fmt.Sprint(got) == fmt.Sprint(wantStats) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/stats:\n%s\nwant exactly these differences from before: %v", stats, wantStats)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// /stats/prometheus with the stats_tags: one metric, ids as labels, dashes and all.
	req := promCounters(t, g, "apigw_requests")
	for labels, want := range map[string]int{
		`{service="service-metrics",api="api-ok",status="200"}`:        3,
		`{service="service-metrics",api="api_with_dots",status="201"}`: 2,
		`{service="service-metrics",api="-",status="404"}`:             2,
		`{service="service-metrics",api="-",status="405"}`:             1,
		`{service="service-metrics",api="api-refused",status="502"}`:   2,
		`{service="service-metrics",api="api-stall",status="499"}`:     1,
	} {
		if d := req[labels] - reqBefore[labels]; d != want {
			t.Errorf("apigw_requests%s grew by %d, want %d", labels, d, want)
		}
	}
	if req[`{service="-",api="-",status="404"}`]-reqBefore[`{service="-",api="-",status="404"}`] < 1 {
		t.Errorf("no request counted for an unknown host: %v", req)
	}
	if strings.Contains(g.Admin(t, "/stats/prometheus"), "apigw_requests_service") {
		t.Errorf("a request counter kept its tags in its name")
	}

	rejAfter := promCounters(t, g, "apigw_rejections")
	for labels, want := range map[string]int{
		`{status="404",reason="no_api_for_uri"}`:     2,
		`{status="405",reason="method_not_allowed"}`: 1,
		`{status="502",reason="bad_gateway"}`:        2,
		`{status="404",reason="no_api_for_host"}`:    1,
		`{status="499",reason="client_closed"}`:      1,
	} {
		if d := rejAfter[labels] - rejBefore[labels]; d != want {
			t.Errorf("apigw_rejections%s grew by %d, want %d", labels, d, want)
		}
	}
	// Mocks are no rejections.
	for labels := range rejAfter {
		if !regexp.MustCompile(`^\{status="\d{3}",reason="[a-z0-9_]+"\}$`).MatchString(labels) {
			t.Errorf("rejection labels %s", labels)
		}
	}
	t.Logf("prometheus:\n%s\n%s", grepLines(g.Admin(t, "/stats/prometheus"), "apigw_rejections"), grepLines(g.Admin(t, "/stats/prometheus"), `service="service-metrics"`))
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
