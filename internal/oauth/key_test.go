package oauth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"math/big"
	"regexp"
	"strings"
	"testing"
)

func TestParsePublicKey(t *testing.T) {
	f := fixtures()
	rsaAll := []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
	pkcs1 := pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&f.rsa.PublicKey))
	tests := []struct {
		name string
		text string
		algs []string // nil: an error is expected
	}{
		{"RSA JWK", jwkOf(&f.rsa.PublicKey, nil), rsaAll},
		{"RSA JWK with alg", jwkOf(&f.rsa.PublicKey, map[string]any{"alg": "PS384", "use": "sig", "kid": "k1"}), []string{"PS384"}},
		{"RSA JWK key_ops verify", jwkOf(&f.rsa.PublicKey, map[string]any{"key_ops": []string{"verify"}}), rsaAll},
		{"RSA JWK padded base64", jwkOf(&f.rsa.PublicKey, map[string]any{"e": "AQAB"}), rsaAll},
		{"RSA JWK surrounded by space", "\n  " + jwkOf(&f.rsa.PublicKey, nil) + "\n", rsaAll},
		{"P-256 JWK", jwkOf(&f.p256.PublicKey, nil), []string{"ES256"}},
		{"P-384 JWK", jwkOf(&f.p384.PublicKey, nil), []string{"ES384"}},
		{"P-521 JWK", jwkOf(&f.p521.PublicKey, nil), []string{"ES512"}},
		{"P-256 JWK with alg", jwkOf(&f.p256.PublicKey, map[string]any{"alg": "ES256"}), []string{"ES256"}},
		{"JWK Set of one", `{"keys":[` + jwkOf(&f.p384.PublicKey, nil) + `]}`, []string{"ES384"}},
		{"PKIX PEM RSA", pkixPEM(&f.rsa.PublicKey), rsaAll},
		{"PKIX PEM P-256", pkixPEM(&f.p256.PublicKey), []string{"ES256"}},
		{"PKIX PEM P-521", pkixPEM(&f.p521.PublicKey), []string{"ES512"}},
		{"PKCS#1 PEM", pkcs1, rsaAll},
		{"certificate RSA", pemOf("CERTIFICATE", f.rsaCert), rsaAll},
		{"certificate P-256 then more", pemOf("CERTIFICATE", f.p256Cert) + pemOf("CERTIFICATE", f.rsaCert), []string{"ES256"}},

		{"empty", "", nil},
		{"spaces", "  \n", nil},
		{"garbage", "hello", nil},
		{"JSON array", "[]", nil},
		{"JSON string", `"abc"`, nil},
		{"invalid JSON", `{"kty":"RSA",`, nil},
		{"no kty", `{"n":"AQAB","e":"AQAB"}`, nil},
		{"kty not string", jwkOf(&f.rsa.PublicKey, map[string]any{"kty": 1}), nil},
		{"kty lower case", jwkOf(&f.rsa.PublicKey, map[string]any{"kty": "rsa"}), nil},
		{"member name case", strings.Replace(jwkOf(&f.rsa.PublicKey, nil), `"kty"`, `"KTY"`, 1), nil},
		{"oct key", `{"kty":"oct","k":"c2VjcmV0"}`, nil},
		{"OKP key", `{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`, nil},
		{"RSA private JWK", jwkOf(&f.rsa.PublicKey, map[string]any{"d": enc.EncodeToString(f.rsa.D.Bytes())}), nil},
		{"EC private JWK", jwkOf(&f.p256.PublicKey, map[string]any{"d": "AAAA"}), nil},
		{"use enc", jwkOf(&f.rsa.PublicKey, map[string]any{"use": "enc"}), nil},
		{"key_ops without verify", jwkOf(&f.rsa.PublicKey, map[string]any{"key_ops": []string{"encrypt"}}), nil},
		{"key_ops not a list", jwkOf(&f.rsa.PublicKey, map[string]any{"key_ops": "verify"}), nil},
		{"alg HS256", jwkOf(&f.rsa.PublicKey, map[string]any{"alg": "HS256"}), nil},
		{"alg none", jwkOf(&f.rsa.PublicKey, map[string]any{"alg": "none"}), nil},
		{"alg ES256 on RSA", jwkOf(&f.rsa.PublicKey, map[string]any{"alg": "ES256"}), nil},
		{"alg ES384 on P-256", jwkOf(&f.p256.PublicKey, map[string]any{"alg": "ES384"}), nil},
		{"alg RS256 on P-256", jwkOf(&f.p256.PublicKey, map[string]any{"alg": "RS256"}), nil},
		{"RSA no n", jwkOf(&f.rsa.PublicKey, map[string]any{"n": nil}), nil},
		{"RSA empty e", jwkOf(&f.rsa.PublicKey, map[string]any{"e": ""}), nil},
		{"RSA n not base64url", jwkOf(&f.rsa.PublicKey, map[string]any{"n": "a+b/"}), nil},
		{"RSA n number", jwkOf(&f.rsa.PublicKey, map[string]any{"n": 12345}), nil},
		{"RSA e = 1", jwkOf(&f.rsa.PublicKey, map[string]any{"e": "AQ"}), nil},
		{"RSA e even", jwkOf(&f.rsa.PublicKey, map[string]any{"e": "AQAA"}), nil},
		{"RSA e too large", jwkOf(&f.rsa.PublicKey, map[string]any{"e": "AQAAAAE"}), nil},
		{"RSA even modulus", jwkOf(&rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), 2047), E: 65537}, nil), nil},
		{"RSA 1024 bits", jwkOf(&rsa.PublicKey{N: new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 1024), big.NewInt(1)), E: 65537}, nil), nil},
		{"RSA 2047 bits", jwkOf(&rsa.PublicKey{N: new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 2047), big.NewInt(1)), E: 65537}, nil), nil},
		{"RSA 8200 bits", jwkOf(&rsa.PublicKey{N: new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 8200), big.NewInt(1)), E: 65537}, nil), nil},
		{"EC no crv", jwkOf(&f.p256.PublicKey, map[string]any{"crv": nil}), nil},
		{"EC P-224", `{"kty":"EC","crv":"P-224","x":"AAAA","y":"AAAA"}`, nil},
		{"EC secp256k1", jwkOf(&f.p256.PublicKey, map[string]any{"crv": "secp256k1"}), nil},
		{"EC crv mismatch", jwkOf(&f.p256.PublicKey, map[string]any{"crv": "P-384"}), nil},
		{"EC no y", jwkOf(&f.p256.PublicKey, map[string]any{"y": nil}), nil},
		{"EC x too long", jwkOf(&f.p256.PublicKey, map[string]any{"x": enc.EncodeToString(make([]byte, 33))}), nil},
		{"EC point off the curve", jwkOf(&f.p256.PublicKey, map[string]any{"y": enc.EncodeToString(new(big.Int).Add(f.p256.Y, big.NewInt(1)).Bytes())}), nil},
		{"EC point at zero", jwkOf(&f.p256.PublicKey, map[string]any{"x": "AA", "y": "AA"}), nil},
		{"JWK Set of two", `{"keys":[` + jwkOf(&f.p256.PublicKey, nil) + `,` + jwkOf(&f.rsa.PublicKey, nil) + `]}`, nil},
		{"JWK Set empty", `{"keys":[]}`, nil},
		{"JWK Set of a string", `{"keys":["x"]}`, nil},
		{"PEM private PKCS#8", pemOf("PRIVATE KEY", mustPKCS8(f.rsa)), nil},
		{"PEM private PKCS#1", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(f.rsa)), nil},
		{"PEM EC private", pemOf("EC PRIVATE KEY", mustECDER(f.p256)), nil},
		{"PEM unknown type", pemOf("CERTIFICATE REQUEST", []byte{0x30, 0}), nil},
		{"PEM garbage DER", pemOf("PUBLIC KEY", []byte("not DER")), nil},
		{"PEM PKCS#1 labelled PKIX", pemOf("PUBLIC KEY", x509.MarshalPKCS1PublicKey(&f.rsa.PublicKey)), nil},
		{"PEM bad base64", "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n", nil},
		{"PEM on one line", strings.ReplaceAll(pkixPEM(&f.rsa.PublicKey), "\n", " "), nil},
		{"PEM Ed25519", pkixPEM(mustEd25519()), nil},
		{"PEM P-224", pkixPEM(mustP224()), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkParse(t, tt.text, tt.algs) })
	}
	// Its key is made inside the subtest: where it cannot be (GODEBUG=fips140=only), only
	// this row skips.
	t.Run("PEM RSA 1024 certificate", func(t *testing.T) { checkParse(t, smallRSACertPEM(t), nil) })
}

// checkParse parses text and wants the algorithms algs, or an error that repeats no key
// material when algs is nil.
func checkParse(t *testing.T, text string, algs []string) {
	t.Helper()
	k, err := ParsePublicKey([]byte(text))
	if algs == nil {
		if err == nil {
			t.Fatalf("accepted, want an error")
		}
		checkNoMaterial(t, err.Error(), text)
		return
	}
	if err != nil {
		t.Fatalf("error %v", err)
	}
	if got := algNames(k); strings.Join(got, ",") != strings.Join(algs, ",") {
		t.Errorf("algorithms %v, want %v", got, algs)
	}
}

// An encoder that drops the leading zero of x is tolerated: the coordinate is padded back.
func TestParsePublicKeyShortCoordinate(t *testing.T) {
	for {
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		point, _ := priv.PublicKey.Bytes()
		if point[1] != 0 {
			continue
		}
		k := mustKey(t, jwkOf(&priv.PublicKey, map[string]any{"x": enc.EncodeToString(point[2:33])}))
		if err := k.Verify(token(t, "ES256", priv), testNow, 0); err != nil {
			t.Fatalf("short x: %v", err)
		}
		return
	}
}

func algNames(k *PublicKey) []string {
	var names []string
	for a := algRS256; a < numAlgs; a++ {
		if k.algs&a.bit() != 0 {
			names = append(names, algs[a].name)
		}
	}
	return names
}

var b64Run = regexp.MustCompile(`[A-Za-z0-9+/_=-]{12,}`)

// checkNoMaterial fails if msg repeats a base64 run of input (key bytes, token segments).
func checkNoMaterial(t *testing.T, msg, input string) {
	t.Helper()
	for _, run := range b64Run.FindAllString(input, -1) {
		if strings.Contains(msg, run) {
			t.Errorf("error %q repeats input material", msg)
		}
	}
	if len(msg) > 120 {
		t.Errorf("error too long: %q", msg)
	}
}

func mustPKCS8(k any) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic(err)
	}
	return der
}

func mustECDER(k *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		panic(err)
	}
	return der
}

func mustEd25519() ed25519.PublicKey {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return pub
}

func mustP224() *ecdsa.PublicKey {
	k, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return &k.PublicKey
}

// smallRSACertPEM is a certificate for a 1024-bit RSA key; it skips the test where such a key
// cannot be made.
func smallRSACertPEM(t *testing.T) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Skipf("cannot make a 1024-bit key here: %v", err)
	}
	f := fixtures()
	cert, err := x509.ParseCertificate(f.rsaCert)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificate(rand.Reader, cert, cert, &k.PublicKey, f.rsa)
	if err != nil {
		t.Fatal(err)
	}
	return pemOf("CERTIFICATE", der)
}

func FuzzParsePublicKey(f *testing.F) {
	fx := fixtures()
	for _, s := range []string{
		jwkOf(&fx.rsa.PublicKey, nil),
		jwkOf(&fx.p256.PublicKey, map[string]any{"alg": "ES256"}),
		jwkOf(&fx.p521.PublicKey, nil),
		`{"keys":[` + jwkOf(&fx.p384.PublicKey, nil) + `]}`,
		pkixPEM(&fx.rsa.PublicKey),
		pkixPEM(&fx.p384.PublicKey),
		pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&fx.rsa.PublicKey)),
		pemOf("CERTIFICATE", fx.p256Cert),
		`{"kty":"oct","k":"c2VjcmV0"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		k, err := ParsePublicKey(text)
		if err != nil {
			checkNoMaterial(t, err.Error(), string(text))
			return
		}
		switch {
		case k.algs == 0:
			t.Fatal("a key that verifies nothing")
		case (k.rsa == nil) == (k.ec == nil):
			t.Fatal("a key must be RSA or EC")
		case k.rsa != nil && k.algs&^rsaAlgs != 0:
			t.Fatal("RSA key allows a non-RSA algorithm")
		case k.ec != nil && k.algs&^(algES256.bit()|algES384.bit()|algES512.bit()) != 0:
			t.Fatal("EC key allows a non-EC algorithm")
		}
		// Whatever was accepted must not make Verify panic.
		_ = k.Verify("eyJhbGciOiJSUzI1NiJ9.e30.AAAA", testNow, 0)
	})
}

// The JWK test helper must produce what RFC 7517 shows: check one member set by hand.
func TestJWKHelper(t *testing.T) {
	var m map[string]string
	if err := json.Unmarshal([]byte(jwkOf(&fixtures().rsa.PublicKey, nil)), &m); err != nil || m["e"] != "AQAB" || m["kty"] != "RSA" {
		t.Fatalf("jwkOf: %v %v", m, err)
	}
}
