package main

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// staticBinary builds a small static Go program for linux/arch, as make oci-limitd builds the
// bridge (the bridge itself takes longer to build; tests/ packs and runs the real one).
func staticBinary(t *testing.T, arch string) string {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module tiny\n\ngo 1.22\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() { println(\"tiny\") }\n"), 0o644)
	out := filepath.Join(dir, "tiny-"+arch)
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch, "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

// layerFiles reads an image's only layer as name -> (mode, content).
func layerFiles(t *testing.T, img v1.Image) map[string]*tar.Header {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %d, %v; want one", len(layers), err)
	}
	if mt, _ := layers[0].MediaType(); mt != types.OCILayer {
		t.Errorf("layer media type %s", mt)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out := map[string]*tar.Header{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = h
	}
}

func TestLimitdImage(t *testing.T) {
	amd, arm := staticBinary(t, "amd64"), staticBinary(t, "arm64")
	ca := filepath.Join(t.TempDir(), "ca.crt")
	os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\n"), 0o644)
	dir := filepath.Join(t.TempDir(), "oci")
	var out, errOut bytes.Buffer
	if code := run([]string{"-limitd", "-o", dir, "-tag", "0.1.0", "-ca-certs", ca, amd, arm}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "apigw-limitd for linux/amd64, linux/arm64") {
		t.Errorf("printed %q", out.String())
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	tm, _ := top.IndexManifest()
	if len(tm.Manifests) != 1 || tm.Manifests[0].MediaType != types.OCIImageIndex ||
		tm.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "0.1.0" {
		t.Fatalf("layout index: want one image index tagged 0.1.0, got %+v", tm.Manifests)
	}
	idx, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := idx.IndexManifest()
	if len(m.Manifests) != 2 {
		t.Fatalf("%d images, want 2", len(m.Manifests))
	}
	for i, want := range []struct {
		arch, variant, bin string
	}{{"amd64", "", amd}, {"arm64", "v8", arm}} {
		d := m.Manifests[i]
		if d.Platform == nil || d.Platform.OS != "linux" || d.Platform.Architecture != want.arch || d.Platform.Variant != want.variant {
			t.Errorf("image %d: platform %+v, want linux/%s %s", i, d.Platform, want.arch, want.variant)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		c := cfg.Config
		if cfg.OS != "linux" || cfg.Architecture != want.arch || len(c.Entrypoint) != 1 || c.Entrypoint[0] != limitdPath ||
			c.User != nonrootUser || len(c.ExposedPorts) != 1 {
			t.Errorf("%s: config %+v %+v", want.arch, cfg, c)
		}
		files := layerFiles(t, img)
		bin, _ := os.ReadFile(want.bin)
		if h := files["apigw-limitd"]; h == nil || h.Mode != 0o755 || h.Size != int64(len(bin)) {
			t.Errorf("%s: /apigw-limitd is %+v, want the %d-byte binary, mode 0755", want.arch, h, len(bin))
		}
		if h := files["etc/ssl/certs/ca-certificates.crt"]; h == nil || h.Mode != 0o644 {
			t.Errorf("%s: no CA bundle: %v", want.arch, files)
		}
	}

	// The same binaries and time give the same digest; no CA bundle gives one file.
	again, _, err := limitdIndex([]string{amd, arm}, ca, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := idx.Digest()
	d2, _ := again.Digest()
	if d1 != d2 || !strings.HasPrefix(out.String(), d1.String()+"\t") {
		t.Errorf("digests %s, %s, printed %q: want one", d1, d2, out.String())
	}
	bare, _, err := limitdIndex([]string{amd}, "", time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	bm, _ := bare.IndexManifest()
	img, _ := bare.Image(bm.Manifests[0].Digest)
	if files := layerFiles(t, img); len(files) != 1 {
		t.Errorf("without -ca-certs the layer holds %d entries, want the binary alone", len(files))
	}
}

func TestLimitdRefuses(t *testing.T) {
	amd := staticBinary(t, "amd64")
	dir := t.TempDir()
	script := filepath.Join(dir, "script")
	os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755)
	tests := []struct {
		name string
		args []string
		msg  string
	}{
		{"not ELF", []string{script}, "not an ELF binary"},
		// Debian's ls links libc dynamically: it would not run in an image without one.
		{"dynamic", []string{"/bin/ls"}, "dynamically linked"},
		{"two of one platform", []string{amd, amd}, "a second binary for linux/amd64"},
		{"no CA bundle", []string{"-ca-certs", filepath.Join(dir, "none.crt"), amd}, "CA bundle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append([]string{"-limitd", "-o", filepath.Join(t.TempDir(), "oci")}, tt.args...)
			if code := run(args, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), tt.msg) {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", code, errOut.String(), tt.msg)
			}
		})
	}
}
