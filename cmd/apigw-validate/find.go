package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"gopkg.in/yaml.v3"
	extensions "istio.io/api/extensions/v1alpha1"

	"github.com/apigw-wasm/apigw-wasm/internal/config"
)

// source is one plugin configuration found in a file.
type source struct {
	label    string // where in the file; "" for a plain configuration
	doc      []byte // the document the plugin receives
	problems []problem
	// lineOf maps an error of doc to a line of the file; 0 when unknown.
	lineOf func(config.Error) int
	// clusters are the Envoy configuration's clusters, when it is one that defines them all
	// statically (no CDS); nil otherwise.
	clusters map[string]bool
}

const (
	wasmFilterType = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
	stringValue    = "type.googleapis.com/google.protobuf.StringValue"
	wasmPluginAPI  = "extensions.istio.io/v1alpha1"
)

// find returns the configurations in data, or the problems that keep it from finding any.
func find(data []byte) ([]source, []problem) {
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if len(trimmed) > 0 && trimmed[0] == '{' && !isEnvoyOrIstioJSON(data) {
		// A plain configuration: the loader sees the file as it is, lines included.
		return []source{{doc: data, lineOf: docLines(data)}}, nil
	}
	// YAML, or JSON (which YAML reads too, with lines): Envoy, WasmPlugin or a configuration.
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []source
	var problems []problem
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, []problem{{line: yamlErrorLine(err), msg: err.Error()}}
		}
		root := resolve(&doc)
		if root == nil || root.Kind != yaml.MappingNode {
			continue
		}
		switch kind := scalar(child(root, "kind")); {
		case kind == "WasmPlugin":
			s := wasmPlugin(root)
			s.label = fmt.Sprintf("WasmPlugin %q", scalar(child(child(root, "metadata"), "name")))
			out = append(out, s)
		case kind != "":
			// Another resource (Gateway, VirtualService, ...) of a multi-document file.
		case child(root, "static_resources") != nil || child(root, "dynamic_resources") != nil:
			found := envoyFilters(root)
			if cl := staticClusters(root); cl != nil {
				for i := range found {
					found[i].clusters = cl
				}
			}
			if len(found) == 0 {
				problems = append(problems, problem{line: root.Line, msg: "no " + wasmFilterType + " filter in this Envoy configuration"})
			}
			out = append(out, found...)
		default:
			// A configuration written in YAML: the plugin would get it as JSON.
			doc, err := toJSON(root)
			if err != nil {
				return nil, []problem{{line: root.Line, msg: err.Error()}}
			}
			out = append(out, source{doc: doc, lineOf: pathLines(root)})
		}
	}
	if len(out) == 0 && len(problems) == 0 {
		problems = append(problems, problem{msg: "no plugin configuration found (want a configuration, an Envoy configuration or a WasmPlugin)"})
	}
	return out, problems
}

// isEnvoyOrIstioJSON tells a JSON Envoy configuration or WasmPlugin from a plain configuration,
// by the top-level keys only a plain configuration never has.
func isEnvoyOrIstioJSON(data []byte) bool {
	var top map[string]any
	if yaml.Unmarshal(data, &top) != nil {
		return false
	}
	_, static := top["static_resources"]
	_, dynamic := top["dynamic_resources"]
	return static || dynamic || top["kind"] == "WasmPlugin"
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

func yamlErrorLine(err error) int {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

// envoyFilters returns the configuration of every wasm HTTP filter, each once even when YAML
// aliases repeat it (envoy-examples/envoy.yaml shares one connection manager between listeners).
func envoyFilters(root *yaml.Node) []source {
	var out []source
	seen := map[*yaml.Node]bool{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		n = resolve(n)
		if n == nil || seen[n] {
			return
		}
		seen[n] = true
		switch n.Kind {
		case yaml.MappingNode:
			if scalar(child(n, "@type")) == wasmFilterType {
				out = append(out, envoyFilter(n, path, listenerName(root, path)))
				return
			}
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], joinPath(path, n.Content[i].Value))
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, path+"["+strconv.Itoa(i)+"]")
			}
		}
	}
	walk(root, "")
	return out
}

// staticClusters are the names of an Envoy configuration's clusters, or nil when clusters may
// also come from CDS.
func staticClusters(root *yaml.Node) map[string]bool {
	if child(child(root, "dynamic_resources"), "cds_config") != nil {
		return nil
	}
	names := map[string]bool{}
	if l := child(child(root, "static_resources"), "clusters"); l != nil {
		for _, c := range l.Content {
			names[scalar(child(resolve(c), "name"))] = true
		}
	}
	return names
}

var listenerPath = regexp.MustCompile(`^static_resources\.listeners\[(\d+)\]`)

// listenerName names the static listener a path is in, or "".
func listenerName(root *yaml.Node, path string) string {
	m := listenerPath.FindStringSubmatch(path)
	if m == nil {
		return ""
	}
	i, _ := strconv.Atoi(m[1])
	if l := child(child(root, "static_resources"), "listeners"); l != nil && i < len(l.Content) {
		return scalar(child(l.Content[i], "name"))
	}
	return ""
}

func envoyFilter(typed *yaml.Node, path, listener string) source {
	cfg := child(typed, "config")
	s := source{label: fmt.Sprintf("wasm filter %q at %s", scalar(child(cfg, "name")), path)}
	if listener != "" {
		s.label = fmt.Sprintf("wasm filter %q of listener %q", scalar(child(cfg, "name")), listener)
	}
	conf := child(cfg, "configuration")
	value := child(conf, "value")
	if t := scalar(child(conf, "@type")); conf == nil || t != stringValue || value == nil || value.Kind != yaml.ScalarNode {
		line := typed.Line
		if conf != nil {
			line = conf.Line
		}
		s.problems = append(s.problems, problem{line: line, path: path + ".config.configuration",
			msg: "want a " + stringValue + " holding the plugin configuration"})
		return s
	}
	s.doc = []byte(value.Value)
	// A literal block keeps the document's lines: line k of the document is k lines below the
	// block's indicator. Other styles fold or escape lines, so only the value's line is known.
	inDoc := docLines(s.doc)
	s.lineOf = func(e config.Error) int {
		if k := inDoc(e); value.Style == yaml.LiteralStyle && k > 0 {
			return value.Line + k
		}
		return value.Line
	}
	return s
}

// wasmPlugin decodes an Istio WasmPlugin strictly with Istio's types and converts its
// pluginConfig to JSON as istiod does (protojson of the google.protobuf.Struct).
func wasmPlugin(root *yaml.Node) source {
	s := source{lineOf: func(config.Error) int { return 0 }}
	if v := scalar(child(root, "apiVersion")); v != wasmPluginAPI {
		s.problems = append(s.problems, problem{line: root.Line, path: "apiVersion", msg: fmt.Sprintf("%q, want %q", v, wasmPluginAPI)})
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		switch k := root.Content[i].Value; k {
		case "apiVersion", "kind", "metadata", "spec", "status":
		default:
			s.problems = append(s.problems, problem{line: root.Content[i].Line, path: k, msg: "unknown field of a Kubernetes resource"})
		}
	}
	spec := resolve(child(root, "spec"))
	if spec == nil || spec.Kind != yaml.MappingNode {
		s.problems = append(s.problems, problem{line: root.Line, path: "spec", msg: "is required and must be a mapping"})
		return s
	}
	specJSON, err := toJSON(spec)
	if err != nil {
		s.problems = append(s.problems, problem{line: spec.Line, path: "spec", msg: err.Error()})
		return s
	}
	var wp extensions.WasmPlugin
	if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(specJSON, &wp); err != nil {
		s.problems = append(s.problems, protoProblem(spec, err))
		return s
	}
	if wp.GetUrl() == "" {
		s.problems = append(s.problems, problem{line: spec.Line, path: "spec.url", msg: "is required"})
	}
	pc := resolve(child(spec, "pluginConfig"))
	if wp.GetPluginConfig() == nil || len(wp.GetPluginConfig().GetFields()) == 0 {
		s.problems = append(s.problems, problem{line: spec.Line, path: "spec.pluginConfig",
			msg: "is missing or empty: Istio would give the plugin no configuration"})
		return s
	}
	doc, err := protojson.Marshal(wp.GetPluginConfig())
	if err != nil {
		s.problems = append(s.problems, problem{line: pc.Line, path: "spec.pluginConfig", msg: err.Error()})
		return s
	}
	s.doc = doc
	lines := pathLines(pc)
	s.lineOf = func(e config.Error) int { return lines(e) }
	return s
}

var protoField = regexp.MustCompile(`unknown field "([^"]+)"`)

// protoProblem turns a protojson error into a problem, at the misspelt field when it names one.
func protoProblem(spec *yaml.Node, err error) problem {
	msg := strings.TrimPrefix(err.Error(), "proto: ")
	p := problem{line: spec.Line, path: "spec", msg: "not a valid Istio WasmPlugin spec: " + msg}
	if m := protoField.FindStringSubmatch(msg); m != nil {
		if path, n := findKey(spec, m[1], "spec"); n != nil {
			p.line, p.path, p.msg = n.Line, path, "unknown field of the Istio WasmPlugin spec"
		}
	}
	return p
}

// findKey finds the first mapping key named name outside pluginConfig, depth first.
func findKey(n *yaml.Node, name, path string) (string, *yaml.Node) {
	n = resolve(n)
	if n == nil {
		return "", nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Value == name {
				return joinPath(path, k.Value), k
			}
			if k.Value == "pluginConfig" {
				continue
			}
			if p, found := findKey(n.Content[i+1], name, joinPath(path, k.Value)); found != nil {
				return p, found
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if p, found := findKey(c, name, path+"["+strconv.Itoa(i)+"]"); found != nil {
				return p, found
			}
		}
	}
	return "", nil
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
