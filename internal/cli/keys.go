package cli

import (
	"encoding/hex"

	"github.com/spf13/cobra"

	"github.com/iotledger/iotledger/internal/keystore"
)

func keysCmd(e *env) *cobra.Command {
	c := &cobra.Command{Use: "keys", Short: "Manage Ed25519 keys in the home (files are 0600)"}
	c.AddCommand(&cobra.Command{
		Use:   "new NAME",
		Short: "Create a key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := keystore.New(e.homeDir(""), args[0])
			if err != nil {
				return err
			}
			printKey(e, k)
			return nil
		},
	}, &cobra.Command{
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
}
