package limit

import (
	"errors"
	"testing"

	"github.com/apigw-wasm/apigw-wasm/internal/reply"
)

var (
	svcKey   = ServiceKey("service-a1b2c3d4", "release")
	apiKey   = APIKey("service-a1b2c3d4", "release", "api-users")
	planKey  = PlanKey("usagePlan-basic", "AKIDexample")
	quotaKey = QuotaKey("usagePlan-basic", "AKIDexample")
)

func four(svc, api, plan, quota int64) Limits {
	return Limits{
		Service: Rate{svcKey, svc},
		API:     Rate{apiKey, api},
		Plan:    Rate{planKey, plan},
		Quota:   Quota{quotaKey, quota, Total},
	}
}

// fourPaired is four with the plan's rate and quota under one key, as the configuration gives
// them: stored as one value.
func fourPaired(svc, api, plan, quota int64) Limits {
	l := four(svc, api, plan, quota)
	l.Plan.Key = usageKey
	l.Quota.Key = usageKey
	return l
}

var usageKey = UsageKey("usagePlan-basic", "AKIDexample")

// layouts are the two ways a plan's limits are stored; the tests that take four limits run
// with both.
var layouts = []struct {
	name string
	four func(svc, api, plan, quota int64) Limits
}{{"separate", four}, {"paired", fourPaired}}

func headers(o Outcome) [4]string {
	h := o.Headers()
	return [4]string{h[0][1], h[1][1], h[2][1], h[3][1]}
}

func TestTake(t *testing.T) {
	for _, lay := range layouts {
		t.Run(lay.name, func(t *testing.T) { testTake(t, lay.four) })
	}
}

func testTake(t *testing.T, four func(svc, api, plan, quota int64) Limits) {
	type req struct {
		l       Limits
		code    reply.Code // None: passes
		headers [4]string
	}
	tests := []struct {
		name string
		reqs []req
	}{
		{"no limits", []req{
			{Limits{}, reply.None, [4]string{"unlimited", "unlimited", "unlimited", "unlimited"}},
			{four(-1, -1, -1, -1), reply.None, [4]string{"unlimited", "unlimited", "unlimited", "unlimited"}},
		}},
		{"first request counts itself", []req{
			{four(5, 5, 5, 5), reply.None, [4]string{"4/5", "4/5", "4/5", "4/5"}},
		}},
		{"only some limits apply", []req{
			{four(-1, 3, -1, 10), reply.None, [4]string{"unlimited", "2/3", "unlimited", "9/10"}},
		}},
		{"quota rejects: the rates are not taken", []req{
			{four(5, 5, 5, 1), reply.None, [4]string{"4/5", "4/5", "4/5", "0/1"}},
			{four(5, 5, 5, 1), reply.QuotaExceeded, [4]string{"4/5", "4/5", "4/5", "0/1"}},
			{four(5, 5, 5, 1), reply.QuotaExceeded, [4]string{"4/5", "4/5", "4/5", "0/1"}},
			{four(5, 5, 5, 2), reply.None, [4]string{"3/5", "3/5", "3/5", "0/2"}},
		}},
		{"plan rate rejects: API and service not taken", []req{
			{four(5, 5, 1, 9), reply.None, [4]string{"4/5", "4/5", "0/1", "8/9"}},
			{four(5, 5, 1, 9), reply.RateLimitExceeded, [4]string{"4/5", "4/5", "0/1", "8/9"}},
			{four(5, 5, -1, 9), reply.None, [4]string{"3/5", "3/5", "unlimited", "7/9"}},
		}},
		{"rates win over the quota, every exceeded limit shows 0", []req{
			{four(1, 5, 5, 1), reply.None, [4]string{"0/1", "4/5", "4/5", "0/1"}},
			{four(1, 5, 5, 1), reply.RateLimitExceeded, [4]string{"0/1", "4/5", "4/5", "0/1"}},
			{four(-1, 5, 5, 1), reply.QuotaExceeded, [4]string{"unlimited", "4/5", "4/5", "0/1"}},
		}},
		{"service and API exceeded", []req{
			{four(0, 0, 5, 5), reply.RateLimitExceeded, [4]string{"0/0", "0/0", "5/5", "5/5"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Memory
			for i, r := range tt.reqs {
				out, err := Take(&m, &r.l, t0)
				code := reply.None
				if err != nil {
					code = err.Code
				}
				if code != r.code || headers(out) != r.headers {
					t.Errorf("request %d: %v %q; want %v %q", i, code, headers(out), r.code, r.headers)
				}
				limited := r.l.Service.on() || r.l.API.on() || r.l.Plan.on() || r.l.Quota.on()
				if out.Limited() != limited {
					t.Errorf("request %d: Limited() = %v", i, out.Limited())
				}
			}
		})
	}
}

func TestUsageString(t *testing.T) {
	tests := []struct {
		u    Usage
		want string
	}{
		{Usage{0, -1}, "unlimited"},
		{Usage{7, -1}, "unlimited"},
		{Usage{4, 5}, "4/5"},
		{Usage{0, 0}, "0/0"},
		{Usage{4999, 5000}, "4999/5000"},
		{Usage{1<<63 - 1, 1<<63 - 1}, "9223372036854775807/9223372036854775807"},
	}
	for _, tt := range tests {
		if got := tt.u.String(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.u, got, tt.want)
		}
	}
	o := Outcome{Service: Usage{4, 5}, API: Usage{0, -1}, Plan: Usage{0, 10}, Quota: Usage{99, 100}}
	want := [4][2]string{
		{"X-Service-RateLimit", "4/5"},
		{"X-Api-RateLimit", "unlimited"},
		{"X-UsagePlan-RateLimit", "0/10"},
		{"X-UsagePlan-Quota", "99/100"},
	}
	if got := o.Headers(); got != want {
		t.Errorf("Headers() = %q, want %q", got, want)
	}
}

func TestParsePeriod(t *testing.T) {
	for s, want := range map[string]Period{"total": Total, "day": Day, "month": Month} {
		if p, ok := ParsePeriod(s); !ok || p != want {
			t.Errorf("ParsePeriod(%q) = %v, %v", s, p, ok)
		}
	}
	for _, s := range []string{"", "Day", "week", "year"} {
		if _, ok := ParsePeriod(s); ok {
			t.Errorf("ParsePeriod(%q) ok", s)
		}
	}
}

// hooked runs fn once, inside the first Get of key, after the read: another worker acting
// between this worker's read and its write.
type hooked struct {
	Store
	key string
	fn  func()
}

func (h *hooked) Get(key string) ([]byte, uint32, bool, error) {
	v, cas, found, err := h.Store.Get(key)
	if key == h.key && h.fn != nil {
		fn := h.fn
		h.fn = nil
		fn()
	}
	return v, cas, found, err
}

// TestCreationRace replays the races the host does not guard against: two workers both find
// a counter missing and both create it. Neither creation may erase the other's request.
func TestCreationRace(t *testing.T) {
	for _, at := range []string{
		quotaKey,    // the other worker creates the key after this one found it missing
		sentinelKey, // ... after this one took its fresh cas, before it writes
	} {
		var m Memory
		l := Limits{Quota: Quota{quotaKey, 10, Day}}
		var inner Outcome
		h := &hooked{Store: &m, key: at}
		h.fn = func() {
			var err *reply.Error
			if inner, err = Take(&m, &l, t0); err != nil {
				t.Fatal(err)
			}
		}
		out, err := Take(h, &l, t0)
		if err != nil || inner.Quota.String() != "9/10" || out.Quota.String() != "8/10" {
			t.Errorf("race at %s: %v, inner %s, outer %s; want 9/10 then 8/10", at, err, inner.Quota, out.Quota)
		}
		if h.fn != nil {
			t.Errorf("race at %s: the other worker never ran", at)
		}
	}
}

// conflicting makes Sets with a cas on one key (every key if key is "") lose, after skip of
// them won, n times or, with n < 0, always; it counts Sets on that key.
type conflicting struct {
	Store
	key     string
	skip, n int
	sets    int
}

func (c *conflicting) Set(key string, v []byte, cas uint32) error {
	if c.key != "" && key != c.key {
		return c.Store.Set(key, v, cas)
	}
	c.sets++
	if cas != 0 && c.skip > 0 {
		c.skip--
	} else if cas != 0 && c.n != 0 {
		c.n--
		return ErrCASMismatch
	}
	return c.Store.Set(key, v, cas)
}

func TestBoundedRetries(t *testing.T) {
	tests := []struct {
		name     string
		key      string // where Sets lose; "" everywhere
		skip, n  int
		code     reply.Code
		wantSets int
		after    [4]string // headers of a clean request afterwards
	}{
		{"quota wins on the last attempt", quotaKey, 0, maxAttempts - 1, reply.None, maxAttempts,
			[4]string{"7/10", "7/10", "7/10", "7/10"}},
		{"quota fails closed, rates given back", quotaKey, 0, -1, reply.QuotaExceeded, maxAttempts,
			[4]string{"8/10", "8/10", "8/10", "8/10"}},
		{"API rate fails closed, service given back", apiKey, 0, -1, reply.RateLimitExceeded, maxAttempts,
			[4]string{"8/10", "8/10", "8/10", "8/10"}},
		{"service fails closed, bounded", "", 0, -1, reply.RateLimitExceeded, maxAttempts,
			[4]string{"8/10", "8/10", "8/10", "8/10"}},
		{"API fails closed and the service refund too", "", 1, -1, reply.RateLimitExceeded, 1 + 2*maxAttempts,
			// The service token could not be given back: kept, on the safe side.
			[4]string{"7/10", "8/10", "8/10", "8/10"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Memory
			l := four(10, 10, 10, 10)
			if _, err := Take(&m, &l, t0); err != nil { // the keys exist from here on
				t.Fatal(err)
			}
			c := &conflicting{Store: &m, key: tt.key, skip: tt.skip, n: tt.n}
			_, err := Take(c, &l, t0)
			code := reply.None
			if err != nil {
				code = err.Code
			}
			if code != tt.code || c.sets != tt.wantSets {
				t.Errorf("%v after %d sets; want %v after %d", code, c.sets, tt.code, tt.wantSets)
			}
			out, err := Take(&m, &l, t0)
			if err != nil || headers(out) != tt.after {
				t.Errorf("next request: %v %q, want %q", err, headers(out), tt.after)
			}
		})
	}
}

// failing fails every Get or Set of one key.
type failing struct {
	Store
	key      string
	get, set bool
}

var errStore = errors.New("store down")

func (f *failing) Get(key string) ([]byte, uint32, bool, error) {
	if f.get && key == f.key {
		return nil, 0, false, errStore
	}
	return f.Store.Get(key)
}

func (f *failing) Set(key string, v []byte, cas uint32) error {
	if f.set && key == f.key {
		return errStore
	}
	return f.Store.Set(key, v, cas)
}

func TestStoreErrorsFailClosed(t *testing.T) {
	tests := []struct {
		name     string
		key      string
		get, set bool
		code     reply.Code
		headers  [4]string
	}{
		{"quota unreadable", quotaKey, true, false, reply.QuotaExceeded, [4]string{"10/10", "10/10", "10/10", "0/10"}},
		{"quota unwritable", quotaKey, false, true, reply.QuotaExceeded, [4]string{"10/10", "10/10", "10/10", "0/10"}},
		{"plan rate unreadable", planKey, true, false, reply.RateLimitExceeded, [4]string{"10/10", "10/10", "0/10", "10/10"}},
		{"sentinel unwritable", sentinelKey, false, true, reply.RateLimitExceeded, [4]string{"0/10", "10/10", "10/10", "10/10"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Memory
			l := four(10, 10, 10, 10)
			out, err := Take(&failing{&m, tt.key, tt.get, tt.set}, &l, t0)
			if err == nil || err.Code != tt.code || headers(out) != tt.headers {
				t.Errorf("%v %q; want %v %q", err, headers(out), tt.code, tt.headers)
			}
			// Nothing was taken.
			out, err = Take(&m, &l, t0)
			if err != nil || headers(out) != [4]string{"9/10", "9/10", "9/10", "9/10"} {
				t.Errorf("next request: %v %q", err, headers(out))
			}
		})
	}
}

func TestUnreadableValueStartsOver(t *testing.T) {
	var m Memory
	m.Set(quotaKey, []byte("junk"), 0)
	m.Set(svcKey, []byte("junk"), 0)
	l := four(3, -1, -1, 3)
	out, err := Take(&m, &l, t0)
	if err != nil || headers(out) != [4]string{"2/3", "unlimited", "unlimited", "2/3"} {
		t.Errorf("%v %q", err, headers(out))
	}
}

// readOnly fails every Set.
type readOnly struct{ Store }

func (readOnly) Set(string, []byte, uint32) error { return errStore }

func TestPeek(t *testing.T) {
	var m Memory
	l := four(5, 1, -1, 10)
	tests := []struct {
		name string
		take bool
		want [4]string
	}{
		{"nothing used", false, [4]string{"5/5", "1/1", "unlimited", "10/10"}},
		{"after one request, API exhausted", true, [4]string{"4/5", "0/1", "unlimited", "9/10"}},
		{"peek takes nothing", false, [4]string{"4/5", "0/1", "unlimited", "9/10"}},
	}
	for _, tt := range tests {
		if tt.take {
			if _, err := Take(&m, &l, t0); err != nil {
				t.Fatal(err)
			}
		}
		if got := headers(Peek(readOnly{&m}, &l, t0)); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	if o := Peek(&m, nil, t0); o.Limited() {
		t.Errorf("nil limits: %+v", o)
	}
}

// TestPairStorage: a plan's rate and quota under one key are one 28-byte value; a limit turned
// off by a reload keeps its stored part, so turning it on again finds its count; a quota stored
// alone before (12 bytes) carries over into the pair.
func TestPairStorage(t *testing.T) {
	take := func(m *Memory, plan, quota int64) [4]string {
		t.Helper()
		out, err := Take(m, &Limits{Plan: Rate{usageKey, plan}, Quota: Quota{usageKey, quota, Total}}, t0)
		if err != nil {
			t.Fatalf("plan %d quota %d: %v", plan, quota, err.Code)
		}
		return headers(out)
	}
	var m Memory
	take(&m, 5, 10)
	if v, _, ok, _ := m.Get(usageKey); !ok || len(v) != pairSize {
		t.Fatalf("stored %d bytes (found %v), want one value of %d", len(v), ok, pairSize)
	}
	if _, _, ok, _ := m.Get(PlanKey("usagePlan-basic", "AKIDexample")); ok {
		t.Fatal("the plan's rate was stored under a key of its own")
	}
	if h := take(&m, -1, 10); h[3] != "8/10" {
		t.Fatalf("rate off: quota %q, want 8/10", h[3])
	}
	if h := take(&m, 5, -1); h[2] != "3/5" {
		t.Fatalf("quota off: rate %q, want 3/5 (the rate part kept while the rate was off)", h[2])
	}
	if h := take(&m, 5, 10); h != [4]string{"unlimited", "unlimited", "2/5", "7/10"} {
		t.Fatalf("both on again: %q, want the rate at 2/5 and the quota at 7/10", h)
	}

	// A quota written alone (the 12-byte form) is read as the pair's quota part.
	var old Memory
	var buf [pairSize]byte
	q := slot{isQuota: true, limit: 10, now: int64(stamp(Total, t0)), level: 3}
	if err := old.Set(usageKey, q.encode(buf[:], 0), 0); err != nil {
		t.Fatal(err)
	}
	if h := take(&old, 5, 10); h[2] != "4/5" || h[3] != "6/10" {
		t.Fatalf("after a quota stored alone: %q, want rate 4/5 and quota 6/10", h)
	}
}
