// Package route matches a request path and method against the API paths published
// in one environment, with Tencent Cloud API Gateway's rules: exact paths ("=/a")
// first, then "^~" prefixes, then {var} templates, then plain paths as prefixes;
// longer prefixes and templates with more literal text win within their rank, and
// configuration order breaks ties. Compile validates one API path; NewTable indexes
// them all once (a map for exact paths, radix trees for prefixes and for the
// leading literal of templates), so that Lookup does no parsing, uses no regular
// expression and, given a reused Vars, allocates nothing.
package route

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/apigw-wasm/apigw-wasm/internal/httpsyntax"
)

// An API's methods are a bit set: bit i for httpsyntax.Methods[i], methodOther for any other
// method, which only ANY takes.
const (
	methodOther uint8 = 1 << len(httpsyntax.Methods)
	methodAny   uint8 = 0xff
)

func methodBit(m string) uint8 {
	if i := httpsyntax.MethodIndex(m); i >= 0 {
		return 1 << i
	}
	return methodOther
}

// Entry is one API of the environment, as given to NewTable.
type Entry struct {
	Pattern *Pattern
	Method  string // GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS or ANY
	Index   int    // returned in Match when this API is chosen
}

// Result is the outcome of a Lookup.
type Result uint8

const (
	NoMatch          Result = iota // no API path matched: 404
	Found                          // an API matched path and method
	MethodNotAllowed               // some API path matched, none takes the method: 405
)

func (r Result) String() string {
	switch r {
	case NoMatch:
		return "no match"
	case Found:
		return "found"
	case MethodNotAllowed:
		return "method not allowed"
	}
	return fmt.Sprintf("Result(%d)", uint8(r))
}

// Match is the API a Lookup chose.
type Match struct {
	Index int // the Entry's Index

	// Remainder is, for a prefix API, the request path after the matched
	// prefix; empty for exact and template APIs.
	Remainder string
}

// Vars holds the variable values of a template match, as substrings of the
// request path. The zero value is ready; reuse one across lookups to avoid
// allocating. A Vars is not safe for concurrent use.
type Vars struct {
	names  []string // the template's names; shared, never modified
	vals   []string
	inline [4]string // vals for up to four variables, without an allocation; do not copy a Vars in use
}

// Get returns the value of the named variable. A variable that matched nothing,
// or that the matched API does not have, is absent.
func (v *Vars) Get(name string) (value string, present bool) {
	for i, n := range v.names {
		if n == name {
			return v.vals[i], v.vals[i] != ""
		}
	}
	return "", false
}

func (v *Vars) set(p *Pattern, path string) {
	v.names = p.names
	switch {
	case len(p.names) <= len(v.inline):
		v.vals = v.inline[:0]
	case cap(v.vals) < len(p.names):
		v.vals = make([]string, len(p.names))
	}
	v.vals = v.vals[:len(p.names)]
	p.matchTemplate(path, v.vals)
}

func (v *Vars) reset() {
	v.names = nil
	clear(v.vals) // drop references to the last request's path
	v.vals = v.vals[:0]
}

type entry struct {
	pat     *Pattern
	index   int
	methods uint8
}

// Table is the compiled set of APIs of one environment. It is immutable and
// safe for concurrent use.
type Table struct {
	entries []entry            // configuration order
	exact   map[string][]int32 // path -> entries, configuration order
	prefix  tree               // "^~" paths -> entries, configuration order
	plain   tree               // plain paths -> entries, configuration order
	tmpl    tree               // leading literal -> positions in tmpls, ascending
	tmpls   []tmplRank         // templates in rank order
}

// tmplRank is one template in rank order, kept inline so that rejecting it
// touches one contiguous slice.
type tmplRank struct {
	entry   int32
	methods uint8
	sig     grams // of its literals
}

// NewTable indexes entries, whose order is the configuration order that
// breaks ties. It fails on a nil Pattern or an unknown Method.
func NewTable(entries []Entry) (*Table, error) {
	t := &Table{
		entries: make([]entry, len(entries)),
		exact:   make(map[string][]int32),
	}
	for i, e := range entries {
		if e.Pattern == nil {
			return nil, fmt.Errorf("route: entry %d: nil pattern", i)
		}
		m := methodAny
		if e.Method != "ANY" {
			if m = methodBit(e.Method); m == methodOther {
				return nil, fmt.Errorf("route: entry %d: unknown method %q", i, e.Method)
			}
		}
		t.entries[i] = entry{pat: e.Pattern, index: e.Index, methods: m}
		switch p := e.Pattern; p.kind {
		case Exact:
			t.exact[p.lit] = append(t.exact[p.lit], int32(i))
		case Prefix:
			t.prefix.add(p.lit, int32(i))
		case PlainPrefix:
			t.plain.add(p.lit, int32(i))
		case Template:
			tr := tmplRank{entry: int32(i), methods: m}
			for _, l := range p.lits {
				tr.sig.add(l)
			}
			t.tmpls = append(t.tmpls, tr)
		default:
			return nil, errors.New("route: pattern not made by Compile")
		}
	}
	// More literal bytes first; stable, so ties keep configuration order.
	slices.SortStableFunc(t.tmpls, func(a, b tmplRank) int {
		return cmp.Compare(t.entries[b.entry].pat.litLen, t.entries[a.entry].pat.litLen)
	})
	for r, tr := range t.tmpls {
		t.tmpl.add(t.entries[tr.entry].pat.lits[0], int32(r))
	}
	t.prefix.finish()
	t.plain.finish()
	t.tmpl.finish()
	return t, nil
}

// Lookup finds the API for a request path (no query) and method: the first
// API, in rank order, whose path matches and whose method takes method.
// If vars is not nil it is reset and, for a template API, filled.
func (t *Table) Lookup(path, method string, vars *Vars) (Match, Result) {
	if vars != nil {
		vars.reset()
	}
	m := methodBit(method)
	matched := false // some path matched, so a miss is a 405

	if es, ok := t.exact[path]; ok {
		matched = true
		for _, i := range es {
			if t.entries[i].methods&m != 0 {
				return Match{Index: t.entries[i].index}, Found
			}
		}
	}
	if mt, ok := t.findPrefix(&t.prefix, path, m, &matched); ok {
		return mt, Found
	}
	if i, ok := t.findTemplate(path, m, &matched); ok {
		e := &t.entries[i]
		if vars != nil {
			vars.set(e.pat, path)
		}
		return Match{Index: e.index}, Found
	}
	if mt, ok := t.findPrefix(&t.plain, path, m, &matched); ok {
		return mt, Found
	}
	if matched {
		return Match{}, MethodNotAllowed
	}
	return Match{}, NoMatch
}

func (t *Table) findPrefix(tr *tree, path string, m uint8, matched *bool) (Match, bool) {
	for n := tr.longest(path); n >= 0; n = tr.nodes[n].up {
		nd := &tr.nodes[n]
		*matched = true
		for _, i := range nd.vals {
			if t.entries[i].methods&m != 0 {
				return Match{Index: t.entries[i].index, Remainder: path[nd.depth:]}, true
			}
		}
	}
	return Match{}, false
}

// findTemplate returns the entry of the best-ranked template that matches
// path and takes m. Templates are grouped by leading literal, each group in
// rank order; every group whose literal is a prefix of path is searched,
// skipping what cannot beat the best found so far. Past a few candidates,
// the path's grams filter out templates whose literals it cannot contain, so
// that many templates under one short leading literal stay cheap.
func (t *Table) findTemplate(path string, m uint8, matched *bool) (int32, bool) {
	const gramsAfter = 4 // candidates tried before the path's grams pay off
	var pg grams
	tried := 0
	best := int32(-1)
	for n := t.tmpl.longest(path); n >= 0; n = t.tmpl.nodes[n].up {
		for _, r := range t.tmpl.nodes[n].vals {
			if best >= 0 && r >= best {
				break
			}
			tr := &t.tmpls[r]
			takes := tr.methods&m != 0
			if !takes && *matched {
				continue // could only tell us what we know
			}
			if tried == gramsAfter {
				pg.add(path)
			}
			if tried++; tried > gramsAfter && !pg.covers(&tr.sig) {
				continue
			}
			if t.entries[tr.entry].pat.matchTemplate(path, nil) {
				if takes {
					best = r
					break
				}
				*matched = true
			}
		}
	}
	if best < 0 {
		return 0, false
	}
	return t.tmpls[best].entry, true
}

// grams is a 256-bit hashed set of the bytes and byte pairs of some strings.
// A template can match a path only if the path's set covers the template's.
type grams [4]uint64

func (g *grams) add(s string) {
	for i := 0; i < len(s); i++ {
		g.set(0, s[i])
		if i > 0 {
			g.set(s[i-1], s[i])
		}
	}
}

func (g *grams) set(a, b byte) {
	h := (uint32(a)<<8 | uint32(b)) * 0x9e3779b1 >> 24
	g[h>>6] |= 1 << (h & 63)
}

func (g *grams) covers(o *grams) bool {
	return g[0]&o[0] == o[0] && g[1]&o[1] == o[1] && g[2]&o[2] == o[2] && g[3]&o[3] == o[3]
}
