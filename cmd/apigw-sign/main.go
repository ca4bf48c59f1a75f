// Command apigw-sign signs a request for the gateway's key-pair (HMAC) authentication with the
// plugin's own signer (internal/hmacauth.Sign), so a client, a test or an operator gets exactly
// the Authorization value the gateway verifies. It prints the headers to add to the request, or
// with -curl a curl command that sends it, or with -run runs that command.
//
// Usage:
//
//	APIGW_SECRET_KEY=... apigw-sign -id AKIDdemo [-alg hmac-sha256] [-headers "x-date source"]
//	    [-X GET] [-H "Source: demo"]... [-date "Mon, 02 Jan 2006 15:04:05 GMT"] [-curl | -run] URL
//
// The secret key comes from the file named by -key-file or from $APIGW_SECRET_KEY, never from
// the command line, where other users and the shell history would see it. Exit status: 0 signed,
// 2 usage or signing error; with -run, curl's own status.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/hmacauth"
)

// headerList collects repeated -H flags.
type headerList []string

func (h *headerList) String() string     { return strings.Join(*h, ", ") }
func (h *headerList) Set(v string) error { *h = append(*h, v); return nil }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, time.Now))
}

func run(args []string, stdout, stderr io.Writer, now func() time.Time) int {
	fs := flag.NewFlagSet("apigw-sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: apigw-sign -id SECRET_ID [flags] URL   (secret key: -key-file or $APIGW_SECRET_KEY)")
		fs.PrintDefaults()
	}
	var extra headerList
	id := fs.String("id", "", "secret id (`secret_id` of the configuration)")
	keyFile := fs.String("key-file", "", "file holding the secret key (one trailing newline is ignored); default $APIGW_SECRET_KEY")
	alg := fs.String("alg", "hmac-sha256", "algorithm: hmac-sha1, hmac-sha256, hmac-sha384 or hmac-sha512")
	signed := fs.String("headers", "x-date", "signed header names, space separated, in order; request-line signs method, path and query")
	method := fs.String("X", http.MethodGet, "request method")
	date := fs.String("date", "", "value of the x-date (or date) header; default now")
	asCurl := fs.Bool("curl", false, "print a curl command instead of the headers")
	runCurl := fs.Bool("run", false, "run the curl command (curl must be on PATH)")
	fs.Var(&extra, "H", "extra request header `Name: value` (repeatable); signed when -headers names it")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 || *id == "" {
		fs.Usage()
		return 2
	}
	key, err := secretKey(*keyFile)
	if err != nil {
		fmt.Fprintln(stderr, "apigw-sign:", err)
		return 2
	}
	req, err := newRequest(*method, fs.Arg(0), extra)
	if err != nil {
		fmt.Fprintln(stderr, "apigw-sign:", err)
		return 2
	}
	req.addDate(*signed, *date, now)
	auth, err := hmacauth.Sign(req, hmacauth.Credential{ID: *id, Algorithm: *alg, Headers: *signed}, key)
	if err != nil {
		fmt.Fprintln(stderr, "apigw-sign:", err)
		return 2
	}
	req.header = append(req.header, [2]string{"Authorization", auth})

	switch {
	case *runCurl:
		cmd := exec.Command("curl", req.curlArgs()...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
		if err := cmd.Run(); err != nil {
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				return exit.ExitCode()
			}
			fmt.Fprintln(stderr, "apigw-sign:", err)
			return 2
		}
	case *asCurl:
		fmt.Fprintln(stdout, shellJoin(append([]string{"curl"}, req.curlArgs()...)))
	default:
		for _, h := range req.header {
			fmt.Fprintf(stdout, "%s: %s\n", h[0], h[1])
		}
	}
	return 0
}

// secretKey reads the key from file, or from $APIGW_SECRET_KEY when file is empty.
func secretKey(file string) ([]byte, error) {
	if file == "" {
		k := os.Getenv("APIGW_SECRET_KEY")
		if k == "" {
			return nil, errors.New("no secret key: set APIGW_SECRET_KEY or give -key-file")
		}
		return []byte(k), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	// Editors end files with a newline; a key never does.
	b = []byte(strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r"))
	if len(b) == 0 {
		return nil, fmt.Errorf("%s is empty", file)
	}
	return b, nil
}

// request is what gets signed and sent: hmacauth.Request over the headers given.
type request struct {
	method string
	url    *url.URL
	header [][2]string // in the order they are sent
}

func newRequest(method, rawURL string, extra []string) (*request, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http:// or https:// URL", rawURL)
	}
	r := &request{method: strings.ToUpper(method), url: u}
	for _, h := range extra {
		name, value, ok := strings.Cut(h, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("header %q is not Name: value", h)
		}
		r.header = append(r.header, [2]string{name, strings.TrimSpace(value)})
	}
	return r, nil
}

// addDate adds the date header the signature needs unless the caller gave x-date or date:
// date when only date is signed, else x-date (Tencent's usual choice).
func (r *request) addDate(signed, value string, now func() time.Time) {
	if len(r.Values("x-date")) > 0 || len(r.Values("date")) > 0 {
		return
	}
	if value == "" {
		value = now().UTC().Format(http.TimeFormat)
	}
	name := "X-Date"
	if namesHeader(signed, "date") && !namesHeader(signed, "x-date") {
		name = "Date"
	}
	r.header = append([][2]string{{name, value}}, r.header...)
}

func namesHeader(list, name string) bool {
	for _, n := range strings.Fields(list) {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// Values returns the values of a header given with -H; host falls back to the URL's host, which
// is what curl sends when no Host header is given.
func (r *request) Values(name string) []string {
	var out []string
	for _, h := range r.header {
		if strings.EqualFold(h[0], name) {
			out = append(out, h[1])
		}
	}
	if len(out) == 0 && name == "host" {
		out = []string{r.url.Host}
	}
	return out
}

func (r *request) Method() string { return r.method }

// Path is the request target as curl sends it with --path-as-is.
func (r *request) Path() string { return r.url.RequestURI() }

func (r *request) curlArgs() []string {
	args := []string{"-sS", "-i", "--path-as-is"}
	switch r.method {
	case http.MethodGet:
	case http.MethodHead:
		args = append(args, "-I") // -X HEAD would wait for a body that never comes
	default:
		args = append(args, "-X", r.method)
	}
	for _, h := range r.header {
		args = append(args, "-H", h[0]+": "+h[1])
	}
	return append(args, r.url.String())
}

// shellJoin quotes every word that needs it for a POSIX shell.
func shellJoin(words []string) string {
	quoted := make([]string, len(words))
	for i, w := range words {
		if w != "" && strings.Trim(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@,+%") == "" {
			quoted[i] = w
			continue
		}
		quoted[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(quoted, " ")
}
