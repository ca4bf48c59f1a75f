package params

import (
	"math"
	"strconv"
)

// kind is a parameter's type as checked: int and long share one rule, float and double another.
type kind uint8

const (
	kindString kind = iota
	kindInt         // int, long: 64-bit signed decimal
	kindFloat       // float, double: finite decimal or exponent number
	kindBool        // true or false, any case
)

// kinds maps the configured type names, compared case-insensitively.
var kinds = [...]struct {
	name string
	kind kind
}{
	{"string", kindString},
	{"int", kindInt},
	{"long", kindInt},
	{"float", kindFloat},
	{"double", kindFloat},
	{"boolean", kindBool},
}

func (k kind) String() string {
	for _, e := range kinds {
		if e.kind == k {
			return e.name
		}
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// valid reports whether the decoded value v is of kind k.
func valid[T text](k kind, v T) bool {
	switch k {
	case kindInt:
		return isInt(v)
	case kindFloat:
		return isFloat(v)
	case kindBool:
		return equalFold(v, "true") || equalFold(v, "false")
	}
	return true
}

// isInt reports whether s is a decimal integer with an optional sign that fits in int64.
// Leading zeros are accepted; spaces, underscores and base prefixes are not.
func isInt[T text](s T) bool {
	i, neg := 0, false
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		i, neg = 1, s[0] == '-'
	}
	if i == len(s) {
		return false
	}
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	var n uint64
	for ; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		d := uint64(c - '0')
		if n > (limit-d)/10 {
			return false
		}
		n = n*10 + d
	}
	return true
}

// isFloat reports whether s is [+-] digits [. digits] [(e|E) [+-] digits] (at least one
// mantissa digit, on either side of the point) whose value is finite as a float64. Inf, NaN,
// hex floats and underscores are rejected; a value too small for float64 is accepted, as it
// rounds to zero. The exact range test (strconv) runs only for values near float64's maximum.
func isFloat[T text](s T) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	// mag is the decimal exponent of the first nonzero digit, plus one: 123.4 -> 3, 0.05 -> -1.
	digits, nonzero, mag := 0, false, 0
	for ; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		digits++
		if s[i] != '0' {
			nonzero = true
		}
		if nonzero {
			mag++
		}
	}
	if i < len(s) && s[i] == '.' {
		for i++; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
			digits++
			if s[i] != '0' {
				nonzero = true
			} else if !nonzero {
				mag--
			}
		}
	}
	if digits == 0 {
		return false
	}
	exp, huge := 0, false
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		neg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			neg = s[i] == '-'
			i++
		}
		start := i
		for ; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
			if exp < 1e8 {
				exp = exp*10 + int(s[i]-'0')
			} else {
				huge = true // leave it to strconv
			}
		}
		if i == start {
			return false
		}
		if neg {
			exp = -exp
		}
	}
	if i != len(s) {
		return false
	}
	switch m := mag + exp; {
	case !nonzero:
		return true
	case huge:
	case m <= 308: // below 1e308 < MaxFloat64
		return true
	case m >= 310: // at least 1e309
		return false
	}
	_, err := strconv.ParseFloat(string(s), 64)
	return err == nil
}

// equalFold reports whether s equals the lower-case ASCII word w, ignoring ASCII case.
func equalFold[T text](s T, w string) bool {
	if len(s) != len(w) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != w[i] {
			return false
		}
	}
	return true
}
