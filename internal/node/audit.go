package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/store"
	"github.com/cometbft/cometbft/types"

	"github.com/iotledger/iotledger/internal/app"
)

// Audit checks a stopped node's stores: it recomputes every block's log
// root, state digest and app hash from the stored readings and change
// records, and compares them with the headers CometBFT committed.
func Audit(home string) (*app.AuditReport, error) {
	cc, err := LoadCometConfig(home)
	if err != nil {
		return nil, err
	}
	gen, err := types.GenesisDocFromFile(cc.GenesisFile())
	if err != nil {
		return nil, err
	}
	db, err := openAppDB(AppDBDir(home), slog.New(slog.DiscardHandler), true)
	if err != nil {
		return nil, fmt.Errorf("node: open store %s: %w (is the node still running? stop it first)", AppDBDir(home), err)
	}
	defer db.Close()
	a, err := app.Open(db, nil)
	if err != nil {
		return nil, err
	}
	bdb, err := cometDBProvider(slog.New(slog.DiscardHandler))(&cmtcfg.DBContext{ID: "blockstore", Config: cc})
	if err != nil {
		return nil, fmt.Errorf("node: open block store: %w (is the node still running? stop it first)", err)
	}
	defer bdb.Close()
	bs := store.NewBlockStore(bdb)
	return a.Audit(app.GenesisDigest(gen.ChainID, canonicalAppState(gen.AppState)), func(h int64) ([]byte, bool, error) {
		if h+1 > bs.Height() || h+1 < bs.Base() {
			// Not committed yet, or below the first block of a node
			// that joined by state sync: the block record stands in.
			return nil, false, nil
		}
		m := bs.LoadBlockMeta(h + 1)
		if m == nil {
			return nil, false, errors.New("node: block store has no header for block " + fmt.Sprint(h+1))
		}
		return m.Header.AppHash, true, nil
	})
}

// canonicalAppState is the app_state bytes as InitChain receives them.
func canonicalAppState(s json.RawMessage) []byte { return []byte(s) }
