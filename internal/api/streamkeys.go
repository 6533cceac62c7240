package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/apiwire"
	"github.com/iotledger/iotledger/internal/keybox"
)

// The key box's routes (docs/PRIVATE.md):
//
//	POST /v1/devices/{id}/stream-keys                          wrapped keys in (apiwire.StreamKeyUpload), a result each (apiwire.StreamKeyResults)
//	GET  /v1/devices/{id}/stream-keys/{epoch}?recipient=ACCOUNT   one wrapped key (apiwire.StreamKey)
//
// The node takes a wrapped key only when its SHA-256 is the commitment
// the ledger holds for it (stored), or holds it until that commitment
// commits (held); it refuses one for an erased or unknown epoch, or whose
// SHA-256 is not the commitment, with a problem per key. Anyone may read
// a wrapped key: only its recipient's private key opens it.

// StreamKeys is the node's key box, as these routes need it (package
// keybox). A Ledger that implements it serves them; a Ledger that does not
// answers them 404.
type StreamKeys interface {
	// PutStreamKey offers a wrapped key: keybox.Stored, keybox.Held, or a
	// *keybox.RefusedError that says why not.
	PutStreamKey(s keybox.Slot, wrapped []byte) (keybox.Outcome, error)
	// StreamKey returns a wrapped key, or a *keybox.MissingError that
	// says why there is none.
	StreamKey(s keybox.Slot) (*keybox.Key, error)
}

// MaxStreamKeysPerUpload bounds the keys of one upload: an owner's grant
// wraps at most that many past epochs (tx.MaxGrantWraps).
const MaxStreamKeysPerUpload = 1024

// Kinds of the key box's problems, besides the general ones.
const (
	KindEpochErased = "epoch-erased" // 404: the epoch is erased, its wrapped keys deleted on every node
	KindKeyNotHere  = "key-not-here" // 404, with Retry-After: committed, not on this node yet
)

// streamKeyUploadForm is the shape of an upload, for messages.
const streamKeyUploadForm = `{"keys": [{"epoch": N, "recipient": "acc1...", "wrapped": "<base64>"}, ...]}`

func (s *Server) streamKeys() (StreamKeys, error) {
	if k, ok := s.ledger.(StreamKeys); ok {
		return k, nil
	}
	return nil, notFound("this node keeps no key box; send wrapped stream keys to a node of the network")
}

func (s *Server) putStreamKeys(w http.ResponseWriter, r *http.Request) error {
	box, err := s.streamKeys()
	if err != nil {
		return err
	}
	d, err := s.knownDevice(r)
	if err != nil {
		return err
	}
	ct := r.Header.Get("Content-Type")
	if media, _, err := mime.ParseMediaType(ct); err != nil || media != ContentTypeJSON {
		return unsupportedMedia(ct)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return newProblem(http.StatusRequestEntityTooLarge, KindTooLarge, "Request body too large",
				"the body is larger than %d bytes; send fewer keys per request", s.maxBody)
		}
		return invalidBody("reading the body failed: %v; send it again", err)
	}
	items, err := decodeStreamKeyUpload(body)
	if err != nil {
		return err
	}
	out := apiwire.StreamKeyResults{Results: make([]apiwire.StreamKeyResult, len(items))}
	for i, it := range items {
		sum := sha256.Sum256(it.Wrapped)
		res := apiwire.StreamKeyResult{Epoch: it.Epoch, Recipient: it.Recipient, Commitment: sum[:]}
		o, err := box.PutStreamKey(keybox.Slot{Device: d.ID, Epoch: it.Epoch, Recipient: it.Recipient}, it.Wrapped)
		ref, refused := errors.AsType[*keybox.RefusedError](err)
		switch {
		case refused:
			res.Status = apiwire.StreamKeyRefused
			res.Problem = refusalProblem(ref, r.URL.Path)
		case err != nil:
			return fmt.Errorf("stream key %d of %d (%s epoch %d recipient %s): %w", i+1, len(items), d.ID, it.Epoch, it.Recipient, err)
		case o == keybox.Held:
			res.Status = apiwire.StreamKeyHeld
			res.Detail = fmt.Sprintf("no commitment for it is on the ledger yet; the node holds it until the transaction that carries commitment %x (the device's stream_key, or the owner's grant_access) commits, for %s at most, then stores it if it matches", sum, keybox.DefaultHoldFor)
		default:
			res.Status = apiwire.StreamKeyStored
		}
		out.Results[i] = res
	}
	return writeJSON(w, http.StatusOK, out)
}

// refusalProblem is the problem of one refused key.
func refusalProblem(ref *keybox.RefusedError, instance string) *apiwire.Problem {
	status, title := http.StatusBadRequest, "Invalid stream key"
	switch ref.Reason {
	case keybox.ReasonMismatch:
		status, title = http.StatusConflict, "Not the committed wrapped key"
	case keybox.ReasonErased:
		status, title = http.StatusNotFound, "Epoch erased"
	case keybox.ReasonUnknownEpoch:
		status, title = http.StatusNotFound, "Unknown epoch"
	case keybox.ReasonHoldFull:
		status, title = http.StatusServiceUnavailable, "Too many keys held"
	}
	return &apiwire.Problem{Type: ProblemType + ref.Reason, Title: title, Status: status, Detail: ref.Detail, Instance: instance}
}

// decodeStreamKeyUpload reads an upload, naming the first item that does
// not decode. Whether a key is taken is the key box's to say, per key.
func decodeStreamKeyUpload(body []byte) ([]apiwire.StreamKeyItem, error) {
	notForm := func(format string, args ...any) error {
		return invalidBody("the body is not JSON of the form %s: %s", streamKeyUploadForm, fmt.Sprintf(format, args...))
	}
	var up struct {
		Keys []json.RawMessage `json:"keys"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&up); err != nil {
		return nil, notForm("%v", err)
	}
	if dec.More() {
		return nil, notForm("more than one JSON value")
	}
	switch {
	case len(up.Keys) == 0:
		return nil, notForm("no keys")
	case len(up.Keys) > MaxStreamKeysPerUpload:
		return nil, newProblem(http.StatusRequestEntityTooLarge, KindTooLarge, "Too many keys",
			"%d keys in one upload, at most %d; send them in several", len(up.Keys), MaxStreamKeysPerUpload)
	}
	items := make([]apiwire.StreamKeyItem, len(up.Keys))
	for i, raw := range up.Keys {
		d := json.NewDecoder(bytes.NewReader(raw))
		d.DisallowUnknownFields()
		if err := d.Decode(&items[i]); err != nil {
			return nil, notForm("key %d: %v (epoch is a number, recipient an account address, wrapped the key's bytes in standard base64)", i+1, err)
		}
		if len(items[i].Wrapped) == 0 {
			return nil, notForm("key %d: no wrapped key", i+1)
		}
	}
	return items, nil
}

func (s *Server) streamKey(w http.ResponseWriter, r *http.Request) error {
	box, err := s.streamKeys()
	if err != nil {
		return err
	}
	d, err := s.knownDevice(r)
	if err != nil {
		return err
	}
	epoch, err := strconv.ParseUint(r.PathValue("epoch"), 10, 64)
	if err != nil || epoch == 0 {
		return invalidParameter("epoch %q is not an epoch; epochs are numbered from 1", r.PathValue("epoch"))
	}
	recipient := r.URL.Query().Get("recipient")
	if recipient == "" {
		return invalidParameter("recipient is missing; give the account whose wrapped key you want: ?recipient=acc1...")
	}
	if err := address.ParseAccount(recipient); err != nil {
		return invalidParameter("recipient: %s; give an account address (acc1...)", strings.TrimPrefix(err.Error(), "address: "))
	}
	k, err := box.StreamKey(keybox.Slot{Device: d.ID, Epoch: epoch, Recipient: recipient})
	if m, ok := errors.AsType[*keybox.MissingError](err); ok {
		switch m.Reason {
		case keybox.ReasonErased:
			return newProblem(http.StatusNotFound, KindEpochErased, "Epoch erased", "%s", m.Detail)
		case keybox.ReasonNotHere:
			p := newProblem(http.StatusNotFound, KindKeyNotHere, "Wrapped key not on this node yet", "%s", m.Detail)
			p.retryAfter = RetryAfter
			return p
		case keybox.ReasonMalformed:
			return invalidParameter("%s", m.Detail)
		}
		return notFound("%s", m.Detail)
	}
	if err != nil {
		return fmt.Errorf("stream key of %s epoch %d for %s: %w", d.ID, epoch, recipient, err)
	}
	return writeJSON(w, http.StatusOK, apiwire.StreamKey{Device: k.Device, Epoch: k.Epoch, Recipient: k.Recipient,
		KEM: k.KEM, Wrapped: k.Wrapped, Commitment: k.Commitment, Height: k.Height})
}
