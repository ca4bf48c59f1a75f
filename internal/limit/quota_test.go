package limit

import (
	"testing"
	"time"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestStamp(t *testing.T) {
	tests := []struct {
		p    Period
		a, b string
		same bool
	}{
		{Total, "1999-01-01T00:00:00Z", "2038-01-19T03:14:08Z", true},
		{Day, "2026-07-15T00:00:00Z", "2026-07-15T23:59:59.999999999Z", true},
		{Day, "2026-07-15T23:59:59.999999999Z", "2026-07-16T00:00:00Z", false},
		{Day, "2026-07-16T07:59:59+08:00", "2026-07-15T12:00:00Z", true}, // UTC decides, not the zone
		{Day, "2026-07-16T08:00:00+08:00", "2026-07-15T12:00:00Z", false},
		{Day, "1969-12-31T23:59:59Z", "1970-01-01T00:00:00Z", false},
		{Day, "1969-12-31T00:00:00Z", "1969-12-31T23:59:59Z", true},
		{Month, "2026-01-01T00:00:00Z", "2026-01-31T23:59:59.999Z", true},
		{Month, "2026-01-31T23:59:59.999Z", "2026-02-01T00:00:00Z", false},
		{Month, "2024-02-29T23:59:59Z", "2024-02-01T00:00:00Z", true}, // leap year
		{Month, "2024-02-29T23:59:59Z", "2024-03-01T00:00:00Z", false},
		{Month, "2000-02-29T12:00:00Z", "2000-02-28T12:00:00Z", true}, // leap: divisible by 400
		{Month, "2026-04-30T23:59:59Z", "2026-05-01T00:00:00Z", false},
		{Month, "2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z", false},
		{Month, "2026-12-01T00:00:00Z", "2027-12-01T00:00:00Z", false}, // same month, next year
		{Month, "2026-03-01T07:59:59+08:00", "2026-02-28T12:00:00Z", true},
	}
	for _, tt := range tests {
		a, b := stamp(tt.p, utc(tt.a)), stamp(tt.p, utc(tt.b))
		if (a == b) != tt.same {
			t.Errorf("period %d: %s -> %#x, %s -> %#x; same period = %v, want %v", tt.p, tt.a, a, tt.b, b, a == b, tt.same)
		}
	}
	// A period of another kind is another count, even where the numbers could meet.
	now := utc("2026-07-15T00:00:00Z")
	if stamp(Day, now) == stamp(Month, now) || stamp(Day, now) == stamp(Total, now) || stamp(Month, now) == stamp(Total, now) {
		t.Error("stamps of different kinds meet")
	}
}

func TestQuotaPeriods(t *testing.T) {
	type req struct {
		at     string
		pass   bool
		header string
	}
	tests := []struct {
		name   string
		period Period
		limit  int64
		reqs   []req
	}{
		{"total never resets", Total, 2, []req{
			{"2024-01-01T00:00:00Z", true, "1/2"},
			{"2025-06-01T00:00:00Z", true, "0/2"},
			{"2030-01-01T00:00:00Z", false, "0/2"},
		}},
		{"day resets at 00:00 UTC", Day, 2, []req{
			{"2024-02-28T23:59:59.999Z", true, "1/2"},
			{"2024-02-28T23:59:59.999Z", true, "0/2"},
			{"2024-02-28T23:59:59.999Z", false, "0/2"},
			{"2024-02-29T07:59:59+08:00", false, "0/2"}, // 23:59:59 UTC on the 28th
			{"2024-02-29T00:00:00Z", true, "1/2"},       // leap day is a day
			{"2024-03-01T00:00:00Z", true, "1/2"},
		}},
		{"month resets on the 1st UTC", Month, 1, []req{
			{"2024-01-31T23:59:59Z", true, "0/1"},
			{"2024-02-01T00:00:00Z", true, "0/1"},
			{"2024-02-29T23:59:59Z", false, "0/1"}, // leap day still February
			{"2024-03-01T00:00:00Z", true, "0/1"},
			{"2024-03-31T23:59:59Z", false, "0/1"},
			{"2024-04-01T07:00:00+08:00", false, "0/1"}, // still March in UTC
			{"2024-04-30T23:59:59Z", true, "0/1"},
			{"2024-05-01T00:00:00Z", true, "0/1"},
		}},
		{"month across years and non-leap February", Month, 1, []req{
			{"2099-12-31T23:59:59Z", true, "0/1"},
			{"2100-01-01T00:00:00Z", true, "0/1"},
			{"2100-02-28T23:59:59Z", true, "0/1"},
			{"2100-03-01T00:00:00Z", true, "0/1"}, // 2100 has no 29 February
		}},
		{"zero lets nothing through", Day, 0, []req{{"2024-01-01T00:00:00Z", false, "0/0"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Memory
			l := Limits{Quota: Quota{QuotaKey("plan", "secret"), tt.limit, tt.period}}
			for i, r := range tt.reqs {
				out, err := Take(&m, &l, utc(r.at))
				if (err == nil) != r.pass || out.Quota.String() != r.header {
					t.Errorf("request %d at %s: pass %v, header %q; want %v, %q", i, r.at, err == nil, out.Quota, r.pass, r.header)
				}
				if err != nil && err != errQuota {
					t.Errorf("request %d: error %v", i, err)
				}
			}
		})
	}
}

func TestQuotaReload(t *testing.T) {
	var m Memory
	key := QuotaKey("plan", "secret")
	take := func(limit int64, p Period) string {
		l := Limits{Quota: Quota{key, limit, p}}
		out, err := Take(&m, &l, t0)
		s := out.Quota.String()
		if err != nil {
			s += " rejected"
		}
		return s
	}
	steps := []struct {
		limit  int64
		period Period
		want   string
	}{
		{10, Total, "9/10"},
		{10, Total, "8/10"},
		{10, Total, "7/10"},
		{5, Total, "1/5"}, // lowered: 3 used before, this is the 4th
		{5, Total, "0/5"},
		{3, Total, "0/3 rejected"}, // lowered below what is used
		{-1, Total, "unlimited"},   // off: not counted
		{6, Total, "0/6"},          // back on: the count was kept
		{6, Day, "5/6"},            // another kind of period starts a new count
	}
	for i, s := range steps {
		if got := take(s.limit, s.period); got != s.want {
			t.Errorf("step %d (limit %d): %s, want %s", i, s.limit, got, s.want)
		}
	}
}
