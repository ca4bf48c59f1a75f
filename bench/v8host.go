package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/apigw-wasm/apigw-wasm/bench/benchcfg"
)

// v8hostMain compares builds of the module in V8 without Envoy: bench/v8host/host.mjs, a
// proxy-wasm host in Node.js, runs the benchmark's request of (b) and (c) through each module,
// in interleaved rounds, and prints the CPU time per request, median and minimum over the
// rounds. The host's own share is the same for every build, so differences are the module's;
// on a busy machine the minimum is the steadier figure. It is the quick check of a change to
// the request path before an A/B in Envoy (go run ./bench -alt-wasm).
func v8hostMain(args []string) error {
	fs := flag.NewFlagSet("v8host", flag.ExitOnError)
	n := fs.Int("n", 2000, "requests per round and module")
	rounds := fs.Int("rounds", 31, "rounds")
	cfgs := fs.String("configs", "b,c", "configurations (b, c)")
	fs.Parse(args)
	if fs.NArg() == 0 {
		return fmt.Errorf("usage: bench v8host [flags] MODULE.wasm[@GOGC=N]...")
	}
	dir, err := os.MkdirTemp("", "apigw-v8host-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// Signed ahead, so that x-date stays within the 900 s window for a long run.
	signed, err := benchcfg.SignedHeaders(time.Now().Add(14 * time.Minute))
	if err != nil {
		return err
	}
	headers := append([][2]string{{":authority", benchcfg.Host}, {":path", benchcfg.Path}, {":method", "GET"},
		{":scheme", "http"}, {"user-agent", "wrk"}, {"accept", "*/*"}}, signed...)
	headers = append(headers, [2]string{"x-forwarded-proto", "http"}, [2]string{"x-request-id", "6d0f4b8e-3c1a-4f7e-9a53-2b8c0d1e4f60"})
	hj, _ := json.Marshal(headers)
	files := map[string]string{
		"cfg-b.json":   benchcfg.PluginConfig(false, 1),
		"cfg-c.json":   benchcfg.PluginConfig(true, 1),
		"headers.json": string(hj),
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	cmd := exec.Command("node", append([]string{"--no-warnings", filepath.Join("bench", "v8host", "host.mjs"), dir,
		strconv.Itoa(*n), strconv.Itoa(*rounds), *cfgs}, fs.Args()...)...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}
