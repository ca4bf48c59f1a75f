// Package confjson reads the plugin's JSON configuration for the packages that compile it:
// config walks the document's skeleton and each feature decodes its own section with the same
// Decoder. Reads never stop at the first problem: every wrong shape, type, range or enum value
// is collected as an Error naming its JSON path (services[0].apis[2].backend.type) and line,
// and the caller refuses the document when Err is not nil. Unknown fields are errors too, so
// a typo does not pass silently.
package confjson

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// Error is one problem of a configuration document: where it is and what is wrong.
type Error struct {
	Path   string // JSON path, e.g. services[0].apis[2].backend.type
	Offset int    // byte offset of the value in the document, -1 when unknown
	Line   int    // 1-based line of Offset, 0 when unknown
	Msg    string
}

func (e Error) Error() string {
	p := e.Path
	if p == "" {
		p = "(document)"
	}
	return p + ": " + e.Msg
}

// Errors are all problems found in one document, in the order they were found.
type Errors []Error

func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Decoder reads one document and collects its problems.
type Decoder struct {
	doc  string
	root gjson.Result
	errs Errors
}

// New returns a Decoder of doc, or Errors with one entry when doc is not JSON.
func New(doc []byte) (*Decoder, error) {
	if !gjson.ValidBytes(doc) {
		return nil, Errors{{Path: "", Offset: -1, Msg: "not valid JSON" + syntaxHint(doc)}}
	}
	return &Decoder{doc: string(doc), root: gjson.ParseBytes(doc)}, nil
}

// syntaxHint names where encoding/json finds the first syntax error, for the log line.
func syntaxHint(doc []byte) string {
	var v any
	err := json.Unmarshal(doc, &v)
	if se, ok := err.(*json.SyntaxError); ok {
		line := 1 + strings.Count(string(doc[:min(int(se.Offset), len(doc))]), "\n")
		return " (" + se.Error() + ", line " + strconv.Itoa(line) + ")"
	}
	if err != nil {
		return " (" + err.Error() + ")"
	}
	return ""
}

// Root is the document's top-level value.
func (d *Decoder) Root() Value { return Value{d: d, v: d.root} }

// Err is the problems found so far, as Errors, or nil.
func (d *Decoder) Err() error {
	if len(d.errs) == 0 {
		return nil
	}
	return d.errs
}

// Join is the path of an object's field.
func Join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// Index is the path of an array's element.
func Index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// Value is one value of the document, or the absence of one, and where it is: its path is
// made only when a message needs it.
type Value struct {
	d     *Decoder
	up    *Value // the object or array that holds the value; nil for the root
	key   string // the field's name, when up is an object
	index int    // the element's index, when up is an array
	v     gjson.Result
}

// Path is the value's JSON path.
func (v Value) Path() string {
	if v.up == nil {
		return ""
	}
	if v.up.v.IsArray() {
		return Index(v.up.Path(), v.index)
	}
	return Join(v.up.Path(), v.key)
}

// Present reports whether the value is in the document and not null.
func (v Value) Present() bool { return v.v.Exists() && v.v.Type != gjson.Null }

// Fail records a problem at the value's path and line.
func (v Value) Fail(format string, args ...any) { v.FailAt(v.Path(), format, args...) }

// FailAt records a problem at path, on the value's line.
func (v Value) FailAt(path, format string, args ...any) {
	off, line := -1, 0
	if v.v.Exists() || v.v.Index > 0 {
		off = v.v.Index
		line = 1 + strings.Count(v.d.doc[:min(off, len(v.d.doc))], "\n")
	}
	v.d.errs = append(v.d.errs, Error{Path: path, Offset: off, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// Kind names the value's JSON type for messages: "a string", "an object", "nothing", ...
func (v Value) Kind() string {
	switch v.v.Type {
	case gjson.Null:
		if !v.v.Exists() {
			return "nothing"
		}
		return "null"
	case gjson.False, gjson.True:
		return "a boolean"
	case gjson.Number:
		return "a number"
	case gjson.String:
		return "a string"
	}
	if v.v.IsArray() {
		return "an array"
	}
	return "an object"
}

// Raw is the value's JSON text.
func (v Value) Raw() string { return v.v.Raw }

// Text is the value of a string; ok is false for any other type.
func (v Value) Text() (s string, ok bool) { return v.v.Str, v.v.Type == gjson.String }

// Boolean is the value of true or false; ok is false for any other type.
func (v Value) Boolean() (b, ok bool) { return v.v.Type == gjson.True, v.v.IsBool() }

// Number is the value of a number; ok is false for any other type.
func (v Value) Number() (f float64, ok bool) { return v.v.Num, v.v.Type == gjson.Number }

// IsObject reports whether the value is an object.
func (v Value) IsObject() bool { return v.v.IsObject() }

// Object returns the object at v, or nil (with an error) when v is not an object. A key given
// twice is an error.
func (v Value) Object() *Object {
	if !v.v.IsObject() {
		v.Fail("must be an object, got %s", v.Kind())
		return nil
	}
	o := &Object{Value: v, fields: map[string]gjson.Result{}}
	v.v.ForEach(func(k, val gjson.Result) bool {
		if _, dup := o.fields[k.Str]; dup {
			o.field(k.Str, val).Fail("duplicate key")
		} else {
			o.keys = append(o.keys, k.Str)
		}
		o.fields[k.Str] = val
		return true
	})
	return o
}

// Object is a JSON object whose fields are read by name.
type Object struct {
	Value
	fields map[string]gjson.Result
	keys   []string // in document order, each once
}

func (o *Object) field(name string, v gjson.Result) Value {
	return Value{d: o.d, up: &o.Value, key: name, v: v}
}

// Field is the value of a field; not Present when the field is absent or null.
func (o *Object) Field(name string) Value { return o.field(name, o.fields[name]) }

// FieldObject is the object of a field; nil when the field is absent or null, or (with an
// error) when it is not an object.
func (o *Object) FieldObject(name string) *Object {
	if v := o.Field(name); v.Present() {
		return v.Object()
	}
	return nil
}

// Keys are the object's field names in document order.
func (o *Object) Keys() []string { return o.keys }

// Known reports every field not among names as an error, so typos do not pass silently.
func (o *Object) Known(names ...string) {
	allowed := make(map[string]bool, len(names))
	for _, n := range names {
		allowed[n] = true
	}
	for _, k := range o.keys {
		if !allowed[k] {
			sort.Strings(names)
			o.Field(k).Fail("unknown field (known: %s)", strings.Join(names, ", "))
		}
	}
}

// Has reports whether the field is present and not null.
func (o *Object) Has(name string) bool {
	v, ok := o.fields[name]
	return ok && v.Type != gjson.Null
}

// Str reads a string field; def when absent or null.
func (o *Object) Str(name, def string) string {
	v := o.Field(name)
	if !v.Present() {
		return def
	}
	s, ok := v.Text()
	if !ok {
		v.Fail("must be a string, got %s", v.Kind())
		return def
	}
	return s
}

// RequiredStr reads a string field that must be present and not empty.
func (o *Object) RequiredStr(name string) string {
	v := o.Field(name)
	if !v.Present() {
		o.FailAt(v.Path(), "is required")
		return ""
	}
	s, ok := v.Text()
	if !ok {
		v.Fail("must be a string, got %s", v.Kind())
		return ""
	}
	if s == "" {
		v.Fail("must not be empty")
	}
	return s
}

// Bool reads true or false; def when absent or null.
func (o *Object) Bool(name string, def bool) bool {
	v := o.Field(name)
	if !v.Present() {
		return def
	}
	b, ok := v.Boolean()
	if !ok {
		v.Fail("must be true or false, got %s", v.Kind())
		return def
	}
	return b
}

// Int reads a whole number within [lo, hi]; def when absent or null.
func (o *Object) Int(name string, def, lo, hi int64) int64 {
	v := o.Field(name)
	if !v.Present() {
		return def
	}
	f, ok := v.Number()
	if !ok {
		v.Fail("must be a number, got %s", v.Kind())
		return def
	}
	if f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
		v.Fail("must be a whole number from %d to %d, got %s", lo, hi, v.Raw())
		return def
	}
	return int64(f)
}

// Array reads an array field's elements; nil when absent, null or not an array (an error).
func (o *Object) Array(name string) []Value {
	v, items := o.array(name)
	if items == nil {
		return nil
	}
	out := make([]Value, len(items))
	for i, it := range items {
		out[i] = Value{d: o.d, up: &v, index: i, v: it}
	}
	return out
}

func (o *Object) array(name string) (Value, []gjson.Result) {
	v := o.Field(name)
	if !v.Present() {
		return v, nil
	}
	if !v.v.IsArray() {
		v.Fail("must be an array, got %s", v.Kind())
		return v, nil
	}
	return v, v.v.Array()
}

// Strings reads an array of strings; the elements that are not strings are errors, and left
// out.
func (o *Object) Strings(name string) []string {
	v, items := o.array(name)
	var out []string
	for i, it := range items {
		if it.Type != gjson.String {
			e := Value{d: o.d, up: &v, index: i, v: it}
			e.Fail("must be a string, got %s", e.Kind())
			continue
		}
		out = append(out, it.Str)
	}
	return out
}

// Enum reads a string field that must be one of allowed; def when absent or null.
func (o *Object) Enum(name, def string, allowed ...string) string {
	s := o.Str(name, def)
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	o.Field(name).Fail("unknown value %q (want one of %s)", s, strings.Join(allowed, ", "))
	return def
}

// Valid reports whether s is a JSON text, by the rules the document is read with.
func Valid(s string) bool { return gjson.Valid(s) }
