package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// OAuth 2.0 id_token (docs/gateway.md section 6). Keys and tokens come from an implementation that
// is not the one under test: PyJWT with cryptography, run from build/.venv (make pydeps installs
// them). Python generates the keys (RSA 2048, EC P-256, P-384, P-521), exports their public halves
// as JWK and PEM for the gateway configuration, and signs tokens with the claims the Go side asks
// for; the attack tokens (alg none, HS256 keyed with the public key text, a swapped payload) are
// put together in Python too.

// oauthPython makes the keys and tokens described by the JSON request on stdin:
//
//	{"keys": {name: "RSA" | "P-256" | "P-384" | "P-521"}, "private": {name: PKCS#8 PEM},
//	 "tokens": [{"name", "kind", "key", "alg", "claims", "headers", "form", "fake_claims"}]}
//
// "keys" are made anew; "private" (optional) loads keys made by an earlier run, to sign more
// tokens with them. kinds: "sign" (PyJWT signs claims with key and alg), "none" (PyJWT, alg
// none, no signature), "none_keep_sig" (header alg none on a validly signed token's payload and
// signature), "hs256" (HMAC-SHA256 keyed with the public key text of form "pem" or "jwk",
// exactly as configured), "tamper" (a token signed over claims, its payload then replaced by
// fake_claims). It answers
// {"keys": {name: {"jwk", "pem", "pkcs1", "private"}}, "tokens": {name: token}}.
const oauthPython = `
import base64, hashlib, hmac, json, sys
import jwt
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

req = json.load(sys.stdin)
curves = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}
priv = {}
out = {"keys": {}, "tokens": {}}
for name, kind in req.get("keys", {}).items():
    if kind == "RSA":
        k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = RSAAlgorithm.to_jwk(k.public_key(), as_dict=True)
        pkcs1 = k.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1).decode()
    else:
        k = ec.generate_private_key(curves[kind])
        jwk = ECAlgorithm.to_jwk(k.public_key(), as_dict=True)
        pkcs1 = ""
    priv[name] = k
    pem = k.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    private = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    out["keys"][name] = {"jwk": json.dumps(jwk, separators=(",", ":")), "pem": pem, "pkcs1": pkcs1, "private": private}
for name, pem in req.get("private", {}).items():
    priv[name] = serialization.load_pem_private_key(pem.encode(), None)

def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def seg(obj):
    return b64(json.dumps(obj, separators=(",", ":")).encode())

for t in req["tokens"]:
    kind = t["kind"]
    if kind == "sign":
        tok = jwt.encode(t["claims"], priv[t["key"]], algorithm=t["alg"], headers=t.get("headers"))
    elif kind == "none":
        tok = jwt.encode(t["claims"], None, algorithm="none")
    elif kind == "none_keep_sig":
        good = jwt.encode(t["claims"], priv[t["key"]], algorithm=t["alg"])
        _, payload, sig = good.split(".")
        tok = seg({"alg": "none", "typ": "JWT"}) + "." + payload + "." + sig
    elif kind == "hs256":
        secret = out["keys"][t["key"]][t["form"]].encode()
        signing = seg({"alg": "HS256", "typ": "JWT"}) + "." + seg(t["claims"])
        tok = signing + "." + b64(hmac.new(secret, signing.encode(), hashlib.sha256).digest())
    elif kind == "tamper":
        good = jwt.encode(t["claims"], priv[t["key"]], algorithm=t["alg"])
        head, _, sig = good.split(".")
        tok = head + "." + seg(t["fake_claims"]) + "." + sig
    else:
        raise SystemExit("unknown kind " + kind)
    out["tokens"][t["name"]] = tok
print(json.dumps(out))
`

// oauthKeys are the keys Python makes: name -> kind.
var oauthKeys = map[string]string{
	"rsa": "RSA", "rsa-other": "RSA",
	"p256": "P-256", "p256-other": "P-256",
	"p384": "P-384", "p521": "P-521",
}

type oauthTokenSpec struct {
	Name       string         `json:"name"`
	Kind       string         `json:"kind"`
	Key        string         `json:"key,omitempty"`
	Alg        string         `json:"alg,omitempty"`
	Claims     map[string]any `json:"claims"`
	Headers    map[string]any `json:"headers,omitempty"`
	Form       string         `json:"form,omitempty"`
	FakeClaims map[string]any `json:"fake_claims,omitempty"`
}

// oauthClaims are the claims of a token valid for an hour from now, with claim k set to v if
// k is not empty.
func oauthClaims(now int64, k string, v any) map[string]any {
	c := map[string]any{"sub": "user-1", "iss": "https://auth.example.com", "iat": now, "nbf": now - 5, "exp": now + 3600}
	if k != "" {
		c[k] = v
	}
	return c
}

// oauthTokenSpecs lists the tokens the tests use, with dates around now. They are made once
// per test binary: each stays what its name says for an hour at least (see oauthFreshSpec).
func oauthTokenSpecs(now int64) []oauthTokenSpec {
	valid := func() map[string]any { return oauthClaims(now, "", nil) }
	with := func(k string, v any) map[string]any { return oauthClaims(now, k, v) }
	specs := []oauthTokenSpec{
		{Name: "ES256", Kind: "sign", Key: "p256", Alg: "ES256", Claims: valid(), Headers: map[string]any{"kid": "ec-1"}},
		{Name: "ES384", Kind: "sign", Key: "p384", Alg: "ES384", Claims: valid()},
		{Name: "ES512", Kind: "sign", Key: "p521", Alg: "ES512", Claims: valid()},
		// nbf in 10 s is inside the configured 60 s clock skew, and stays valid after.
		{Name: "nbf inside skew", Kind: "sign", Key: "rsa", Alg: "RS256", Claims: with("nbf", now+10)},
		{Name: "no nbf", Kind: "sign", Key: "rsa", Alg: "RS256", Claims: map[string]any{"sub": "user-1", "exp": now + 3600}},

		{Name: "expired", Kind: "sign", Key: "rsa", Alg: "RS256", Claims: with("exp", now-3600)},
		{Name: "not yet valid", Kind: "sign", Key: "rsa", Alg: "RS256", Claims: map[string]any{"sub": "user-1", "nbf": now + 3600, "exp": now + 7200}},
		{Name: "RS256 wrong key", Kind: "sign", Key: "rsa-other", Alg: "RS256", Claims: valid()},
		{Name: "ES256 wrong key", Kind: "sign", Key: "p256-other", Alg: "ES256", Claims: valid()},
		{Name: "tampered RS256", Kind: "tamper", Key: "rsa", Alg: "RS256", Claims: valid(), FakeClaims: with("sub", "admin")},
		{Name: "tampered ES256", Kind: "tamper", Key: "p256", Alg: "ES256", Claims: valid(), FakeClaims: with("sub", "admin")},
		{Name: "alg none", Kind: "none", Claims: valid()},
		{Name: "alg none keeping a signature", Kind: "none_keep_sig", Key: "rsa", Alg: "RS256", Claims: valid()},
		{Name: "HS256 keyed with RSA PEM", Kind: "hs256", Key: "rsa", Form: "pem", Claims: valid()},
		{Name: "HS256 keyed with RSA JWK", Kind: "hs256", Key: "rsa", Form: "jwk", Claims: valid()},
		{Name: "HS256 keyed with EC PEM", Kind: "hs256", Key: "p256", Form: "pem", Claims: valid()},
	}
	for _, alg := range []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"} {
		specs = append(specs, oauthTokenSpec{Name: alg, Kind: "sign", Key: "rsa", Alg: alg, Claims: valid(), Headers: map[string]any{"kid": "rsa-1"}})
	}
	return specs
}

// oauthFreshSpec is the spec of a token valid too briefly to be made with the others: e.token
// has PyJWT sign it at the time it is asked for, just before it is sent.
func oauthFreshSpec(name string, now int64) (oauthTokenSpec, bool) {
	switch name {
	case "exp inside skew":
		// exp 10 s ago is inside the configured 60 s clock skew for 50 s after signing.
		return oauthTokenSpec{Name: name, Kind: "sign", Key: "rsa", Alg: "RS256", Claims: oauthClaims(now, "exp", now-10)}, true
	}
	return oauthTokenSpec{}, false
}

type oauthKeyText struct {
	JWK     string `json:"jwk"`     // compact JSON, put in the configuration as an object byte for byte
	PEM     string `json:"pem"`     // SubjectPublicKeyInfo
	PKCS1   string `json:"pkcs1"`   // RSA only
	Private string `json:"private"` // PKCS#8, to sign the fresh tokens with
}

type oauthMaterial struct {
	Keys   map[string]oauthKeyText `json:"keys"`
	Tokens map[string]string       `json:"tokens"`
}

// oauthMakeMaterial makes the keys and the tokens of oauthTokenSpecs.
func oauthMakeMaterial() (*oauthMaterial, error) {
	m, err := oauthRunPython(map[string]any{"keys": oauthKeys, "tokens": oauthTokenSpecs(time.Now().Unix())})
	if err != nil {
		return nil, err
	}
	for _, s := range oauthTokenSpecs(0) {
		if m.Tokens[s.Name] == "" {
			return nil, fmt.Errorf("python made no token %q", s.Name)
		}
	}
	return m, nil
}

// oauthRunPython runs oauthPython with the venv's interpreter on the request req.
func oauthRunPython(req any) (*oauthMaterial, error) {
	if err := resolveEnv(); err != nil {
		return nil, err
	}
	python := filepath.Join(env.root, "build", ".venv", "bin", "python")
	if _, err := os.Stat(python); err != nil {
		return nil, fmt.Errorf("%s is missing: run make pydeps (installs pyjwt and cryptography into build/.venv)", python)
	}
	in, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(python, "-c", oauthPython)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("python with PyJWT (make pydeps installs it): %v\n%s", err, stderr.Bytes())
	}
	var m oauthMaterial
	if err := json.Unmarshal(out, &m); err != nil {
		return nil, fmt.Errorf("python answered %q: %v", out, err)
	}
	return &m, nil
}

// oauthEnv is the file's one gateway and what its tests need to know about it.
type oauthEnv struct {
	g      *Gateway
	biz    *Upstream // backend of the business APIs
	authUp *Upstream // the customer's auth server, backend of the authorization APIs
	m      *oauthMaterial
}

const oauthHost = "oauth.example.com"

// oauthConfig renders the plugin configuration. Authorization APIs live under /auth/, the
// business APIs linked to them at the top level.
func oauthConfig(m *oauthMaterial) (string, error) {
	const header, cookie = "method.req.header.authorization", "method.req.header.cookie"
	httpTo := func(cluster, path string, timeout int) map[string]any {
		b := map[string]any{"type": "http", "cluster": cluster, "path": path}
		if timeout > 0 {
			b["timeout_seconds"] = timeout
		}
		return b
	}
	authAPI := func(id, path string, oc map[string]any, backend map[string]any) map[string]any {
		a := map[string]any{"id": id, "path": path, "business_type": "oauth", "backend": backend}
		if oc != nil {
			a["oauth_config"] = oc
		}
		return a
	}
	oc := func(key any, loc string) map[string]any {
		return map[string]any{"public_key": key, "token_location": loc}
	}
	jwk := func(name string) json.RawMessage { return json.RawMessage(m.Keys[name].JWK) }
	business := func(id, path, oauthAPI string) map[string]any {
		a := map[string]any{"id": id, "path": path, "auth": "oauth", "backend": httpTo("biz", "/svc"+path, 0)}
		if oauthAPI != "" {
			a["oauth_api"] = oauthAPI
		}
		return a
	}
	login := httpTo("authsrv", "/login", 0)
	apis := []any{
		authAPI("auth-rsa-jwk", "/auth/rsa-jwk", oc(jwk("rsa"), header), login),
		authAPI("auth-rsa-pem", "/auth/rsa-pem", oc(m.Keys["rsa"].PEM, header), login),
		authAPI("auth-rsa-pkcs1", "/auth/rsa-pkcs1", oc(m.Keys["rsa"].PKCS1, header), login),
		authAPI("auth-p256-jwk", "/auth/p256-jwk", oc(jwk("p256"), header), login),
		authAPI("auth-p256-pem", "/auth/p256-pem", oc(m.Keys["p256"].PEM, header), login),
		authAPI("auth-p384-jwk", "/auth/p384-jwk", oc(jwk("p384"), header), login),
		authAPI("auth-p521-pem", "/auth/p521-pem", oc(m.Keys["p521"].PEM, header), login),
		authAPI("auth-cookie", "/auth/cookie", oc(jwk("p256"), cookie), login),
		authAPI("auth-garbage", "/auth/garbage", oc("this is not a public key", header), login),
		authAPI("auth-location", "/auth/location", oc(jwk("rsa"), "method.req.query.id_token"), login),
		authAPI("auth-noconfig", "/auth/noconfig", nil, login),
		authAPI("auth-nokey", "/auth/nokey", map[string]any{"token_location": header}, login),
		authAPI("auth-emptykey", "/auth/emptykey", oc("", header), login),
		authAPI("auth-refused", "/auth/refused", oc(jwk("rsa"), header), httpTo("closed", "/login", 0)),
		authAPI("auth-slow", "/auth/slow", oc(jwk("rsa"), header), httpTo("stall", "/login", 1)),

		business("api-rsa-jwk", "/rsa-jwk", "auth-rsa-jwk"),
		business("api-rsa-pem", "/rsa-pem", "auth-rsa-pem"),
		business("api-rsa-pkcs1", "/rsa-pkcs1", "auth-rsa-pkcs1"),
		business("api-p256-jwk", "/p256-jwk", "auth-p256-jwk"),
		business("api-p256-pem", "/p256-pem", "auth-p256-pem"),
		business("api-p384-jwk", "/p384-jwk", "auth-p384-jwk"),
		business("api-p521-pem", "/p521-pem", "auth-p521-pem"),
		business("api-cookie", "/cookie", "auth-cookie"),
		business("api-broken-garbage", "/broken/garbage", "auth-garbage"),
		business("api-broken-location", "/broken/location", "auth-location"),
		business("api-broken-noconfig", "/broken/noconfig", "auth-noconfig"),
		business("api-broken-nokey", "/broken/nokey", "auth-nokey"),
		business("api-broken-emptykey", "/broken/emptykey", "auth-emptykey"),
		business("api-link-missing", "/link/missing", "auth-does-not-exist"),
		business("api-link-normal", "/link/normal", "api-open"),
		business("api-link-business", "/link/business", "api-rsa-jwk"),
		business("api-link-elsewhere", "/link/elsewhere", "auth-elsewhere"),
		business("api-link-none", "/link/none", ""),
		map[string]any{"id": "api-open", "path": "/open", "backend": map[string]any{"type": "mock", "body": `{"open":true}`}},
	}
	cfg := map[string]any{
		"oauth": map[string]any{"clock_skew_seconds": 60},
		"services": []any{
			map[string]any{"id": "service-oauth", "default_domain": oauthHost, "apis": apis},
			// An authorization API of another service: linking to it is no link.
			map[string]any{"id": "service-elsewhere", "default_domain": "elsewhere.example.com", "apis": []any{
				authAPI("auth-elsewhere", "/auth", oc(jwk("rsa"), header), login),
			}},
		},
	}
	b, err := json.Marshal(cfg)
	return string(b), err
}

func oauthSetup(t *testing.T) *oauthEnv {
	t.Helper()
	v, err := sharedValue("oauth-env", func() (any, error) {
		m, err := oauthMakeMaterial()
		if err != nil {
			return nil, err
		}
		conf, err := oauthConfig(m)
		if err != nil {
			return nil, err
		}
		e := &oauthEnv{m: m, biz: startUpstream(binaryOwner{}, nil), authUp: startUpstream(binaryOwner{}, nil)}
		// An upstream that answers only after the client gave up (timeout_seconds 1), or 10 s.
		stall := startUpstream(binaryOwner{}, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			w.WriteHeader(200)
		})
		// A port with nothing listening, kept bound: connections are refused.
		closed := closedPort(binaryOwner{})
		e.g, err = startGateway(binaryOwner{}, Options{
			PluginConfig: conf,
			Clusters:     map[string]string{"biz": e.biz.Addr, "authsrv": e.authUp.Addr, "stall": stall.Addr, "closed": closed},
		})
		if err != nil {
			return nil, fmt.Errorf("oauth gateway did not start: %v\n%s", err, e.g.logTail(60))
		}
		return e, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return v.(*oauthEnv)
}

func (e *oauthEnv) token(t *testing.T, name string) string {
	t.Helper()
	tok := e.m.Tokens[name]
	if spec, ok := oauthFreshSpec(name, time.Now().Unix()); ok {
		m, err := oauthRunPython(map[string]any{"private": map[string]string{spec.Key: e.m.Keys[spec.Key].Private}, "tokens": []oauthTokenSpec{spec}})
		if err != nil {
			t.Fatal(err)
		}
		tok = m.Tokens[name]
	}
	if tok == "" {
		t.Fatalf("no token %q", name)
	}
	return tok
}

func bearerIDToken(tok string) http.Header {
	return http.Header{"Authorization": {`Bearer id_token="` + tok + `"`}}
}

// oauthReject runs requests that the gateway must answer itself with status and message, and
// checks that none of them reached a backend.
type oauthReject struct {
	name   string
	path   string
	header http.Header
	status int
	msg    string
}

func (e *oauthEnv) rejectAll(t *testing.T, cases []oauthReject) {
	t.Helper()
	biz, auth := e.biz.Count(), e.authUp.Count()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.g.Do(t, Request{Host: oauthHost, Path: "/release" + c.path, Header: c.header})
			CheckResponse(t, r, Case{Status: c.status, Message: c.msg})
			checkGatewayReply(t, r)
		})
	}
	if n := e.biz.Count() - biz; n != 0 {
		t.Errorf("the business backend saw %d rejected requests", n)
	}
	if n := e.authUp.Count() - auth; n != 0 {
		t.Errorf("the auth server saw %d requests", n)
	}
}

// passes sends a request that must reach the business backend and returns what it received.
func (e *oauthEnv) passes(t *testing.T, path string, h http.Header) Record {
	t.Helper()
	r := e.g.Do(t, Request{Host: oauthHost, Path: "/release" + path, Header: h})
	if r.Status != 200 {
		t.Fatalf("got %d %q, want 200 from the backend\n%s", r.Status, r.Message(), r)
	}
	rec := DecodeEcho(t, r.Body)
	if want := "/svc" + path; rec.URI != want {
		t.Errorf("backend got %s, want %s", rec.URI, want)
	}
	if id := r.Header.Get("X-Api-Requestid"); !requestIDPattern.MatchString(id) || rec.Header.Get("X-Api-Requestid") != id {
		t.Errorf("request id %q, upstream saw %q", id, rec.Header.Get("X-Api-Requestid"))
	}
	return rec
}

// TestOAuthValidTokens: tokens PyJWT signed with every supported algorithm pass with the key
// as a JWK object and as PEM (SubjectPublicKeyInfo, and PKCS#1 for RSA), in both header forms,
// and the business backend receives the Authorization header unchanged.
func TestOAuthValidTokens(t *testing.T) {
	e := oauthSetup(t)
	type pass struct{ path, token string }
	var cases []pass
	for _, alg := range []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"} {
		cases = append(cases, pass{"/rsa-jwk", alg}, pass{"/rsa-pem", alg})
	}
	cases = append(cases,
		pass{"/rsa-pkcs1", "RS256"}, pass{"/rsa-pkcs1", "PS256"},
		pass{"/p256-jwk", "ES256"}, pass{"/p256-pem", "ES256"},
		pass{"/p384-jwk", "ES384"}, pass{"/p521-pem", "ES512"},
		pass{"/rsa-jwk", "exp inside skew"}, pass{"/rsa-pem", "nbf inside skew"}, pass{"/rsa-jwk", "no nbf"},
	)
	forms := []struct {
		name string
		fmt  string
	}{
		{"id_token quoted", `Bearer id_token="%s"`},
		{"bare", `Bearer %s`},
		{"id_token unquoted, lower-case scheme", `bearer id_token=%s`},
	}
	for _, c := range cases {
		for _, f := range forms {
			t.Run(c.token+" "+c.path+" "+f.name, func(t *testing.T) {
				auth := fmt.Sprintf(f.fmt, e.token(t, c.token))
				rec := e.passes(t, c.path, http.Header{"Authorization": {auth}})
				if got := rec.Header.Values("Authorization"); len(got) != 1 || got[0] != auth {
					t.Errorf("backend got Authorization %q, want it unchanged", got)
				}
			})
		}
	}
}

// TestOAuthCookieLocation: with token_location method.req.header.cookie the id_token cookie is
// the token, among other cookies too, and reaches the backend unchanged; the Authorization
// header takes no part.
func TestOAuthCookieLocation(t *testing.T) {
	e := oauthSetup(t)
	es := e.token(t, "ES256")
	for _, c := range []struct{ name, cookie, auth string }{
		{"alone", "id_token=" + es, ""},
		{"among others", "theme=dark; id_token=" + es + "; lang=en", ""},
		{"quoted", `id_token="` + es + `"`, ""},
		{"a bad Authorization beside it is ignored", "id_token=" + es, "Basic x"},
		{"an Authorization with another token beside it is ignored", "id_token=" + es, `Bearer id_token="` + e.token(t, "expired") + `"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{"Cookie": {c.cookie}}
			if c.auth != "" {
				h.Set("Authorization", c.auth)
			}
			rec := e.passes(t, "/cookie", h)
			if got := rec.Header.Values("Cookie"); len(got) != 1 || got[0] != c.cookie {
				t.Errorf("backend got Cookie %q, want %q", got, c.cookie)
			}
			if c.auth != "" && rec.Header.Get("Authorization") != c.auth {
				t.Errorf("backend got Authorization %q, want %q", rec.Header.Get("Authorization"), c.auth)
			}
		})
	}
	// An HTTP/1.1 client may split its cookies over several Cookie headers: the id_token is
	// found in any of them, and the backend gets them as sent.
	for _, c := range []struct {
		name    string
		cookies []string
	}{
		{"first of two Cookie headers", []string{"id_token=" + es, "theme=dark"}},
		{"second of two Cookie headers", []string{"theme=dark", "id_token=" + es}},
		{"after an empty id_token in another Cookie header", []string{"id_token=", "lang=en; id_token=" + es}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := e.passes(t, "/cookie", http.Header{"Cookie": c.cookies})
			if got := rec.Header.Values("Cookie"); strings.Join(got, "; ") != strings.Join(c.cookies, "; ") {
				t.Errorf("backend got Cookie %q, want %q", got, c.cookies)
			}
		})
	}
	const miss = "Oauth miss Oauth id_token."
	e.rejectAll(t, []oauthReject{
		{"no cookie", "/cookie", nil, 401, miss},
		{"no cookie, token in Authorization", "/cookie", bearerIDToken(es), 401, miss},
		{"other cookies only", "/cookie", http.Header{"Cookie": {"theme=dark; lang=en"}}, 401, miss},
		{"other cookies only, two Cookie headers", "/cookie", http.Header{"Cookie": {"theme=dark", "lang=en"}}, 401, miss},
		{"empty id_token cookie", "/cookie", http.Header{"Cookie": {"id_token="}}, 401, miss},
		{"cookie name is case-sensitive", "/cookie", http.Header{"Cookie": {"ID_TOKEN=" + es}}, 401, miss},
		{"expired token in the cookie", "/cookie", http.Header{"Cookie": {"id_token=" + e.token(t, "expired")}}, 401, "Oauth id_token verify error."},
		{"RSA token in the cookie of an EC key", "/cookie", http.Header{"Cookie": {"id_token=" + e.token(t, "RS256")}}, 401, "Oauth id_token verify error."},
	})
}

// TestOAuthHeaderErrors: every 401 row of the header location, and the header winning over the
// cookie when the location is the header.
func TestOAuthHeaderErrors(t *testing.T) {
	e := oauthSetup(t)
	rs := e.token(t, "RS256")
	e.rejectAll(t, []oauthReject{
		{"no Authorization", "/rsa-jwk", nil, 401, "Oauth found no authorization header."},
		{"no Authorization, token in a cookie", "/rsa-jwk", http.Header{"Cookie": {"id_token=" + rs}}, 401, "Oauth found no authorization header."},
		{"Basic", "/rsa-jwk", http.Header{"Authorization": {"Basic x"}}, 401, "Oauth authorization header format error."},
		{"hmac credential", "/rsa-pem", http.Header{"Authorization": {`hmac id="AKID", signature="x"`}}, 401, "Oauth authorization header format error."},
		{"token without a scheme", "/rsa-jwk", http.Header{"Authorization": {rs}}, 401, "Oauth authorization header format error."},
		{"unterminated quote", "/rsa-jwk", http.Header{"Authorization": {`Bearer id_token="` + rs}}, 401, "Oauth authorization header format error."},
		{"Bearer alone", "/rsa-jwk", http.Header{"Authorization": {"Bearer"}}, 401, "Oauth found no id_token."},
		{"Bearer and spaces", "/rsa-jwk", http.Header{"Authorization": {"Bearer   "}}, 401, "Oauth found no id_token."},
		{`Bearer id_token=""`, "/rsa-jwk", http.Header{"Authorization": {`Bearer id_token=""`}}, 401, "Oauth found no id_token."},
		{`Bearer id_token=`, "/p256-pem", http.Header{"Authorization": {`Bearer id_token=`}}, 401, "Oauth found no id_token."},
		// The header location reads only the header: a bad header fails even beside a good cookie.
		{"bad header beside a good cookie", "/rsa-jwk", http.Header{"Authorization": {"Basic x"}, "Cookie": {"id_token=" + rs}}, 401, "Oauth authorization header format error."},
		{"expired header token beside a good cookie", "/rsa-jwk", http.Header{"Authorization": {"Bearer " + e.token(t, "expired")}, "Cookie": {"id_token=" + rs}}, 401, "Oauth id_token verify error."},
	})

	// An empty Authorization header: written by hand, as Go's client may drop it.
	t.Run("empty Authorization", func(t *testing.T) {
		before := e.biz.Count()
		for _, v := range []string{"", "   "} {
			r := e.g.Raw(t, RawRequest{Data: "GET /release/rsa-jwk HTTP/1.1\r\nHost: " + oauthHost + "\r\nAuthorization:" + v + "\r\nConnection: close\r\n\r\n"})
			CheckResponse(t, r, Case{Status: 401, Message: "Oauth signature cannot be verified, a validate authorization header is required."})
			checkGatewayReply(t, r)
		}
		if e.biz.Count() != before {
			t.Error("the backend saw a request with an empty Authorization")
		}
	})

	// The header wins over the cookie: a good header passes whatever the cookie holds, and
	// both reach the backend unchanged.
	t.Run("good header beside a bad cookie", func(t *testing.T) {
		h := http.Header{"Authorization": {"Bearer " + rs}, "Cookie": {"id_token=garbage; x=1"}}
		rec := e.passes(t, "/rsa-jwk", h)
		if rec.Header.Get("Authorization") != "Bearer "+rs || rec.Header.Get("Cookie") != "id_token=garbage; x=1" {
			t.Errorf("backend got Authorization %q and Cookie %q", rec.Header.Get("Authorization"), rec.Header.Get("Cookie"))
		}
	})
}

// TestOAuthVerifyErrors: every token that must not pass answers 401 Oauth id_token verify error.
func TestOAuthVerifyErrors(t *testing.T) {
	e := oauthSetup(t)
	const bad = "Oauth id_token verify error."
	var cases []oauthReject
	add := func(name, path, token string) {
		cases = append(cases, oauthReject{name + " on " + path, path, bearerIDToken(token), 401, bad})
	}
	for _, path := range []string{"/rsa-jwk", "/rsa-pem"} {
		add("expired", path, e.token(t, "expired"))
		add("not yet valid", path, e.token(t, "not yet valid"))
		add("signed by another key", path, e.token(t, "RS256 wrong key"))
		add("tampered payload", path, e.token(t, "tampered RS256"))
		add("alg none", path, e.token(t, "alg none"))
		add("alg none keeping a signature", path, e.token(t, "alg none keeping a signature"))
		add("EC token for an RSA key", path, e.token(t, "ES256"))
		add("not a JWT", path, "not.a.jwt")
	}
	// The key-confusion attack: HS256 with the configured public key text as the HMAC secret.
	add("HS256 keyed with the configured PEM", "/rsa-pem", e.token(t, "HS256 keyed with RSA PEM"))
	add("HS256 keyed with the configured JWK", "/rsa-jwk", e.token(t, "HS256 keyed with RSA JWK"))
	add("HS256 keyed with the configured PEM", "/p256-pem", e.token(t, "HS256 keyed with EC PEM"))
	for _, path := range []string{"/p256-jwk", "/p256-pem"} {
		add("signed by another key", path, e.token(t, "ES256 wrong key"))
		add("tampered payload", path, e.token(t, "tampered ES256"))
		add("RSA token for an EC key", path, e.token(t, "RS256"))
		add("ES384 token for a P-256 key", path, e.token(t, "ES384"))
	}
	add("ES256 token for a P-384 key", "/p384-jwk", e.token(t, "ES256"))
	// The bare form is verified the same way.
	cases = append(cases, oauthReject{"bare expired", "/rsa-jwk", http.Header{"Authorization": {"Bearer " + e.token(t, "expired")}}, 401, bad})
	e.rejectAll(t, cases)
}

// TestOAuthRelatedAPI: a business API whose oauth_api names no authorization API of its
// service answers 401 Oauth found no related Oauth api., with or without a good token.
func TestOAuthRelatedAPI(t *testing.T) {
	e := oauthSetup(t)
	const msg = "Oauth found no related Oauth api."
	var cases []oauthReject
	for _, c := range []struct{ name, path string }{
		{"oauth_api names no API", "/link/missing"},
		{"oauth_api names a normal API", "/link/normal"},
		{"oauth_api names a business API", "/link/business"},
		{"oauth_api names another service's authorization API", "/link/elsewhere"},
		{"no oauth_api", "/link/none"},
	} {
		cases = append(cases,
			oauthReject{c.name + ", no token", c.path, nil, 401, msg},
			oauthReject{c.name + ", good token", c.path, bearerIDToken(e.token(t, "RS256")), 401, msg})
	}
	e.rejectAll(t, cases)
	// The authorization API of the other service works on its own domain.
	r := e.g.Do(t, Request{Host: "elsewhere.example.com", Path: "/release/auth"})
	if r.Status != 200 || DecodeEcho(t, r.Body).URI != "/login" {
		t.Errorf("other service's authorization API: %d\n%s", r.Status, r)
	}
}

// TestOAuthBrokenConfig: an authorization API whose oauth_config is broken answers its 481 to
// every request, and so does every business API linked to it; the other APIs keep working.
func TestOAuthBrokenConfig(t *testing.T) {
	e := oauthSetup(t)
	rs := bearerIDToken(e.token(t, "RS256"))
	var cases []oauthReject
	for _, c := range []struct{ name, msg string }{
		{"garbage", "Oauth public key error."},
		{"location", "Oauth id_token location forbidden."},
		{"noconfig", "Oauth found no oauth config."},
		{"nokey", "Oauth found no public key."},
		{"emptykey", "Oauth found no public key."},
	} {
		cases = append(cases,
			oauthReject{"authorization API " + c.name, "/auth/" + c.name, nil, 481, c.msg},
			oauthReject{"linked API " + c.name + ", no token", "/broken/" + c.name, nil, 481, c.msg},
			oauthReject{"linked API " + c.name + ", good token", "/broken/" + c.name, rs, 481, c.msg})
	}
	e.rejectAll(t, cases)

	// Beside them, the same configuration serves its other APIs.
	if r := e.g.Do(t, Request{Host: oauthHost, Path: "/release/open"}); r.Status != 200 || r.Body != `{"open":true}` {
		t.Errorf("mock API beside broken ones: %d\n%s", r.Status, r)
	}
	e.passes(t, "/rsa-jwk", rs)
	e.passes(t, "/p256-pem", bearerIDToken(e.token(t, "ES256")))
}

// TestOAuthAuthorizationAPI: requests to an authorization API itself go to its backend, the
// customer's auth server, with their headers; a refused connection or a timeout there answers
// 401 Oauth call authentication server fail.
func TestOAuthAuthorizationAPI(t *testing.T) {
	e := oauthSetup(t)
	t.Run("reaches the auth server", func(t *testing.T) {
		for _, path := range []string{"/auth/rsa-jwk/callback?code=abc&state=1", "/auth/cookie/callback?code=xyz"} {
			// No token needed, and a token or cookie present is passed on as it is.
			h := http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}, "Cookie": {"sid=1"}}
			r := e.g.Do(t, Request{Method: "POST", Host: oauthHost, Path: "/release" + path, Header: h, Body: "grant_type=authorization_code"})
			if r.Status != 200 {
				t.Fatalf("%s: %d\n%s", path, r.Status, r)
			}
			rec := DecodeEcho(t, r.Body)
			want := "/login" + strings.TrimPrefix(strings.TrimPrefix(path, "/auth/rsa-jwk"), "/auth/cookie")
			if rec.URI != want || rec.Method != "POST" || rec.Body != "grant_type=authorization_code" {
				t.Errorf("auth server got %s %s %q, want POST %s", rec.Method, rec.URI, rec.Body, want)
			}
			if rec.Header.Get("Authorization") != "Basic dXNlcjpwYXNz" || rec.Header.Get("Cookie") != "sid=1" {
				t.Errorf("auth server got Authorization %q Cookie %q", rec.Header.Get("Authorization"), rec.Header.Get("Cookie"))
			}
			if id := r.Header.Get("X-Api-Requestid"); !requestIDPattern.MatchString(id) || rec.Header.Get("X-Api-Requestid") != id {
				t.Errorf("request id %q, auth server saw %q", id, rec.Header.Get("X-Api-Requestid"))
			}
		}
	})
	const fail = "Oauth call authentication server fail."
	t.Run("connection refused", func(t *testing.T) {
		r := e.g.Do(t, Request{Host: oauthHost, Path: "/release/auth/refused"})
		CheckResponse(t, r, Case{Status: 401, Message: fail})
		checkGatewayReply(t, r)
	})
	t.Run("timeout", func(t *testing.T) {
		start := time.Now()
		r := e.g.Do(t, Request{Host: oauthHost, Path: "/release/auth/slow"})
		took := time.Since(start)
		CheckResponse(t, r, Case{Status: 401, Message: fail})
		checkGatewayReply(t, r)
		// timeout_seconds 1: the answer comes after about a second, not when the server gives up.
		if took < 900*time.Millisecond || took > 6*time.Second {
			t.Errorf("answered after %v, want about 1s", took)
		}
	})
}

// TestOAuthNoTokenInLogs: neither a token, nor its signature or payload, reaches Envoy's log,
// whether the token passed or failed, in the header or in a cookie.
func TestOAuthNoTokenInLogs(t *testing.T) {
	e := oauthSetup(t)
	send := func(path string, h http.Header) Response {
		return e.g.Do(t, Request{Host: oauthHost, Path: "/release" + path, Header: h})
	}
	for _, name := range []string{"RS256", "PS512", "expired", "tampered RS256", "HS256 keyed with RSA PEM", "alg none"} {
		send("/rsa-jwk", bearerIDToken(e.token(t, name)))
		send("/rsa-pem", http.Header{"Authorization": {"Bearer " + e.token(t, name)}})
		send("/broken/garbage", bearerIDToken(e.token(t, name)))
	}
	send("/cookie", http.Header{"Cookie": {"id_token=" + e.token(t, "ES256")}})
	send("/cookie", http.Header{"Cookie": {"id_token=" + e.token(t, "tampered ES256")}})
	last := send("/cookie", http.Header{"Cookie": {"id_token=" + e.token(t, "ES256 wrong key")}})
	if last.Status != 401 {
		t.Fatalf("last request: %d %q", last.Status, last.Message())
	}
	// The last rejection's log line is written: everything before it is in the log too.
	e.g.WaitLog(t, "request_id="+last.Header.Get("X-Api-Requestid"), 10*time.Second)
	logs := e.g.Logs()
	if !strings.Contains(logs, `message="Oauth id_token verify error."`) {
		t.Fatal("the log has no OAuth rejection: is the plugin logging at info?")
	}
	for name, tok := range e.m.Tokens {
		parts := strings.Split(tok, ".")
		for i, p := range parts {
			if len(p) < 16 { // the empty signature of alg none
				continue
			}
			if strings.Contains(logs, p) {
				t.Errorf("part %d of token %q is in the log", i, name)
			}
		}
	}
}
