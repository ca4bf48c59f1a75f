package main

import (
	"bufio"
	"errors"
	"fmt"
	"github.com/apigw-wasm/apigw-wasm/bench/benchcfg"
	"io"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// rawRequest is the request as bytes on the wire, for the fixed-rate client.
func rawRequest(headers [][2]string) []byte {
	var b strings.Builder
	b.WriteString("GET " + benchcfg.Path + " HTTP/1.1\r\nHost: " + benchcfg.Host + "\r\n")
	for _, kv := range headers {
		b.WriteString(kv[0] + ": " + kv[1] + "\r\n")
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

// check sends the request once and verifies that the configuration did its work: 200 from
// the upstream, the path it should have rewritten, the plugin's request id.
func check(e *envoy, headers [][2]string) error {
	req, _ := http.NewRequest("GET", "http://"+e.listenAddr+benchcfg.Path, nil)
	req.Host = benchcfg.Host
	for _, kv := range headers {
		req.Header.Set(kv[0], kv[1])
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("(%s) answered %s: %s", e.cfg.id, resp.Status, body)
	}
	if got, want := resp.Header.Get("X-Upstream-Path"), e.cfg.wantPath; got != want {
		return fmt.Errorf("(%s) upstream saw path %q, want %q", e.cfg.id, got, want)
	}
	if e.cfg.plugin != nil && e.cfg.module == "" && len(resp.Header.Get("X-Api-Requestid")) != 32 {
		return fmt.Errorf("(%s) no x-api-requestid in the response: the plugin did not run", e.cfg.id)
	}
	return nil
}

// wrkResult is one saturation run.
type wrkResult struct {
	requests int64
	seconds  float64
	rps      float64
	bad      int64 // non-2xx answers and socket errors
}

var (
	wrkTotalRE = regexp.MustCompile(`(\d+) requests in ([\d.]+)(us|ms|s|m)`)
	wrkRPSRE   = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	wrkBadRE   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkSockRE  = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// runWrk runs wrk against e for d with conns connections, on cpus when not "".
func runWrk(e *envoy, headers [][2]string, d time.Duration, conns int, cpus string) (wrkResult, error) {
	args := []string{"-t1", "-c" + strconv.Itoa(conns), "-d" + strconv.Itoa(int(d.Seconds())) + "s", "--timeout", "5s",
		"-H", "Host: " + benchcfg.Host}
	for _, kv := range headers {
		args = append(args, "-H", kv[0]+": "+kv[1])
	}
	args = append(args, "http://"+e.listenAddr+benchcfg.Path)
	name := "wrk"
	if cpus != "" {
		args = append([]string{"-c", cpus, "wrk"}, args...)
		name = "taskset"
	}
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %v: %s", err, out)
	}
	var r wrkResult
	s := string(out)
	m := wrkTotalRE.FindStringSubmatch(s)
	rps := wrkRPSRE.FindStringSubmatch(s)
	if m == nil || rps == nil {
		return r, fmt.Errorf("cannot read wrk's output: %s", s)
	}
	r.requests, _ = strconv.ParseInt(m[1], 10, 64)
	r.rps, _ = strconv.ParseFloat(rps[1], 64)
	if r.rps > 0 {
		r.seconds = float64(r.requests) / r.rps
	}
	if b := wrkBadRE.FindStringSubmatch(s); b != nil {
		n, _ := strconv.ParseInt(b[1], 10, 64)
		r.bad += n
	}
	if b := wrkSockRE.FindStringSubmatch(s); b != nil {
		for _, f := range b[1:] {
			n, _ := strconv.ParseInt(f, 10, 64)
			r.bad += n
		}
	}
	return r, nil
}

// latResult is one fixed-rate run.
type latResult struct {
	sent, errors  int
	p50, p90, p99 time.Duration
	p999, max     time.Duration
	achieved      float64 // requests per second completed
}

// fixedRate sends rate requests per second for d over conns keep-alive connections, open loop:
// request i is due at start + i/rate whether or not earlier ones have answered, and its latency
// runs from when it was due (handed to the connections) to the end of its response, so time
// spent waiting for a free connection counts (no coordinated omission). Due times come from a
// sleeping dispatcher; its own lateness is not counted.
func fixedRate(addr string, req []byte, rate int, d time.Duration, conns int) (latResult, error) {
	n := int(float64(rate) * d.Seconds())
	type job struct {
		i   int
		due time.Time
	}
	jobs := make(chan job, n)
	lat := make([]time.Duration, n)
	var mu sync.Mutex
	var firstErr error
	errCount := 0
	var wg sync.WaitGroup
	for c := 0; c < conns; c++ {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			return latResult{}, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			br := bufio.NewReaderSize(conn, 16<<10)
			fail := func(err error) {
				mu.Lock()
				errCount++
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				conn.Close()
				if c2, err := net.Dial("tcp", addr); err == nil {
					conn, br = c2, bufio.NewReaderSize(c2, 16<<10)
				}
			}
			for j := range jobs {
				if _, err := conn.Write(req); err != nil {
					fail(err)
					lat[j.i] = -1
					continue
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					fail(err)
					lat[j.i] = -1
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[j.i] = time.Since(j.due)
				if resp.StatusCode != 200 {
					mu.Lock()
					errCount++
					if firstErr == nil {
						firstErr = fmt.Errorf("status %s", resp.Status)
					}
					mu.Unlock()
				}
			}
			conn.Close()
		}()
	}
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	for i := 0; i < n; i++ {
		due := start.Add(time.Duration(i) * interval)
		if w := time.Until(due); w > 0 {
			time.Sleep(w)
		}
		jobs <- job{i: i, due: time.Now()}
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	ok := lat[:0]
	for _, l := range lat {
		if l >= 0 {
			ok = append(ok, l)
		}
	}
	if len(ok) == 0 {
		return latResult{}, errors.Join(errors.New("no request succeeded"), firstErr)
	}
	slices.Sort(ok)
	q := func(p float64) time.Duration { return ok[min(len(ok)-1, int(p*float64(len(ok))))] }
	r := latResult{sent: n, errors: errCount, p50: q(0.50), p90: q(0.90), p99: q(0.99), p999: q(0.999),
		max: ok[len(ok)-1], achieved: float64(len(ok)) / elapsed.Seconds()}
	if errCount > 0 {
		return r, fmt.Errorf("%d of %d requests failed, first: %v", errCount, n, firstErr)
	}
	return r, nil
}
