package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cometbft/cometbft/mempool"
	rpcclient "github.com/cometbft/cometbft/rpc/client"

	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/keystore"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/tx"
)

// txSender signs account transactions with the signer's next nonce and
// sends them, waiting for the block that commits them: through the node's
// API (POST /v1/txs) for commands, or through CometBFT's in-process RPC for
// dev.
type txSender struct {
	chainID string
	nonce   func(ctx context.Context, addr string) (uint64, error)
	// submit returns the block height (0: not committed), the result code
	// and its log.
	submit func(ctx context.Context, raw []byte) (int64, uint32, string, error)
}

// txSender sends through the API at the command's --api address.
func (e *env) txSender(ctx context.Context) (*txSender, error) {
	c := e.client()
	st, err := c.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("reach the node's API: %w; is the node running? (--api sets the address)", err)
	}
	return &txSender{
		chainID: st.ChainID,
		nonce: func(ctx context.Context, addr string) (uint64, error) {
			a, err := c.Account(ctx, addr, 1, "")
			if err != nil {
				return 0, err
			}
			return uint64(a.Nonce), nil
		},
		submit: func(ctx context.Context, raw []byte) (int64, uint32, string, error) {
			r, err := c.SubmitTx(ctx, raw)
			if err != nil {
				return 0, 0, "", err
			}
			return r.Height, r.Code, r.Log, nil
		},
	}, nil
}

// newTxSender sends through CometBFT's RPC client c (dev uses the node's
// in-process one).
func newTxSender(ctx context.Context, c rpcclient.Client) (*txSender, error) {
	st, err := c.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("reach the node's CometBFT RPC: %w", err)
	}
	return &txSender{
		chainID: st.NodeInfo.Network,
		nonce: func(ctx context.Context, addr string) (uint64, error) {
			q, err := c.ABCIQuery(ctx, "/accounts/"+addr, nil)
			if err != nil {
				return 0, err
			}
			var acct state.Account
			if err := json.Unmarshal(q.Response.Value, &acct); err != nil {
				return 0, errors.New(q.Response.Log)
			}
			return acct.Nonce, nil
		},
		submit: func(ctx context.Context, raw []byte) (int64, uint32, string, error) {
			r, err := c.BroadcastTxCommit(ctx, raw)
			var invalid mempool.ErrInvalidTx
			if errors.As(err, &invalid) {
				return 0, invalid.Code, invalid.Log, nil
			}
			if err != nil {
				return 0, 0, "", err
			}
			if r.CheckTx.Code != 0 {
				return 0, r.CheckTx.Code, r.CheckTx.Log, nil
			}
			return r.Height, r.TxResult.Code, r.TxResult.Log, nil
		},
	}, nil
}

// send signs a transaction with the account's next nonce and waits for it
// to be committed. A refusal is an error naming the rule.
func (s *txSender) send(ctx context.Context, k *keystore.Key, typ tx.Type, fields any) (int64, error) {
	h, _, err := s.sendLog(ctx, k, typ, fields)
	return h, err
}

// sendLog is send, and also returns the log of the committed result: what
// the ledger did, such as "deployed ctr-3".
func (s *txSender) sendLog(ctx context.Context, k *keystore.Key, typ tx.Type, fields any) (int64, string, error) {
	nonce, err := s.nonce(ctx, k.Address())
	if err != nil {
		return 0, "", fmt.Errorf("query account %s: %w", k.Address(), err)
	}
	raw, err := tx.Sign(k.Private, typ, s.chainID, nonce, fields)
	if err != nil {
		return 0, "", err
	}
	h, code, log, err := s.submit(ctx, raw)
	if err != nil {
		return 0, "", fmt.Errorf("send %s: %w", typ, err)
	}
	switch {
	case code != 0 && h == 0:
		return 0, log, fmt.Errorf("%s refused (%s): %s", typ, app.Code(code), log)
	case code != 0:
		return h, log, fmt.Errorf("%s refused in block %d (%s): %s", typ, h, app.Code(code), log)
	}
	return h, log, nil
}
