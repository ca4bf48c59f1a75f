package main

// The JSON Schema of the configuration (envoy-examples/config.schema.json) is written by hand
// and checked here against the loader, so the two cannot drift apart:
//
//   - every valid document (the examples and testdata/valid) passes both;
//   - every object of those documents, given an unknown field, and every value, given a value
//     of another type or out of any range, is refused by both or accepted by both;
//   - the loader's own lists (known fields, enum values, number ranges, required fields), read
//     from its error messages where those mutations hit it, equal the schema's at that place.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"google.golang.org/protobuf/encoding/protojson"
	"gopkg.in/yaml.v3"
	extensions "istio.io/api/extensions/v1alpha1"

	"github.com/apigw-wasm/apigw-wasm/internal/config"
)

const schemaFile = "../../envoy-examples/config.schema.json"

// corpus returns the valid documents the mutations start from.
func corpus(t *testing.T) map[string][]byte {
	t.Helper()
	docs := map[string][]byte{}
	for _, f := range []string{"../../envoy-examples/config.json", "testdata/valid/full.json"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs[f] = b
	}
	// The WasmPlugin's pluginConfig, as istiod hands it to the plugin.
	b, err := os.ReadFile("../../envoy-examples/istio/wasmplugin.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var res struct{ Spec any }
	if err := yaml.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	spec, _ := json.Marshal(res.Spec)
	var wp extensions.WasmPlugin
	if err := protojson.Unmarshal(spec, &wp); err != nil {
		t.Fatal(err)
	}
	docs["wasmplugin.yaml pluginConfig"], _ = protojson.Marshal(wp.GetPluginConfig())
	return docs
}

type checker struct {
	schema *jsonschema.Schema
	raw    map[string]any // the schema as data, for reading its lists
}

func newChecker(t *testing.T) *checker {
	t.Helper()
	b, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	const id = "https://github.com/apigw-wasm/apigw-wasm/envoy-examples/config.schema.json"
	if err := c.AddResource(id, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(id)
	if err != nil {
		t.Fatalf("the schema does not compile: %v", err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	return &checker{schema: s, raw: raw}
}

func (c *checker) schemaOK(doc []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	return c.schema.Validate(inst)
}

func loaderErrors(doc []byte) config.Errors {
	_, err := config.Load(doc)
	var errs config.Errors
	if err != nil && !errors.As(err, &errs) {
		errs = config.Errors{{Msg: err.Error()}}
	}
	return errs
}

func TestSchemaAcceptsValid(t *testing.T) {
	c := newChecker(t)
	for name, doc := range corpus(t) {
		if errs := loaderErrors(doc); errs != nil {
			t.Errorf("%s: the loader refuses it: %v", name, errs)
		}
		if err := c.schemaOK(doc); err != nil {
			t.Errorf("%s: the schema refuses it: %v", name, err)
		}
	}
}

// step is one element of a JSON path: an object key, or an array index when key is "".
type step struct {
	key   string
	index int
}

func pathString(p []step) string {
	var b strings.Builder
	for _, s := range p {
		if s.key == "" {
			fmt.Fprintf(&b, "[%d]", s.index)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.key)
	}
	return b.String()
}

// location is a value of a document and its path.
type location struct {
	path  []step
	value any
}

func walk(v any, path []step, out *[]location) {
	*out = append(*out, location{slices.Clone(path), v})
	switch x := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			walk(x[k], append(path, step{key: k}), out)
		}
	case []any:
		for i, e := range x {
			walk(e, append(path, step{index: i}), out)
		}
	}
}

func decode(t *testing.T, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// edit returns a copy of doc with the value at path replaced by f's result; f may return
// deleted to remove an object's field.
func edit(t *testing.T, doc []byte, path []step, f func(old any) any) []byte {
	t.Helper()
	root := decode(t, doc)
	if len(path) == 0 {
		root = f(root)
	} else {
		parent := root
		for _, s := range path[:len(path)-1] {
			if s.key != "" {
				parent = parent.(map[string]any)[s.key]
			} else {
				parent = parent.([]any)[s.index]
			}
		}
		last := path[len(path)-1]
		if m, ok := parent.(map[string]any); ok {
			if v := f(m[last.key]); v == deleted {
				delete(m, last.key)
			} else {
				m[last.key] = v
			}
		} else {
			l := parent.([]any)
			l[last.index] = f(l[last.index])
		}
	}
	b, err := json.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var deleted = new(int)

// otherType returns a value of another JSON type than v.
func otherType(v any) any {
	switch v.(type) {
	case string:
		return json.Number("7")
	case json.Number:
		return "7"
	case bool:
		return "true"
	case map[string]any:
		return []any{}
	case []any:
		return map[string]any{}
	}
	return "x"
}

func TestSchemaAgreesWithLoader(t *testing.T) {
	c := newChecker(t)
	var counts struct{ unknownField, typeSwap, enum, rng, required, known, empty int }
	for name, doc := range corpus(t) {
		var locs []location
		walk(decode(t, doc), nil, &locs)
		for _, l := range locs {
			at := pathString(l.path)
			agree := func(kind string, mutated []byte) config.Errors {
				t.Helper()
				errs := loaderErrors(mutated)
				serr := c.schemaOK(mutated)
				if (errs == nil) != (serr == nil) {
					t.Errorf("%s: %s at %q: loader says %v, schema says %v", name, kind, at, errs, serr)
				}
				return errs
			}
			switch v := l.value.(type) {
			case map[string]any:
				counts.unknownField++
				errs := agree("unknown field", edit(t, doc, l.path, func(old any) any {
					m := maps.Clone(old.(map[string]any))
					m["zz_unknown"] = json.Number("1")
					return m
				}))
				if known, ok := knownList(errs, joinPath(at, "zz_unknown")); ok {
					counts.known++
					if want := c.properties(decode(t, doc), l.path); !reflect.DeepEqual(known, want) {
						t.Errorf("%s: fields at %q: loader knows %v, schema has %v", name, at, known, want)
					}
				}
				for k := range v {
					errs := loaderErrors(edit(t, doc, append(slices.Clone(l.path), step{key: k}), func(any) any { return deleted }))
					loaderRequires := hasError(errs, joinPath(at, k), "is required")
					if loaderRequires {
						counts.required++
					}
					if schemaRequires := slices.Contains(c.required(decode(t, doc), l.path), k); loaderRequires != schemaRequires {
						t.Errorf("%s: %q at %q: the loader requires it: %v, the schema: %v", name, k, at, loaderRequires, schemaRequires)
					}
				}
			case string:
				// An empty string: the loader may refuse it for more reasons than the schema
				// knows (a CIDR, a reference), never for fewer.
				empty := edit(t, doc, l.path, func(any) any { return "" })
				errs, serr := loaderErrors(empty), c.schemaOK(empty)
				if serr != nil && errs == nil || hasError(errs, at, "must not be empty") && serr == nil {
					t.Errorf("%s: empty string at %q: loader says %v, schema says %v", name, at, errs, serr)
				}
				counts.empty++
				errs = loaderErrors(edit(t, doc, l.path, func(any) any { return "zz-bogus" }))
				loaderEnum, isEnum := enumList(errs, at)
				schemaEnum := c.enum(decode(t, doc), l.path)
				if isEnum {
					counts.enum++
				}
				if isEnum != (schemaEnum != nil) || isEnum && !reflect.DeepEqual(loaderEnum, schemaEnum) {
					t.Errorf("%s: values at %q: loader %v (enum: %v), schema %v", name, at, loaderEnum, isEnum, schemaEnum)
				}
			case json.Number:
				f, _ := v.Float64()
				half := strconv.FormatFloat(f+0.5, 'f', -1, 64) // in range, but not whole
				for _, n := range []string{"-1000000000000000000", "1000000000000000000", half} {
					counts.rng++
					errs := agree("value "+n, edit(t, doc, l.path, func(any) any { return json.Number(n) }))
					if lo, hi, ok := rangeOf(errs, at); ok {
						if smin, smax := c.bounds(decode(t, doc), l.path); smin != lo || smax != hi {
							t.Errorf("%s: range at %q: loader %s..%s, schema %s..%s", name, at, lo, hi, smin, smax)
						}
					}
				}
			}
			if len(l.path) > 0 {
				counts.typeSwap++
				agree("another type", edit(t, doc, l.path, otherType))
			}
		}
	}
	t.Logf("checked: %+v", counts)
	// The loader's messages are what the lists are read from: fail when they stop matching.
	if counts.known < 20 || counts.enum < 20 || counts.required < 10 {
		t.Errorf("too few of the loader's lists were read (%+v): did its messages change?", counts)
	}
}

var (
	knownRE = regexp.MustCompile(`^unknown field \(known: (.*)\)$`)
	enumRE  = regexp.MustCompile(`^unknown (?:value|environment|protocol) "zz-bogus" \(want (?:one of )?(.*)\)$`)
	rangeRE = regexp.MustCompile(`^must be a whole number from (-?\d+) to (-?\d+)`)
)

func hasError(errs config.Errors, path, msg string) bool {
	for _, e := range errs {
		if e.Path == path && strings.Contains(e.Msg, msg) {
			return true
		}
	}
	return false
}

func knownList(errs config.Errors, path string) ([]string, bool) {
	for _, e := range errs {
		if m := knownRE.FindStringSubmatch(e.Msg); m != nil && e.Path == path {
			return strings.Split(m[1], ", "), true
		}
	}
	return nil, false
}

// enumList reads "unknown value "x" (want one of a, b, c)" and its kin ("test, prepub or
// release", "http or https").
func enumList(errs config.Errors, path string) ([]string, bool) {
	for _, e := range errs {
		m := enumRE.FindStringSubmatch(e.Msg)
		if m == nil || e.Path != path {
			continue
		}
		list := strings.Split(strings.ReplaceAll(m[1], " or ", ", "), ", ")
		sort.Strings(list)
		return list, true
	}
	return nil, false
}

func rangeOf(errs config.Errors, path string) (lo, hi string, ok bool) {
	for _, e := range errs {
		if m := rangeRE.FindStringSubmatch(e.Msg); m != nil && e.Path == path {
			return m[1], m[2], true
		}
	}
	return "", "", false
}

// The schema read as data. at returns the subschemas that apply to the value at path, with
// references followed, if/then branches whose condition holds for the document, and the oneOf
// branches of the value's JSON type.

func (c *checker) deref(s any) map[string]any {
	m, _ := s.(map[string]any)
	for m != nil {
		ref, ok := m["$ref"].(string)
		if !ok {
			break
		}
		next := map[string]any{}
		maps.Copy(next, c.raw["$defs"].(map[string]any)[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any))
		for k, v := range m {
			if k != "$ref" {
				next[k] = v
			}
		}
		m = next
	}
	return m
}

func (c *checker) expand(s map[string]any, v any) []map[string]any {
	if s == nil {
		return nil
	}
	out := []map[string]any{s}
	for _, b := range asList(s["oneOf"]) {
		if bs := c.deref(b); typeMatches(bs, v) {
			out = append(out, c.expand(bs, v)...)
		}
	}
	for _, b := range asList(s["allOf"]) {
		bm := b.(map[string]any)
		if cond, ok := bm["if"].(map[string]any); ok && holds(cond, v) {
			out = append(out, c.expand(c.deref(bm["then"]), v)...)
		}
	}
	return out
}

func (c *checker) at(doc any, path []step) []map[string]any {
	schemas := c.expand(c.deref(c.raw), doc)
	v := doc
	for _, s := range path {
		var next []map[string]any
		for _, sc := range schemas {
			var sub any
			if s.key != "" {
				if props, ok := sc["properties"].(map[string]any); ok && props[s.key] != nil {
					sub = props[s.key]
				} else if ap, ok := sc["additionalProperties"].(map[string]any); ok {
					sub = ap
				}
			} else {
				sub = sc["items"]
			}
			if sub != nil {
				if s.key != "" {
					next = append(next, c.expand(c.deref(sub), v.(map[string]any)[s.key])...)
				} else {
					next = append(next, c.expand(c.deref(sub), v.([]any)[s.index])...)
				}
			}
		}
		if s.key != "" {
			v = v.(map[string]any)[s.key]
		} else {
			v = v.([]any)[s.index]
		}
		schemas = next
	}
	return schemas
}

func (c *checker) properties(doc any, path []step) []string {
	set := map[string]bool{}
	for _, s := range c.at(doc, path) {
		if props, ok := s["properties"].(map[string]any); ok {
			for k := range props {
				set[k] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}

func (c *checker) required(doc any, path []step) []string {
	var out []string
	for _, s := range c.at(doc, path) {
		for _, r := range asList(s["required"]) {
			out = append(out, r.(string))
		}
	}
	return out
}

func (c *checker) enum(doc any, path []step) []string {
	for _, s := range c.at(doc, path) {
		if e := asList(s["enum"]); e != nil {
			var out []string
			for _, x := range e {
				out = append(out, x.(string))
			}
			sort.Strings(out)
			return out
		}
	}
	return nil
}

func (c *checker) bounds(doc any, path []step) (lo, hi string) {
	for _, s := range c.at(doc, path) {
		if mn, ok := s["minimum"].(float64); ok {
			lo = strconv.FormatFloat(mn, 'f', -1, 64)
		}
		if mx, ok := s["maximum"].(float64); ok {
			hi = strconv.FormatFloat(mx, 'f', -1, 64)
		}
	}
	return lo, hi
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func typeMatches(s map[string]any, v any) bool {
	t, ok := s["type"].(string)
	if !ok {
		return true
	}
	switch v.(type) {
	case map[string]any:
		return t == "object"
	case []any:
		return t == "array"
	case string:
		return t == "string"
	case bool:
		return t == "boolean"
	case json.Number:
		return t == "number" || t == "integer"
	}
	return false
}

// holds evaluates the simple conditions the schema's if clauses use: required fields, and a
// field's const or enum when the field is present.
func holds(cond map[string]any, v any) bool {
	obj, ok := v.(map[string]any)
	if !ok {
		return false
	}
	for _, r := range asList(cond["required"]) {
		if _, ok := obj[r.(string)]; !ok {
			return false
		}
	}
	props, _ := cond["properties"].(map[string]any)
	for k, p := range props {
		val, present := obj[k]
		if !present {
			continue
		}
		pm := p.(map[string]any)
		if cv, ok := pm["const"]; ok && cv != val {
			return false
		}
		if e := asList(pm["enum"]); e != nil && !slices.Contains(e, val) {
			return false
		}
	}
	return true
}
