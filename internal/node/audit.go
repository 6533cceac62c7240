package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/store"
	"github.com/cometbft/cometbft/types"

	"github.com/iotledger/iotledger/internal/audit"
	"github.com/iotledger/iotledger/internal/query"
	"github.com/iotledger/iotledger/internal/state"
)

// AuditReport is what Audit checked and found: first the tables of every
// store, block by block; then, when they are sound, every block's log
// root, state digest and app hash (the embedded app report).
type AuditReport struct {
	audit.Report
	Stores  int          // stores whose tables were checked
	Tables  int          // tables checked
	Damaged []TableFault // tables that fail their checks
	// StoreHeight is the block store's height; when it is above the app
	// store's (Blocks), the node replays the difference when it starts.
	StoreHeight int64
}

// Audit checks a stopped node's stores. It reads every block of every
// table of the app store and of CometBFT's stores (blockstore.db,
// state.db, tx_index.db, evidence.db, ...) and checks its checksum, so a
// changed byte is found wherever it lies; when every table is sound it
// recomputes every block's log root, state digest and app hash from the
// stored readings and change records, and compares them with the headers
// CometBFT committed. The stores are opened read-only for the tables
// (an audit writes nothing there), and the block store read-write for the
// headers, as CometBFT's code needs. It refuses a disk Start would refuse
// (DiskFullError), and stops when ctx ends.
func Audit(ctx context.Context, home string) (*AuditReport, error) {
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
	if err := checkDiskSpace(home); err != nil {
		return nil, err
	}
	faults := newStoreFaults(home)
	quiet := slog.New(slog.DiscardHandler)
	db, err := openAppDB(ctx, home, quiet, true, faults, nil)
	if err != nil {
		return nil, auditOpenErr(err)
	}
	defer db.Close()
	reader, openErr := query.Open(db)
	if openErr == nil {
		faults.reader.Store(reader)
	}

	r := &AuditReport{}
	tables, err := appTables(db, AppDBDir(home))
	if err != nil {
		return nil, fmt.Errorf("node: list the tables of %s: %w", AppDBDir(home), err)
	}
	r.Stores++
	r.Tables += len(tables)
	if r.Damaged, err = checkTables(ctx, tables, openV2, storeKeys{appKey, appKeyNamer(faults.reader.Load())}); err != nil {
		return nil, err
	}
	for _, dir := range cometStores(home) {
		r.Stores++
		tables, err := cometTables(dir)
		if err != nil {
			r.Damaged = append(r.Damaged, TableFault{File: dir, What: "the store does not open: " + firstLine(err)})
			continue
		}
		r.Tables += len(tables)
		damaged, err := checkTables(ctx, tables, openV1, storeKeys{printable, cometKeyNamer})
		if err != nil {
			return nil, err
		}
		r.Damaged = append(r.Damaged, damaged...)
	}
	if len(r.Damaged) > 0 {
		return r, nil // the roots cannot be recomputed from damaged tables
	}
	if openErr != nil {
		if f := faults.Err(); f != nil {
			return nil, f
		}
		return nil, openErr
	}

	bdb, err := cometDBProvider(ctx, home, quiet, faults, false)(&cmtcfg.DBContext{ID: "blockstore", Config: cc})
	if err != nil {
		return nil, auditOpenErr(err)
	}
	defer bdb.Close()
	var rep *audit.Report
	err = guard(faults, func() (err error) {
		bs := store.NewBlockStore(bdb)
		r.StoreHeight = bs.Height()
		rep, err = audit.Full(ctx, reader, state.GenesisDigest(gen.ChainID, canonicalAppState(gen.AppState)), blockStoreHeaders(bs))
		return err
	})
	if f := faults.Err(); f != nil {
		return nil, f
	}
	if err != nil {
		return nil, err
	}
	r.Report = *rep
	return r, nil
}

// auditOpenErr adds to a store that does not open the likeliest reason.
func auditOpenErr(err error) error {
	var full *DiskFullError
	var corrupt *StoreCorruptError
	var interrupted *StartInterruptedError
	if errors.As(err, &full) || errors.As(err, &corrupt) || errors.As(err, &interrupted) {
		return err
	}
	return fmt.Errorf("%w (is the node still running? stop it first)", err)
}

// canonicalAppState is the app_state bytes as InitChain receives them.
func canonicalAppState(s json.RawMessage) []byte { return []byte(s) }
