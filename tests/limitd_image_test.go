package tests

import (
	"archive/tar"
	"bufio"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/apigw-wasm/apigw-wasm/internal/limitd/redistest"
)

// TestLimitdImage builds the bridge's image as `make oci-limitd` does (a static build per
// platform, packed by apigw-oci -limitd), pushes it to a registry running in this process,
// pulls the image of this machine's platform as a container runtime would, and runs the
// /apigw-limitd it holds against a real redis-server: its
// /healthz answers 200. What it cannot show is a container runtime itself.
func TestLimitdImage(t *testing.T) {
	oci := buildCommand(t, "apigw-oci")
	dir := t.TempDir()
	bin := filepath.Join(dir, "linux-"+runtime.GOARCH, "apigw-limitd")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/apigw-limitd")
	build.Dir = env.root
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	ref := strings.TrimPrefix(reg.URL, "http://") + "/apigw/apigw-limitd:0.1.0"
	out, errOut, code := runCommand(t, nil, oci, "-limitd", "-o", filepath.Join(dir, "oci"), "-push", ref, bin)
	if code != 0 {
		t.Fatalf("apigw-oci -limitd: exit %d: %s", code, errOut)
	}
	t.Logf("apigw-oci printed:\n%s", out)

	// Pull by platform, as a runtime resolves an index.
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r, remote.WithPlatform(v1.Platform{OS: "linux", Architecture: runtime.GOARCH}))
	if err != nil {
		t.Fatalf("pulling linux/%s: %v", runtime.GOARCH, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Config.Entrypoint) != 1 || cfg.Config.User == "" || strings.HasPrefix(cfg.Config.User, "0") {
		t.Fatalf("config: entrypoint %v, user %q: want one entrypoint and a non-root user", cfg.Config.Entrypoint, cfg.Config.User)
	}
	root := filepath.Join(dir, "rootfs")
	extract(t, img, root)
	entry := filepath.Join(root, cfg.Config.Entrypoint[0])
	if _, err := os.Stat(filepath.Join(root, "etc/ssl/certs/ca-certificates.crt")); err != nil {
		t.Errorf("no CA bundle for rediss://: %v", err)
	}

	redis := redistest.Start(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(entry, "-listen", addr, "-redis", redis.Addr)
	cmd.Dir = root
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatalf("running the image's %s: %v", cfg.Config.Entrypoint[0], err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	serving := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "serving on") {
				serving <- sc.Text()
			}
		}
	}()
	select {
	case line := <-serving:
		t.Log(line)
	case <-time.After(30 * time.Second):
		t.Fatal("the bridge did not start serving within 30 s")
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %s, want 200 (Redis answers PING)", resp.Status)
	}
}

// extract unpacks an image's layers into dir, as a runtime lays out a container's root.
func extract(t *testing.T, img v1.Image, dir string) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, layer := range layers {
		rc, err := layer.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, filepath.Clean("/"+h.Name))
			switch h.Typeflag {
			case tar.TypeDir:
				err = os.MkdirAll(p, os.FileMode(h.Mode))
			case tar.TypeReg:
				os.MkdirAll(filepath.Dir(p), 0o755)
				var f *os.File
				if f, err = os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)); err == nil {
					_, err = io.Copy(f, tr)
					f.Close()
				}
			default:
				t.Fatalf("unexpected entry %s of type %c", h.Name, h.Typeflag)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		rc.Close()
	}
}
