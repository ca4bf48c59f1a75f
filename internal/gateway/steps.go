package gateway

import (
	"github.com/apigw-wasm/apigw-wasm/internal/config"
	"github.com/apigw-wasm/apigw-wasm/internal/cors"
	"github.com/apigw-wasm/apigw-wasm/internal/limit"
	"github.com/apigw-wasm/apigw-wasm/internal/limit/lease"
	"github.com/apigw-wasm/apigw-wasm/internal/oauth"
	"github.com/apigw-wasm/apigw-wasm/internal/reply"
)

// stepClientIP is step 7: the service's, then the API's ip_allow / ip_deny.
func stepClientIP(st *state) *Reply {
	if len(st.d.API.IPChain) == 0 {
		return nil
	}
	if e := st.d.API.IPChain.Check(st.r.Source); e != nil {
		return st.failWith(e)
	}
	return nil
}

// stepCORS is step 8: a cross-origin request needs an API with CORS; a preflight is answered
// here, other requests get the CORS headers on their response, whoever gives it.
func stepCORS(st *state) *Reply {
	origin, ok := st.r.Headers.Get("origin")
	if !ok {
		return nil
	}
	scheme := "http"
	if st.r.TLS {
		scheme = "https"
	}
	if !cors.IsCrossOrigin(origin, scheme, st.r.Authority) {
		return nil
	}
	pol := st.d.API.CORS
	if pol == nil {
		return st.failWith(cors.Refuse(st.rest))
	}
	acrm, _ := st.r.Headers.Get("access-control-request-method")
	if cors.IsPreflight(st.r.Method, origin, acrm) {
		acrh, _ := st.r.Headers.Get("access-control-request-headers")
		h := [][2]string{{reply.RequestIDHeader, st.r.RequestID}}
		for _, kv := range pol.Preflight(nil, origin, acrh) {
			h = append(h, [2]string{kv.Name, kv.Value})
		}
		return &Reply{Status: 204, Headers: h}
	}
	for _, kv := range pol.Actual(nil, origin) {
		st.extra = append(st.extra, [2]string{kv.Name, kv.Value})
	}
	return nil
}

// stepAuth is step 9.
func stepAuth(st *state) *Reply {
	switch st.d.API.Auth {
	case config.AuthSecret:
		return st.secretAuth()
	case config.AuthOAuth:
		return st.oauth()
	}
	return nil
}

// hmacRequest is what the HMAC verifier reads of the request. Its path is the one the client
// sent, not the normalized one: the client signed what it sent (docs/gateway.md section 5).
type hmacRequest struct{ r *Request }

func (h hmacRequest) Values(name string) []string { return h.r.Headers.Values(name) }
func (h hmacRequest) Method() string              { return h.r.Method }
func (h hmacRequest) Path() string                { return h.r.Path }

// secretAuth is docs/gateway.md section 5: plan binding, the signature, then the secret's plans.
func (st *state) secretAuth() *Reply {
	api, env := st.d.API, st.env.Env
	if !api.HasPlan[env] {
		return st.fail(reply.NoUsagePlan, "")
	}
	id, e := st.g.verifier.Verify(hmacRequest{st.r}, st.now())
	if e != nil {
		return st.failWith(e)
	}
	secret := st.g.cfg.Secrets[id]
	apiScoped := false
	for _, p := range secret.Plans {
		if p.Covers(api, env) {
			st.plan, st.secretID = p, id
			return nil
		}
		apiScoped = apiScoped || p.BindsAPIsIn(api.Service, env)
	}
	if apiScoped {
		return st.fail(reply.HMACApiKeyInvalidForAPI, "")
	}
	return st.fail(reply.HMACCannotVerify, "")
}

// limits are the limits that apply to the request as far as it is known.
func (st *state) limits() limit.Limits {
	l := limit.Limits{Service: st.env.Rate, API: st.d.API.Rates[st.env.Env]}
	if st.plan != nil {
		l.Plan, l.Quota = st.plan.Limits(st.secretID)
	}
	return l
}

// stepLimits is step 10: rates and quota are taken together, or not at all. In the global mode
// the leases decide, or the request waits for the store.
func stepLimits(st *state) *Reply {
	l := st.limits()
	if !l.Apply() {
		return nil
	}
	if st.g.Leases != nil {
		return st.limitsResult(st.g.Leases.Take(&l, st.now()))
	}
	out, e := limit.Take(st.g.store, &l, st.now())
	st.outcome, st.limited = out, true
	if e != nil {
		return st.failWith(e)
	}
	return nil
}

// limitsResult is step 10's answer for a result of the leases: wait for the store, refuse, or
// pass. A request that on_store_failure "deny" refuses gets 500 Internal Server Error
// (docs/limits.md, Failures).
func (st *state) limitsResult(r lease.Result) *Reply {
	st.d.LimitsSync = st.d.LimitsSync || r.Sync
	if r.Wait != nil {
		st.d.LimitsWait = r.Wait
		return waitLimits
	}
	st.outcome, st.limited = r.Outcome, true
	switch {
	case r.Deny:
		st.d.LimitsDenied = true
		rep := st.fail(reply.LimitStoreUnavailable, "")
		rep.Details = limitStoreDetails
		return rep
	case r.Err != nil:
		return st.failWith(r.Err)
	}
	return nil
}

// limitStoreDetails are the response code details of a request on_store_failure "deny"
// refused, for Envoy's access log (%RESPONSE_CODE_DETAILS%).
const limitStoreDetails = "apigw_limit_store_unavailable"

// paramRequest is what parameter checks read of the request.
type paramRequest struct{ st *state }

func (p paramRequest) PathVar(name string) (string, bool) { return p.st.vars.Get(name) }
func (p paramRequest) Header(name string) (string, bool)  { return p.st.r.Headers.Get(name) }
func (p paramRequest) Query() string                      { return p.st.q }
func (p paramRequest) Body() []byte                       { return p.st.r.Body }

// stepParams is step 11. A WEBSOCKET API checks its two handshake headers on every request,
// upgrade or not.
func stepParams(st *state) *Reply {
	if st.d.API.Protocol == config.APIProtoWebSocket {
		if _, ok := st.r.Headers.Get("sec-websocket-key"); !ok {
			return st.fail(reply.NeedWebSocketKey, "")
		}
		if _, ok := st.r.Headers.Get("sec-websocket-version"); !ok {
			return st.fail(reply.NeedWebSocketVersion, "")
		}
	}
	set := st.d.API.Params
	if set == nil {
		return nil
	}
	if set.NeedsBody() && !st.bodyRead {
		return needBody
	}
	defaults, e := set.Check(paramRequest{st})
	if e != nil {
		return st.failWith(e)
	}
	st.defaults = defaults
	if set.NeedsBody() {
		if form := defaults.Form(st.r.Body); len(form) != len(st.r.Body) {
			st.d.Body = form
		}
	}
	return nil
}

// oauth is docs/gateway.md section 6: the token of the linked authorization API's location,
// verified with its key.
func (st *state) oauth() *Reply {
	auth := st.d.API.OAuthAPI
	if auth == nil || auth.OAuthConfig == nil || auth.OAuthConfig.Key == nil {
		return st.fail(reply.OAuthNoRelatedAPI, "")
	}
	oc := auth.OAuthConfig
	// Extract wants every Cookie header of the request as one: an HTTP/1.1 client may split
	// its cookies over several (Envoy joins only HTTP/2's cookie crumbs itself).
	get := func(name string) (string, bool) {
		if name != "cookie" {
			return st.r.Headers.Get(name)
		}
		vs := st.r.Headers.Values(name)
		if len(vs) == 0 {
			return "", false
		}
		joined := vs[0]
		for _, v := range vs[1:] {
			joined += "; " + v
		}
		return joined, true
	}
	token, e := oauth.Extract(oc.Location, get)
	if e != nil {
		return st.failWith(e)
	}
	if err := oc.Key.Verify(token, st.now(), st.g.cfg.OAuthClockSkew); err != nil {
		return st.fail(reply.OAuthIDTokenVerifyError, "")
	}
	return nil
}
