package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/apigw-wasm/apigw-wasm/testkit/envoyproc"
)

// envoy is one running Envoy of one configuration and concurrency.
type envoy struct {
	cfg         *benchConfig
	concurrency int
	dir         string
	configPath  string
	logPath     string
	adminURL    string
	listenAddr  string // host:port of the listener
	pid         int
	readyIn     time.Duration // from the func-e call to /ready answering LIVE

	proc *envoyproc.Process
	log  *envoyproc.LogFile
}

// startEnvoy renders c's bootstrap into dir and starts Envoy through func-e's library.
func startEnvoy(c *benchConfig, concurrency int, s settings, dir, upstream, wasm string) (*envoy, error) {
	host, portStr, err := net.SplitHostPort(upstream)
	if err != nil {
		return nil, err
	}
	port, _ := strconv.Atoi(portStr)
	e := &envoy{
		cfg: c, concurrency: concurrency, dir: dir,
		configPath: filepath.Join(dir, "envoy.json"),
		logPath:    filepath.Join(dir, "envoy.log"),
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	boot := bootstrap(c, wasm, s.apis, host, port)
	if c.global {
		addLimitdCluster(boot, s.limitd)
	}
	b, err := json.MarshalIndent(boot, "", " ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(e.configPath, b, 0o644); err != nil {
		return nil, err
	}
	f, err := os.Create(e.logPath)
	if err != nil {
		return nil, err
	}
	e.log = envoyproc.NewLogFile(f)
	e.proc, err = envoyproc.Start(envoyproc.Options{
		Config: e.configPath, Dir: dir, Concurrency: concurrency, LogLevel: "info",
		EnvoyPath: s.envoy, Out: e.log, Err: e.log, ReadyTimeout: 3 * time.Minute,
	})
	if err != nil {
		e.log.Close()
		return nil, fmt.Errorf("(%s) c%d: %v\n%s", c.id, concurrency, err, e.tail(30))
	}
	e.adminURL = e.proc.AdminURL
	e.readyIn = e.proc.ReadyIn
	if err := e.discover(); err != nil {
		e.stop()
		return nil, err
	}
	return e, nil
}

// discover finds the listener's port and the Envoy process (a child of this one, whose command
// line names this configuration).
func (e *envoy) discover() error {
	ls, err := e.proc.Listeners()
	if err != nil || len(ls) != 1 {
		return fmt.Errorf("admin /listeners: %v %v", ls, err)
	}
	for _, addr := range ls {
		e.listenAddr = addr
	}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := bytes.Split(cmd, []byte{0})
		if len(args) > 0 && filepath.Base(string(args[0])) == "envoy" && bytes.Contains(cmd, []byte(e.configPath+"\x00")) {
			e.pid = pid
			return nil
		}
	}
	return fmt.Errorf("(%s) c%d: no envoy process runs %s", e.cfg.id, e.concurrency, e.configPath)
}

func (e *envoy) admin(path string) (string, error) {
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(e.adminURL + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("admin %s: %s", path, resp.Status)
	}
	return string(b), nil
}

// served is the number of downstream requests Envoy has completed.
func (e *envoy) served() (int64, error) {
	body, err := e.admin("/stats?filter=^http\\.bench\\.downstream_rq_completed$")
	if err != nil {
		return 0, err
	}
	_, v, ok := strings.Cut(strings.TrimSpace(body), ": ")
	if !ok {
		return 0, fmt.Errorf("no downstream_rq_completed in %q", body)
	}
	return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
}

// rssKiB is the Envoy process's resident set, from /proc/<pid>/status.
func (e *envoy) rssKiB() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", e.pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, errors.New("no VmRSS")
}

// cpuTicks is the user+system CPU time of the Envoy process, in clock ticks (1/100 s).
func (e *envoy) cpuTicks() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", e.pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command (which may hold spaces) start after the last ')'.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", e.pid)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	k, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad /proc/%d/stat", e.pid)
	}
	return u + k, nil
}

// pin sets the CPU affinity of every thread of Envoy.
func (e *envoy) pin(cpus string) error {
	out, err := exec.Command("taskset", "-a", "-c", "-p", cpus, strconv.Itoa(e.pid)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("taskset: %v: %s", err, out)
	}
	return nil
}

var loadedRE = regexp.MustCompile(`configuration loaded: (\d+) service\(s\), (\d+) api\(s\) in (\S+)`)

// pluginLoads are the plugin's own configuration load times, one per VM (main thread and
// each worker), from its "configuration loaded" log lines.
func (e *envoy) pluginLoads() ([]time.Duration, int) {
	b, _ := os.ReadFile(e.logPath)
	var out []time.Duration
	apis := 0
	for _, m := range loadedRE.FindAllStringSubmatch(string(b), -1) {
		d, err := time.ParseDuration(m[3])
		if err != nil {
			continue
		}
		apis, _ = strconv.Atoi(m[2])
		out = append(out, d)
	}
	return out, apis
}

// tail is the end of Envoy's log, for error messages.
func (e *envoy) tail(n int) string {
	b, _ := os.ReadFile(e.logPath)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (e *envoy) stop() {
	if e.proc == nil {
		return
	}
	if !e.proc.Stop(30 * time.Second) {
		logf("envoy of %s did not exit", e.dir)
	}
	e.proc = nil
	if e.log != nil {
		e.log.Close()
	}
}
