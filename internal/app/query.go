package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/iotledger/iotledger/internal/state"
)

// Query answers ABCI queries (CometBFT's abci_query): path
// "/accounts/ADDR" returns the account as JSON, so a client can learn its
// next nonce through CometBFT's RPC; "/snapshots" the stored snapshots.
func (a *App) Query(_ context.Context, req *abci.QueryRequest) (*abci.QueryResponse, error) {
	if !a.enter() {
		return &abci.QueryResponse{Code: uint32(CodeNodeStopping), Log: "the node is stopping"}, nil
	}
	defer a.leave()
	if req.Path == "/snapshots" {
		return a.snapshotsQuery()
	}
	addr, ok := strings.CutPrefix(req.Path, "/accounts/")
	if !ok {
		return &abci.QueryResponse{Code: uint32(CodeMalformedTx), Log: fmt.Sprintf("unknown query path %q; known: /accounts/ADDR, /snapshots", req.Path)}, nil
	}
	acct, err := state.GetAccount(a.committed(), addr)
	if err != nil {
		return nil, err
	}
	if acct == nil {
		acct = &state.Account{Address: addr}
	}
	b, err := json.Marshal(acct)
	if err != nil {
		return nil, err
	}
	return &abci.QueryResponse{Value: b, Height: a.Meta().Height}, nil
}
