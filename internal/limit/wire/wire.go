// Package wire is the one encoding of the lease protocol between the gateway module (package
// lease) and the bridge in front of Redis (cmd/apigw-limitd): a JSON request that carries one
// Envoy instance's reports, lease wishes and takes for a batch of limits, and the JSON answer
// of the store for each of them. Both sides use this package, so they cannot disagree. The
// encoders write with strconv by hand (no reflection, few allocations in the module); the
// decoders read with gjson and check every field's presence, type and range: an answer that is
// not exactly what the protocol allows is an error, never a panic or a guess.
package wire

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// Path is the bridge's endpoint for Requests (POST, JSON body).
const Path = "/v1/limits"

// Version is the protocol version both sides write as "v"; a message of another version is
// refused.
const Version = 1

// Bounds of the protocol, checked by the decoders.
const (
	MaxOps    = 64                    // operations per request
	MaxKeyLen = 256                   // bytes of a limit key
	MaxInstID = 64                    // bytes of an instance id
	MaxCount  = 1<<53 - 1             // counts and times: exact in the store's Lua numbers
	MaxLimit  = 1_000_000_000_000_000 // the configuration's largest limit (1e15)
	MinTTL    = 100                   // ms
	MaxTTL    = 3_600_000             // ms
)

// Kind is what a limit counts.
type Kind byte

const (
	Rate  Kind = 'r' // a token bucket of capacity Limit refilled at Limit per second
	Quota Kind = 'q' // at most Limit per Period
)

// Request is one call from an Envoy instance to the store.
type Request struct {
	Instance string // the Envoy instance (one per Envoy process)
	TTL      int64  // ms: how long a reservation granted now stays valid without renewal
	// Take asks for one token from every op whose Take is set, all or none.
	Take bool
	Ops  []Op
}

// Op is one limit in a Request.
type Op struct {
	Key    string // the limit's key (package limit); the store prefixes it
	Kind   Kind
	Limit  int64 // the configured limit, >= 0
	Period uint8 // quotas: 0 total, 1 day, 2 month (limit.Period)
	// Seq > 0 makes the op a report: Spent and Allow are the instance's cumulative spend and
	// allowance in the period Stamp names, and Want is the reservation it wishes to hold.
	// The store applies a report only if Seq is above the last one it applied, so a report
	// sent twice or late counts once. Seq 0: no report, no grant.
	Seq   int64
	Stamp int64
	Spent int64
	Allow int64
	Want  int64
	Take  bool
}

// Answer is the store's reply to a Request.
type Answer struct {
	Now int64 // the store's clock, Unix ms
	OK  bool  // the takes were made (true when the Request took nothing)
	Ops []Result
}

// Result is the store's state of one op's limit after the Request, in the store's clock.
type Result struct {
	Stamp     int64 // the period the counts are in (quotas)
	Allow     int64 // the instance's cumulative allowance in that period
	Remaining int64 // cluster-wide: quota limit - used; rate: whole tokens in bucket and leases
	End       int64 // Unix ms the period ends; 0: never
	Expires   int64 // Unix ms the instance's reservation expires
	Until     int64 // Unix ms until which nothing is left to grant or take; 0: something is
	Over      bool  // this op's take was refused
}

// AppendRequest appends r as JSON to dst.
func AppendRequest(dst []byte, r *Request) []byte {
	dst = append(dst, `{"v":`...)
	dst = strconv.AppendInt(dst, Version, 10)
	dst = append(dst, `,"inst":`...)
	dst = appendString(dst, r.Instance)
	dst = appendInt(dst, `,"ttl":`, r.TTL)
	dst = appendBool(dst, `,"take":`, r.Take)
	dst = append(dst, `,"ops":[`...)
	for i := range r.Ops {
		op := &r.Ops[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"key":`...)
		dst = appendString(dst, WireKey(op.Key))
		dst = append(dst, `,"kind":"`...)
		dst = append(dst, byte(op.Kind), '"')
		dst = appendInt(dst, `,"limit":`, op.Limit)
		dst = appendInt(dst, `,"period":`, int64(op.Period))
		dst = appendInt(dst, `,"seq":`, op.Seq)
		dst = appendInt(dst, `,"stamp":`, op.Stamp)
		dst = appendInt(dst, `,"spent":`, op.Spent)
		dst = appendInt(dst, `,"allow":`, op.Allow)
		dst = appendInt(dst, `,"want":`, op.Want)
		dst = appendBool(dst, `,"take":`, op.Take)
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

// AppendAnswer appends a as JSON to dst.
func AppendAnswer(dst []byte, a *Answer) []byte {
	dst = append(dst, `{"v":`...)
	dst = strconv.AppendInt(dst, Version, 10)
	dst = appendInt(dst, `,"now":`, a.Now)
	dst = appendBool(dst, `,"ok":`, a.OK)
	dst = append(dst, `,"ops":[`...)
	for i := range a.Ops {
		r := &a.Ops[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendInt(dst, `{"stamp":`, r.Stamp)
		dst = appendInt(dst, `,"allow":`, r.Allow)
		dst = appendInt(dst, `,"rem":`, r.Remaining)
		dst = appendInt(dst, `,"end":`, r.End)
		dst = appendInt(dst, `,"exp":`, r.Expires)
		dst = appendInt(dst, `,"until":`, r.Until)
		dst = appendBool(dst, `,"over":`, r.Over)
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

// WireKey is the key as the store sees it: the key itself when it is valid UTF-8 (every key
// the configuration can make), else a digest of it, so that JSON carries it unchanged.
func WireKey(key string) string {
	if utf8.ValidString(key) {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "apigw|x#" + base64.RawURLEncoding.EncodeToString(sum[:16])
}

func appendInt(dst []byte, name string, v int64) []byte {
	return strconv.AppendInt(append(dst, name...), v, 10)
}

func appendBool(dst []byte, name string, v bool) []byte {
	return strconv.AppendBool(append(dst, name...), v)
}

// appendString writes s, valid UTF-8, as a JSON string.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// Errors of the decoders. A decoding error wraps ErrMalformed.
var ErrMalformed = errors.New("wire: malformed message")

type fieldError struct {
	field, problem string
}

func (e *fieldError) Error() string {
	return "wire: " + e.field + ": " + e.problem
}

func (e *fieldError) Unwrap() error { return ErrMalformed }

func bad(field, problem string) error { return &fieldError{field, problem} }

// ParseRequest decodes and checks a Request. It never returns a partly filled Request.
func ParseRequest(b []byte) (*Request, error) {
	root, err := open(b)
	if err != nil {
		return nil, err
	}
	r := &Request{}
	inst := root.Get("inst")
	if inst.Type != gjson.String || inst.Str == "" || len(inst.Str) > MaxInstID || !idChars(inst.Str) {
		return nil, bad("inst", "must be 1 to 64 letters, digits, '-' or '_'")
	}
	r.Instance = inst.Str
	if r.TTL, err = integer(root, "ttl", MinTTL, MaxTTL); err != nil {
		return nil, err
	}
	if r.Take, err = boolean(root, "take"); err != nil {
		return nil, err
	}
	ops, err := array(root, "ops")
	if err != nil {
		return nil, err
	}
	r.Ops = make([]Op, len(ops))
	for i, o := range ops {
		op := &r.Ops[i]
		if o.Type != gjson.JSON || !o.IsObject() {
			return nil, bad("ops", "must hold objects")
		}
		k := o.Get("key")
		if k.Type != gjson.String || k.Str == "" || len(k.Str) > MaxKeyLen {
			return nil, bad("key", "must be a string of 1 to 256 bytes")
		}
		op.Key = k.Str
		switch kind := o.Get("kind"); {
		case kind.Type == gjson.String && kind.Str == "r":
			op.Kind = Rate
		case kind.Type == gjson.String && kind.Str == "q":
			op.Kind = Quota
		default:
			return nil, bad("kind", `must be "r" or "q"`)
		}
		var p int64
		for _, f := range []struct {
			name    string
			dst     *int64
			min, mx int64
		}{
			{"limit", &op.Limit, 0, MaxLimit},
			{"period", &p, 0, 2},
			{"seq", &op.Seq, 0, MaxCount},
			{"stamp", &op.Stamp, 0, 1<<32 - 1},
			{"spent", &op.Spent, 0, MaxCount},
			{"allow", &op.Allow, 0, MaxCount},
			{"want", &op.Want, 0, MaxCount},
		} {
			if *f.dst, err = integer(o, f.name, f.min, f.mx); err != nil {
				return nil, err
			}
		}
		op.Period = uint8(p)
		if op.Take, err = boolean(o, "take"); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// ParseAnswer decodes and checks an Answer to a Request of n ops. It never returns a partly
// filled Answer.
func ParseAnswer(b []byte, n int) (*Answer, error) {
	root, err := open(b)
	if err != nil {
		return nil, err
	}
	a := &Answer{}
	if a.Now, err = integer(root, "now", 1, MaxCount); err != nil {
		return nil, err
	}
	if a.OK, err = boolean(root, "ok"); err != nil {
		return nil, err
	}
	ops, err := array(root, "ops")
	if err != nil {
		return nil, err
	}
	if len(ops) != n {
		return nil, bad("ops", "answers "+strconv.Itoa(len(ops))+" operations, not "+strconv.Itoa(n))
	}
	a.Ops = make([]Result, n)
	for i, o := range ops {
		r := &a.Ops[i]
		if o.Type != gjson.JSON || !o.IsObject() {
			return nil, bad("ops", "must hold objects")
		}
		for _, f := range []struct {
			name string
			dst  *int64
		}{
			{"stamp", &r.Stamp}, {"allow", &r.Allow}, {"rem", &r.Remaining},
			{"end", &r.End}, {"exp", &r.Expires}, {"until", &r.Until},
		} {
			if *f.dst, err = integer(o, f.name, 0, MaxCount); err != nil {
				return nil, err
			}
		}
		if r.Over, err = boolean(o, "over"); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func open(b []byte) (gjson.Result, error) {
	if !gjson.ValidBytes(b) {
		return gjson.Result{}, bad("message", "not valid JSON")
	}
	root := gjson.ParseBytes(b)
	if !root.IsObject() {
		return gjson.Result{}, bad("message", "not a JSON object")
	}
	v := root.Get("v")
	if v.Type != gjson.Number || v.Raw != strconv.Itoa(Version) {
		return gjson.Result{}, bad("v", "must be "+strconv.Itoa(Version))
	}
	return root, nil
}

// integer reads a whole number written without fraction or exponent, within [lo, hi].
func integer(o gjson.Result, name string, lo, hi int64) (int64, error) {
	f := o.Get(name)
	if f.Type != gjson.Number {
		return 0, bad(name, "must be a whole number")
	}
	v, err := strconv.ParseInt(f.Raw, 10, 64)
	if err != nil || v < lo || v > hi {
		return 0, bad(name, "must be a whole number from "+strconv.FormatInt(lo, 10)+" to "+strconv.FormatInt(hi, 10))
	}
	return v, nil
}

func boolean(o gjson.Result, name string) (bool, error) {
	switch f := o.Get(name); f.Type {
	case gjson.True:
		return true, nil
	case gjson.False:
		return false, nil
	}
	return false, bad(name, "must be true or false")
}

func array(o gjson.Result, name string) ([]gjson.Result, error) {
	f := o.Get(name)
	if !f.IsArray() {
		return nil, bad(name, "must be an array")
	}
	items := f.Array()
	if len(items) > MaxOps {
		return nil, bad(name, "holds more than "+strconv.Itoa(MaxOps)+" operations")
	}
	return items, nil
}

func idChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
