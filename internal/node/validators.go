package node

import (
	"context"
	"fmt"

	"github.com/cometbft/cometbft/types"

	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/receipt"
)

// genesisValidators converts a genesis document's validators for
// app.SetGenesisValidators (stores from before validator set changes).
func genesisValidators(g *types.GenesisDoc) []state.Validator {
	out := make([]state.Validator, 0, len(g.Validators))
	for _, v := range g.Validators {
		out = append(out, state.Validator{Key: v.PubKey.Bytes(), Power: v.Power})
	}
	return out
}

// trace returns the validator trace of a receipt whose header is of block
// h: for each change of the set that takes effect at a block C up to h,
// blocks C-1 and C (C only below h: block h is the receipt's own), each
// with its commit and validator set from CometBFT's stores. Empty when the
// set never changed up to h.
func (n *Node) trace(ctx context.Context, h int64) ([]receipt.LightBlock, error) {
	changes, err := n.app.Reader().ValidatorChanges(h)
	if err != nil {
		return nil, err
	}
	var heights []int64
	for _, c := range changes {
		for _, x := range []int64{c.Height - 1, c.Height} {
			if x < h && (len(heights) == 0 || heights[len(heights)-1] < x) {
				heights = append(heights, x)
			}
		}
	}
	out := make([]receipt.LightBlock, 0, len(heights))
	if len(heights) > 0 {
		// A node that joined by state sync has no blocks below its first:
		// the trace, like the receipt's own block, must come from a node
		// with the full history.
		if base := n.cmt.BlockStore().Base(); heights[0] < base {
			return nil, &api.BlockNotOnNodeError{Height: heights[0], First: base}
		}
	}
	for _, x := range heights {
		lb, err := n.lightBlock(ctx, x)
		if err != nil {
			return nil, fmt.Errorf("%w (a validator trace)", err)
		}
		out = append(out, lb)
	}
	return out, nil
}
