package config

import (
	"github.com/apigw-wasm/apigw-wasm/internal/confjson"
	"github.com/apigw-wasm/apigw-wasm/internal/limit"
	"github.com/apigw-wasm/apigw-wasm/internal/oauth"
)

// The document's cross-references, resolved once every service is read: business APIs to
// their authorization API, usage plans to secrets, service environments and APIs.

// linkOAuth resolves every business API's oauth_api within its service.
func (l *loader) linkOAuth() {
	for _, s := range l.cfg.Services {
		for _, a := range s.APIs {
			id := l.oauthAPI[a]
			if a.Auth != AuthOAuth || id == "" {
				continue
			}
			target := s.APIsByID[id]
			if target == nil || !target.OAuthBusiness {
				continue // answered 401 at request time
			}
			a.OAuthAPI = target
			if oauth.IsConfigError(target.ConfigError) {
				a.mark(target.ConfigError)
			}
		}
	}
}

func (l *loader) secret(v confjson.Value) {
	o := v.Object()
	if o == nil {
		return
	}
	o.Known("secret_id", "secret_key", "enabled")
	s := &Secret{ID: o.RequiredStr("secret_id"), Key: []byte(o.RequiredStr("secret_key")), Enabled: o.Bool("enabled", true)}
	if _, dup := l.cfg.Secrets[s.ID]; dup && s.ID != "" {
		v.FailAt(v.Path()+".secret_id", "duplicate secret id %q", s.ID)
		return
	}
	l.cfg.Secrets[s.ID] = s
}

func (l *loader) usagePlan(v confjson.Value, services map[string]*Service) *UsagePlan {
	o := v.Object()
	if o == nil {
		return nil
	}
	o.Known("id", "max_requests_per_second", "max_requests", "quota_period", "secrets", "environments", "apis")
	pl := &UsagePlan{ID: o.RequiredStr("id"), envs: map[*Service]uint8{}, apis: map[*API]uint8{}, keys: map[string]string{}}
	pl.limits = limit.DecodePlanLimits(o)
	sv := o.Field("secrets")
	for i, id := range o.Strings("secrets") {
		s := l.cfg.Secrets[id]
		if s == nil {
			sv.FailAt(confjson.Index(sv.Path(), i), "no secret with secret_id %q", id)
			continue
		}
		s.Plans = append(s.Plans, pl)
		pl.keys[id] = limit.UsageKey(pl.ID, id)
	}
	for _, it := range o.Array("environments") {
		bo := it.Object()
		if bo == nil {
			continue
		}
		bo.Known("service", "environment")
		if s, env, ok := serviceEnv(bo, services); ok {
			pl.envs[s] |= 1 << env
			for _, a := range s.APIs {
				a.HasPlan[env] = true
			}
		}
	}
	for _, it := range o.Array("apis") {
		bo := it.Object()
		if bo == nil {
			continue
		}
		bo.Known("service", "environment", "api")
		s, env, ok := serviceEnv(bo, services)
		id := bo.RequiredStr("api")
		if !ok || id == "" {
			continue
		}
		a := s.APIsByID[id]
		if a == nil {
			bo.Field("api").Fail("no api %q in service %q", id, s.ID)
			continue
		}
		pl.apis[a] |= 1 << env
		a.HasPlan[env] = true
	}
	return pl
}

func serviceEnv(bo *confjson.Object, services map[string]*Service) (*Service, Env, bool) {
	id := bo.RequiredStr("service")
	name := bo.RequiredStr("environment")
	s := services[id]
	if s == nil && id != "" {
		bo.Field("service").Fail("no service %q", id)
	}
	env, ok := ParseEnv(name)
	if !ok && name != "" {
		bo.Field("environment").Fail("unknown environment %q (want test, prepub or release)", name)
	}
	return s, env, s != nil && ok
}
