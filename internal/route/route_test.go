package route

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// table builds a Table from "METHOD path" lines; each API's Index is its line
// number.
func table(t testing.TB, apis ...string) *Table {
	t.Helper()
	entries := make([]Entry, len(apis))
	for i, a := range apis {
		method, path, _ := strings.Cut(a, " ")
		p, err := Compile(path)
		if err != nil {
			t.Fatal(err)
		}
		entries[i] = Entry{Pattern: p, Method: method, Index: i}
	}
	tb, err := NewTable(entries)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

type lookupCase struct {
	method, path string
	res          Result
	index        int      // when Found
	rem          string   // when Found
	vars         []string // "name=value", or "name!" for absent
}

func checkLookup(t *testing.T, tb *Table, c lookupCase) {
	t.Helper()
	var vars Vars
	m, res := tb.Lookup(c.path, c.method, &vars)
	if res != c.res {
		t.Errorf("%s %q: %v, want %v", c.method, c.path, res, c.res)
		return
	}
	if res != Found {
		if m != (Match{}) {
			t.Errorf("%s %q: %v with match %+v", c.method, c.path, res, m)
		}
		return
	}
	if m.Index != c.index || m.Remainder != c.rem {
		t.Errorf("%s %q: API %d remainder %q, want API %d remainder %q", c.method, c.path, m.Index, m.Remainder, c.index, c.rem)
	}
	for _, v := range c.vars {
		name, want, present := strings.Cut(v, "=")
		name = strings.TrimSuffix(name, "!")
		got, ok := vars.Get(name)
		if got != want || ok != present {
			t.Errorf("%s %q: var %s = %q, %v, want %q, %v", c.method, c.path, name, got, ok, want, present)
		}
	}
	if len(c.vars) == 0 && len(vars.names) != 0 {
		t.Errorf("%s %q: unexpected vars %q", c.method, c.path, vars.names)
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		name  string
		apis  []string
		cases []lookupCase
	}{{
		name: "tencent examples",
		apis: []string{"GET /{A}/{B}/detail", "GET /{A}/product/{B}", "GET /{A}/{B}", "GET /user", "GET /product/"},
		cases: []lookupCase{
			{"GET", "/middleware/apigw/detail", Found, 0, "", []string{"A=middleware", "B=apigw"}},
			{"GET", "/middleware/product/apigw/detail", Found, 1, "", []string{"A=middleware", "B=apigw/detail"}},
			{"GET", "/middleware/apigw/other", Found, 2, "", []string{"A=middleware/apigw", "B=other"}},
		},
	}, {
		name: "tencent greedy two variables",
		apis: []string{"GET /{A}/{B}"},
		cases: []lookupCase{
			{"GET", "/middleware/apigw/detail", Found, 0, "", []string{"A=middleware/apigw", "B=detail"}},
		},
	}, {
		name: "plain path is a string prefix",
		apis: []string{"GET /user", "GET /product/"},
		cases: []lookupCase{
			{"GET", "/user", Found, 0, "", nil},
			{"GET", "/usertest", Found, 0, "test", nil},
			{"GET", "/user/test/a", Found, 0, "/test/a", nil},
			{"GET", "/product/apigw/document", Found, 1, "apigw/document", nil},
			{"GET", "/product", NoMatch, 0, "", nil},
			{"GET", "/use", NoMatch, 0, "", nil},
			{"GET", "/", NoMatch, 0, "", nil},
			{"GET", "", NoMatch, 0, "", nil},
		},
	}, {
		name: "exact",
		apis: []string{"GET =/a/b", "GET =/"},
		cases: []lookupCase{
			{"GET", "/a/b", Found, 0, "", nil},
			{"GET", "/", Found, 1, "", nil},
			{"GET", "/a/b/", NoMatch, 0, "", nil},
			{"GET", "/a/bc", NoMatch, 0, "", nil},
			{"GET", "/a", NoMatch, 0, "", nil},
		},
	}, {
		name: "ranks beat config order",
		apis: []string{"ANY /a", "ANY /a/{x}", "ANY ^~/a", "ANY =/a/b"},
		cases: []lookupCase{
			{"GET", "/a/b", Found, 3, "", nil},
			{"GET", "/a/c", Found, 2, "/c", nil},
			{"GET", "/a", Found, 2, "", nil},
			{"GET", "/ab", Found, 2, "b", nil},
		},
	}, {
		name: "template before plain prefix",
		apis: []string{"ANY /a", "ANY /a/{x}"},
		cases: []lookupCase{
			{"GET", "/a/c", Found, 1, "", []string{"x=c"}},
			{"GET", "/a/", Found, 1, "", []string{"x!"}},
			{"GET", "/a", Found, 0, "", nil},
			{"GET", "/ab", Found, 0, "b", nil},
		},
	}, {
		name: "longer prefix first",
		apis: []string{"GET ^~/a", "GET ^~/a/b", "GET ^~/a/b/", "GET /x", "GET /x/y"},
		cases: []lookupCase{
			{"GET", "/a/b/c", Found, 2, "c", nil},
			{"GET", "/a/b", Found, 1, "", nil},
			{"GET", "/a/bc", Found, 1, "c", nil},
			{"GET", "/a/c", Found, 0, "/c", nil},
			{"GET", "/x/y/z", Found, 4, "/z", nil},
			{"GET", "/x/z", Found, 3, "/z", nil},
		},
	}, {
		name: "more template literals first",
		apis: []string{"GET /{x}", "GET /a/{y}", "GET /{z}/c", "GET /a/{w}/c"},
		cases: []lookupCase{
			{"GET", "/a/b/c", Found, 3, "", []string{"w=b"}},
			{"GET", "/a/b", Found, 1, "", []string{"y=b"}},
			{"GET", "/b/c", Found, 2, "", []string{"z=b"}},
			{"GET", "/q", Found, 0, "", []string{"x=q"}},
			{"GET", "/", Found, 0, "", []string{"x!"}},
		},
	}, {
		name: "template literal count beats leading literal length",
		apis: []string{"GET /abc/{x}", "GET /{y}/def/ghi"},
		cases: []lookupCase{
			{"GET", "/abc/def/ghi", Found, 1, "", []string{"y=abc", "x!"}},
			{"GET", "/abc/def", Found, 0, "", []string{"x=def"}},
		},
	}, {
		name: "template ties in config order",
		apis: []string{"GET /a/{y}", "GET /{z}/c", "GET /{x}/c"},
		cases: []lookupCase{
			{"GET", "/a/c", Found, 0, "", []string{"y=c", "z!"}},
			{"GET", "/b/c", Found, 1, "", []string{"z=b"}},
		},
	}, {
		name: "template ties in config order, reversed",
		apis: []string{"GET /{z}/c", "GET /a/{y}"},
		cases: []lookupCase{
			{"GET", "/a/c", Found, 0, "", []string{"z=a"}},
		},
	}, {
		name: "same path, methods in config order",
		apis: []string{"GET /a", "POST /a", "ANY /a", "GET /a", "GET =/e", "ANY =/e", "HEAD ^~/p", "ANY ^~/p"},
		cases: []lookupCase{
			{"GET", "/a", Found, 0, "", nil},
			{"POST", "/a/x", Found, 1, "/x", nil},
			{"PUT", "/a", Found, 2, "", nil},
			{"GET", "/e", Found, 4, "", nil},
			{"DELETE", "/e", Found, 5, "", nil},
			{"HEAD", "/p", Found, 6, "", nil},
			{"GET", "/p", Found, 7, "", nil},
		},
	}, {
		name: "ANY and HEAD",
		apis: []string{"GET =/g", "HEAD =/h", "ANY =/any"},
		cases: []lookupCase{
			{"GET", "/g", Found, 0, "", nil},
			{"HEAD", "/g", MethodNotAllowed, 0, "", nil},
			{"HEAD", "/h", Found, 1, "", nil},
			{"GET", "/h", MethodNotAllowed, 0, "", nil},
			{"HEAD", "/any", Found, 2, "", nil},
			{"OPTIONS", "/any", Found, 2, "", nil},
			{"PATCH", "/any", Found, 2, "", nil},
			{"BREW", "/any", Found, 2, "", nil},
			{"BREW", "/g", MethodNotAllowed, 0, "", nil},
			{"get", "/g", MethodNotAllowed, 0, "", nil},
		},
	}, {
		name: "every method",
		apis: []string{"GET =/m", "HEAD =/m", "POST =/m", "PUT =/m", "DELETE =/m", "PATCH =/m", "OPTIONS =/m"},
		cases: []lookupCase{
			{"GET", "/m", Found, 0, "", nil},
			{"HEAD", "/m", Found, 1, "", nil},
			{"POST", "/m", Found, 2, "", nil},
			{"PUT", "/m", Found, 3, "", nil},
			{"DELETE", "/m", Found, 4, "", nil},
			{"PATCH", "/m", Found, 5, "", nil},
			{"OPTIONS", "/m", Found, 6, "", nil},
			{"TRACE", "/m", MethodNotAllowed, 0, "", nil},
		},
	}, {
		name: "a method miss falls through to lower ranks",
		apis: []string{"GET =/a/b", "POST ^~/a/b", "PUT ^~/a", "PATCH /a/{x}", "DELETE /{y}", "OPTIONS /a", "HEAD /"},
		cases: []lookupCase{
			{"GET", "/a/b", Found, 0, "", nil},
			{"POST", "/a/b", Found, 1, "", nil},
			{"PUT", "/a/b", Found, 2, "/b", nil},
			{"PATCH", "/a/b", Found, 3, "", []string{"x=b"}},
			{"DELETE", "/a/b", Found, 4, "", []string{"y=a/b"}},
			{"OPTIONS", "/a/b", Found, 5, "/b", nil},
			{"HEAD", "/a/b", Found, 6, "a/b", nil},
			{"TRACE", "/a/b", MethodNotAllowed, 0, "", nil},
			{"GET", "/zzz", MethodNotAllowed, 0, "", nil},
			{"HEAD", "/zzz", Found, 6, "zzz", nil},
		},
	}, {
		name: "405 from each kind alone",
		apis: []string{"GET =/e", "GET ^~/p", "GET /t/{x}", "GET /l"},
		cases: []lookupCase{
			{"POST", "/e", MethodNotAllowed, 0, "", nil},
			{"POST", "/p/1", MethodNotAllowed, 0, "", nil},
			{"POST", "/t/1", MethodNotAllowed, 0, "", nil},
			{"POST", "/l/1", MethodNotAllowed, 0, "", nil},
			{"POST", "/x", NoMatch, 0, "", nil},
			{"GET", "/x", NoMatch, 0, "", nil},
		},
	}, {
		name: "absent variables",
		apis: []string{"GET /users/{id}", "GET /f/{a}/{b}"},
		cases: []lookupCase{
			{"GET", "/users/", Found, 0, "", []string{"id!", "other!"}},
			{"GET", "/users/7", Found, 0, "", []string{"id=7", "other!"}},
			{"GET", "/users", NoMatch, 0, "", nil},
			{"GET", "/f//", Found, 1, "", []string{"a!", "b!"}},
			{"GET", "/f/x/", Found, 1, "", []string{"a=x", "b!"}},
			{"GET", "/f//y", Found, 1, "", []string{"a!", "b=y"}},
		},
	}, {
		name: "empty table",
		cases: []lookupCase{
			{"GET", "/", NoMatch, 0, "", nil},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := table(t, tt.apis...)
			for _, c := range tt.cases {
				checkLookup(t, tb, c)
			}
		})
	}
}

func TestLookupResetsVars(t *testing.T) {
	tb := table(t, "GET /t/{x}", "GET =/e")
	var v Vars
	if _, res := tb.Lookup("/t/1", "GET", &v); res != Found {
		t.Fatal(res)
	}
	for _, path := range []string{"/e", "/none"} {
		tb.Lookup(path, "GET", &v)
		if got, ok := v.Get("x"); ok || got != "" {
			t.Errorf("after %s: x = %q, %v; want it absent", path, got, ok)
		}
	}
	if _, res := tb.Lookup("/t/2", "GET", nil); res != Found {
		t.Errorf("nil vars: %v", res)
	}
}

func TestNewTableErrors(t *testing.T) {
	p, _ := Compile("/a")
	tests := []struct {
		name    string
		entries []Entry
	}{
		{"nil pattern", []Entry{{Method: "GET"}}},
		{"empty method", []Entry{{Pattern: p}}},
		{"lower case method", []Entry{{Pattern: p, Method: "get"}}},
		{"unknown method", []Entry{{Pattern: p, Method: "TRACE"}}},
		{"zero pattern", []Entry{{Pattern: &Pattern{}, Method: "GET"}}},
	}
	for _, tt := range tests {
		if _, err := NewTable(tt.entries); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	tb := table(t, "GET =/a/b", "GET ^~/p/", "GET /t/{x}/u/{y}", "GET /l")
	var v Vars
	tests := []struct{ method, path string }{
		{"GET", "/a/b"},
		{"GET", "/p/x/y"},
		{"GET", "/l/x"},
		{"GET", "/t/1/u/2"},
		{"POST", "/a/b"},
		{"GET", "/none"},
	}
	for _, tt := range tests {
		tb.Lookup(tt.path, tt.method, &v) // lets v grow once
		n := testing.AllocsPerRun(100, func() { tb.Lookup(tt.path, tt.method, &v) })
		if n != 0 {
			t.Errorf("%s %s: %v allocations", tt.method, tt.path, n)
		}
	}
}

// refLookup is Lookup written as plainly as possible: sort every API by rank,
// walk them, match templates with package regexp.
func refLookup(apis []Entry, path, method string) (Match, Result, map[string]string) {
	type cand struct {
		e   Entry
		key int // within-kind order: smaller first
		pos int
	}
	cands := make([]cand, len(apis))
	for i, e := range apis {
		key := 0
		switch e.Pattern.Kind() {
		case Prefix, PlainPrefix:
			key = -len(e.Pattern.Literal())
		case Template:
			key = -e.Pattern.litLen
		}
		cands[i] = cand{e, key, i}
	}
	slices.SortFunc(cands, func(a, b cand) int {
		if a.e.Pattern.Kind() != b.e.Pattern.Kind() {
			return int(a.e.Pattern.Kind()) - int(b.e.Pattern.Kind())
		}
		if a.key != b.key {
			return a.key - b.key
		}
		return a.pos - b.pos
	})
	matched := false
	for _, c := range cands {
		p := c.e.Pattern
		var rem string
		var vars map[string]string
		switch p.Kind() {
		case Exact:
			if path != p.Literal() {
				continue
			}
		case Prefix, PlainPrefix:
			if !strings.HasPrefix(path, p.Literal()) {
				continue
			}
			rem = path[len(p.Literal()):]
		case Template:
			sub := templateRegexp(p).FindStringSubmatch(path)
			if sub == nil {
				continue
			}
			vars = map[string]string{}
			for i, n := range p.VarNames() {
				vars[n] = sub[i+1]
			}
		}
		matched = true
		if c.e.Method == "ANY" || c.e.Method == method {
			return Match{Index: c.e.Index, Remainder: rem}, Found, vars
		}
	}
	if matched {
		return Match{}, MethodNotAllowed, nil
	}
	return Match{}, NoMatch, nil
}

// templateRegexp is the oracle's reading of a template: ^lit0(.*)lit1...$,
// with "." taking newlines too.
func templateRegexp(p *Pattern) *regexp.Regexp {
	if re, ok := regexps.Load(p); ok {
		return re.(*regexp.Regexp)
	}
	var b strings.Builder
	b.WriteString(`(?s)^`)
	for i, l := range p.lits {
		if i > 0 {
			b.WriteString(`(.*)`)
		}
		b.WriteString(regexp.QuoteMeta(l))
	}
	b.WriteString(`$`)
	re := regexp.MustCompile(b.String())
	regexps.Store(p, re)
	return re
}

var regexps sync.Map // *Pattern -> *regexp.Regexp

// compareWithRef checks one lookup of tb against refLookup over the same APIs.
func compareWithRef(t testing.TB, tb *Table, apis []Entry, path, method string) {
	t.Helper()
	var v Vars
	m, res := tb.Lookup(path, method, &v)
	wm, wres, wvars := refLookup(apis, path, method)
	if m != wm || res != wres {
		t.Fatalf("%s %q: %+v %v, want %+v %v", method, path, m, res, wm, wres)
	}
	for name, want := range wvars {
		got, ok := v.Get(name)
		if got != want || ok != (want != "") {
			t.Fatalf("%s %q: var %s = %q, %v; want %q", method, path, name, got, ok, want)
		}
	}
}

var methods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "ANY"}

// TestLookupMatchesReference checks the indexes at scale: 10,000 APIs built
// from few segments, so that prefixes, templates and methods overlap a lot.
func TestLookupMatchesReference(t *testing.T) {
	if testing.Short() {
		t.Skip("slow reference")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	segs := []string{"a", "b", "ab", "v1", "users", ""}
	randPath := func() string {
		var b strings.Builder
		for range 1 + rng.IntN(4) {
			b.WriteString("/")
			b.WriteString(segs[rng.IntN(len(segs))])
		}
		return b.String()
	}
	var apis []Entry
	seen := map[string]bool{}
	for len(apis) < 10000 {
		path := randPath()
		switch rng.IntN(4) {
		case 0:
			path = "=" + path
		case 1:
			path = "^~" + path
		case 2:
			// Replace some segments by variables.
			parts := strings.Split(path, "/")
			for i := 1; i < len(parts); i++ {
				if rng.IntN(2) == 0 {
					parts[i] = fmt.Sprintf("{v%d}", i)
				}
			}
			path = strings.Join(parts, "/")
		}
		method := methods[rng.IntN(len(methods))]
		if seen[method+path] {
			continue
		}
		seen[method+path] = true
		p, err := Compile(path)
		if err != nil {
			t.Fatal(err)
		}
		apis = append(apis, Entry{Pattern: p, Method: method, Index: len(apis)})
	}
	tb, err := NewTable(apis)
	if err != nil {
		t.Fatal(err)
	}
	for range 300 {
		path := randPath() + strings.Repeat("x", rng.IntN(2))
		compareWithRef(t, tb, apis, path, methods[rng.IntN(len(methods)-1)])
	}
}

// TestManyTemplatesOneLead covers a large group of templates under the same
// leading literal, where the winner is far down the rank order and most
// candidates are rejected by their grams.
func TestManyTemplatesOneLead(t *testing.T) {
	var apis []Entry
	add := func(method, path string) {
		p, err := Compile(path)
		if err != nil {
			t.Fatal(err)
		}
		apis = append(apis, Entry{Pattern: p, Method: method, Index: len(apis)})
	}
	for i := range 200 {
		add("GET", fmt.Sprintf("/{t}/r%d/{id}", i))
		add("POST", fmt.Sprintf("/{t}/q%dx/{id}/z", i))
	}
	tb, err := NewTable(apis)
	if err != nil {
		t.Fatal(err)
	}
	checkLookup(t, tb, lookupCase{"GET", "/acme/r150/42", Found, 300, "", []string{"t=acme", "id=42"}})
	checkLookup(t, tb, lookupCase{"GET", "/a/r1/r150/x", Found, 300, "", []string{"t=a/r1", "id=x"}})
	checkLookup(t, tb, lookupCase{"POST", "/acme/q7x/1/z", Found, 15, "", []string{"t=acme", "id=1"}})
	checkLookup(t, tb, lookupCase{"GET", "/acme/q7x/1/z", MethodNotAllowed, 0, "", nil})
	checkLookup(t, tb, lookupCase{"GET", "/acme/r200/42", NoMatch, 0, "", nil})
	rng := rand.New(rand.NewPCG(3, 4))
	for range 500 {
		path := fmt.Sprintf("/%s/%c%d%s/%s", []string{"a", "r1", "q2x"}[rng.IntN(3)], "rq"[rng.IntN(2)], rng.IntN(220),
			[]string{"", "x", "x/1/z"}[rng.IntN(3)], []string{"", "9", "z"}[rng.IntN(3)])
		compareWithRef(t, tb, apis, path, methods[rng.IntN(3)])
	}
}
