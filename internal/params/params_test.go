package params

import (
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apigw-wasm/apigw-wasm/internal/reply"
)

// fakeRequest is a Request; vars follow the template's names, and a variable set to absent
// is missing.
type fakeRequest struct {
	names    []string
	vars     []string
	headers  map[string]string // keys lower case
	query    string
	body     string
	bodyRead bool
}

const absent = "\x00absent"

func (r *fakeRequest) PathVar(name string) (string, bool) {
	i := slices.Index(r.names, name)
	if i < 0 || i >= len(r.vars) || r.vars[i] == absent {
		return "", false
	}
	return r.vars[i], true
}

func (r *fakeRequest) Header(name string) (string, bool) {
	v, ok := r.headers[name]
	return v, ok
}

func (r *fakeRequest) Query() string { return r.query }

func (r *fakeRequest) Body() []byte {
	r.bodyRead = true
	return []byte(r.body)
}

func TestCompileErrors(t *testing.T) {
	vars := []string{"id", "rest"}
	many := make([]Spec, maxDefaults+1)
	for i := range many {
		many[i] = Spec{Name: "q" + strconv.Itoa(i), Position: "query", HasDefault: true}
	}
	tests := []struct {
		name      string
		specs     []Spec
		index     int
		field     string
		apiConfig bool // 481 rather than a failed start
		text      string
	}{
		{"unknown position", []Spec{{Name: "a", Position: "query"}, {Name: "a", Position: "cookie"}}, 1, "position", false, `unknown position "cookie"`},
		{"unknown type", []Spec{{Name: "a", Position: "query", Type: "integer"}}, 0, "type", false, `unknown type "integer"`},
		{"empty name", []Spec{{Name: "", Position: "query"}}, 0, "name", false, "empty name"},
		{"path names no variable", []Spec{{Name: "idx", Position: "path"}}, 0, "name", true, `"idx" names no {variable}`},
		{"duplicate query", []Spec{{Name: "a", Position: "query"}, {Name: "a", Position: "query", Type: "int"}}, 1, "name", true, "duplicate query"},
		{"duplicate header, other case", []Spec{{Name: "X-A", Position: "header"}, {Name: "x-a", Position: "header"}}, 1, "name", true, "duplicate header"},
		{"header name not a token", []Spec{{Name: "X A", Position: "header"}}, 0, "name", true, "not an HTTP token"},
		{"default of wrong type", []Spec{{Name: "page", Position: "query", Type: "int", Default: "one", HasDefault: true}}, 0, "default", true, "not a valid int"},
		{"empty int default", []Spec{{Name: "page", Position: "query", Type: "long", HasDefault: true}}, 0, "default", true, "not a valid int"},
		{"header default with newline", []Spec{{Name: "X-A", Position: "header", Default: "a\r\nB: c", HasDefault: true}}, 0, "default", true, "not a valid header value"},
		{"too many defaults", many, maxDefaults, "default", true, "more than 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(tt.specs, vars)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a *ConfigError", err)
			}
			if ce.Index != tt.index || ce.Field != tt.field {
				t.Errorf("got parameters[%d].%s, want [%d].%s", ce.Index, ce.Field, tt.index, tt.field)
			}
			if errors.Is(err, ErrAPIConfig) != tt.apiConfig {
				t.Errorf("errors.Is(ErrAPIConfig) = %v, want %v", !tt.apiConfig, tt.apiConfig)
			}
			want := "parameters[" + strconv.Itoa(tt.index) + "]." + tt.field + ": "
			if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q, want prefix %q and %q", err, want, tt.text)
			}
		})
	}
}

func TestCompileAccepts(t *testing.T) {
	specs := []Spec{
		{Name: "id", Position: "PATH", Type: "Long", Required: true},
		{Name: "X-Token", Position: "Header", Type: "STRING"},
		{Name: "ratio", Position: "query", Type: "Double"},
		{Name: "ok", Position: "body", Type: "boolean", Default: "TRUE", HasDefault: true},
		{Name: "n", Position: "query", Type: "float", Default: "1e3", HasDefault: true},
		{Name: "req", Position: "query", Type: "int", Default: "x", HasDefault: true, Required: true}, // a required parameter's default is never used, but still checked
	}
	_, err := Compile(specs, []string{"id"})
	if err == nil || !errors.Is(err, ErrAPIConfig) {
		t.Fatalf("required parameter with invalid default: got %v", err)
	}
	specs[5].Default = "7"
	s, err := Compile(specs, []string{"id"})
	if err != nil {
		t.Fatal(err)
	}
	if !s.NeedsBody() {
		t.Error("NeedsBody = false with a body parameter")
	}
	if len(s.defaults) != 2 {
		t.Errorf("%d defaults, want 2 (a required parameter has none)", len(s.defaults))
	}
	s, err = Compile(nil, nil)
	if err != nil || s.NeedsBody() {
		t.Errorf("empty list: %v, NeedsBody %v", err, s.NeedsBody())
	}
}

// usersSpecs is the example API of docs/gateway.md section 4 plus a few typed parameters.
var usersSpecs = []Spec{
	{Name: "id", Position: "path", Type: "int", Required: true},
	{Name: "X-Token", Position: "header", Required: true},
	{Name: "X-Ratio", Position: "header", Type: "double"},
	{Name: "page", Position: "query", Type: "int", Default: "1", HasDefault: true},
	{Name: "q", Position: "query", Required: true},
	{Name: "flag", Position: "query", Type: "boolean"},
	{Name: "name", Position: "body", Required: true},
	{Name: "age", Position: "body", Type: "long"},
}

// good returns a request that passes usersSpecs; tests change one thing.
func good() *fakeRequest {
	return &fakeRequest{
		names:   []string{"id"},
		vars:    []string{"42"},
		headers: map[string]string{"x-token": "t", "content-type": "application/x-www-form-urlencoded"},
		query:   "q=go&page=2",
		body:    "name=ann&age=30",
	}
}

func TestCheck(t *testing.T) {
	set, err := Compile(usersSpecs, []string{"id"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(r *fakeRequest)
		code   reply.Code
		arg    string
	}{
		{"all good", func(r *fakeRequest) {}, reply.None, ""},

		// path
		{"path variable absent", func(r *fakeRequest) { r.vars[0] = absent }, reply.PathVariableRequired, "id"},
		{"path variable not int", func(r *fakeRequest) { r.vars[0] = "4x" }, reply.ParamInvalid, "id"},
		{"path variable percent-encoded int", func(r *fakeRequest) { r.vars[0] = "%2D7" }, reply.None, ""},
		{"path variable plus is not a space", func(r *fakeRequest) { r.vars[0] = "+7" }, reply.None, ""},
		{"path variable bad escape", func(r *fakeRequest) { r.vars[0] = "%G1" }, reply.ParamInvalid, "id"},
		{"path variable empty", func(r *fakeRequest) { r.vars[0] = "" }, reply.ParamInvalid, "id"},

		// header
		{"header absent", func(r *fakeRequest) { delete(r.headers, "x-token") }, reply.HeaderRequired, "X-Token"},
		{"header empty is present", func(r *fakeRequest) { r.headers["x-token"] = "" }, reply.None, ""},
		{"header typed", func(r *fakeRequest) { r.headers["x-ratio"] = "-1.5e3" }, reply.None, ""},
		{"header typed bad", func(r *fakeRequest) { r.headers["x-ratio"] = "1,5" }, reply.ParamInvalid, "X-Ratio"},
		{"header typed empty", func(r *fakeRequest) { r.headers["x-ratio"] = "" }, reply.ParamInvalid, "X-Ratio"},

		// query
		{"query absent", func(r *fakeRequest) { r.query = "page=2" }, reply.QueryRequired, "q"},
		{"query no value is present", func(r *fakeRequest) { r.query = "q" }, reply.None, ""},
		{"query empty value is present", func(r *fakeRequest) { r.query = "q=&&" }, reply.None, ""},
		{"query encoded key", func(r *fakeRequest) { r.query = "%71=1" }, reply.None, ""},
		{"query key case matters", func(r *fakeRequest) { r.query = "Q=1" }, reply.QueryRequired, "q"},
		{"query int bad", func(r *fakeRequest) { r.query = "q=1&page=two" }, reply.ParamInvalid, "page"},
		{"query int empty", func(r *fakeRequest) { r.query = "q=1&page=" }, reply.ParamInvalid, "page"},
		{"query int encoded", func(r *fakeRequest) { r.query = "q=1&page=%2B3" }, reply.None, ""},
		{"query int with plus-space", func(r *fakeRequest) { r.query = "q=1&page=+3" }, reply.ParamInvalid, "page"},
		{"query int overflow", func(r *fakeRequest) { r.query = "q=1&page=9223372036854775808" }, reply.ParamInvalid, "page"},
		{"query int min", func(r *fakeRequest) { r.query = "q=1&page=-9223372036854775808" }, reply.None, ""},
		{"query every occurrence is checked", func(r *fakeRequest) { r.query = "q=1&page=1&page=x" }, reply.ParamInvalid, "page"},
		{"query boolean any case", func(r *fakeRequest) { r.query = "q=1&flag=FaLsE" }, reply.None, ""},
		{"query boolean bad", func(r *fakeRequest) { r.query = "q=1&flag=1" }, reply.ParamInvalid, "flag"},
		{"query long encoded value", func(r *fakeRequest) { r.query = "q=1&page=" + strings.Repeat("%30", 40) + "1" }, reply.None, ""},
		{"query bad escape", func(r *fakeRequest) { r.query = "q=1&page=%zz" }, reply.QueryParamsError, ""},
		{"query bad escape in another pair", func(r *fakeRequest) { r.query = "q=1&other=%" }, reply.QueryParamsError, ""},
		{"query bad escape before a missing one", func(r *fakeRequest) { r.query = "x=%4" }, reply.QueryParamsError, ""},
		{"query semicolon is data", func(r *fakeRequest) { r.query = "q=a;b&page=1" }, reply.None, ""},
		{"query invalid UTF-8 accepted", func(r *fakeRequest) { r.query = "q=%ff%fe" }, reply.None, ""},

		// body
		{"body needs form: none", func(r *fakeRequest) { delete(r.headers, "content-type") }, reply.BodyNeedsForm, ""},
		{"body needs form: json", func(r *fakeRequest) { r.headers["content-type"] = "application/json" }, reply.BodyNeedsForm, ""},
		{"body form with charset and case", func(r *fakeRequest) {
			r.headers["content-type"] = " Application/X-WWW-Form-URLEncoded ; charset=UTF-8"
		}, reply.None, ""},
		{"body needs form: prefix", func(r *fakeRequest) { r.headers["content-type"] = "application/x-www-form-urlencodedx" }, reply.BodyNeedsForm, ""},
		{"body absent", func(r *fakeRequest) { r.body = "age=1" }, reply.BodyParamRequired, "name"},
		{"body empty", func(r *fakeRequest) { r.body = "" }, reply.BodyParamRequired, "name"},
		{"body typed bad", func(r *fakeRequest) { r.body = "name=a&age=1.5" }, reply.ParamInvalid, "age"},
		{"body plus is space", func(r *fakeRequest) { r.body = "name=a+b&age=+1" }, reply.ParamInvalid, "age"},
		{"body bad escape in its value", func(r *fakeRequest) { r.body = "name=%&age=1" }, reply.ParamInvalid, "name"},
		{"body bad escape elsewhere ignored", func(r *fakeRequest) { r.body = "x=%zz&name=a" }, reply.None, ""},
		{"body bad escape in a key ignored", func(r *fakeRequest) { r.body = "na%me=1&name=a" }, reply.None, ""},

		// order
		{"path before header", func(r *fakeRequest) { r.vars[0] = absent; delete(r.headers, "x-token") }, reply.PathVariableRequired, "id"},
		{"header before query", func(r *fakeRequest) { delete(r.headers, "x-token"); r.query = "%" }, reply.HeaderRequired, "X-Token"},
		{"query before body", func(r *fakeRequest) { r.query = ""; delete(r.headers, "content-type") }, reply.QueryRequired, "q"},
		{"config order within a position", func(r *fakeRequest) { r.query = "page=x" }, reply.ParamInvalid, "page"},
		{"presence before type, per parameter", func(r *fakeRequest) { r.query = "flag=x" }, reply.QueryRequired, "q"},
		{"form check before body parameters", func(r *fakeRequest) { r.body = ""; r.headers["content-type"] = "text/plain" }, reply.BodyNeedsForm, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := good()
			tt.change(r)
			_, got := set.Check(r)
			if tt.code == reply.None {
				if got != nil {
					t.Fatalf("got %d %q, want nil", got.Status(), got.Error())
				}
				return
			}
			if got == nil || got.Code != tt.code || got.Arg != tt.arg {
				t.Fatalf("got %v, want %v", got, reply.New(tt.code, tt.arg))
			}
		})
	}
}

func TestTypes(t *testing.T) {
	tests := []struct {
		kind kind
		good []string
		bad  []string
	}{
		{kindInt,
			[]string{"0", "-0", "+1", "007", "9223372036854775807", "-9223372036854775808"},
			[]string{"", "+", "-", " 1", "1 ", "1.0", "1e3", "0x10", "1_000", "9223372036854775808", "-9223372036854775809", "١"}},
		{kindFloat,
			[]string{"0", "1", "-1.5", "+.5", "1.", "1e10", "1E-10", "-2.5e+3", "1e-400", "0e99999999999999", "1.7976931348623157e308", "179769313486231570e291", "0.00001e313"},
			[]string{"", ".", "-", "e1", "1e", "1e+", "1.2.3", "inf", "-Inf", "NaN", "infinity", "0x1p3", "1_0", " 1", "1e309", "1.8e308", "-1e999999999999", "1,5"}},
		{kindBool,
			[]string{"true", "false", "TRUE", "False", "tRuE"},
			[]string{"", "1", "0", "yes", "truee", "t", " true"}},
		{kindString,
			[]string{"", "anything", "\xff"},
			nil},
	}
	for _, tt := range tests {
		for _, v := range tt.good {
			if !valid(tt.kind, v) || !valid(tt.kind, []byte(v)) {
				t.Errorf("%s %q: rejected", tt.kind, v)
			}
		}
		for _, v := range tt.bad {
			if valid(tt.kind, v) || valid(tt.kind, []byte(v)) {
				t.Errorf("%s %q: accepted", tt.kind, v)
			}
		}
	}
}

func TestImplicitPathVariables(t *testing.T) {
	// {id} is declared optional with a default; {rest} is not declared, so it is required.
	set, err := Compile([]Spec{{Name: "id", Position: "path", Type: "int", Default: "0", HasDefault: true}}, []string{"rest", "id"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		vars []string
		code reply.Code
		arg  string
	}{
		{[]string{"a/b", "1"}, reply.None, ""},
		{[]string{absent, "1"}, reply.PathVariableRequired, "rest"},
		{[]string{"a", absent}, reply.None, ""},
		{[]string{"a", "x"}, reply.ParamInvalid, "id"},
		{[]string{absent, "x"}, reply.ParamInvalid, "id"}, // declared parameters first, then the template's
	}
	for _, tt := range tests {
		d, got := set.Check(&fakeRequest{names: []string{"rest", "id"}, vars: tt.vars})
		if tt.code == reply.None && got != nil || tt.code != reply.None && (got == nil || got.Code != tt.code || got.Arg != tt.arg) {
			t.Errorf("%q: got %v, want %v %q", tt.vars, got, tt.code, tt.arg)
		}
		v, ok := d.PathVar("id")
		if want := got == nil && tt.vars[1] == absent; ok != want || ok && v != "0" {
			t.Errorf("%q: PathVar(id) = %q, %v", tt.vars, v, ok)
		}
	}
}

func TestDefaults(t *testing.T) {
	specs := []Spec{
		{Name: "v", Position: "path", Default: "a b/c%", HasDefault: true},
		{Name: "X-Tenant", Position: "header", Default: "acme", HasDefault: true},
		{Name: "X-Empty", Position: "header", Default: "", HasDefault: true},
		{Name: "X-None", Position: "header"},
		{Name: "page", Position: "query", Type: "int", Default: "1", HasDefault: true},
		{Name: "sort by", Position: "query", Default: "a&b=c", HasDefault: true},
		{Name: "lang", Position: "body", Default: "zh cn", HasDefault: true},
	}
	set, err := Compile(specs, []string{"v"})
	if err != nil {
		t.Fatal(err)
	}
	form := map[string]string{"content-type": "application/x-www-form-urlencoded"}
	tests := []struct {
		name    string
		req     *fakeRequest
		headers map[string]string
		path    string // "" when no default
		query   string
		form    string
	}{
		{"all absent",
			&fakeRequest{names: []string{"v"}, vars: []string{absent}, headers: form, query: "", body: ""},
			map[string]string{"X-Tenant": "acme", "X-Empty": ""}, "a%20b/c%25", "page=1&sort+by=a%26b%3Dc", "lang=zh+cn"},
		{"all present",
			&fakeRequest{names: []string{"v"}, vars: []string{"x"}, headers: map[string]string{"content-type": form["content-type"], "x-tenant": "t", "x-empty": "e"}, query: "page=2&sort+by=x", body: "lang=en"},
			map[string]string{}, "", "page=2&sort+by=x", "lang=en"},
		{"some absent, separators",
			&fakeRequest{names: []string{"v"}, vars: []string{"x"}, headers: form, query: "page=2&", body: "a=1"},
			map[string]string{"X-Tenant": "acme", "X-Empty": ""}, "", "page=2&sort+by=a%26b%3Dc", "a=1&lang=zh+cn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, rerr := set.Check(tt.req)
			if rerr != nil {
				t.Fatal(rerr)
			}
			if got := maps.Collect(d.Headers()); !maps.Equal(got, tt.headers) {
				t.Errorf("headers %v, want %v", got, tt.headers)
			}
			if v, ok := d.PathVar("v"); v != tt.path || ok != (tt.path != "") {
				t.Errorf("PathVar = %q, %v, want %q", v, ok, tt.path)
			}
			if got := d.Query(tt.req.query); got != tt.query {
				t.Errorf("Query = %q, want %q", got, tt.query)
			}
			if got := d.Form([]byte(tt.req.body)); string(got) != tt.form {
				t.Errorf("Form = %q, want %q", got, tt.form)
			}
			if d.Empty() != (len(tt.headers) == 0 && tt.path == "" && tt.query == tt.req.query && tt.form == tt.req.body) {
				t.Errorf("Empty = %v", d.Empty())
			}
		})
	}
	// The defaults of a failed check are empty.
	d, rerr := set.Check(&fakeRequest{names: []string{"v"}, vars: []string{"x"}, query: "page=x"})
	if rerr == nil || !d.Empty() || d.Query("") != "" {
		t.Errorf("failed check: %v, defaults not empty", rerr)
	}
}

func TestBodyReadOnlyWhenNeeded(t *testing.T) {
	set, err := Compile([]Spec{{Name: "q", Position: "query"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &fakeRequest{query: "q=1"}
	if _, e := set.Check(r); e != nil || r.bodyRead || set.NeedsBody() {
		t.Errorf("got %v, body read %v", e, r.bodyRead)
	}
	// Without query parameters the query is not read: a malformed one is not an error.
	set, _ = Compile([]Spec{{Name: "X-A", Position: "header"}}, nil)
	if _, e := set.Check(&fakeRequest{query: "%"}); e != nil {
		t.Errorf("query read without query parameters: %v", e)
	}
}

func TestManyParameters(t *testing.T) {
	// More parameters in one position than the on-stack bit sets hold.
	var specs []Spec
	var query []string
	for i := range 300 {
		name := "p" + strconv.Itoa(i)
		specs = append(specs, Spec{Name: name, Position: "query", Type: "int", Required: true})
		if i != 299 {
			query = append(query, name+"="+strconv.Itoa(i))
		}
	}
	set, err := Compile(specs, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, got := set.Check(&fakeRequest{query: strings.Join(query, "&")})
	if got == nil || got.Code != reply.QueryRequired || got.Arg != "p299" {
		t.Errorf("got %v", got)
	}
	_, got = set.Check(&fakeRequest{query: strings.Join(append(query, "p299=1", "p200=x"), "&")})
	if got == nil || got.Code != reply.ParamInvalid || got.Arg != "p200" {
		t.Errorf("got %v", got)
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		query, name, value string
		found              bool
		err                error
	}{
		{"a=1&b=2", "b", "2", true, nil},
		{"a=1&a=2", "a", "1", true, nil},
		{"a", "a", "", true, nil},
		{"x+y=%41+b", "x y", "A b", true, nil},
		{"a=1", "b", "", false, nil},
		{"", "a", "", false, nil},
		{"a=1&b=%", "a", "", false, ErrMalformed},
		{"a=1;b=2", "a", "1;b=2", true, nil},
	}
	for _, tt := range tests {
		v, found, err := Lookup(tt.query, tt.name)
		if v != tt.value || found != tt.found || err != tt.err {
			t.Errorf("Lookup(%q, %q) = %q, %v, %v; want %q, %v, %v", tt.query, tt.name, v, found, err, tt.value, tt.found, tt.err)
		}
	}
}

func TestKindNames(t *testing.T) {
	var names []string
	for _, k := range []kind{kindString, kindInt, kindFloat, kindBool, 9} {
		names = append(names, k.String())
	}
	if want := []string{"string", "int", "float", "boolean", "kind(9)"}; !slices.Equal(names, want) {
		t.Errorf("got %q", names)
	}
}
