package route

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// cleanLiteral drops what Compile rejects in a literal, and what would make
// package regexp a bad oracle: invalid UTF-8 (not a valid pattern) and U+FFFD
// (regexp reads every invalid input byte as U+FFFD, bytes do not).
func cleanLiteral(s string) string {
	s = strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f || strings.ContainsRune("?#{}\uFFFD", r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	return s
}

// FuzzTemplate compares the hand-written template matcher with package regexp.
func FuzzTemplate(f *testing.F) {
	f.Add("middleware", "/", "/detail", "", uint8(1), "x", "y", "z", "/middleware/apigw/detail")
	f.Add("", "/product/", "", "", uint8(1), "a/b", "c/d", "", "/middleware/product/apigw/detail")
	f.Add("", "/", "", "", uint8(0), "", "", "", "/")
	f.Add("aa", "aa", "aa", "aa", uint8(3), "aaa", "a", "", "/aaaaaaaaaaa")
	f.Add("x", "ab", "ab", "", uint8(2), "abab", "", "ab", "/xababab")
	f.Fuzz(func(t *testing.T, l0, l1, l2, l3 string, n uint8, f0, f1, f2 string, raw string) {
		lits := []string{"/" + cleanLiteral(l0), cleanLiteral(l1), cleanLiteral(l2), cleanLiteral(l3)}
		lits = lits[:2+n%3] // one to three variables
		var tmpl strings.Builder
		for i, l := range lits {
			if i > 0 && i < len(lits)-1 && l == "" {
				l = "-" // variables may not be adjacent
				lits[i] = l
			}
			tmpl.WriteString(l)
			if i < len(lits)-1 {
				fmt.Fprintf(&tmpl, "{v%d}", i)
			}
		}
		p, err := Compile(tmpl.String())
		if err != nil {
			t.Fatalf("Compile(%q): %v", tmpl.String(), err)
		}
		if p.Kind() != Template || !slices.Equal(p.lits, lits) {
			t.Fatalf("Compile(%q) = %v %q, want a template of %q", tmpl.String(), p.Kind(), p.lits, lits)
		}
		fill := []string{f0, f1, f2}
		var built strings.Builder
		for i, l := range lits {
			built.WriteString(l)
			if i < len(lits)-1 {
				built.WriteString(fill[i])
			}
		}
		regexps.Clear()
		re := templateRegexp(p)
		for _, path := range []string{built.String(), raw} {
			want := re.FindStringSubmatch(path)
			got := make([]string, len(p.names))
			ok := p.matchTemplate(path, got)
			if ok != (want != nil) {
				t.Fatalf("%q on %q: match %v, regexp %v", tmpl.String(), path, ok, want != nil)
			}
			if ok && !slices.Equal(got, want[1:]) {
				t.Fatalf("%q on %q: %q, regexp %q", tmpl.String(), path, got, want[1:])
			}
			if p.matchTemplate(path, nil) != ok {
				t.Fatalf("%q on %q: match without captures disagrees", tmpl.String(), path)
			}
		}
	})
}

// FuzzCompile checks that Compile never panics and that what it accepts is
// a consistent, usable pattern.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{"", "=", "^~", "/", "=/a/b", "^~/a", "/user", "/{A}/{B}", "/{A}/product/{B}",
		"/a/{", "/a/}", "/{}", "/{a}{b}", "/{a}/{a}", "/{a b}", "/{a{b}}", "/a?b", "/é/{x}", "=/{x}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Compile(s)
		if err != nil {
			if p != nil {
				t.Fatalf("Compile(%q) returned a pattern and an error", s)
			}
			return
		}
		if p.String() != s || !strings.HasSuffix(s, p.Literal()) || !strings.HasPrefix(p.Literal(), "/") {
			t.Fatalf("Compile(%q): String %q, Literal %q", s, p.String(), p.Literal())
		}
		marker := map[Kind]string{Exact: "=", Prefix: "^~", Template: "", PlainPrefix: ""}[p.Kind()]
		if marker+p.Literal() != s {
			t.Fatalf("Compile(%q): kind %v with literal %q", s, p.Kind(), p.Literal())
		}
		names := p.VarNames()
		if (p.Kind() == Template) != (len(names) > 0) {
			t.Fatalf("Compile(%q): kind %v with variables %q", s, p.Kind(), names)
		}
		// Matching path: every variable empty, or a literal as is.
		path := p.Literal()
		if p.Kind() == Template {
			var rebuilt strings.Builder
			for i, l := range p.lits {
				if i > 0 {
					if l == "" && i < len(p.lits)-1 {
						t.Fatalf("Compile(%q): adjacent variables accepted", s)
					}
					fmt.Fprintf(&rebuilt, "{%s}", names[i-1])
					if !validName(names[i-1]) || slices.Index(names, names[i-1]) != i-1 {
						t.Fatalf("Compile(%q): bad or duplicate name %q", s, names[i-1])
					}
				}
				rebuilt.WriteString(l)
			}
			if rebuilt.String() != p.Literal() {
				t.Fatalf("Compile(%q): parts %q %q rebuild %q", s, p.lits, names, rebuilt.String())
			}
			path = strings.Join(p.lits, "")
		} else if strings.ContainsAny(p.Literal(), "{}") {
			t.Fatalf("Compile(%q): kind %v with braces", s, p.Kind())
		}
		tb, err := NewTable([]Entry{{Pattern: p, Method: "GET", Index: 7}})
		if err != nil {
			t.Fatal(err)
		}
		var v Vars
		m, res := tb.Lookup(path, "GET", &v)
		if res != Found || m.Index != 7 || m.Remainder != "" {
			t.Fatalf("Compile(%q): lookup of %q = %+v %v", s, path, m, res)
		}
		for _, n := range names {
			if _, ok := v.Get(n); ok {
				t.Fatalf("Compile(%q): lookup of %q: %s present", s, path, n)
			}
		}
	})
}

// FuzzTable compares Table.Lookup with refLookup. Each line of spec is one
// API: its first byte picks the method, the rest is the path.
func FuzzTable(f *testing.F) {
	f.Add("0=/a/b\n7^~/a\n0/{x}/b\n1/a\n2/", "/a/b", uint8(0))
	f.Add("0/{A}/{B}/detail\n0/{A}/product/{B}\n0/{A}/{B}", "/middleware/product/apigw/detail", uint8(0))
	f.Add("0/user\n7/user/{x}\n1^~/us\n0^~/user/", "/usertest", uint8(1))
	f.Add("1/a\n0/a\n7/{a}\n0/a/{b}/c", "/a/b/c", uint8(2))
	f.Fuzz(func(t *testing.T, spec, path string, mi uint8) {
		regexps.Clear()
		var apis []Entry
		for line := range strings.SplitSeq(spec, "\n") {
			if line == "" || len(apis) == 64 {
				continue
			}
			p, err := Compile(line[1:])
			if err != nil || cleanLiteral(strings.Join(p.lits, "")) != strings.Join(p.lits, "") {
				continue // not a pattern, or one regexp would read differently
			}
			apis = append(apis, Entry{Pattern: p, Method: methods[line[0]%8], Index: len(apis) * 10})
		}
		tb, err := NewTable(apis)
		if err != nil {
			t.Fatal(err)
		}
		reqMethods := []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "BREW"}
		method := reqMethods[mi%8]
		if !utf8.ValidString(path) || strings.ContainsRune(path, utf8.RuneError) {
			path = cleanLiteral(path) // keep the regexp oracle exact
		}
		compareWithRef(t, tb, apis, path, method)
		// Paths made from the APIs themselves, so that many match.
		for _, a := range apis {
			base := strings.Join(a.Pattern.lits, "")
			if a.Pattern.Kind() != Template {
				base = a.Pattern.Literal()
			}
			compareWithRef(t, tb, apis, base, method)
			compareWithRef(t, tb, apis, base+path, method)
		}
	})
}
