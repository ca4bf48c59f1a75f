package hmacauth

import (
	"strings"
	"testing"
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/reply"
)

// The example key pair of Tencent's key-pair authentication documentation.
const (
	testID  = "AKIDCgOPWjQ6BAxvHtyckhWABJVYSBj548pN"
	testKey = "ZxF2whO0RhuwnVCj5JMMAuqcDcN2oPrC"
	xDate   = "Mon, 19 Mar 2018 12:08:40 GMT"
	oldDate = "Fri, 09 Oct 2015 00:00:00 GMT"
	// HMAC-SHA256 of "x-date: <xDate>\nsource: AndriodApp" (the worked example of docs/gateway.md
	// section 5).
	sigXS256 = "XstRlcp2koYtMsnM/P8Wb15aEJSwopPZ04sJVaG+LOQ="
)

var testNow = time.Date(2018, 3, 19, 12, 8, 40, 0, time.UTC)

// request is a Request over a header map whose names are lowercase, as Envoy gives them.
type request struct {
	method, path string
	header       map[string][]string
}

func (r *request) Values(name string) []string { return r.header[name] }
func (r *request) Method() string              { return r.method }
func (r *request) Path() string                { return r.path }

// newRequest returns a GET of path with the headers of the name, value pairs kv.
func newRequest(path string, kv ...string) *request {
	r := &request{method: "GET", path: path, header: map[string][]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		r.add(kv[i], kv[i+1])
	}
	return r
}

func (r *request) add(name, value string) *request {
	name = strings.ToLower(name)
	r.header[name] = append(r.header[name], value)
	return r
}

func (r *request) set(name, value string) *request {
	r.header[strings.ToLower(name)] = []string{value}
	return r
}

func (r *request) del(name string) *request {
	delete(r.header, strings.ToLower(name))
	return r
}

// sign sets r's Authorization to c signed with key, failing t if Sign refuses.
func sign(t testing.TB, r *request, c Credential, key string) *request {
	t.Helper()
	a, err := Sign(r, c, []byte(key))
	if err != nil {
		t.Fatalf("Sign(%+v): %v", c, err)
	}
	return r.set("authorization", a)
}

func testVerifier() *Verifier {
	return &Verifier{Lookup: func(id string) ([]byte, bool) {
		if id == testID {
			return []byte(testKey), true
		}
		// "AKIDdisabled" stands for a known but disabled key: the caller says not ok.
		return nil, false
	}}
}

func checkVerify(t *testing.T, v *Verifier, r Request, now time.Time, want reply.Code, wantArg string) {
	t.Helper()
	id, err := v.Verify(r, now)
	switch {
	case want == reply.None && err != nil:
		t.Errorf("got %q, want success", err.Error())
	case want == reply.None && id != testID:
		t.Errorf("got secret id %q, want %q", id, testID)
	case want != reply.None && err == nil:
		t.Errorf("got success, want %q", want.Message(wantArg))
	case want != reply.None && (err.Code != want || err.Arg != wantArg || id != ""):
		t.Errorf("got %q (id %q), want %q", err.Error(), id, want.Message(wantArg))
	}
}

// Signatures computed independently of this package with Python's hmac module and checked
// against OpenSSL, e.g.
//
//	python3 -c 'import hmac,hashlib,base64,sys; print(base64.b64encode(hmac.new(
//	  b"ZxF2whO0RhuwnVCj5JMMAuqcDcN2oPrC", sys.argv[1].encode(), hashlib.sha384).digest()).decode())' \
//	  "$(printf 'x-date: Mon, 19 Mar 2018 12:08:40 GMT\nsource: AndriodApp')"
//	printf 'x-date: Mon, 19 Mar 2018 12:08:40 GMT\nsource: AndriodApp' |
//	  openssl dgst -sha384 -hmac ZxF2whO0RhuwnVCj5JMMAuqcDcN2oPrC -binary | base64 -w0
//
// The sha1 and sha256 rows of the first two groups are those of docs/gateway.md section 5 and of
// the reference.
func TestKnownAnswers(t *testing.T) {
	const reqPath = "/release/v1/users?id=7&q=a%20b"
	tests := []struct {
		headers   string
		kv        []string
		now       time.Time
		algorithm string
		signature string
	}{
		{"x-date source", []string{"X-Date", xDate, "Source", "AndriodApp"}, testNow, "hmac-sha1", "NI05zGaK4h8BfAh6EQ05ZJ2vG4k="},
		{"x-date source", []string{"X-Date", xDate, "Source", "AndriodApp"}, testNow, "hmac-sha256", sigXS256},
		{"x-date source", []string{"X-Date", xDate, "Source", "AndriodApp"}, testNow, "hmac-sha384", "wSryTXKUGLMc+MrN9ARdUzlGAXzN9lUkyr4Co92NYb+YKdO0UJCeCac5UNZ6mXor"},
		{"x-date source", []string{"X-Date", xDate, "Source", "AndriodApp"}, testNow, "hmac-sha512", "azFMCGbauINNCF1jtlXxr9R+FEydBa8bysyzPH8plg8aRmp0mccYEy6kSPPAiVGs98y4HhQzu79xcGbYt/ruaA=="},

		{"date source", []string{"Date", oldDate, "Source", "AndriodApp"}, time.Date(2015, 10, 9, 0, 0, 0, 0, time.UTC), "hmac-sha1", "zJ1fUmiWSmSZUoqgZi+dGUJvxn0="},
		{"date source", []string{"Date", oldDate, "Source", "AndriodApp"}, time.Date(2015, 10, 9, 0, 0, 0, 0, time.UTC), "hmac-sha256", "P6FsmuKopyHp3tBPMSjBX/N2PG3dOU6NE0LVHAFfeFk="},
		{"date source", []string{"Date", oldDate, "Source", "AndriodApp"}, time.Date(2015, 10, 9, 0, 0, 0, 0, time.UTC), "hmac-sha384", "kzSkzNIpe60asglie56TdR1xRaY/BhTrtCl+4NMut3ZjbZ0K++lOFKvJ5L3APdH2"},
		{"date source", []string{"Date", oldDate, "Source", "AndriodApp"}, time.Date(2015, 10, 9, 0, 0, 0, 0, time.UTC), "hmac-sha512", "2VujF0ZqeLRgQ/f7FhOiTvJB7bOvUCZHo1/aAiO8hYTg0tIvzhxKIjepwCM4DleQ0KMydlC2u96vgTl2TJZlXg=="},

		// Signing string "x-date: <xDate>\nGET <reqPath> HTTP/1.1\nsource: AndriodApp".
		{"x-date request-line source", []string{"X-Date", xDate, "Source", "AndriodApp"}, testNow, "hmac-sha1", "5QLILM0xroc4xJUEZUZMGqSftLM="},
		{"x-date request-line source", []string{"X-Date", xDate, "Source", "AndriodApp"}, testNow, "hmac-sha256", "HLXeKIpcoUtP9WfnuxfKtTGYvjjzV7jthbrUhpeJG5s="},
		{"x-date request-line source", []string{"X-Date", xDate, "Source", "AndriodApp"}, testNow, "hmac-sha384", "wN7GIPH4ZqPM7+gehI2pSlL6cyZNfSG2J2ivBjGfELUX6TOoK0E7yXl4tX3PuO4z"},
		{"x-date request-line source", []string{"X-Date", xDate, "Source", "AndriodApp"}, testNow, "hmac-sha512", "Q21SN0ly+mOjRCfeBt52VJzPC1ZDV//hZ6LUc05Y7RUh2wODcxy+6+6WbzNDLPVujrmkH6lf2IWxN6npJaw8Og=="},
	}
	for _, tt := range tests {
		c := Credential{ID: testID, Algorithm: tt.algorithm, Headers: tt.headers}
		r := newRequest(reqPath, tt.kv...)
		got, err := Sign(r, c, []byte(testKey))
		c.Signature = tt.signature
		if want := c.Encode(); err != nil || got != want {
			t.Errorf("%s %q: Sign = %q, %v; want %q", tt.algorithm, tt.headers, got, err, want)
		}
		r.set("authorization", c.Encode())
		checkVerify(t, testVerifier(), r, tt.now, reply.None, "")
	}
}

func TestVerify(t *testing.T) {
	base := Credential{ID: testID, Algorithm: "hmac-sha256", Headers: "x-date source"}
	with := func(f func(*Credential)) Credential { c := base; f(&c); return c }
	// plain has x-date and source and no Authorization.
	plain := func() *request { return newRequest("/release/users?x=1", "X-Date", xDate, "Source", "AndriodApp") }
	// good is plain signed with base, sigXS256.
	good := func() *request { return sign(t, plain(), base, testKey) }
	withAuth := func(a string) *request { return plain().set("authorization", a) }
	auth := func(params string) *request { return withAuth("hmac " + params) }
	const (
		idP   = `id="` + testID + `"`
		algP  = `algorithm="hmac-sha256"`
		hdrP  = `headers="x-date source"`
		sigP  = `signature="` + sigXS256 + `"`
		valid = `hmac ` + idP + `, ` + algP + `, ` + hdrP + `, ` + sigP
	)

	tests := []struct {
		name string
		r    *request
		now  time.Time // testNow if zero
		want reply.Code
		arg  string
	}{
		{name: "known answer", r: withAuth(valid)},
		{name: "scheme any case, free spacing", r: withAuth("  HMAC \t" + idP + " ,  " + algP + "\t,headers = \"x-date source\" ," + sigP + "  ")},
		{name: "keys any case and order, unknown keys ignored", r: auth(`Signature="` + sigXS256 + `", realm="x", HEADERS="x-date source", realm="y", Id="` + testID + `", ALGORITHM="hmac-sha256", x=""`)},
		{name: "header names any case, extra spaces", r: auth(idP + `, ` + algP + `, headers=" X-Date   SOURCE ", ` + sigP)},
		{name: "date instead of x-date", r: sign(t, newRequest("/", "Date", xDate, "Source", "AndriodApp"), with(func(c *Credential) { c.Headers = "date source" }), testKey)},
		{name: "x-date decides, unusable date ignored", r: good().set("date", "yesterday")},
		{name: "signed date decides, unsigned x-date ignored", r: sign(t, newRequest("/", "Date", xDate, "Source", "s"), with(func(c *Credential) { c.Headers = "date source" }), testKey).set("x-date", "garbage")},
		{name: "request-line signed; a real request-line header changes nothing", r: sign(t, plain().set("request-line", "x"), with(func(c *Credential) { c.Headers = "request-line x-date" }), testKey).set("request-line", "y")},
		{name: "empty signed value", r: sign(t, plain().set("source", ""), base, testKey)},
		{name: "unsigned header repeated", r: good().add("accept", "a").add("accept", "b")},
		{name: "x-date at the window's past edge", r: good(), now: testNow.Add(DefaultClockSkew)},
		{name: "x-date at the window's future edge", r: good(), now: testNow.Add(-DefaultClockSkew)},
		{name: "one-digit day", r: sign(t, plain().set("x-date", "Fri, 9 Mar 2018 12:08:40 GMT"), base, testKey), now: time.Date(2018, 3, 9, 12, 8, 40, 0, time.UTC)},

		// Check 2.
		{name: "no authorization", r: plain(), want: reply.HMACFormatError},
		{name: "empty authorization", r: withAuth(""), want: reply.HMACFormatError},
		{name: "other scheme", r: withAuth("Basic QWxhZGRpbjpvcGVu"), want: reply.HMACFormatError},
		{name: "scheme alone", r: withAuth("hmac"), want: reply.HMACFormatError},
		{name: "scheme and spaces", r: withAuth("hmac   "), want: reply.HMACFormatError},
		{name: "no space after scheme", r: withAuth(`hmacid="x", ` + algP + `, ` + hdrP + `, ` + sigP), want: reply.HMACFormatError},
		{name: "scheme prefix", r: withAuth(`hmac-sha1 ` + idP), want: reply.HMACFormatError},
		{name: "unquoted value", r: auth(`id=` + testID + `, ` + algP + `, ` + hdrP + `, ` + sigP), want: reply.HMACFormatError},
		{name: "no comma", r: auth(idP + ` ` + algP + `, ` + hdrP + `, ` + sigP), want: reply.HMACFormatError},
		{name: "trailing comma", r: withAuth(valid + ","), want: reply.HMACFormatError},
		{name: "empty element", r: auth(idP + `, , ` + algP + `, ` + hdrP + `, ` + sigP), want: reply.HMACFormatError},
		{name: "leading comma", r: auth(`, ` + idP + `, ` + algP + `, ` + hdrP + `, ` + sigP), want: reply.HMACFormatError},
		{name: "known key twice", r: auth(idP + `, ` + algP + `, ` + hdrP + `, ` + sigP + `, id="other"`), want: reply.HMACFormatError},
		{name: "known key twice, other case", r: auth(idP + `, ` + algP + `, ` + hdrP + `, ` + sigP + `, Signature="x"`), want: reply.HMACFormatError},
		{name: "no key", r: auth(`="x", ` + idP), want: reply.HMACFormatError},
		{name: "unterminated quote", r: auth(idP + `, ` + algP + `, ` + hdrP + `, signature="abc`), want: reply.HMACFormatError},
		{name: "backslash escape", r: auth(`id="a\"b", ` + algP + `, ` + hdrP + `, ` + sigP), want: reply.HMACFormatError},
		{name: "control byte in value", r: auth(`id="a` + "\x01" + `", ` + algP + `, ` + hdrP + `, ` + sigP), want: reply.HMACFormatError},
		{name: "text after a value", r: auth(idP + `x, ` + algP + `, ` + hdrP + `, ` + sigP), want: reply.HMACFormatError},
		{name: "scheme twice", r: withAuth(`hmac ` + valid), want: reply.HMACFormatError},
		{name: "dangling scheme after comma", r: withAuth(valid + `, hmac`), want: reply.HMACFormatError},

		// Check 3.
		{name: "no id", r: auth(algP + `, ` + hdrP + `, ` + sigP), want: reply.HMACIDOrSignatureMissing},
		{name: "empty id", r: auth(`id="", ` + algP + `, ` + hdrP + `, ` + sigP), want: reply.HMACIDOrSignatureMissing},
		{name: "no signature", r: auth(idP + `, ` + algP + `, ` + hdrP), want: reply.HMACIDOrSignatureMissing},
		{name: "empty signature", r: auth(idP + `, ` + algP + `, ` + hdrP + `, signature=""`), want: reply.HMACIDOrSignatureMissing},
		{name: "no algorithm", r: auth(idP + `, ` + hdrP + `, ` + sigP), want: reply.HMACHeadersInvalid},
		{name: "empty algorithm", r: auth(idP + `, algorithm="", ` + hdrP + `, ` + sigP), want: reply.HMACHeadersInvalid},
		{name: "no headers", r: auth(idP + `, ` + algP + `, ` + sigP), want: reply.HMACHeadersInvalid},
		{name: "empty headers", r: auth(idP + `, ` + algP + `, headers="", ` + sigP), want: reply.HMACHeadersInvalid},
		{name: "blank headers", r: auth(idP + `, ` + algP + `, headers="  ", ` + sigP), want: reply.HMACHeadersInvalid},
		{name: "headers without a date", r: auth(idP + `, ` + algP + `, headers="source request-line", ` + sigP), want: reply.HMACHeadersInvalid},
		{name: "headers with x-dates only", r: auth(idP + `, ` + algP + `, headers="x-dates source", ` + sigP), want: reply.HMACHeadersInvalid},

		// Check 4.
		{name: "md5", r: auth(idP + `, algorithm="hmac-md5", ` + hdrP + `, ` + sigP), want: reply.HMACAlgorithmNotSupported, arg: "hmac-md5"},
		{name: "algorithm case matters", r: auth(idP + `, algorithm="HMAC-SHA256", ` + hdrP + `, ` + sigP), want: reply.HMACAlgorithmNotSupported, arg: "HMAC-SHA256"},
		{name: "algorithm kept as given", r: auth(idP + `, algorithm=" <sha256>&' ", ` + hdrP + `, ` + sigP), want: reply.HMACAlgorithmNotSupported, arg: " <sha256>&' "},
		{name: "bare hash name", r: auth(idP + `, algorithm="sha256", ` + hdrP + `, ` + sigP), want: reply.HMACAlgorithmNotSupported, arg: "sha256"},

		// Check 5.
		{name: "two authorization headers", r: good().add("authorization", valid), want: reply.HMACMultipleHeader},
		{name: "two credentials joined by Envoy", r: withAuth(valid + "," + valid), want: reply.HMACMultipleHeader},
		{name: "two credentials joined, second malformed", r: withAuth(valid + `, HMAC id="x`), want: reply.HMACMultipleHeader},
		{name: "x-date repeated", r: good().add("x-date", xDate), want: reply.HMACMultipleHeader},
		{name: "unsigned date repeated", r: good().add("date", xDate).add("date", xDate), want: reply.HMACMultipleHeader},
		{name: "signed header repeated", r: good().add("source", "AndriodApp"), want: reply.HMACMultipleHeader},
		{name: "signed header repeated, name case", r: auth(idP+`, `+algP+`, headers="x-date Source", `+sigP).add("source", "x"), want: reply.HMACMultipleHeader},

		// Check 6.
		{name: "x-date not a date", r: good().set("x-date", "yesterday"), want: reply.HMACXDateInvalid},
		{name: "x-date empty", r: good().set("x-date", ""), want: reply.HMACXDateInvalid},
		{name: "x-date RFC 850", r: good().set("x-date", "Monday, 19-Mar-18 12:08:40 GMT"), want: reply.HMACXDateInvalid},
		{name: "x-date asctime", r: good().set("x-date", "Mon Mar 19 12:08:40 2018"), want: reply.HMACXDateInvalid},
		{name: "x-date numeric zone", r: good().set("x-date", "Mon, 19 Mar 2018 12:08:40 +0000"), want: reply.HMACXDateInvalid},
		{name: "x-date lowercase month", r: good().set("x-date", "Mon, 19 mar 2018 12:08:40 GMT"), want: reply.HMACXDateInvalid},
		{name: "x-date 31 April", r: good().set("x-date", "Tue, 31 Apr 2018 12:08:40 GMT"), want: reply.HMACXDateInvalid},
		{name: "x-date bad, date good", r: good().set("x-date", "soon").set("date", xDate), want: reply.HMACXDateInvalid},
		{name: "x-date too old", r: good(), now: testNow.Add(DefaultClockSkew + time.Second), want: reply.HMACXDateOutOfDate},
		{name: "x-date too new", r: good(), now: testNow.Add(-DefaultClockSkew - time.Second), want: reply.HMACXDateOutOfDate},
		{name: "x-date in year 9999", r: good().set("x-date", "Fri, 31 Dec 9999 23:59:59 GMT"), want: reply.HMACXDateOutOfDate},
		{name: "x-date in year 1", r: good().set("x-date", "Mon, 01 Jan 0001 00:00:00 GMT"), want: reply.HMACXDateOutOfDate},
		{name: "x-date stale, date fresh", r: good().set("date", "Mon, 19 Mar 2018 13:08:40 GMT"), now: testNow.Add(time.Hour), want: reply.HMACXDateOutOfDate},
		{name: "date too old", r: sign(t, newRequest("/", "Date", xDate, "Source", "s"), with(func(c *Credential) { c.Headers = "date source" }), testKey), now: testNow.Add(time.Hour), want: reply.HMACXDateOutOfDate},
		{name: "date not a date", r: good().del("x-date").set("date", "yesterday"), want: reply.HMACDateRequired},
		{name: "neither date", r: good().del("x-date"), want: reply.HMACDateRequired},
		{name: "only an unsigned x-date", r: auth(idP + `, ` + algP + `, headers="date source", ` + sigP), want: reply.HMACDateRequired},
		{name: "stale unsigned date ignored", r: good().del("x-date").set("date", oldDate), want: reply.HMACDateRequired},
		{name: "fresh unsigned date ignored", r: good().del("x-date").set("date", xDate), want: reply.HMACDateRequired},
		{name: "replay: stale signed date, fresh unsigned x-date", r: sign(t, newRequest("/", "Date", oldDate, "Source", "s"), with(func(c *Credential) { c.Headers = "date source" }), testKey).set("x-date", xDate), want: reply.HMACXDateOutOfDate},

		// Check 7.
		{name: "signed header absent", r: auth(idP + `, ` + algP + `, headers="x-date source x-token", ` + sigP), want: reply.HMACHeaderRequired, arg: "x-token"},
		{name: "signed header absent, name as given", r: auth(idP + `, ` + algP + `, headers="x-date X-Token source", ` + sigP), want: reply.HMACHeaderRequired, arg: "X-Token"},
		{name: "signed date absent, x-date signed too", r: auth(idP + `, ` + algP + `, headers="x-date date source", ` + sigP), want: reply.HMACHeaderRequired, arg: "date"},

		// Check 8.
		{name: "unknown id", r: auth(`id="AKIDunknown", ` + algP + `, ` + hdrP + `, ` + sigP), want: reply.HMACCannotVerify},
		{name: "disabled id", r: auth(`id="AKIDdisabled", ` + algP + `, ` + hdrP + `, ` + sigP), want: reply.HMACCannotVerify},

		// Check 9.
		{name: "other signature", r: auth(idP + `, ` + algP + `, ` + hdrP + `, signature="P6FsmuKopyHp3tBPMSjBX/N2PG3dOU6NE0LVHAFfeFk="`), want: reply.HMACSignatureMismatch},
		{name: "not base64", r: auth(idP + `, ` + algP + `, ` + hdrP + `, signature="!!!"`), want: reply.HMACSignatureMismatch},
		{name: "unpadded", r: auth(idP + `, ` + algP + `, ` + hdrP + `, signature="` + strings.TrimRight(sigXS256, "=") + `"`), want: reply.HMACSignatureMismatch},
		{name: "URL alphabet", r: auth(idP + `, ` + algP + `, ` + hdrP + `, signature="XstRlcp2koYtMsnM_P8Wb15aEJSwopPZ04sJVaG-LOQ="`), want: reply.HMACSignatureMismatch},
		{name: "non-zero pad bits", r: auth(idP + `, ` + algP + `, ` + hdrP + `, signature="XstRlcp2koYtMsnM/P8Wb15aEJSwopPZ04sJVaG+LOR="`), want: reply.HMACSignatureMismatch},
		{name: "valid sha512 signature then more", r: auth(idP + `, algorithm="hmac-sha512", ` + hdrP + `, signature="azFMCGbauINNCF1jtlXxr9R+FEydBa8bysyzPH8plg8aRmp0mccYEy6kSPPAiVGs98y4HhQzu79xcGbYt/ruaA==AAAA"`), want: reply.HMACSignatureMismatch},
		{name: "trailing space", r: auth(idP + `, ` + algP + `, ` + hdrP + `, signature="` + sigXS256 + ` "`), want: reply.HMACSignatureMismatch},
		{name: "sha1 value under sha256", r: auth(idP + `, ` + algP + `, ` + hdrP + `, signature="NI05zGaK4h8BfAh6EQ05ZJ2vG4k="`), want: reply.HMACSignatureMismatch},
		{name: "other key", r: sign(t, plain(), base, "not the key"), want: reply.HMACSignatureMismatch},
		{name: "signed value changed", r: good().set("source", "AndroidApp"), want: reply.HMACSignatureMismatch},
		{name: "signed header order changed", r: auth(idP + `, ` + algP + `, headers="source x-date", ` + sigP), want: reply.HMACSignatureMismatch},
		{name: "path changed under request-line", r: func() *request {
			r := sign(t, plain(), with(func(c *Credential) { c.Headers = "x-date request-line" }), testKey)
			r.path = "/release/users?x=2"
			return r
		}(), want: reply.HMACSignatureMismatch},
		{name: "method changed under request-line", r: func() *request {
			r := sign(t, plain(), with(func(c *Credential) { c.Headers = "x-date request-line" }), testKey)
			r.method = "POST"
			return r
		}(), want: reply.HMACSignatureMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := tt.now
			if now.IsZero() {
				now = testNow
			}
			checkVerify(t, testVerifier(), tt.r, now, tt.want, tt.arg)
		})
	}
}

// TestPrecedence gives requests two problems each: the earlier check answers.
func TestPrecedence(t *testing.T) {
	const (
		idP   = `id="` + testID + `"`
		algP  = `algorithm="hmac-sha256"`
		hdrP  = `headers="x-date source"`
		sigP  = `signature="` + sigXS256 + `"`
		valid = `hmac ` + idP + `, ` + algP + `, ` + hdrP + `, ` + sigP
	)
	req := func(auth string) *request {
		return newRequest("/", "X-Date", xDate, "Source", "AndriodApp", "Authorization", auth)
	}
	tests := []struct {
		name string
		r    *request
		now  time.Time
		want reply.Code
		arg  string
	}{
		{"2 before 5: first of two values malformed", req(`hmac id=x`).add("authorization", valid), testNow, reply.HMACFormatError, ""},
		{"2 before 6", req(`hmac id=x`).del("x-date"), testNow, reply.HMACFormatError, ""},
		{"3 id before 3 headers", req(`hmac ` + algP + `, headers="source", ` + sigP), testNow, reply.HMACIDOrSignatureMissing, ""},
		{"3 before 4", req(`hmac ` + idP + `, algorithm="hmac-md5", ` + hdrP), testNow, reply.HMACIDOrSignatureMissing, ""},
		{"3 headers before 4", req(`hmac ` + idP + `, algorithm="hmac-md5", headers="source", ` + sigP), testNow, reply.HMACHeadersInvalid, ""},
		{"4 before 5", req(`hmac `+idP+`, algorithm="hmac-md5", `+hdrP+`, `+sigP).add("x-date", xDate), testNow, reply.HMACAlgorithmNotSupported, "hmac-md5"},
		{"4 before 5, joined credentials", req(`hmac ` + idP + `, algorithm="hmac-md5", ` + hdrP + `, ` + sigP + `,` + valid), testNow, reply.HMACAlgorithmNotSupported, "hmac-md5"},
		{"5 before 6", req(valid).add("source", "x"), testNow.Add(time.Hour), reply.HMACMultipleHeader, ""},
		{"5 before 6, bad x-date repeated", req(valid).set("x-date", "x").add("x-date", "y"), testNow, reply.HMACMultipleHeader, ""},
		{"6 before 7", req(`hmac ` + idP + `, ` + algP + `, headers="x-date x-token", ` + sigP), testNow.Add(time.Hour), reply.HMACXDateOutOfDate, ""},
		{"6 before 7, no date at all", req(`hmac ` + idP + `, ` + algP + `, headers="date source", ` + sigP).del("x-date"), testNow, reply.HMACDateRequired, ""},
		{"7 before 8", req(`hmac id="AKIDunknown", ` + algP + `, headers="x-date x-token", ` + sigP), testNow, reply.HMACHeaderRequired, "x-token"},
		{"8 before 9", req(`hmac id="AKIDunknown", ` + algP + `, ` + hdrP + `, signature="AAAA"`), testNow, reply.HMACCannotVerify, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkVerify(t, testVerifier(), tt.r, tt.now, tt.want, tt.arg)
		})
	}
}

// TestEveryCheckInTurn starts from a request failing every check at once and mends one
// problem at a time: each step must move on to the next check's message.
func TestEveryCheckInTurn(t *testing.T) {
	c := Credential{Algorithm: "hmac-md5", Headers: "source x-token", Signature: "AAAA"}
	r := newRequest("/", "X-Date", "Sun, 18 Mar 2018 12:08:40 GMT", "Source", "a", "Source", "b",
		"Authorization", `hmac id=`)
	// edit changes c and sends it.
	edit := func(f func()) func() { return func() { f(); r.set("authorization", c.Encode()) } }
	steps := []struct {
		want reply.Code
		arg  string
		mend func()
	}{
		{reply.HMACFormatError, "", edit(func() {})},
		{reply.HMACIDOrSignatureMissing, "", edit(func() { c.ID = "AKIDunknown" })},
		{reply.HMACHeadersInvalid, "", edit(func() { c.Headers = "x-date source x-token" })},
		{reply.HMACAlgorithmNotSupported, "hmac-md5", edit(func() { c.Algorithm = "hmac-sha256" })},
		{reply.HMACMultipleHeader, "", func() { r.set("source", "AndriodApp") }},
		{reply.HMACXDateOutOfDate, "", func() { r.set("x-date", xDate) }},
		{reply.HMACHeaderRequired, "x-token", func() { r.set("x-token", "t") }},
		{reply.HMACCannotVerify, "", edit(func() { c.ID = testID })},
		{reply.HMACSignatureMismatch, "", func() { sign(t, r, c, testKey) }},
		{reply.None, "", nil},
	}
	for _, s := range steps {
		checkVerify(t, testVerifier(), r, testNow, s.want, s.arg)
		if s.mend != nil {
			s.mend()
		}
	}
}

func TestClockSkew(t *testing.T) {
	v := testVerifier()
	v.ClockSkew = 10 * time.Second
	r := sign(t, newRequest("/", "X-Date", xDate, "Source", "s"), Credential{ID: testID, Algorithm: "hmac-sha1", Headers: "x-date source"}, testKey)
	checkVerify(t, v, r, testNow.Add(10*time.Second), reply.None, "")
	checkVerify(t, v, r, testNow.Add(-10*time.Second), reply.None, "")
	checkVerify(t, v, r, testNow.Add(11*time.Second), reply.HMACXDateOutOfDate, "")
	checkVerify(t, v, r, testNow.Add(-11*time.Second), reply.HMACXDateOutOfDate, "")
	// Sub-second parts of now count: the window is exact, not rounded to seconds.
	checkVerify(t, v, r, testNow.Add(10*time.Second+time.Nanosecond), reply.HMACXDateOutOfDate, "")
}

func TestNilLookup(t *testing.T) {
	r := sign(t, newRequest("/", "X-Date", xDate), Credential{ID: testID, Algorithm: "hmac-sha1", Headers: "x-date"}, testKey)
	checkVerify(t, &Verifier{}, r, testNow, reply.HMACCannotVerify, "")
}

func TestSignRefuses(t *testing.T) {
	r := newRequest("/", "X-Date", xDate, "Source", "a", "Twice", "1", "Twice", "2")
	tests := []struct {
		name string
		c    Credential
	}{
		{"no id", Credential{Algorithm: "hmac-sha1", Headers: "x-date"}},
		{"no algorithm", Credential{ID: testID, Headers: "x-date"}},
		{"unsupported algorithm", Credential{ID: testID, Algorithm: "hmac-md5", Headers: "x-date"}},
		{"no date named", Credential{ID: testID, Algorithm: "hmac-sha1", Headers: "source"}},
		{"header absent", Credential{ID: testID, Algorithm: "hmac-sha1", Headers: "x-date x-token"}},
		{"header repeated", Credential{ID: testID, Algorithm: "hmac-sha1", Headers: "x-date twice"}},
		{"quote in id", Credential{ID: `a"b`, Algorithm: "hmac-sha1", Headers: "x-date"}},
		{"newline in headers", Credential{ID: testID, Algorithm: "hmac-sha1", Headers: "x-date\nsource"}},
	}
	for _, tt := range tests {
		a, err := Sign(r, tt.c, []byte(testKey))
		if err == nil {
			t.Errorf("%s: Sign = %q, want an error", tt.name, a)
		} else if strings.Contains(err.Error(), testKey) {
			t.Errorf("%s: the error %q holds the key", tt.name, err)
		}
	}
}

func TestVerifyAllocations(t *testing.T) {
	r := sign(t, newRequest("/release/users?x=1", "X-Date", xDate, "Source", "AndriodApp"),
		Credential{ID: testID, Algorithm: "hmac-sha256", Headers: "x-date request-line source"}, testKey)
	v := testVerifier()
	n := testing.AllocsPerRun(100, func() {
		if _, err := v.Verify(r, testNow); err != nil {
			t.Fatal(err)
		}
	})
	// hmac.New costs 6 and the signing string 1; parsing and the date cost none.
	if n > 7 {
		t.Errorf("Verify allocates %v times, want at most 7", n)
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, alg := range []string{"hmac-sha1", "hmac-sha256", "hmac-sha384", "hmac-sha512"} {
		b.Run(alg, func(b *testing.B) {
			r := sign(b, newRequest("/release/users?x=1", "X-Date", xDate, "Source", "AndriodApp"),
				Credential{ID: testID, Algorithm: alg, Headers: "x-date request-line source"}, testKey)
			v := testVerifier()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(r, testNow); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("format-error", func(b *testing.B) {
		r := newRequest("/", "Authorization", `hmac id="x", algorithm`)
		v := testVerifier()
		b.ReportAllocs()
		for b.Loop() {
			v.Verify(r, testNow)
		}
	})
}

// FuzzVerify: no Authorization, x-date or signed header value makes Verify panic, and whatever
// it accepts, Sign reproduces.
func FuzzVerify(f *testing.F) {
	f.Add(`hmac id="`+testID+`", algorithm="hmac-sha256", headers="x-date source", signature="`+sigXS256+`"`, xDate, "AndriodApp")
	f.Add(`hmac id="`+testID+`", algorithm="hmac-sha1", headers="request-line date X-Date", signature="AAAA"`, "", "")
	f.Fuzz(func(t *testing.T, auth, xdate, source string) {
		r := newRequest("/p?q", "Authorization", auth, "X-Date", xdate, "Date", xdate, "Source", source)
		id, err := testVerifier().Verify(r, testNow)
		if err != nil {
			if id != "" || err.Code == reply.None {
				t.Fatalf("Verify = %q, %v", id, err)
			}
			return
		}
		c, ok := ParseAuthorization(auth)
		if !ok {
			t.Fatalf("Verify accepted %q, which does not parse", auth)
		}
		want := c.Encode()
		if got, err := Sign(r, c, []byte(testKey)); err != nil || got != want {
			t.Fatalf("Verify accepted %q; Sign gives %q, %v", auth, got, err)
		}
	})
}
