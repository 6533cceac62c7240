package node

import (
	"fmt"
	"log/slog"
	"path/filepath"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/types"

	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/snapshot"
)

// SnapshotConfig is [snapshots] in iotledger.toml: snapshots of the app
// store that joining nodes restore by state sync.
type SnapshotConfig struct {
	// Interval takes a snapshot after every Interval-th block; 0 none.
	Interval int64 `toml:"interval"`
	// KeepRecent is how many snapshots are kept.
	KeepRecent int `toml:"keep_recent"`
}

// DefaultSnapshots is [snapshots] of a new node; iotledger.toml says why.
func DefaultSnapshots() SnapshotConfig { return SnapshotConfig{Interval: 10000, KeepRecent: 2} }

// Validate names the field of the first problem.
func (c SnapshotConfig) Validate() error {
	if c.Interval < 0 {
		return fmt.Errorf("config: snapshots.interval is %d, want blocks between snapshots, or 0 for none", c.Interval)
	}
	if c.Interval > 0 && c.KeepRecent < 1 {
		return fmt.Errorf("config: snapshots.keep_recent is %d, want at least 1 (or snapshots.interval = 0 for no snapshots)", c.KeepRecent)
	}
	return nil
}

// SnapshotDir is where a home's snapshots are written.
func SnapshotDir(home string) string { return filepath.Join(home, "data", "snapshots") }

// setupSnapshots gives the app its snapshot store and the genesis it
// audits a restored store from.
func setupSnapshots(home string, cc *cmtcfg.Config, c SnapshotConfig, a *app.App, log *slog.Logger) error {
	gen, err := types.GenesisDocFromFile(cc.GenesisFile())
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	store, err := snapshot.Open(SnapshotDir(home))
	if err != nil {
		return err
	}
	a.SetSnapshots(app.SnapshotOptions{Store: store, Interval: c.Interval, KeepRecent: c.KeepRecent,
		ChainID: gen.ChainID, AppState: canonicalAppState(gen.AppState), Log: log.With("component", "snapshots")})
	return nil
}
