package oauth

import (
	"bytes"
	"crypto"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// pyjwtScript signs with PyJWT, exports PyJWT's JWKs of the public keys, and verifies the
// tokens of this file's own signer, so both sides are checked against an independent JOSE
// implementation.
const pyjwtScript = `
import json, sys
import jwt
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from cryptography.hazmat.primitives import serialization

def load(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), None)

req = json.load(sys.stdin)
out = {"tokens": [], "jwks": {}, "verified": []}
for item in req["sign"]:
    out["tokens"].append(jwt.encode(item["claims"], load(item["key"]), algorithm=item["alg"], headers={"kid": "k1"}))
for name, path in req["keys"].items():
    pub = load(path).public_key()
    out["jwks"][name] = (RSAAlgorithm if name == "rsa" else ECAlgorithm).to_jwk(pub)
for item in req["verify"]:
    pub = load(req["keys"][item["key"]]).public_key()
    jwt.decode(item["token"], pub, algorithms=[item["alg"]])
    out["verified"].append(item["alg"])
print(json.dumps(out))
`

// TestPyJWT runs only with APIGW_PYJWT=1 (CI sets it, with pyjwt and cryptography
// installed); once asked for, a missing python3 or module fails the test rather than skip.
func TestPyJWT(t *testing.T) {
	if os.Getenv("APIGW_PYJWT") != "1" {
		t.Skip("set APIGW_PYJWT=1 to check interoperability with PyJWT (needs python3 -m pip install pyjwt cryptography)")
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("APIGW_PYJWT=1 but python3 is not on PATH")
	}
	if out, err := exec.Command(python, "-c", "import jwt, cryptography").CombinedOutput(); err != nil {
		t.Fatalf("APIGW_PYJWT=1 but PyJWT or cryptography cannot be imported (python3 -m pip install pyjwt cryptography): %v\n%s", err, out)
	}

	f := fixtures()
	dir := t.TempDir()
	privs := map[string]any{"rsa": f.rsa, "p256": f.p256, "p384": f.p384, "p521": f.p521}
	keyFiles := map[string]string{}
	for name, priv := range privs {
		path := filepath.Join(dir, name+".pem")
		if err := os.WriteFile(path, []byte(pemOf("PRIVATE KEY", mustPKCS8(priv))), 0o600); err != nil {
			t.Fatal(err)
		}
		keyFiles[name] = path
	}
	algKey := []struct{ alg, key string }{
		{"RS256", "rsa"}, {"RS384", "rsa"}, {"RS512", "rsa"},
		{"PS256", "rsa"}, {"PS384", "rsa"}, {"PS512", "rsa"},
		{"ES256", "p256"}, {"ES384", "p384"}, {"ES512", "p521"},
	}
	now := time.Now()
	claims := map[string]any{"sub": "user-1", "iat": now.Unix(), "nbf": now.Unix() - 5, "exp": float64(now.Unix()) + 300.5}
	claimsText, _ := json.Marshal(claims)

	type item struct {
		Alg    string         `json:"alg"`
		Key    string         `json:"key"`
		Token  string         `json:"token,omitempty"`
		Claims map[string]any `json:"claims,omitempty"`
	}
	var req struct {
		Sign   []item            `json:"sign"`
		Keys   map[string]string `json:"keys"`
		Verify []item            `json:"verify"`
	}
	req.Keys = keyFiles
	for _, ak := range algKey {
		req.Sign = append(req.Sign, item{Alg: ak.alg, Key: keyFiles[ak.key], Claims: claims})
		tok := sign(t, ak.alg, privs[ak.key], `{"alg":"`+ak.alg+`","typ":"JWT"}`, string(claimsText))
		req.Verify = append(req.Verify, item{Alg: ak.alg, Key: ak.key, Token: tok})
	}
	in, _ := json.Marshal(req)
	cmd := exec.Command(python, "-c", pyjwtScript)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.Bytes())
	}
	var res struct {
		Tokens   []string          `json:"tokens"`
		JWKs     map[string]string `json:"jwks"`
		Verified []string          `json:"verified"`
	}
	if err := json.Unmarshal(out, &res); err != nil || len(res.Tokens) != len(algKey) || len(res.Verified) != len(algKey) {
		t.Fatalf("python answered %s (%v)", out, err)
	}
	for i, ak := range algKey {
		tok := res.Tokens[i]
		for _, form := range []struct{ name, text string }{
			{"PyJWT's JWK", res.JWKs[ak.key]},
			{"PEM", pkixPEM(publicOf(privs[ak.key]))},
		} {
			k, err := ParsePublicKey([]byte(form.text))
			if err != nil {
				t.Errorf("%s: %s: %v", ak.alg, form.name, err)
				continue
			}
			if err := k.Verify(tok, now, DefaultClockSkew); err != nil {
				t.Errorf("%s token signed by PyJWT, %s: %v", ak.alg, form.name, err)
			}
			if err := k.Verify(tok, now.Add(time.Hour), DefaultClockSkew); err == nil {
				t.Errorf("%s token signed by PyJWT, %s: accepted after exp", ak.alg, form.name)
			}
		}
	}
}

func publicOf(priv any) any {
	return priv.(crypto.Signer).Public()
}
