package cli

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/iotledger/iotledger/internal/keystore"
)

func keysCmd(e *env) *cobra.Command {
	c := &cobra.Command{Use: "keys", Short: "Manage Ed25519 keys in the home (files are 0600), with their accounts' encryption keys"}
	var x25519Only bool
	newCmd := &cobra.Command{
		Use:   "new NAME",
		Short: "Create a key, with an encryption key for private readings (X25519 + X-Wing unless --x25519-only)",
		Long: `new creates the Ed25519 key NAME (its account acc1... and, registered, its
device dev1...) and the account's encryption key for private readings: an
X25519 key and an X-Wing (ML-KEM-768 + X25519) seed, both in NAME's key
file. Stream keys are wrapped to the account with the hybrid post-quantum
KEM once it publishes that key (iotledger keys publish NAME); with
--x25519-only the key has no X-Wing part, and stream keys are wrapped to
it with X25519 alone.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := keystore.NewKey(e.homeDir(""), args[0], !x25519Only)
			if err != nil {
				return err
			}
			printKey(e, k)
			return nil
		},
	}
	newCmd.Flags().BoolVar(&x25519Only, "x25519-only", false, "make the encryption key X25519 only, without the hybrid X-Wing part")
	c.AddCommand(newCmd, keysImportCmd(e), keysExportCmd(e), keysPublishCmd(e), &cobra.Command{
		Use:   "list",
		Short: "List keys with their account address and device id",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home := e.homeDir("")
			names, err := keystore.List(home)
			if err != nil {
				return err
			}
			if len(names) == 0 {
				e.printf("no keys in %s; create one with `iotledger keys new NAME`\n", keystore.Dir(home))
			}
			for _, n := range names {
				k, err := keystore.Load(home, n)
				if err != nil {
					return err
				}
				e.printf("%-16s %s %s\n", n, k.Address(), k.DeviceID())
			}
			return nil
		},
	}, &cobra.Command{
		Use:   "show NAME",
		Short: "Show a key's public key, account address and device id",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := keystore.Load(e.homeDir(""), args[0])
			if err != nil {
				return err
			}
			printKey(e, k)
			return nil
		},
	})
	return c
}

func printKey(e *env, k *keystore.Key) {
	e.printf("name:       %s\npublic key: %s\naddress:    %s\ndevice id:  %s\n", k.Name, hex.EncodeToString(k.Public()), k.Address(), k.DeviceID())
	if k.Encryption == nil {
		e.printf("encryption: none yet (made when first needed, or by iotledger keys publish %s)\n", k.Name)
		return
	}
	e.printf("encryption: %s, x25519 %s (publish it with iotledger keys publish %s)\n", kemText(k.Encryption.Hybrid()), hex.EncodeToString(k.Encryption.Public().X25519), k.Name)
}

func keysImportCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "import NAME FILE",
		Short: "Add an Ed25519 key made elsewhere: a PKCS#8 PEM file, or the 32-byte seed as 64 hex characters (- reads stdin)",
		Long: `import stores, under NAME, an Ed25519 private key made by another tool or
for a device: a PKCS#8 file (PEM, as openssl genpkey -algorithm ed25519
writes it, or DER), or a file holding the key's 32-byte seed as 64 hex
characters. FILE - reads it from standard input. The key is kept as every
key of the home is (a 0600 file under HOME/keys); delete FILE afterwards if
nothing else needs it. RSA, EC, encrypted and public keys are refused.`,
		Example: "  openssl genpkey -algorithm ed25519 -out sensor.pem\n  iotledger keys import my-sensor sensor.pem",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, file := args[0], args[1]
			var b []byte
			var err error
			if file == "-" {
				b, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), 1<<20))
			} else {
				b, err = os.ReadFile(file)
			}
			if err != nil {
				return fmt.Errorf("keys import: %w", err)
			}
			seed, err := keystore.ParseSeed(b)
			if err != nil {
				return fmt.Errorf("keys import %s: %w", file, err)
			}
			k, err := keystore.Import(e.homeDir(""), name, seed)
			if err != nil {
				return err
			}
			printKey(e, k)
			return nil
		},
	}
}

func keysExportCmd(e *env) *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "export NAME",
		Short: "Write a key's private key as PKCS#8 PEM, to stdout or --out FILE (0600)",
		Long: `export writes the private key NAME as PKCS#8 PEM (-----BEGIN PRIVATE
KEY-----), which openssl and most libraries read: to provision a device, or
to move the key to another tool. Whoever holds it signs as this key's
account and device. With --out the file is created with mode 0600 and never
overwritten.`,
		Example: "  iotledger keys export my-sensor --out my-sensor.pem\n  openssl pkey -in my-sensor.pem -noout -text",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := keystore.Load(e.homeDir(""), args[0])
			if err != nil {
				return err
			}
			b, err := k.PEM()
			if err != nil {
				return err
			}
			if out == "" {
				_, err := e.stdout.Write(b)
				return err
			}
			f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if errors.Is(err, os.ErrExist) {
				return fmt.Errorf("keys export: %s exists; give a new file (export never overwrites one)", out)
			}
			if err != nil {
				return fmt.Errorf("keys export: %w", err)
			}
			if _, err := f.Write(b); err != nil {
				f.Close()
				os.Remove(out)
				return fmt.Errorf("keys export: %w", err)
			}
			if err := f.Close(); err != nil {
				os.Remove(out)
				return fmt.Errorf("keys export: %w", err)
			}
			e.printf("wrote the private key of %s (%s, %s) to %s, mode 0600\n", k.Name, k.Address(), k.DeviceID(), out)
			return nil
		},
	}
	c.Flags().StringVar(&out, "out", "", "write to this new `FILE` (mode 0600) instead of stdout")
	return c
}
