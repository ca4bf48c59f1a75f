package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/types"
)

// module is the smallest Wasm module: the header alone.
var module = []byte("\x00asm\x01\x00\x00\x00")

func TestImageLayout(t *testing.T) {
	img, err := image(module, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON ||
		len(m.Layers) != 1 || m.Layers[0].MediaType != types.OCILayer || m.Annotations[variantAnnotation] != variantCompat {
		t.Fatalf("not the compat layout: %+v", m)
	}
	again, _ := image(module, time.Unix(0, 0))
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	later, _ := image(module, time.Unix(1, 0))
	d3, _ := later.Digest()
	if d1 != d2 || d1 == d3 {
		t.Fatalf("digests %s %s %s: want the same module and time to give the same digest, another time another", d1, d2, d3)
	}
}

func TestRefuses(t *testing.T) {
	dir := t.TempDir()
	notWasm := filepath.Join(dir, "x.wasm")
	wasm := filepath.Join(dir, "ok.wasm")
	os.WriteFile(notWasm, []byte("#!/bin/sh\n"), 0o644)
	os.WriteFile(wasm, module, 0o644)
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no module", nil, 2, "usage"},
		{"missing module", []string{filepath.Join(dir, "none.wasm")}, 2, "no such file"},
		{"not wasm", []string{"-o", filepath.Join(dir, "a"), notWasm}, 1, "not a Wasm module"},
		{"output is not a layout", []string{"-o", dir, wasm}, 1, "not an OCI image layout"},
		{"bad epoch", []string{"-o", filepath.Join(dir, "b"), wasm}, 2, "SOURCE_DATE_EPOCH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "bad epoch" {
				t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
			}
			var out, errOut bytes.Buffer
			if code := run(tt.args, &out, &errOut); code != tt.code || !strings.Contains(errOut.String(), tt.msg) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q)", code, tt.code, errOut.String(), tt.msg)
			}
		})
	}
	// A layout is replaced, not appended to.
	out := filepath.Join(dir, "layout")
	for range 2 {
		if code := run([]string{"-o", out, wasm}, &bytes.Buffer{}, &bytes.Buffer{}); code != 0 {
			t.Fatalf("exit %d", code)
		}
	}
	index, _ := os.ReadFile(filepath.Join(out, "index.json"))
	if n := strings.Count(string(index), `"digest"`); n != 1 {
		t.Fatalf("index.json lists %d manifests, want 1:\n%s", n, index)
	}
}
