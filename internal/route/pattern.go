package route

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Kind is the kind of an API path. Its value is Tencent's priority: a lower
// kind is tried first.
type Kind uint8

// The kinds, in rank order.
const (
	Exact       Kind = iota + 1 // "=/a/b": the whole request path equals /a/b
	Prefix                      // "^~/a": string prefix, ranked before templates
	Template                    // "/a/{x}": whole path, each {x} takes zero or more bytes
	PlainPrefix                 // "/a": string prefix, ranked last
)

func (k Kind) String() string {
	switch k {
	case Exact:
		return "exact"
	case Prefix:
		return "prefix"
	case Template:
		return "template"
	case PlainPrefix:
		return "plain prefix"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Pattern is one compiled API path. It is immutable and safe for concurrent use.
type Pattern struct {
	src  string
	kind Kind
	lit  string // src without its marker

	// Template only: len(lits) == len(names)+1, variable i sits between
	// lits[i] and lits[i+1]; litLen is the sum of len(lits[i]).
	lits   []string
	names  []string
	litLen int
}

// Compile parses an API path as written in the configuration. It rejects an
// empty path; a path that does not start with "/" after its marker; a space,
// control byte, '?' or '#'; braces in an exact or prefix path; and, in a
// template, unbalanced or empty braces, a name outside [A-Za-z0-9_-]+, a
// repeated name, or two variables with no literal between them.
func Compile(path string) (*Pattern, error) {
	if path == "" {
		return nil, errors.New("route: empty path")
	}
	p := &Pattern{src: path, kind: PlainPrefix, lit: path}
	switch {
	case strings.HasPrefix(path, "^~"):
		p.kind, p.lit = Prefix, path[2:]
	case strings.HasPrefix(path, "="):
		p.kind, p.lit = Exact, path[1:]
	}
	if p.lit == "" || p.lit[0] != '/' {
		return nil, fmt.Errorf("route: path %q: must start with \"/\" after its marker", path)
	}
	for i := 0; i < len(p.lit); i++ {
		// A request path never holds these (the query is cut off before
		// matching), so an API path with one could never match.
		if c := p.lit[i]; c <= ' ' || c == 0x7f || c == '?' || c == '#' {
			return nil, fmt.Errorf("route: path %q: invalid byte %q", path, c)
		}
	}
	hasBrace := strings.ContainsAny(p.lit, "{}")
	if !hasBrace {
		return p, nil
	}
	if p.kind != PlainPrefix {
		return nil, fmt.Errorf("route: path %q: variables are not allowed in an exact or prefix path", path)
	}
	if err := p.parseTemplate(); err != nil {
		return nil, fmt.Errorf("route: path %q: %w", path, err)
	}
	p.kind = Template
	return p, nil
}

func (p *Pattern) parseTemplate() error {
	s := p.lit
	start := 0 // start of the current literal
	for i := 0; i < len(s); {
		switch s[i] {
		case '}':
			return errors.New(`"}" without "{"`)
		case '{':
			j := strings.IndexByte(s[i+1:], '}')
			if j < 0 {
				return errors.New(`"{" without "}"`)
			}
			name := s[i+1 : i+1+j]
			if name == "" {
				return errors.New("empty variable name")
			}
			if !validName(name) {
				return fmt.Errorf("variable name %q is not [A-Za-z0-9_-]+", name)
			}
			if slices.Contains(p.names, name) {
				return fmt.Errorf("variable %q appears twice", name)
			}
			lit := s[start:i]
			if len(p.names) > 0 && lit == "" {
				// Where one variable ends and the next starts is undecidable.
				return fmt.Errorf("variables %q and %q are adjacent", p.names[len(p.names)-1], name)
			}
			p.lits = append(p.lits, lit)
			p.names = append(p.names, name)
			i += j + 2
			start = i
		default:
			i++
		}
	}
	p.lits = append(p.lits, s[start:])
	for _, l := range p.lits {
		p.litLen += len(l)
	}
	return nil
}

func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return s != ""
}

// Kind reports the kind of the path.
func (p *Pattern) Kind() Kind { return p.kind }

// Literal is the path without its "=" or "^~" marker; for a template, the
// path as written, braces included.
func (p *Pattern) Literal() string { return p.lit }

// String is the path as given to Compile.
func (p *Pattern) String() string { return p.src }

// VarNames lists a template's variable names in path order; nil for other kinds.
func (p *Pattern) VarNames() []string { return slices.Clone(p.names) }

// matchTemplate reports whether path matches the template as the anchored
// regular expression lits[0](.*)lits[1]...(.*)lits[n] would, with Perl's
// leftmost-greedy captures. If vals is not nil (it must then have one slot
// per variable) it receives the captures.
//
// Greedy captures put every literal at its rightmost feasible position, and
// the rightmost positions are found right to left with one LastIndex each:
// the last literal is a suffix, and each earlier one must end before the
// start of the one after it.
func (p *Pattern) matchTemplate(path string, vals []string) bool {
	if len(path) < p.litLen {
		return false
	}
	n := len(p.names)
	first, last := p.lits[0], p.lits[n]
	if !strings.HasPrefix(path, first) || !strings.HasSuffix(path, last) {
		return false
	}
	lo, end := len(first), len(path)-len(last)
	for i := n - 1; i >= 1; i-- {
		l := p.lits[i]
		j := strings.LastIndex(path[lo:end], l)
		if j < 0 {
			return false
		}
		if vals != nil {
			vals[i] = path[lo+j+len(l) : end]
		}
		end = lo + j
	}
	if vals != nil {
		vals[0] = path[lo:end]
	}
	return true
}
