package limitd

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/limit"
	"github.com/apigw-wasm/apigw-wasm/internal/limit/wire"
	"github.com/apigw-wasm/apigw-wasm/internal/limitd/redistest"
)

const quotaKey = "apigw|q|usagePlan-basic|AKIDexample"

func newServer(t *testing.T, cfg Config) (*Server, *redistest.Server, *bytes.Buffer) {
	t.Helper()
	rs := redistest.Start(t)
	logs := new(bytes.Buffer)
	cfg.Log = log.New(logs, "", 0)
	s := New(rs.Client(), cfg)
	if err := s.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, rs, logs
}

func run(t *testing.T, s *Server, req wire.Request) *wire.Answer {
	t.Helper()
	if req.TTL == 0 {
		req.TTL = 10000
	}
	a, err := s.Run(context.Background(), &req)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// sync is a report of inst on one quota.
func sync(inst string, limit, seq, spent, allow, want int64) wire.Request {
	return wire.Request{Instance: inst, Ops: []wire.Op{{Key: quotaKey, Kind: wire.Quota, Limit: limit,
		Seq: seq, Spent: spent, Allow: allow, Want: want}}}
}

func take(inst string, limit int64) wire.Request {
	return wire.Request{Instance: inst, Take: true, Ops: []wire.Op{{Key: quotaKey, Kind: wire.Quota, Limit: limit, Take: true}}}
}

// TestQuotaLeases follows one quota of 1,000 through grants, reports, a duplicate and a late
// report, a give-back, a direct take and the return of a reservation. Steps run in order on
// the state the previous ones left.
func TestQuotaLeases(t *testing.T) {
	s, _, _ := newServer(t, Config{})
	steps := []struct {
		name      string
		req       wire.Request
		allow     int64 // the instance's allowance after the step
		remaining int64
		ok        bool
	}{
		{"A asks for 100: a quarter of 1,000 is more", sync("A", 1000, 1, 0, 0, 100), 100, 1000, true},
		{"B asks for 1,000: gets a quarter of the 900 free", sync("B", 1000, 1, 0, 0, 1000), 225, 1000, true},
		{"A spent its 100, asks for 100 more", sync("A", 1000, 2, 100, 100, 100), 200, 900, true},
		{"the same report again counts once", sync("A", 1000, 2, 100, 100, 100), 200, 900, true},
		{"an older report is ignored", sync("A", 1000, 1, 0, 0, 100), 200, 900, true},
		{"and gets no grant, whatever it wishes", sync("A", 1000, 1, 0, 0, 500), 200, 900, true},
		{"A gives back 10 it had counted (a refund)", sync("A", 1000, 3, 90, 200, 100), 200, 910, true},
		{"C takes one directly", take("C", 1000), 0, 909, true},
		{"A returns all it holds", sync("A", 1000, 4, 90, 90, 0), 90, 909, true},
		// free: 1000 - 91 used - 225 held by B = 684; a quarter is 171
		{"B asks for more", sync("B", 1000, 2, 0, 225, 100000), 396, 909, true},
	}
	for _, st := range steps {
		a := run(t, s, st.req)
		r := a.Ops[0]
		if r.Allow != st.allow || r.Remaining != st.remaining || a.OK != st.ok || r.Over != !st.ok {
			t.Fatalf("%s: got allow %d, remaining %d, ok %v; want %d, %d, %v", st.name, r.Allow, r.Remaining, a.OK, st.allow, st.remaining, st.ok)
		}
		if st.req.Ops[0].Seq > 0 && (r.Expires < a.Now+9000 || r.Expires > a.Now+10000) {
			t.Errorf("%s: reservation expires at %d, now %d", st.name, r.Expires, a.Now)
		}
	}
}

// TestQuotaEnd: below F free nothing is lent; the last tokens go one by one; an exhausted
// quota says until when to answer alone: a short recheck while others hold reservations, the
// exhausted recheck when nobody does.
func TestQuotaEnd(t *testing.T) {
	s, _, _ := newServer(t, Config{Recheck: 700 * time.Millisecond, Exhausted: 3 * time.Second})
	a := run(t, s, sync("A", 10, 1, 0, 0, 100)) // floor(10/4) = 2
	if a.Ops[0].Allow != 2 {
		t.Fatalf("allow %d, want 2", a.Ops[0].Allow)
	}
	a = run(t, s, sync("B", 10, 1, 0, 0, 100)) // floor(8/4) = 2
	if a.Ops[0].Allow != 2 {
		t.Fatalf("allow %d, want 2", a.Ops[0].Allow)
	}
	a = run(t, s, sync("C", 10, 1, 0, 0, 100)) // floor(6/4) = 1
	if a.Ops[0].Allow != 1 {
		t.Fatalf("allow %d, want 1", a.Ops[0].Allow)
	}
	a = run(t, s, sync("D", 10, 1, 0, 0, 100)) // floor(5/4) = 1
	if a.Ops[0].Allow != 1 || a.Ops[0].Until != 0 {
		t.Fatalf("allow %d until %d, want 1, 0", a.Ops[0].Allow, a.Ops[0].Until)
	}
	a = run(t, s, sync("E", 10, 1, 0, 0, 100)) // floor(4/4) = 1
	if a.Ops[0].Allow != 1 {
		t.Fatalf("allow %d, want 1", a.Ops[0].Allow)
	}
	for i := range 3 { // 3 free, below F: no grant, direct takes
		if a = run(t, s, sync("F", 10, int64(i+1), 0, 0, 100)); a.Ops[0].Allow != 0 {
			t.Fatalf("granted %d below F", a.Ops[0].Allow)
		}
		if a = run(t, s, take("F", 10)); !a.OK {
			t.Fatalf("take %d refused", i)
		}
	}
	a = run(t, s, take("F", 10))
	if a.OK || !a.Ops[0].Over || a.Ops[0].Until != a.Now+700 || a.Ops[0].Remaining != 7 {
		t.Fatalf("take beyond the quota: %+v (now %d)", a, a.Now)
	}
	// Everybody spends and returns what it held: exhausted, nobody holds anything.
	for _, inst := range []string{"A", "B", "C", "D", "E"} {
		held := map[string]int64{"A": 2, "B": 2, "C": 1, "D": 1, "E": 1}[inst]
		run(t, s, sync(inst, 10, 2, held, held, 0))
	}
	a = run(t, s, take("F", 10))
	if a.OK || a.Ops[0].Until != a.Now+3000 || a.Ops[0].Remaining != 0 {
		t.Fatalf("take of an exhausted quota: %+v (now %d)", a, a.Now)
	}
}

// TestQuotaReservationExpires: an instance that stops renewing loses its reservation after
// the TTL; what it reported spent stays counted, and the rest is free again.
func TestQuotaReservationExpires(t *testing.T) {
	s, _, _ := newServer(t, Config{})
	req := sync("A", 1000, 1, 0, 0, 200)
	req.TTL = 300
	if a := run(t, s, req); a.Ops[0].Allow != 200 {
		t.Fatalf("allow %d", a.Ops[0].Allow)
	}
	req = sync("A", 1000, 2, 50, 200, 200)
	req.TTL = 300
	run(t, s, req)
	// 1000 - 50 used - 200 held by A: B gets a quarter of 750
	if a := run(t, s, sync("B", 1000, 1, 0, 0, 1000)); a.Ops[0].Allow != 187 {
		t.Fatalf("B allow %d, want 187", a.Ops[0].Allow)
	}
	time.Sleep(400 * time.Millisecond)
	// A's reservation is gone: 1000 - 50 - 187 = 763 free, B asks for more: a quarter is 190
	if a := run(t, s, sync("B", 1000, 2, 0, 187, 1000)); a.Ops[0].Allow != 187+190 || a.Ops[0].Remaining != 950 {
		t.Fatalf("B after A's expiry: %+v", a.Ops[0])
	}
	// A comes back and reports 30 more spent (beyond its expired lease: debt, counted).
	if a := run(t, s, sync("A", 1000, 3, 80, 200, 0)); a.Ops[0].Allow != 80 || a.Ops[0].Remaining != 920 {
		t.Fatalf("A's late report: %+v", a.Ops[0])
	}
}

// TestQuotaPeriod: the stamp and end of a daily and a monthly quota are those of package
// limit at the store's clock, and a report for another period counts nothing.
func TestQuotaPeriod(t *testing.T) {
	s, _, _ := newServer(t, Config{})
	for _, p := range []struct {
		period limit.Period
		end    func(time.Time) time.Time
	}{
		{limit.Day, func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, time.UTC) }},
		{limit.Month, func(t time.Time) time.Time { return time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC) }},
	} {
		key := quotaKey + strings.Repeat("x", int(p.period))
		op := wire.Op{Key: key, Kind: wire.Quota, Limit: 100, Period: uint8(p.period), Seq: 1, Spent: 40, Want: 0}
		a := run(t, s, wire.Request{Instance: "A", Ops: []wire.Op{op}})
		now := time.UnixMilli(a.Now).UTC()
		r := a.Ops[0]
		if r.Stamp != int64(limit.PeriodStamp(p.period, now)) || r.End != p.end(now).UnixMilli() {
			t.Errorf("period %d: stamp %d end %d; want %d, %d", p.period, r.Stamp, r.End, limit.PeriodStamp(p.period, now), p.end(now).UnixMilli())
		}
		if r.Remaining != 100 || r.Allow != 0 {
			t.Errorf("period %d: a report stamped 0 counted: %+v", p.period, r)
		}
		op.Seq, op.Stamp = 2, r.Stamp
		if a = run(t, s, wire.Request{Instance: "A", Ops: []wire.Op{op}}); a.Ops[0].Remaining != 60 {
			t.Errorf("period %d: a report of this period: %+v", p.period, a.Ops[0])
		}
	}
}

// TestCalendar checks the script's calendar against Go's for every day from 1900 to 2200.
func TestCalendar(t *testing.T) {
	_, rs, _ := newServer(t, Config{})
	const from, to = -25567, 84006 // 1900-01-01, 2200-01-01
	script := calendarLua + `
local out = {}
for d = tonumber(ARGV[1]), tonumber(ARGV[2]) do
  local y, m = civil(d)
  out[#out + 1] = y * 100 + m
  out[#out + 1] = first_of_month(y, m)
end
return out`
	res, err := rs.Client().Eval(context.Background(), script, nil, from, to).Int64Slice()
	if err != nil {
		t.Fatal(err)
	}
	for d := int64(from); d <= to; d++ {
		got := res[2*(d-from):]
		tm := time.Unix(d*86400, 0).UTC()
		first := time.Date(tm.Year(), tm.Month(), 1, 0, 0, 0, 0, time.UTC).Unix() / 86400
		if got[0] != int64(tm.Year()*100+int(tm.Month())) || got[1] != first {
			t.Fatalf("day %d (%s): script says %d, first %d; want first %d", d, tm.Format(time.DateOnly), got[0], got[1], first)
		}
	}
}

// TestRateBucket: one bucket of 100 per second lent out and taken from: a lease takes what
// is wished for (the bucket refills, no divisor), leases count as tokens in "remaining", and
// an empty bucket says when its next token comes.
func TestRateBucket(t *testing.T) {
	s, _, _ := newServer(t, Config{})
	rate := func(inst string, seq, spent, allow, want int64, tk bool) wire.Request {
		return wire.Request{Instance: inst, Take: tk, Ops: []wire.Op{{Key: "apigw|p|plan|AKID", Kind: wire.Rate,
			Limit: 100, Seq: seq, Spent: spent, Allow: allow, Want: want, Take: tk}}}
	}
	a := run(t, s, rate("A", 1, 0, 0, 60, false))
	if a.Ops[0].Allow != 60 || a.Ops[0].Remaining != 100 {
		t.Fatalf("first lease: %+v", a.Ops[0])
	}
	taken, start := 0, a.Now
	for a = run(t, s, rate("B", 0, 0, 0, 0, true)); a.OK; a = run(t, s, rate("B", 0, 0, 0, 0, true)) {
		taken++
	}
	// 40 in the bucket, plus what refilled while taking at 100/s by the Redis clock (a few
	// on a quiet machine, more on a busy one).
	if refilled := (a.Now - start + 9) / 10; taken < 40 || int64(taken) > 40+refilled {
		t.Errorf("took %d from a bucket of 40 that refilled %d meanwhile", taken, refilled)
	}
	if u := a.Ops[0].Until; u <= a.Now || u > a.Now+10 {
		t.Errorf("empty bucket: until %d, now %d (a token every 10 ms)", u, a.Now)
	}
	// A spent its 60 and wishes for 60 more: the bucket and A's lease held 100 at most, so
	// the refill since is all there is.
	a = run(t, s, rate("A", 2, 60, 60, 60, false))
	if a.Ops[0].Allow > 60+3 {
		t.Errorf("second lease too large: %+v", a.Ops[0])
	}
}

// TestTakeAllOrNone: a take of two limits of which one is exhausted takes neither.
func TestTakeAllOrNone(t *testing.T) {
	s, _, _ := newServer(t, Config{})
	req := wire.Request{Instance: "A", Take: true, Ops: []wire.Op{
		{Key: "apigw|a|svc|release|api", Kind: wire.Rate, Limit: 1000, Take: true},
		{Key: quotaKey, Kind: wire.Quota, Limit: 1, Take: true},
	}}
	if a := run(t, s, req); !a.OK || a.Ops[0].Remaining != 999 || a.Ops[1].Remaining != 0 {
		t.Fatalf("first: %+v", a)
	}
	a := run(t, s, req)
	if a.OK || a.Ops[0].Over || !a.Ops[1].Over || a.Ops[0].Remaining < 999 {
		t.Fatalf("second: %+v", a)
	}
	req.Ops = append(req.Ops, req.Ops[0])
	if _, err := s.Run(context.Background(), &req); err == nil {
		t.Error("a limit twice in one request was accepted")
	}
}

// TestCountsSurviveRedisRestart: with appendfsync always, a SIGKILL loses no acknowledged count.
func TestCountsSurviveRedisRestart(t *testing.T) {
	s, rs, _ := newServer(t, Config{})
	for range 600 {
		if a := run(t, s, take("A", 1000)); !a.OK {
			t.Fatal("take refused")
		}
	}
	rs.Kill()
	rs.Start()
	if a := run(t, s, take("A", 1000)); !a.OK || a.Ops[0].Remaining != 399 {
		t.Fatalf("after the restart: %+v", a)
	}
}

func TestHTTP(t *testing.T) {
	s, rs, logs := newServer(t, Config{})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	post := func(body string) (int, string) {
		resp, err := http.Post(srv.URL+wire.Path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	get := func(path string) int {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	req := take("A", 5)
	req.TTL = 1000
	good := string(wire.AppendRequest(nil, &req))
	code, body := post(good)
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	if a, err := wire.ParseAnswer([]byte(body), 1); err != nil || !a.OK || a.Ops[0].Remaining != 4 {
		t.Fatalf("answer %s: %v", body, err)
	}
	if code, body = post(`{"v":1}`); code != 400 || !strings.Contains(body, `"error"`) {
		t.Errorf("bad request: %d %s", code, body)
	}
	if code := get("/healthz"); code != 200 {
		t.Errorf("healthz: %d", code)
	}
	rs.Kill()
	if code, body = post(good); code != 503 {
		t.Errorf("redis down: %d %s", code, body)
	}
	if code := get("/healthz"); code != 503 {
		t.Errorf("healthz with redis down: %d", code)
	}
	if strings.Contains(logs.String(), "AKIDexample") || strings.Count(logs.String(), "\n") != 3 {
		t.Errorf("logs: one line per failure, no key:\n%s", logs)
	}
}
