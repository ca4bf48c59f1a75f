package abi

import "unsafe"

// The buffers a data-returning host call hands back are allocated by the host through
// proxy_on_memory_allocate, in the middle of the call. They come from an arena: a chunk of Go
// memory handed out by bumping an offset and reused from the start once the outermost callback
// returns, instead of one Go allocation per call (the allocator is the wasm build's dearest
// operation after a host call). Strings that view these buffers (headers, properties, shared
// data, all read in place) are therefore valid only until the callback returns, unless the
// callback calls KeepReturned: then nothing handed out so far is handed out again, and the Go
// collector frees the chunk once no string views it.

// arenaChunk is the size of a chunk: the buffers of several requests' callbacks. A buffer that
// does not fit in what is left of the chunk gets an allocation of its own (never reused).
const arenaChunk = 16 << 10

type arena struct {
	buf   []byte // the chunk; buf[:off] is handed out during the current callback
	off   int
	depth int  // callbacks in progress: reuse waits for the outermost one to return
	keep  bool // the current callback's buffers outlive it
}

var returnedArena arena

// alloc hands out size bytes, 8-aligned.
func (a *arena) alloc(size int) []byte {
	if size > arenaChunk/4 {
		return make([]byte, size)
	}
	if a.off+size > len(a.buf) {
		// A new chunk. The old one is never handed out again: what this callback got from it
		// stays valid, and the collector frees it when nothing views it.
		a.buf, a.off = make([]byte, arenaChunk), 0
	}
	b := a.buf[a.off : a.off+size : a.off+size]
	a.off = (a.off + size + 7) &^ 7
	return b
}

// enter and leave bracket every callback; leaving the outermost one makes the chunk's memory
// free for the next callback, unless it was kept.
func (a *arena) enter() { a.depth++ }

func (a *arena) leave() {
	if a.depth--; a.depth > 0 {
		return
	}
	if a.keep {
		// Step past what was handed out: the kept buffers keep the chunk alive for as long as
		// something views them, and the rest of the chunk serves later callbacks.
		a.keep = false
		if a.off >= len(a.buf) {
			a.buf = nil
		} else {
			a.buf = a.buf[a.off:]
		}
	}
	a.off = 0
}

// keepCurrent makes the current callback's buffers outlive it.
func (a *arena) keepCurrent() { a.keep = true }

// owns reports whether s views memory handed out during the current callback.
func (a *arena) owns(s string) bool {
	if len(s) == 0 || a.off == 0 {
		return false
	}
	p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	base := uintptr(unsafe.Pointer(unsafe.SliceData(a.buf)))
	return p >= base && p < base+uintptr(a.off)
}

// KeepReturned makes the buffers that host calls returned during the current callback outlive
// it: the strings that view them stay valid for as long as something holds them. Call it when
// such a string is kept for a later callback (a request held for its body, a response header
// that echoes a request header).
func KeepReturned() { returnedArena.keepCurrent() }

// Returned reports whether s views a buffer that a host call returned during the current
// callback, which the next callback would reuse unless KeepReturned is called.
func Returned(s string) bool { return returnedArena.owns(s) }
