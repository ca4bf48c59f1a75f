package oauth

import (
	"strings"
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/confjson"
	"github.com/apigw-wasm/apigw-wasm/internal/reply"
)

// DecodeClockSkew reads the document's oauth section: clock_skew_seconds, the leeway on exp
// and nbf, from 0 to a year; DefaultClockSkew when absent.
func DecodeClockSkew(root *confjson.Object) time.Duration {
	o := root.FieldObject("oauth")
	if o == nil {
		return DefaultClockSkew
	}
	o.Known("clock_skew_seconds")
	return time.Duration(o.Int("clock_skew_seconds", int64(DefaultClockSkew/time.Second), 0, 365*86400)) * time.Second
}

// Config is an authorization API's compiled oauth_config.
type Config struct {
	Key      *PublicKey // nil when the key is missing or does not parse
	Location Location
}

// DecodeConfig reads the oauth_config of an authorization API (business_type oauth). A
// configuration that is well-formed but unusable comes with the first 481 answer that applies
// (no oauth_config, a forbidden token_location, no public key, a key that does not parse);
// else the code is reply.None. The Config is nil when oauth_config is absent or not an object.
func DecodeConfig(api *confjson.Object) (*Config, reply.Code) {
	v := api.Field("oauth_config")
	if !v.Present() {
		return nil, reply.OAuthNoConfig
	}
	o := v.Object()
	if o == nil {
		return nil, reply.None
	}
	o.Known("public_key", "token_location", "login_redirect_url")
	where := o.Str("token_location", headerLocation)
	var key string // a JWK object's JSON text or a PEM string
	if kv := o.Field("public_key"); kv.Present() {
		if s, ok := kv.Text(); ok {
			key = s
		} else if kv.IsObject() {
			key = kv.Raw()
		} else {
			kv.Fail("must be a JWK object or a PEM string, got %s", kv.Kind())
		}
	}
	o.Str("login_redirect_url", "")

	c, code := &Config{}, reply.None
	if loc, err := ParseLocation(where); err != nil {
		code = reply.OAuthLocationForbidden
	} else {
		c.Location = loc
	}
	var keyCode reply.Code
	if strings.TrimSpace(key) == "" {
		keyCode = reply.OAuthNoPublicKey
	} else if k, err := ParsePublicKey([]byte(key)); err != nil {
		keyCode = reply.OAuthPublicKeyError
	} else {
		c.Key = k
	}
	if code == reply.None {
		code = keyCode
	}
	return c, code
}

// IsConfigError reports whether c is one of the 481 answers of DecodeConfig, which a business
// API linked to the authorization API answers too.
func IsConfigError(c reply.Code) bool {
	switch c {
	case reply.OAuthPublicKeyError, reply.OAuthLocationForbidden, reply.OAuthNoConfig, reply.OAuthNoPublicKey:
		return true
	}
	return false
}
