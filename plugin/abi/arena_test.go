package abi

import (
	"testing"
	"unsafe"
)

func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// TestArena: buffers are reused from the start after the outermost callback, never during
// one, never once kept, and a buffer too large for the arena gets memory of its own.
func TestArena(t *testing.T) {
	var a arena
	fill := func(b []byte, c byte) string {
		for i := range b {
			b[i] = c
		}
		return view(b)
	}

	a.enter()
	first := fill(a.alloc(10), 'a')
	second := fill(a.alloc(20), 'b')
	if !a.owns(first) || !a.owns(second) || a.owns("elsewhere") {
		t.Fatal("owns")
	}
	// A nested callback (a host call that calls back) does not free the outer one's buffers.
	a.enter()
	nested := fill(a.alloc(5), 'n')
	a.leave()
	third := fill(a.alloc(3), 'c')
	if first != "aaaaaaaaaa" || second != "bbbbbbbbbbbbbbbbbbbb" || nested != "nnnnn" || third != "ccc" {
		t.Fatalf("overwritten during the callback: %q %q %q %q", first, second, nested, third)
	}
	a.leave()

	// The next callback reuses the memory from the start.
	a.enter()
	reused := fill(a.alloc(10), 'x')
	if unsafe.StringData(reused) != unsafe.StringData(first) || first != "xxxxxxxxxx" {
		t.Fatalf("not reused: %q", first)
	}
	if a.owns(second) {
		t.Fatal("a buffer of the previous callback counts as this one's")
	}
	// Kept: nothing handed out in this callback is handed out again.
	kept := fill(a.alloc(100), 'k')
	a.keepCurrent()
	a.leave()
	for range 3 {
		a.enter()
		fill(a.alloc(200), 'z')
		a.leave()
	}
	if reused != "xxxxxxxxxx" || kept[0] != 'k' || kept[99] != 'k' {
		t.Fatalf("kept buffers were reused: %q %q", reused, kept)
	}

	// Larger than a quarter chunk: its own memory, outside the arena.
	a.enter()
	big := a.alloc(arenaChunk)
	if a.owns(view(big)) || len(big) != arenaChunk {
		t.Fatal("a large buffer came from the arena")
	}
	// A chunk that runs out starts another; what the callback got from the old one stays.
	var got []string
	for i := range 100 {
		got = append(got, fill(a.alloc(1000), byte('A'+i%26)))
	}
	for i, s := range got {
		if s[0] != byte('A'+i%26) || s[999] != byte('A'+i%26) {
			t.Fatalf("buffer %d overwritten in its callback", i)
		}
	}
	a.leave()
}
