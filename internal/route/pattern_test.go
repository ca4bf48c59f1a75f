package route

import (
	"slices"
	"strings"
	"testing"
)

func TestCompile(t *testing.T) {
	tests := []struct {
		path    string
		kind    Kind
		literal string
		names   []string
	}{
		{"=/a/b", Exact, "/a/b", nil},
		{"=/", Exact, "/", nil},
		{"^~/a", Prefix, "/a", nil},
		{"^~/", Prefix, "/", nil},
		{"/user", PlainPrefix, "/user", nil},
		{"/", PlainPrefix, "/", nil},
		{"/a=b/^~c", PlainPrefix, "/a=b/^~c", nil},
		{"/users/{id}", Template, "/users/{id}", []string{"id"}},
		{"/{A}/{B}", Template, "/{A}/{B}", []string{"A", "B"}},
		{"/{A}/product/{B}", Template, "/{A}/product/{B}", []string{"A", "B"}},
		{"/x/{a-b_C9}.json", Template, "/x/{a-b_C9}.json", []string{"a-b_C9"}},
		{"/{a}-{b}", Template, "/{a}-{b}", []string{"a", "b"}},
		{"/é/{x}", Template, "/é/{x}", []string{"x"}},
	}
	for _, tt := range tests {
		p, err := Compile(tt.path)
		if err != nil {
			t.Errorf("Compile(%q): %v", tt.path, err)
			continue
		}
		if p.Kind() != tt.kind || p.Literal() != tt.literal || p.String() != tt.path || !slices.Equal(p.VarNames(), tt.names) {
			t.Errorf("Compile(%q) = %v %q %q %q, want %v %q %q", tt.path,
				p.Kind(), p.Literal(), p.String(), p.VarNames(), tt.kind, tt.literal, tt.names)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		path string
		want string // part of the error
	}{
		{"", "empty path"},
		{"=", "must start with"},
		{"^~", "must start with"},
		{"=a/b", "must start with"},
		{"^~a", "must start with"},
		{"a/b", "must start with"},
		{"{a}/b", "must start with"},
		{"=^~/a", "must start with"},
		{"/a b", "invalid byte"},
		{"/a?b=1", "invalid byte"},
		{"/a#frag", "invalid byte"},
		{"/a\x00", "invalid byte"},
		{"/a\x7f", "invalid byte"},
		{"=/a/{id}", "not allowed in an exact or prefix path"},
		{"^~/a/{id}", "not allowed in an exact or prefix path"},
		{"^~/a}", "not allowed in an exact or prefix path"},
		{"/a/{", `"{" without "}"`},
		{"/a/{id", `"{" without "}"`},
		{"/a/id}", `"}" without "{"`},
		{"/a/{id}}", `"}" without "{"`},
		{"/a/{}", "empty variable name"},
		{"/a/{{id}}", "is not [A-Za-z0-9_-]+"},
		{"/a/{i d}", "invalid byte"},
		{"/a/{i.d}", "is not [A-Za-z0-9_-]+"},
		{"/a/{i/d}", "is not [A-Za-z0-9_-]+"},
		{"/a/{é}", "is not [A-Za-z0-9_-]+"},
		{"/{id}/{id}", "appears twice"},
		{"/{a}{b}", "adjacent"},
		{"/x/{a}{b}/y", "adjacent"},
	}
	for _, tt := range tests {
		p, err := Compile(tt.path)
		if err == nil {
			t.Errorf("Compile(%q) = %v, want an error", tt.path, p.Kind())
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Compile(%q) error %q, want it to contain %q", tt.path, err, tt.want)
		}
	}
}

func TestVarNamesIsACopy(t *testing.T) {
	p, err := Compile("/{a}/{b}")
	if err != nil {
		t.Fatal(err)
	}
	p.VarNames()[0] = "changed"
	if got := p.VarNames(); got[0] != "a" {
		t.Errorf("VarNames()[0] = %q after the caller changed its copy", got[0])
	}
}

func TestMatchTemplate(t *testing.T) {
	tests := []struct {
		tmpl string
		path string
		want []string // nil: no match
	}{
		// Tencent's examples: greedy, and a variable may span "/".
		{"/{A}/{B}", "/middleware/apigw/detail", []string{"middleware/apigw", "detail"}},
		{"/{A}/product/{B}", "/middleware/product/apigw/detail", []string{"middleware", "apigw/detail"}},
		{"/{A}/{B}/detail", "/middleware/apigw/detail", []string{"middleware", "apigw"}},

		{"/users/{id}", "/users/42", []string{"42"}},
		{"/users/{id}", "/users/", []string{""}},
		{"/users/{id}", "/users", nil},
		{"/users/{id}", "/user/42", nil},
		{"/users/{id}", "/users/42/orders", []string{"42/orders"}},
		{"/users/{id}/orders", "/users/42/orders", []string{"42"}},
		{"/users/{id}/orders", "/users/42/orders/7", nil},
		{"/users/{id}/orders", "/users//orders", []string{""}},
		{"/users/{id}/orders", "/users/orders", nil},
		{"/{a}/{b}", "//", []string{"", ""}},
		{"/{a}/{b}", "/", nil},
		{"/{a}/{b}", "///", []string{"/", ""}},
		{"/{a}", "/", []string{""}},
		{"/{a}.{b}", "/x.tar.gz", []string{"x.tar", "gz"}},
		{"/{a}/x/{b}/x", "/x/x/x/x", []string{"x", "x"}},
		{"/{a}/x/{b}/x", "/x/x/x/x/x", []string{"x/x", "x"}},
		{"/aa{a}aa", "/aaa", nil},
		{"/aa{a}aa", "/aaaa", []string{""}},
		{"/aa{a}aa", "/aaaaa", []string{"a"}},
		{"/{a}ab{b}ab", "/abab", []string{"", ""}},
		{"/{a}ab{b}ab", "/ababab", []string{"ab", ""}},
	}
	for _, tt := range tests {
		p, err := Compile(tt.tmpl)
		if err != nil {
			t.Fatalf("Compile(%q): %v", tt.tmpl, err)
		}
		vals := make([]string, len(p.names))
		ok := p.matchTemplate(tt.path, vals)
		if ok != (tt.want != nil) || ok && !slices.Equal(vals, tt.want) {
			t.Errorf("%q on %q = %v %q, want %q", tt.tmpl, tt.path, ok, vals, tt.want)
		}
		if p.matchTemplate(tt.path, nil) != ok {
			t.Errorf("%q on %q: match without captures disagrees", tt.tmpl, tt.path)
		}
	}
}
