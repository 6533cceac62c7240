package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/iotledger/iotledger/apiwire"
	"github.com/iotledger/iotledger/internal/dcbor"
)

// fuzzMaxBatch is a small batch bound, so the fuzzer reaches it.
const fuzzMaxBatch = 8

// submissionSeeds are bodies of POST /v1/readings: good and bad batches
// in both encodings (the first byte says which: 'c' CBOR, else JSON).
func submissionSeeds() map[string][]byte {
	r1, r2 := []byte("\xd2\x84\x43\xa1\x01\x27\xa0\x41\x00\x40"), []byte("any reading bytes")
	cborBatch, _ := dcbor.EncMode.Marshal([][]byte{r1, r2})
	tooMany, _ := dcbor.EncMode.Marshal(bytes.Split(bytes.Repeat([]byte("x,"), fuzzMaxBatch+1), []byte(",")))
	emptyOne, _ := dcbor.EncMode.Marshal([][]byte{r1, {}})
	jsonBatch, _ := json.Marshal(apiwire.Submission{Readings: []string{base64.StdEncoding.EncodeToString(r1), base64.StdEncoding.EncodeToString(r2)}})
	return map[string][]byte{
		"cbor_batch":     append([]byte("c"), cborBatch...),
		"cbor_too_many":  append([]byte("c"), tooMany...),
		"cbor_empty_one": append([]byte("c"), emptyOne...),
		"cbor_not_array": []byte("c\xa1\x01\x02"),
		"cbor_empty":     []byte("c"),
		"json_batch":     append([]byte("j"), jsonBatch...),
		"json_unknown":   []byte(`j{"readings":["AA=="],"extra":1}`),
		"json_two":       []byte(`j{"readings":["AA=="]}{"readings":[]}`),
		"json_not_b64":   []byte(`j{"readings":["!!"]}`),
		"json_number":    []byte(`j{"readings":[7]}`),
		"json_empty":     []byte(`j{"readings":[]}`),
		"json_twice":     []byte(`j{"readings":["AA=="],"readings":["AQ=="]}`),
		"json_case":      []byte(`j{"Readings":["AA=="]}`),
	}
}

// FuzzSubmission feeds the decoders of POST /v1/readings (a JSON
// Submission or a CBOR array of byte strings) any body. They must never
// panic; a body they take yields 1 to maxBatch non-empty readings that
// encode back to an equivalent body; a body they refuse gets a problem
// with status 400 or 413, never an internal error. The seed corpus is in
// testdata/fuzz (go test -run TestWriteSubmissionSeeds -update
// writes it).
func FuzzSubmission(f *testing.F) {
	for _, b := range submissionSeeds() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		asCBOR, body := in[0] == 'c', in[1:]
		var raws [][]byte
		var err error
		if asCBOR {
			raws, err = decodeCBORBatch(body, fuzzMaxBatch)
		} else {
			raws, err = decodeSubmission(body, fuzzMaxBatch)
		}
		if err != nil {
			var p *problem
			if !errors.As(err, &p) || (p.status != http.StatusBadRequest && p.status != http.StatusRequestEntityTooLarge) || p.detail == "" {
				t.Fatalf("refusal %v (%T) is not a 400 or 413 problem with a detail", err, err)
			}
			if raws != nil {
				t.Fatalf("readings returned with an error")
			}
			return
		}
		if len(raws) == 0 || len(raws) > fuzzMaxBatch {
			t.Fatalf("%d readings taken, want 1 to %d", len(raws), fuzzMaxBatch)
		}
		for i, r := range raws {
			if len(r) == 0 {
				t.Fatalf("reading %d is empty", i)
			}
		}
		// What was taken is what the body says: encode it again and decode.
		var again [][]byte
		if asCBOR {
			b, err := dcbor.EncMode.Marshal(raws)
			if err != nil {
				t.Fatal(err)
			}
			again, err = decodeCBORBatch(b, fuzzMaxBatch)
			if err != nil {
				t.Fatalf("re-encoded batch refused: %v", err)
			}
		} else {
			var s apiwire.Submission
			for _, r := range raws {
				s.Readings = append(s.Readings, base64.StdEncoding.EncodeToString(r))
			}
			b, _ := json.Marshal(s)
			again, err = decodeSubmission(b, fuzzMaxBatch)
			if err != nil {
				t.Fatalf("re-encoded submission refused: %v", err)
			}
		}
		if len(again) != len(raws) {
			t.Fatalf("re-encoded: %d readings, first time %d", len(again), len(raws))
		}
		for i := range raws {
			if !bytes.Equal(again[i], raws[i]) {
				t.Fatalf("reading %d differs after re-encoding", i)
			}
		}
	})
}

// TestWriteSubmissionSeeds writes FuzzSubmission's seeds into testdata
// with -update (the flag api_test.go defines for the golden files), and
// otherwise checks the committed corpus holds them.
func TestWriteSubmissionSeeds(t *testing.T) {
	updateSeeds := false
	if fl := flag.Lookup("update"); fl != nil {
		updateSeeds = fl.Value.String() == "true"
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzSubmission")
	for name, b := range submissionSeeds() {
		path := filepath.Join(dir, "seed_"+name)
		want := fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b)
		if updateSeeds {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: missing or stale (%v); run go test -run TestWriteSubmissionSeeds ./internal/api -update", path, err)
		}
	}
}
