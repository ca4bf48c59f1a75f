package cors

import (
	"github.com/apigw-wasm/apigw-wasm/internal/confjson"
	"github.com/apigw-wasm/apigw-wasm/internal/reply"
)

// Decode reads an API's cors field: absent or false is CORS off (a nil Policy), true is
// Default(), an object is compiled. An object that does not compile is CORS off too, with
// reply.CORSConfigError for the API to answer; else the code is reply.None.
func Decode(api *confjson.Object) (*Policy, reply.Code) {
	v := api.Field("cors")
	switch on, isBool := v.Boolean(); {
	case !v.Present() || isBool && !on:
		return nil, reply.None
	case on:
		return Default(), reply.None
	}
	o := v.Object()
	if o == nil {
		return nil, reply.None
	}
	o.Known("allow_origins", "allow_methods", "allow_headers", "expose_headers", "allow_credentials", "max_age_seconds")
	p, err := Compile(Config{
		AllowOrigins:     o.Strings("allow_origins"),
		AllowMethods:     o.Strings("allow_methods"),
		AllowHeaders:     o.Strings("allow_headers"),
		ExposeHeaders:    o.Strings("expose_headers"),
		AllowCredentials: o.Bool("allow_credentials", false),
		MaxAgeSeconds:    o.Int("max_age_seconds", defaultMaxAge, -1<<53, 1<<53),
	})
	if err != nil {
		return nil, reply.CORSConfigError
	}
	return p, reply.None
}
