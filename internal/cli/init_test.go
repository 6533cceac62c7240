package cli_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/cometbft/cometbft/types"
	"github.com/google/go-cmp/cmp"
)

func TestInit(t *testing.T) {
	home := t.TempDir()
	out := mustRun(t, "init", "--home", home, "--chain-id", "plant-7", "--moniker", "node-a")

	genesis := filepath.Join(home, "config", "genesis.json")
	want := fmt.Sprintf("initialised %[1]s\n  chain id: plant-7\n  genesis:  %[2]s\n  config:   %[1]s/config/iotledger.toml and config.toml\nstart it with: iotledger start --home %[1]s\n", home, genesis)
	if diff := cmp.Diff(out, want); diff != "" {
		t.Errorf("init output (-got +want):\n%s", diff)
	}
	g, err := types.GenesisDocFromFile(genesis)
	if err != nil {
		t.Fatalf("init wrote no valid genesis: %v", err)
	}
	if g.ChainID != "plant-7" || len(g.Validators) != 1 || g.Validators[0].Name != "node-a" {
		t.Errorf("genesis: chain %q, validators %+v; want chain plant-7 with one validator node-a", g.ChainID, g.Validators)
	}
	for _, f := range []string{"config.toml", "iotledger.toml", "priv_validator_key.json", "node_key.json"} {
		if _, err := os.Stat(filepath.Join(home, "config", f)); err != nil {
			t.Errorf("init did not write %s: %v", f, err)
		}
	}
	st, err := os.Stat(filepath.Join(home, "config", "priv_validator_key.json"))
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("validator key has mode %v, want it private", perm)
	}

	// A second init would replace the chain's identity: refused, and the
	// genesis is left as it was.
	before, err := os.ReadFile(genesis)
	if err != nil {
		t.Fatal(err)
	}
	mustFail(t, 1, []string{home, "already initialised"}, "init", "--home", home, "--chain-id", "other")
	after, err := os.ReadFile(genesis)
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(before) {
		t.Errorf("a refused init changed %s", genesis)
	}
}

func TestInitDefaultChainID(t *testing.T) {
	homes := []string{t.TempDir(), t.TempDir()}
	var ids []string
	for _, home := range homes {
		out := mustRun(t, "init", "--home", home)
		m := regexp.MustCompile(`(?m)^  chain id: (iotledger-[0-9a-f]{6})$`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("init output does not give a chain id iotledger-<6 hex>:\n%s", out)
		}
		g, err := types.GenesisDocFromFile(filepath.Join(home, "config", "genesis.json"))
		if err != nil {
			t.Fatal(err)
		}
		if g.ChainID != m[1] {
			t.Errorf("init printed chain id %s, genesis holds %s", m[1], g.ChainID)
		}
		ids = append(ids, m[1])
	}
	if ids[0] == ids[1] {
		t.Errorf("two inits chose the same chain id %s", ids[0])
	}
}
