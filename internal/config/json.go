package config

import (
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

// Errors are all problems found in one document, in document order.
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

// decoder walks a gjson document, tracking JSON paths and collecting errors.
type decoder struct {
	doc  string
	errs Errors
}

func (d *decoder) fail(path string, v gjson.Result, format string, args ...any) {
	off := -1
	line := 0
	if v.Exists() || v.Index > 0 {
		off = v.Index
		line = 1 + strings.Count(d.doc[:min(off, len(d.doc))], "\n")
	}
	d.errs = append(d.errs, Error{Path: path, Offset: off, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// object is a JSON object whose fields are read by name; unknown names are errors.
type object struct {
	d      *decoder
	path   string
	v      gjson.Result
	fields map[string]gjson.Result
	order  []string
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// asObject returns the object at v, or nil (with an error) when v is not an object.
func (d *decoder) asObject(path string, v gjson.Result) *object {
	if !v.IsObject() {
		d.fail(path, v, "must be an object, got %s", kind(v))
		return nil
	}
	o := &object{d: d, path: path, v: v, fields: map[string]gjson.Result{}}
	v.ForEach(func(k, val gjson.Result) bool {
		if _, dup := o.fields[k.Str]; dup {
			d.fail(join(path, k.Str), val, "duplicate key")
		} else {
			o.order = append(o.order, k.Str)
		}
		o.fields[k.Str] = val
		return true
	})
	return o
}

// known reports every field not among names as an error, so typos do not pass silently.
func (o *object) known(names ...string) {
	allowed := make(map[string]bool, len(names))
	for _, n := range names {
		allowed[n] = true
	}
	for _, k := range o.order {
		if !allowed[k] {
			sort.Strings(names)
			o.d.fail(join(o.path, k), o.fields[k], "unknown field (known: %s)", strings.Join(names, ", "))
		}
	}
}

func (o *object) has(name string) bool {
	v, ok := o.fields[name]
	return ok && v.Type != gjson.Null
}

func (o *object) get(name string) (gjson.Result, string, bool) {
	v, ok := o.fields[name]
	if !ok || v.Type == gjson.Null {
		return v, join(o.path, name), false
	}
	return v, join(o.path, name), true
}

func (o *object) str(name, def string) string {
	v, p, ok := o.get(name)
	if !ok {
		return def
	}
	if v.Type != gjson.String {
		o.d.fail(p, v, "must be a string, got %s", kind(v))
		return def
	}
	return v.Str
}

func (o *object) requiredStr(name string) string {
	v, p, ok := o.get(name)
	if !ok {
		o.d.fail(p, o.v, "is required")
		return ""
	}
	if v.Type != gjson.String {
		o.d.fail(p, v, "must be a string, got %s", kind(v))
		return ""
	}
	if v.Str == "" {
		o.d.fail(p, v, "must not be empty")
	}
	return v.Str
}

func (o *object) boolean(name string, def bool) bool {
	v, p, ok := o.get(name)
	if !ok {
		return def
	}
	if !v.IsBool() {
		o.d.fail(p, v, "must be true or false, got %s", kind(v))
		return def
	}
	return v.Bool()
}

// integer reads a whole number within [lo, hi].
func (o *object) integer(name string, def, lo, hi int64) int64 {
	v, p, ok := o.get(name)
	if !ok {
		return def
	}
	if v.Type != gjson.Number {
		o.d.fail(p, v, "must be a number, got %s", kind(v))
		return def
	}
	f := v.Float()
	if f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
		o.d.fail(p, v, "must be a whole number from %d to %d, got %s", lo, hi, v.Raw)
		return def
	}
	return int64(f)
}

// limit reads a request limit: absent or -1 is Unlimited, else a positive whole number.
func (o *object) limit(name string) int64 {
	v, p, ok := o.get(name)
	if !ok {
		return Unlimited
	}
	if v.Type != gjson.Number || v.Float() != math.Trunc(v.Float()) || (v.Float() < 1 && v.Float() != -1) || v.Float() > 1e15 {
		o.d.fail(p, v, "must be -1 (unlimited) or a positive whole number, got %s", v.Raw)
		return Unlimited
	}
	return int64(v.Float())
}

func (o *object) array(name string) ([]gjson.Result, string) {
	v, p, ok := o.get(name)
	if !ok {
		return nil, p
	}
	if !v.IsArray() {
		o.d.fail(p, v, "must be an array, got %s", kind(v))
		return nil, p
	}
	return v.Array(), p
}

// strings reads an array of strings.
func (o *object) strings(name string) []string {
	items, p := o.array(name)
	var out []string
	for i, it := range items {
		if it.Type != gjson.String {
			o.d.fail(index(p, i), it, "must be a string, got %s", kind(it))
			continue
		}
		out = append(out, it.Str)
	}
	return out
}

func (o *object) enum(name, def string, allowed ...string) string {
	s := o.str(name, def)
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	v, p, _ := o.get(name)
	o.d.fail(p, v, "unknown value %q (want one of %s)", s, strings.Join(allowed, ", "))
	return def
}

func kind(v gjson.Result) string {
	switch v.Type {
	case gjson.Null:
		if !v.Exists() {
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
	if v.IsArray() {
		return "an array"
	}
	return "an object"
}
