// Package envoyproc runs Envoy for the end-to-end tests, `make run` and `make bench`: it starts
// Envoy through func-e's Go library (which runs $ENVOY_PATH or a binary it resolves), waits
// until the admin API says LIVE, reads the addresses its port-0 listeners bound, and stops it.
// func-e writes the admin address to a file (--admin-address-path) that Start reads.
package envoyproc

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	func_e "github.com/tetratelabs/func-e"
	"github.com/tetratelabs/func-e/api"
)

// Options describe one Envoy process.
type Options struct {
	Config      string   // the bootstrap file (-c)
	Dir         string   // func-e's state and runtime folder and the admin address file; must exist
	Concurrency int      // worker threads; 0 leaves Envoy's default
	LogLevel    string   // --log-level; "" leaves Envoy's default
	Args        []string // further Envoy arguments
	EnvoyPath   string   // the binary; "" lets func-e resolve one (it may download)
	// Out receives Envoy's stdout and func-e's messages, Err Envoy's stderr; nil discards.
	Out, Err io.Writer
	// ReadyTimeout bounds the wait for /ready; default 2 minutes (V8 compiles the module first).
	ReadyTimeout time.Duration
}

// Process is a started Envoy.
type Process struct {
	AdminURL string        // http://host:port of the admin API, once ready
	ReadyIn  time.Duration // from the start to /ready answering LIVE

	cancel context.CancelFunc
	done   chan struct{}
	err    error // func-e's result, valid once done is closed
}

// Start starts Envoy and waits until it is ready. On an error other than a failed setup the
// Process is returned too: Envoy ran (it may have refused its configuration) and has stopped.
func Start(o Options) (*Process, error) {
	adminFile := filepath.Join(o.Dir, "admin-address.txt")
	os.Remove(adminFile) // a kept folder may hold the address of an earlier run
	args := []string{"-c", o.Config, "--disable-hot-restart", "--admin-address-path", adminFile}
	if o.Concurrency > 0 {
		args = append(args, "--concurrency", strconv.Itoa(o.Concurrency))
	}
	if o.LogLevel != "" {
		args = append(args, "--log-level", o.LogLevel)
	}
	args = append(args, o.Args...)
	out, errOut := o.Out, o.Err
	if out == nil {
		out = io.Discard
	}
	if errOut == nil {
		errOut = io.Discard
	}
	runOpts := []api.RunOption{
		api.StateHome(filepath.Join(o.Dir, "func-e")),
		api.RuntimeDir(filepath.Join(o.Dir, "func-e")),
		api.RunID("envoy"),
		api.Out(out), api.EnvoyOut(out), api.EnvoyErr(errOut),
	}
	if o.EnvoyPath != "" {
		runOpts = append(runOpts, api.EnvoyPath(o.EnvoyPath))
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Process{cancel: cancel, done: make(chan struct{})}
	start := time.Now()
	go func() {
		p.err = func_e.Run(ctx, args, runOpts...)
		close(p.done)
	}()
	timeout := o.ReadyTimeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	readyCtx, readyCancel := context.WithTimeout(context.Background(), timeout)
	defer readyCancel()
	adminURL, err := WaitReady(readyCtx, adminFile, p.done)
	if err != nil {
		p.Stop(30 * time.Second)
		if p.err != nil {
			err = fmt.Errorf("%v: %v", err, p.err)
		}
		return p, err
	}
	p.AdminURL, p.ReadyIn = adminURL, time.Since(start)
	return p, nil
}

// Done is closed when Envoy has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is func-e's result once Done is closed: nil when Envoy was stopped by Stop.
func (p *Process) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Stop stops Envoy (func-e kills it when its context ends) and waits up to timeout for it to
// exit; it reports whether it did. Calling it again is harmless.
func (p *Process) Stop(timeout time.Duration) bool {
	p.cancel()
	select {
	case <-p.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// Listeners maps each listener's name to the host:port it bound.
func (p *Process) Listeners() (map[string]string, error) { return Listeners(p.AdminURL) }
