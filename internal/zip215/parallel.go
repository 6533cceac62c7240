package zip215

import (
	"runtime"
	"sync"
)

// Item is one signature to check: a key, a message and a signature.
type Item struct {
	Pub, Msg, Sig []byte
}

// minChunk is the fewest signatures worth a batch on a goroutine of its own.
const minChunk = 32

// VerifyAll verifies items in batches spread over all cores, with keys
// expanded through c. out[i] is exactly Verify(items[i]): which goroutine
// checked an item, and how batches were cut, changes speed only. VerifyAll
// returns when every goroutine it started has finished.
func (c *KeyCache) VerifyAll(items []Item) []bool {
	out := make([]bool, len(items))
	workers := min(runtime.GOMAXPROCS(0), (len(items)+minChunk-1)/minChunk)
	if workers <= 1 {
		c.verifyChunk(items, out)
		return out
	}
	per := (len(items) + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < len(items); lo += per {
		hi := min(lo+per, len(items))
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.verifyChunk(items[lo:hi], out[lo:hi])
		}()
	}
	wg.Wait()
	return out
}

func (c *KeyCache) verifyChunk(items []Item, out []bool) {
	if len(items) == 1 {
		out[0] = c.Verify(items[0].Pub, items[0].Msg, items[0].Sig)
		return
	}
	b := c.NewBatch(len(items))
	for _, it := range items {
		b.Add(it.Pub, it.Msg, it.Sig)
	}
	copy(out, b.Verify())
}
