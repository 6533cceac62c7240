package node

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/cometbft/cometbft/types"

	"github.com/iotledger/iotledger/internal/app"
)

// DefaultStateSyncThreshold is how many blocks a joining node would have to
// replay before it state-syncs instead (issue 5: more than 100,000).
const DefaultStateSyncThreshold = 100_000

// Sync modes of Join.
const (
	SyncAuto  = "auto"  // state sync above the threshold, else block sync
	SyncBlock = "block" // replay every block from genesis
	SyncState = "state" // restore the newest snapshot, then replay the blocks after it
)

// JoinOptions set up a home that joins a running network.
type JoinOptions struct {
	// RPC are CometBFT RPC URLs (http://HOST:PORT) of running nodes of the
	// network; the first is asked for the genesis, status and snapshots.
	RPC     []string
	Moniker string // default: the host name
	Config  Config // iotledger.toml; zero value means Default()
	// Sync is SyncAuto (default), SyncBlock or SyncState; Threshold is
	// SyncAuto's (0 means DefaultStateSyncThreshold).
	Sync      string
	Threshold int64
}

// Joined is what Join found and wrote.
type Joined struct {
	Genesis     *types.GenesisDoc
	GenesisHash string // hex SHA-256 of the genesis file written
	Height      int64  // the network's height when asked
	Peers       []string
	StateSync   bool
	Why         string // why block or state sync
	TrustHeight int64
	TrustHash   string
	RPCServers  []string
}

// Join creates a home for a node that joins the network the RPC URLs belong
// to: it takes the genesis from the first, sets as persistent peers that
// node and the peers it is connected to, and, if the node would otherwise
// replay more blocks than the threshold, turns on CometBFT's state sync
// with a trusted height and header hash taken from the newest snapshot the
// first node holds. The node gets its own node and validator keys (it is
// not a validator). It refuses a home that already has a genesis file.
func Join(ctx context.Context, home string, o JoinOptions) (*Joined, error) {
	if Initialized(home) {
		return nil, fmt.Errorf("node: %s is already initialised (it has %s); use another --home or remove it", home, GenesisFile(home))
	}
	if len(o.RPC) == 0 {
		return nil, errors.New("node: join: no RPC URL of a running node (--join http://HOST:PORT)")
	}
	switch o.Sync {
	case "":
		o.Sync = SyncAuto
	case SyncAuto, SyncBlock, SyncState:
	default:
		return nil, fmt.Errorf("node: join: sync mode %q; want auto, block or state (--sync)", o.Sync)
	}
	if o.Threshold <= 0 {
		o.Threshold = DefaultStateSyncThreshold
	}
	if o.Moniker == "" {
		o.Moniker, _ = os.Hostname()
	}
	if o.Config == (Config{}) {
		o.Config = Default()
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	urls := make([]string, len(o.RPC))
	for i, u := range o.RPC {
		var err error
		if urls[i], err = rpcURL(u); err != nil {
			return nil, err
		}
	}
	c, err := rpchttp.New(urls[0])
	if err != nil {
		return nil, fmt.Errorf("node: join %s: %w", urls[0], err)
	}
	g, err := c.Genesis(ctx)
	if err != nil {
		return nil, fmt.Errorf("node: join: ask %s for the genesis: %w; is it a running node's CometBFT RPC address (rpc.laddr in its config.toml)?", urls[0], err)
	}
	gen := g.Genesis
	st, err := c.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("node: join: status of %s: %w", urls[0], err)
	}
	if st.NodeInfo.Network != gen.ChainID {
		return nil, fmt.Errorf("node: join: %s runs chain %q but served the genesis of %q", urls[0], st.NodeInfo.Network, gen.ChainID)
	}
	j := &Joined{Genesis: gen, Height: st.SyncInfo.LatestBlockHeight}
	host := urlHost(urls[0])
	j.Peers = append(j.Peers, string(st.NodeInfo.ID())+"@"+dialAddr(st.NodeInfo.ListenAddr, host))
	j.RPCServers = append(j.RPCServers, urls...)
	if ni, err := c.NetInfo(ctx); err == nil {
		for _, p := range ni.Peers {
			j.Peers = append(j.Peers, string(p.NodeInfo.ID())+"@"+dialAddr(p.NodeInfo.ListenAddr, p.RemoteIP))
			if a := p.NodeInfo.Other.RPCAddress; a != "" {
				j.RPCServers = append(j.RPCServers, "http://"+dialAddr(a, p.RemoteIP))
			}
		}
	}
	j.Peers, j.RPCServers = unique(j.Peers), unique(j.RPCServers)

	switch {
	case o.Sync == SyncBlock:
		j.Why = "block sync asked for (--sync block)"
	case o.Sync == SyncAuto && j.Height <= o.Threshold:
		j.Why = fmt.Sprintf("the chain is at height %d, not above the state-sync threshold of %d blocks: block sync replays every block", j.Height, o.Threshold)
	default:
		snap, err := newestSnapshot(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("node: join: snapshots of %s: %w", urls[0], err)
		}
		switch {
		case snap == 0 && o.Sync == SyncState:
			return nil, fmt.Errorf("node: join: %s holds no snapshot to state-sync from ([snapshots] interval is 0 there, or the chain has not reached the first one); join by block sync (--sync block) or ask another node", urls[0])
		case snap == 0:
			j.Why = fmt.Sprintf("the chain is at height %d, above the threshold of %d, but %s holds no snapshot: block sync replays every block", j.Height, o.Threshold, urls[0])
		default:
			h := snap
			cm, err := c.Commit(ctx, &h)
			if err != nil {
				return nil, fmt.Errorf("node: join: header of block %d from %s: %w", h, urls[0], err)
			}
			j.StateSync, j.TrustHeight, j.TrustHash = true, h, cm.SignedHeader.Header.Hash().String()
			j.Why = fmt.Sprintf("the chain is at height %d: state sync restores the snapshot of block %d, then replays the blocks after it (%d now)", j.Height, h, j.Height-h)
			if o.Sync == SyncState {
				j.Why = fmt.Sprintf("state sync asked for (--sync state): restores the snapshot of block %d, then replays the blocks after it", h)
			}
			if len(j.RPCServers) < 2 {
				// CometBFT wants two RPC servers, a primary and a
				// witness to cross-check it; with one node known, it
				// is its own witness.
				j.RPCServers = append(j.RPCServers, j.RPCServers[0])
			}
		}
	}

	cfg := CometConfig(home)
	cfg.Moniker = o.Moniker
	cfg.P2P.PersistentPeers = strings.Join(j.Peers, ",")
	if j.StateSync {
		ss := cfg.StateSync
		ss.Enable, ss.RPCServers, ss.TrustHeight, ss.TrustHash = true, j.RPCServers, j.TrustHeight, j.TrustHash
	}
	note := fmt.Sprintf(joinConfigNote, urls[0], j.Why)
	if err := writeConfigs(cfg, o.Config, note); err != nil {
		return nil, err
	}
	if _, _, err := createKeys(cfg); err != nil {
		return nil, err
	}
	if err := gen.SaveAs(cfg.GenesisFile()); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(cfg.GenesisFile())
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	j.GenesisHash = hex.EncodeToString(sum[:])
	return j, nil
}

const joinConfigNote = `# This home joined a running network through %s (` + "`iotledger init --join`" + `):
# p2p.persistent_peers are that node and its peers; %s.
# With statesync.enable, the first start restores a snapshot that CometBFT's
# light client checks against statesync.trust_hash (the header of block
# trust_height, taken from that node) through statesync.rpc_servers; later
# starts ignore it.

`

// newestSnapshot asks a node's app for its snapshots (the "/snapshots"
// query) and returns the newest height, or 0 if it holds none.
func newestSnapshot(ctx context.Context, c *rpchttp.HTTP) (int64, error) {
	r, err := c.ABCIQuery(ctx, "/snapshots", nil)
	if err != nil {
		return 0, err
	}
	if r.Response.Code != 0 {
		return 0, fmt.Errorf("query /snapshots: %s", r.Response.Log)
	}
	var list []app.SnapshotSummary
	if err := json.Unmarshal(r.Response.Value, &list); err != nil {
		return 0, fmt.Errorf("query /snapshots: %w", err)
	}
	var h int64
	for _, s := range list {
		h = max(h, s.Height)
	}
	return h, nil
}

// rpcURL turns HOST:PORT, tcp://HOST:PORT or http(s)://HOST:PORT into an
// http(s) URL.
func rpcURL(s string) (string, error) {
	s = strings.TrimRight(s, "/")
	if rest, ok := strings.CutPrefix(s, "tcp://"); ok {
		s = "http://" + rest
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Port() == "" {
		return "", fmt.Errorf("node: join: %q is not an RPC URL; want http://HOST:PORT, a running node's CometBFT RPC address (rpc.laddr in its config.toml)", s)
	}
	return u.Scheme + "://" + u.Host, nil
}

func urlHost(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return p.Hostname()
}

// dialAddr turns a listen address (tcp://0.0.0.0:26656) into one to dial:
// an unspecified host is replaced by host, the address the node was reached at.
func dialAddr(listen, host string) string {
	a := listen
	if i := strings.Index(a, "://"); i >= 0 {
		a = a[i+3:]
	}
	h, port, err := net.SplitHostPort(a)
	if err != nil {
		return a
	}
	if ip := net.ParseIP(h); (h == "" || (ip != nil && ip.IsUnspecified())) && host != "" {
		h = host
	}
	return net.JoinHostPort(h, port)
}

func unique(in []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
