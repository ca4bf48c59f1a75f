// Command wasmbuild builds a proxy-wasm module with upstream Go: GOOS=wasip1, c-shared, trimmed
// paths, no symbol tables. The plugin and the other modules of the repository speak the ABI
// through plugin/abi, so this is a plain `go build`; a tool of its own keeps the flags in one
// place for the Makefile, the tests and the benchmark. Usage:
//
//	go run ./build/wasmbuild -o build/apigw.wasm [-tags t] ./plugin
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
)

func main() {
	out := flag.String("o", "build/apigw.wasm", "output module")
	tags := flag.String("tags", "", "extra build tags")
	flag.Parse()
	pkg := "./plugin"
	if flag.NArg() > 0 {
		pkg = flag.Arg(0)
	}
	args := []string{"build", "-buildmode=c-shared", "-trimpath", "-ldflags=-s -w", "-o", *out}
	if *tags != "" {
		args = append(args, "-tags="+*tags)
	}
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "wasmbuild:", err)
		os.Exit(1)
	}
}
