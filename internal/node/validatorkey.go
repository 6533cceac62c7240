package node

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/privval"

	"github.com/iotledger/iotledger/internal/keystore"
)

// ValidatorKeyName is the name a validator's consensus key goes by as a
// signing key (keystore.Key.Name), in logs and messages.
const ValidatorKeyName = "validator"

// LoadValidatorKey reads the home's consensus key (config.toml's
// priv_validator_key_file, config/priv_validator_key.json by default), for
// the transactions a validator signs: proposals and approvals of validator
// set changes, and a new validator's consent. Like the node, it refuses a
// key file that group or others can read.
func LoadValidatorKey(home string) (*keystore.Key, error) {
	cc, err := LoadCometConfig(home)
	if err != nil {
		return nil, err
	}
	p := cc.PrivValidatorKeyFile()
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("node: validator key %s: %w; this command runs on a validator's home (--home)", p, err)
	}
	if m := st.Mode().Perm(); m&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %v; run chmod 600 %s", ErrKeyFileMode, p, m, p)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("node: validator key: %w", err)
	}
	var k privval.FilePVKey
	if err := cmtjson.Unmarshal(b, &k); err != nil {
		return nil, fmt.Errorf("node: validator key %s: %w", p, err)
	}
	if k.PrivKey == nil || len(k.PrivKey.Bytes()) != ed25519.PrivateKeySize {
		return nil, errors.New("node: validator key " + p + " is not an Ed25519 key; iotledger's validators hold Ed25519 keys")
	}
	return &keystore.Key{Name: ValidatorKeyName, Private: ed25519.PrivateKey(k.PrivKey.Bytes())}, nil
}
