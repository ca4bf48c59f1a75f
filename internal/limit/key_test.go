package limit

import (
	"strings"
	"testing"
)

func TestKeys(t *testing.T) {
	long := strings.Repeat("x", 100)
	tests := []struct {
		name, got, want string
	}{
		{"service", ServiceKey("service-a1b2c3d4", "release"), "apigw|s|service-a1b2c3d4|release"},
		{"api", APIKey("service-a1b2c3d4", "test", "api-users"), "apigw|a|service-a1b2c3d4|test|api-users"},
		{"plan", PlanKey("usagePlan-basic", "AKIDexample"), "apigw|p|usagePlan-basic|AKIDexample"},
		{"quota", QuotaKey("usagePlan-basic", "AKIDexample"), "apigw|q|usagePlan-basic|AKIDexample"},
		// Hashed keys must stay the same from build to build: counters outlive upgrades.
		// Expected values computed independently (Python hashlib).
		{"long", QuotaKey(long, "s"), "apigw|q#5OdnLesg9i4ETZLTf0JgSQ"},
		{"separator", PlanKey("a|b", "c"), "apigw|p#8KocBV0Ma1fmioYfjE57xw"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: key %q, want %q", tt.name, tt.got, tt.want)
		}
		if len(tt.got) > maxKeyLen {
			t.Errorf("%s: key %q longer than %d", tt.name, tt.got, maxKeyLen)
		}
	}
}

func TestKeysDistinct(t *testing.T) {
	keys := []string{
		PlanKey("a|b", "c"), PlanKey("a", "b|c"), PlanKey("a", "b"), QuotaKey("a", "b"),
		ServiceKey("a", "b"), APIKey("a", "b", ""), APIKey("a", "", "b"),
		QuotaKey(strings.Repeat("y", 90), "1"), QuotaKey(strings.Repeat("y", 90), "2"),
		sentinelKey,
	}
	seen := map[string]int{}
	for i, k := range keys {
		if j, ok := seen[k]; ok {
			t.Errorf("keys %d and %d are both %q", j, i, k)
		}
		seen[k] = i
	}
}
