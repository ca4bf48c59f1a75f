package wire

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

var sampleRequest = Request{
	Instance: "3f9a0c1d2e4b5a69",
	TTL:      10000,
	Take:     true,
	Ops: []Op{
		{Key: "apigw|q|usagePlan-basic|AKIDexample", Kind: Quota, Limit: 1000, Period: 1,
			Seq: 7, Stamp: 1<<30 | 20000, Spent: 600, Allow: 700, Want: 100},
		{Key: `odd "key" \ with` + "\x01 control and é", Kind: Rate, Limit: 10, Take: true},
	},
}

var sampleAnswer = Answer{
	Now: 1767225600123,
	OK:  false,
	Ops: []Result{
		{Stamp: 1<<30 | 20000, Allow: 750, Remaining: 350, End: 1767312000000, Expires: 1767225610123},
		{Remaining: 0, Until: 1767225600223, Over: true},
	},
}

func TestRoundTrip(t *testing.T) {
	b := AppendRequest(nil, &sampleRequest)
	got, err := ParseRequest(b)
	if err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if !reflect.DeepEqual(*got, sampleRequest) {
		t.Errorf("request:\n got %+v\nwant %+v", *got, sampleRequest)
	}
	b = AppendAnswer(nil, &sampleAnswer)
	ans, err := ParseAnswer(b, 2)
	if err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if !reflect.DeepEqual(*ans, sampleAnswer) {
		t.Errorf("answer:\n got %+v\nwant %+v", *ans, sampleAnswer)
	}
}

func TestWireKey(t *testing.T) {
	if k := "apigw|q|plan|AKIDexample"; WireKey(k) != k {
		t.Errorf("valid key changed: %q", WireKey(k))
	}
	a, b := WireKey("apigw|q|\xff"), WireKey("apigw|q|\xfe")
	if a == b || !strings.HasPrefix(a, "apigw|x#") || len(a) != len("apigw|x#")+22 {
		t.Errorf("invalid UTF-8 keys: %q, %q", a, b)
	}
	r := Request{Instance: "i", TTL: 1000, Ops: []Op{{Key: "apigw|q|\xff", Kind: Quota}}}
	got, err := ParseRequest(AppendRequest(nil, &r))
	if err != nil || got.Ops[0].Key != a {
		t.Errorf("decoded %v, %v; want key %q", got, err, a)
	}
}

func TestParseAnswerRejects(t *testing.T) {
	good := string(AppendAnswer(nil, &sampleAnswer))
	tests := []struct {
		name, body string
		n          int
	}{
		{"empty", "", 2},
		{"not JSON", "<html>502</html>", 2},
		{"array", "[]", 2},
		{"truncated", good[:len(good)-3], 2},
		{"other version", strings.Replace(good, `"v":1`, `"v":2`, 1), 2},
		{"no version", strings.Replace(good, `"v":1,`, ``, 1), 2},
		{"fewer ops", good, 3},
		{"more ops", good, 1},
		{"now missing", strings.Replace(good, `"now":1767225600123,`, ``, 1), 2},
		{"now a string", strings.Replace(good, `"now":1767225600123`, `"now":"1767225600123"`, 1), 2},
		{"fraction", strings.Replace(good, `"allow":750`, `"allow":750.5`, 1), 2},
		{"exponent", strings.Replace(good, `"allow":750`, `"allow":7.5e2`, 1), 2},
		{"negative", strings.Replace(good, `"rem":350`, `"rem":-1`, 1), 2},
		{"too large", strings.Replace(good, `"rem":350`, `"rem":9007199254740992`, 1), 2},
		{"ok not bool", strings.Replace(good, `"ok":false`, `"ok":0`, 1), 2},
		{"over missing", strings.Replace(good, `,"over":true`, ``, 1), 2},
		{"op not object", strings.Replace(good, `"ops":[`, `"ops":[1,`, 1), 1},
		{"ops not array", `{"v":1,"now":1,"ok":true,"ops":{}}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseAnswer([]byte(tt.body), tt.n)
			if err == nil || a != nil {
				t.Fatalf("accepted %q: %+v", tt.body, a)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("error %v does not wrap ErrMalformed", err)
			}
		})
	}
}

func TestParseRequestRejects(t *testing.T) {
	good := string(AppendRequest(nil, &sampleRequest))
	many := `{"v":1,"inst":"a","ttl":1000,"take":false,"ops":[` +
		strings.Repeat(`{"key":"k","kind":"r","limit":1,"period":0,"seq":0,"stamp":0,"spent":0,"allow":0,"want":0,"take":false},`, MaxOps) +
		`{"key":"k","kind":"r","limit":1,"period":0,"seq":0,"stamp":0,"spent":0,"allow":0,"want":0,"take":false}]}`
	tests := []struct{ name, body string }{
		{"not JSON", "inst=a"},
		{"instance missing", strings.Replace(good, `"inst":"3f9a0c1d2e4b5a69",`, ``, 1)},
		{"instance with a space", strings.Replace(good, `3f9a0c1d2e4b5a69`, `3f9a 0c1d`, 1)},
		{"ttl too short", strings.Replace(good, `"ttl":10000`, `"ttl":99`, 1)},
		{"unknown kind", strings.Replace(good, `"kind":"q"`, `"kind":"x"`, 1)},
		{"period 3", strings.Replace(good, `"period":1`, `"period":3`, 1)},
		{"limit above 1e15", strings.Replace(good, `"limit":1000`, `"limit":1000000000000001`, 1)},
		{"empty key", strings.Replace(good, `"key":"apigw|q|usagePlan-basic|AKIDexample"`, `"key":""`, 1)},
		{"long key", strings.Replace(good, `usagePlan-basic`, strings.Repeat("p", 300), 1)},
		{"too many ops", many},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r, err := ParseRequest([]byte(tt.body)); err == nil || r != nil {
				t.Fatalf("accepted %q: %+v", tt.body, r)
			}
		})
	}
}

func BenchmarkAppendRequest(b *testing.B) {
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendRequest(buf[:0], &sampleRequest)
	}
}

func BenchmarkParseAnswer(b *testing.B) {
	body := AppendAnswer(nil, &sampleAnswer)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseAnswer(body, 2); err != nil {
			b.Fatal(err)
		}
	}
}
