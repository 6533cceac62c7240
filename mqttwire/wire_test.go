package mqttwire

import (
	"encoding/json"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTopics(t *testing.T) {
	id := deviceID(sensor)
	tests := []struct {
		got, want string
	}{
		{ReadingsTopic(id), "iotledger/v1/devices/" + id + "/readings"},
		{ReceiptsTopic(id), "iotledger/v1/devices/" + id + "/receipts"},
		{ErrorsTopic(id), "iotledger/v1/devices/" + id + "/errors"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("topic %q, want %q", tt.got, tt.want)
		}
		if !strings.HasPrefix(tt.got, TopicPrefix+id+"/") {
			t.Errorf("topic %q is not under %q", tt.got, TopicPrefix+id+"/")
		}
	}
}

// The messages are JSON with exactly the documented fields.
func TestMessagesJSON(t *testing.T) {
	seq := uint64(7)
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"receipt", ReceiptMessage{Seq: 7, Index: 42, Height: 9, Receipt: "/v1/devices/ID/readings/7/receipt", Status: StatusAccepted},
			`{"seq":7,"index":42,"height":9,"receipt":"/v1/devices/ID/readings/7/receipt","status":"accepted"}`},
		{"error", ErrorMessage{Seq: &seq, Reason: "bad_signature", Detail: "the signature does not verify"},
			`{"seq":7,"reason":"bad_signature","detail":"the signature does not verify"}`},
		{"error without seq", ErrorMessage{Reason: "malformed_reading", Detail: "not CBOR"},
			`{"seq":null,"reason":"malformed_reading","detail":"not CBOR"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(b), tt.want); diff != "" {
				t.Errorf("JSON (-got +want):\n%s", diff)
			}
		})
	}
}

// The package must stay light enough for a device: the standard library,
// address, verdict and internal/zip215, nothing else.
func TestImports(t *testing.T) {
	allowed := map[string]bool{
		"github.com/iotledger/iotledger/address":         true,
		"github.com/iotledger/iotledger/internal/zip215": true,
		"github.com/iotledger/iotledger/verdict":         true,
	}
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, spec := range f.Imports {
			path, _ := strconv.Unquote(spec.Path.Value)
			if first, _, _ := strings.Cut(path, "/"); strings.Contains(first, ".") && !allowed[path] {
				t.Errorf("%s imports %s; mqttwire may import only the standard library, address, verdict and internal/zip215", fset.Position(spec.Pos()), path)
			}
		}
	}
}
