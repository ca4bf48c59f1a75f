package lease

import (
	"errors"
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/limit"
	"github.com/apigw-wasm/apigw-wasm/internal/limit/wire"
)

// rateWindow is the shortest interval over which the demand rate is measured.
const rateWindow = 250

// idleAfter (ms): a limit without demand for this long wishes for nothing, and Due looks at a
// limit it tracks at least this often, so that an Envoy whose demand stopped gives back what it
// holds. Near the end of a quota (what remains cluster-wide is a few of this Envoy's leases),
// tokens held idle would be refused to others: both are shorter there.
func idleAfter(s *state) int64 {
	if tail(s) {
		return tailIdle
	}
	return 1000
}

// tail: what remains cluster-wide is at most four of this Envoy's leases.
func tail(s *state) bool { return s.rem <= 4*s.want }

const (
	tailIdle = 100
	idleLook = 5000 // ms between looks at a limit that is idle and holds nothing
)

// Due returns the report to send now for the limits this VM tracks, or nil: refills of
// balances at their refill point, leases for limits in demand that have none, renewals,
// spend not reported for FlushEvery, and balances given back when the demand fell. One VM
// reports a limit at a time (a marker in the lease, with an expiry). Call it on a timer tick
// and when a Result says Sync, from the root context, until it returns nil; send each Call and
// give its answer to Answer.
func (c *Client) Due(now time.Time) *Call {
	ms := now.UnixMilli()
	h, _, err := c.loadHealth()
	if err != nil || (h.down != 0 && ms < h.retry) || c.released {
		return nil
	}
	var call *Call
	for _, m := range [2]map[string]*tracked{c.rates, c.quotas} {
		for _, t := range m {
			if call != nil && len(call.ops) == wire.MaxOps {
				break
			}
			if !t.touched && ms < t.next {
				continue
			}
			op, ok := c.due(t, now, ms)
			if !ok {
				continue
			}
			if call == nil {
				call = &Call{Timeout: c.pol.Timeout, sent: ms}
			}
			call.ops = append(call.ops, op)
		}
	}
	if call == nil {
		return nil
	}
	if h.down != 0 { // this report probes the store: the others wait for it
		c.setHealth(func(h *health) bool { h.retry = ms + c.pol.Backoff.Milliseconds(); return true })
	}
	req := wire.Request{Instance: c.inst, TTL: c.pol.TTL.Milliseconds(), Ops: make([]wire.Op, len(call.ops))}
	for i, op := range call.ops {
		req.Ops[i] = wire.Op{Key: op.t.key, Kind: op.t.kind, Limit: op.limit, Period: uint8(op.t.period),
			Seq: op.seq, Stamp: op.stamp, Spent: op.spent, Allow: op.allow, Want: op.want}
	}
	call.Body = wire.AppendRequest(make([]byte, 0, 64+160*len(req.Ops)), &req)
	c.stats.Reports++
	return call
}

// due decides whether t needs a report now and, if so, claims the report in its lease.
func (c *Client) due(t *tracked, now time.Time, ms int64) (sentOp, bool) {
	t.touched = false
	sl := slot{t: t}
	for range maxAttempts {
		if c.load(&sl, now, ms) != nil {
			t.next = ms + tailIdle
			return sentOp{}, false
		}
		s := &sl.s
		if s.inflight > ms { // another VM is reporting
			t.next = s.inflight
			return sentOp{}, false
		}
		measured := c.measure(s, ms)
		want := c.want(s, t, ms)
		bal := s.balance(t.limit, ms)
		need, give := false, int64(0)
		keep := c.keep(s)
		switch {
		case s.limit != t.limit:
			need = true
		case want > 0 && bal <= c.refillPoint(want) && ms >= s.quiet && ms >= s.until:
			need = true // refill
		case want == 0 && bal > keep:
			need, give = true, bal-keep // idle
		case want > 0 && bal > 2*want+c.pol.MinLease:
			need, give = true, bal-want // the demand fell
		case want > 0 && bal > 0 && ms >= s.deadline-c.pol.RenewBefore.Milliseconds():
			need = true // renewal; an idle lease lapses instead
		}
		if s.spent != s.reported && ms >= s.reportAt+c.pol.FlushEvery.Milliseconds() {
			need = true
		}
		if !need {
			t.next = c.nextLook(s, ms, want, bal, keep)
			if measured {
				if err := c.write(&sl); errors.Is(err, limit.ErrCASMismatch) {
					continue
				}
			}
			return sentOp{}, false
		}
		s.inflight = ms + c.pol.Timeout.Milliseconds() + 100
		s.seq++
		s.allow -= give
		if err := c.write(&sl); err != nil {
			if errors.Is(err, limit.ErrCASMismatch) {
				continue
			}
			t.next = ms + tailIdle
			return sentOp{}, false
		}
		c.stats.TokensReturned += give
		t.next = s.inflight
		return sentOp{t: t, limit: t.limit, seq: s.seq, spent: s.spent, allow: s.allow, want: want, stamp: s.stamp}, true
	}
	return sentOp{}, false
}

// measure updates the demand rate (an average over windows of at least rateWindow) and
// reports whether it changed the lease.
func (c *Client) measure(s *state, ms int64) bool {
	if s.rateAt == 0 {
		s.rateAt, s.rateDem = ms, s.demand
		return true
	}
	el := ms - s.rateAt
	if el < rateWindow || (s.demand == s.rateDem && s.rate == 0) {
		return false // too early, or idle and known to be: nothing to write
	}
	r := (s.demand - s.rateDem) * 1_000_000 / el
	if s.rate == 0 {
		s.rate = r
	} else {
		s.rate = (s.rate + r) / 2
	}
	s.rateAt, s.rateDem = ms, s.demand
	return true
}

// want is the reservation to wish for: the demand over Lease, bounded; 0 when idle. Demand not
// measured yet (a window not complete) counts as well, so that the first report after the
// first requests already asks for a lease.
func (c *Client) want(s *state, t *tracked, ms int64) int64 {
	if ms-s.lastUse >= idleAfter(s) {
		return 0 // a pause this long is idle, not a slow decline
	}
	rate := s.rate
	if d := s.demand - s.rateDem; d > 0 {
		rate = max(rate, d*1000*int64(time.Second/time.Millisecond)/rateWindow)
	}
	if rate <= 0 {
		return 0
	}
	w := (rate*c.pol.Lease.Milliseconds() + 999_999) / 1_000_000
	w = min(max(w, c.pol.MinLease), c.pol.MaxLease)
	if t.kind == wire.Rate {
		w = min(w, t.limit)
	}
	return w
}

// nextLook is when Due must look at a limit again although nothing touched it.
func (c *Client) nextLook(s *state, ms, want, bal, keep int64) int64 {
	next := ms + idleLook // an idle limit that holds nothing to give back
	if want > 0 || bal > keep {
		next = ms + idleAfter(s) // to find out when it goes idle
	}
	if s.spent != s.reported {
		next = min(next, s.reportAt+c.pol.FlushEvery.Milliseconds())
	}
	if want > 0 && bal > 0 {
		next = min(next, s.deadline-c.pol.RenewBefore.Milliseconds())
	}
	if want > 0 && bal <= c.refillPoint(want) {
		next = min(next, max(s.quiet, s.until))
	}
	if s.periodEnd != 0 {
		next = min(next, s.periodEnd)
	}
	return max(next, ms+10)
}

// keep is what an idle limit keeps of its lease, so that a request now and then does not wait:
// MinLease, until the lease lapses at its deadline (it is not renewed); nothing near the end of a
// quota, where a token held idle would be refused to others.
func (c *Client) keep(s *state) int64 {
	if tail(s) {
		return 0
	}
	return c.pol.MinLease
}

// Answer takes the answer to a Call from Due: status 200 and its body, or status 0 when the
// call failed or timed out. After a fast failure it returns the call to send again.
func (c *Client) Answer(call *Call, status int, body []byte, now time.Time) *Call {
	ms := now.UnixMilli()
	ans, err := decode(status, body, len(call.ops))
	if err != nil {
		c.stats.StoreFailures++
		if c.retry(call, ms) {
			return call
		}
		c.markDown(ms)
		for _, op := range call.ops {
			c.abandon(op, now, ms)
		}
		return nil
	}
	c.markUp(ms)
	for i, op := range call.ops {
		c.apply(op, &ans.Ops[i], ans.Now, call.sent, now, ms)
	}
	return nil
}

// abandon ends a failed report: the limit may be reported again (after the backoff).
func (c *Client) abandon(op sentOp, now time.Time, ms int64) {
	sl := slot{t: op.t}
	for range maxAttempts {
		if c.load(&sl, now, ms) != nil || sl.s.seq != op.seq {
			return
		}
		sl.s.inflight = 0
		if err := c.write(&sl); !errors.Is(err, limit.ErrCASMismatch) {
			op.t.next = ms + c.pol.Backoff.Milliseconds()
			return
		}
	}
}

// apply keeps a report's answer in the lease, unless a later report took over. Times of the
// store become local times: a deadline counts from when the report was sent, so that it
// never outlasts the store's own expiry.
func (c *Client) apply(op sentOp, r *wire.Result, ansNow, sent int64, now time.Time, ms int64) {
	sl := slot{t: op.t}
	for range maxAttempts {
		if c.load(&sl, now, ms) != nil || sl.s.seq != op.seq {
			return
		}
		s := &sl.s
		s.inflight = 0
		if op.t.kind == wire.Quota && r.Stamp != s.stamp {
			// The store counts another period: this instance's count there starts from the
			// spend made since the report.
			s.stamp = r.Stamp
			s.spent = max(s.spent-op.spent, 0)
			s.reported, s.remSpent = 0, 0
		} else {
			s.reported, s.remSpent = op.spent, op.spent
		}
		s.reportAt = ms
		s.allow = r.Allow
		s.limit = op.limit
		s.deadline = sent + r.Expires - ansNow
		s.periodEnd = 0
		if r.End > 0 {
			s.periodEnd = sent + r.End - ansNow
		}
		s.until = 0
		if r.Until > 0 {
			s.until = ms + r.Until - ansNow
		}
		s.rem, s.remAt = r.Remaining, ms
		s.want = op.want
		granted := r.Allow - op.allow
		if op.want > op.allow-op.spent && granted <= 0 && r.Until == 0 {
			// Something is free but too little to lend (a quota's last tokens): do not ask
			// again at once. (An empty pool says itself when to ask: until.)
			s.quiet = ms + c.pol.Quiet.Milliseconds()
		}
		err := c.write(&sl)
		if errors.Is(err, limit.ErrCASMismatch) {
			continue
		}
		if err == nil && granted > 0 {
			c.stats.Leases++
			c.stats.TokensLeased += granted
		}
		op.t.next = ms
		return
	}
}

// Release gives back every balance this VM's limits hold and reports their spend: for a
// graceful stop of the Envoy (not for a configuration reload: the next configuration's
// client goes on with the same leases). Send the calls like Due's, best effort. Due has
// nothing more to send afterwards.
func (c *Client) Release(now time.Time) []*Call {
	c.released = true // a lease taken after this would stay unused until it expires
	ms := now.UnixMilli()
	var calls []*Call
	var call *Call
	for _, m := range [2]map[string]*tracked{c.rates, c.quotas} {
		for _, t := range m {
			sl := slot{t: t}
			for range maxAttempts {
				if c.load(&sl, now, ms) != nil {
					break
				}
				s := &sl.s
				give := max(s.allow-s.spent, 0)
				if give == 0 && s.spent == s.reported {
					break
				}
				s.allow -= give
				s.seq++
				s.inflight = ms + c.pol.Timeout.Milliseconds() + 100
				err := c.write(&sl)
				if errors.Is(err, limit.ErrCASMismatch) {
					continue
				}
				if err != nil {
					break
				}
				c.stats.TokensReturned += give
				if call == nil || len(call.ops) == wire.MaxOps {
					call = &Call{Timeout: c.pol.Timeout, sent: ms}
					calls = append(calls, call)
				}
				call.ops = append(call.ops, sentOp{t: t, limit: t.limit, seq: s.seq, spent: s.spent, allow: s.allow, stamp: s.stamp})
				break
			}
		}
	}
	for _, call := range calls {
		req := wire.Request{Instance: c.inst, TTL: c.pol.TTL.Milliseconds()}
		for _, op := range call.ops {
			req.Ops = append(req.Ops, wire.Op{Key: op.t.key, Kind: op.t.kind, Limit: op.limit,
				Period: uint8(op.t.period), Seq: op.seq, Stamp: op.stamp, Spent: op.spent, Allow: op.allow})
		}
		call.Body = wire.AppendRequest(nil, &req)
		c.stats.Reports++
	}
	return calls
}
