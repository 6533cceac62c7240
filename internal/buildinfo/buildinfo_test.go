package buildinfo_test

import (
	"runtime"
	"runtime/debug"
	"testing"

	cmtversion "github.com/cometbft/cometbft/version"
	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/buildinfo"
)

func TestFromBuild(t *testing.T) {
	vcs := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/iotledger/iotledger", Version: "v0.0.0-20260501100000-1ad6ece0b7d1+dirty"},
		Deps: []*debug.Module{
			{Path: "github.com/cockroachdb/pebble", Version: "v1.1.2"},
			{Path: "github.com/cometbft/cometbft", Version: "v1.0.1"},
		},
		Settings: []debug.BuildSetting{
			{Key: "GOOS", Value: "linux"}, {Key: "GOARCH", Value: "arm64"},
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "1ad6ece0b7d1aaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
			{Key: "vcs.time", Value: "2026-05-01T10:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	replaced := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/iotledger/iotledger", Version: "v1.2.0"},
		Deps:      []*debug.Module{{Path: "github.com/cometbft/cometbft", Version: "v1.0.1", Replace: &debug.Module{Path: "example.com/fork", Version: "v1.0.2-fix"}}},
		Settings:  []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "false"}},
	}
	here := runtime.GOOS + "/" + runtime.GOARCH
	for _, tc := range []struct {
		name   string
		bi     *debug.BuildInfo
		linked buildinfo.Linked
		want   buildinfo.Info
	}{
		{"go build in a git checkout", vcs, buildinfo.Linked{}, buildinfo.Info{
			Version: "v0.0.0-20260501100000-1ad6ece0b7d1+dirty", Commit: "1ad6ece0b7d1aaaaaaaaaaaaaaaaaaaaaaaaaaaa", Modified: true,
			Time: "2026-05-01T10:00:00Z", TimeSource: buildinfo.TimeCommit, Go: "go1.26.8", Platform: "linux/arm64", CometBFT: "v1.0.1"}},
		{"a tag, CometBFT replaced", replaced, buildinfo.Linked{}, buildinfo.Info{
			Version: "v1.2.0", Commit: "abc", Time: buildinfo.Unknown, TimeSource: buildinfo.TimeNone, Go: "go1.26.8", Platform: here, CometBFT: "v1.0.2-fix"}},
		{"link flags win", vcs, buildinfo.Linked{Version: "v0.3.0", Commit: "feed", Time: "2026-06-01T00:00:00Z"}, buildinfo.Info{
			Version: "v0.3.0", Commit: "feed", Time: "2026-06-01T00:00:00Z", TimeSource: buildinfo.TimeLinked, Go: "go1.26.8", Platform: "linux/arm64", CometBFT: "v1.0.1"}},
		{"go test: no version control, no deps", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/iotledger/iotledger", Version: "(devel)"}}, buildinfo.Linked{}, buildinfo.Info{
			Version: buildinfo.Devel, Commit: buildinfo.Unknown, Time: buildinfo.Unknown, TimeSource: buildinfo.TimeNone, Go: "go1.26.8", Platform: here, CometBFT: "v" + cmtversion.CMTSemVer}},
		{"no build information", nil, buildinfo.Linked{}, buildinfo.Info{
			Version: buildinfo.Devel, Commit: buildinfo.Unknown, Time: buildinfo.Unknown, TimeSource: buildinfo.TimeNone, Go: runtime.Version(), Platform: here, CometBFT: "v" + cmtversion.CMTSemVer}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := buildinfo.FromBuild(tc.bi, tc.linked)
			if diff := cmp.Diff(got, tc.want); diff != "" {
				t.Errorf("(-got +want):\n%s", diff)
			}
		})
	}
}

// TestRead: this test binary has build information without version
// control or a dependency list; Read says so rather than inventing values.
func TestRead(t *testing.T) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		t.Fatal("no build information in the test binary")
	}
	got := buildinfo.Read()
	if want := buildinfo.FromBuild(bi, buildinfo.Linked{}); got != want {
		t.Errorf("Read() = %+v, want %+v", got, want)
	}
	if got.Go != runtime.Version() {
		t.Errorf("Go = %q, want %q", got.Go, runtime.Version())
	}
	if got.CometBFT != "v"+cmtversion.CMTSemVer {
		t.Errorf("CometBFT = %q, want v%s (the linked CometBFT's own constant)", got.CometBFT, cmtversion.CMTSemVer)
	}
}
