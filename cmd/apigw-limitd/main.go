// Command apigw-limitd is the stateless bridge between the gateway module in Envoy and Redis
// for the cluster-wide limits (docs/limits.md). Envoy reaches it as an HTTP/1.1 cluster
// (proxy_http_call); it turns each request of the lease protocol into one atomic Redis script
// and keeps nothing itself, so any number of copies can serve and killing one loses nothing.
//
// Usage:
//
//	apigw-limitd [-listen :8090] [-redis 127.0.0.1:6379 | -redis redis://:password@host:6379/0]
//	             [-redis-cluster host1:6379,host2:6379] [-prefix {apigw}] [-timeout 100ms] ...
//
// GET /healthz answers 200 while Redis answers PING. SIGTERM or SIGINT stops accepting
// connections, lets requests in progress finish (up to -grace), then exits.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/logging"

	"github.com/apigw-wasm/apigw-wasm/internal/limitd"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr, nil))
}

// options are the command line.
type options struct {
	listen, redisAddr, cluster, prefix string
	timeout, dialTimeout, grace        time.Duration
	retention, recheck, exhausted      time.Duration
	divisor                            int
}

func parse(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("apigw-limitd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listen, "listen", ":8090", "address to serve HTTP on")
	fs.StringVar(&o.redisAddr, "redis", "127.0.0.1:6379", "Redis `host:port`, or a redis:// or rediss:// URL (password, database, TLS)")
	fs.StringVar(&o.cluster, "redis-cluster", "", "comma-separated seed `addresses` of a Redis Cluster (instead of -redis)")
	fs.StringVar(&o.prefix, "prefix", limitd.DefaultPrefix, "prefix of every Redis key; keep a {hash tag} in it for Redis Cluster")
	fs.DurationVar(&o.timeout, "timeout", limitd.DefaultTimeout, "bound of one request's work in Redis; keep it at or below the module's timeout_ms")
	fs.DurationVar(&o.dialTimeout, "dial-timeout", time.Second, "bound of a connection attempt to Redis")
	fs.DurationVar(&o.grace, "grace", 5*time.Second, "how long requests in progress may finish after SIGTERM")
	fs.DurationVar(&o.retention, "retention", limitd.DefaultRetention, "how long an Envoy instance's record outlives its last report")
	fs.DurationVar(&o.recheck, "recheck", limitd.DefaultRecheck, "how long an Envoy answers an exhausted quota alone while others hold reservations")
	fs.DurationVar(&o.exhausted, "exhausted", limitd.DefaultExhausted, "the same when nobody holds any (capped at the period's end)")
	fs.IntVar(&o.divisor, "divisor", limitd.DefaultDivisor, "a grant is at most 1/divisor of what is free")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.divisor < 1 {
		return nil, errors.New("-divisor must be at least 1")
	}
	if !strings.Contains(o.prefix, "{") || !strings.Contains(o.prefix, "}") {
		fmt.Fprintln(stderr, "apigw-limitd: warning: -prefix has no {hash tag}: the script's keys may span Redis Cluster slots")
	}
	return o, nil
}

// client builds the Redis client the options name. The address is never logged: a URL may
// hold a password.
func (o *options) client() (redis.UniversalClient, error) {
	if o.cluster != "" {
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: strings.Split(o.cluster, ","), DialTimeout: o.dialTimeout,
			ReadTimeout: o.timeout, WriteTimeout: o.timeout,
		}), nil
	}
	opts := &redis.Options{Addr: o.redisAddr}
	if strings.Contains(o.redisAddr, "://") {
		var err error
		if opts, err = redis.ParseURL(o.redisAddr); err != nil {
			return nil, errors.New("-redis: not a valid Redis URL")
		}
	}
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = o.dialTimeout, o.timeout, o.timeout
	return redis.NewClient(opts), nil
}

// run serves until a signal (or ready's context, in tests) ends it. ready, when not nil,
// receives the listening address.
func run(args []string, stderr io.Writer, ready chan<- string) int {
	logger := log.New(stderr, "apigw-limitd: ", log.LstdFlags|log.LUTC)
	o, err := parse(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "apigw-limitd:", err)
		}
		return 2
	}
	logging.Disable() // the bridge logs each failure once itself
	rdb, err := o.client()
	if err != nil {
		logger.Print(err)
		return 2
	}
	defer rdb.Close()
	srv := limitd.New(rdb, limitd.Config{Prefix: o.prefix, Retention: o.retention, Divisor: o.divisor,
		Recheck: o.recheck, Exhausted: o.exhausted, Timeout: o.timeout, Log: logger})
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	lctx, cancel := context.WithTimeout(ctx, o.dialTimeout+o.timeout)
	if err := srv.Load(lctx); err != nil {
		logger.Printf("redis not reachable yet (requests will retry): %v", err)
	}
	cancel()

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		logger.Print(err)
		return 1
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 5 * time.Minute}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	logger.Printf("serving on %s (prefix %s)", ln.Addr(), o.prefix)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	select {
	case err := <-served:
		logger.Print(err)
		return 1
	case <-ctx.Done():
	}
	logger.Print("stopping: finishing requests in progress")
	sctx, cancel := context.WithTimeout(context.Background(), o.grace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		logger.Printf("stopped with requests unfinished: %v", err)
		return 1
	}
	logger.Print("stopped")
	return 0
}
