package api_test

import (
	"bytes"
	"net/http"
	"os"
	"testing"

	"github.com/iotledger/iotledger/internal/api"
)

// TestGenesis: GET /v1/genesis is the file the node was given, byte for
// byte (its SHA-256 is the published one), and a 404 problem when the node
// has none to give.
func TestGenesis(t *testing.T) {
	file, err := os.ReadFile("../../receipt/testdata/genesis.json")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, api.Options{Genesis: file})
	a := e.get(t, "/v1/genesis")
	if a.StatusCode != http.StatusOK || a.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /v1/genesis = %d %q, want 200 application/json", a.StatusCode, a.Header.Get("Content-Type"))
	}
	if !bytes.Equal(a.body, file) {
		t.Errorf("GET /v1/genesis gave %d bytes that differ from the %d of the file", len(a.body), len(file))
	}
	newEnv(t, api.Options{}).get(t, "/v1/genesis").problem(t, http.StatusNotFound, api.KindNotFound)
}
