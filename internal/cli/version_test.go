package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/buildinfo"
)

// TestVersion: version, version --json and --version say what the build
// information says, every field present; this test binary has no version
// control information, and the output says so instead of a made-up value.
func TestVersion(t *testing.T) {
	in := buildinfo.Read()
	var got buildinfo.Info
	if err := json.Unmarshal([]byte(mustRun(t, "version", "--json")), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, in); diff != "" {
		t.Errorf("version --json (-got +want):\n%s", diff)
	}
	if in.Commit != buildinfo.Unknown || in.Version != buildinfo.Devel {
		t.Fatalf("a test binary with commit %q and version %q: this test expects go test's build, without version control", in.Commit, in.Version)
	}
	text := mustRun(t, "version")
	for _, want := range []string{
		"iotledger (devel)\n",
		"\n  commit:   unknown (Go recorded no version control information",
		"\n  built:    unknown\n",
		"\n  go:       " + in.Go + " " + in.Platform + "\n",
		"\n  cometbft: " + in.CometBFT + "\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("version prints\n%s\nwithout %q", text, want)
		}
	}
	if got := mustRun(t, "--version"); got != text {
		t.Errorf("--version prints\n%s\nversion prints\n%s", got, text)
	}
}
