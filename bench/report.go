package main

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// report renders the results as markdown: per concurrency the comparison table, then start
// times, memory growth and the targets judged.
type report struct {
	r    *runner
	took time.Duration
}

func spread(xs []float64, format string) string {
	if len(xs) == 0 {
		return "–"
	}
	m := fmt.Sprintf(format, median(xs))
	if len(xs) == 1 {
		return m
	}
	return fmt.Sprintf("%s ("+format+"–"+format+")", m, slices.Min(xs), slices.Max(xs))
}

func latOf(ls []latResult, f func(latResult) time.Duration) []float64 {
	out := make([]float64, len(ls))
	for i, l := range ls {
		out[i] = float64(f(l)) / float64(time.Microsecond)
	}
	return out
}

func p50(l latResult) time.Duration { return l.p50 }
func p99(l latResult) time.Duration { return l.p99 }

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return "unknown CPU"
}

func (rep *report) markdown(s settings, quick bool, argv []string) string {
	r := rep.r
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	mode := ""
	if quick {
		mode = " — QUICK MODE: a setup check, not a measurement"
	}
	w("## Results%s\n\n", mode)
	w("- command: `%s` (driver argv: `%s`), %s, took %v\n", benchCommand(quick), strings.Join(argv[1:], " "),
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), rep.took.Round(time.Second))
	w("- machine: %d CPUs (%s), %s; Envoy %s; wasm module (-wasm) %d bytes\n", runtime.NumCPU(), cpuModel(), runtime.Version(),
		orDash(r.envoyVersion), r.wasmSize)
	w("- load: saturation = wrk -t1 -c%d, %d run(s) of %v per configuration; latency = open-loop client at %d req/s over %d connections, %d run(s) of %v; values are medians (min–max over runs)\n",
		s.connections, s.runs, s.satDuration, s.rate, s.latConns, s.runs, s.latDuration)
	w("- load average (1, 5, 15 min) of the machine, which others share: %s\n", strings.Join(r.loads, "; "))
	w("- configurations:\n")
	for _, id := range s.configs {
		c := configByID(id)
		w("  - (%s) %s", id, c.title)
		if c.alt > 0 && c.alt <= len(r.altNames) {
			size := int64(0)
			if st, err := os.Stat(r.s.altWasm[c.alt-1]); err == nil {
				size = st.Size()
			}
			w(": `%s` (%d bytes)", r.altNames[c.alt-1], size)
		}
		w("\n")
	}
	w("- --concurrency 1 runs pin Envoy to CPU 1 and wrk, the upstream and the driver to CPU 0 (-pin=%v); --concurrency 2 runs share both CPUs\n\n", s.pin)
	for _, conc := range s.concurrencies {
		base, floor := r.results[resultKey{conc, "a"}], r.results[resultKey{conc, "f"}]
		w("### Envoy --concurrency %d\n\n", conc)
		w("Above (a): what the configuration adds to Envoy alone; above (f): what it adds to the floor of any proxy-wasm module.\n\n")
		w("| config | req/s at saturation | vs (a) | vs (f) | Envoy CPU µs/req | + vs (a) | + vs (f) | Envoy cores busy | p50 µs at %d req/s | p99 µs | +p50 vs (a) | +p50 vs (f) | RSS after warm-up |\n", s.rate)
		w("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, id := range s.configs {
			res := r.results[resultKey{conc, id}]
			if res == nil {
				continue
			}
			rps := rpsOf(res.sat)
			above := func(ref *cfgResult) (vs, addCPU, addP50 string) {
				if ref == nil || ref == res {
					return "–", "–", "–"
				}
				return fmt.Sprintf("%.0f%%", 100*median(rps)/median(rpsOf(ref.sat))),
					fmt.Sprintf("%+.1f", median(res.cpuPerReq)-median(ref.cpuPerReq)),
					fmt.Sprintf("%+.0f", median(latOf(res.lat, p50))-median(latOf(ref.lat, p50)))
			}
			vsA, cpuA, p50A := above(base)
			vsF, cpuF, p50F := "–", "–", "–"
			if configByID(id).plugin != nil { // (f) is a floor for wasm modules only
				vsF, cpuF, p50F = above(floor)
			}
			w("| (%s) | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %.1f MiB |\n", id, spread(rps, "%.0f"), vsA, vsF,
				spread(res.cpuPerReq, "%.1f"), cpuA, cpuF, spread(res.busy, "%.2f"),
				spread(latOf(res.lat, p50), "%.0f"), spread(latOf(res.lat, p99), "%.0f"), p50A, p50F,
				float64(res.rssWarm)/1024)
		}
		w("\n")
	}
	if s.perf {
		w("### Where Envoy's CPU goes (perf record -e cpu-clock, one extra saturation run)\n\n")
		for _, conc := range s.concurrencies {
			for _, id := range s.configs {
				res := r.results[resultKey{conc, id}]
				if res == nil || len(res.perfDSO) == 0 {
					continue
				}
				w("- c%d (%s) by object: %s\n", conc, id, strings.Join(res.perfDSO, "; "))
				w("  - top symbols: %s\n", strings.Join(res.perfSym, "; "))
			}
		}
		w("\n")
	}
	w("### Start\n\n| config | --concurrency | APIs | Envoy ready after | plugin configuration load (per VM) |\n|---|---|---|---|---|\n")
	for _, conc := range s.concurrencies {
		for _, id := range s.configs {
			res := r.results[resultKey{conc, id}]
			if res == nil {
				continue
			}
			var loads []string
			for _, d := range res.pluginLoads {
				loads = append(loads, d.Round(time.Millisecond/10).String())
			}
			apis := "–"
			if configByID(id).plugin != nil && configByID(id).module == "" {
				apis = strconv.Itoa(res.apis)
			}
			w("| (%s) | %d | %s | %v | %s |\n", id, conc, apis, res.readyIn.Round(time.Millisecond), orDash(strings.Join(loads, ", ")))
		}
	}
	w("\n")
	if s.growth > 0 {
		w("### Memory growth (--concurrency %d)\n\n| config | requests served | RSS after warm-up | RSS after | growth | top-up took |\n|---|---|---|---|---|---|\n", s.growthConc)
		for _, id := range s.growthConfigs {
			res := r.results[resultKey{s.growthConc, id}]
			if res == nil || !res.growthDone {
				continue
			}
			w("| (%s) | %d | %.1f MiB | %.1f MiB | %+.1f%% | %v |\n", id, res.servedAfter, float64(res.rssBefore)/1024,
				float64(res.rssAfter)/1024, 100*float64(res.rssAfter-res.rssBefore)/float64(res.rssBefore), res.growthTime.Round(time.Second))
		}
		w("\n")
	}
	b.WriteString(rep.globalSection(s))
	w("### Targets\n\n| target | measured | verdict |\n|---|---|---|\n")
	for _, t := range append(rep.targets(s), rep.globalTargets(s)...) {
		w("| %s | %s | %s |\n", t[0], t[1], t[2])
	}
	w("\n")
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func verdict(ok bool) string {
	if ok {
		return "pass"
	}
	return "**FAIL**"
}

// targets judges issue 15's targets (ratios at --concurrency 1) and those of issue 7 that were
// met and must not regress.
func (rep *report) targets(s settings) [][3]string {
	r := rep.r
	var out [][3]string
	for _, conc := range s.concurrencies {
		a, b, c, d := r.results[resultKey{conc, "a"}], r.results[resultKey{conc, "b"}], r.results[resultKey{conc, "c"}], r.results[resultKey{conc, "d"}]
		if conc == 1 && a != nil {
			for _, t := range []struct {
				id  string
				res *cfgResult
				min float64
			}{{"c", c, 0.55}, {"b", b, 0.70}} {
				if t.res == nil {
					continue
				}
				ratio := median(rpsOf(t.res.sat)) / median(rpsOf(a.sat))
				out = append(out, [3]string{fmt.Sprintf("c1: (%s) keeps ≥ %.0f%% of (a)'s saturated req/s", t.id, 100*t.min),
					fmt.Sprintf("%.0f%% (Envoy CPU %+.1f µs/req over (a))", 100*ratio, median(t.res.cpuPerReq)-median(a.cpuPerReq)),
					verdict(ratio >= t.min)})
			}
			if c != nil {
				ratio := median(latOf(c.lat, p50)) / median(latOf(a.lat, p50))
				out = append(out, [3]string{fmt.Sprintf("c1: (c)'s p50 at %d req/s ≤ 1.2 × (a)'s", s.rate),
					fmt.Sprintf("%.2f × (%+.0f µs)", ratio, median(latOf(c.lat, p50))-median(latOf(a.lat, p50))), verdict(ratio <= 1.2)})
			}
		}
		if c != nil && d != nil {
			ratio := median(rpsOf(d.sat)) / median(rpsOf(c.sat))
			lat := median(latOf(d.lat, p50)) / median(latOf(c.lat, p50))
			out = append(out, [3]string{fmt.Sprintf("c%d: (d) within 10%% of (c)", conc),
				fmt.Sprintf("req/s %.0f%% of (c); p50 %.0f%% of (c)", 100*ratio, 100*lat), verdict(ratio >= 0.9 && lat <= 1.1)})
		}
	}
	for _, id := range s.growthConfigs {
		res := r.results[resultKey{s.growthConc, id}]
		if res == nil || !res.growthDone {
			continue
		}
		g := float64(res.rssAfter-res.rssBefore) / float64(res.rssBefore)
		note := ""
		if res.servedAfter < s.growth {
			note = fmt.Sprintf(" (time bound reached before %d)", s.growth)
		}
		v := verdict(g < 0.10)
		if res.servedAfter < s.growth && g < 0.10 {
			v = "pass so far (fewer requests)"
		}
		out = append(out, [3]string{fmt.Sprintf("(%s) memory grows < 10%% over %d requests", id, s.growth),
			fmt.Sprintf("%+.1f%% after %d requests%s", 100*g, res.servedAfter, note), v})
	}
	for _, conc := range s.concurrencies {
		res := r.results[resultKey{conc, "d"}]
		if res == nil || len(res.pluginLoads) == 0 {
			continue
		}
		worst := slices.Max(res.pluginLoads)
		out = append(out, [3]string{fmt.Sprintf("c%d: %d-API configuration loads in < 1 s per VM", conc, res.apis),
			fmt.Sprintf("plugin load %v (slowest VM); Envoy ready after %v", worst.Round(time.Millisecond), res.readyIn.Round(time.Millisecond)),
			verdict(worst < time.Second)})
	}
	return out
}

func benchCommand(quick bool) string {
	if quick {
		return "make bench BENCH_QUICK=1"
	}
	return "make bench"
}
