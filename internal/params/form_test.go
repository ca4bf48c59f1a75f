package params

import (
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/apigw-wasm/apigw-wasm/internal/reply"
)

// decodeAll reads a whole urlencoded text with the package's reader into url.Values.
func decodeAll[T text](s T) (url.Values, error) {
	m := url.Values{}
	for rest := s; len(rest) > 0; {
		var pair T
		pair, rest = cutPair(rest)
		if len(pair) == 0 {
			continue
		}
		k, v := cutEq(pair)
		if !validEscapes(k) || !validEscapes(v) {
			return nil, ErrMalformed
		}
		key := string(appendDecoded(nil, k, true))
		if !equalDecoded(k, key) || equalDecoded(k, key+"x") || key != "" && equalDecoded(k, key[1:]) {
			panic("equalDecoded disagrees with appendDecoded on " + strconv.Quote(string(k)))
		}
		m[key] = append(m[key], string(appendDecoded(nil, v, true)))
	}
	return m, nil
}

var readerSeeds = []string{
	"", "a=1&b=2", "a=1&a=2&&b", "+%20+=%2B", "=v", "k=", "a=%", "a=%4", "a=%zz", "%=1", "a=1;b=2",
	"a=%ff%FE&b=\xff", "&&&", "a==b", "q=a+b%2Bc", strings.Repeat("a&", 20),
}

// checkAgainstParseQuery compares the reader with net/url.ParseQuery on s.
func checkAgainstParseQuery[T text](t *testing.T, s T) {
	got, err := decodeAll(s)
	want, stdErr := url.ParseQuery(string(s))
	switch {
	case err == nil && stdErr == nil:
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: got %q, ParseQuery %q", s, got, want)
		}
	case err != nil && stdErr == nil:
		t.Fatalf("%q: rejected, ParseQuery accepts it as %q", s, want)
	case err == nil && stdErr != nil:
		// The deliberate differences: ';' is data here; no limit on the pair count.
		semicolon := strings.IndexByte(string(s), ';') >= 0
		tooMany := strings.Count(string(s), "&") >= 10000
		if !semicolon && !tooMany {
			t.Fatalf("%q: accepted as %q, ParseQuery: %v", s, got, stdErr)
		}
	}
	if err == nil {
		for k, vs := range got {
			v, found, lerr := Lookup(string(s), k)
			if lerr != nil || !found || v != vs[0] {
				t.Fatalf("%q: Lookup(%q) = %q, %v, %v; want %q", s, k, v, found, lerr, vs[0])
			}
		}
	} else if _, _, lerr := Lookup(string(s), "a"); lerr != ErrMalformed {
		t.Fatalf("%q: Lookup did not report the malformed escape", s)
	}
}

func FuzzQueryReader(f *testing.F) {
	for _, s := range readerSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkAgainstParseQuery(t, s) })
}

func FuzzFormReader(f *testing.F) {
	for _, s := range readerSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkAgainstParseQuery(t, b) })
}

// checkSpecs are the parameters FuzzCheck checks, one of each type, in the query or body.
func checkSpecs(pos string) []Spec {
	return []Spec{
		{Name: "a", Position: pos, Type: "int", Required: true},
		{Name: "b", Position: pos, Type: "double"},
		{Name: "c c", Position: pos, Type: "boolean", Default: "true", HasDefault: true},
		{Name: "d", Position: pos},
	}
}

var floatSyntax = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// refValid is the reference for the types, from strconv and a regular expression.
func refValid(k kind, v string) bool {
	switch k {
	case kindInt:
		_, err := strconv.ParseInt(v, 10, 64)
		return err == nil
	case kindFloat:
		_, err := strconv.ParseFloat(v, 64)
		return err == nil && floatSyntax.MatchString(v)
	case kindBool:
		return strings.EqualFold(v, "true") && len(v) == 4 || strings.EqualFold(v, "false") && len(v) == 5
	}
	return true
}

// refCheck answers a position the way Check must, from net/url's reading; broken names the
// keys with an undecodable value.
func refCheck(specs []Spec, values url.Values, broken map[string]bool, missing reply.Code) (reply.Code, string) {
	for _, sp := range specs {
		vs, ok := values[sp.Name]
		if !ok {
			if sp.Required {
				return missing, sp.Name
			}
			continue
		}
		if broken[sp.Name] {
			return reply.ParamInvalid, sp.Name
		}
		k := kindString
		for _, e := range kinds {
			if e.name == strings.ToLower(sp.Type) {
				k = e.kind
			}
		}
		for _, v := range vs {
			if !refValid(k, v) {
				return reply.ParamInvalid, sp.Name
			}
		}
	}
	return reply.None, ""
}

// FuzzCheck runs Check on a fuzzed query string and a fuzzed form body and compares its
// answer with one computed from net/url.ParseQuery and strconv.
func FuzzCheck(f *testing.F) {
	for _, s := range append(readerSeeds, "a=1&b=2.5e3&c+c=TRUE&d", "a=-0&b=.5&a=+9", "a=9223372036854775808", "b=1e309&a=1", "a=1&c%20c=no") {
		f.Add(s, []byte(s))
	}
	qset, err := Compile(checkSpecs("query"), nil)
	if err != nil {
		f.Fatal(err)
	}
	bset, err := Compile(checkSpecs("body"), nil)
	if err != nil {
		f.Fatal(err)
	}
	form := map[string]string{"content-type": "application/x-www-form-urlencoded"}
	f.Fuzz(func(t *testing.T, query string, body []byte) {
		if strings.IndexByte(query, ';') >= 0 || strings.Count(query, "&") >= 10000 {
			return // ParseQuery rejects what the reader accepts
		}
		d, got := qset.Check(&fakeRequest{query: query})
		values, stdErr := url.ParseQuery(query)
		wantCode, wantArg := refCheck(checkSpecs("query"), values, nil, reply.QueryRequired)
		if stdErr != nil {
			wantCode, wantArg = reply.QueryParamsError, ""
		}
		if gotCode(got) != wantCode || got != nil && got.Arg != wantArg {
			t.Fatalf("query %q: got %v, want %v %q", query, got, wantCode, wantArg)
		}
		if _, cAbsent := values["c c"]; got == nil && cAbsent == (d.Query(query) != query) {
			t.Fatalf("query %q: default of c c applied = %v", query, !cAbsent)
		}

		// Body: pairs that ParseQuery cannot read are skipped, unless they belong to a
		// parameter, whose value is then invalid; the reference reads pair by pair.
		if strings.IndexByte(string(body), ';') >= 0 {
			return
		}
		_, got = bset.Check(&fakeRequest{headers: form, body: string(body)})
		ref := url.Values{}
		broken := map[string]bool{}
		for _, pair := range strings.Split(string(body), "&") {
			k, v, _ := strings.Cut(pair, "=")
			kd, err := url.QueryUnescape(k)
			if pair == "" || err != nil {
				continue
			}
			vd, err := url.QueryUnescape(v)
			if err != nil {
				broken[kd] = true
			}
			ref[kd] = append(ref[kd], vd)
		}
		wantCode, wantArg = refCheck(checkSpecs("body"), ref, broken, reply.BodyParamRequired)
		if gotCode(got) != wantCode || got != nil && got.Arg != wantArg {
			t.Fatalf("body %q: got %v, want %v %q", body, got, wantCode, wantArg)
		}
	})
}

func gotCode(e *reply.Error) reply.Code {
	if e == nil {
		return reply.None
	}
	return e.Code
}

// FuzzTypes compares the type rules with strconv.
func FuzzTypes(f *testing.F) {
	for _, s := range []string{"0", "-9223372036854775808", "9223372036854775808", "1e308", "1.8e308", "1e-400", ".5", "1.", "+.e1", "inf", "0x1p1", "true", "FALSE", "1_0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, k := range []kind{kindInt, kindFloat, kindBool, kindString} {
			if got, want := valid(k, s), refValid(k, s); got != want {
				t.Fatalf("%s %q: got %v, want %v", k, s, got, want)
			}
			if valid(k, s) != valid(k, []byte(s)) {
				t.Fatalf("%s %q: string and []byte disagree", k, s)
			}
		}
	})
}
