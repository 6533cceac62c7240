package app_test

import (
	"encoding/json"
	"fmt"
	"testing"
)

// TestOutcomeJSON: a committed reading's outcome is the data of a
// "reading" event, byte for byte as before the verdict vocabulary: the
// reason is the code's name, "ok" for an accepted reading, and the hash
// stays out.
func TestOutcomeJSON(t *testing.T) {
	c := newChain(t)
	id := c.register(alice, sensor)
	o := c.sendOne(c.reading(sensor, "", 1, c.nowMs()))
	got, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`{"device":"%s","seq":1,"status":"accepted","reason":"ok","index":%d,"height":%d}`, id, o.Index, c.height)
	if string(got) != want {
		t.Errorf("outcome JSON\n got %s\nwant %s", got, want)
	}
	stale := c.sendOne(c.reading(sensor, "", 2, c.nowMs()-48*3600*1000))
	got, err = json.Marshal(stale)
	if err != nil {
		t.Fatal(err)
	}
	want = fmt.Sprintf(`{"device":"%s","seq":2,"status":"rejected","reason":"time_out_of_window","detail":%q,"index":0,"height":%d}`, id, stale.Detail, c.height)
	if string(got) != want {
		t.Errorf("outcome JSON\n got %s\nwant %s", got, want)
	}
}
