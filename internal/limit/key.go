package limit

import (
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
)

// Keys are built once, at configuration time, from identities only: a limit's value is not
// part of its key, so a reload that changes a limit keeps the counter.
//
// A key is "apigw|<kind>|<id>|<id>..." while that is short and unambiguous; otherwise (long ids,
// or an id holding the separator) it is "apigw|<kind>#" and 22 characters of a SHA-256 of the
// length-prefixed ids. The two forms cannot meet: the readable one has '|' after the kind.
const (
	keyPrefix = "apigw|"
	maxKeyLen = 80

	// sentinelKey is rewritten to obtain a fresh cas; see freshCAS.
	sentinelKey = keyPrefix + "cas"
)

// ServiceKey is the key of a service environment's rate limit.
func ServiceKey(service, env string) string { return makeKey('s', service, env) }

// APIKey is the key of an API's rate limit. Each environment the API is published in has its
// own bucket, like Tencent's per API and environment strategy.
func APIKey(service, env, api string) string { return makeKey('a', service, env, api) }

// PlanKey is the key of a usage plan's rate limit for one secret.
func PlanKey(plan, secret string) string { return makeKey('p', plan, secret) }

// QuotaKey is the key of a usage plan's quota for one secret. The period is not part of it: the
// value carries its period, so the store does not grow a key per day (it never evicts).
func QuotaKey(plan, secret string) string { return makeKey('q', plan, secret) }

// UsageKey is the key of a usage plan's rate limit and quota for one secret, stored together
// as one value. It is the quota's key: a quota counted while it was stored alone carries over.
func UsageKey(plan, secret string) string { return QuotaKey(plan, secret) }

func makeKey(kind byte, ids ...string) string {
	n := len(keyPrefix) + 1
	readable := true
	for _, id := range ids {
		n += 1 + len(id)
		if strings.IndexByte(id, '|') >= 0 {
			readable = false
		}
	}
	var b strings.Builder
	b.WriteString(keyPrefix)
	b.WriteByte(kind)
	if readable && n <= maxKeyLen {
		for _, id := range ids {
			b.WriteByte('|')
			b.WriteString(id)
		}
		return b.String()
	}
	h := sha256.New()
	for _, id := range ids {
		h.Write(strconv.AppendInt(nil, int64(len(id)), 10))
		h.Write([]byte{':'})
		h.Write([]byte(id))
	}
	b.WriteByte('#')
	b.WriteString(base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:16]))
	return b.String()
}
