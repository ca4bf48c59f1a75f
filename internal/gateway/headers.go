package gateway

// Field is one request header line.
type Field struct{ Name, Value string }

// HeaderList is a Headers view over the request's header lines in arrival order, names in
// lowercase as Envoy gives them: the plugin reads them from the host once per request and every
// step then reads memory. The zero value has no headers.
type HeaderList struct {
	Fields []Field
	values []string // values[i] is Fields[i].Value, made on the first Values call
}

// Get returns the first value of name (lowercase, like every name the gateway asks for).
func (h *HeaderList) Get(name string) (string, bool) {
	for _, f := range h.Fields {
		if f.Name == name {
			return f.Value, true
		}
	}
	return "", false
}

// Values returns every value of name; a single value costs no allocation after the first call.
func (h *HeaderList) Values(name string) []string {
	first, n := -1, 0
	for i, f := range h.Fields {
		if f.Name == name {
			if n == 0 {
				first = i
			}
			n++
		}
	}
	switch n {
	case 0:
		return nil
	case 1:
		if h.values == nil {
			h.values = make([]string, len(h.Fields))
			for i, f := range h.Fields {
				h.values[i] = f.Value
			}
		}
		return h.values[first : first+1 : first+1]
	}
	out := make([]string, 0, n)
	for _, f := range h.Fields[first:] {
		if f.Name == name {
			out = append(out, f.Value)
		}
	}
	return out
}
