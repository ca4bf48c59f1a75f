package oauth

import (
	"hash/maphash"
	"strings"
	"sync"
)

// cacheSlots is how many verified tokens a key remembers. Clients send the same id_token
// for its whole lifetime, and a signature check costs milliseconds under wasm (ECDSA most),
// so a hit saves nearly all of Verify. Memory: the slots plus the tokens they hold.
const cacheSlots = 512

// verifiedCache is a direct-mapped set of tokens whose signature and claims verified, with
// their dates. A slot holds the whole token and a hit needs the whole token equal, so a
// hash collision can only cost a miss, never admit a token. The zero value is empty.
type verifiedCache struct {
	mu    sync.Mutex
	seed  maphash.Seed
	slots []cacheEntry // made on the first store
}

type cacheEntry struct {
	token string
	d     dates
}

func (c *verifiedCache) lookup(token string) (dates, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// An empty slot holds "": the empty token, never valid, must not match it.
	if c.slots == nil || token == "" {
		return dates{}, false
	}
	e := &c.slots[maphash.String(c.seed, token)%cacheSlots]
	if e.token != token {
		return dates{}, false
	}
	return e.d, true
}

func (c *verifiedCache) store(token string, d dates) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.slots == nil {
		c.seed = maphash.MakeSeed()
		c.slots = make([]cacheEntry, cacheSlots)
	}
	// The token is often a slice of a whole Cookie or Authorization header: keep a copy
	// rather than pin the header.
	c.slots[maphash.String(c.seed, token)%cacheSlots] = cacheEntry{strings.Clone(token), d}
}
