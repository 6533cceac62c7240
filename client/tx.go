package client

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/tx"
	"github.com/iotledger/iotledger/verdict"
)

// TxError is a signed transaction the ledger refused: the rule (Code, a
// verdict.Code whose name the API calls the reason) and the ledger's
// words, which say what to do. Height is the block that refused it (its
// nonce spent there), 0 when it was refused before any block.
type TxError struct {
	Type   tx.Type
	Code   verdict.Code
	Height int64
	Log    string
}

func (e *TxError) Error() string {
	if e.Height > 0 {
		return fmt.Sprintf("client: %s refused in block %d (%s): %s", e.Type, e.Height, e.Code, e.Log)
	}
	return fmt.Sprintf("client: %s refused (%s): %s", e.Type, e.Code, e.Log)
}

// txRetries bounds the sends of a transaction whose nonce another
// transaction of the same account took in the meantime.
const txRetries = 3

// chain holds the node's chain id, asked once.
type chain struct {
	mu sync.Mutex
	id string
}

// ChainID returns the chain id of the node (from Status, asked once).
func (c *Client) ChainID(ctx context.Context) (string, error) {
	c.chain.mu.Lock()
	defer c.chain.mu.Unlock()
	if c.chain.id != "" {
		return c.chain.id, nil
	}
	st, err := c.Status(ctx)
	if err != nil {
		return "", err
	}
	c.chain.id = st.ChainID
	return st.ChainID, nil
}

// Send signs a transaction of type typ with fields (a pointer to package
// tx's struct of that type) with key, an account's Ed25519 key, at the
// account's next nonce on the node's chain, sends it and waits for the
// block that commits it. A refusal is a *TxError. A nonce that another
// transaction of the account took meanwhile is fetched again, up to three
// times.
func (c *Client) Send(ctx context.Context, key ed25519.PrivateKey, typ tx.Type, fields any) (*TxCommit, error) {
	chainID, err := c.ChainID(ctx)
	if err != nil {
		return nil, err
	}
	acct := address.Account(key.Public().(ed25519.PublicKey))
	for attempt := 1; ; attempt++ {
		a, err := c.AccountPage(ctx, acct, 1, "")
		if err != nil {
			return nil, fmt.Errorf("client: nonce of %s: %w", acct, err)
		}
		raw, err := tx.Sign(key, typ, chainID, uint64(a.Nonce), fields)
		if err != nil {
			return nil, fmt.Errorf("client: sign %s: %w", typ, err)
		}
		r, err := c.SubmitTx(ctx, raw)
		if err != nil {
			return nil, err
		}
		if r.Code == 0 {
			return r, nil
		}
		te := &TxError{Type: typ, Code: verdict.Code(r.Code), Log: r.Log}
		if r.Committed {
			te.Height = r.Height
		}
		if te.Code == verdict.CodeWrongNonce && attempt < txRetries {
			continue
		}
		return r, te
	}
}

// IsRefused reports whether err is a *TxError with code.
func IsRefused(err error, code verdict.Code) bool {
	te, ok := errors.AsType[*TxError](err)
	return ok && te.Code == code
}
