// Package oauth implements the gateway's OAuth 2.0 id_token check (docs/gateway.md section 6): at
// configuration time DecodeConfig compiles an authorization API's oauth_config, its public
// key (JWK or PEM) and its token location, naming the 481 row of an unusable one; per request
// it takes the token from the Authorization header or the id_token cookie and verifies the
// compact JWS (RS*, PS*, ES*; never none or HS*) and its exp and nbf claims, with the clock
// skew of the document's oauth section. It uses the standard library only and never imports
// the host SDK; the caller answers a Verify error with reply.OAuthIDTokenVerifyError.
package oauth
