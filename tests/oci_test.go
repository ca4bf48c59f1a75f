package tests

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestOCIImage builds the image as `make oci` does, pushes it to a registry running in this
// process, pulls it back the way Istio's agent does for an oci:// WasmPlugin url, and checks
// that the module it gets is build/apigw.wasm, byte for byte.
func TestOCIImage(t *testing.T) {
	bin := buildCommand(t, "apigw-oci")
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	ref := strings.TrimPrefix(reg.URL, "http://") + "/apigw/apigw-wasm:0.1.0"

	layout := filepath.Join(t.TempDir(), "oci")
	out, errOut, code := runCommand(t, nil, bin, "-o", layout, "-push", ref, env.wasm)
	if code != 0 {
		t.Fatalf("apigw-oci: exit %d: %s", code, errOut)
	}
	t.Logf("apigw-oci printed:\n%s", out)
	digest, _, _ := strings.Cut(out, "\t")

	want, err := os.ReadFile(env.wasm)
	if err != nil {
		t.Fatal(err)
	}
	got, err := istioFetch("oci://"+ref, strings.TrimPrefix(digest, "sha256:"))
	if err != nil {
		t.Fatalf("pulling as Istio does: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("pulled module differs from %s (%d bytes, want %d)", env.wasm, len(got), len(want))
	}

	// The layout names the same manifest, and a second build gives the same digest.
	var index struct {
		Manifests []struct {
			Digest      string            `json:"digest"`
			Annotations map[string]string `json:"annotations"`
		} `json:"manifests"`
	}
	b, err := os.ReadFile(filepath.Join(layout, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &index); err != nil || len(index.Manifests) != 1 || index.Manifests[0].Digest != digest {
		t.Errorf("layout index.json does not name %s alone: %s", digest, b)
	}
	again, _, code := runCommand(t, nil, bin, "-o", filepath.Join(t.TempDir(), "oci"), env.wasm)
	if d, _, _ := strings.Cut(again, "\t"); code != 0 || d != digest {
		t.Errorf("rebuild: exit %d, digest %s, want %s", code, d, digest)
	}
}

// istioFetch fetches a Wasm module from an oci:// url as Istio's agent does (istio
// pkg/wasm/cache.go and imagefetcher.go): the manifest digest must equal sha256 (the
// WasmPlugin's sha256 field), then the image must be an OCI one whose last layer is
// application/vnd.oci.image.layer.v1.tar+gzip ("compat" variant), read as tar.gz for a file
// whose base name is plugin.wasm, which must start with the Wasm magic number. It also checks
// what the spec requires beyond what Istio checks: one layer and the compat annotation.
func istioFetch(rawURL, sha256 string) ([]byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "oci" {
		return nil, fmt.Errorf("not an oci:// url: %s", rawURL)
	}
	ref, err := name.ParseReference(u.Host + u.Path)
	if err != nil {
		return nil, err
	}
	desc, err := remote.Get(ref)
	if err != nil {
		return nil, fmt.Errorf("could not fetch manifest: %v", err)
	}
	img, err := desc.Image()
	if err != nil {
		return nil, err
	}
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	if d.Hex != sha256 {
		return nil, fmt.Errorf("manifest digest %s, want %s", d.Hex, sha256)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	if m.MediaType == types.DockerManifestSchema2 {
		return nil, errors.New("a Docker manifest, want an OCI one")
	}
	if m.Annotations["module.wasm.image/variant"] != "compat" || m.Config.MediaType != types.OCIConfigJSON {
		return nil, fmt.Errorf("not a compat-variant OCI image: annotations %v, config %s", m.Annotations, m.Config.MediaType)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	if len(layers) != 1 {
		return nil, fmt.Errorf("%d layers, the compat variant has exactly one", len(layers))
	}
	layer := layers[len(layers)-1]
	if mt, err := layer.MediaType(); err != nil || mt != types.OCILayer {
		return nil, fmt.Errorf("layer media type %s (%v), want %s", mt, err, types.OCILayer)
	}
	rc, err := layer.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	gz, err := gzip.NewReader(rc)
	if err != nil {
		return nil, fmt.Errorf("layer is not tar.gz: %v", err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, errors.New("plugin.wasm not found in the layer")
		}
		if err != nil {
			return nil, err
		}
		if filepath.Base(h.Name) != "plugin.wasm" {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		if len(b) < 8 || !bytes.Equal(b[:4], []byte("\x00asm")) {
			return nil, errors.New("plugin.wasm is not a Wasm binary")
		}
		return b, nil
	}
}
