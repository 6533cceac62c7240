package cli

import (
	"context"
	"encoding/json"
	"fmt"

	rpcclient "github.com/cometbft/cometbft/rpc/client"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/keystore"
	"github.com/iotledger/iotledger/internal/registry"
	"github.com/iotledger/iotledger/tx"
)

// txSender signs account transactions and sends them through CometBFT's
// RPC, waiting for the block that commits them.
type txSender struct {
	rpc     rpcclient.Client
	chainID string
}

func (e *env) txSender(ctx context.Context) (*txSender, error) {
	c, err := rpchttp.New(e.rpcAddr())
	if err != nil {
		return nil, err
	}
	return newTxSender(ctx, c)
}

func newTxSender(ctx context.Context, c rpcclient.Client) (*txSender, error) {
	st, err := c.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("reach the node's CometBFT RPC: %w; is the node running? (--rpc sets the address)", err)
	}
	return &txSender{rpc: c, chainID: st.NodeInfo.Network}, nil
}

// send signs a transaction with the account's next nonce and waits for it
// to be committed. A refusal is an error naming the rule.
func (s *txSender) send(ctx context.Context, k *keystore.Key, typ tx.Type, fields any) (int64, error) {
	q, err := s.rpc.ABCIQuery(ctx, "/accounts/"+k.Address(), nil)
	if err != nil {
		return 0, fmt.Errorf("query account %s: %w", k.Address(), err)
	}
	var acct registry.Account
	if err := json.Unmarshal(q.Response.Value, &acct); err != nil {
		return 0, fmt.Errorf("query account %s: %s", k.Address(), q.Response.Log)
	}
	raw, err := tx.Sign(k.Private, typ, s.chainID, acct.Nonce, fields)
	if err != nil {
		return 0, err
	}
	r, err := s.rpc.BroadcastTxCommit(ctx, raw)
	if err != nil {
		return 0, fmt.Errorf("send %s: %w", typ, err)
	}
	if r.CheckTx.Code != 0 {
		return 0, fmt.Errorf("%s refused (%s): %s", typ, app.Code(r.CheckTx.Code), r.CheckTx.Log)
	}
	if r.TxResult.Code != 0 {
		return r.Height, fmt.Errorf("%s refused in block %d (%s): %s", typ, r.Height, app.Code(r.TxResult.Code), r.TxResult.Log)
	}
	return r.Height, nil
}
