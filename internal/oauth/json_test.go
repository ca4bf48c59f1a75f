package oauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestScanObject(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]string // kind + text of the members "a" and "b"; nil: invalid
		err  error
	}{
		{`{}`, map[string]string{}, nil},
		{` { "a" : "x" , "b" : 1.5e+3 } `, map[string]string{"a": `"x`, "b": "01.5e+3"}, nil},
		{`{"a":{"b":1},"c":[1,"b",{"b":2}]}`, map[string]string{"a": "x"}, nil},
		{`{"\u0061":"\ud83d\ude00\n\"\\\/"}`, map[string]string{"a": "\"\U0001F600\n\"\\/"}, nil},
		{`{"a":"\ud800x"}`, map[string]string{"a": "\"\uFFFDx"}, nil},
		{`{"a":true,"b":null}`, map[string]string{"a": "x", "b": "x"}, nil},
		{`{"b":-0}`, map[string]string{"b": "0-0"}, nil},
		{`{"A":1}`, map[string]string{}, nil},

		{``, nil, errJSON},
		{`[]`, nil, errJSON},
		{`{`, nil, errJSON},
		{`{"a"}`, nil, errJSON},
		{`{"a":}`, nil, errJSON},
		{`{"a":1,}`, nil, errJSON},
		{`{,}`, nil, errJSON},
		{`{"a":1}}`, nil, errJSON},
		{`{"a":1} x`, nil, errJSON},
		{`{'a':1}`, nil, errJSON},
		{`{a:1}`, nil, errJSON},
		{`{"a":01}`, nil, errJSON},
		{`{"a":1.}`, nil, errJSON},
		{`{"a":.5}`, nil, errJSON},
		{`{"a":+1}`, nil, errJSON},
		{`{"a":1e}`, nil, errJSON},
		{`{"a":NaN}`, nil, errJSON},
		{`{"a":tru}`, nil, errJSON},
		{`{"a":"x` + "\n" + `"}`, nil, errJSON},
		{`{"a":"\x"}`, nil, errJSON},
		{`{"a":"\u12"}`, nil, errJSON},
		{`{"a":[1 2]}`, nil, errJSON},
		{`{"a":{"b"}}`, nil, errJSON},
		{`{"a":1,"a":2}`, nil, errJSONDuplicate},
		{`{"a":1,"\u0061":2}`, nil, errJSONDuplicate},
		{`{"x":1,"x":2}`, map[string]string{}, nil}, // duplicates we do not read are harmless
		{`{"a":` + strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth) + `}`, nil, errJSONDepth},
		{`{"a":` + strings.Repeat("[", maxJSONDepth-1) + strings.Repeat("]", maxJSONDepth-1) + `}`, map[string]string{"a": "x"}, nil},
	}
	for _, tt := range tests {
		var m [2]member
		err := scanObject([]byte(tt.in), []string{"a", "b"}, m[:])
		if tt.want == nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("%s: got %v, want %v", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		got := map[string]string{}
		for i, name := range []string{"a", "b"} {
			if m[i].found {
				got[name] = describe(&m[i])
			}
		}
		if len(got) != len(tt.want) || got["a"] != tt.want["a"] || got["b"] != tt.want["b"] {
			t.Errorf("%s: got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func describe(m *member) string {
	switch m.kind {
	case kindString:
		return `"` + m.text()
	case kindNumber:
		return "0" + string(m.raw)
	}
	return "x"
}

// FuzzScanObject holds the scanner to encoding/json: the same texts are valid objects, and
// the members read have the same values.
func FuzzScanObject(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"alg":"RS256","typ":"JWT"}`, `{"exp":1.7e9,"nbf":-0.5,"x":[true,false,null,{"y":"z"}]}`,
		`{"alg":"\u0052S256"}`, `{"a":"\ud83d\ude00"}`, `{"alg":1,"alg":2}`, `[1]`, `{"a":01}`, ` {"crit" : [ ] } `,
	} {
		f.Add([]byte(s))
	}
	names := []string{"alg", "crit", "exp", "nbf"}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m [4]member
		err := scanObject(data, names, m[:])
		trimmed := bytes.TrimLeft(data, " \t\r\n")
		stdValid := json.Valid(data) && len(trimmed) > 0 && trimmed[0] == '{'
		if err == errJSONDepth || err == errJSONDuplicate {
			return // stricter on purpose, and it stops scanning there
		}
		if (err == nil) != stdValid {
			t.Fatalf("%q: scanner says %v, encoding/json valid object %v", data, err, stdValid)
		}
		if err != nil {
			return
		}
		var std map[string]json.RawMessage
		if err := json.Unmarshal(data, &std); err != nil {
			t.Fatalf("%q: %v", data, err)
		}
		for i, name := range names {
			raw, ok := std[name]
			if ok != m[i].found {
				t.Fatalf("%q: member %s found %v, encoding/json %v", data, name, m[i].found, ok)
			}
			if !ok {
				continue
			}
			switch m[i].kind {
			case kindString:
				var s string
				if json.Unmarshal(raw, &s) != nil {
					t.Fatalf("%q: %s is not a string to encoding/json", data, name)
				}
				// encoding/json also rewrites invalid UTF-8; we compare valid texts only.
				if got := m[i].text(); utf8.ValidString(got) && got != s {
					t.Fatalf("%q: %s = %q, encoding/json %q", data, name, got, s)
				}
			case kindNumber:
				if string(m[i].raw) != string(raw) {
					t.Fatalf("%q: %s = %s, encoding/json %s", data, name, m[i].raw, raw)
				}
			default:
				if c := raw[0]; c == '"' || c == '-' || c >= '0' && c <= '9' {
					t.Fatalf("%q: %s kind %c, encoding/json %s", data, name, m[i].kind, raw)
				}
			}
		}
	})
}
