package limit

import (
	"encoding/binary"
	"errors"
	"math"
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/reply"
)

// Rate is a token bucket of capacity Limit refilled at Limit tokens per second. It applies when
// Key is set and Limit >= 0 (0 lets nothing through); the zero Rate does not apply.
type Rate struct {
	Key   string
	Limit int64
}

// Quota is at most Limit requests per Period. It applies when Key is set and Limit >= 0; the
// zero Quota does not apply.
type Quota struct {
	Key    string
	Limit  int64
	Period Period
}

func (r Rate) on() bool  { return r.Key != "" && r.Limit >= 0 }
func (q Quota) on() bool { return q.Key != "" && q.Limit >= 0 }

// Period is when a quota starts over.
type Period uint8

const (
	Total Period = iota // never
	Day                 // at 00:00 UTC
	Month               // at 00:00 UTC on the 1st
)

// periodNames are the configuration's quota_period values, indexed by Period.
var periodNames = [...]string{Total: "total", Day: "day", Month: "month"}

// ParsePeriod maps a quota_period value to its Period.
func ParsePeriod(s string) (Period, bool) {
	for p, name := range periodNames {
		if s == name {
			return Period(p), true
		}
	}
	return 0, false
}

// Limits are the limits of one request: service environment, API and plan rates and the plan
// quota. A zero field does not apply.
type Limits struct {
	Service, API, Plan Rate
	Quota              Quota
}

// maxAttempts bounds the compare-and-swap loop of one limit. A write only loses to another
// write of the same key that succeeded, and a Take writes a key at most twice (take, give
// back), so up to 32 Takes racing on a key never run out; beyond that the limit fails closed.
const maxAttempts = 64

// unit is one token in the fixed-point level of a bucket. A bucket refilled at R tokens per
// second gains exactly R units per nanosecond: no rounding, and no division on the hot path.
const unit = int64(time.Second)

// maxRate keeps a full bucket, R*unit, within an int64.
const maxRate = math.MaxInt64 / unit

var (
	errRate  = reply.New(reply.RateLimitExceeded, "")
	errQuota = reply.New(reply.QuotaExceeded, "")
)

// Take checks l at now and, when every limit that applies lets the request through, takes one
// token from each rate and one request from the quota. A rejected request takes nothing. The
// error is reply.RateLimitExceeded when a rate is exceeded (rates win over the quota) and
// reply.QuotaExceeded when only the quota is; it is shared and must not be modified. When the
// store fails, or a compare-and-swap loop runs out, the limit concerned fails closed. The
// Outcome is valid in both cases.
func Take(s Store, l *Limits, now time.Time) (Outcome, *reply.Error) {
	return take(s, l, now, true)
}

// Peek is Take without taking or writing, for the headers of a response rejected before the
// limits are checked. A limit exceeded already shows 0.
func Peek(s Store, l *Limits, now time.Time) Outcome {
	o, _ := take(s, l, now, false)
	return o
}

// Apply reports whether any of the limits applies; Take and Peek of limits that do not apply
// answer at once, without the store or the time.
func (l *Limits) Apply() bool {
	return l != nil && (l.Service.on() || l.API.on() || l.Plan.on() || l.Quota.on())
}

func take(s Store, l *Limits, now time.Time, commit bool) (Outcome, *reply.Error) {
	if !l.Apply() {
		return unlimited, nil
	}
	var sl [4]slot
	ns := now.UnixNano()
	sl[0].rate(l.Service, ns)
	sl[1].rate(l.API, ns)
	sl[2].rate(l.Plan, ns)
	sl[3].quota(l.Quota, now)
	// A plan's rate and quota with one key are one value: one read and one compare-and-swap
	// for both, and the quota is written together with its rate.
	var p *pair
	if sl[2].key != "" && sl[2].key == sl[3].key && !(sl[2].off() && sl[3].off()) {
		p = &pair{rate: &sl[2], quota: &sl[3]}
	}
	// Check all before writing any, so a request over one limit costs no writes, and the
	// headers of a rejection show every limit that is exceeded.
	var over [4]bool
	for i := range sl {
		switch {
		case p != nil && i == 2:
			err := p.load(s)
			over[2] = !sl[2].off() && (err != nil || !sl[2].allows())
			over[3] = !sl[3].off() && (err != nil || !sl[3].allows())
		case p != nil && i == 3, sl[i].off():
		default:
			over[i] = sl[i].load(s) != nil || !sl[i].allows()
		}
	}
	if err := verdict(&over); err != nil || !commit {
		return outcome(&sl, &over, false), err
	}
	// Commit in order, the quota last: once its write succeeds nothing can fail any more, so
	// a quota is never given back and stays exact. A rate taken and then given back may have
	// turned away a concurrent request in between; that is the residual error.
	buf := new([pairSize]byte)
	for i := range sl {
		failed := -1
		switch {
		case p != nil && i == 3: // written with the plan's rate
		case p != nil && i == 2:
			if f, ok := p.commit(s, buf); !ok {
				failed = f
			}
		case !sl[i].off() && !sl[i].commit(s, buf):
			failed = i
		}
		if failed < 0 {
			continue
		}
		for j := i - 1; j >= 0; j-- {
			if !sl[j].off() {
				sl[j].refund(s, buf)
			}
		}
		over[failed] = true
		return outcome(&sl, &over, false), verdict(&over)
	}
	return outcome(&sl, &over, true), nil
}

func verdict(over *[4]bool) *reply.Error {
	switch {
	case over[0] || over[1] || over[2]:
		return errRate
	case over[3]:
		return errQuota
	}
	return nil
}

// slot is one limit while Take runs.
type slot struct {
	key     string
	limit   int64 // R or N; negative when the limit does not apply
	isQuota bool
	now     int64 // rate: Unix ns; quota: the stamp of the current period

	// As loaded: whether the key exists, its cas, and the state brought to now.
	found bool
	cas   uint32
	level int64 // rate: units in the bucket; quota: requests counted in the period
	last  int64 // rate: the time the level is for, never moved backwards
}

func (sl *slot) rate(r Rate, now int64) {
	sl.key, sl.limit, sl.now = r.Key, -1, now
	if r.on() {
		sl.limit = r.Limit
	}
}

func (sl *slot) quota(q Quota, now time.Time) {
	sl.key, sl.limit, sl.isQuota = q.Key, -1, true
	if q.on() {
		sl.limit = q.Limit
		sl.now = int64(stamp(q.Period, now))
	}
}

func (sl *slot) off() bool { return sl.limit < 0 }

// load reads the slot's state and brings it to now. A missing or unreadable value is a new
// state: a full bucket, or no request counted.
func (sl *slot) load(s Store) error {
	v, cas, found, err := s.Get(sl.key)
	if err != nil {
		return err
	}
	sl.found, sl.cas = found, cas
	if len(v) == pairSize {
		// A value written as a pair (the configuration had both limits): this slot's part.
		if sl.isQuota {
			v = v[rateSize:]
		} else {
			v = v[:rateSize]
		}
	}
	sl.decode(v)
	return nil
}

// decode brings the slot's stored state v to now; a value of the wrong size is a new state.
func (sl *slot) decode(v []byte) {
	if sl.isQuota {
		sl.level = 0
		if len(v) == quotaSize && int64(binary.LittleEndian.Uint32(v)) == sl.now {
			sl.level = int64(min(binary.LittleEndian.Uint64(v[4:]), math.MaxInt64))
		}
		return
	}
	c := capacity(sl.limit)
	if len(v) != rateSize {
		sl.level, sl.last = c, sl.now
		return
	}
	level := int64(binary.LittleEndian.Uint64(v))
	last := int64(binary.LittleEndian.Uint64(v[8:]))
	sl.level, sl.last = refill(level, last, sl.now, sl.limit), max(last, sl.now)
}

func (sl *slot) allows() bool {
	if sl.isQuota {
		return sl.level < sl.limit
	}
	return sl.level >= unit
}

// Stored sizes: a rate's bucket (level, last), a quota (period stamp, count), and a plan's
// rate and quota stored as one value, in that order.
const (
	rateSize  = 16
	quotaSize = 12
	pairSize  = rateSize + quotaSize
)

// encode writes the state after taking (delta 1) or giving back (delta -1) one request into
// buf and returns the bytes written.
func (sl *slot) encode(buf []byte, delta int64) []byte {
	if sl.isQuota {
		binary.LittleEndian.PutUint32(buf, uint32(sl.now))
		binary.LittleEndian.PutUint64(buf[4:], uint64(max(sl.level+delta, 0)))
		return buf[:quotaSize]
	}
	binary.LittleEndian.PutUint64(buf, uint64(min(sl.level-delta*unit, capacity(sl.limit))))
	binary.LittleEndian.PutUint64(buf[8:], uint64(sl.last))
	return buf[:rateSize]
}

// commit takes one request, starting from the state load left, reloading after each lost
// compare-and-swap. It reports false when the limit is exceeded meanwhile or fails closed.
func (sl *slot) commit(s Store, buf *[pairSize]byte) bool {
	for range maxAttempts {
		cas := sl.cas
		if !sl.found {
			var err error
			if cas, err = freshCAS(s); err != nil {
				return false
			}
		}
		err := s.Set(sl.key, sl.encode(buf[:], 1), cas)
		if err == nil {
			return true
		}
		if !errors.Is(err, ErrCASMismatch) || sl.load(s) != nil || !sl.allows() {
			return false
		}
	}
	return false
}

// refund gives back the token commit took. If it cannot within maxAttempts the token stays
// taken: the error is on the safe side.
func (sl *slot) refund(s Store, buf *[pairSize]byte) {
	for range maxAttempts {
		if sl.load(s) != nil || !sl.found {
			return
		}
		err := s.Set(sl.key, sl.encode(buf[:], -1), sl.cas)
		if err == nil {
			sl.level = min(sl.level+unit, capacity(sl.limit)) // for the headers
			return
		}
		if !errors.Is(err, ErrCASMismatch) {
			return
		}
	}
}

// pair is a plan's rate and quota stored under one key: rate part then quota part. A part whose
// limit is off is kept as it was read, so that turning a limit off and on again by a reload
// keeps its count. A quota stored alone (12 bytes, before both were configured) is read as the
// quota part.
type pair struct {
	rate, quota *slot
	raw         [pairSize]byte // as read; zero for a new value
}

func (p *pair) load(s Store) error {
	v, cas, found, err := s.Get(p.rate.key)
	if err != nil {
		return err
	}
	p.rate.found, p.rate.cas = found, cas
	p.quota.found, p.quota.cas = found, cas
	p.raw = [pairSize]byte{}
	var r, q []byte
	switch len(v) {
	case pairSize:
		copy(p.raw[:], v)
		r, q = v[:rateSize], v[rateSize:]
	case quotaSize:
		copy(p.raw[rateSize:], v)
		q = v
	}
	if !p.rate.off() {
		p.rate.decode(r)
	}
	if !p.quota.off() {
		p.quota.decode(q)
	}
	return nil
}

// commit takes one request from both limits with one compare-and-swap, reloading after each
// lost swap. It reports which slot failed (2 the rate, 3 the quota) when a limit is exceeded
// meanwhile or fails closed; the rate when the store fails.
func (p *pair) commit(s Store, buf *[pairSize]byte) (failed int, ok bool) {
	for range maxAttempts {
		cas := p.rate.cas
		if !p.rate.found {
			var err error
			if cas, err = freshCAS(s); err != nil {
				return p.failing(), false
			}
		}
		*buf = p.raw
		if !p.rate.off() {
			p.rate.encode(buf[:rateSize], 1)
		}
		if !p.quota.off() {
			p.quota.encode(buf[rateSize:], 1)
		}
		err := s.Set(p.rate.key, buf[:], cas)
		if err == nil {
			return 0, true
		}
		if !errors.Is(err, ErrCASMismatch) || p.load(s) != nil {
			return p.failing(), false
		}
		if !p.rate.off() && !p.rate.allows() {
			return 2, false
		}
		if !p.quota.off() && !p.quota.allows() {
			return 3, false
		}
	}
	return p.failing(), false
}

// failing names the slot a pair's failure counts against: the quota when the rate is off.
func (p *pair) failing() int {
	if p.rate.off() {
		return 3
	}
	return 2
}

// freshCAS returns a cas that no existing key can hold, for creating a key without a guard
// from the host. A Set with a cas != 0 creates a missing key, and fails if another writer
// created the key first: that key's cas was numbered by its own write, and the host numbers
// every write from one counter, so it differs from the number just given to the sentinel's
// write (unless 2^32 writes happen between the two, which the host cannot do in that time).
func freshCAS(s Store) (uint32, error) {
	if err := s.Set(sentinelKey, []byte{1}, 0); err != nil {
		return 0, err
	}
	_, cas, found, err := s.Get(sentinelKey)
	if err == nil && (!found || cas == 0) {
		err = errors.New("limit: sentinel key lost")
	}
	return cas, err
}

// capacity is a full bucket of rate r, in units.
func capacity(r int64) int64 { return min(r, maxRate) * unit }

// refill returns the level, in units, of a bucket of rate r that held level at last, at now.
// A level above the capacity (the limit was lowered) is clamped to it. Time going backwards,
// as the clocks of requests on different workers may, adds nothing.
func refill(level, last, now, r int64) int64 {
	c := capacity(r)
	level = max(min(level, c), 0)
	el := now - last
	if el <= 0 {
		return level
	}
	// A bucket fills in one second; below that, el*r < c cannot overflow.
	if el >= int64(time.Second) || el*min(r, maxRate) >= c-level {
		return c
	}
	return level + el*min(r, maxRate)
}

// stamp names the period of p that holds now: the kind in the top two bits, so that changing
// a plan's period starts a new count, then days since 1970 or months since year 0.
func stamp(p Period, now time.Time) uint32 {
	const mask = 1<<30 - 1
	switch p {
	case Day:
		s := now.Unix()
		d := s / 86400
		if s%86400 < 0 {
			d--
		}
		return 1<<30 | uint32(d)&mask
	case Month:
		y, m, _ := now.UTC().Date()
		return 2<<30 | uint32(y*12+int(m)-1)&mask
	}
	return 0
}

// PeriodStamp names the period of p that holds now, as the quota counters store it: the kind
// in the top two bits, then days since 1970 or months since year 0 (UTC). The cluster-wide
// store computes the same stamp from its own clock.
func PeriodStamp(p Period, now time.Time) uint32 { return stamp(p, now) }

// FreshCAS returns a cas under which Set creates a missing key and fails if another writer
// created it first: creation guarded on a host that guards only updates.
func FreshCAS(s Store) (uint32, error) { return freshCAS(s) }
