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
		if len(h.values) != len(h.Fields) {
			h.values = h.values[:0]
			for _, f := range h.Fields {
				h.values = append(h.values, f.Value)
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

// Reset empties the list for another request, keeping its memory (the plugin reuses a
// request's context and its list once the request has ended).
func (h *HeaderList) Reset() {
	clear(h.Fields)
	h.Fields = h.Fields[:0]
	clear(h.values)
	h.values = h.values[:0]
}
