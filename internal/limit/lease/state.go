package lease

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/limit"
	"github.com/apigw-wasm/apigw-wasm/internal/limit/wire"
)

// state is one limit's lease in shared data, shared by the worker VMs of one Envoy. Times are
// local Unix milliseconds. Counts are cumulative within the period (quotas) or since the
// instance began (rates), as the store records them: a report says "spent so far", so a
// report sent twice counts once.
type state struct {
	limit     int64 // the limit the lease was granted for; another one makes it untrusted
	stamp     int64 // the store's period (quotas)
	spent     int64 // this instance's spend, including spends beyond the allowance (debt)
	allow     int64 // this instance's allowance: it may spend while spent < allow
	deadline  int64 // the allowance is trusted until then (the reservation's expiry)
	periodEnd int64 // the period ends then; 0: never
	until     int64 // the store has nothing to grant or take until then
	rem       int64 // cluster-wide remaining at the last answer...
	remSpent  int64 // ...which counted this instance's spend up to this
	remAt     int64 // ...received then
	want      int64 // the reservation last asked for: the refill point is a fraction of it
	reported  int64 // spent as the store last acknowledged it
	reportAt  int64 // when
	seq       int64 // sequence number of the last report sent
	inflight  int64 // a report is in flight until then (one VM reports a limit at a time)
	demand    int64 // requests that asked this limit for a token
	rateAt    int64 // the demand rate was measured then...
	rateDem   int64 // ...at this demand
	rate      int64 // demand per second, thousandths
	fbLevel   int64 // outage "local": the Envoy's own bucket, thousandths of a token
	fbAt      int64 // ...at this time
	quiet     int64 // asked and got nothing: no refill before then
	lastUse   int64 // the last request that asked this limit for a token
}

const (
	stateFields = 23
	stateSize   = 8 * stateFields
)

// encode and decode write the fields in their order, each as 8 bytes little-endian.
func (s *state) encode(buf *[stateSize]byte) []byte {
	le := binary.LittleEndian
	le.PutUint64(buf[0:], uint64(s.limit))
	le.PutUint64(buf[8:], uint64(s.stamp))
	le.PutUint64(buf[16:], uint64(s.spent))
	le.PutUint64(buf[24:], uint64(s.allow))
	le.PutUint64(buf[32:], uint64(s.deadline))
	le.PutUint64(buf[40:], uint64(s.periodEnd))
	le.PutUint64(buf[48:], uint64(s.until))
	le.PutUint64(buf[56:], uint64(s.rem))
	le.PutUint64(buf[64:], uint64(s.remSpent))
	le.PutUint64(buf[72:], uint64(s.remAt))
	le.PutUint64(buf[80:], uint64(s.want))
	le.PutUint64(buf[88:], uint64(s.reported))
	le.PutUint64(buf[96:], uint64(s.reportAt))
	le.PutUint64(buf[104:], uint64(s.seq))
	le.PutUint64(buf[112:], uint64(s.inflight))
	le.PutUint64(buf[120:], uint64(s.demand))
	le.PutUint64(buf[128:], uint64(s.rateAt))
	le.PutUint64(buf[136:], uint64(s.rateDem))
	le.PutUint64(buf[144:], uint64(s.rate))
	le.PutUint64(buf[152:], uint64(s.fbLevel))
	le.PutUint64(buf[160:], uint64(s.fbAt))
	le.PutUint64(buf[168:], uint64(s.quiet))
	le.PutUint64(buf[176:], uint64(s.lastUse))
	return buf[:]
}

// decode reads v; a value of another size is a fresh state.
func (s *state) decode(v []byte) bool {
	if len(v) != stateSize {
		return false
	}
	le := binary.LittleEndian
	s.limit = int64(le.Uint64(v[0:]))
	s.stamp = int64(le.Uint64(v[8:]))
	s.spent = int64(le.Uint64(v[16:]))
	s.allow = int64(le.Uint64(v[24:]))
	s.deadline = int64(le.Uint64(v[32:]))
	s.periodEnd = int64(le.Uint64(v[40:]))
	s.until = int64(le.Uint64(v[48:]))
	s.rem = int64(le.Uint64(v[56:]))
	s.remSpent = int64(le.Uint64(v[64:]))
	s.remAt = int64(le.Uint64(v[72:]))
	s.want = int64(le.Uint64(v[80:]))
	s.reported = int64(le.Uint64(v[88:]))
	s.reportAt = int64(le.Uint64(v[96:]))
	s.seq = int64(le.Uint64(v[104:]))
	s.inflight = int64(le.Uint64(v[112:]))
	s.demand = int64(le.Uint64(v[120:]))
	s.rateAt = int64(le.Uint64(v[128:]))
	s.rateDem = int64(le.Uint64(v[136:]))
	s.rate = int64(le.Uint64(v[144:]))
	s.fbLevel = int64(le.Uint64(v[152:]))
	s.fbAt = int64(le.Uint64(v[160:]))
	s.quiet = int64(le.Uint64(v[168:]))
	s.lastUse = int64(le.Uint64(v[176:]))
	return true
}

// fresh is the state of a limit never leased: nothing spent, nothing allowed, the whole limit
// remaining as far as this instance knows.
func fresh(kind wire.Kind, lim int64, period limit.Period, now time.Time) state {
	s := state{limit: lim, rem: lim, rateAt: now.UnixMilli()}
	if kind == wire.Quota {
		s.stamp = int64(limit.PeriodStamp(period, now))
		s.periodEnd = periodEnd(period, now)
	}
	return s
}

// periodEnd is when the period holding now ends, in Unix ms; 0 for a total quota.
func periodEnd(p limit.Period, now time.Time) int64 {
	t := now.UTC()
	switch p {
	case limit.Day:
		return time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, time.UTC).UnixMilli()
	case limit.Month:
		return time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	}
	return 0
}

// roll starts the next period when the state's one has ended by the local clock: what was
// spent in a finished period no longer limits anything.
func (s *state) roll(kind wire.Kind, period limit.Period, now time.Time, ms int64) {
	if kind == wire.Quota && s.periodEnd != 0 && ms >= s.periodEnd {
		*s = state{limit: s.limit, seq: s.seq, demand: s.demand, rateAt: s.rateAt, rateDem: s.rateDem, rate: s.rate}
		s.rem = s.limit
		s.stamp = int64(limit.PeriodStamp(period, now))
		s.periodEnd = periodEnd(period, now)
	}
}

// valid reports whether the allowance may be spent at ms for a limit of lim.
func (s *state) valid(lim, ms int64) bool {
	return s.limit == lim && ms < s.deadline && (s.periodEnd == 0 || ms < s.periodEnd)
}

// balance is what may be spent without asking the store.
func (s *state) balance(lim, ms int64) int64 {
	if !s.valid(lim, ms) {
		return 0
	}
	return max(s.allow-s.spent, 0)
}

// remaining is the cluster-wide remaining count as the last answer gave it, less this
// instance's spend since; a rate also counts what refilled since (at most the limit).
func (s *state) remaining(kind wire.Kind, lim, ms int64) int64 {
	r := s.rem
	if kind == wire.Rate && s.remAt > 0 && ms > s.remAt {
		el := ms - s.remAt
		if el >= 1000 || lim > (1<<62)/el {
			r = lim
		} else {
			r = min(r+lim*el/1000, lim)
		}
	}
	return min(max(r-(s.spent-s.remSpent), 0), lim)
}

// health is the store's state as this Envoy sees it, one value in shared data for all its VMs.
type health struct {
	down  int64 // the store failed first then, after its last success; 0: up
	retry int64 // requests do not wait for the store before then
}

const healthSize = 16

// Shared-data keys of this package: its own kind letter "G" after the prefix of package limit,
// so that they never meet the local mode's keys.
const (
	keyPrefix   = "apigw|G"
	instanceKey = keyPrefix + "|instance"
	healthKey   = keyPrefix + "|health"
)

// stateKey is the shared-data key of a limit's lease. A plan's rate and quota have one key in
// package limit; here they are two.
func stateKey(kind wire.Kind, key string) string {
	return keyPrefix + string(kind) + "|" + key
}

func (c *Client) loadHealth() (health, uint32, error) {
	v, cas, found, err := c.store.Get(healthKey)
	if err != nil || !found || len(v) != healthSize {
		return health{}, cas, err
	}
	return health{int64(binary.LittleEndian.Uint64(v)), int64(binary.LittleEndian.Uint64(v[8:]))}, cas, nil
}

// setHealth applies f to the health value with compare-and-swap; f reports whether to write.
// It returns the value f was applied to and whether the write succeeded.
func (c *Client) setHealth(f func(*health) bool) (old health, ok bool) {
	for range maxAttempts {
		h, cas, err := c.loadHealth()
		old = h
		if err != nil || !f(&h) {
			return old, false
		}
		var buf [healthSize]byte
		binary.LittleEndian.PutUint64(buf[:], uint64(h.down))
		binary.LittleEndian.PutUint64(buf[8:], uint64(h.retry))
		if cas == 0 {
			if cas, err = limit.FreshCAS(c.store); err != nil {
				return old, false
			}
		}
		err = c.store.Set(healthKey, buf[:], cas)
		if err == nil {
			return old, true
		}
		if !errors.Is(err, limit.ErrCASMismatch) {
			return old, false
		}
	}
	return old, false
}

// markDown records a failure of the store at ms: requests stop waiting for it for a while.
func (c *Client) markDown(ms int64) {
	c.setHealth(func(h *health) bool {
		if h.down == 0 {
			h.down = ms
		}
		h.retry = ms + c.pol.Backoff.Milliseconds()
		return true
	})
}

// markUp records a success at ms; the VM that ends an outage counts its duration.
func (c *Client) markUp(ms int64) {
	old, ok := c.setHealth(func(h *health) bool {
		if h.down == 0 {
			return false
		}
		*h = health{}
		return true
	})
	if ok {
		c.stats.OutageMillis += max(ms-old.down, 0)
	}
}
