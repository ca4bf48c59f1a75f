package main

import (
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
)

// v8profMain summarises a V8 CPU profile (node --cpu-prof) of Go code compiled to wasm: self and
// inclusive time per function, as shares of the time spent under the function named by -root
// (a substring of its wasm name, whose '/', '.', '(' and '*' Go's linker mangled to '_').
// docs/performance.md shows how to record one from bench/gwbench.
func v8profMain(args []string) error {
	fs := flag.NewFlagSet("v8prof", flag.ExitOnError)
	root := fs.String("root", "gateway.__Gateway_.Handle", "function whose time is 100%")
	top := fs.Int("top", 30, "rows per table")
	fs.Parse(args)
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: bench v8prof [-root name] [-top n] FILE.cpuprofile")
	}
	b, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	var p struct {
		Nodes []struct {
			ID        int `json:"id"`
			CallFrame struct {
				FunctionName string `json:"functionName"`
			} `json:"callFrame"`
			Children []int `json:"children"`
		} `json:"nodes"`
		Samples    []int   `json:"samples"`
		TimeDeltas []int64 `json:"timeDeltas"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	name := map[int]string{}
	parent := map[int]int{}
	for _, n := range p.Nodes {
		name[n.ID] = n.CallFrame.FunctionName
		for _, c := range n.Children {
			parent[c] = n.ID
		}
	}
	self := map[string]int64{}
	incl := map[string]int64{}
	for i, s := range p.Samples {
		if i >= len(p.TimeDeltas) {
			break
		}
		d := p.TimeDeltas[i]
		self[name[s]] += d
		seen := map[string]bool{}
		for x, ok := s, true; ok; x, ok = parent[x] {
			if fn := name[x]; !seen[fn] {
				seen[fn] = true
				incl[fn] += d
			}
		}
	}
	var base int64
	for fn, t := range incl {
		if strings.Contains(fn, *root) && t > base {
			base = t
		}
	}
	if base == 0 {
		return fmt.Errorf("no function matching %q in the profile", *root)
	}
	print := func(title string, m map[string]int64) {
		type row struct {
			fn string
			t  int64
		}
		var rows []row
		for fn, t := range m {
			rows = append(rows, row{fn, t})
		}
		slices.SortFunc(rows, func(a, b row) int { return cmp.Compare(b.t, a.t) })
		fmt.Printf("\n| %s | share of %s |\n|---|---|\n", title, *root)
		n := 0
		for _, r := range rows {
			if r.fn == "" || r.fn == "(root)" || r.t > base {
				continue // frames above the root
			}
			fmt.Printf("| %s | %.1f%% |\n", r.fn, 100*float64(r.t)/float64(base))
			if n++; n == *top {
				break
			}
		}
	}
	fmt.Printf("%s: %.0f ms under %s\n", fs.Arg(0), float64(base)/1e3, *root)
	print("inclusive", incl)
	print("self", self)
	return nil
}
