package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/hmacauth"
)

const specKey = "ZxF2whO0RhuwnVCj5JMMAuqcDcN2oPrC" // the known answer of docs/gateway.md section 5

var fixedNow = func() time.Time { return time.Date(2018, 3, 19, 12, 8, 40, 0, time.UTC) }

func TestSignKnownAnswer(t *testing.T) {
	t.Setenv("APIGW_SECRET_KEY", specKey)
	var out, errOut bytes.Buffer
	code := run([]string{"-id", "AKIDexample", "-alg", "hmac-sha1", "-headers", "x-date source",
		"-H", "Source: AndriodApp", "http://127.0.0.1:10000/release/signed"}, &out, &errOut, fixedNow)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	want := "X-Date: Mon, 19 Mar 2018 12:08:40 GMT\nSource: AndriodApp\n" +
		`Authorization: hmac id="AKIDexample", algorithm="hmac-sha1", headers="x-date source", signature="NI05zGaK4h8BfAh6EQ05ZJ2vG4k="` + "\n"
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
}

// TestSignVerifies checks every output against the plugin's verifier.
func TestSignVerifies(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte("file-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		key  string
	}{
		{"default x-date", []string{"-id", "AK", "http://h/release/a"}, "env-key"},
		{"request-line with query", []string{"-id", "AK", "-alg", "hmac-sha512", "-headers", "x-date request-line", "-X", "post", "http://h/release/a/b?x=1&y=%20"}, "env-key"},
		{"date only", []string{"-id", "AK", "-headers", "date", "http://h/"}, "env-key"},
		{"host from url", []string{"-id", "AK", "-headers", "x-date host", "http://api.example.com:8080/x"}, "env-key"},
		{"key file", []string{"-id", "AK", "-key-file", keyFile, "-alg", "hmac-sha384", "http://h/x"}, "file-key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("APIGW_SECRET_KEY", "env-key")
			var out, errOut bytes.Buffer
			if code := run(tt.args, &out, &errOut, time.Now); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			h := http.Header{}
			for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				k, v, _ := strings.Cut(line, ": ")
				h.Add(k, v)
			}
			u := tt.args[len(tt.args)-1]
			r := verifyRequest{header: h, method: methodOf(tt.args), target: u[strings.Index(u[len("http://"):], "/")+len("http://"):]}
			if strings.Contains(u, "api.example.com") {
				h.Set("Host", "api.example.com:8080")
			}
			v := hmacauth.Verifier{Lookup: func(id string) ([]byte, bool) { return []byte(tt.key), id == "AK" }}
			if id, err := v.Verify(r, time.Now()); err != nil || id != "AK" {
				t.Fatalf("verify: %v\n%s", err, out.String())
			}
		})
	}
}

func methodOf(args []string) string {
	for i, a := range args {
		if a == "-X" {
			return strings.ToUpper(args[i+1])
		}
	}
	return "GET"
}

type verifyRequest struct {
	header         http.Header
	method, target string
}

func (r verifyRequest) Values(name string) []string { return r.header.Values(name) }
func (r verifyRequest) Method() string              { return r.method }
func (r verifyRequest) Path() string                { return r.target }

func TestSignCurl(t *testing.T) {
	t.Setenv("APIGW_SECRET_KEY", specKey)
	var out, errOut bytes.Buffer
	code := run([]string{"-id", "AKIDexample", "-alg", "hmac-sha1", "-headers", "x-date source", "-curl",
		"-H", "Source: AndriodApp", "-H", "Host: api.example.com", "http://127.0.0.1:10000/signed"}, &out, &errOut, fixedNow)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	want := `curl -sS -i --path-as-is -H 'X-Date: Mon, 19 Mar 2018 12:08:40 GMT' -H 'Source: AndriodApp' -H 'Host: api.example.com' ` +
		`-H 'Authorization: hmac id="AKIDexample", algorithm="hmac-sha1", headers="x-date source", signature="NI05zGaK4h8BfAh6EQ05ZJ2vG4k="' http://127.0.0.1:10000/signed` + "\n"
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
}

func TestSignRefuses(t *testing.T) {
	tests := []struct {
		name string
		env  string
		args []string
		msg  string
	}{
		{"no id", "k", []string{"http://h/"}, "usage"},
		{"no url", "k", []string{"-id", "AK"}, "usage"},
		{"no key", "", []string{"-id", "AK", "http://h/"}, "no secret key"},
		{"not a url", "k", []string{"-id", "AK", "h/x"}, "not an http"},
		{"bad header", "k", []string{"-id", "AK", "-H", "Source", "http://h/"}, "not Name: value"},
		{"algorithm", "k", []string{"-id", "AK", "-alg", "hmac-md5", "http://h/"}, "unsupported algorithm"},
		{"no date signed", "k", []string{"-id", "AK", "-headers", "source", "-H", "Source: a", "http://h/"}, "x-date or date"},
		{"signed header absent", "k", []string{"-id", "AK", "-headers", "x-date source", "http://h/"}, "source is absent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("APIGW_SECRET_KEY", tt.env)
			var out, errOut bytes.Buffer
			if code := run(tt.args, &out, &errOut, time.Now); code != 2 {
				t.Fatalf("exit %d, want 2", code)
			}
			if !strings.Contains(errOut.String(), tt.msg) || out.Len() != 0 {
				t.Fatalf("stderr %q lacks %q (stdout %q)", errOut.String(), tt.msg, out.String())
			}
		})
	}
}

func TestShellJoin(t *testing.T) {
	got := shellJoin([]string{"curl", "-H", "A: it's", "http://h/x?a=1&b=2", ""})
	want := `curl -H 'A: it'\''s' 'http://h/x?a=1&b=2' ''`
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
