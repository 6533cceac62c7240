package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/iotledger/iotledger/apiwire"
	"github.com/iotledger/iotledger/internal/dcbor"
	"github.com/iotledger/iotledger/tx"
	"github.com/iotledger/iotledger/verdict"
)

// Content types of POST /v1/readings.
const (
	ContentTypeCOSE = "application/cose" // one reading, its bytes as the body
	ContentTypeJSON = "application/json" // a Submission
	ContentTypeCBOR = "application/cbor" // a CBOR array of byte strings, each a reading's bytes
)

func (s *Server) submit(w http.ResponseWriter, r *http.Request) error {
	wait := true
	if v := r.URL.Query().Get("wait"); v != "" {
		var err error
		if wait, err = strconv.ParseBool(v); err != nil {
			return invalidParameter("wait=%q is not a boolean; use wait=false to get an answer at once, or leave it out to wait for commit", v)
		}
	}
	ct := r.Header.Get("Content-Type")
	media, _, err := mime.ParseMediaType(ct)
	if err != nil && ct != "" {
		return unsupportedMedia(ct)
	}
	if media != ContentTypeCOSE && media != ContentTypeJSON && media != ContentTypeCBOR {
		return unsupportedMedia(ct)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return newProblem(http.StatusRequestEntityTooLarge, KindTooLarge, "Request body too large",
				"the body is larger than %d bytes; send fewer readings per request", s.maxBody)
		}
		return invalidBody("reading the body failed: %v; send it again", err)
	}
	var raws [][]byte
	switch media {
	case ContentTypeCOSE:
		if len(body) == 0 {
			return invalidBody("the body is empty; send one COSE_Sign1 reading as the body")
		}
		raws = [][]byte{body}
	case ContentTypeCBOR:
		if raws, err = decodeCBORBatch(body, s.maxBatch); err != nil {
			return err
		}
	default:
		if raws, err = decodeSubmission(body, s.maxBatch); err != nil {
			return err
		}
	}

	ctx := r.Context()
	if wait {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.wait)
		defer cancel()
	}
	verdicts, err := s.ledger.Submit(ctx, raws, wait)
	if errors.Is(err, ErrBusy) {
		return busy()
	}
	if p, ok := halted(err, "readings"); ok {
		return p
	}
	if err != nil {
		return fmt.Errorf("submit %d readings: %w", len(raws), err)
	}
	if len(verdicts) != len(raws) {
		return fmt.Errorf("submit %d readings: ledger returned %d results", len(raws), len(verdicts))
	}
	results := make([]verdict.Result, len(verdicts))
	for i := range verdicts {
		results[i] = verdicts[i].Result()
	}
	return writeJSON(w, http.StatusOK, apiwire.Results{Results: results})
}

// submissionForm is the shape of a JSON batch, for messages.
const submissionForm = `{"readings": ["<base64>", ...]}`

// decodeSubmission reads a Submission and decodes its readings, naming the
// first bad one. The object's keys are checked one by one, as written:
// encoding/json alone would take the last of two "readings" arrays (and
// "Readings" for "readings") and drop the first without a word, so the
// readings in it would get no result.
func decodeSubmission(body []byte, maxBatch int) ([][]byte, error) {
	notForm := func(format string, args ...any) error {
		return invalidBody("the body is not JSON of the form %s: %s", submissionForm, fmt.Sprintf(format, args...))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil {
		return nil, notForm("%v", err)
	} else if tok != json.Delim('{') {
		return nil, notForm("it starts with %v, not an object", tok)
	}
	var readings []json.RawMessage
	seen := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, notForm("%v", err)
		}
		key, _ := tok.(string)
		switch {
		case key == "readings" && seen:
			return nil, notForm(`the key "readings" appears twice; send all the readings in one array`)
		case key == "readings":
		case strings.EqualFold(key, "readings"):
			return nil, notForm(`the key %q is unknown (keys are case-sensitive: "readings")`, key)
		default:
			return nil, notForm("the key %q is unknown", key)
		}
		seen = true
		if err := dec.Decode(&readings); err != nil {
			return nil, notForm("%v", err)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, notForm("%v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalidBody("the body holds more than one JSON value; send one object {\"readings\": [...]}")
	}
	if err := checkBatchLen(len(readings), maxBatch); err != nil {
		return nil, err
	}
	raws := make([][]byte, len(readings))
	for i, m := range readings {
		var text string
		if err := json.Unmarshal(m, &text); err != nil {
			return nil, invalidBody("readings[%d] is not a string; each reading is the standard base64 of a COSE_Sign1 message", i)
		}
		raw, err := base64.StdEncoding.DecodeString(text)
		if err != nil {
			return nil, invalidBody("readings[%d] is not standard base64 (RFC 4648 section 4, with padding): %v", i, err)
		}
		if len(raw) == 0 {
			return nil, invalidBody("readings[%d] is empty; each reading is a COSE_Sign1 message", i)
		}
		raws[i] = raw
	}
	return raws, nil
}

func checkBatchLen(n, maxBatch int) error {
	if n == 0 {
		return invalidBody("the batch is empty; send at least one COSE_Sign1 reading")
	}
	if n > maxBatch {
		return newProblem(http.StatusRequestEntityTooLarge, KindTooLarge, "Batch too large",
			"the batch holds %d readings, at most %d are taken per request; split it into several requests", n, maxBatch)
	}
	return nil
}

// decodeCBORBatch reads an application/cbor batch: one CBOR array of byte
// strings, each a COSE_Sign1 reading.
func decodeCBORBatch(body []byte, maxBatch int) ([][]byte, error) {
	var raws [][]byte
	if err := dcbor.DecMode.Unmarshal(body, &raws); err != nil {
		return nil, invalidBody("the body is not one CBOR array of byte strings (each a COSE_Sign1 reading's bytes): %v", err)
	}
	if err := checkBatchLen(len(raws), maxBatch); err != nil {
		return nil, err
	}
	for i, raw := range raws {
		if len(raw) == 0 {
			return nil, invalidBody("readings[%d] is empty; each reading is a COSE_Sign1 message", i)
		}
	}
	return raws, nil
}

func unsupportedMedia(ct string) *problem {
	if ct == "" {
		ct = "none"
	}
	return newProblem(http.StatusUnsupportedMediaType, KindUnsupportedMedia, "Unsupported media type",
		"Content-Type %s is not accepted; send one reading as %s, or a batch as %s (an array of the readings' bytes) or %s {\"readings\": [\"<base64>\", ...]}",
		ct, ContentTypeCOSE, ContentTypeCBOR, ContentTypeJSON)
}

// submitTx takes one signed transaction (package tx: the CBOR envelope
// [2, COSE_Sign1]) as application/cbor and answers when its block is
// committed, or at once if CheckTx refuses it. No token is needed: the
// signature and the nonce inside are the authorisation.
func (s *Server) submitTx(w http.ResponseWriter, r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if media, _, err := mime.ParseMediaType(ct); err != nil || media != ContentTypeCBOR {
		return newProblem(http.StatusUnsupportedMediaType, KindUnsupportedMedia, "Unsupported media type",
			"Content-Type %q is not accepted; send one signed transaction's bytes as %s", ct, ContentTypeCBOR)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxTxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return newProblem(http.StatusRequestEntityTooLarge, KindTooLarge, "Request body too large",
				"a signed transaction is at most %d bytes here; readings go to POST /v1/readings", MaxTxBody)
		}
		return invalidBody("reading the body failed: %v; send it again", err)
	}
	if len(body) == 0 {
		return invalidBody("the body is empty; send one signed transaction (package tx)")
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.wait)
	defer cancel()
	res, err := s.ledger.BroadcastTx(ctx, body)
	if errors.Is(err, ErrBusy) {
		return busy()
	}
	if p, ok := halted(err, "the transaction"); ok {
		return p
	}
	if err != nil {
		return fmt.Errorf("broadcast transaction: %w", err)
	}
	return writeJSON(w, http.StatusOK, res)
}

// MaxTxBody bounds POST /v1/txs. The largest signed transaction is a
// contract deployment: a document of up to tx.MaxContractBytes, and a few
// hundred bytes of signature and fields.
const MaxTxBody = tx.MaxContractBytes + 8<<10
