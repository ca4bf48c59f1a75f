package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/apigw-wasm/apigw-wasm/internal/config"
)

// resolve follows documents and aliases to the node that holds the value.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil {
		switch n.Kind {
		case yaml.DocumentNode:
			if len(n.Content) == 0 {
				return nil
			}
			n = n.Content[0]
		case yaml.AliasNode:
			n = n.Alias
		default:
			return n
		}
	}
	return nil
}

// child returns the value of key in mapping n, or nil.
func child(n *yaml.Node, key string) *yaml.Node {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return resolve(n.Content[i+1])
		}
	}
	return nil
}

// scalar returns a scalar node's text, or "".
func scalar(n *yaml.Node) string {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// toJSON writes n as JSON, keys in their YAML order and repeated keys kept, so the loader sees
// and reports what the author wrote. Scalars follow YAML 1.2's core schema as yaml.v3 resolves
// it; timestamps and binary stay strings, as Kubernetes keeps them.
func toJSON(n *yaml.Node) ([]byte, error) {
	var b bytes.Buffer
	if err := writeJSON(&b, n, 0); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeJSON(b *bytes.Buffer, n *yaml.Node, depth int) error {
	if depth > 1000 {
		return fmt.Errorf("line %d: nested too deeply", n.Line)
	}
	n = resolve(n)
	if n == nil {
		b.WriteString("null")
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		b.WriteByte('{')
		first := true
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := resolve(n.Content[i])
			if k == nil || k.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: a mapping key must be a scalar", n.Content[i].Line)
			}
			if k.Tag == "!!merge" {
				return fmt.Errorf("line %d: merge keys (<<) are not supported", k.Line)
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			writeString(b, k.Value)
			b.WriteByte(':')
			if err := writeJSON(b, n.Content[i+1], depth+1); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, c, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case yaml.ScalarNode:
		return writeScalar(b, n)
	default:
		return fmt.Errorf("line %d: unexpected YAML node", n.Line)
	}
	return nil
}

func writeScalar(b *bytes.Buffer, n *yaml.Node) error {
	switch n.ShortTag() {
	case "!!null":
		b.WriteString("null")
	case "!!bool":
		var v bool
		if err := n.Decode(&v); err != nil {
			return err
		}
		b.WriteString(strconv.FormatBool(v))
	case "!!int":
		var v any
		if err := n.Decode(&v); err != nil {
			return err
		}
		switch x := v.(type) {
		case int:
			b.WriteString(strconv.Itoa(x))
		case int64:
			b.WriteString(strconv.FormatInt(x, 10))
		case uint64:
			b.WriteString(strconv.FormatUint(x, 10))
		case float64:
			b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
		default:
			return fmt.Errorf("line %d: integer %q", n.Line, n.Value)
		}
	case "!!float":
		var v float64
		if err := n.Decode(&v); err != nil {
			return err
		}
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return fmt.Errorf("line %d: %s has no JSON form", n.Line, n.Value)
		}
		b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	default:
		writeString(b, n.Value)
	}
	return nil
}

func writeString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s) // a Go string always encodes
	b.Write(enc)
}

// docLines maps a loader error to a line of the JSON document doc: the loader's own line, else
// the line of the error's path, which YAML (a superset of JSON) finds.
func docLines(doc []byte) func(config.Error) int {
	var byPath func(config.Error) int
	return func(e config.Error) int {
		if e.Line > 0 {
			return e.Line
		}
		if e.Path == "" {
			// "not valid JSON" names its line in the message.
			return yamlErrorLine(errors.New(e.Msg))
		}
		if byPath == nil {
			var root yaml.Node
			if yaml.Unmarshal(doc, &root) != nil || resolve(&root) == nil {
				byPath = func(config.Error) int { return 0 }
			} else {
				byPath = pathLines(resolve(&root))
			}
		}
		return byPath(e)
	}
}

// pathLines maps a loader error to the line of its JSON path in the YAML tree at root: the line
// of the value the path names, or of its nearest ancestor that exists (a missing field is
// reported where its object starts).
func pathLines(root *yaml.Node) func(config.Error) int {
	return func(e config.Error) int {
		n := root
		line := n.Line
		for _, step := range splitPath(e.Path) {
			var next *yaml.Node
			if step.index >= 0 {
				if s := resolve(n); s != nil && s.Kind == yaml.SequenceNode && step.index < len(s.Content) {
					next = s.Content[step.index]
				}
			} else if m := resolve(n); m != nil && m.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(m.Content); i += 2 {
					if m.Content[i].Value == step.key {
						next = m.Content[i+1]
						// An unknown or duplicate key is best shown at the key itself.
						line = m.Content[i].Line
						break
					}
				}
			}
			if next == nil {
				return line
			}
			n = next
			if step.index >= 0 {
				line = n.Line
			}
		}
		return line
	}
}

type pathStep struct {
	key   string
	index int // -1 for a key
}

// splitPath splits a loader path such as services[0].apis[2].backend.type.
func splitPath(p string) []pathStep {
	var out []pathStep
	for p != "" {
		switch {
		case p[0] == '.':
			p = p[1:]
		case p[0] == '[':
			end := strings.IndexByte(p, ']')
			i, err := strconv.Atoi(p[1:max(end, 1)])
			if end < 0 || err != nil {
				return append(out, pathStep{key: p, index: -1})
			}
			out = append(out, pathStep{index: i})
			p = p[end+1:]
		default:
			end := strings.IndexAny(p, ".[")
			if end < 0 {
				end = len(p)
			}
			out = append(out, pathStep{key: p[:end], index: -1})
			p = p[end:]
		}
	}
	return out
}
