package node_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iotledger/iotledger/internal/keystore"
	"github.com/iotledger/iotledger/internal/node"
)

// secretFiles are the key files Init (and testnet) writes, and the named
// key this test adds.
func secretFiles(home string) []string {
	return []string{
		filepath.Join(home, "config", "priv_validator_key.json"),
		filepath.Join(home, "config", "node_key.json"),
		filepath.Join(home, "keys", "owner.json"),
	}
}

func TestKeyFilesAreWrittenPrivate(t *testing.T) {
	dir := t.TempDir()
	// Testnet checks its ports are free: other tests run beside this one,
	// so try a few random bases below the ephemeral range.
	var nodes []node.TestnetNode
	var err error
	for try := 0; ; try++ {
		out := filepath.Join(dir, fmt.Sprintf("net%d", try))
		nodes, _, err = node.Testnet(out, node.TestnetOptions{Validators: 2, ChainID: "modes", BasePort: 20000 + rand.IntN(1200)*10})
		if err == nil {
			break
		}
		if !strings.Contains(err.Error(), "is taken") || try == 5 {
			t.Fatal(err)
		}
	}
	homes := []string{filepath.Join(dir, "single")}
	if _, err := node.Init(homes[0], node.InitOptions{ChainID: "modes", Moniker: "t"}); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		homes = append(homes, n.Home)
	}
	for _, home := range homes {
		if _, err := keystore.New(home, "owner"); err != nil {
			t.Fatal(err)
		}
		for _, p := range secretFiles(home) {
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := st.Mode().Perm(), os.FileMode(0o600); got != want {
				t.Errorf("%s: mode %v, want %v", p, got, want)
			}
		}
	}
}

func TestStartRefusesOpenKeyFile(t *testing.T) {
	home := t.TempDir()
	if _, err := node.Init(home, node.InitOptions{ChainID: "modes", Moniker: "t"}); err != nil {
		t.Fatal(err)
	}
	if _, err := keystore.New(home, "owner"); err != nil {
		t.Fatal(err)
	}
	for _, p := range secretFiles(home) {
		for _, m := range []os.FileMode{0o640, 0o604, 0o620, 0o602} {
			t.Run(filepath.Base(p)+"/"+m.String(), func(t *testing.T) {
				if err := os.Chmod(p, m); err != nil {
					t.Fatal(err)
				}
				defer os.Chmod(p, 0o600)
				cfg := node.Default()
				cfg.API.Addr, cfg.RPCAddr, cfg.P2PAddr, cfg.MQTT.Addr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
				n, err := node.Start(t.Context(), home, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
				if err == nil {
					n.Close()
					t.Fatal("the node started with an open key file")
				}
				if !errors.Is(err, node.ErrKeyFileMode) {
					t.Errorf("got %v, want node.ErrKeyFileMode", err)
				}
				for _, want := range []string{p, "chmod 600 " + p} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not name %q", err, want)
					}
				}
			})
		}
	}
}
