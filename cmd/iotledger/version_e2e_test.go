package main_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iotledger/iotledger/internal/buildinfo"
)

// buildVersion builds the binary with extra go build flags into a temp
// folder, runs `version --json` and decodes it.
func buildVersion(t *testing.T, root string, flags ...string) buildinfo.Info {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "iotledger")
	cmd := exec.Command("go", append(append([]string{"build"}, flags...), "-o", bin, "./cmd/iotledger")...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %v: %v\n%s", flags, err, out)
	}
	out, err := exec.Command(bin, "version", "--json").Output()
	if err != nil {
		t.Fatalf("version --json: %v", err)
	}
	var in buildinfo.Info
	if err := json.Unmarshal(out, &in); err != nil {
		t.Fatalf("version --json: %v\n%s", err, out)
	}
	return in
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// TestVersionFromBuild: a binary built from a git checkout names its
// commit, whether the tree was modified, and the commit's time, as git
// has them; a build that sets version, commit and time at link time (the
// container image's) prints those; both name the CometBFT of go.mod.
func TestVersionFromBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds the binary twice")
	}
	root := moduleRoot(t)
	cometOut, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "github.com/cometbft/cometbft").Output()
	if err != nil {
		t.Fatal(err)
	}
	comet := strings.TrimSpace(string(cometOut))

	t.Run("link flags", func(t *testing.T) {
		const pkg = "github.com/iotledger/iotledger/internal/buildinfo."
		in := buildVersion(t, root, "-buildvcs=false", "-ldflags",
			"-X "+pkg+"version=v9.8.7 -X "+pkg+"commit=0123456789abcdef -X "+pkg+"buildTime=2026-01-02T03:04:05Z")
		want := buildinfo.Info{Version: "v9.8.7", Commit: "0123456789abcdef", Time: "2026-01-02T03:04:05Z", TimeSource: buildinfo.TimeLinked,
			Go: in.Go, Platform: in.Platform, CometBFT: comet}
		if in != want {
			t.Errorf("version --json = %+v, want %+v", in, want)
		}
	})

	t.Run("git checkout", func(t *testing.T) {
		if st, err := os.Stat(filepath.Join(root, ".git")); err != nil || !st.IsDir() {
			t.Skipf("%s/.git is not a folder (a git worktree, or no git checkout): go build records version control information only under a .git folder", root)
		}
		git := func(args ...string) string {
			out, err := exec.Command("git", append([]string{"-C", root}, args...)...).Output()
			if err != nil {
				t.Skipf("git %v: %v", args, err)
			}
			return strings.TrimSpace(string(out))
		}
		head := git("rev-parse", "HEAD")
		modified := git("status", "--porcelain") != ""
		commitTime, err := time.Parse(time.RFC3339, git("log", "-1", "--format=%cI"))
		if err != nil {
			t.Fatal(err)
		}
		in := buildVersion(t, root, "-buildvcs=true")
		if in.Commit != head || in.Modified != modified || in.TimeSource != buildinfo.TimeCommit || in.CometBFT != comet {
			t.Errorf("version --json = %+v; want commit %s, modified %v, the commit's time, CometBFT %s", in, head, modified, comet)
		}
		if got, err := time.Parse(time.RFC3339, in.Time); err != nil || !got.Equal(commitTime) {
			t.Errorf("time %q, want the commit's %v", in.Time, commitTime)
		}
		pseudo := strings.Count(in.Version, "-") >= 2
		if !strings.HasPrefix(in.Version, "v") || pseudo && !strings.Contains(in.Version, head[:12]) || strings.HasSuffix(in.Version, "+dirty") != modified {
			t.Errorf("version %q is neither a tag nor a pseudo-version of %s (modified %v)", in.Version, head[:12], modified)
		}
	})
}
