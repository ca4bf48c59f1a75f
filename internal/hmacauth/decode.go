package hmacauth

import (
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/confjson"
)

// DecodeClockSkew reads the document's hmac section: clock_skew_seconds, from 1 second to a
// year; DefaultClockSkew when absent.
func DecodeClockSkew(root *confjson.Object) time.Duration {
	h := root.FieldObject("hmac")
	if h == nil {
		return DefaultClockSkew
	}
	h.Known("clock_skew_seconds")
	return time.Duration(h.Int("clock_skew_seconds", int64(DefaultClockSkew/time.Second), 1, 365*86400)) * time.Second
}
