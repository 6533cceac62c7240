package cli

import (
	"crypto/ed25519"

	"github.com/iotledger/iotledger/internal/keystore"
)

func signWith(k *keystore.Key, msg []byte) []byte { return ed25519.Sign(k.Private, msg) }
