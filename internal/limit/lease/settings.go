package lease

import (
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/confjson"
)

// Settings are the configuration's top-level "limits" section (docs/limits.md, Configuration).
type Settings struct {
	// Global counts every limit once for all the Envoys that share the store; false is the
	// local mode (docs/gateway.md section 7: each Envoy counts alone), and the other fields are unused.
	Global bool
	// Cluster is the Envoy cluster of the bridge (HTTP/1.1, POST /v1/limits).
	Cluster string
	// Timeout bounds every call to the bridge, and so every request that waits for it.
	Timeout time.Duration
	// OnStoreFailure decides what needs the store while it is failing.
	OnStoreFailure Mode
}

// Defaults of the limits section.
const (
	DefaultCluster   = "apigw_limitd"
	DefaultTimeoutMS = 100
	minTimeoutMS     = 10
	maxTimeoutMS     = 10000
)

// DefaultSettings are those of a configuration without a limits section: the local mode.
var DefaultSettings = Settings{Cluster: DefaultCluster, Timeout: DefaultTimeoutMS * time.Millisecond, OnStoreFailure: Local}

// DecodeSettings reads the top-level "limits" section of the configuration object o; absent or
// null, it is DefaultSettings. Problems are recorded in o's decoder.
func DecodeSettings(o *confjson.Object) Settings {
	s := DefaultSettings
	lo := o.FieldObject("limits")
	if lo == nil {
		return s
	}
	lo.Known("mode", "cluster", "timeout_ms", "on_store_failure")
	s.Global = lo.Enum("mode", "local", "local", "global") == "global"
	if lo.Has("cluster") {
		s.Cluster = lo.RequiredStr("cluster")
	}
	s.Timeout = time.Duration(lo.Int("timeout_ms", DefaultTimeoutMS, minTimeoutMS, maxTimeoutMS)) * time.Millisecond
	s.OnStoreFailure, _ = ParseMode(lo.Enum("on_store_failure", "local", "local", "deny"))
	return s
}

// Policy is DefaultPolicy with the section's timeout.
func (s Settings) Policy() Policy {
	p := DefaultPolicy
	p.Timeout = s.Timeout
	return p
}
