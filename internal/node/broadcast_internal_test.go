package node

import (
	"errors"
	"fmt"
	"testing"

	"github.com/cometbft/cometbft/mempool"
	rpccore "github.com/cometbft/cometbft/rpc/core"
)

// notNow knows CometBFT's "take nothing now" errors, as errors and as the
// text broadcast_tx_commit flattens them to; nothing else.
func TestNotNow(t *testing.T) {
	full := mempool.ErrMempoolIsFull{NumTxs: 10, MaxTxs: 10}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{full, true},
		{fmt.Errorf("error on broadcastTxCommit: %v", full), true},
		{rpccore.ErrEndpointClosedCatchingUp, true},
		{fmt.Errorf("rpc: %v", rpccore.ErrEndpointClosedCatchingUp), true},
		{mempool.ErrTxInCache, false},
		{errors.New("connection refused"), false},
	} {
		if got := notNow(tc.err); got != tc.want {
			t.Errorf("notNow(%q) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
