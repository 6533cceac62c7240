package zip215

import (
	"crypto/rand"
	"io"
	"sync"

	"github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// DefaultKeyCacheSize is the number of expanded keys the cache behind
// [NewBatch] holds. An expanded key takes about 1.5 KiB.
const DefaultKeyCacheSize = 8192

var defaultCache = NewKeyCache(DefaultKeyCacheSize)

// KeyCache holds expanded public keys (voi's precomputed tables for a key),
// which make each verification under a known key faster. It is keyed by the
// exact 32 bytes of a key, so two encodings of one point are two entries, as
// the ZIP 215 rules hash the encoding given. Keys that are not points are not
// cached. When the cache is full, an arbitrary entry makes room.
//
// A KeyCache is safe for concurrent use. What it holds changes speed only,
// never a result.
type KeyCache struct {
	max int

	mu   sync.Mutex
	keys map[[PublicKeySize]byte]*ed25519.ExpandedPublicKey
}

// NewKeyCache returns a cache that holds up to size keys (at least 1).
func NewKeyCache(size int) *KeyCache {
	size = max(size, 1)
	return &KeyCache{max: size, keys: make(map[[PublicKeySize]byte]*ed25519.ExpandedPublicKey, min(size, 1024))}
}

// Len returns the number of keys in the cache.
func (c *KeyCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.keys)
}

// expand returns the expanded form of pub, or nil if pub is not the encoding
// of a curve point.
func (c *KeyCache) expand(pub []byte) *ed25519.ExpandedPublicKey {
	if len(pub) != PublicKeySize {
		return nil
	}
	k := [PublicKeySize]byte(pub)
	c.mu.Lock()
	e, ok := c.keys[k]
	c.mu.Unlock()
	if ok {
		return e
	}
	e, err := ed25519.NewExpandedPublicKey(ed25519.PublicKey(pub))
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.keys) >= c.max {
		for old := range c.keys {
			delete(c.keys, old)
			break
		}
	}
	c.keys[k] = e
	return e
}

// Verify is [Verify] with the key's expanded form taken from, or added to,
// the cache. The result is always that of [Verify].
func (c *KeyCache) Verify(pub, msg, sig []byte) bool {
	e := c.expand(pub)
	if e == nil || len(sig) != SignatureSize {
		return false
	}
	return ed25519.VerifyExpandedWithOptions(e, msg, sig, options)
}

// NewBatch returns an empty batch, with room for n signatures, whose keys are
// expanded through c.
func (c *KeyCache) NewBatch(n int) *Batch {
	return &Batch{cache: c, v: ed25519.NewBatchVerifierWithCapacity(n)}
}

// Batch verifies many signatures at once, faster than one by one when most
// are valid. For each entry the result is exactly that of [Verify]: batch
// verification applies the same cofactored ZIP 215 equation, and when the
// batch as a whole fails every entry is checked on its own.
//
// Batch verification draws random coefficients from crypto/rand; they decide
// how fast a result comes, never what it is. A Batch is not safe for
// concurrent use; use one per goroutine.
type Batch struct {
	cache *KeyCache
	v     *ed25519.BatchVerifier
	n     int
	rand  io.Reader // nil means crypto/rand; tests replace it
}

// NewBatch returns an empty batch with room for n signatures. Keys are
// expanded through a package-wide cache of [DefaultKeyCacheSize] keys.
func NewBatch(n int) *Batch { return defaultCache.NewBatch(n) }

// Add adds a signature to the batch. A key or signature of the wrong length
// is an invalid entry, never a panic. Add does not keep msg.
func (b *Batch) Add(pub, msg, sig []byte) {
	// A nil expanded key (pub not a point) makes an entry that voi marks
	// invalid without verifying it, as Verify would.
	b.v.AddExpandedWithOptions(b.cache.expand(pub), msg, sig, options)
	b.n++
}

// Len returns the number of signatures added since the batch was made or
// reset.
func (b *Batch) Len() int { return b.n }

// Verify returns, for each signature in the order added, whether it is valid
// under ZIP 215. The batch keeps its entries; Reset empties it.
func (b *Batch) Verify() []bool {
	if b.n == 0 {
		return nil
	}
	r := b.rand
	if r == nil {
		r = rand.Reader
	}
	_, valid := b.v.Verify(r)
	return valid
}

// Reset empties the batch for reuse.
func (b *Batch) Reset() {
	b.v.Reset()
	b.n = 0
}
