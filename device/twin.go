package device

import (
	"context"
	"crypto/ed25519"
	"fmt"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/tx"
)

// ReportState reports the device's state (its twin's reported side): a
// report_state transaction signed by the device's key, sent through the
// node's API (POST /v1/txs) with the key's next nonce, waiting for its
// block. id is the device's id ("" for the key's own). Set puts fields
// (numbers, text or bools), unset removes them. An error says why the
// ledger refused it.
func ReportState(ctx context.Context, c *client.Client, key ed25519.PrivateKey, id string, set map[string]any, unset []string) (*client.TxCommit, error) {
	pub := key.Public().(ed25519.PublicKey)
	if id == "" {
		id = address.Device(pub)
	}
	st, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	acct, err := c.Account(ctx, address.Account(pub), 1, "")
	if err != nil {
		return nil, err
	}
	raw, err := tx.Sign(key, tx.TypeReportState, st.ChainID, uint64(acct.Nonce), &tx.TwinPatch{Device: id, Set: set, Unset: unset})
	if err != nil {
		return nil, err
	}
	r, err := c.SubmitTx(ctx, raw)
	if err != nil {
		return nil, err
	}
	if !r.Committed || r.Code != 0 {
		return r, fmt.Errorf("device: report_state of %s refused (%s): %s", id, r.Name, r.Log)
	}
	return r, nil
}
