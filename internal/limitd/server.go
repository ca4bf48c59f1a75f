// Package limitd is the bridge between Envoy and Redis for the cluster-wide limits (command
// apigw-limitd, docs/limits.md). It keeps no state of its own: each request of the lease
// protocol (package wire) becomes one atomic Lua script in Redis, run with EVALSHA and loaded
// again when Redis lost it, and the script's result becomes the answer. Any number of bridges
// can serve the same Redis; one that dies loses nothing. Every key it touches starts with one
// prefix holding a hash tag, so that the script's keys share one Redis Cluster slot.
package limitd

import (
	"context"
	_ "embed"
	"errors"
	"io"
	"log"
	"net/http"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/apigw-wasm/apigw-wasm/internal/limit/wire"
)

// The script: the calendar, then the protocol step.
var (
	//go:embed calendar.lua
	calendarLua string
	//go:embed lease.lua
	leaseLua string
)

// Defaults of Config.
const (
	DefaultPrefix    = "{apigw}"
	DefaultRetention = 7 * 24 * time.Hour
	DefaultDivisor   = 4
	DefaultRecheck   = 250 * time.Millisecond
	DefaultExhausted = 5 * time.Second
	DefaultTimeout   = 100 * time.Millisecond
)

// maxBody bounds a request body: MaxOps operations of the longest keys fit with room.
const maxBody = 64 << 10

// Config tunes a Server; the zero value of a field is its default.
type Config struct {
	// Prefix starts every Redis key. Its hash tag ("{...}") puts all keys in one Redis Cluster
	// slot, so that one script may touch all the limits of a request.
	Prefix string
	// Retention is how long an instance's record stays after its last report. It must
	// outlast any outage an Envoy comes back from: a record dropped earlier would count that
	// Envoy's reported spend again.
	Retention time.Duration
	// Divisor F: a grant is at most 1/F of what is free; below F free, requests take from
	// the store one by one.
	Divisor int
	// Recheck is how long an instance may answer "exceeded" on its own while other
	// instances still hold reservations of an exhausted quota, or while a rate of 0 stays 0.
	Recheck time.Duration
	// Exhausted is how long it may do so when nobody holds any (capped at the period's end).
	Exhausted time.Duration
	// Timeout bounds one request's work in Redis; keep it at or below the module's
	// timeout_ms, so that a take is not made after the module gave up waiting for it.
	Timeout time.Duration
	// Log receives one line per failure; nil: the standard logger.
	Log *log.Logger
}

// Server answers the lease protocol from Redis.
type Server struct {
	rdb    redis.UniversalClient
	cfg    Config
	script *redis.Script
	args   []string // the script's fixed arguments after the instance id
}

// New returns a Server on rdb.
func New(rdb redis.UniversalClient, cfg Config) *Server {
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.Divisor <= 0 {
		cfg.Divisor = DefaultDivisor
	}
	if cfg.Recheck <= 0 {
		cfg.Recheck = DefaultRecheck
	}
	if cfg.Exhausted <= 0 {
		cfg.Exhausted = DefaultExhausted
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Log == nil {
		cfg.Log = log.Default()
	}
	return &Server{rdb: rdb, cfg: cfg, script: redis.NewScript(calendarLua + leaseLua)}
}

// Load loads the script into Redis ahead of the first request (EVALSHA then finds it). A
// failure is not fatal: requests load it again when they find it missing.
func (s *Server) Load(ctx context.Context) error {
	return s.script.Load(ctx, s.rdb).Err()
}

// Key is the Redis key of a limit of the given kind.
func (s *Server) Key(kind wire.Kind, key string) string {
	return s.cfg.Prefix + string(kind) + ":" + key
}

// Handler serves POST wire.Path and GET /healthz.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+wire.Path, s.serveLimits)
	mux.HandleFunc("GET /healthz", s.serveHealth)
	return mux
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
	defer cancel()
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		s.cfg.Log.Printf("healthz: redis ping: %v", err)
		http.Error(w, "redis unreachable\n", http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "ok\n")
}

// serveLimits runs one request. Logs name the instance and the number of operations, never a
// key: keys hold plan and secret ids.
func (s *Server) serveLimits(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		s.fail(w, http.StatusRequestEntityTooLarge, "", 0, "body over "+strconv.Itoa(maxBody)+" bytes or unreadable")
		return
	}
	req, err := wire.ParseRequest(body)
	if err != nil {
		s.fail(w, http.StatusBadRequest, "", 0, err.Error())
		return
	}
	ans, err := s.Run(r.Context(), req)
	if err != nil {
		code := http.StatusServiceUnavailable
		if errors.Is(err, errDuplicate) {
			code = http.StatusBadRequest
		}
		s.fail(w, code, req.Instance, len(req.Ops), err.Error())
		return
	}
	w.Header().Set("content-type", "application/json")
	w.Write(wire.AppendAnswer(make([]byte, 0, 64+96*len(ans.Ops)), ans))
}

func (s *Server) fail(w http.ResponseWriter, code int, inst string, ops int, msg string) {
	if inst == "" {
		inst = "-"
	}
	s.cfg.Log.Printf("%d %s: instance %s, %d op(s): %s", code, http.StatusText(code), inst, ops, msg)
	w.Header().Set("content-type", "application/json")
	w.WriteHeader(code)
	w.Write(append(append([]byte(`{"error":`), strconv.Quote(msg)...), '}', '\n'))
}

var errDuplicate = errors.New("a limit appears twice in one request")

// Run performs req in Redis as one script.
func (s *Server) Run(ctx context.Context, req *wire.Request) (*wire.Answer, error) {
	keys := make([]string, len(req.Ops))
	seen := make(map[string]bool, len(req.Ops))
	args := make([]any, 0, 6+9*len(req.Ops))
	args = append(args, req.Instance, req.TTL, s.cfg.Retention.Milliseconds(), s.cfg.Divisor,
		s.cfg.Recheck.Milliseconds(), s.cfg.Exhausted.Milliseconds())
	for i := range req.Ops {
		op := &req.Ops[i]
		keys[i] = s.Key(op.Kind, op.Key)
		if seen[keys[i]] {
			return nil, errDuplicate
		}
		seen[keys[i]] = true
		args = append(args, flag(op.Kind == wire.Quota), op.Limit, int64(op.Period), op.Stamp,
			op.Seq, op.Spent, op.Allow, op.Want, flag(req.Take && op.Take))
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	res, err := s.script.Run(ctx, s.rdb, keys, args...).Int64Slice()
	if err != nil {
		return nil, err
	}
	if len(res) != 2+7*len(req.Ops) {
		return nil, errors.New("script answered " + strconv.Itoa(len(res)) + " values")
	}
	ans := &wire.Answer{Now: res[0], OK: res[1] == 1, Ops: make([]wire.Result, len(req.Ops))}
	for i := range ans.Ops {
		v := res[2+7*i:]
		ans.Ops[i] = wire.Result{Stamp: v[0], Allow: v[1], Remaining: v[2], End: v[3],
			Expires: v[4], Until: v[5], Over: v[6] == 1}
	}
	return ans, nil
}

func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}
