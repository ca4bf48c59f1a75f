package params

import (
	"errors"

	"github.com/apigw-wasm/apigw-wasm/internal/confjson"
	"github.com/apigw-wasm/apigw-wasm/internal/reply"
)

// typeNames are the configuration's parameter types, in the order of kinds.
var typeNames = func() []string {
	var out []string
	for _, k := range kinds {
		out = append(out, k.name)
	}
	return out
}()

// Decode reads an API's parameters field and compiles it with vars, the names of the API
// path's variables. A list that is well-formed but unusable (a path parameter naming no
// variable, a header name that is no token, a default of the wrong type, ...) comes with
// reply.APIConfigError for the API to answer, and a nil Set; else the code is reply.None.
func Decode(api *confjson.Object, vars []string) (*Set, reply.Code) {
	var specs []Spec
	for _, it := range api.Array("parameters") {
		o := it.Object()
		if o == nil {
			continue
		}
		o.Known("name", "position", "type", "required", "default")
		sp := Spec{
			Name:     o.RequiredStr("name"),
			Position: o.Enum("position", positions[posQuery], positions[:]...),
			Type:     o.Enum("type", kindString.String(), typeNames...),
			Required: o.Bool("required", false),
		}
		if o.Has("default") {
			sp.Default, sp.HasDefault = o.Str("default", ""), true
		}
		specs = append(specs, sp)
	}
	set, err := Compile(specs, vars)
	if err == nil {
		return set, reply.None
	}
	if errors.Is(err, ErrAPIConfig) {
		return nil, reply.APIConfigError
	}
	// Faults of the document: reported at the API, naming the parameter's field.
	at := api.Field("parameters").Path()
	var ce *ConfigError
	if errors.As(err, &ce) {
		at = confjson.Join(confjson.Index(at, ce.Index), ce.Field)
		err = ce.Err
	}
	api.FailAt(at, "%v", err)
	return nil, reply.None
}
