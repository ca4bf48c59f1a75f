package main

// contextTable finds a request's context by the host's context id on every callback: open
// addressing with linear probing over a power-of-two slice, indexed by the id's low bits. Envoy
// numbers contexts in sequence, so the live ones fall in distinct slots and a lookup is one
// index and one compare, without a map's hashing. Deletion shifts the following entries back
// (no tombstones), so a lookup never probes further than the live entries need.
type contextTable struct {
	slots []*httpContext // nil: empty
	n     int
}

func (t *contextTable) get(id uint32) *httpContext {
	if t.n == 0 {
		return nil
	}
	mask := uint32(len(t.slots) - 1)
	for i := id & mask; ; i = (i + 1) & mask {
		if h := t.slots[i]; h == nil || h.id == id {
			return h
		}
	}
}

// put adds h, replacing a context of the same id.
func (t *contextTable) put(h *httpContext) {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	mask := uint32(len(t.slots) - 1)
	for i := h.id & mask; ; i = (i + 1) & mask {
		switch old := t.slots[i]; {
		case old == nil:
			t.slots[i] = h
			t.n++
			return
		case old.id == h.id:
			t.slots[i] = h
			return
		}
	}
}

// remove takes the context of id out of the table and returns it (nil if there is none).
func (t *contextTable) remove(id uint32) *httpContext {
	if t.n == 0 {
		return nil
	}
	mask := uint32(len(t.slots) - 1)
	i := id & mask
	for ; t.slots[i] != nil && t.slots[i].id != id; i = (i + 1) & mask {
	}
	h := t.slots[i]
	if h == nil {
		return nil
	}
	// Shift back every following entry of the run that may move into the hole: one whose home
	// slot is not cyclically in (hole, j].
	for j := (i + 1) & mask; t.slots[j] != nil; j = (j + 1) & mask {
		home := t.slots[j].id & mask
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = nil
	t.n--
	return h
}

func (t *contextTable) grow() {
	old := t.slots
	t.slots, t.n = make([]*httpContext, max(16, 2*len(old))), 0
	for _, h := range old {
		if h != nil {
			t.put(h)
		}
	}
}
