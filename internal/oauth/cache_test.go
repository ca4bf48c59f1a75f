package oauth

import (
	"sync"
	"testing"
	"time"
)

func TestVerifyCache(t *testing.T) {
	f := fixtures()
	k := mustKey(t, jwkOf(&f.p256.PublicKey, nil))
	now := testNow.Unix()
	tok := sign(t, "ES256", f.p256, `{"alg":"ES256"}`, claimsJSON(map[string]any{"nbf": now - 100, "exp": now + 100}))
	bad := tok[:len(tok)-2] + "AA"
	steps := []struct {
		name  string
		token string
		at    time.Time
		want  error
	}{
		{"signature fails", bad, testNow, errSignature},
		{"first sight", tok, testNow, nil},
		{"repeat", tok, testNow, nil},
		{"empty token once slots exist", "", testNow, errMalformed},
		{"repeat after exp", tok, testNow.Add(200 * time.Second), errExpired},
		{"repeat before nbf", tok, testNow.Add(-200 * time.Second), errNotYetValid},
		{"tampered twin after the good one", bad, testNow, errSignature},
	}
	for _, st := range steps {
		if err := k.Verify(st.token, st.at, DefaultClockSkew); err != st.want {
			t.Fatalf("%s: got %v, want %v", st.name, err, st.want)
		}
	}
	if _, ok := k.cache.lookup(tok); !ok {
		t.Error("a verified token is not remembered")
	}
	if _, ok := k.cache.lookup(bad); ok {
		t.Error("a failing token is remembered")
	}
	// The remembered token is a copy, not a slice of the caller's header.
	header := "Bearer " + tok
	k2 := mustKey(t, jwkOf(&f.p256.PublicKey, nil))
	if err := k2.Verify(header[7:], testNow, 0); err != nil {
		t.Fatal(err)
	}
	for _, e := range k2.cache.slots {
		if e.token != "" && len(e.token) != len(tok) {
			t.Fatal("cache entry holds more than the token")
		}
	}
}

// More tokens than slots, verified twice from several goroutines: collisions only cost
// misses, never a wrong answer (run with -race).
func TestVerifyCacheCrowded(t *testing.T) {
	f := fixtures()
	k := mustKey(t, jwkOf(&f.p256.PublicKey, nil))
	other := mustKey(t, jwkOf(&f.otherP256.PublicKey, nil))
	n := cacheSlots + cacheSlots/2
	if testing.Short() {
		n = cacheSlots / 4
	}
	toks := make([]string, n)
	for i := range toks {
		toks[i] = sign(t, "ES256", f.p256, `{"alg":"ES256"}`, claimsJSON(map[string]any{"jti": i}))
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for round := range 2 {
				for i := g; i < len(toks); i += 2 {
					if err := k.Verify(toks[i], testNow, 0); err != nil {
						t.Errorf("round %d token %d: %v", round, i, err)
						return
					}
					if err := other.Verify(toks[i], testNow, 0); err != errSignature {
						t.Errorf("round %d token %d under another key: %v", round, i, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}
