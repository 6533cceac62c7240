// Package buildinfo says what this binary is: the module version, the
// commit and time it was built from, and the Go and CometBFT versions it
// was built with. `iotledger version`, the status the API serves and the
// node's metrics all read it here, so they never disagree.
//
// It comes from the build information Go writes into every binary
// (runtime/debug.ReadBuildInfo):
//
//   - Version is the main module's version: a tag (v1.2.0) when the commit
//     is tagged, else a pseudo-version (v0.0.0-20260501100000-1ad6ece0b7d1)
//     that go build (Go 1.24 on) derives from the commit, with +dirty for
//     uncommitted changes; "(devel)" when Go recorded none (go test, go run,
//     -buildvcs=false, a source tree without .git).
//   - Commit and Modified are vcs.revision and vcs.modified.
//   - Time is the build time when the link set it, else the commit's time
//     (vcs.time): Go records no build time, so that reproducible builds
//     stay byte-identical. TimeSource says which.
//   - CometBFT is the version of github.com/cometbft/cometbft in the
//     binary's dependency list (a replacement's, if go.mod replaces it);
//     a binary without that list (a test binary) falls back on CometBFT's
//     own version constant.
//
// A build without version control (the container image is built from a
// copy of the tree without .git) sets the first three at link time:
//
//	go build -ldflags "-X github.com/iotledger/iotledger/internal/buildinfo.version=v0.2.0 \
//	  -X github.com/iotledger/iotledger/internal/buildinfo.commit=$(git rev-parse HEAD) \
//	  -X github.com/iotledger/iotledger/internal/buildinfo.buildTime=$(date -u +%Y-%m-%dT%H:%M:%SZ)" ./cmd/iotledger
//
// Set so, they win over what Go recorded. What neither gives is Unknown.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"sync"

	cmtversion "github.com/cometbft/cometbft/version"
)

// Set with -ldflags -X at link time; see the package comment.
var (
	version   string
	commit    string
	buildTime string
)

// Values for what the build did not record.
const (
	// Devel is Version when Go recorded no module version.
	Devel = "(devel)"
	// Unknown is a field nothing recorded.
	Unknown = "unknown"
)

// TimeSource values: where Info.Time came from.
const (
	TimeLinked = "link"   // the build set it (-ldflags -X ...buildTime=)
	TimeCommit = "commit" // the commit's time (vcs.time): Go records no build time
	TimeNone   = "none"   // neither: Time is Unknown
)

// cometModule is CometBFT's module path.
const cometModule = "github.com/cometbft/cometbft"

// Info is what a binary knows of its own build.
type Info struct {
	Version    string `json:"version"`
	Commit     string `json:"commit"`
	Modified   bool   `json:"modified"`
	Time       string `json:"time"`
	TimeSource string `json:"time_source"`
	Go         string `json:"go"`
	Platform   string `json:"platform"` // GOOS/GOARCH
	CometBFT   string `json:"cometbft"`
}

var read = sync.OnceValue(func() Info {
	bi, _ := debug.ReadBuildInfo()
	return FromBuild(bi, Linked{Version: version, Commit: commit, Time: buildTime})
})

// Read returns this binary's Info.
func Read() Info { return read() }

// Linked are the values a build may set at link time; empty means unset.
type Linked struct{ Version, Commit, Time string }

// FromBuild makes an Info from Go's build information (nil: none) and the
// values set at link time, which win.
func FromBuild(bi *debug.BuildInfo, l Linked) Info {
	in := Info{Version: Devel, Commit: Unknown, Time: Unknown, TimeSource: TimeNone,
		Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH, CometBFT: "v" + cmtversion.CMTSemVer}
	if bi != nil {
		if v := bi.Main.Version; v != "" {
			in.Version = v
		}
		if bi.GoVersion != "" {
			in.Go = bi.GoVersion
		}
		var goos, goarch string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				in.Commit = s.Value
			case "vcs.time":
				in.Time, in.TimeSource = s.Value, TimeCommit
			case "vcs.modified":
				in.Modified = s.Value == "true"
			case "GOOS":
				goos = s.Value
			case "GOARCH":
				goarch = s.Value
			}
		}
		if goos != "" && goarch != "" {
			in.Platform = goos + "/" + goarch
		}
		for _, d := range bi.Deps {
			if d.Path != cometModule {
				continue
			}
			in.CometBFT = d.Version
			if d.Replace != nil && d.Replace.Version != "" {
				in.CometBFT = d.Replace.Version
			}
		}
	}
	if l.Version != "" {
		in.Version = l.Version
	}
	if l.Commit != "" {
		in.Commit, in.Modified = l.Commit, false
	}
	if l.Time != "" {
		in.Time, in.TimeSource = l.Time, TimeLinked
	}
	return in
}
