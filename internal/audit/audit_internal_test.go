package audit

import (
	"errors"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/dcbor"
	"github.com/iotledger/iotledger/internal/query"
	"github.com/iotledger/iotledger/internal/state"
)

// A covered record that a block deleted is absent from the store, as it
// should be: audit reports it only if it is still there.
func TestAuditStateDeletedRecord(t *testing.T) {
	db, err := pebble.Open(t.TempDir(), &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a := &auditor{r: query.New(query.NewCommitted(db), nil, nil)} // the log and meta are not read
	const key = "a/acc1x"
	for h, cs := range map[int64][]state.Change{
		1: {{Key: []byte(key), Value: []byte{1}}},
		2: {{Key: []byte(key), Value: nil}}, // deleted
	} {
		if err := db.Set(state.ChangesKey(h), encode(t, cs), pebble.Sync); err != nil {
			t.Fatal(err)
		}
	}
	blocks := []*state.Block{{Height: 1}, {Height: 2}}
	if got, err := a.auditState(blocks); err != nil || len(got) != 0 {
		t.Fatalf("auditState with the record deleted = %v, %v; want no finding", got, err)
	}
	if err := db.Set([]byte(key), []byte{1}, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	got, err := a.auditState(blocks)
	if err != nil || len(got) != 1 || !strings.Contains(got[0].What, key) {
		t.Fatalf("auditState with the deleted record still there = %v, %v; want one finding naming it", got, err)
	}
}

func encode(t *testing.T, v any) []byte {
	t.Helper()
	b, err := dcbor.EncMode.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkAppHash words each kind of app hash mismatch as the audit always
// has, counts only the headers it compared, and passes a header error on.
func TestCheckAppHash(t *testing.T) {
	want, other := []byte{0xaa}, []byte{0xbb}
	header := func(hash []byte, ok bool) HeaderAppHash {
		return func(int64) ([]byte, bool, error) { return hash, ok, nil }
	}
	tests := []struct {
		name     string
		recorded []byte
		headers  HeaderAppHash
		words    appHashWords
		findings []Finding
		compared int64
	}{
		{"border, header agrees", other, header(want, true), borderWords, nil, 1},
		{"border, header differs", want, header(other, true), borderWords, []Finding{{Height: 7,
			What: "app hash recomputed from the stored log border and state digest is aa, header 8 committed bb"}}, 1},
		{"border, no header, record agrees", want, header(nil, false), borderWords, nil, 0},
		{"border, no header, record differs", other, header(nil, false), borderWords, []Finding{{Height: 7,
			What: "app hash recomputed from the stored log border and state digest is aa, the block record says bb"}}, 0},
		{"block, header agrees", other, header(want, true), blockWords, nil, 1},
		{"block, header differs", want, header(other, true), blockWords, []Finding{{Height: 7,
			What: "recomputed app hash aa differs from the one committed in header 8: bb"}}, 1},
		{"block, no header, record agrees", want, header(nil, false), blockWords, nil, 0},
		{"block, no header, record differs", other, header(nil, false), blockWords, []Finding{{Height: 7,
			What: "recomputed app hash aa differs from the block record bb"}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Report
			if err := checkAppHash(&r, 7, want, tt.recorded, tt.headers, tt.words); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(r.Findings, tt.findings); d != "" {
				t.Errorf("findings (-got +want):\n%s", d)
			}
			if r.Headers != tt.compared {
				t.Errorf("%d headers compared, want %d", r.Headers, tt.compared)
			}
		})
	}
	t.Run("header error", func(t *testing.T) {
		boom := errors.New("header store unreadable")
		var r Report
		err := checkAppHash(&r, 7, want, want, func(int64) ([]byte, bool, error) { return nil, false, boom }, blockWords)
		if !errors.Is(err, boom) || len(r.Findings) != 0 || r.Headers != 0 {
			t.Errorf("err %v, findings %v, headers %d; want %v and nothing recorded", err, r.Findings, r.Headers, boom)
		}
	})
}
