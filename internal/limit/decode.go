package limit

import (
	"math"

	"github.com/apigw-wasm/apigw-wasm/internal/confjson"
)

// Unlimited is the value of a limit that is absent or -1.
const Unlimited int64 = -1

// DecodeLimit reads a request limit (max_requests_per_second, max_requests): Unlimited when
// absent, null or -1, else a positive whole number.
func DecodeLimit(o *confjson.Object, name string) int64 {
	v := o.Field(name)
	if !v.Present() {
		return Unlimited
	}
	f, ok := v.Number()
	if !ok || f != math.Trunc(f) || (f < 1 && f != -1) || f > 1e15 {
		v.Fail("must be -1 (unlimited) or a positive whole number, got %s", v.Raw())
		return Unlimited
	}
	return int64(f)
}

// PlanLimits are a usage plan's rate and quota, the same for each of its secrets.
type PlanLimits struct {
	rate, quota int64 // Unlimited or a positive number
	period      Period
}

// DecodePlanLimits reads a usage plan's max_requests_per_second, max_requests and quota_period.
func DecodePlanLimits(o *confjson.Object) PlanLimits {
	p := PlanLimits{rate: DecodeLimit(o, "max_requests_per_second"), quota: DecodeLimit(o, "max_requests")}
	p.period, _ = ParsePeriod(o.Enum("quota_period", periodNames[Total], periodNames[:]...))
	return p
}

// For is the plan's rate and quota counted under one secret's usage key (UsageKey). Both carry
// the key, also when unlimited (Limit -1): the limiter stores them as one value and keeps the
// part of a limit that is off, so that a reload turning it on again finds its count.
func (p PlanLimits) For(key string) (Rate, Quota) {
	return Rate{Key: key, Limit: p.rate}, Quota{Key: key, Limit: p.quota, Period: p.period}
}
