package app

import "testing"

// A value read from the store before a block was committed must not be
// cached after the block's writes were applied: it may be the old value.
func TestRecordCacheDropsReadsThatRacedACommit(t *testing.T) {
	c := newRecordCache(10)
	_, ok, gen := c.get([]byte("d/x"))
	if ok {
		t.Fatal("empty cache has d/x")
	}
	c.committedWrites(map[string][]byte{"d/x": []byte("new")}) // Commit lands during the read
	c.put("d/x", []byte("old"), gen)
	if v, ok, _ := c.get([]byte("d/x")); ok {
		t.Fatalf("cache kept %q read before the commit", v)
	}
	_, _, gen = c.get([]byte("d/x"))
	c.put("d/x", []byte("new"), gen)
	if v, ok, _ := c.get([]byte("d/x")); !ok || string(v) != "new" {
		t.Fatalf("cache has %q, %v; want new", v, ok)
	}
	c.committedWrites(map[string][]byte{"d/x": []byte("newer")})
	if v, ok, _ := c.get([]byte("d/x")); ok {
		t.Fatalf("cache kept %q after a block wrote the record", v)
	}
}

// The reading cache's hit changes no result: a reading verified under one
// key is not taken as verified under another.
func TestVerifiedIsPerKey(t *testing.T) {
	a := &App{readings: newReadingCache(4)}
	h := [32]byte{1}
	a.readings.put(h, &checkedReading{key: []byte("key-1")})
	if !a.verified(h, []byte("key-1")) {
		t.Error("not verified under the key it verified with")
	}
	if a.verified(h, []byte("key-2")) {
		t.Error("verified under another key")
	}
}
