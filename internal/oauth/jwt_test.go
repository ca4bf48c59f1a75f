package oauth

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestVerifyAlgorithms(t *testing.T) {
	f := fixtures()
	rsaJWK := mustKey(t, jwkOf(&f.rsa.PublicKey, nil))
	rsaPEM := mustKey(t, pkixPEM(&f.rsa.PublicKey))
	tests := []struct {
		alg  string
		priv any
		key  *PublicKey
	}{
		{"RS256", f.rsa, rsaJWK},
		{"RS384", f.rsa, rsaPEM},
		{"RS512", f.rsa, rsaJWK},
		{"PS256", f.rsa, rsaJWK},
		{"PS384", f.rsa, rsaPEM},
		{"PS512", f.rsa, rsaJWK},
		{"ES256", f.p256, mustKey(t, jwkOf(&f.p256.PublicKey, nil))},
		{"ES384", f.p384, mustKey(t, pkixPEM(&f.p384.PublicKey))},
		{"ES512", f.p521, mustKey(t, jwkOf(&f.p521.PublicKey, nil))},
	}
	for _, tt := range tests {
		t.Run(tt.alg, func(t *testing.T) {
			if err := tt.key.Verify(token(t, tt.alg, tt.priv), testNow, DefaultClockSkew); err != nil {
				t.Fatalf("valid token: %v", err)
			}
		})
	}
}

// PSS signers that use the largest salt (Go's PSSSaltLengthAuto when signing) verify too.
func TestVerifyPSSAnySalt(t *testing.T) {
	f := fixtures()
	k := mustKey(t, jwkOf(&f.rsa.PublicKey, nil))
	input := enc.EncodeToString([]byte(`{"alg":"PS256"}`)) + "." + enc.EncodeToString([]byte(claimsJSON(nil)))
	digest := sha256.Sum256([]byte(input))
	for _, salt := range []int{rsa.PSSSaltLengthAuto, 0, 20, 32} {
		sig, err := rsa.SignPSS(rand.Reader, f.rsa, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: salt})
		if err != nil {
			t.Fatal(err)
		}
		if err := k.Verify(input+"."+enc.EncodeToString(sig), testNow, 0); err != nil {
			t.Errorf("salt %d: %v", salt, err)
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	f := fixtures()
	rsaKey := mustKey(t, jwkOf(&f.rsa.PublicKey, nil))
	p256Key := mustKey(t, jwkOf(&f.p256.PublicKey, nil))
	now := testNow.Unix()
	at := func(claims map[string]any) string {
		return sign(t, "RS256", f.rsa, `{"alg":"RS256"}`, claimsJSON(claims))
	}
	good := token(t, "RS256", f.rsa)
	parts := strings.Split(good, ".")
	pemSecret := []byte(pkixPEM(&f.rsa.PublicKey))
	jwkSecret := []byte(jwkOf(&f.rsa.PublicKey, nil))
	derSecret, _ := x509.MarshalPKIXPublicKey(&f.rsa.PublicKey)
	attackerJWK := jwkOf(&f.rsa2.PublicKey, nil)
	var ok error

	tests := []struct {
		name  string
		key   *PublicKey
		token string
		skew  time.Duration
		want  error // nil: valid
	}{
		{"valid", rsaKey, good, 0, ok},

		// Dates.
		{"expired beyond skew", rsaKey, at(map[string]any{"exp": now - 61}), 60 * time.Second, errExpired},
		{"expired within skew", rsaKey, at(map[string]any{"exp": now - 59}), 60 * time.Second, ok},
		{"exp equals now", rsaKey, at(map[string]any{"exp": now}), 0, ok},
		{"exp one second ago, no skew", rsaKey, at(map[string]any{"exp": now - 1}), 0, errExpired},
		{"fractional exp just past", rsaKey, at(map[string]any{"exp": float64(now) - 0.5}), 0, errExpired},
		{"fractional exp ahead", rsaKey, at(map[string]any{"exp": float64(now) + 0.5}), 0, ok},
		{"exp in exponent form", rsaKey, sign(t, "RS256", f.rsa, `{"alg":"RS256"}`, `{"exp":1.8e9}`), 0, ok},
		{"negative skew is none", rsaKey, at(map[string]any{"exp": now + 10}), -time.Hour, ok},
		{"not yet valid beyond skew", rsaKey, at(map[string]any{"nbf": now + 61}), 60 * time.Second, errNotYetValid},
		{"not yet valid within skew", rsaKey, at(map[string]any{"nbf": now + 59}), 60 * time.Second, ok},
		{"nbf now", rsaKey, at(map[string]any{"nbf": now}), 0, ok},
		{"nbf fractional future", rsaKey, at(map[string]any{"nbf": float64(now) + 0.25}), 0, errNotYetValid},
		{"no exp", rsaKey, at(map[string]any{"exp": nil}), 0, errNoExpiry},
		{"exp is a string", rsaKey, at(map[string]any{"exp": strconv.FormatInt(now+60, 10)}), 0, errDate},
		{"exp is null", rsaKey, sign(t, "RS256", f.rsa, `{"alg":"RS256"}`, `{"exp":null}`), 0, errDate},
		{"exp overflows", rsaKey, sign(t, "RS256", f.rsa, `{"alg":"RS256"}`, `{"exp":1e400}`), 0, errDate},
		{"nbf is a string", rsaKey, at(map[string]any{"nbf": "0"}), 0, errDate},
		{"duplicate exp", rsaKey, sign(t, "RS256", f.rsa, `{"alg":"RS256"}`, `{"exp":1,"exp":9999999999}`), 0, errClaims},
		{"claims not an object", rsaKey, sign(t, "RS256", f.rsa, `{"alg":"RS256"}`, `[1]`), 0, errClaims},
		{"claims not JSON", rsaKey, sign(t, "RS256", f.rsa, `{"alg":"RS256"}`, `{"exp":99999999999`), 0, errClaims},
		{"claims with trailing bytes", rsaKey, sign(t, "RS256", f.rsa, `{"alg":"RS256"}`, `{"exp":99999999999}x`), 0, errClaims},
		{"escaped exp name counts", rsaKey, sign(t, "RS256", f.rsa, `{"alg":"RS256"}`, `{"\u0065xp":1}`), 0, errExpired},
		{"nested exp does not count", rsaKey, sign(t, "RS256", f.rsa, `{"alg":"RS256"}`, `{"x":{"exp":99999999999}}`), 0, errNoExpiry},

		// Signatures.
		{"wrong RSA key", mustKey(t, jwkOf(&f.rsa2.PublicKey, nil)), good, 0, errSignature},
		{"wrong EC key", mustKey(t, jwkOf(&f.otherP256.PublicKey, nil)), token(t, "ES256", f.p256), 0, errSignature},
		{"tampered payload", rsaKey, parts[0] + "." + enc.EncodeToString([]byte(claimsJSON(map[string]any{"sub": "admin"}))) + "." + parts[2], 0, errSignature},
		{"tampered header", rsaKey, enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT","kid":"x"}`)) + "." + parts[1] + "." + parts[2], 0, errSignature},
		{"header alg switched", rsaKey, enc.EncodeToString([]byte(`{"alg":"PS256","typ":"JWT"}`)) + "." + parts[1] + "." + parts[2], 0, errSignature},
		{"signature from another token", rsaKey, parts[0] + "." + parts[1] + "." + strings.Split(at(map[string]any{"sub": "x"}), ".")[2], 0, errSignature},
		{"signature one byte short", rsaKey, parts[0] + "." + parts[1] + "." + enc.EncodeToString(mustB64(parts[2])[1:]), 0, errSignature},
		{"embedded jwk is ignored", rsaKey, sign(t, "RS256", f.rsa2, `{"alg":"RS256","jwk":`+attackerJWK+`}`, claimsJSON(nil)), 0, errSignature},
		{"ES256 DER signature", p256Key, derES256(t, f), 0, errSignature},
		{"ES256 zero signature", p256Key, strings.Join(strings.Split(token(t, "ES256", f.p256), ".")[:2], ".") + "." + enc.EncodeToString(make([]byte, 64)), 0, errSignature},

		// Algorithms.
		{"alg none, no signature", rsaKey, sign(t, "none", nil, `{"alg":"none"}`, claimsJSON(nil)), 0, errMalformed},
		{"alg none with a signature", rsaKey, sign(t, "none", nil, `{"alg":"none"}`, claimsJSON(nil)) + parts[2], 0, errAlgorithm},
		{"alg None", rsaKey, sign(t, "RS256", f.rsa, `{"alg":"None"}`, claimsJSON(nil)), 0, errAlgorithm},
		{"HS256 with the PEM as secret", rsaKey, sign(t, "HS256", pemSecret, `{"alg":"HS256"}`, claimsJSON(nil)), 0, errAlgorithm},
		{"HS256 with the DER as secret", rsaKey, sign(t, "HS256", derSecret, `{"alg":"HS256"}`, claimsJSON(nil)), 0, errAlgorithm},
		{"HS512 with the JWK as secret", rsaKey, sign(t, "HS512", jwkSecret, `{"alg":"HS512"}`, claimsJSON(nil)), 0, errAlgorithm},
		{"HS256 against an EC key", p256Key, sign(t, "HS256", []byte(pkixPEM(&f.p256.PublicKey)), `{"alg":"HS256"}`, claimsJSON(nil)), 0, errAlgorithm},
		{"RS256 token, EC key", p256Key, good, 0, errAlgorithm},
		{"ES256 token, RSA key", rsaKey, token(t, "ES256", f.p256), 0, errAlgorithm},
		{"ES384 token, P-256 key", p256Key, token(t, "ES384", f.p384), 0, errAlgorithm},
		{"ES256 label on a P-384 signature", mustKey(t, jwkOf(&f.p384.PublicKey, nil)), sign(t, "ES384", f.p384, `{"alg":"ES256"}`, claimsJSON(nil)), 0, errAlgorithm},
		{"PS256 token, key pinned to RS256", mustKey(t, jwkOf(&f.rsa.PublicKey, map[string]any{"alg": "RS256"})), token(t, "PS256", f.rsa), 0, errAlgorithm},
		{"alg in lower case", rsaKey, sign(t, "RS256", f.rsa, `{"alg":"rs256"}`, claimsJSON(nil)), 0, errAlgorithm},
		{"alg escaped", rsaKey, sign(t, "RS256", f.rsa, `{"alg":"\u0052S256"}`, claimsJSON(nil)), 0, ok},
		{"EdDSA", rsaKey, sign(t, "RS256", f.rsa, `{"alg":"EdDSA"}`, claimsJSON(nil)), 0, errAlgorithm},

		// Header shape.
		{"no alg", rsaKey, sign(t, "RS256", f.rsa, `{"typ":"JWT"}`, claimsJSON(nil)), 0, errHeader},
		{"alg not a string", rsaKey, sign(t, "RS256", f.rsa, `{"alg":["RS256"]}`, claimsJSON(nil)), 0, errHeader},
		{"duplicate alg", rsaKey, sign(t, "RS256", f.rsa, `{"alg":"RS256","alg":"HS256"}`, claimsJSON(nil)), 0, errHeader},
		{"crit header", rsaKey, sign(t, "RS256", f.rsa, `{"alg":"RS256","crit":["exp"],"exp":1}`, claimsJSON(nil)), 0, errCritical},
		{"b64 false", rsaKey, sign(t, "RS256", f.rsa, `{"alg":"RS256","b64":false,"crit":["b64"]}`, claimsJSON(nil)), 0, errCritical},
		{"header not JSON", rsaKey, sign(t, "RS256", f.rsa, `RS256`, claimsJSON(nil)), 0, errHeader},
		{"header an array", rsaKey, sign(t, "RS256", f.rsa, `["RS256"]`, claimsJSON(nil)), 0, errHeader},
		{"header deeply nested", rsaKey, sign(t, "RS256", f.rsa, `{"alg":"RS256","x":`+strings.Repeat("[", 40)+strings.Repeat("]", 40)+`}`, claimsJSON(nil)), 0, errHeader},
		{"extra header members", rsaKey, sign(t, "RS256", f.rsa, `{"typ":"at+jwt","kid":"k1","alg":"RS256","x5t":"abc","n":[1,{"a":null}]}`, claimsJSON(nil)), 0, ok},

		// Encoding and framing.
		{"empty", rsaKey, "", 0, errMalformed},
		{"one segment", rsaKey, parts[0], 0, errMalformed},
		{"two segments", rsaKey, parts[0] + "." + parts[1], 0, errMalformed},
		{"four segments", rsaKey, good + ".e30", 0, errMalformed},
		{"five segments (JWE)", rsaKey, good + ".e30.e30", 0, errMalformed},
		{"empty header", rsaKey, "." + parts[1] + "." + parts[2], 0, errMalformed},
		{"empty payload", rsaKey, parts[0] + ".." + parts[2], 0, errMalformed},
		{"empty signature", rsaKey, parts[0] + "." + parts[1] + ".", 0, errMalformed},
		{"padding", rsaKey, good + "==", 0, errMalformed},
		{"padded header", rsaKey, base64.URLEncoding.EncodeToString([]byte(`{"alg":"RS256", "typ":"JWT"}`)) + "." + parts[1] + "." + parts[2], 0, errMalformed},
		{"standard alphabet", rsaKey, strings.NewReplacer("-", "+", "_", "/").Replace(good) + "+/", 0, errMalformed},
		{"space inside", rsaKey, parts[0] + ". " + parts[1] + "." + parts[2], 0, errMalformed},
		{"newline inside", rsaKey, parts[0] + "." + parts[1][:8] + "\n" + parts[1][8:] + "." + parts[2], 0, errMalformed},
		{"quotes kept", rsaKey, `"` + good + `"`, 0, errMalformed},
		{"one dangling character", rsaKey, parts[0] + "." + parts[1] + "." + parts[2] + "AAA", 0, errMalformed},
		{"non-canonical last character", rsaKey, parts[0] + "." + parts[1] + "." + bumpLast(parts[2]), 0, errMalformed},
		{"non-UTF-8", rsaKey, "\xff" + good, 0, errMalformed},
		{"too large", rsaKey, parts[0] + "." + strings.Repeat("A", MaxTokenLen) + "." + parts[2], 0, errTooLarge},
		{"nil key", nil, good, 0, errNoKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.key.Verify(tt.token, testNow, tt.skew)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if err != nil {
				checkNoMaterial(t, err.Error(), tt.token)
			}
		})
	}
}

// derES256 signs with ES256 but encodes the signature as ASN.1 DER, as a careless signer
// might; RFC 7518 wants raw r||s.
func derES256(t *testing.T, f *keySet) string {
	t.Helper()
	input := enc.EncodeToString([]byte(`{"alg":"ES256"}`)) + "." + enc.EncodeToString([]byte(claimsJSON(nil)))
	digest := sha256.Sum256([]byte(input))
	sig, err := f.p256.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + enc.EncodeToString(sig)
}

// bumpLast sets unused low bits in the last character of a base64url text whose length
// leaves some (2 or 3 characters in the last group).
func bumpLast(s string) string {
	last := s[len(s)-1]
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, last)
	return s[:len(s)-1] + string(alphabet[i|1])
}

func mustB64(s string) []byte {
	b, err := enc.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestB64Decode(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 4, 5, 31, 32, 33, 64, 256} {
		src := make([]byte, n)
		rand.Read(src)
		text := enc.EncodeToString(src)
		got, ok := b64Decode(make([]byte, len(text)), text)
		if !ok || string(got) != string(src) {
			t.Errorf("len %d: round trip failed", n)
		}
	}
}

func FuzzB64Decode(f *testing.F) {
	for _, s := range []string{"", "A", "AA", "AB", "AAA", "AAB", "AAAA", "eyJhbGciOiJSUzI1NiJ9", "a+b/", "AA==", "A\nA"} {
		f.Add(s)
	}
	strict := base64.RawURLEncoding.Strict()
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := b64Decode(make([]byte, len(s)), s)
		want, err := strict.DecodeString(s)
		if strings.ContainsAny(s, "\r\n") {
			// The standard decoder skips line breaks; ours refuses them.
			if ok && strings.ContainsAny(s, "\r\n") {
				t.Fatalf("%q: accepted a line break", s)
			}
			return
		}
		if ok != (err == nil) || ok && string(got) != string(want) {
			t.Fatalf("%q: got %x %v, standard library %x %v", s, got, ok, want, err)
		}
	})
}

func FuzzVerify(f *testing.F) {
	fx := fixtures()
	rsaKey := mustKey(f, jwkOf(&fx.rsa.PublicKey, nil))
	ecKey := mustKey(f, jwkOf(&fx.p256.PublicKey, nil))
	valid := map[string]bool{}
	for _, s := range []string{
		token(f, "RS256", fx.rsa),
		token(f, "PS384", fx.rsa),
		token(f, "ES256", fx.p256),
		sign(f, "RS256", fx.rsa, `{"alg":"RS256","x":[{"y":"\u00e9\ud83d\ude00"}]}`, `{"exp":1.7e9,"nbf":1.6e9,"a":[true,false,null,-0.5e-3]}`),
		sign(f, "HS256", []byte(pkixPEM(&fx.rsa.PublicKey)), `{"alg":"HS256"}`, claimsJSON(nil)),
		sign(f, "none", nil, `{"alg":"none"}`, claimsJSON(nil)),
		"eyJhbGciOiJSUzI1NiJ9.e30.AAAA",
		"..",
	} {
		f.Add(s)
		if rsaKey.Verify(s, testNow, DefaultClockSkew) == nil || ecKey.Verify(s, testNow, DefaultClockSkew) == nil {
			valid[s] = true
		}
	}
	if len(valid) != 4 {
		f.Fatalf("%d valid seeds, want 4", len(valid))
	}
	f.Fuzz(func(t *testing.T, tok string) {
		for _, k := range []*PublicKey{rsaKey, ecKey} {
			err := k.Verify(tok, testNow, DefaultClockSkew)
			// A mutation that still verifies would be a forgery (or a second encoding).
			if err == nil && !valid[tok] {
				t.Fatalf("verified a token that was never signed: %q", tok)
			}
		}
	})
}

// BenchmarkVerify measures a first sight of a token (signature checked) and a repeat
// (answered from the cache of verified tokens).
func BenchmarkVerify(b *testing.B) {
	f := fixtures()
	for _, bc := range []struct {
		alg  string
		priv any
		pub  any
	}{
		{"RS256", f.rsa, &f.rsa.PublicKey},
		{"PS256", f.rsa, &f.rsa.PublicKey},
		{"ES256", f.p256, &f.p256.PublicKey},
		{"ES384", f.p384, &f.p384.PublicKey},
	} {
		k := mustKey(b, jwkOf(bc.pub, nil))
		tok := token(b, bc.alg, bc.priv)
		b.Run(bc.alg+"/signature", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				d, err := k.verify(tok)
				if err == nil {
					err = d.check(testNow, DefaultClockSkew)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.alg+"/cached", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := k.Verify(tok, testNow, DefaultClockSkew); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkClaims compares the scanner with encoding/json on a typical header and claims
// set, which is the per-request JSON work of Verify.
func BenchmarkClaims(b *testing.B) {
	hdr := []byte(`{"alg":"RS256","typ":"JWT","kid":"2f6b8d1c"}`)
	claims := []byte(`{"iss":"https://auth.example.com","sub":"user-1","aud":"service-a1b2c3d4","exp":1700003600,"nbf":1699999990,"iat":1700000000,"jti":"a3f1c9","name":"Alice","groups":["dev","ops"]}`)
	b.Run("scanner", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parseHeader(hdr); err != nil {
				b.Fatal(err)
			}
			d, err := parseClaims(claims)
			if err == nil {
				err = d.check(testNow, DefaultClockSkew)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var h struct {
				Alg  *string         `json:"alg"`
				Crit json.RawMessage `json:"crit"`
			}
			var c struct {
				Exp *json.Number `json:"exp"`
				Nbf *json.Number `json:"nbf"`
			}
			if json.Unmarshal(hdr, &h) != nil || json.Unmarshal(claims, &c) != nil || h.Alg == nil || c.Exp == nil {
				b.Fatal("decode")
			}
			if _, err := c.Exp.Float64(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// FuzzVerifySigned signs whatever header and claims texts the fuzzer makes, so that the
// parsing after the signature is exercised too, and holds every acceptance to
// encoding/json's reading of the same texts.
func FuzzVerifySigned(f *testing.F) {
	f.Add(`{"alg":"ES256","typ":"JWT"}`, claimsJSON(nil))
	f.Add(`{"alg":"ES256","crit":[]}`, `{"exp":1.7e9,"nbf":1.6e9}`)
	f.Add(`{"alg":"\u0045S256"}`, `{"exp":17e8,"x":{"exp":1}}`)
	f.Add(`{"alg":"ES256"}`, `{"exp":"1700000000"}`)
	fx := fixtures()
	k := mustKey(f, jwkOf(&fx.p256.PublicKey, nil))
	f.Fuzz(func(t *testing.T, header, claims string) {
		tok := sign(t, "ES256", fx.p256, header, claims)
		if k.Verify(tok, testNow, DefaultClockSkew) != nil {
			return
		}
		var h map[string]any
		var c map[string]any
		if json.Unmarshal([]byte(header), &h) != nil || json.Unmarshal([]byte(claims), &c) != nil {
			t.Fatalf("accepted %q / %q, which encoding/json cannot read", header, claims)
		}
		if h["alg"] != "ES256" || h["crit"] != nil {
			t.Fatalf("accepted header %q", header)
		}
		exp, ok := c["exp"].(float64)
		if !ok || float64(testNow.Unix()) > exp+DefaultClockSkew.Seconds() {
			t.Fatalf("accepted claims %q", claims)
		}
		if nbf, ok := c["nbf"]; ok {
			if n, ok := nbf.(float64); !ok || float64(testNow.Unix()) < n-DefaultClockSkew.Seconds() {
				t.Fatalf("accepted claims %q", claims)
			}
		}
	})
}
