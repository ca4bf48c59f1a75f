package ipfilter

import (
	"strings"

	"github.com/apigw-wasm/apigw-wasm/internal/confjson"
)

// Decode compiles the ip_allow and ip_deny of a service or API object; nil when both are
// empty, or (with an error at the object) when an entry is not an address or CIDR.
func Decode(o *confjson.Object) *List {
	allow, deny := o.Strings("ip_allow"), o.Strings("ip_deny")
	l, err := Compile(allow, deny)
	if err != nil {
		o.Fail("%v", err)
		return nil
	}
	return l
}

// DecodeDeny compiles a deny-only list, the field name of o, or def when it is absent.
func DecodeDeny(o *confjson.Object, name string, def []string) *List {
	deny := def
	if o.Has(name) {
		deny = o.Strings(name)
	}
	l, err := Compile(nil, deny)
	if err != nil {
		// The entry's index, after the field's path: "endpoint_deny: [1]: ..."
		o.Field(name).Fail("%s", strings.TrimPrefix(err.Error(), "ip_deny"))
		return nil
	}
	return l
}
