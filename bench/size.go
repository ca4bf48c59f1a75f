package main

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// sizeMain breaks the wasm module down: its sections, and the code section per Go package.
// The shipped module is stripped (-ldflags=-s -w), so the names come from a second build of
// the same sources with the same overlay and flags but without -s -w, which differs only by
// its name section: the code section is byte for byte the same size (checked below).
func sizeMain(args []string) error {
	fs := flag.NewFlagSet("size", flag.ExitOnError)
	wasm := fs.String("wasm", "build/apigw.wasm", "the shipped (stripped) module")
	pkg := fs.String("pkg", "./plugin", "the package built into the module")
	top := fs.Int("top", 40, "packages to list")
	fs.Parse(args)
	shipped, err := os.ReadFile(*wasm)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "apigw-size-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	named := filepath.Join(dir, "named.wasm")
	if err := buildNamed(*pkg, filepath.Join(dir, "stripped.wasm"), named); err != nil {
		return err
	}
	nb, err := os.ReadFile(named)
	if err != nil {
		return err
	}
	sm, err := parseWasm(shipped)
	if err != nil {
		return fmt.Errorf("%s: %v", *wasm, err)
	}
	m, err := parseWasm(nb)
	if err != nil {
		return fmt.Errorf("named build: %v", err)
	}
	fmt.Printf("## Module size: %s, %d bytes\n\n", *wasm, len(shipped))
	fmt.Printf("| section | bytes | share |\n|---|---|---|\n")
	for _, s := range sm.sections {
		fmt.Printf("| %s | %d | %.1f%% |\n", s.name, s.size, 100*float64(s.size)/float64(len(shipped)))
	}
	codeOf := func(m *wasmModule) int {
		for _, s := range m.sections {
			if s.name == "code" {
				return s.size
			}
		}
		return -1
	}
	if codeOf(sm) != codeOf(m) {
		fmt.Printf("\nnote: the named rebuild's code section (%d bytes) differs from %s's (%d): the module is stale (run make build)\n",
			codeOf(m), *wasm, codeOf(sm))
	}
	if len(m.names) == 0 {
		return errors.New("the rebuilt module has no name section")
	}
	known, err := modulePackages(*pkg)
	if err != nil {
		return err
	}
	type agg struct {
		pkg   string
		bytes int
		funcs int
	}
	byPkg := map[string]*agg{}
	total := 0
	for i, size := range m.bodies {
		name := m.names[uint32(m.imports+i)]
		p := packageOf(name, known)
		a := byPkg[p]
		if a == nil {
			a = &agg{pkg: p}
			byPkg[p] = a
		}
		a.bytes += size
		a.funcs++
		total += size
	}
	var list []*agg
	groups := map[string]int{}
	for _, a := range byPkg {
		list = append(list, a)
		groups[groupOf(a.pkg)] += a.bytes
	}
	slices.SortFunc(list, func(x, y *agg) int { return cmp.Compare(y.bytes, x.bytes) })
	fmt.Printf("\n### Function bodies by group (%d bytes in %d functions)\n\n| group | bytes | share of code |\n|---|---|---|\n", total, len(m.bodies))
	var gnames []string
	for g := range groups {
		gnames = append(gnames, g)
	}
	slices.SortFunc(gnames, func(x, y string) int { return cmp.Compare(groups[y], groups[x]) })
	for _, g := range gnames {
		fmt.Printf("| %s | %d | %.1f%% |\n", g, groups[g], 100*float64(groups[g])/float64(total))
	}
	fmt.Printf("\n### Function bodies by package (top %d)\n\n| package | bytes | functions |\n|---|---|---|\n", *top)
	for i, a := range list {
		if i == *top {
			break
		}
		fmt.Printf("| %s | %d | %d |\n", a.pkg, a.bytes, a.funcs)
	}
	return nil
}

// groupOf puts a package in a coarse bucket for the summary.
func groupOf(p string) string {
	switch {
	case strings.HasPrefix(p, "github.com/apigw-wasm/") || p == "main":
		return "this project (plugin, internal/...)"
	case strings.HasPrefix(p, "github.com/tetratelabs/"):
		return "proxy-wasm SDK"
	case strings.HasPrefix(p, "github.com/tidwall/"):
		return "gjson, match, pretty"
	case p == "crypto/x509" || strings.HasPrefix(p, "crypto/x509/") || p == "encoding/asn1" || p == "encoding/pem" ||
		strings.HasPrefix(p, "vendor/golang.org/x/crypto/cryptobyte"):
		return "x509, asn1, pem (key parsing)"
	case p == "crypto/rsa" || p == "crypto/ecdsa" || p == "crypto/ed25519" || p == "crypto/elliptic" || p == "crypto/ecdh" ||
		p == "crypto/dsa" || p == "math/big" || strings.HasPrefix(p, "crypto/internal/fips140/rsa") ||
		strings.HasPrefix(p, "crypto/internal/fips140/ecdsa") || strings.HasPrefix(p, "crypto/internal/fips140/nistec") ||
		strings.HasPrefix(p, "crypto/internal/fips140/ecdh") || strings.HasPrefix(p, "crypto/internal/fips140/bigmod") ||
		strings.HasPrefix(p, "crypto/internal/fips140/edwards25519") || strings.HasPrefix(p, "crypto/internal/fips140/ed25519"):
		return "public-key crypto (rsa, ecdsa, ed25519, nistec, bigmod, math/big)"
	case strings.HasPrefix(p, "crypto/"):
		return "other crypto (hashes, hmac, aes, drbg, rand)"
	case p == "runtime" || strings.HasPrefix(p, "runtime/") || strings.HasPrefix(p, "internal/runtime/") || p == "type:" || p == "go:":
		return "runtime and compiler-made (type:, go:)"
	case p == "fmt" || p == "reflect" || p == "internal/fmtsort" || strings.HasPrefix(p, "internal/abi"):
		return "fmt, reflect"
	case p == "encoding/json":
		return "encoding/json"
	case strings.HasPrefix(p, "net"):
		return "net, net/url, net/netip"
	case p == "time":
		return "time"
	}
	return "other standard library"
}

// packageOf is the Go package of a function name of the name section. Go's wasm linker writes
// names mangled ('/' and '-' become '_', so "github.com/a-b/c.(*T).M" is
// "github.com_a_b_c.__T_.M"), so the name is matched against the mangled import paths of the
// module's packages, longest first.
func packageOf(sym string, known []string) string {
	if strings.HasPrefix(sym, "type_.") || strings.HasPrefix(sym, "type:") {
		return "type:"
	}
	if strings.HasPrefix(sym, "go_.") || strings.HasPrefix(sym, "go:") {
		return "go:"
	}
	for _, p := range known {
		if m := mangle(p); strings.HasPrefix(sym, m+".") {
			return p
		}
	}
	if i := strings.IndexByte(sym, '.'); i >= 0 {
		return sym[:i]
	}
	return sym
}

func mangle(path string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '-' {
			return '_'
		}
		return r
	}, path)
}

// modulePackages lists the import paths linked into pkg's module, longest first.
func modulePackages(pkg string) ([]string, error) {
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %v", err)
	}
	var list []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l == pkg || strings.HasSuffix(l, "/plugin") {
			list = append(list, "main")
			continue
		}
		list = append(list, l)
	}
	slices.SortFunc(list, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return list, nil
}

// buildNamed runs build/wasmbuild, then the same go build without -s -w into named.
func buildNamed(pkg, stripped, named string) error {
	cmd := exec.Command("go", "run", "./build/wasmbuild", "-o", stripped, pkg)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("wasmbuild: %v", err)
	}
	cmd = exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-o", named, pkg)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("named build: %v", err)
	}
	return nil
}

type wasmSection struct {
	name string
	size int // payload bytes
}

type wasmModule struct {
	sections []wasmSection
	imports  int               // imported functions (they come first in the function index space)
	bodies   []int             // size of each defined function's body
	names    map[uint32]string // function index -> name, from the "name" custom section
}

var sectionNames = []string{"custom", "type", "import", "function", "table", "memory", "global", "export", "start",
	"element", "code", "data", "datacount"}

func uleb(b []byte) (uint64, int, error) {
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			return v, i + 1, nil
		}
	}
	return 0, 0, errors.New("bad LEB128")
}

// parseWasm reads what the breakdown needs of a wasm binary: section sizes, the number of
// imported functions, the body size of every defined function and the function names.
func parseWasm(b []byte) (*wasmModule, error) {
	if len(b) < 8 || !bytes.Equal(b[:4], []byte("\x00asm")) || binary.LittleEndian.Uint32(b[4:8]) != 1 {
		return nil, errors.New("not a wasm module")
	}
	m := &wasmModule{names: map[uint32]string{}}
	p := b[8:]
	for len(p) > 0 {
		id := p[0]
		size, n, err := uleb(p[1:])
		if err != nil || 1+n+int(size) > len(p) {
			return nil, errors.New("truncated section")
		}
		payload := p[1+n : 1+n+int(size)]
		p = p[1+n+int(size):]
		name := fmt.Sprintf("section %d", id)
		if int(id) < len(sectionNames) {
			name = sectionNames[id]
		}
		if id == 0 {
			l, k, err := uleb(payload)
			if err == nil && k+int(l) <= len(payload) {
				cname := string(payload[k : k+int(l)])
				name = "custom " + cname
				if cname == "name" {
					m.readNames(payload[k+int(l):])
				}
			}
		}
		m.sections = append(m.sections, wasmSection{name: name, size: len(payload)})
		switch id {
		case 2:
			if err := m.readImports(payload); err != nil {
				return nil, err
			}
		case 10:
			if err := m.readCode(payload); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

func (m *wasmModule) readImports(p []byte) error {
	count, n, err := uleb(p)
	if err != nil {
		return err
	}
	p = p[n:]
	str := func() error {
		l, n, err := uleb(p)
		if err != nil || n+int(l) > len(p) {
			return errors.New("bad import name")
		}
		p = p[n+int(l):]
		return nil
	}
	for i := uint64(0); i < count; i++ {
		if str() != nil || str() != nil || len(p) == 0 {
			return errors.New("bad import")
		}
		kind := p[0]
		p = p[1:]
		switch kind {
		case 0: // function: type index
			_, n, err := uleb(p)
			if err != nil {
				return err
			}
			p = p[n:]
			m.imports++
		case 1: // table: reftype, limits
			p = p[1:]
			if err := skipLimits(&p); err != nil {
				return err
			}
		case 2: // memory: limits
			if err := skipLimits(&p); err != nil {
				return err
			}
		case 3: // global: valtype, mutability
			p = p[2:]
		default:
			return fmt.Errorf("import kind %d", kind)
		}
	}
	return nil
}

func skipLimits(p *[]byte) error {
	flags := (*p)[0]
	*p = (*p)[1:]
	for k := 0; k < 1+int(flags&1); k++ {
		_, n, err := uleb(*p)
		if err != nil {
			return err
		}
		*p = (*p)[n:]
	}
	return nil
}

func (m *wasmModule) readCode(p []byte) error {
	count, n, err := uleb(p)
	if err != nil {
		return err
	}
	p = p[n:]
	for i := uint64(0); i < count; i++ {
		size, n, err := uleb(p)
		if err != nil || n+int(size) > len(p) {
			return errors.New("bad function body")
		}
		m.bodies = append(m.bodies, n+int(size))
		p = p[n+int(size):]
	}
	return nil
}

// readNames reads the function-names subsection (id 1) of the name section.
func (m *wasmModule) readNames(p []byte) {
	for len(p) > 0 {
		id := p[0]
		size, n, err := uleb(p[1:])
		if err != nil || 1+n+int(size) > len(p) {
			return
		}
		sub := p[1+n : 1+n+int(size)]
		p = p[1+n+int(size):]
		if id != 1 {
			continue
		}
		count, k, err := uleb(sub)
		if err != nil {
			return
		}
		sub = sub[k:]
		for i := uint64(0); i < count; i++ {
			idx, k, err := uleb(sub)
			if err != nil {
				return
			}
			sub = sub[k:]
			l, k, err := uleb(sub)
			if err != nil || k+int(l) > len(sub) {
				return
			}
			m.names[uint32(idx)] = string(sub[k : k+int(l)])
			sub = sub[k+int(l):]
		}
	}
}
