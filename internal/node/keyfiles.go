package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	cmtcfg "github.com/cometbft/cometbft/config"

	"github.com/iotledger/iotledger/internal/keystore"
)

// ErrKeyFileMode means a key file in the home can be read or written by
// group or others: the node refuses to start until it is 0600.
var ErrKeyFileMode = errors.New("node: key file readable or writable by group or others")

// keyFiles lists the secret files of a home the node checks before it
// starts: the validator and node keys, the named keys, and the private
// keys of the API's and the MQTT broker's TLS certificates when set.
func keyFiles(cc *cmtcfg.Config, cfg Config) ([]string, error) {
	files := []string{cc.PrivValidatorKeyFile(), cc.NodeKeyFile()}
	ents, err := os.ReadDir(keystore.Dir(cc.RootDir))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("node: list the keys in %s: %w", keystore.Dir(cc.RootDir), err)
	}
	for _, e := range ents {
		if !e.IsDir() && filepath.Ext(e.Name()) == ".json" {
			files = append(files, filepath.Join(keystore.Dir(cc.RootDir), e.Name()))
		}
	}
	for _, p := range []string{cfg.API.TLSKey, cfg.MQTT.TLSKey} {
		if p != "" {
			files = append(files, homePath(cc.RootDir, p))
		}
	}
	return files, nil
}

// checkKeyFiles refuses a home whose key files are missing or open to
// group or others, naming the file and the fix.
func checkKeyFiles(cc *cmtcfg.Config, cfg Config) error {
	files, err := keyFiles(cc, cfg)
	if err != nil {
		return err
	}
	for _, p := range files {
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("node: key file %s: %w; restore it from a backup, or fix its path in iotledger.toml", p, err)
		}
		if m := st.Mode().Perm(); m&0o077 != 0 {
			return fmt.Errorf("%w: %s has mode %v; run chmod 600 %s", ErrKeyFileMode, p, m, p)
		}
	}
	return nil
}

// homePath resolves a path from the configuration: relative paths are
// relative to the home.
func homePath(home, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(home, p)
}
