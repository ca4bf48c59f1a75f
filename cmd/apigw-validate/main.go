// Command apigw-validate checks plugin configurations with exactly the loader the plugin runs
// (internal/config.Load), so a configuration it accepts is one the plugin starts with. It reads
// a plain configuration (JSON), an Envoy configuration (YAML or JSON) holding the plugin's
// envoy.filters.http.wasm filters, or an Istio WasmPlugin (YAML or JSON; its spec is decoded
// strictly with Istio's own types and its pluginConfig converted the way istiod converts it).
// Every problem is printed as FILE:LINE: JSON.PATH: message. APIs that load but answer every
// request with 481 are reported as warnings.
//
// Usage:
//
//	apigw-validate FILE...     (- reads standard input)
//
// Exit status: 0 every configuration is valid, 1 one is not (or a file holds none), 2 usage or
// I/O error.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/apigw-wasm/apigw-wasm/internal/config"
	"github.com/apigw-wasm/apigw-wasm/internal/reply"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("apigw-validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: apigw-validate FILE...   (plain JSON configuration, Envoy YAML/JSON, or Istio WasmPlugin; - is standard input)")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	status := 0
	for _, name := range fs.Args() {
		data, err := readInput(name, stdin)
		if err != nil {
			fmt.Fprintln(stderr, "apigw-validate:", err)
			return 2
		}
		if !report(stdout, name, data) {
			status = 1
		}
	}
	return status
}

func readInput(name string, stdin io.Reader) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(stdin)
	}
	return os.ReadFile(name)
}

// report validates every configuration of one file and prints what it finds; false when any
// configuration is invalid or the file holds none.
func report(w io.Writer, name string, data []byte) bool {
	sources, problems := find(data)
	for _, p := range problems {
		p.print(w, name)
	}
	if len(problems) > 0 {
		fmt.Fprintf(w, "%s: invalid\n", name)
		return false
	}
	ok := true
	for _, s := range sources {
		where := ""
		if s.label != "" {
			where = " (" + s.label + ")"
		}
		issues := s.problems
		var warnings []problem
		if s.doc != nil {
			cfg, err := config.Load(s.doc)
			var errs config.Errors
			switch {
			case errors.As(err, &errs):
				for _, e := range errs {
					issues = append(issues, problem{line: s.lineOf(e), path: e.Path, msg: e.Msg})
				}
			case err != nil:
				issues = append(issues, problem{msg: err.Error()})
			case len(issues) == 0:
				warnings = append(brokenAPIs(s, cfg), missingLimitsCluster(s, cfg)...)
			}
		}
		for _, p := range issues {
			p.print(w, name)
		}
		for _, p := range warnings {
			p.print(w, name)
		}
		if len(issues) > 0 {
			ok = false
			fmt.Fprintf(w, "%s: invalid%s: %d problem(s)\n", name, where, len(issues))
		} else {
			fmt.Fprintf(w, "%s: valid%s\n", name, where)
		}
	}
	return ok
}

// brokenAPIs lists the APIs the plugin keeps but answers with 481 (docs/gateway.md section 3,
// step 6).
func brokenAPIs(s source, cfg *config.Config) []problem {
	var out []problem
	for i, svc := range cfg.Services {
		for _, a := range svc.APIs {
			if a.ConfigError == reply.None {
				continue
			}
			path := fmt.Sprintf("services[%d].apis[%d]", i, a.Index)
			out = append(out, problem{
				line: s.lineOf(config.Error{Path: path}),
				path: path,
				msg: fmt.Sprintf("warning: API %q answers every request %d %q", a.ID,
					a.ConfigError.Status(), a.ConfigError.Message("")),
			})
		}
	}
	return out
}

// missingLimitsCluster warns when the global limits' bridge cluster is not among the clusters of
// the Envoy configuration that holds the plugin: every call to it would fail, and every limit
// that needs the store would be decided by on_store_failure.
func missingLimitsCluster(s source, cfg *config.Config) []problem {
	if !cfg.Limits.Global || s.clusters == nil || s.clusters[cfg.Limits.Cluster] {
		return nil
	}
	return []problem{{
		line: s.lineOf(config.Error{Path: "limits.cluster"}),
		path: "limits.cluster",
		msg: fmt.Sprintf("warning: cluster %q is not a cluster of this Envoy configuration: calls to the limits' store fail, and on_store_failure decides",
			cfg.Limits.Cluster),
	}}
}

// problem is one line of output.
type problem struct {
	line int
	path string
	msg  string
}

func (p problem) print(w io.Writer, file string) {
	at := file
	if p.line > 0 {
		at = fmt.Sprintf("%s:%d", file, p.line)
	}
	if p.path != "" {
		fmt.Fprintf(w, "%s: %s: %s\n", at, p.path, p.msg)
		return
	}
	fmt.Fprintf(w, "%s: %s\n", at, p.msg)
}
