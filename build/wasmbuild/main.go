// Command wasmbuild builds a proxy-wasm module with upstream Go: GOOS=wasip1, c-shared,
// trimmed paths, no symbol tables. The plugin and the benchmark's modules speak the ABI through
// plugin/abi and need nothing more.
//
// One module of the tests (testkit/wasmhost's ABI exerciser, a second client of the ABI) is
// built on the archived tetratelabs SDK, which declares its host calls and callbacks for TinyGo.
// Without editing or copying the SDK, this tool makes a virtual copy of it through
// `go build -overlay`: every SDK source file is mapped, from the module cache, into a directory
// that does not exist on disk, the SDK's native mocks are left out, and the shim in
// build/sdkshim (wasm imports and exports with i32 signatures) is added. A generated go.mod
// (-modfile) replaces the SDK with that virtual directory; packages that do not import the SDK
// build exactly as without it. Usage: go run ./build/wasmbuild -o build/apigw.wasm [-tags t] ./plugin
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

const sdkModule = "github.com/tetratelabs/proxy-wasm-go-sdk"

// nativeOnly are SDK files that exist for native tests; the shim replaces them in the module.
var nativeOnly = map[string]bool{
	"proxywasm/internal/abi_hostcalls_mock.go":       true,
	"proxywasm/internal/abi_callback_test_export.go": true,
	"proxywasm/internal/vmstate_test_export.go":      true,
}

func main() {
	out := flag.String("o", "build/apigw.wasm", "output module")
	tags := flag.String("tags", "", "extra build tags")
	flag.Parse()
	pkg := "./plugin"
	if flag.NArg() > 0 {
		pkg = flag.Arg(0)
	}
	if err := build(*out, *tags, pkg); err != nil {
		fmt.Fprintln(os.Stderr, "wasmbuild:", err)
		os.Exit(1)
	}
}

func build(out, tags, pkg string) error {
	root, err := goOutput("list", "-m", "-f", "{{.Dir}}")
	if err != nil {
		return err
	}
	sdkDir, err := goOutput("list", "-m", "-f", "{{.Dir}}", sdkModule)
	if err != nil || sdkDir == "" {
		if _, derr := goOutput("mod", "download", sdkModule); derr != nil {
			return fmt.Errorf("locating %s: %v", sdkModule, derr)
		}
		if sdkDir, err = goOutput("list", "-m", "-f", "{{.Dir}}", sdkModule); err != nil {
			return err
		}
	}
	work := filepath.Join(root, "build", ".wasmbuild")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	virtualSDK := filepath.Join(work, "sdk") // never created: exists only in the overlay

	replace := map[string]string{filepath.Join(virtualSDK, "go.mod"): filepath.Join(sdkDir, "go.mod")}
	err = filepath.WalkDir(filepath.Join(sdkDir, "proxywasm"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(sdkDir, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "proxywasm/proxytest" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") || nativeOnly[rel] {
			return nil
		}
		replace[filepath.Join(virtualSDK, filepath.FromSlash(rel))] = path
		return nil
	})
	if err != nil {
		return err
	}
	shims, err := filepath.Glob(filepath.Join(root, "build", "sdkshim", "*.go"))
	if err != nil || len(shims) == 0 {
		return fmt.Errorf("no shim sources in build/sdkshim")
	}
	for _, s := range shims {
		replace[filepath.Join(virtualSDK, "proxywasm", "internal", "zz_shim_"+filepath.Base(s))] = s
	}
	overlay, _ := json.MarshalIndent(map[string]any{"Replace": replace}, "", " ")
	overlayPath := filepath.Join(work, "overlay.json")
	if err := os.WriteFile(overlayPath, overlay, 0o644); err != nil {
		return err
	}

	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return err
	}
	mod = append(mod, fmt.Sprintf("\nreplace %s => %s\n", sdkModule, virtualSDK)...)
	modPath := filepath.Join(work, "go.mod")
	if err := os.WriteFile(modPath, mod, 0o644); err != nil {
		return err
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(work, "go.sum"), sum, 0o644); err != nil {
		return err
	}

	args := []string{"build", "-modfile=" + modPath, "-overlay=" + overlayPath, "-buildmode=c-shared",
		"-trimpath", "-ldflags=-s -w", "-o", out}
	// The shim's files carry this tag so that `go build ./...` passes over build/sdkshim.
	allTags := "apigw_sdkshim"
	if tags != "" {
		allTags += "," + tags
	}
	args = append(args, "-tags="+allTags)
	args = append(args, pkg)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOFLAGS=-mod=mod")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}

func goOutput(args ...string) (string, error) {
	var stderr bytes.Buffer
	cmd := exec.Command("go", args...)
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(b)), nil
}
