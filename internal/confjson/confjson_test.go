package confjson

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// decode runs read over the root object of doc and returns the problems found.
func decode(t *testing.T, doc string, read func(o *Object)) Errors {
	t.Helper()
	d, err := New([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if o := d.Root().Object(); o != nil {
		read(o)
	}
	if err := d.Err(); err != nil {
		return err.(Errors)
	}
	return nil
}

func TestReaders(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		read func(o *Object)
		want string // "path|line|message", "" for no problem
	}{
		{"str", `{"a": "x"}`, func(o *Object) { o.Str("a", "") }, ""},
		{"str type", "{\n\"a\": 1}", func(o *Object) { o.Str("a", "") }, "a|2|must be a string, got a number"},
		{"null is absent", `{"a": null}`, func(o *Object) { o.RequiredStr("a") }, "a|1|is required"},
		{"required at the object", "{\n \"b\": {\n}}", func(o *Object) { o.FieldObject("b").RequiredStr("id") }, "b.id|2|is required"},
		{"required empty", `{"a": ""}`, func(o *Object) { o.RequiredStr("a") }, "a|1|must not be empty"},
		{"bool", `{"a": "true"}`, func(o *Object) { o.Bool("a", false) }, "a|1|must be true or false, got a string"},
		{"int range", `{"a": 0}`, func(o *Object) { o.Int("a", 5, 1, 10) }, "a|1|must be a whole number from 1 to 10, got 0"},
		{"int whole", `{"a": 1.5}`, func(o *Object) { o.Int("a", 5, 1, 10) }, "a|1|must be a whole number from 1 to 10, got 1.5"},
		{"array", `{"a": {}}`, func(o *Object) { o.Array("a") }, "a|1|must be an array, got an object"},
		{"strings", "{\"a\": [\"x\",\n 2]}", func(o *Object) { o.Strings("a") }, "a[1]|2|must be a string, got a number"},
		{"enum", `{"a": "c"}`, func(o *Object) { o.Enum("a", "x", "x", "y") }, `a|1|unknown value "c" (want one of x, y)`},
		{"known", `{"b": 1, "zz": 2}`, func(o *Object) { o.Known("b", "a") }, "zz|1|unknown field (known: a, b)"},
		{"duplicate key", `{"a": 1, "a": 2}`, func(*Object) {}, "a|1|duplicate key"},
		{"object", `{"a": [1]}`, func(o *Object) { o.FieldObject("a") }, "a|1|must be an object, got an array"},
		{"absent object", `{}`, func(o *Object) { o.FieldObject("a") }, ""},
		{"nested path", `{"s": [{"x": {"y": true}}]}`, func(o *Object) { o.Array("s")[0].Object().FieldObject("x").Str("y", "") }, "s[0].x.y|1|must be a string, got a boolean"},
		{"fail at", "{\"a\":\n [1]}", func(o *Object) { o.Field("a").FailAt("elsewhere", "%s", "bad") }, "elsewhere|2|bad"},
		{"absent has no line", `{}`, func(o *Object) { o.Field("a").Fail("gone") }, "a|0|gone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := decode(t, tt.doc, tt.read)
			var got string
			for _, e := range errs {
				got = e.Path + "|" + strconv.Itoa(e.Line) + "|" + e.Msg
			}
			if len(errs) > 1 || got != tt.want {
				t.Fatalf("got %v, want %q", errs, tt.want)
			}
		})
	}
}

func TestNotJSON(t *testing.T) {
	_, err := New([]byte("{\n\"a\": }"))
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 1 || errs[0].Offset != -1 ||
		!strings.HasPrefix(errs[0].Msg, "not valid JSON (") || !strings.Contains(errs[0].Msg, "line 2") {
		t.Fatalf("got %v", err)
	}
	if got := errs.Error(); !strings.HasPrefix(got, "(document): not valid JSON") {
		t.Errorf("Error() = %q", got)
	}
}

func TestKind(t *testing.T) {
	d, _ := New([]byte(`{"s":"","n":1,"b":false,"z":null,"a":[],"o":{}}`))
	o := d.Root().Object()
	for name, want := range map[string]string{"s": "a string", "n": "a number", "b": "a boolean", "z": "null", "a": "an array", "o": "an object", "x": "nothing"} {
		if got := o.Field(name).Kind(); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if d.Err() != nil {
		t.Errorf("reading kinds is no error: %v", d.Err())
	}
}
