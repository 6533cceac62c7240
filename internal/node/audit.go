package node

import (
	"encoding/json"
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
	unlock, err := lockHome(home)
	if err != nil {
		return nil, err
	}
	defer unlock()
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
	return a.Audit(app.GenesisDigest(gen.ChainID, canonicalAppState(gen.AppState)), blockStoreHeaders(store.NewBlockStore(bdb)))
}

// canonicalAppState is the app_state bytes as InitChain receives them.
func canonicalAppState(s json.RawMessage) []byte { return []byte(s) }
