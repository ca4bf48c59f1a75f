package hmacauth

import "testing"

func TestParseAuthorization(t *testing.T) {
	tests := []struct {
		in   string
		want Credential
		ok   bool
	}{
		{`hmac id="a", algorithm="hmac-sha1", headers="x-date source", signature="c2ln"`,
			Credential{"a", "hmac-sha1", "x-date source", "c2ln"}, true},
		{"\t Hmac\tid = \"a\"\t,\tsignature=\"s\" ", Credential{ID: "a", Signature: "s"}, true},
		{`hMaC realm="r", ID="a", Headers=""`, Credential{ID: "a"}, true},
		{`hmac x="1", x="2"`, Credential{}, true},
		{`hmac id="a, b=\"c\""`, Credential{}, false},
		{`hmac id="a,b", headers="x"`, Credential{ID: "a,b", Headers: "x"}, true},
		{`hmac id="é"`, Credential{ID: "é"}, true},
		{`hmac hmac="x", id="a"`, Credential{ID: "a"}, true},
		{`hmac id="a", hmac id="b"`, Credential{}, false},
		{`hmac id="a",hmac id="b"`, Credential{}, false},
		{`hmac id="a", hmacid="b"`, Credential{ID: "a"}, true},
		{`hmac id="a", hmac`, Credential{}, false},
		{`hmac`, Credential{}, false},
		{`hmac `, Credential{}, false},
		{``, Credential{}, false},
		{`hmac id="a";`, Credential{}, false},
		{`hmac id="a" "`, Credential{}, false},
		{`hmac id='a'`, Credential{}, false},
		{`hmac id="a", id="a"`, Credential{}, false},
		{`hmac i d="a"`, Credential{}, false},
		{"hmac id=\"a\x7f\"", Credential{}, false},
		{"hmac id=\"a\tb\"", Credential{ID: "a\tb"}, true},
		{"hmac\u00a0id=\"a\"", Credential{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseAuthorization(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseAuthorization(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseMore(t *testing.T) {
	one := `hmac id="a", algorithm="b", headers="c", signature="d"`
	want := Credential{"a", "b", "c", "d"}
	for _, in := range []string{one + "," + one, one + " , HMAC x", one + `, hmac id="never closed`} {
		c, more, ok := parse(in)
		if c != want || !more || !ok {
			t.Errorf("parse(%q) = %+v, %v, %v; want the first credential and more", in, c, more, ok)
		}
	}
}

// FuzzParseAuthorization: parsing never panics, and whatever it accepts encodes to a value that
// parses back to the same credential.
func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{
		`hmac id="AKIDCgOPWjQ6BAxvHtyckhWABJVYSBj548pN", algorithm="hmac-sha1", headers="x-date source", signature="NI05zGaK4h8BfAh6EQ05ZJ2vG4k="`,
		`HMAC  id = "a" ,signature="b",x=""`,
		`hmac id="a", hmac id="b"`,
		`hmac id="a\"b"`,
		"hmac id=\"\t\x80\"",
		`hmac id="a", ID="b"`,
		``,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := ParseAuthorization(s)
		if !ok {
			if c != (Credential{}) {
				t.Fatalf("rejected %q but returned %+v", s, c)
			}
			return
		}
		e := c.Encode()
		c2, ok := ParseAuthorization(e)
		if !ok || c2 != c {
			t.Fatalf("%q parsed to %+v, which encodes to %q, which parses to %+v, %v", s, c, e, c2, ok)
		}
	})
}
