package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/iotledger/iotledger/internal/buildinfo"
)

func versionCmd(e *env) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, build time, and Go and CometBFT versions of this binary",
		Long: `version prints what this binary was built from, as Go recorded it in the
binary (see the README, "Install"): the module version (a tag, a
pseudo-version made from the commit, or (devel) when Go recorded none, as
for go run and go test), the commit and whether the tree held uncommitted
changes, the build time (the commit's time unless the build set one with
-ldflags -X), the Go toolchain and platform, and the CometBFT version.
iotledger --version prints the same.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in := buildinfo.Read()
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(in)
			}
			writeVersion(e.stdout, in)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print one JSON object (version, commit, modified, time, time_source, go, platform, cometbft)")
	return c
}

// writeVersion prints in for people: one field a line.
func writeVersion(w io.Writer, in buildinfo.Info) {
	commit := in.Commit
	switch {
	case commit == buildinfo.Unknown:
		commit += " (Go recorded no version control information: go run, go test, -buildvcs=false, or a tree without .git)"
	case in.Modified:
		commit += " (with uncommitted changes)"
	}
	built := in.Time
	switch in.TimeSource {
	case buildinfo.TimeCommit:
		built += " (the commit's time: Go records no build time; a build sets one with -ldflags -X)"
	case buildinfo.TimeNone:
		built = buildinfo.Unknown
	}
	fmt.Fprintf(w, "iotledger %s\n  commit:   %s\n  built:    %s\n  go:       %s %s\n  cometbft: %s\n",
		in.Version, commit, built, in.Go, in.Platform, in.CometBFT)
}

// versionText is writeVersion's output, for --version.
func versionText(in buildinfo.Info) string {
	var b strings.Builder
	writeVersion(&b, in)
	return b.String()
}
