package limit

import "strconv"

// Usage is one limit as its response header shows it.
type Usage struct {
	Remaining int64 // after this request; 0 when this limit rejected it
	Limit     int64 // negative when the limit does not apply
}

// String is the header value: "<remaining>/<limit>" or "unlimited".
func (u Usage) String() string {
	if u.Limit < 0 {
		return "unlimited"
	}
	var a [41]byte // two int64s and the slash
	b := strconv.AppendInt(a[:0], u.Remaining, 10)
	b = append(b, '/')
	return string(strconv.AppendInt(b, u.Limit, 10))
}

// Outcome is what Take found, for the response headers.
type Outcome struct {
	Service, API, Plan, Quota Usage
}

var unlimited = Outcome{Usage{0, -1}, Usage{0, -1}, Usage{0, -1}, Usage{0, -1}}

// Limited reports whether any limit applies, that is whether the response carries the headers.
func (o *Outcome) Limited() bool {
	return o.Service.Limit >= 0 || o.API.Limit >= 0 || o.Plan.Limit >= 0 || o.Quota.Limit >= 0
}

// Headers returns the four response headers as name, value pairs. The values share one string:
// one allocation per response instead of four.
func (o *Outcome) Headers() [4][2]string {
	var a [4 * 41]byte
	var ends [4]int
	b := a[:0]
	for i, u := range [4]Usage{o.Service, o.API, o.Plan, o.Quota} {
		if u.Limit < 0 {
			b = append(b, "unlimited"...)
		} else {
			b = strconv.AppendInt(b, u.Remaining, 10)
			b = append(b, '/')
			b = strconv.AppendInt(b, u.Limit, 10)
		}
		ends[i] = len(b)
	}
	all := string(b)
	return [4][2]string{
		{"X-Service-RateLimit", all[:ends[0]]},
		{"X-Api-RateLimit", all[ends[0]:ends[1]]},
		{"X-UsagePlan-RateLimit", all[ends[1]:ends[2]]},
		{"X-UsagePlan-Quota", all[ends[2]:ends[3]]},
	}
}

// outcome reads the slots after Take: with taken, what is left after this request; otherwise
// what is left with nothing taken, and 0 for the limits that rejected it.
func outcome(sl *[4]slot, over *[4]bool, taken bool) Outcome {
	var u [4]Usage
	for i := range sl {
		s := &sl[i]
		u[i].Limit = s.limit
		switch {
		case s.off() || over[i]:
		case s.isQuota && taken:
			u[i].Remaining = s.limit - s.level - 1
		case s.isQuota:
			u[i].Remaining = max(s.limit-s.level, 0)
		case taken:
			u[i].Remaining = (s.level - unit) / unit
		default:
			u[i].Remaining = s.level / unit
		}
	}
	return Outcome{u[0], u[1], u[2], u[3]}
}
