package format

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The receipt's own JSON objects (the receipt and each block of its trace)
// are read strictly: a member whose name is not exactly one of the
// object's field names, in the same letter case, and a member that appears
// twice are refused, and a byte string must be in its canonical base64 (no
// line breaks, padding bits zero). Go's encoding/json would otherwise match
// "Reading" to "reading" and keep the last of two members of one name, so
// that bytes could change, or data hide, in a receipt that still verifies.
// The CometBFT values inside (signed_header, validator_set) are decoded by
// package receipt with CometBFT's own JSON rules.

// kind is how a member's value is checked before it is decoded.
type kind int

const (
	kindAny       kind = iota // decoded by encoding/json (or the field's own decoder)
	kindBytes                 // a byte string: canonical base64, or null
	kindBytesList             // an array of byte strings, or null
)

// receiptFields are the members of a receipt, by the names of Receipt's
// JSON tags.
var receiptFields = map[string]kind{
	"version":         kindAny,
	"chain_id":        kindAny,
	"reading":         kindBytes,
	"device_key":      kindBytes,
	"leaf_index":      kindAny,
	"tree_size":       kindAny,
	"inclusion_proof": kindBytesList,
	"log_root":        kindBytes,
	"state_digest":    kindBytes,
	"height":          kindAny,
	"signed_header":   kindAny,
	"validator_set":   kindAny,
	"validator_trace": kindAny, // its blocks are LightBlocks, checked by LightBlock.UnmarshalJSON
}

// lightBlockFields are the members of a block of a validator trace.
var lightBlockFields = map[string]kind{
	"signed_header": kindAny,
	"validator_set": kindAny,
}

// UnmarshalJSON decodes a receipt strictly: see the package documentation
// of receipt, "Encoding". Parse is the way to read a receipt from a file or
// the network; this method makes json.Unmarshal, and any JSON document that
// embeds a receipt, exactly as strict.
func (r *Receipt) UnmarshalJSON(data []byte) error {
	if isNull(data) {
		return nil
	}
	if err := checkObject(data, "receipt", receiptFields); err != nil {
		return err
	}
	type plain Receipt // without this method
	return json.Unmarshal(data, (*plain)(r))
}

// UnmarshalJSON decodes a block of a validator trace strictly, as
// Receipt.UnmarshalJSON does a receipt.
func (lb *LightBlock) UnmarshalJSON(data []byte) error {
	if isNull(data) {
		return nil
	}
	if err := checkObject(data, "validator trace block", lightBlockFields); err != nil {
		return err
	}
	type plain LightBlock
	return json.Unmarshal(data, (*plain)(lb))
}

func isNull(data []byte) bool { return string(bytes.TrimSpace(data)) == "null" }

// checkObject checks that data is one JSON object whose member names are
// all in fields, spelled exactly so, each at most once, and whose byte
// strings are in canonical base64. what names the object in errors.
func checkObject(data []byte, what string, fields map[string]kind) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("a %s is a JSON object", what)
	}
	seen := make(map[string]bool, len(fields))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		k, ok := fields[name]
		if !ok {
			return unknownField(what, name, fields)
		}
		if seen[name] {
			return fmt.Errorf("%s field %q appears twice; a field appears once", what, name)
		}
		seen[name] = true
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return err
		}
		switch k {
		case kindBytes:
			if err := checkBase64(value); err != nil {
				return fmt.Errorf("%s field %q: %w", what, name, err)
			}
		case kindBytesList:
			if isNull(value) {
				continue
			}
			var list []json.RawMessage
			if err := json.Unmarshal(value, &list); err != nil {
				return fmt.Errorf("%s field %q is not an array of base64 strings", what, name)
			}
			for i, v := range list {
				if err := checkBase64(v); err != nil {
					return fmt.Errorf("%s field %q, item %d: %w", what, name, i, err)
				}
			}
		}
	}
	return nil
}

// unknownField says why name is not a member of the object, and which
// name was meant when only the letter case differs.
func unknownField(what, name string, fields map[string]kind) error {
	for f := range fields {
		if strings.EqualFold(f, name) {
			return fmt.Errorf("%s field %q is unknown: field names are case-sensitive; write %q", what, name, f)
		}
	}
	names := make([]string, 0, len(fields))
	for f := range fields {
		names = append(names, f)
	}
	slices.Sort(names)
	return fmt.Errorf("%s field %q is unknown; the fields are %s", what, name, strings.Join(names, ", "))
}

var errBase64 = errors.New("not a byte string in canonical standard base64 (RFC 4648 section 4: with padding, no line breaks, padding bits zero)")

// checkBase64 checks that v is null or a JSON string holding the canonical
// standard base64 of some bytes: the one spelling encoding/json writes.
func checkBase64(v json.RawMessage) error {
	if isNull(v) {
		return nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return errBase64
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || base64.StdEncoding.EncodeToString(b) != s {
		return errBase64
	}
	return nil
}
