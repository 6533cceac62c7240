package audit

import (
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

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
