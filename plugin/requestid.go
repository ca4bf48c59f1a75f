package main

import (
	crand "crypto/rand"
	"encoding/binary"
	"math/rand/v2"
)

// requestIDs makes 32-hex-digit request ids from a ChaCha8 stream seeded once per VM from the
// host's entropy, so an id costs no host call.
type requestIDs struct {
	rng *rand.ChaCha8
}

const hexDigits = "0123456789abcdef"

func (g *requestIDs) next() string {
	if g.rng == nil {
		var seed [32]byte
		if _, err := crand.Read(seed[:]); err != nil {
			binary.LittleEndian.PutUint64(seed[:], uint64(rand.Int64()))
		}
		g.rng = rand.NewChaCha8(seed)
	}
	var b [32]byte
	for i := 0; i < 2; i++ {
		v := g.rng.Uint64()
		for j := 0; j < 16; j++ {
			b[i*16+j] = hexDigits[v&0xf]
			v >>= 4
		}
	}
	return string(b[:])
}
