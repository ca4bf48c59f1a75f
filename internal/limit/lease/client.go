// Package lease is the Envoy side of the cluster-wide limits (docs/limits.md): the limits of
// package limit counted once for every Envoy that shares a store (Redis, behind the bridge
// cmd/apigw-limitd), without a round trip per request.
//
// Each Envoy instance holds, per limit, a lease in shared data (limit.Store, one map for all its
// worker VMs): an allowance it may spend without asking, granted by the store in batches sized
// from the measured demand, and refilled before it runs dry. Requests spend it with a
// compare-and-swap, as the local limiter does. Only when a limit has no balance left (the last
// tokens of a quota, an empty rate bucket, the first request) does a request wait for the
// store: Take answers with a Call to send and Resume takes its answer. On a timer and after
// requests, the root context asks Due for the report to send (spend so far, allowance kept,
// reservation wished) and gives its answer to Answer. A failing store is handled by the
// on_store_failure mode: keep limiting with this Envoy's own limits and count the spend as
// debt, written back when the store returns, or refuse what needs the store.
//
// A Client belongs to one VM (one goroutine); its VMs share the Envoy's store and instance id.
package lease

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/limit"
	"github.com/apigw-wasm/apigw-wasm/internal/limit/wire"
	"github.com/apigw-wasm/apigw-wasm/internal/reply"
)

// Mode is the configuration's on_store_failure.
type Mode uint8

const (
	// Local keeps limiting with the configured limits per Envoy (rates: its own token bucket;
	// quotas: the remaining count of the last answer) and writes the spend back later.
	Local Mode = iota
	// Deny refuses requests that need the store; a lease already held is still spent.
	Deny
)

// ParseMode maps "local" and "deny" to a Mode.
func ParseMode(s string) (Mode, bool) {
	switch s {
	case "local":
		return Local, true
	case "deny":
		return Deny, true
	}
	return 0, false
}

// Policy sizes leases and paces the calls. docs/limits.md explains each default and the
// measurement behind it.
type Policy struct {
	// Lease: a reservation covers this long of the measured demand...
	Lease time.Duration
	// RefillAt: ...and is refilled when the balance falls to this fraction of it.
	RefillAt float64
	// MinLease and MaxLease bound a reservation (MaxLease also bounds nothing below a rate).
	MinLease, MaxLease int64
	// TTL is how long the store keeps a reservation that is not renewed, and how long this
	// Envoy trusts one after it sent the report that renewed it.
	TTL time.Duration
	// RenewBefore: a reservation with a balance is renewed this long before its deadline.
	RenewBefore time.Duration
	// FlushEvery: spend is reported at least this often (what a crash can lose).
	FlushEvery time.Duration
	// Quiet: after a report that wished for tokens and got none, the next one waits this long.
	Quiet time.Duration
	// Backoff: after a failure, requests do not wait for the store for this long.
	Backoff time.Duration
	// Timeout is the configuration's timeout_ms: no call, and so no request, waits longer.
	Timeout time.Duration
}

// DefaultPolicy is the measured policy (docs/limits.md).
var DefaultPolicy = Policy{
	Lease:       time.Second,
	RefillAt:    0.5,
	MinLease:    1,
	MaxLease:    1 << 20,
	TTL:         10 * time.Second,
	RenewBefore: 3 * time.Second,
	FlushEvery:  time.Second,
	Quiet:       250 * time.Millisecond,
	Backoff:     time.Second,
	Timeout:     100 * time.Millisecond,
}

// maxAttempts bounds every compare-and-swap loop, as in package limit.
const maxAttempts = 64

// Client is one VM's side of the cluster-wide limits. It is not safe for concurrent use: a
// VM runs one callback at a time.
type Client struct {
	store limit.Store
	inst  string
	pol   Policy
	mode  Mode

	rates, quotas map[string]*tracked // the limits this VM has seen, for Due
	last          [4]*tracked         // per slot, the last limit seen: requests repeat them
	released      bool                // Release ran: no more leases for this VM
	stats         Stats
	scratch       [stateSize]byte
}

// tracked is a limit this VM has seen.
type tracked struct {
	kind    wire.Kind
	key     string // package limit's key
	skey    string // the lease's shared-data key
	limit   int64
	period  limit.Period
	touched bool  // spent or asked since Due looked
	next    int64 // Due looks again then even if untouched
}

// Stats are the counters the plugin exports (docs/limits.md, Metrics).
type Stats struct {
	Reports        int64 // reports sent
	Leases         int64 // answers that granted tokens
	TokensLeased   int64
	TokensReturned int64 // given back because the demand fell, or at Release
	StoreFailures  int64 // calls that failed: no answer in time, an error status, a bad answer
	Waited         int64 // requests that waited for the store
	Debt           int64 // tokens spent beyond the allowance while the store failed
	Denied         int64 // requests refused by on_store_failure "deny"
	OutageMillis   int64 // time the store was failing, counted when it comes back
}

// NewClient returns a VM's client over store, the Envoy's shared data. The Envoy's instance id
// is created once, by the first VM, and read by the others.
func NewClient(store limit.Store, pol Policy, mode Mode) (*Client, error) {
	inst, err := instanceID(store)
	if err != nil {
		return nil, err
	}
	return &Client{store: store, inst: inst, pol: pol, mode: mode,
		rates: map[string]*tracked{}, quotas: map[string]*tracked{}}, nil
}

// Instance is the Envoy's instance id, as the store knows it.
func (c *Client) Instance() string { return c.inst }

// TakeStats returns the counters since the last call and starts them again.
func (c *Client) TakeStats() Stats {
	s := c.stats
	c.stats = Stats{}
	return s
}

func instanceID(s limit.Store) (string, error) {
	for range maxAttempts {
		v, _, found, err := s.Get(instanceKey)
		if err != nil {
			return "", err
		}
		if found && len(v) > 0 {
			return string(v), nil
		}
		var b [8]byte
		rand.Read(b[:])
		cas, err := limit.FreshCAS(s)
		if err != nil {
			return "", err
		}
		err = s.Set(instanceKey, []byte(hex.EncodeToString(b[:])), cas)
		if err != nil && !errors.Is(err, limit.ErrCASMismatch) {
			return "", err
		}
	}
	return "", errors.New("lease: no instance id after many attempts")
}

// Result is the outcome of Take and Resume.
type Result struct {
	Outcome limit.Outcome // the limit headers
	// Err is reply.RateLimitExceeded or reply.QuotaExceeded when a limit refused the request.
	Err *reply.Error
	// Deny: on_store_failure "deny" refuses the request (the store is needed and failing).
	Deny bool
	// Wait: send Wait.Call() to the bridge, keep the request paused, and give the answer to
	// Resume (status 0 and no body when the call failed or timed out).
	Wait *Pending
	// Sync: a lease needs the store: call Due from the root context soon.
	Sync bool
}

var (
	errRate      = reply.New(reply.RateLimitExceeded, "")
	errQuota     = reply.New(reply.QuotaExceeded, "")
	unlimitedOut = limit.Outcome{Service: limit.Usage{Limit: -1}, API: limit.Usage{Limit: -1},
		Plan: limit.Usage{Limit: -1}, Quota: limit.Usage{Limit: -1}}
)

// What a limit needs for a request.
const (
	local    uint8 = iota // its balance pays
	over                  // the store said it has nothing until later: refused here
	remote                // the store must take
	fallback              // the store is failing: this Envoy's own limits decide
)

// slot is one limit while a request is decided.
type slot struct {
	t      *tracked
	class  uint8
	found  bool
	cas    uint32
	s      state
	held   bool // spent by this request
	report bool // refused, and a report should fetch what refilled
}

// rateRefill (ms) is how long a rate's "empty" answer keeps requests from asking the store
// themselves: a bucket is full again after a second.
const rateRefill = 1000

func (sl *slot) on() bool { return sl.t != nil }

// prepare finds (or starts tracking) the request's limits.
func (c *Client) prepare(sl *[4]slot, l *limit.Limits) {
	rates := [3]*limit.Rate{&l.Service, &l.API, &l.Plan}
	for i, r := range rates {
		sl[i] = slot{}
		if r.Key != "" && r.Limit >= 0 {
			sl[i].t = c.track(i, wire.Rate, r.Key, r.Limit, limit.Total)
		}
	}
	sl[3] = slot{}
	if q := &l.Quota; q.Key != "" && q.Limit >= 0 {
		sl[3].t = c.track(3, wire.Quota, q.Key, q.Limit, q.Period)
	}
}

// track returns the tracked limit of key, for slot i of a request.
func (c *Client) track(i int, kind wire.Kind, key string, lim int64, p limit.Period) *tracked {
	t := c.last[i]
	if t == nil || t.key != key {
		m := c.rates
		if kind == wire.Quota {
			m = c.quotas
		}
		if t = m[key]; t == nil {
			t = &tracked{kind: kind, key: key, skey: stateKey(kind, key)}
			m[key] = t
		}
		c.last[i] = t
	}
	t.limit, t.period = lim, p
	return t
}

// load reads a slot's lease and brings it to now.
func (c *Client) load(sl *slot, now time.Time, ms int64) error {
	v, cas, found, err := c.store.Get(sl.t.skey)
	if err != nil {
		return err
	}
	sl.found, sl.cas = found, cas
	if !sl.s.decode(v) {
		sl.s = fresh(sl.t.kind, sl.t.limit, sl.t.period, now)
	}
	sl.s.roll(sl.t.kind, sl.t.period, now, ms)
	return nil
}

// write stores a slot's lease with compare-and-swap.
func (c *Client) write(sl *slot) error {
	cas := sl.cas
	if !sl.found {
		var err error
		if cas, err = limit.FreshCAS(c.store); err != nil {
			return err
		}
	}
	return c.store.Set(sl.t.skey, sl.s.encode(&c.scratch), cas)
}

// loadClassified loads a slot's lease and says what the limit needs; a shared data that fails
// makes the limit fail closed, as in package limit.
func (c *Client) loadClassified(sl *slot, now time.Time, ms int64) {
	if c.load(sl, now, ms) != nil {
		sl.class = over
		return
	}
	c.classify(sl, ms)
}

func (c *Client) classify(sl *slot, ms int64) {
	lim := sl.t.limit
	s := &sl.s
	switch {
	case s.balance(lim, ms) > 0:
		sl.class = local
	case s.limit == lim && ms < s.until:
		sl.class = over
	case sl.t.kind == wire.Rate && s.limit == lim && s.until != 0 && ms < s.until+rateRefill:
		// The bucket was empty a moment ago: what refills since goes to leases, taken by a
		// report (sent now if none is on its way), not request by request. Under a flood the
		// store then sees reports, not the flood.
		sl.class = over
		sl.report = s.inflight <= ms
	default:
		sl.class = remote
	}
}

// Take decides a request at now: taken here from the leases, refused, or to be sent to the
// store (Result.Wait). As limit.Take, it checks every limit before taking any, and a request
// refused takes nothing.
func (c *Client) Take(l *limit.Limits, now time.Time) Result {
	if !l.Apply() {
		return Result{Outcome: unlimitedOut}
	}
	ms := now.UnixMilli()
	var sl [4]slot
	c.prepare(&sl, l)
	for range maxAttempts {
		var refuse, needStore bool
		for i := range sl {
			if !sl[i].on() {
				continue
			}
			c.loadClassified(&sl[i], now, ms)
			refuse = refuse || sl[i].class == over
			needStore = needStore || sl[i].class == remote
		}
		if refuse {
			return c.refused(&sl, ms)
		}
		if needStore && !c.mayWait(ms) {
			if c.mode == Deny {
				c.touch(&sl, ms)
				c.stats.Denied++
				return Result{Outcome: c.outcome(&sl, ms), Deny: true, Sync: true}
			}
			for i := range sl {
				if sl[i].on() && sl[i].class == remote {
					sl[i].class = fallback
				}
			}
			needStore = false
		}
		if !c.spend(&sl, now, ms) {
			continue // a balance ran out meanwhile: decide again
		}
		due := c.touch(&sl, ms)
		if needStore {
			c.stats.Waited++
			return Result{Outcome: c.outcome(&sl, ms), Wait: c.pending(&sl, l, now), Sync: true}
		}
		if i := refusedBy(&sl); i >= 0 { // a fallback limit refused
			c.unspend(&sl, now, ms)
			sl[i].class = over
			return c.refused(&sl, ms)
		}
		return Result{Outcome: c.outcome(&sl, ms), Sync: due}
	}
	// Compare-and-swap kept losing: fail closed, as the local limiter does.
	for i := range sl {
		if sl[i].on() {
			sl[i].class = over
		}
	}
	return c.refused(&sl, ms)
}

// mayWait reports whether a request may wait for the store: not while it is failing, but one
// request per backoff probes it.
func (c *Client) mayWait(ms int64) bool {
	h, _, err := c.loadHealth()
	if err != nil {
		return false
	}
	if h.down == 0 {
		return true
	}
	if ms < h.retry {
		return false
	}
	// Probe: the VM that moves the retry time forward waits; the others do not.
	_, ok := c.setHealth(func(h *health) bool {
		if ms < h.retry {
			return false
		}
		h.retry = ms + c.pol.Backoff.Milliseconds()
		return true
	})
	return ok
}

// spend takes one token from every local and fallback limit, the quota last. A fallback limit
// that refuses is marked (fbRefused) and left untaken; the caller refuses the request. It
// reports false when a balance ran out under a concurrent request: nothing is taken then.
func (c *Client) spend(sl *[4]slot, now time.Time, ms int64) bool {
	for i := range sl {
		s := &sl[i]
		if !s.on() || s.held || (s.class != local && s.class != fallback) {
			continue
		}
		ok := false
		for range maxAttempts {
			if s.class == local && s.s.balance(s.t.limit, ms) <= 0 {
				break
			}
			if s.class == fallback && !c.fallbackAllows(s, ms) {
				s.class = fbRefused
				ok = true
				break
			}
			s.s.spent++
			s.s.demand++
			s.s.lastUse = ms
			if s.class == fallback {
				c.fallbackTake(&s.s, s.t, ms)
			}
			err := c.write(s)
			if err == nil {
				s.held, ok = true, true
				if s.class == fallback && s.s.spent > s.s.allow {
					c.stats.Debt++
				}
				break
			}
			// Lost to another writer: decide on the value it wrote. (Any other failure ends
			// the loop; Take then reads every lease again.)
			if !errors.Is(err, limit.ErrCASMismatch) || c.load(s, now, ms) != nil {
				break
			}
		}
		if !ok {
			c.unspend(sl, now, ms)
			return false
		}
	}
	return true
}

// fbRefused marks a fallback limit that refused the request.
const fbRefused uint8 = 9

func refusedBy(sl *[4]slot) int {
	for i := range sl {
		if sl[i].on() && sl[i].class == fbRefused {
			return i
		}
	}
	return -1
}

// unspend gives back what spend took. Spent counts are reported as absolute values, so a
// count that was reported before it was given back is corrected by the next report.
func (c *Client) unspend(sl *[4]slot, now time.Time, ms int64) {
	for i := range sl {
		s := &sl[i]
		if !s.on() || !s.held {
			continue
		}
		for range maxAttempts {
			if c.load(s, now, ms) != nil {
				break
			}
			s.s.spent--
			if s.class == fallback {
				s.s.fbLevel = min(s.s.fbLevel+1000, fbCapacity(s.t.limit))
			}
			err := c.write(s)
			if err == nil || !errors.Is(err, limit.ErrCASMismatch) {
				break
			}
		}
		s.held = false
	}
}

// The outage fallback of a rate is the Envoy's own token bucket of its configured limit, in
// thousandths of a token refilled at the limit per second; of a quota, the remaining count of
// the last answer less this Envoy's spend since.
func fbCapacity(lim int64) int64 { return min(lim, 1_000_000_000) * 1000 }

func (c *Client) fallbackAllows(s *slot, ms int64) bool {
	if s.t.kind == wire.Quota {
		return s.s.remaining(wire.Quota, s.t.limit, ms) > 0
	}
	return fbLevel(&s.s, s.t.limit, ms) >= 1000
}

func fbLevel(s *state, lim, ms int64) int64 {
	capa := fbCapacity(lim)
	if s.fbAt == 0 {
		return capa
	}
	el := ms - s.fbAt
	if el <= 0 {
		return min(s.fbLevel, capa)
	}
	if el >= 1000 {
		return capa
	}
	return min(s.fbLevel+min(lim, 1_000_000_000)*el, capa)
}

func (c *Client) fallbackTake(s *state, t *tracked, ms int64) {
	if t.kind == wire.Rate {
		s.fbLevel = fbLevel(s, t.limit, ms) - 1000
		s.fbAt = ms
	}
}

// touch marks the request's limits for Due and reports whether one needs the store soon: a
// balance at its refill point, or a lease not valid.
func (c *Client) touch(sl *[4]slot, ms int64) bool {
	due := false
	for i := range sl {
		s := &sl[i]
		if !s.on() {
			continue
		}
		s.t.touched = true
		if !s.s.valid(s.t.limit, ms) || s.s.balance(s.t.limit, ms) <= c.refillPoint(s.s.want) {
			due = true
		}
	}
	return due
}

func (c *Client) refillPoint(want int64) int64 {
	return int64(float64(want) * c.pol.RefillAt)
}

// refused is the answer for a request a limit refuses; nothing is taken.
func (c *Client) refused(sl *[4]slot, ms int64) Result {
	r := Result{Outcome: c.outcome(sl, ms), Err: errQuota}
	for i := 0; i < 3; i++ {
		if sl[i].on() && sl[i].class == over {
			r.Err = errRate
		}
		if sl[i].report {
			sl[i].t.touched = true
			r.Sync = true
		}
	}
	return r
}

// outcome is what the headers show: the cluster-wide remaining count as the last answer
// gave it, less this instance's spend since; 0 for a limit that refused.
func (c *Client) outcome(sl *[4]slot, ms int64) limit.Outcome {
	var u [4]limit.Usage
	for i := range sl {
		s := &sl[i]
		u[i].Limit = -1
		if !s.on() {
			continue
		}
		u[i].Limit = s.t.limit
		if s.class != over {
			u[i].Remaining = s.s.remaining(s.t.kind, s.t.limit, ms)
		}
	}
	return limit.Outcome{Service: u[0], API: u[1], Plan: u[2], Quota: u[3]}
}

// Peek is Take without taking, for the headers of a response refused before the limits.
func (c *Client) Peek(l *limit.Limits, now time.Time) limit.Outcome {
	if !l.Apply() {
		return unlimitedOut
	}
	ms := now.UnixMilli()
	var sl [4]slot
	c.prepare(&sl, l)
	for i := range sl {
		if !sl[i].on() {
			continue
		}
		c.loadClassified(&sl[i], now, ms)
	}
	return c.outcome(&sl, ms)
}
