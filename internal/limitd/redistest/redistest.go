// Package redistest runs a real redis-server for tests: each test gets its own, on a free
// port, in its own temporary directory, with the append-only file on and synced at every
// write (the persistence docs/limits.md advises), so that a test can kill it and start it
// again on the same data. A machine without redis-server fails the test: the Makefile
// installs it (Debian's redis-server), and a skipped test would hide a missing proof.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is one redis-server process and its data directory.
type Server struct {
	Addr string // 127.0.0.1:port
	Dir  string

	t    testing.TB
	bin  string
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

// Start starts a redis-server for t and stops it when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		for _, p := range []string{"/usr/bin/redis-server", "/usr/local/bin/redis-server"} {
			if _, serr := os.Stat(p); serr == nil {
				bin, err = p, nil
				break
			}
		}
	}
	if err != nil {
		t.Fatalf("redis-server not found (make unit installs it: apt-get install -y redis-server): %v", err)
	}
	s := &Server{t: t, bin: bin, Dir: t.TempDir(), port: freePort(t)}
	s.Addr = "127.0.0.1:" + strconv.Itoa(s.port)
	s.Start()
	t.Cleanup(s.Kill)
	return s
}

// Start starts the server again on its port and data (after Kill or Stop).
func (s *Server) Start() {
	s.t.Helper()
	s.cmd = exec.Command(s.bin,
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.Dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "",
		"--daemonize", "no", "--protected-mode", "no",
		"--logfile", filepath.Join(s.Dir, "redis.log"))
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("starting redis-server: %v", err)
	}
	done := make(chan struct{})
	s.done = done
	go func(cmd *exec.Cmd) { cmd.Wait(); close(done) }(s.cmd)
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
			s.t.Fatalf("redis-server exited at start: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redis-server on %s not ready: %v", s.Addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill kills the server at once (SIGKILL): what it acknowledged is on disk, nothing else.
func (s *Server) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Signal sends sig to the server: SIGSTOP makes it hang (connections are accepted, nothing is
// answered) until SIGCONT.
func (s *Server) Signal(sig os.Signal) {
	s.t.Helper()
	if s.cmd == nil || s.cmd.Process == nil {
		s.t.Errorf("signal %v: %v is not running", sig, s)
		return
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Errorf("signal %v to %v: %v", sig, s, err)
	}
}

// Client returns a client of the server, closed when the test ends.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	s.t.Cleanup(func() { c.Close() })
	return c
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// String names the server in messages.
func (s *Server) String() string { return fmt.Sprintf("redis-server %s (%s)", s.Addr, s.Dir) }
