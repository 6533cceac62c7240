package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

// apache2SHA256 is the SHA-256 of the Apache License 2.0 text as the
// Apache Software Foundation publishes it (LICENSE-2.0.txt), the file
// CometBFT, transparency-dev/merkle, gRPC and google/btree carry verbatim.
const apache2SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"

// TestLicense checks that the OpenAPI document names the project's licence
// by its SPDX identifier, as OpenAPI 3.1 has it (name and identifier, no
// url), and that LICENSE is that licence's full standard text.
func TestLicense(t *testing.T) {
	doc := openAPI(t)
	info, _ := doc["info"].(map[string]any)
	lic, _ := info["license"].(map[string]any)
	if got, want := lic["identifier"], "Apache-2.0"; got != want {
		t.Errorf("info.license.identifier = %v, want %q", got, want)
	}
	if name, _ := lic["name"].(string); name == "" {
		t.Error("info.license.name is empty; OpenAPI requires it")
	}
	if _, ok := lic["url"]; ok {
		t.Error("info.license has both identifier and url; OpenAPI 3.1 allows one")
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "LICENSE"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != apache2SHA256 {
		t.Errorf("LICENSE has SHA-256 %s, want %s (the Apache License 2.0 text, unchanged)", got, apache2SHA256)
	}
}
