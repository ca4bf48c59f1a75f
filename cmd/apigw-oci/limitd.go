package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The bridge's image (-limitd).
const (
	limitdPath     = "/apigw-limitd"
	caCertsPath    = "/etc/ssl/certs/ca-certificates.crt" // where Go's crypto/x509 looks first on Linux
	defaultCACerts = "/etc/ssl/certs/ca-certificates.crt" // Debian's ca-certificates bundle
	// nonrootUser is the numeric user and group the bridge runs as (distroless's "nonroot"):
	// numeric, so that Kubernetes' runAsNonRoot can verify it without an /etc/passwd.
	nonrootUser = "65532:65532"
	limitdPort  = "8090/tcp" // the bridge's default -listen
)

// linuxArch maps a static Linux ELF binary to its OCI (and Go) architecture and variant.
func linuxArch(f *elf.File) (arch, variant string, err error) {
	if f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX {
		return "", "", fmt.Errorf("not a Linux binary (ELF OS ABI %v)", f.OSABI)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return "", "", errors.New("dynamically linked: the image has no C library (build with CGO_ENABLED=0)")
		}
	}
	switch {
	case f.Machine == elf.EM_X86_64:
		return "amd64", "", nil
	case f.Machine == elf.EM_AARCH64:
		return "arm64", "v8", nil
	case f.Machine == elf.EM_PPC64 && f.ByteOrder == binary.LittleEndian:
		return "ppc64le", "", nil
	case f.Machine == elf.EM_S390:
		return "s390x", "", nil
	case f.Machine == elf.EM_RISCV && f.Class == elf.ELFCLASS64:
		return "riscv64", "", nil
	}
	return "", "", fmt.Errorf("unsupported architecture %v", f.Machine)
}

// limitdIndex builds the bridge's image index: one image per binary, each for the
// architecture its ELF header names. ca is the CA bundle's file ("" for none).
func limitdIndex(bins []string, ca string, created time.Time) (v1.ImageIndex, []string, error) {
	var caPEM []byte
	if ca != "" {
		var err error
		if caPEM, err = os.ReadFile(ca); err != nil {
			return nil, nil, fmt.Errorf("CA bundle: %v (install ca-certificates, or -ca-certs '' for an image without one)", err)
		}
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var platforms []string
	for _, bin := range bins {
		b, err := os.ReadFile(bin)
		if err != nil {
			return nil, nil, err
		}
		f, err := elf.NewFile(bytes.NewReader(b))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: not an ELF binary: %v", bin, err)
		}
		arch, variant, err := linuxArch(f)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %v", bin, err)
		}
		platform := "linux/" + arch
		if slices.Contains(platforms, platform) {
			return nil, nil, fmt.Errorf("%s: a second binary for %s", bin, platform)
		}
		platforms = append(platforms, platform)
		img, err := limitdImage(b, arch, variant, caPEM, created)
		if err != nil {
			return nil, nil, err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: "linux", Architecture: arch, Variant: variant},
		}})
	}
	return idx, platforms, nil
}

// tarEntry is a file of the layer, a directory when body is nil.
type tarEntry struct {
	name string
	mode int64
	body []byte
}

// limitdImage is one platform's image: a single layer with the binary and the CA bundle.
func limitdImage(bin []byte, arch, variant string, caPEM []byte, created time.Time) (v1.Image, error) {
	var archive bytes.Buffer
	tw := tar.NewWriter(&archive)
	add := func(name string, mode int64, body []byte) error {
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body)), ModTime: created, Format: tar.FormatPAX}
		if body == nil {
			hdr.Typeflag, hdr.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	entries := []tarEntry{{limitdPath[1:], 0o755, bin}}
	if caPEM != nil {
		entries = append(entries, tarEntry{"etc/", 0o755, nil}, tarEntry{"etc/ssl/", 0o755, nil},
			tarEntry{"etc/ssl/certs/", 0o755, nil}, tarEntry{caCertsPath[1:], 0o644, caPEM})
	}
	for _, e := range entries {
		if err := add(e.name, e.mode, e.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	img, cfg, err := oneLayerImage(archive.Bytes(), created, "apigw-oci -limitd", limitdPath)
	if err != nil {
		return nil, err
	}
	cfg.OS, cfg.Architecture, cfg.Variant, cfg.Created = "linux", arch, variant, v1.Time{Time: created}
	cfg.Config.Entrypoint = []string{limitdPath}
	cfg.Config.User = nonrootUser
	cfg.Config.WorkingDir = "/"
	cfg.Config.ExposedPorts = map[string]struct{}{limitdPort: {}}
	return mutate.ConfigFile(img, cfg)
}
