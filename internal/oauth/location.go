package oauth

import (
	"errors"
	"strings"

	"github.com/apigw-wasm/apigw-wasm/internal/ascii"
	"github.com/apigw-wasm/apigw-wasm/internal/reply"
)

// Location is where a request carries its token: an oauth_config's token_location.
type Location uint8

// The token locations, as Tencent names them.
const (
	LocationHeader Location = iota + 1 // Authorization: Bearer ...
	LocationCookie                     // Cookie: id_token=...
)

const (
	headerLocation = "method.req.header.authorization"
	cookieLocation = "method.req.header.cookie"
)

// ParseLocation reads a token_location. ASCII case is ignored, as the value names an HTTP
// header; nothing else is forgiven: no spaces, no other header. The caller answers an error
// with reply.OAuthLocationForbidden.
func ParseLocation(s string) (Location, error) {
	switch {
	case ascii.EqualFold(s, headerLocation):
		return LocationHeader, nil
	case ascii.EqualFold(s, cookieLocation):
		return LocationCookie, nil
	}
	return 0, errors.New("oauth: token_location must be " + headerLocation + " or " + cookieLocation)
}

// String is the location's configuration value.
func (l Location) String() string {
	switch l {
	case LocationHeader:
		return headerLocation
	case LocationCookie:
		return cookieLocation
	}
	return "invalid location"
}

// Extract takes the token from where loc says. get returns a request header by lower-case
// name: "authorization", or "cookie" with every Cookie header of the request joined by "; ".
// It returns the token, unverified, or the 401 answer for a missing or misshapen one. Only the
// located header is read, so with the header location a cookie never takes part. Any loc
// but LocationCookie reads the Authorization header.
func Extract(loc Location, get func(name string) (string, bool)) (string, *reply.Error) {
	if loc == LocationCookie {
		v, _ := get("cookie")
		if tok := cookieValue(v, "id_token"); tok != "" {
			return tok, nil
		}
		return "", reply.New(reply.OAuthMissIDToken, "")
	}
	v, ok := get("authorization")
	if !ok {
		return "", reply.New(reply.OAuthNoAuthHeader, "")
	}
	v = strings.Trim(v, ows)
	if v == "" {
		return "", reply.New(reply.OAuthAuthHeaderRequired, "")
	}
	scheme, rest := v, ""
	if i := strings.IndexAny(v, ows); i >= 0 {
		scheme, rest = v[:i], strings.Trim(v[i:], ows)
	}
	if !ascii.EqualFold(scheme, "bearer") { // auth schemes are case-insensitive (RFC 9110 §11.1)
		return "", reply.New(reply.OAuthHeaderFormatError, "")
	}
	tok, ok := bearerToken(rest)
	if !ok {
		return "", reply.New(reply.OAuthHeaderFormatError, "")
	}
	if tok == "" {
		return "", reply.New(reply.OAuthNoIDToken, "")
	}
	return tok, nil
}

// bearerToken reads what follows "Bearer ": Tencent's id_token="<jwt>" (the parameter name
// in any case, quotes optional; other parameters may follow a comma), or a bare token. A bare
// value is returned whole: if it is not a JWT, verification says so.
func bearerToken(s string) (string, bool) {
	const param = "id_token"
	if len(s) < len(param) || !ascii.EqualFold(s[:len(param)], param) {
		return s, true
	}
	rest := strings.Trim(s[len(param):], ows)
	if rest == "" || rest[0] != '=' {
		return s, true // a token that merely starts with "id_token"
	}
	rest = strings.Trim(rest[1:], ows)
	var tok string
	if rest != "" && rest[0] == '"' {
		end := 1
		for end < len(rest) && rest[end] != '"' {
			end++
		}
		if end == len(rest) {
			return "", false // unterminated quoted string
		}
		tok, rest = rest[1:end], rest[end+1:]
	} else {
		end := 0
		for end < len(rest) && rest[end] != ',' && rest[end] != ' ' && rest[end] != '\t' {
			end++
		}
		tok, rest = rest[:end], rest[end:]
	}
	if rest = strings.Trim(rest, ows); rest != "" && rest[0] != ',' {
		return "", false
	}
	return tok, true
}

// cookieValue returns the first non-empty value of the named cookie in a Cookie header
// (RFC 6265 §5.4: "name=value" pairs separated by ";"), without its optional quotes.
// Cookie names are case-sensitive.
func cookieValue(header, name string) string {
	for header != "" {
		var pair string
		if i := strings.IndexByte(header, ';'); i >= 0 {
			pair, header = header[:i], header[i+1:]
		} else {
			pair, header = header, ""
		}
		pair = strings.Trim(pair, ows)
		if len(pair) <= len(name) || pair[len(name)] != '=' || pair[:len(name)] != name {
			continue
		}
		v := strings.Trim(pair[len(name)+1:], ows)
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		if v != "" {
			return v
		}
	}
	return ""
}

// ows is optional whitespace (RFC 9110 §5.6.3).
const ows = " \t"
