package envoyproc

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

var client = &http.Client{Timeout: time.Second}

// WaitReady polls until the admin address appears in adminFile and /ready says LIVE, and
// returns the admin URL (http://host:port). It gives up when ctx ends or exited is closed.
func WaitReady(ctx context.Context, adminFile string, exited <-chan struct{}) (string, error) {
	adminURL := ""
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if adminURL == "" {
			if b, err := os.ReadFile(adminFile); err == nil && len(b) > 0 {
				adminURL = "http://" + strings.TrimSpace(string(b))
			}
		}
		if adminURL != "" {
			if body, code, err := get(adminURL + "/ready"); err == nil && code == http.StatusOK && strings.TrimSpace(body) == "LIVE" {
				return adminURL, nil
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("envoy not ready: %w", ctx.Err())
		case <-exited:
			return "", fmt.Errorf("envoy exited before it was ready")
		case <-tick.C:
		}
	}
}

// Listeners maps each listener's name to the host:port it bound.
func Listeners(adminURL string) (map[string]string, error) {
	body, code, err := get(adminURL + "/listeners?format=json")
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("admin /listeners: status %d", code)
	}
	var ls struct {
		ListenerStatuses []struct {
			Name         string `json:"name"`
			LocalAddress struct {
				SocketAddress struct {
					Address   string `json:"address"`
					PortValue int    `json:"port_value"`
				} `json:"socket_address"`
			} `json:"local_address"`
		} `json:"listener_statuses"`
	}
	if err := json.Unmarshal([]byte(body), &ls); err != nil {
		return nil, fmt.Errorf("admin /listeners: %v: %s", err, body)
	}
	out := make(map[string]string, len(ls.ListenerStatuses))
	for _, l := range ls.ListenerStatuses {
		a := l.LocalAddress.SocketAddress
		if a.Address != "" {
			out[l.Name] = net.JoinHostPort(a.Address, strconv.Itoa(a.PortValue))
		}
	}
	return out, nil
}

func get(url string) (string, int, error) {
	resp, err := client.Get(url)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode, err
}

// LogFile is a file that func-e's goroutines (Envoy's stdout and stderr, func-e's messages)
// may write to at once.
type LogFile struct {
	mu sync.Mutex
	f  *os.File
}

// NewLogFile wraps f.
func NewLogFile(f *os.File) *LogFile { return &LogFile{f: f} }

func (l *LogFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Write(p)
}

// Close closes the file.
func (l *LogFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}
