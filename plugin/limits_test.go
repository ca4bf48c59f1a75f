package main

import (
	"strings"
	"testing"
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/limit/wire"
	"github.com/apigw-wasm/apigw-wasm/plugin/abi"
)

// globalConfig: the API "up" has a rate of 10/s counted cluster-wide; "form" also has body
// parameters.
func globalConfig(onFailure string) string {
	return `{"limits":{"mode":"global","on_store_failure":"` + onFailure + `"},
  "services":[{"id":"s","default_domain":"s.example.com","apis":[
  {"id":"up","path":"/u","max_requests_per_second":10,"backend":{"type":"http","cluster":"c"}},
  {"id":"form","path":"=/form","method":"POST","max_requests_per_second":10,
   "parameters":[{"name":"name","position":"body","required":true}],"backend":{"type":"http","cluster":"c"}}]}]}`
}

var upHeaders = [][2]string{{":authority", "s.example.com"}, {":method", "GET"}, {":path", "/release/u"}}

// storeAnswer is the bridge's answer to the i-th call: takes made (ok) or refused, and for a
// report a grant of want tokens with rem remaining.
func storeAnswer(t *testing.T, tv *testVM, i int, ok bool, rem int64) []byte {
	t.Helper()
	req, err := wire.ParseRequest(tv.host.calls[i].body)
	if err != nil {
		t.Fatalf("call %d: %v: %s", i, err, tv.host.calls[i].body)
	}
	now := tv.host.clock.UnixMilli()
	a := wire.Answer{Now: now, OK: ok}
	for _, op := range req.Ops {
		r := wire.Result{Remaining: rem, Expires: now + 10_000}
		if op.Seq > 0 {
			r.Allow = op.Spent + op.Want
		}
		if op.Take && !ok {
			r.Over, r.Until = true, 500
		}
		a.Ops = append(a.Ops, r)
	}
	return wire.AppendAnswer(nil, &a)
}

func isTake(t *testing.T, c fakeCall) bool {
	t.Helper()
	req, err := wire.ParseRequest(c.body)
	if err != nil {
		t.Fatalf("%v: %s", err, c.body)
	}
	return req.Take
}

// TestGlobalPauseResume: a request without a lease waits, held at its headers, for a take
// sent to the bridge's cluster; the answer lets it continue (or answers it). The report due
// after it goes at once, and its grant lets the next request pass without a call.
func TestGlobalPauseResume(t *testing.T) {
	tv, ok := startVM(t, globalConfig("local"))
	if !ok {
		t.Fatalf("start: %q", tv.host.logs)
	}
	if p := tv.host.tick[tv.root]; p != 50 {
		t.Fatalf("tick period %d, want 50", p)
	}
	id, s, act := tv.request(upHeaders, true, nil)
	if act != abi.Pause || s.reply != nil || len(tv.host.calls) != 1 {
		t.Fatalf("the first request did not wait: %v %+v %d calls", act, s.reply, len(tv.host.calls))
	}
	c := tv.host.calls[0]
	want := [][2]string{{":method", "POST"}, {":path", "/v1/limits"}, {":authority", "apigw_limitd"}, {"content-type", "application/json"}}
	if c.cluster != "apigw_limitd" || c.timeout != 100*time.Millisecond || len(c.headers) != len(want) || !isTake(t, c) {
		t.Fatalf("call %+v", c)
	}
	for i := range want {
		if c.headers[i] != want[i] {
			t.Fatalf("call headers %v, want %v", c.headers, want)
		}
	}
	tv.answer(0, "200", storeAnswer(t, tv, 0, true, 9))
	if !s.continued || s.reply != nil || get(s.request, "x-apigw-cluster") != "c" {
		t.Fatalf("not continued upstream: %+v %v", s.reply, s.request)
	}
	tv.respond(id, [][2]string{{":status", "200"}}, false, nil)
	if get(s.response, "x-api-ratelimit") != "9/10" {
		t.Fatalf("limit header %v", s.response)
	}
	tv.finish(id)
	if len(tv.host.calls) != 2 || isTake(t, tv.host.calls[1]) {
		t.Fatalf("no report after the request: %d calls", len(tv.host.calls))
	}
	tv.answer(1, "200", storeAnswer(t, tv, 1, true, 9))

	// The lease pays: no call, no pause.
	_, s, act = tv.request(upHeaders, true, nil)
	if act != abi.Continue || s.reply != nil || len(tv.host.calls) != 2 {
		t.Fatalf("a request with a lease: %v %+v, %d calls", act, s.reply, len(tv.host.calls))
	}
	if len(tv.vm.calls) != 0 {
		t.Fatalf("%d calls left in flight", len(tv.vm.calls))
	}

	// A refused take: 429, answered from the call's callback.
	tv2, _ := startVM(t, globalConfig("local"))
	_, s, _ = tv2.request(upHeaders, true, nil)
	tv2.answer(0, "200", storeAnswer(t, tv2, 0, false, 0))
	if s.reply == nil || s.reply.status != 429 || string(s.reply.body) != `{"message":"API rate limit exceeded."}` || s.continued {
		t.Fatalf("refused take: %+v", s.reply)
	}
}

// TestGlobalTick: spend is reported on the tick, and the counters are exported there.
func TestGlobalTick(t *testing.T) {
	tv, _ := startVM(t, globalConfig("local"))
	id, _, _ := tv.request(upHeaders, true, nil)
	tv.answer(0, "200", storeAnswer(t, tv, 0, true, 9))
	tv.finish(id)
	tv.answer(1, "200", storeAnswer(t, tv, 1, true, 9)) // the report after it: a lease
	for range 3 {
		id, _, _ := tv.request(upHeaders, true, nil)
		tv.finish(id)
	}
	calls := len(tv.host.calls)
	tv.host.clock = tv.host.clock.Add(1100 * time.Millisecond) // FlushEvery
	tv.tick()
	if len(tv.host.calls) != calls+1 || isTake(t, tv.host.calls[calls]) || tv.host.calls[calls].context != tv.root {
		t.Fatalf("no report on the tick: %d calls", len(tv.host.calls))
	}
	req, _ := wire.ParseRequest(tv.host.calls[calls].body)
	if req.Ops[0].Spent != 3 {
		t.Fatalf("reported spend %+v", req.Ops[0])
	}
	tv.answer(calls, "200", storeAnswer(t, tv, calls, true, 6))
	tv.tick()
	m := tv.host.metrics
	if m["apigw.limit.global.reports"] != 3 || m["apigw.limit.global.waited"] != 1 || m["apigw.limit.global.leases"] < 1 {
		t.Fatalf("metrics %v", m)
	}
}

// TestGlobalFailedCall: a call Envoy refuses (no such cluster) or that gets no answer is a
// store failure: on_store_failure local lets the request pass on this Envoy's own limit; deny
// answers 500 with a log line naming the cause. Failures are logged once, not per request.
func TestGlobalFailedCall(t *testing.T) {
	tv, _ := startVM(t, globalConfig("local"))
	tv.host.fail["http call"] = abi.StatusBadArgument
	_, s, act := tv.request(upHeaders, true, nil)
	if act != abi.Continue || s.reply != nil || get(s.request, "x-apigw-cluster") != "c" {
		t.Fatalf("local: %v %+v", act, s.reply)
	}
	_, s, act = tv.request(upHeaders, true, nil)
	if act != abi.Continue || s.reply != nil {
		t.Fatalf("local, second request: %v %+v", act, s.reply)
	}
	if n := strings.Count(strings.Join(tv.host.logs, "\n"), "a call to the limits' store"); n != 1 {
		t.Fatalf("%d failure lines: %q", n, tv.host.logs)
	}

	// A call without an answer (a timeout): the request waited, and passes.
	tv, _ = startVM(t, globalConfig("local"))
	_, s, _ = tv.request(upHeaders, true, nil)
	tv.answer(0, "", nil)
	if len(tv.host.calls) != 2 || s.continued {
		t.Fatalf("a fast failure is not sent once more: %d calls", len(tv.host.calls))
	}
	tv.host.clock = tv.host.clock.Add(100 * time.Millisecond)
	tv.answer(1, "", nil)
	if !s.continued || s.reply != nil {
		t.Fatalf("after a timeout: %+v", s.reply)
	}

	// deny: 500, and one line per refused request.
	tv, _ = startVM(t, globalConfig("deny"))
	tv.host.fail["http call"] = abi.StatusBadArgument
	for range 2 {
		_, s, act = tv.request(upHeaders, true, nil)
		if act != abi.Pause || s.reply == nil || s.reply.status != 500 || string(s.reply.body) != `{"message":"Internal Server Error."}` ||
			s.reply.details != "apigw_limit_store_unavailable" || get(s.reply.headers, "x-api-ratelimit") == "" {
			t.Fatalf("deny: %v %+v", act, s.reply)
		}
	}
	if n := strings.Count(strings.Join(tv.host.logs, "\n"), "the limit store is unavailable and on_store_failure is deny"); n != 2 {
		t.Fatalf("%d deny lines: %q", n, tv.host.logs)
	}
	tv.tick()
	if tv.host.metrics["apigw.limit.global.denied"] != 2 || tv.host.metrics["apigw.limit.global.store_failures"] == 0 {
		t.Fatalf("metrics %v", tv.host.metrics)
	}

	// A bridge that answers 503 (Redis failing): deny again.
	tv, _ = startVM(t, globalConfig("deny"))
	_, s, _ = tv.request(upHeaders, true, nil)
	// A fast failure is sent again, up to twice (lease: resends).
	for i := 0; i < 3 && i < len(tv.host.calls); i++ {
		tv.answer(i, "503", []byte(`{"error":"redis"}`))
	}
	if s.reply == nil || s.reply.status != 500 {
		t.Fatalf("503 from the bridge: %+v", s.reply)
	}
}

// TestGlobalRequestGone: a request whose client went away while it waited is deleted; its
// answer still comes (the call is the root context's) and is taken into the leases, without
// touching the deleted context or crashing.
func TestGlobalRequestGone(t *testing.T) {
	tv, _ := startVM(t, globalConfig("local"))
	id, s, _ := tv.request(upHeaders, true, nil)
	tv.finish(id)
	tv.answer(0, "200", storeAnswer(t, tv, 0, true, 9))
	if s.continued || s.reply != nil || tv.host.current == id {
		t.Fatalf("the deleted request was touched: continued %v, reply %+v", s.continued, s.reply)
	}
	if tv.host.logged("internal error") || tv.host.logged("host call failed") {
		t.Fatalf("logs %q", tv.host.logs)
	}
	if len(tv.vm.calls) != 1 || isTake(t, tv.host.calls[1]) {
		t.Fatalf("the answer's report: %d calls in flight, %d sent", len(tv.vm.calls), len(tv.host.calls))
	}
	// The root context goes: its calls are forgotten (Envoy cancels them).
	tv.vm.OnDelete(tv.root)
	if len(tv.vm.calls) != 0 {
		t.Fatalf("%d calls of a deleted root", len(tv.vm.calls))
	}
	tv.answer(1, "200", nil) // an answer Envoy would not deliver: ignored
}

// TestGlobalThenBody: a request pauses for the store and for its body, whichever comes first.
func TestGlobalThenBody(t *testing.T) {
	form := formHeaders("/release/form")
	for _, bodyFirst := range []bool{true, false} {
		tv, _ := startVM(t, globalConfig("local"))
		id, s, act := tv.request(form, false, nil)
		if act != abi.Pause || len(tv.host.calls) != 1 {
			t.Fatalf("no wait: %v", act)
		}
		s.body = []byte("name=a")
		if bodyFirst {
			if act := tv.vm.OnRequestBody(id, len(s.body), true); act != abi.Pause {
				t.Fatalf("body during the wait: %v", act)
			}
			tv.answer(0, "200", storeAnswer(t, tv, 0, true, 9))
			if !s.continued || s.reply != nil {
				t.Fatalf("body first: continued %v, %+v", s.continued, s.reply)
			}
		} else {
			tv.answer(0, "200", storeAnswer(t, tv, 0, true, 9))
			if s.continued || s.reply != nil {
				t.Fatal("continued before the body")
			}
			tv.host.enter(id)
			if act := tv.vm.OnRequestBody(id, len(s.body), true); act != abi.Continue || s.reply != nil {
				t.Fatalf("body after the answer: %v %+v", act, s.reply)
			}
		}
		if get(s.request, "x-apigw-cluster") != "c" {
			t.Fatalf("not routed: %v", s.request)
		}
		// The body watch ended with the body; the limits keep the tick.
		tv.tick()
		if p := tv.host.tick[tv.root]; p != 50 {
			t.Fatalf("tick period %d", p)
		}
	}
	// A body without the parameter, after the wait: the parameter's answer.
	tv, _ := startVM(t, globalConfig("local"))
	id, s, _ := tv.request(form, false, nil)
	s.body = []byte("other=1")
	tv.vm.OnRequestBody(id, len(s.body), true)
	tv.answer(0, "200", storeAnswer(t, tv, 0, true, 9))
	if s.reply == nil || s.reply.status != 403 || s.continued {
		t.Fatalf("missing body parameter: %+v", s.reply)
	}
}

// TestLocalModeSection: a limits section in the local mode changes nothing: no call, the body
// watch's tick only (the API "form" has body parameters), the limit counted in this Envoy's
// shared data.
func TestLocalModeSection(t *testing.T) {
	tv, ok := startVM(t, strings.Replace(globalConfig("deny"), `"mode":"global"`, `"mode":"local"`, 1))
	if !ok {
		t.Fatalf("start: %q", tv.host.logs)
	}
	_, s, act := tv.request(upHeaders, true, nil)
	if act != abi.Continue || s.reply != nil || len(tv.host.calls) != 0 || tv.host.tick[tv.root] != 1000 || tv.host.logged("limits: global") {
		t.Fatalf("local mode: %v %+v, %d calls, tick %d", act, s.reply, len(tv.host.calls), tv.host.tick[tv.root])
	}
	if get(s.request, "x-apigw-cluster") != "c" {
		t.Fatalf("not routed: %v", s.request)
	}
}
