package tests

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
	networking "istio.io/api/networking/v1alpha3"
)

// The Kubernetes objects of envoy-examples/istio/limitd.yaml and redis.yaml, as far as they use
// them, with the field names and nesting of k8s.io/api, decoded strictly: a field these types
// lack is refused, so a misspelt or misplaced field fails here as the API server would refuse
// it. k8s.io/api itself is not imported: with k8s.io/apimachinery it brings 17 modules and 64 MB
// of source into go.mod for two types, and raises x/net and x/text for the whole module.
type (
	k8sMeta struct {
		Name      string            `yaml:"name"`
		Namespace string            `yaml:"namespace"`
		Labels    map[string]string `yaml:"labels"`
	}
	k8sObject struct {
		APIVersion string         `yaml:"apiVersion"`
		Kind       string         `yaml:"kind"`
		Metadata   k8sMeta        `yaml:"metadata"`
		Spec       map[string]any `yaml:"spec"`
	}
	// workloadSpec is a Deployment's or a StatefulSet's spec.
	workloadSpec struct {
		Replicas    int                `yaml:"replicas"`
		ServiceName string             `yaml:"serviceName"` // StatefulSet
		Selector    k8sLabelSelector   `yaml:"selector"`
		Template    k8sPodTemplate     `yaml:"template"`
		Claims      []k8sClaimTemplate `yaml:"volumeClaimTemplates"` // StatefulSet
	}
	k8sLabelSelector struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	}
	k8sPodTemplate struct {
		Metadata k8sMeta `yaml:"metadata"`
		Spec     struct {
			TerminationGracePeriodSeconds int            `yaml:"terminationGracePeriodSeconds"`
			Containers                    []k8sContainer `yaml:"containers"`
		} `yaml:"spec"`
	}
	k8sContainer struct {
		Name  string   `yaml:"name"`
		Image string   `yaml:"image"`
		Args  []string `yaml:"args"`
		Env   []struct {
			Name      string `yaml:"name"`
			Value     string `yaml:"value"`
			ValueFrom struct {
				SecretKeyRef struct {
					Name string `yaml:"name"`
					Key  string `yaml:"key"`
				} `yaml:"secretKeyRef"`
			} `yaml:"valueFrom"`
		} `yaml:"env"`
		Ports []struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
		} `yaml:"ports"`
		ReadinessProbe *k8sProbe `yaml:"readinessProbe"`
		LivenessProbe  *k8sProbe `yaml:"livenessProbe"`
		Resources      struct {
			Requests map[string]string `yaml:"requests"`
			Limits   map[string]string `yaml:"limits"`
		} `yaml:"resources"`
		SecurityContext *struct {
			RunAsNonRoot             bool `yaml:"runAsNonRoot"`
			AllowPrivilegeEscalation bool `yaml:"allowPrivilegeEscalation"`
			ReadOnlyRootFilesystem   bool `yaml:"readOnlyRootFilesystem"`
			Capabilities             struct {
				Drop []string `yaml:"drop"`
			} `yaml:"capabilities"`
		} `yaml:"securityContext"`
		VolumeMounts []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
		} `yaml:"volumeMounts"`
	}
	k8sProbe struct {
		HTTPGet *struct {
			Path string `yaml:"path"`
			Port string `yaml:"port"`
		} `yaml:"httpGet"`
		TCPSocket *struct {
			Port string `yaml:"port"`
		} `yaml:"tcpSocket"`
		PeriodSeconds    int `yaml:"periodSeconds"`
		FailureThreshold int `yaml:"failureThreshold"`
	}
	k8sClaimTemplate struct {
		Metadata k8sMeta `yaml:"metadata"`
		Spec     struct {
			AccessModes []string `yaml:"accessModes"`
			Resources   struct {
				Requests map[string]string `yaml:"requests"`
			} `yaml:"resources"`
		} `yaml:"spec"`
	}
	serviceSpec struct {
		Selector map[string]string `yaml:"selector"`
		Ports    []struct {
			Name        string `yaml:"name"`
			Port        int    `yaml:"port"`
			TargetPort  string `yaml:"targetPort"`
			AppProtocol string `yaml:"appProtocol"`
		} `yaml:"ports"`
	}
)

// decodeStrict decodes a spec into one of the types above, refusing unknown fields.
func decodeStrict(spec map[string]any, into any) error {
	b, err := yaml.Marshal(spec)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(into); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// limitdExample is what envoy-examples/istio/limitd.yaml and redis.yaml hold, decoded.
type limitdExample struct {
	bridge, redis               workloadSpec
	bridgeMeta, redisMeta       k8sMeta
	bridgeSvc, redisSvc         serviceSpec
	bridgeSvcMeta, redisSvcMeta k8sMeta
	rule                        *networking.DestinationRule
}

func readLimitdExample(t *testing.T) *limitdExample {
	t.Helper()
	ex := &limitdExample{}
	var objects []resource
	for _, f := range []string{"limitd.yaml", "redis.yaml"} {
		objects = append(objects, readResources(t, f)...)
	}
	seen := map[string]bool{}
	for _, r := range objects {
		var o k8sObject
		b, _ := yaml.Marshal(r.raw)
		if err := yaml.Unmarshal(b, &o); err != nil {
			t.Fatal(err)
		}
		var err error
		key := o.APIVersion + " " + o.Kind + " " + o.Metadata.Name
		switch key {
		case "apps/v1 Deployment apigw-limitd":
			ex.bridgeMeta, err = o.Metadata, decodeStrict(o.Spec, &ex.bridge)
		case "apps/v1 StatefulSet apigw-redis":
			ex.redisMeta, err = o.Metadata, decodeStrict(o.Spec, &ex.redis)
		case "v1 Service apigw-limitd":
			ex.bridgeSvcMeta, err = o.Metadata, decodeStrict(o.Spec, &ex.bridgeSvc)
		case "v1 Service apigw-redis":
			ex.redisSvcMeta, err = o.Metadata, decodeStrict(o.Spec, &ex.redisSvc)
		case "networking.istio.io/v1 DestinationRule apigw-limitd":
			ex.rule = &networking.DestinationRule{}
			err = decodeSpec(o.Spec, ex.rule)
		default:
			t.Fatalf("unexpected object %s", key)
		}
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		seen[key] = true
	}
	if len(seen) != 5 {
		t.Fatalf("want a Deployment, a StatefulSet, two Services and a DestinationRule, got %v", seen)
	}
	return ex
}

// portOf is the container port the name (or number) refers to; 0 when none.
func portOf(c k8sContainer, ref string) int {
	for _, p := range c.Ports {
		if p.Name == ref || strconv.Itoa(p.ContainerPort) == ref {
			return p.ContainerPort
		}
	}
	return 0
}

// argAfter is the value following flag in args; "" when absent.
func argAfter(args []string, flag string) string {
	if i := slices.Index(args, flag); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

// envSecret reports the Secret and key of the variable $(name) in c's environment.
func envSecret(c k8sContainer, ref string) (secret, key string) {
	name := strings.TrimSuffix(strings.TrimPrefix(ref, "$("), ")")
	for _, e := range c.Env {
		if e.Name == name && name != ref {
			return e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key
		}
	}
	return "", ""
}

// TestIstioLimitd checks the bridge's and Redis's objects against each other, against
// docs/limits.md's advice, and against the WasmPlugin whose limits.cluster must be the cluster
// istiod makes for the bridge's Service.
func TestIstioLimitd(t *testing.T) {
	ex := readLimitdExample(t)
	_, wp := wasmPluginResource(t)
	var plugin struct {
		Limits struct {
			Mode      string `json:"mode"`
			Cluster   string `json:"cluster"`
			TimeoutMS int    `json:"timeout_ms"`
		} `json:"limits"`
	}
	if err := json.Unmarshal([]byte(istioPluginConfig(t, wp)), &plugin); err != nil {
		t.Fatal(err)
	}

	bridge := ex.bridge.Template.Spec.Containers[0]
	redis := ex.redis.Template.Spec.Containers[0]
	svcPort := ex.bridgeSvc.Ports[0]
	cluster := fmt.Sprintf("outbound|%d||%s.%s.svc.cluster.local", svcPort.Port, ex.bridgeSvcMeta.Name, ex.bridgeSvcMeta.Namespace)
	listen := argAfter(bridge.Args, "-listen")
	timeout, _ := time.ParseDuration(argAfter(bridge.Args, "-timeout"))
	redisSecret, redisKey := envSecret(bridge, argAfter(bridge.Args, "-redis"))
	passSecret, _ := envSecret(redis, argAfter(redis.Args, "--requirepass"))
	redisSvcPort := ex.redisSvc.Ports[0]
	rp := ex.redis.Template.Spec.Containers[0]
	od := ex.rule.GetTrafficPolicy().GetOutlierDetection()
	checks := []struct {
		what string
		ok   bool
	}{
		{"the WasmPlugin's limits: global mode", plugin.Limits.Mode == "global"},
		{fmt.Sprintf("the WasmPlugin's limits.cluster is %q (istiod's name for the Service)", cluster), plugin.Limits.Cluster == cluster},
		{"one namespace for the bridge, its Service, the rule, Redis", ex.bridgeMeta.Namespace != "" &&
			ex.bridgeSvcMeta.Namespace == ex.bridgeMeta.Namespace && ex.redisMeta.Namespace == ex.bridgeMeta.Namespace &&
			ex.redisSvcMeta.Namespace == ex.bridgeMeta.Namespace},
		{"at least two bridges (one may be lost)", ex.bridge.Replicas >= 2},
		{"the Deployment's selector picks its pods", mapsSubset(ex.bridge.Selector.MatchLabels, ex.bridge.Template.Metadata.Labels)},
		{"the Service picks the bridges", len(ex.bridgeSvc.Selector) > 0 && mapsSubset(ex.bridgeSvc.Selector, ex.bridge.Template.Metadata.Labels)},
		{"the Service's port reaches the port the bridge listens on", portOf(bridge, svcPort.TargetPort) != 0 &&
			":"+strconv.Itoa(portOf(bridge, svcPort.TargetPort)) == listen},
		{"the Service speaks HTTP (name and appProtocol)", svcPort.AppProtocol == "http" && strings.HasPrefix(svcPort.Name, "http")},
		{"readiness is /healthz (Redis answers PING)", bridge.ReadinessProbe != nil && bridge.ReadinessProbe.HTTPGet != nil &&
			bridge.ReadinessProbe.HTTPGet.Path == "/healthz" && portOf(bridge, bridge.ReadinessProbe.HTTPGet.Port) != 0},
		{"liveness does not depend on Redis", bridge.LivenessProbe != nil && bridge.LivenessProbe.HTTPGet == nil && bridge.LivenessProbe.TCPSocket != nil},
		{"the bridge's -timeout is at most timeout_ms", timeout > 0 && timeout <= time.Duration(plugin.Limits.TimeoutMS)*time.Millisecond},
		{"the Redis url comes from a Secret", redisSecret != "" && redisKey != ""},
		{"the bridge runs as non-root", bridge.SecurityContext != nil && bridge.SecurityContext.RunAsNonRoot},
		{"the rule is for the bridge's Service", ex.rule.GetHost() == strings.SplitN(cluster, "||", 2)[1]},
		{"the rule keeps HTTP/1.1", ex.rule.GetTrafficPolicy().GetConnectionPool().GetHttp().GetH2UpgradePolicy() ==
			networking.ConnectionPoolSettings_HTTPSettings_DO_NOT_UPGRADE},
		{"the rule ejects after local-origin failures, not 5xx", od.GetSplitExternalLocalOriginErrors() &&
			od.GetConsecutiveLocalOriginFailures().GetValue() > 0 && od.GetConsecutive_5XxErrors() != nil && od.GetConsecutive_5XxErrors().GetValue() == 0},
		{"Redis: appendonly yes, appendfsync always, noeviction (docs/limits.md)", argAfter(redis.Args, "--appendonly") == "yes" &&
			argAfter(redis.Args, "--appendfsync") == "always" && argAfter(redis.Args, "--maxmemory-policy") == "noeviction"},
		{"Redis's data on a volume claim", len(ex.redis.Claims) == 1 && len(rp.VolumeMounts) == 1 &&
			rp.VolumeMounts[0].Name == ex.redis.Claims[0].Metadata.Name && rp.VolumeMounts[0].MountPath == argAfter(redis.Args, "--dir")},
		{"Redis's Service picks it and reaches its port", mapsSubset(ex.redisSvc.Selector, ex.redis.Template.Metadata.Labels) &&
			portOf(redis, redisSvcPort.TargetPort) == 6379 && ex.redis.ServiceName == ex.redisSvcMeta.Name},
		{"Redis's password and the bridge's url share one Secret", passSecret != "" && passSecret == redisSecret},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("want: %s", c.what)
		}
	}
	// The url redis.yaml's comment creates names redis.yaml's Service.
	b, _ := os.ReadFile(filepath.Join(istioDir, "redis.yaml"))
	want := fmt.Sprintf("%s.%s.svc.cluster.local:%d", ex.redisSvcMeta.Name, ex.redisSvcMeta.Namespace, redisSvcPort.Port)
	found := false
	for _, line := range strings.Split(string(b), "\n") {
		if _, rest, ok := strings.Cut(line, "url=redis://"); ok {
			u, err := url.Parse("redis://" + strings.Fields(rest)[0])
			found = err == nil && u.Host == want
		}
	}
	if !found {
		t.Errorf("redis.yaml: the Secret's url in its comment does not name %s", want)
	}
}

// TestIstioLimitdStrict shows that the decoding above refuses what the API server would.
func TestIstioLimitdStrict(t *testing.T) {
	var spec workloadSpec
	for _, bad := range []string{
		"replicas: 2\ntemplate: {spec: {containers: [{name: x, readinesProbe: {}}]}}",   // misspelt
		"replicas: 2\ntemplate: {spec: {containers: [{name: x, ports: [{port: 80}]}]}}", // a Service's field in a container
		"replica: 2",
	} {
		var m map[string]any
		yaml.Unmarshal([]byte(bad), &m)
		if err := decodeStrict(m, &spec); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func mapsSubset(sub, of map[string]string) bool {
	for k, v := range sub {
		if of[k] != v {
			return false
		}
	}
	return len(sub) > 0
}
