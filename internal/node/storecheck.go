package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"syscall"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/store"
	"github.com/cometbft/cometbft/types"

	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/audit"
	"github.com/iotledger/iotledger/internal/state"
)

// Store check modes ([store_check] mode).
const (
	StoreCheckRecent = "recent"
	StoreCheckFull   = "full"
	StoreCheckOff    = "off"
)

// StoreCheckConfig is the check of the app's store against the headers
// the validators committed, which Start runs before CometBFT starts (so
// before the node signs anything). See the [store_check] section that
// Init writes for the reasons behind the defaults.
type StoreCheckConfig struct {
	// Mode is recent (the newest Readings readings, at most Blocks
	// blocks), full (everything, as `iotledger audit` does) or off.
	Mode     string `toml:"mode"`
	Readings uint64 `toml:"readings"`
	Blocks   int64  `toml:"blocks"`
}

// DefaultStoreCheck: rehash the newest million readings, over at most
// 100,000 blocks. BenchmarkAudit (internal/tlog) rehashes a reading in
// about 2.2 µs on a 2-core machine, so this costs about 2 s of start-up
// at most, whatever the store's size; a store smaller than both bounds is
// checked whole.
func DefaultStoreCheck() StoreCheckConfig {
	return StoreCheckConfig{Mode: StoreCheckRecent, Readings: 1_000_000, Blocks: 100_000}
}

func (c StoreCheckConfig) validate() error {
	switch c.Mode {
	case StoreCheckRecent:
		if c.Blocks < 1 {
			return fmt.Errorf("config: store_check.blocks is %d, want at least 1 (the last block), or store_check.mode = \"full\"", c.Blocks)
		}
	case StoreCheckFull, StoreCheckOff:
	default:
		return fmt.Errorf("config: store_check.mode %q, want recent, full or off", c.Mode)
	}
	return nil
}

// StoreMismatchError is why Start refused to run: the store disagrees with
// the committed headers.
type StoreMismatchError struct {
	Home   string
	Report *audit.Report
}

func (e *StoreMismatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "node: the store %s does not hold what the validators committed: %s", AppDBDir(e.Home), e.Report.Findings[0])
	if n := len(e.Report.Findings) - 1; n > 0 {
		fmt.Fprintf(&b, " (and %d more)", n)
	}
	fmt.Fprintf(&b, "; the node refuses to start rather than sign from a changed store. Run `iotledger audit --home %s` for the full report, "+
		"then restore the home's data folder from a backup or resync it from the other validators (README: \"The start-time store check\")", e.Home)
	return b.String()
}

// checkStore runs the start check on the opened app. It opens CometBFT's
// block store for the committed headers and closes it again before
// CometBFT opens it. It also returns how many blocks the app store lacks
// against the block store (CometBFT replays them next), and warns once
// when it lacks any: the app store went back (a damaged or lost log
// file), which would otherwise pass unseen.
func checkStore(ctx context.Context, home string, cc *cmtcfg.Config, a *app.App, c StoreCheckConfig, log *slog.Logger, faults *storeFaults) (behind int64, err error) {
	bdb, err := cometDBProvider(ctx, home, log, faults, false)(&cmtcfg.DBContext{ID: "blockstore", Config: cc})
	if err != nil {
		return 0, err
	}
	defer bdb.Close()
	var bs *store.BlockStore
	if err := guard(faults, func() error { bs = store.NewBlockStore(bdb); return nil }); err != nil {
		return 0, err
	}
	if h := a.Meta().Height; bs.Height() > h {
		behind = bs.Height() - h
		log.Warn(fmt.Sprintf("the app store is %d blocks behind CometBFT's block store: CometBFT replays them now", behind),
			"app_store_height", h, "block_store_height", bs.Height(), "blocks_to_replay", behind,
			"why", "the app store lost its newest writes (a damaged or missing log file in "+AppDBDir(home)+", or a lost disk cache); nothing committed is lost, the blocks are executed again")
	}
	if c.Mode == StoreCheckOff {
		log.Warn("store check is off ([store_check] mode = \"off\"): the store is not compared with the committed headers before the node signs")
		return behind, nil
	}
	if a.Meta().Height == 0 {
		return behind, nil
	}
	began := time.Now()
	gen, err := types.GenesisDocFromFile(cc.GenesisFile())
	if err != nil {
		return behind, fmt.Errorf("node: store check: %w", err)
	}
	from := int64(1)
	if c.Mode == StoreCheckRecent {
		if from, err = audit.Window(a.Reader(), c.Readings, c.Blocks); err != nil {
			return behind, fmt.Errorf("node: store check: %w", err)
		}
	}
	// Headers below the block store's base (pruned, or before a state
	// sync) are not there to compare with: start no earlier.
	if b := bs.Base(); b > from {
		from = b
	}
	var r *audit.Report
	err = guard(faults, func() (err error) {
		r, err = audit.From(ctx, a.Reader(), from, state.GenesisDigest(gen.ChainID, canonicalAppState(gen.AppState)), blockStoreHeaders(bs))
		return err
	})
	switch {
	case faults.Err() != nil:
		return behind, faults.Err()
	case ctx.Err() != nil:
		return behind, &StartInterruptedError{Step: "checking the store against the committed headers"}
	case err != nil:
		return behind, fmt.Errorf("node: store check: %w; run `iotledger audit --home %s`", err, home)
	case len(r.Findings) > 0:
		return behind, &StoreMismatchError{Home: home, Report: r}
	}
	log.Info("store matches the committed headers", "mode", c.Mode, "blocks", fmt.Sprintf("%d-%d", r.From, r.From+r.Blocks-1),
		"readings_rehashed", r.Leaves, "headers_compared", r.Headers, "took", time.Since(began).Round(time.Millisecond))
	return behind, nil
}

// guard runs f, which reads or writes a store through CometBFT's code:
// that code panics on any store error, and a damaged table has been
// reported to faults by then (faultDB). guard turns such a panic into the
// fault, and one for a full disk into a DiskFullError; any other panic
// goes on.
func guard(faults *storeFaults, f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if ferr := faults.Err(); ferr != nil {
				err = ferr
				return
			}
			if e, ok := p.(error); ok && isNoSpace(e) {
				faults.report(diskFull(faults.home, e))
				err = faults.Err()
				return
			}
			if s := fmt.Sprint(p); strings.Contains(s, syscall.ENOSPC.Error()) {
				faults.report(diskFull(faults.home, errors.New(s)))
				err = faults.Err()
				return
			}
			panic(p)
		}
	}()
	return f()
}

// blockStoreHeaders answers HeaderAppHash from CometBFT's block store:
// header h+1 carries block h's app hash. A header above the store's height
// (not committed yet) or below its base (pruned) is not there.
func blockStoreHeaders(bs *store.BlockStore) audit.HeaderAppHash {
	return func(h int64) ([]byte, bool, error) {
		if h+1 > bs.Height() || h+1 < bs.Base() {
			return nil, false, nil
		}
		m := bs.LoadBlockMeta(h + 1)
		if m == nil {
			return nil, false, errors.New("node: block store has no header for block " + fmt.Sprint(h+1))
		}
		return m.Header.AppHash, true, nil
	}
}
