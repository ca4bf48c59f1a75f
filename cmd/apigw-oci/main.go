// Command apigw-oci packs the plugin module into an OCI image that Istio's agent pulls for a
// WasmPlugin with an oci:// url: the "compat" variant of the Wasm OCI image spec (solo-io/wasm,
// spec-compat.md), an OCI manifest annotated module.wasm.image/variant=compat with one
// application/vnd.oci.image.layer.v1.tar+gzip layer whose tar holds plugin.wasm. It writes the
// image as an OCI image layout directory and, with -push, to a registry. No container engine
// is involved, and the image is reproducible: the same module always gives the same digest
// (timestamps are SOURCE_DATE_EPOCH, default 0).
//
// With -limitd it packs the bridge of the cluster-wide limits (cmd/apigw-limitd) instead, as a
// container image to run in Kubernetes, the way ko does it: no Dockerfile and no base image to
// pull. Each argument is a statically linked Linux build of the bridge (CGO_ENABLED=0), for one
// architecture, read from its ELF header; the image is an index with one image per binary,
// each a single layer holding /apigw-limitd and, unless -ca-certs is empty, the build machine's
// CA bundle (for rediss:// to a managed Redis), run as user 65532 with /apigw-limitd as its
// entrypoint. `make oci-limitd` builds the binaries and calls it.
//
// Usage:
//
//	apigw-oci [-o build/oci] [-tag latest] [-push registry/repo:tag] [-insecure] build/apigw.wasm
//	apigw-oci -limitd [-o build/oci-limitd] [-ca-certs FILE] [-push ...] LINUX-BINARY...
//
// It prints the manifest digest: the value of the WasmPlugin's sha256 field, or of @sha256: in
// its url (with -limitd: the index's digest, for image: ...@sha256:). -push authenticates as
// docker and crane do ($DOCKER_CONFIG/config.json).
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The names the compat variant fixes.
const (
	moduleFile        = "plugin.wasm"
	variantAnnotation = "module.wasm.image/variant"
	variantCompat     = "compat"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("apigw-oci", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "build/oci", "OCI image layout directory to write (replaced if it is one)")
	tag := fs.String("tag", "latest", "tag of the image in the layout (org.opencontainers.image.ref.name)")
	push := fs.String("push", "", "also push the image to this reference, e.g. registry.example.com/apigw/apigw-wasm:0.1.0")
	insecure := fs.Bool("insecure", false, "push over plain HTTP")
	limitd := fs.Bool("limitd", false, "pack Linux binaries of cmd/apigw-limitd as a container image instead of a module")
	caCerts := fs.String("ca-certs", defaultCACerts, "with -limitd: CA bundle put at "+caCertsPath+" in the image (\"\": none)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: apigw-oci [flags] MODULE.wasm\n       apigw-oci -limitd [flags] LINUX-BINARY...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() < 1 || (!*limitd && fs.NArg() != 1) {
		fs.Usage()
		return 2
	}
	epoch, err := sourceDate()
	if err != nil {
		fmt.Fprintln(stderr, "apigw-oci:", err)
		return 2
	}
	var art artifact
	var what string
	if *limitd {
		var platforms []string
		art, platforms, err = limitdIndex(fs.Args(), *caCerts, epoch)
		what = "apigw-limitd for " + strings.Join(platforms, ", ")
	} else {
		var module []byte
		if module, err = os.ReadFile(fs.Arg(0)); err != nil {
			fmt.Fprintln(stderr, "apigw-oci:", err)
			return 2
		}
		art, err = image(module, epoch)
		what = fmt.Sprintf("%d bytes of %s", len(module), moduleFile)
	}
	if err == nil {
		err = writeLayout(*out, *tag, art)
	}
	if err == nil && *push != "" {
		err = pushImage(*push, *insecure, art)
	}
	if err != nil {
		fmt.Fprintln(stderr, "apigw-oci:", err)
		return 1
	}
	digest, _ := art.Digest()
	fmt.Fprintf(stdout, "%s\t%s (%s)\n", digest, *out, what)
	if *push != "" {
		fmt.Fprintf(stdout, "%s\t%s\n", digest, *push)
	}
	return 0
}

// sourceDate is the time stamped in the image: $SOURCE_DATE_EPOCH, else the Unix epoch, so a
// rebuild of the same module has the same digest.
func sourceDate() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q is not a number of seconds", s)
	}
	return time.Unix(n, 0).UTC(), nil
}

// image builds the compat-variant image of module.
func image(module []byte, created time.Time) (v1.Image, error) {
	if len(module) < 8 || !bytes.Equal(module[:4], []byte("\x00asm")) {
		return nil, errors.New("not a Wasm module (no \\0asm header)")
	}
	var archive bytes.Buffer
	tw := tar.NewWriter(&archive)
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     moduleFile,
		Mode:     0o644,
		Size:     int64(len(module)),
		ModTime:  created,
		Format:   tar.FormatPAX,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if _, err := tw.Write(module); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	img, cfg, err := oneLayerImage(archive.Bytes(), created, "apigw-oci", moduleFile)
	if err != nil {
		return nil, err
	}
	// The module runs on no OS image: wasm/wasip1 is what it is built for (Go's GOARCH/GOOS).
	cfg.Architecture, cfg.OS, cfg.Created = "wasm", "wasip1", v1.Time{Time: created}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return nil, err
	}
	return mutate.Annotations(img, map[string]string{variantAnnotation: variantCompat}).(v1.Image), nil
}

// oneLayerImage is an OCI image of the one layer tarBytes, with its history entry, and a copy of
// its config file for the caller to fill in and set.
func oneLayerImage(tarBytes []byte, created time.Time, createdBy, comment string) (v1.Image, *v1.ConfigFile, error) {
	layer, err := layerOf(tarBytes)
	if err != nil {
		return nil, nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, MediaType: types.OCILayer,
		History: v1.History{Created: v1.Time{Time: created}, CreatedBy: createdBy, Comment: comment}})
	if err != nil {
		return nil, nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, nil, err
	}
	return img, cfg.DeepCopy(), nil
}

func layerOf(tarBytes []byte) (v1.Layer, error) {
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(tarBytes)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
}

// artifact is what the command writes: the module's image, or the bridge's index.
type artifact interface {
	Digest() (v1.Hash, error)
}

// writeLayout writes art as the only entry of an OCI image layout at dir. An existing dir is
// replaced only if it is a layout, so a mistyped -o cannot remove anything else.
func writeLayout(dir, tag string, art artifact) error {
	if _, err := os.Stat(dir); err == nil {
		if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
			return fmt.Errorf("%s exists and is not an OCI image layout: not replacing it", dir)
		}
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	ann := layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": tag})
	if idx, ok := art.(v1.ImageIndex); ok {
		return p.AppendIndex(idx, ann)
	}
	return p.AppendImage(art.(v1.Image), ann)
}

func pushImage(ref string, insecure bool, art artifact) error {
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return err
	}
	auth := remote.WithAuthFromKeychain(authn.DefaultKeychain)
	if idx, ok := art.(v1.ImageIndex); ok {
		return remote.WriteIndex(r, idx, auth)
	}
	return remote.Write(r, art.(v1.Image), auth)
}
