package main

import (
	"strconv"
	"strings"
	"time"

	"github.com/apigw-wasm/apigw-wasm/internal/config"
	"github.com/apigw-wasm/apigw-wasm/plugin/abi"
)

// holdBound is how long a held request may wait for the first byte of its body while the
// setting is unproven. Longer spares a slow client on a fresh VM with the setting on; shorter
// answers a misconfigured gateway sooner. Real clients send the body right after the headers,
// so a few seconds err on the side of the slow client. A variable for the unit tests.
var holdBound = 5 * time.Second

// watchTick is how often held requests are looked at (at least: the root context's tick may
// run faster for the global limits): they are answered between holdBound and
// holdBound+watchTick.
const watchTick = time.Second

// settingName is the wasm filter setting the watch names in its log lines.
const settingName = "allow_on_headers_stop_iteration"

// bodyWatch answers the requests that wait for a body Envoy will not deliver. A request to an
// API with body parameters is held at its headers until its body has been read; Envoy delivers
// that body only when the wasm filter's config says allow_on_headers_stop_iteration: true.
// Without it Envoy turns the hold into "stop all" and the request waits, silently, for Envoy's
// stream timeout. The plugin cannot read that setting, so it watches instead: while no held
// request of this plugin context has been given its body, a tick answers every request held
// for holdBound with 500 and a log line naming the setting. The first body that reaches a held
// request proves the setting on, and the watch ends. Envoy calls a plugin context and its
// requests on one thread, so the watch needs no lock.
type bodyWatch struct {
	host host
	on   bool                   // some API has body parameters and no body has proven the setting yet
	held map[uint32]heldRequest // by http context id
}

type heldRequest struct {
	h     *httpContext
	since time.Time
}

// start logs one warning naming the setting and the APIs that need it, and turns the watch on
// (the root context then runs its tick), when some API of cfg has body parameters.
func (w *bodyWatch) start(cfg *config.Config) {
	var names []string
	for _, s := range cfg.Services {
		for _, a := range s.APIs {
			if a.Params != nil && a.Params.NeedsBody() {
				names = append(names, s.ID+"/"+a.ID)
			}
		}
	}
	if len(names) == 0 {
		return
	}
	const shown = 10
	list := strings.Join(names[:min(len(names), shown)], ", ")
	if len(names) > shown {
		list += " and " + strconv.Itoa(len(names)-shown) + " more"
	}
	w.host.log(abi.LogWarn, "APIs with body parameters need "+settingName+": true in the wasm filter's config; without it their "+
		"requests are answered 500 after waiting "+holdBound.String()+" for a body Envoy does not deliver: "+list)
	w.on, w.held = true, map[uint32]heldRequest{}
}

// hold records a request that waits for its body.
func (w *bodyWatch) hold(h *httpContext) {
	if w.on {
		w.held[h.id] = heldRequest{h, w.host.now()}
	}
}

// bodyArrived notes that a held request got (part of) its body: the setting is on.
func (w *bodyWatch) bodyArrived() {
	if w.on {
		w.on, w.held = false, nil
	}
}

// release forgets a request that ended.
func (w *bodyWatch) release(h *httpContext) {
	if w.on {
		delete(w.held, h.id)
	}
}

// tick answers the requests held for holdBound or longer. Once the setting is proven on, the
// watch is off and the root context stops the tick unless the limits need it.
func (w *bodyWatch) tick() {
	if !w.on || len(w.held) == 0 {
		return
	}
	now := w.host.now()
	for id, r := range w.held {
		if now.Sub(r.since) >= holdBound {
			delete(w.held, id)
			r.h.bodyNeverCame(now.Sub(r.since))
		}
	}
}
