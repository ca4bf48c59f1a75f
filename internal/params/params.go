// Package params checks an API's declared request parameters, step 11 of the pipeline. A
// parameter list is compiled once, with the names of the API path's template variables, into
// an immutable Set; Set.Check then reads a request through the small Request view and returns
// the first failing parameter's answer, in the order positions path, header, query, body,
// then config order, presence before type. It also reports which absent optional parameters
// carry a default that must reach the upstream. Query strings and form bodies are read in
// place by a hand-written application/x-www-form-urlencoded reader (see form.go).
package params

import (
	"errors"
	"iter"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/apigw-wasm/apigw-wasm/internal/httpsyntax"
	"github.com/apigw-wasm/apigw-wasm/internal/reply"
)

// Spec is one parameter as configured.
type Spec struct {
	Name       string
	Position   string // path, header, query or body, any case
	Type       string // int, long, float, double, boolean or string, any case; empty is string
	Required   bool
	Default    string
	HasDefault bool // Default was configured (an empty default is a value)
}

// Request is what Check reads of a request.
type Request interface {
	// PathVar is the value of a template variable of the API path, as matched (not
	// decoded); ok is false when the variable took no characters.
	PathVar(name string) (value string, ok bool)
	// Header is the value of a request header; name is lower case.
	Header(name string) (value string, ok bool)
	// Query is the raw query string, without '?'.
	Query() string
	// Body is the whole request body. It is called only when the Set NeedsBody.
	Body() []byte
}

// ErrAPIConfig is wrapped by the configuration faults that keep the API in place, answering
// 481 API config error; every other Compile error fails the plugin start.
var ErrAPIConfig = errors.New("params: API config error")

// ConfigError is a fault in one parameter's configuration.
type ConfigError struct {
	Index int    // the parameter's index in the list
	Field string // the JSON field at fault: name, position, type or default
	Err   error
}

func (e *ConfigError) Error() string {
	return "parameters[" + strconv.Itoa(e.Index) + "]." + e.Field + ": " + e.Err.Error()
}

func (e *ConfigError) Unwrap() error { return e.Err }

// apiFault is a fault that makes the API answer 481 rather than stop the plugin.
type apiFault string

func (f apiFault) Error() string        { return string(f) }
func (f apiFault) Is(target error) bool { return target == ErrAPIConfig }

type position uint8

const (
	posPath position = iota
	posHeader
	posQuery
	posBody
)

var positions = [...]string{posPath: "path", posHeader: "header", posQuery: "query", posBody: "body"}

// maxDefaults bounds the parameters with a default, so that Defaults is one machine word.
const maxDefaults = 64

type param struct {
	name     string // as configured: the Arg of every answer about it
	key      string // header: the lower-case name; else the name
	kind     kind
	required bool
	slot     int // index in Set.defaults, or -1
}

type deflt struct {
	pos   position
	name  string // as configured
	value string // path: escaped for a path; header: as is; query, body: escaped "name=value"
}

// Set is a compiled parameter list. It is immutable and safe for concurrent use.
type Set struct {
	byPos    [4][]param
	defaults []deflt
}

// Compile checks and compiles an API's parameter list. vars are the names of the API path's
// template variables, in order. Every variable that no path parameter declares is checked as a
// required string, so that a variable that matched nothing is answered (docs/gateway.md section 3,
// step 5).
func Compile(specs []Spec, vars []string) (*Set, error) {
	s := &Set{}
	declared := make([]bool, len(vars))
	for i, sp := range specs {
		p, pos, err := compileOne(sp, vars)
		if err != nil {
			err.Index = i
			return nil, err
		}
		for _, q := range s.byPos[pos] {
			if q.key == p.key {
				return nil, &ConfigError{i, "name", apiFault("duplicate " + positions[pos] + " parameter " + strconv.Quote(sp.Name))}
			}
		}
		if pos == posPath {
			declared[slices.Index(vars, p.name)] = true
		}
		if sp.HasDefault && !sp.Required {
			if len(s.defaults) == maxDefaults {
				return nil, &ConfigError{i, "default", apiFault("more than " + strconv.Itoa(maxDefaults) + " parameters with a default")}
			}
			p.slot = len(s.defaults)
			s.defaults = append(s.defaults, newDefault(pos, sp))
		}
		s.byPos[pos] = append(s.byPos[pos], p)
	}
	for i, v := range vars {
		if !declared[i] && slices.Index(vars, v) == i {
			s.byPos[posPath] = append(s.byPos[posPath], param{name: v, key: v, required: true, slot: -1})
		}
	}
	return s, nil
}

// compileOne checks one parameter; its ConfigError's Index is the caller's to set.
func compileOne(sp Spec, vars []string) (param, position, *ConfigError) {
	p := param{name: sp.Name, key: sp.Name, slot: -1}
	pos := position(255)
	for i, name := range positions {
		if equalFold(sp.Position, name) {
			pos = position(i)
		}
	}
	if pos == 255 {
		return p, pos, &ConfigError{Field: "position", Err: errors.New("unknown position " + strconv.Quote(sp.Position) + " (want path, header, query or body)")}
	}
	if sp.Type == "" {
		p.kind = kindString
	} else {
		found := false
		for _, e := range kinds {
			if equalFold(sp.Type, e.name) {
				p.kind, found = e.kind, true
			}
		}
		if !found {
			return p, pos, &ConfigError{Field: "type", Err: errors.New("unknown type " + strconv.Quote(sp.Type) + " (want int, long, float, double, boolean or string)")}
		}
	}
	if sp.Name == "" {
		return p, pos, &ConfigError{Field: "name", Err: errors.New("empty name")}
	}
	p.required = sp.Required
	switch pos {
	case posPath:
		if slices.Index(vars, sp.Name) < 0 {
			return p, pos, &ConfigError{Field: "name", Err: apiFault("path parameter " + strconv.Quote(sp.Name) + " names no {variable} of the API path")}
		}
	case posHeader:
		if !httpsyntax.IsToken(sp.Name) {
			return p, pos, &ConfigError{Field: "name", Err: apiFault("header name " + strconv.Quote(sp.Name) + " is not an HTTP token")}
		}
		p.key = strings.ToLower(sp.Name)
	}
	if sp.HasDefault {
		if !valid(p.kind, sp.Default) {
			return p, pos, &ConfigError{Field: "default", Err: apiFault("default " + strconv.Quote(sp.Default) + " is not a valid " + p.kind.String())}
		}
		if pos == posHeader && !httpsyntax.IsFieldValue(sp.Default) {
			return p, pos, &ConfigError{Field: "default", Err: apiFault("default " + strconv.Quote(sp.Default) + " is not a valid header value")}
		}
	}
	return p, pos, nil
}

// newDefault prepares a default in the form it is added to the upstream request.
func newDefault(pos position, sp Spec) deflt {
	d := deflt{pos: pos, name: sp.Name, value: sp.Default}
	switch pos {
	case posPath:
		d.value = escapePath(sp.Default)
	case posQuery, posBody:
		d.value = url.QueryEscape(sp.Name) + "=" + url.QueryEscape(sp.Default)
	}
	return d
}

// escapePath escapes a literal value for a path: everything but RFC 3986 pchar and '/', which
// a template variable may span.
func escapePath(s string) string {
	const upper = "0123456789ABCDEF"
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~!$&'()*+,;=:@/", c) >= 0 {
			b = append(b, c)
		} else {
			b = append(b, '%', upper[c>>4], upper[c&15])
		}
	}
	return string(b)
}

// NeedsBody reports whether Check reads the body: the API declares a body parameter.
func (s *Set) NeedsBody() bool { return len(s.byPos[posBody]) > 0 }

// Check returns the answer for the first failing parameter, or nil and the defaults of the
// absent optional parameters. A malformed %-escape anywhere in the query string (when the API
// declares query parameters) is 500 QueryParamsError; in a form body only a pair of a
// declared parameter matters, and its value is then invalid.
func (s *Set) Check(r Request) (Defaults, *reply.Error) {
	d := Defaults{set: s}
	for i := range s.byPos[posPath] {
		p := &s.byPos[posPath][i]
		v, ok := r.PathVar(p.name)
		if !ok {
			if p.required {
				return Defaults{}, reply.New(reply.PathVariableRequired, p.name)
			}
			d.mark(p)
			continue
		}
		if !validEncoded(p.kind, v, false) {
			return Defaults{}, reply.New(reply.ParamInvalid, p.name)
		}
	}
	for i := range s.byPos[posHeader] {
		p := &s.byPos[posHeader][i]
		v, ok := r.Header(p.key)
		if !ok {
			if p.required {
				return Defaults{}, reply.New(reply.HeaderRequired, p.name)
			}
			d.mark(p)
			continue
		}
		if !valid(p.kind, v) {
			return Defaults{}, reply.New(reply.ParamInvalid, p.name)
		}
	}
	if ps := s.byPos[posQuery]; len(ps) > 0 {
		if err := checkPairs(ps, r.Query(), true, &d, reply.QueryRequired); err != nil {
			return Defaults{}, err
		}
	}
	if ps := s.byPos[posBody]; len(ps) > 0 {
		ct, _ := r.Header("content-type")
		if !isForm(ct) {
			return Defaults{}, reply.New(reply.BodyNeedsForm, "")
		}
		if err := checkPairs(ps, r.Body(), false, &d, reply.BodyParamRequired); err != nil {
			return Defaults{}, err
		}
	}
	return d, nil
}

// checkPairs checks the parameters ps of one position against a urlencoded text in a single
// pass, then reports in config order. strict: a malformed escape anywhere fails the text.
func checkPairs[T text](ps []param, s T, strict bool, d *Defaults, missing reply.Code) *reply.Error {
	// Two bit sets over ps: seen, and some occurrence failed its type (every occurrence is
	// checked, as backends differ on taking the first or the last).
	words := (len(ps) + 63) / 64
	var small [4]uint64
	bits := small[:]
	if 2*words > len(small) {
		bits = make([]uint64, 2*words)
	}
	seen, bad := bits[:words], bits[words:2*words]
	for rest := s; len(rest) > 0; {
		var pair T
		pair, rest = cutPair(rest)
		if len(pair) == 0 {
			continue
		}
		k, v := cutEq(pair)
		kOK := validEscapes(k)
		vOK := validEscapes(v)
		if strict && !(kOK && vOK) {
			return reply.New(reply.QueryParamsError, "")
		}
		if !kOK {
			continue
		}
		for i := range ps {
			if equalDecoded(k, ps[i].key) {
				seen[i/64] |= 1 << (i % 64)
				if !vOK || !validEncoded(ps[i].kind, v, true) {
					bad[i/64] |= 1 << (i % 64)
				}
				break
			}
		}
	}
	for i := range ps {
		switch {
		case seen[i/64]&(1<<(i%64)) == 0:
			if ps[i].required {
				return reply.New(missing, ps[i].name)
			}
			d.mark(&ps[i])
		case bad[i/64]&(1<<(i%64)) != 0:
			return reply.New(reply.ParamInvalid, ps[i].name)
		}
	}
	return nil
}

// validEncoded reports whether the still-encoded value v decodes to a value of kind k.
func validEncoded[T text](k kind, v T, plus bool) bool {
	if k == kindString {
		return true
	}
	if !needsDecoding(v, plus) {
		return valid(k, v)
	}
	if !validEscapes(v) {
		return false
	}
	var scratch [64]byte
	return valid(k, appendDecoded(scratch[:0], v, plus))
}

// isForm reports whether a content-type is application/x-www-form-urlencoded, with or
// without parameters (charset=utf-8, ...), in any case.
func isForm(ct string) bool {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return equalFold(strings.Trim(ct, " \t"), "application/x-www-form-urlencoded")
}

// Defaults are the absent optional parameters of a request that have a default.
type Defaults struct {
	set  *Set
	bits uint64 // bit i: Set.defaults[i] applies
}

func (d *Defaults) mark(p *param) {
	if p.slot >= 0 {
		d.bits |= 1 << p.slot
	}
}

// Empty reports whether no default applies.
func (d Defaults) Empty() bool { return d.bits == 0 }

func (d Defaults) each(pos position) iter.Seq[*deflt] {
	return func(yield func(*deflt) bool) {
		for b := d.bits; b != 0; b &= b - 1 {
			i := 0
			for b>>i&1 == 0 {
				i++
			}
			if df := &d.set.defaults[i]; df.pos == pos && !yield(df) {
				return
			}
		}
	}
}

// Headers yields the headers to add to the upstream request: name as configured, value.
func (d Defaults) Headers() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for df := range d.each(posHeader) {
			if !yield(df.name, df.value) {
				return
			}
		}
	}
}

// PathVar is the value, escaped for a path, that an absent template variable takes in the
// backend path; ok is false when it has no default.
func (d Defaults) PathVar(name string) (value string, ok bool) {
	for df := range d.each(posPath) {
		if df.name == name {
			return df.value, true
		}
	}
	return "", false
}

// Query returns the raw query string with the absent query defaults appended, escaped.
func (d Defaults) Query(query string) string {
	if d.extraLen(posQuery) == 0 {
		return query
	}
	var b strings.Builder
	b.Grow(d.QueryLen(query))
	d.WriteQuery(&b, query)
	return b.String()
}

// QueryLen is the length of what WriteQuery writes.
func (d Defaults) QueryLen(query string) int {
	return len(query) + d.extraLen(posQuery)
}

// WriteQuery writes Query(query) to b, for callers that build a longer string around it.
func (d Defaults) WriteQuery(b *strings.Builder, query string) {
	b.WriteString(query)
	sep := query != "" && query[len(query)-1] != '&'
	for df := range d.each(posQuery) {
		if sep {
			b.WriteByte('&')
		}
		b.WriteString(df.value)
		sep = true
	}
}

// Form returns the form body with the absent body defaults appended, escaped, in a new slice.
// The caller replaces the upstream body with it; it is body itself when nothing applies.
func (d Defaults) Form(body []byte) []byte {
	n := d.extraLen(posBody)
	if n == 0 {
		return body
	}
	b := append(make([]byte, 0, len(body)+n), body...)
	sep := len(body) > 0 && body[len(body)-1] != '&'
	for df := range d.each(posBody) {
		if sep {
			b = append(b, '&')
		}
		b = append(b, df.value...)
		sep = true
	}
	return b
}

// extraLen is the most that the defaults of pos add: each pair and its '&'.
func (d Defaults) extraLen(pos position) int {
	n := 0
	for df := range d.each(pos) {
		n += 1 + len(df.value)
	}
	return n
}
