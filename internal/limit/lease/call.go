package lease

import (
	"errors"
	"strconv"
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/limit"
	"github.com/apigw-wasm/apigw-wasm/internal/limit/wire"
)

// Call is one HTTP call to the bridge: POST Path() with Body, to the configured cluster,
// waiting at most Timeout. Its answer (the status and body, or status 0 when the call failed
// or timed out) goes back to Resume (for a Pending) or Answer (for a call from Due).
type Call struct {
	Body    []byte
	Timeout time.Duration

	sent  int64 // ms of the first send: deadlines count from it
	tries int   // sends after the first
	ops   []sentOp
}

// Path is the bridge's endpoint.
func (*Call) Path() string { return wire.Path }

// sentOp is one limit of a report, as it was sent.
type sentOp struct {
	t                              *tracked
	limit                          int64
	seq, stamp, spent, allow, want int64
}

// Pending is a request waiting for the store.
type Pending struct {
	l      limit.Limits
	held   [4]bool // limits this request has spent from their leases already
	remote [4]bool // limits the store takes from
	call   Call
}

// Call is the call to send for the request.
func (p *Pending) Call() *Call { return &p.call }

func (c *Client) pending(sl *[4]slot, l *limit.Limits, now time.Time) *Pending {
	p := &Pending{l: *l}
	req := wire.Request{Instance: c.inst, TTL: c.pol.TTL.Milliseconds(), Take: true}
	for i := range sl {
		s := &sl[i]
		if !s.on() {
			continue
		}
		p.held[i] = s.held
		if s.class == remote {
			p.remote[i] = true
			req.Ops = append(req.Ops, wire.Op{Key: s.t.key, Kind: s.t.kind, Limit: s.t.limit,
				Period: uint8(s.t.period), Take: true})
		}
	}
	p.call = Call{Body: wire.AppendRequest(make([]byte, 0, 256), &req), Timeout: c.pol.Timeout, sent: now.UnixMilli()}
	return p
}

// errStatus is the failure of a call answered with another status than 200.
type errStatus int

func (e errStatus) Error() string {
	if e == 0 {
		return "lease: no answer from the store"
	}
	return "lease: the store answered status " + strconv.Itoa(int(e))
}

func decode(status int, body []byte, n int) (*wire.Answer, error) {
	if status != 200 {
		return nil, errStatus(status)
	}
	return wire.ParseAnswer(body, n)
}

// resends is how often a failed call may be sent again. Two: a bridge that dies takes the calls
// it was serving with it, and Envoy's balancer may pick it once more before its health check
// or outlier detection takes it out of the rotation.
const resends = 2

// retry reports whether a failed call is worth sending again: it failed fast (a bridge that is
// gone refuses at once; the cluster's next pick is another one) and half the time budget is
// left. The call's Timeout becomes what is left.
func (c *Client) retry(call *Call, ms int64) bool {
	el := time.Duration(ms-call.sent) * time.Millisecond
	if call.tries >= resends || el >= c.pol.Timeout/2 {
		return false
	}
	call.tries++
	call.Timeout = c.pol.Timeout - el
	return true
}

// Resume decides a request that waited for the store, with the call's answer: status 200 and
// its body, or status 0 when the call failed or timed out. The Result may ask to wait again
// (the same Pending, to send again) after a fast failure.
func (c *Client) Resume(p *Pending, status int, body []byte, now time.Time) Result {
	ms := now.UnixMilli()
	var sl [4]slot
	c.prepare(&sl, &p.l)
	n := 0
	for i := range sl {
		if !sl[i].on() {
			continue
		}
		sl[i].held = p.held[i]
		sl[i].class = local
		if p.remote[i] {
			sl[i].class = remote
			n++
		}
		if c.load(&sl[i], now, ms) != nil {
			sl[i].class = over
		}
	}
	ans, err := decode(status, body, n)
	if err != nil {
		c.stats.StoreFailures++
		if c.retry(&p.call, ms) {
			return Result{Outcome: c.outcome(&sl, ms), Wait: p}
		}
		c.markDown(ms)
		return c.failed(&sl, now, ms)
	}
	c.markUp(ms)
	j := 0
	for i := range sl {
		s := &sl[i]
		if !s.on() || !p.remote[i] {
			continue
		}
		r := &ans.Ops[j]
		j++
		c.learn(s, r, ans.Now, now, ms)
		if r.Over {
			s.class = over
		}
	}
	if !ans.OK {
		c.unspend(&sl, now, ms)
		for i := range sl {
			if sl[i].class != over {
				sl[i].class = remote // not refused by its own limit
			}
		}
		return c.refused(&sl, ms)
	}
	c.touch(&sl, ms)
	return Result{Outcome: c.outcome(&sl, ms), Sync: true}
}

// learn keeps what a take's answer says of a limit: its remaining count and until when it has
// nothing; the request counts as demand.
func (c *Client) learn(s *slot, r *wire.Result, ansNow int64, now time.Time, ms int64) {
	for range maxAttempts {
		s.s.rem, s.s.remSpent, s.s.remAt = r.Remaining, s.s.reported, ms
		s.s.until = 0
		if r.Until > 0 {
			s.s.until = ms + r.Until - ansNow
		}
		s.s.demand++
		s.s.lastUse = ms
		err := c.write(s)
		if !errors.Is(err, limit.ErrCASMismatch) || c.load(s, now, ms) != nil {
			return
		}
	}
}

// failed decides a request that needed the store when the store failed: on_store_failure.
func (c *Client) failed(sl *[4]slot, now time.Time, ms int64) Result {
	c.touch(sl, ms)
	if c.mode == Deny {
		c.unspend(sl, now, ms)
		c.stats.Denied++
		return Result{Outcome: c.outcome(sl, ms), Deny: true, Sync: true}
	}
	for i := range sl {
		if sl[i].on() && sl[i].class == remote {
			sl[i].class = fallback
		}
	}
	if !c.spend(sl, now, ms) {
		for i := range sl {
			if sl[i].on() && sl[i].class == fallback {
				sl[i].class = over // the shared data failed: closed
			}
		}
		return c.refused(sl, ms)
	}
	if i := refusedBy(sl); i >= 0 {
		c.unspend(sl, now, ms)
		sl[i].class = over
		return c.refused(sl, ms)
	}
	return Result{Outcome: c.outcome(sl, ms), Sync: true}
}
