package oauth

// A minimal JWS signer and key fixtures for the tests, written apart from the verifier:
// it shares no code with the package under test.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"sync"
	"testing"
	"time"
)

// keySet holds the keys of the tests, made once per test binary.
type keySet struct {
	rsa, rsa2         *rsa.PrivateKey
	p256, p384, p521  *ecdsa.PrivateKey
	otherP256         *ecdsa.PrivateKey
	rsaCert, p256Cert []byte // self-signed certificates, DER
}

var fixtures = sync.OnceValue(func() *keySet {
	f := new(keySet)
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	var err error
	f.rsa, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	f.rsa2, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	f.p256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	f.otherP256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	f.p384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	must(err)
	f.p521, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	must(err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "auth.example.com"},
		NotBefore:    time.Unix(0, 0),
		NotAfter:     time.Unix(1, 0), // long expired: the gateway takes the key only
	}
	f.rsaCert, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &f.rsa.PublicKey, f.rsa)
	must(err)
	f.p256Cert, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &f.p256.PublicKey, f.p256)
	must(err)
	return f
})

var enc = base64.RawURLEncoding

// sign makes a compact JWS over the given header and claims JSON texts, taken as they are.
// key is an *rsa.PrivateKey, an *ecdsa.PrivateKey or, for HS*, a []byte secret.
func sign(t testing.TB, alg string, key any, header, claims string) string {
	t.Helper()
	input := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(claims))
	var h crypto.Hash
	switch alg[2:] {
	case "256":
		h = crypto.SHA256
	case "384":
		h = crypto.SHA384
	case "512":
		h = crypto.SHA512
	default:
		if alg == "none" {
			return input + "."
		}
		t.Fatalf("sign: bad alg %s", alg)
	}
	var digest []byte
	switch h {
	case crypto.SHA256:
		d := sha256.Sum256([]byte(input))
		digest = d[:]
	case crypto.SHA384:
		d := sha512.Sum384([]byte(input))
		digest = d[:]
	default:
		d := sha512.Sum512([]byte(input))
		digest = d[:]
	}
	var sig []byte
	var err error
	switch alg[:2] {
	case "RS":
		sig, err = rsa.SignPKCS1v15(rand.Reader, key.(*rsa.PrivateKey), h, digest)
	case "PS":
		sig, err = rsa.SignPSS(rand.Reader, key.(*rsa.PrivateKey), h, digest,
			&rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case "ES":
		priv := key.(*ecdsa.PrivateKey)
		var r, s *big.Int
		r, s, err = ecdsa.Sign(rand.Reader, priv, digest)
		size := (priv.Curve.Params().BitSize + 7) / 8
		sig = make([]byte, 2*size)
		r.FillBytes(sig[:size])
		s.FillBytes(sig[size:])
	case "HS":
		var m = hmac.New(h.New, key.([]byte))
		m.Write([]byte(input))
		sig = m.Sum(nil)
	default:
		t.Fatalf("sign: bad alg %s", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + enc.EncodeToString(sig)
}

// testNow is the clock of the tests; claims are relative to it.
var testNow = time.Unix(1_700_000_000, 0)

// claimsJSON encodes claims with exp one hour after testNow unless set.
func claimsJSON(claims map[string]any) string {
	c := map[string]any{"sub": "user-1", "iat": testNow.Unix(), "exp": testNow.Unix() + 3600}
	for k, v := range claims {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	b, _ := json.Marshal(c)
	return string(b)
}

// token makes a token with header {"alg":alg,"typ":"JWT"} and the default claims.
func token(t testing.TB, alg string, key any) string {
	return sign(t, alg, key, `{"alg":"`+alg+`","typ":"JWT"}`, claimsJSON(nil))
}

func jwkOf(pub any, extra map[string]any) string {
	m := map[string]any{}
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		m["kty"] = "RSA"
		m["n"] = enc.EncodeToString(pub.N.Bytes())
		m["e"] = enc.EncodeToString(big.NewInt(int64(pub.E)).Bytes())
	case *ecdsa.PublicKey:
		m["kty"] = "EC"
		m["crv"] = pub.Curve.Params().Name
		size := (pub.Curve.Params().BitSize + 7) / 8
		point, err := pub.Bytes()
		if err != nil {
			panic(err)
		}
		m["x"] = enc.EncodeToString(point[1 : 1+size])
		m["y"] = enc.EncodeToString(point[1+size:])
	}
	for k, v := range extra {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func pemOf(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func pkixPEM(pub any) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return pemOf("PUBLIC KEY", der)
}

func mustKey(t testing.TB, text string) *PublicKey {
	t.Helper()
	k, err := ParsePublicKey([]byte(text))
	if err != nil {
		t.Fatalf("ParsePublicKey: %v", err)
	}
	return k
}
