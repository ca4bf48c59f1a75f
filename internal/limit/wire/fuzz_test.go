package wire

import (
	"errors"
	"testing"
)

// FuzzParseAnswer: whatever the bridge (or anything in its place) answers, the decoder returns
// either a complete, in-range Answer of the asked length or an ErrMalformed, never panics.
func FuzzParseAnswer(f *testing.F) {
	f.Add(AppendAnswer(nil, &sampleAnswer), 2)
	f.Add([]byte(`{"v":1,"now":1,"ok":true,"ops":[]}`), 0)
	f.Add([]byte(`{"v":1,"now":1,"ok":true,"ops":[{"stamp":0,"allow":0,"rem":0,"end":0,"exp":0,"until":0,"over":false}]}`), 1)
	f.Add([]byte(`upstream connect error or disconnect/reset before headers`), 1)
	f.Add([]byte(`{"v":1,"now":1e3,"ok":true,"ops":[{"stamp":-0,"allow":"1"}]}`), 1)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		n &= 127
		a, err := ParseAnswer(b, n)
		if err != nil {
			if a != nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v with answer %v", err, a)
			}
			return
		}
		if len(a.Ops) != n || a.Now < 1 || a.Now > MaxCount {
			t.Fatalf("accepted %+v for %d ops", a, n)
		}
		for _, r := range a.Ops {
			for _, v := range []int64{r.Stamp, r.Allow, r.Remaining, r.End, r.Expires, r.Until} {
				if v < 0 || v > MaxCount {
					t.Fatalf("accepted out-of-range %+v", r)
				}
			}
		}
		// What was accepted encodes and decodes to itself.
		again, err := ParseAnswer(AppendAnswer(nil, a), n)
		if err != nil || len(again.Ops) != n || again.Now != a.Now || again.OK != a.OK {
			t.Fatalf("re-encoding %+v: %+v, %v", a, again, err)
		}
		for i := range a.Ops {
			if again.Ops[i] != a.Ops[i] {
				t.Fatalf("re-encoding op %d: %+v, want %+v", i, again.Ops[i], a.Ops[i])
			}
		}
	})
}

// FuzzParseRequest: the bridge's decoder refuses or accepts in range, never panics.
func FuzzParseRequest(f *testing.F) {
	f.Add(AppendRequest(nil, &sampleRequest))
	f.Add([]byte(`{"v":1,"inst":"a","ttl":100,"take":false,"ops":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRequest(b)
		if err != nil {
			if r != nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v with request %v", err, r)
			}
			return
		}
		if len(r.Ops) > MaxOps || r.TTL < MinTTL || r.TTL > MaxTTL || r.Instance == "" {
			t.Fatalf("accepted %+v", r)
		}
		for _, op := range r.Ops {
			if op.Key == "" || len(op.Key) > MaxKeyLen || (op.Kind != Rate && op.Kind != Quota) ||
				op.Limit < 0 || op.Limit > MaxLimit || op.Period > 2 {
				t.Fatalf("accepted %+v", op)
			}
		}
	})
}
