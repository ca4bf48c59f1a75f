package ascii

import "testing"

func TestEqualFold(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"Bearer", "bearer", true}, {"", "", true}, {"abc", "abd", false}, {"K", "\u212a", false}, {"a", "ab", false},
	} {
		if got := EqualFold(c.a, c.b); got != c.want {
			t.Errorf("EqualFold(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

func TestLower(t *testing.T) {
	for in, want := range map[string]string{"X-Api-ID": "x-api-id", "lower": "lower", "": "", "ÄB": "Äb"} {
		if got := Lower(in); got != want {
			t.Errorf("Lower(%q) = %q, want %q", in, got, want)
		}
	}
}
