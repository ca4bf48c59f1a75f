package tests

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildCommand builds ./cmd/<name> once per test binary and returns the executable's path.
func buildCommand(t *testing.T, name string) string {
	t.Helper()
	if err := resolveEnv(); err != nil {
		t.Fatal(err)
	}
	v, err := sharedValue("command:"+name, func() (any, error) {
		bin := filepath.Join(binaryOwner{}.TempDir(), name)
		cmd := exec.Command("go", "build", "-o", bin, "./cmd/"+name)
		cmd.Dir = env.root
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, &buildError{name, err, out}
		}
		return bin, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return v.(string)
}

type buildError struct {
	name string
	err  error
	out  []byte
}

func (e *buildError) Error() string {
	return "go build ./cmd/" + e.name + ": " + e.err.Error() + "\n" + string(e.out)
}

// runCommand runs bin and returns its standard output, standard error and exit status.
func runCommand(t *testing.T, extraEnv []string, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = env.root
	cmd.Env = append(os.Environ(), extraEnv...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if exit, ok := err.(*exec.ExitError); ok {
		return out.String(), errOut.String(), exit.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), 0
}

// TestSignCLI: a request signed by apigw-sign, sent with exactly the headers it printed, is
// accepted by the plugin in Envoy; the same headers on another path are not, since the
// request line is signed.
func TestSignCLI(t *testing.T) {
	bin := buildCommand(t, "apigw-sign")
	g, up := hmacGateway(t)
	keyEnv := []string{"APIGW_SECRET_KEY=" + hmacKeys["AKIDenv"]}
	path := "/release/signed/cli?x=1"
	out, errOut, code := runCommand(t, keyEnv, bin, "-id", "AKIDenv", "-alg", "hmac-sha256",
		"-headers", "x-date source request-line", "-H", "Source: apigw-sign", "-H", "Host: hmac.example.com",
		g.HTTPURL+path)
	if code != 0 {
		t.Fatalf("apigw-sign: exit %d: %s", code, errOut)
	}
	t.Logf("apigw-sign printed:\n%s", out)
	h := http.Header{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("not a header line: %q", line)
		}
		h.Add(k, v)
	}
	host := h.Get("Host")
	h.Del("Host")
	if h.Get("Authorization") == "" || h.Get("X-Date") == "" {
		t.Fatalf("apigw-sign printed no Authorization or X-Date:\n%s", out)
	}
	before := up.Count()
	r := g.Do(t, Request{Host: host, Path: path, Header: h})
	if r.Status != 200 {
		t.Fatalf("signed by the CLI: %d %q", r.Status, r.Message())
	}
	if rec := up.Last(t); up.Count() != before+1 || rec.URI != "/signed/cli?x=1" {
		t.Errorf("upstream saw %q (%d requests)", rec.URI, up.Count()-before)
	}
	r = g.Do(t, Request{Host: host, Path: "/release/signed/other?x=1", Header: h})
	if r.Status != 401 || r.Message() != "HMAC signature does not match." {
		t.Errorf("same headers, another path: %d %q", r.Status, r.Message())
	}

	// -curl prints a command that sends the same request; -run runs it. Both need curl, which
	// .ci/run and make e2e install: a missing one is a failure, never a skip.
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("no curl on PATH: apigw-sign -curl and -run cannot be checked (Debian: apt-get install curl)")
	}
	args := []string{"-id", "AKIDenv", "-headers", "x-date source request-line", "-H", "Source: apigw-sign",
		"-H", "Host: hmac.example.com", g.HTTPURL + path}
	command, errOut, code := runCommand(t, keyEnv, bin, append([]string{"-curl"}, args...)...)
	if code != 0 {
		t.Fatalf("apigw-sign -curl: exit %d: %s", code, errOut)
	}
	t.Logf("apigw-sign -curl printed: %s", command)
	resp, err := exec.Command("sh", "-c", command).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(resp), "HTTP/1.1 200") {
		t.Errorf("the printed curl command: %v\n%s", err, resp)
	}
	resp2, errOut, code := runCommand(t, keyEnv, bin, append([]string{"-run"}, args...)...)
	if code != 0 || !strings.HasPrefix(resp2, "HTTP/1.1 200") {
		t.Errorf("apigw-sign -run: exit %d: %s%s", code, resp2, errOut)
	}
}

// TestValidateCLI runs the built validator: the examples pass, every broken example fails
// naming its problems, and a missing file is an I/O error.
func TestValidateCLI(t *testing.T) {
	bin := buildCommand(t, "apigw-validate")
	out, errOut, code := runCommand(t, nil, bin, "envoy-examples/config.json", "envoy-examples/envoy.yaml", "envoy-examples/istio/wasmplugin.yaml")
	if code != 0 || strings.Count(out, ": valid") != 3 {
		t.Fatalf("examples: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("examples:\n%s", out)
	broken, _ := filepath.Glob(filepath.Join(env.root, "cmd", "apigw-validate", "testdata", "broken", "*"))
	if len(broken) == 0 {
		t.Fatal("no broken examples")
	}
	for _, f := range broken {
		rel, _ := filepath.Rel(env.root, f)
		out, errOut, code := runCommand(t, nil, bin, rel)
		if code != 1 || !strings.Contains(out, rel+":") || !strings.Contains(out, rel+": invalid") {
			t.Errorf("%s: exit %d\n%s%s", rel, code, out, errOut)
		}
		t.Logf("%s", out)
	}
	if _, _, code := runCommand(t, nil, bin, "no-such-file.json"); code != 2 {
		t.Errorf("missing file: exit %d, want 2", code)
	}
}
