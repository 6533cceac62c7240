package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/keystore"
	"github.com/iotledger/iotledger/tx"
)

func accountCmd(e *env) *cobra.Command {
	c := &cobra.Command{Use: "account", Short: "Show accounts and move the chain's token between them"}
	c.AddCommand(accountShowCmd(e), accountTransferCmd(e))
	return c
}

func accountShowCmd(e *env) *cobra.Command {
	var limit int
	var before string
	c := &cobra.Command{
		Use:   "show ADDR|KEYNAME",
		Short: "Show an account's (or a device's) balance, nonce and payments, newest first (JSON)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			addr, err := e.addressOf(args[0])
			if err != nil {
				return err
			}
			a, err := e.client().Account(e.ctx, addr, limit, before)
			if err != nil {
				return err
			}
			return printJSON(e, a)
		},
	}
	c.Flags().IntVar(&limit, "limit", 20, "payments to show")
	c.Flags().StringVar(&before, "before", "", "cursor: the next value of the previous page")
	return c
}

func accountTransferCmd(e *env) *cobra.Command {
	var from, to, payer, memo string
	var amount uint64
	c := &cobra.Command{
		Use:   "transfer --from KEY --to ADDR --amount N [--memo TEXT]",
		Short: "Pay ADDR (an account acc1... or a registered device dev1...) from the account of key KEY, or from a device (--payer)",
		Long: `Pay ADDR from the account of key KEY (a key name in the home's keys/).
With --payer DEVICE the money comes from that device's account instead:
KEY is then the device's owner, or the device's own key (a machine paying).
The command waits for the block and names the rule if the ledger refuses.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := keystore.Load(e.homeDir(""), from)
			if err != nil {
				return err
			}
			dest, err := e.addressOf(to)
			if err != nil {
				return err
			}
			s, err := e.txSender(e.ctx)
			if err != nil {
				return err
			}
			h, err := s.send(e.ctx, k, tx.TypeTransfer, &tx.Transfer{From: payer, To: dest, Amount: amount, Memo: memo})
			if err != nil {
				return err
			}
			src := payer
			if src == "" {
				src = k.Address()
			}
			e.printf("paid %d from %s to %s in block %d\n", amount, src, dest, h)
			return nil
		},
	}
	c.Flags().StringVar(&from, "from", "owner", "name of the signing key")
	c.Flags().StringVar(&to, "to", "", "payee: an account address (acc1...), a device id (dev1...) or a key name")
	c.Flags().Uint64Var(&amount, "amount", 0, "whole tokens to pay")
	c.Flags().StringVar(&memo, "memo", "", "text kept with the payment (at most 256 bytes)")
	c.Flags().StringVar(&payer, "payer", "", "pay from this device's account (dev1...) instead of the key's own")
	_ = c.MarkFlagRequired("to")
	_ = c.MarkFlagRequired("amount")
	return c
}

// addressOf returns s if it is an account address, a device id or a
// contract id (its escrow), else the account address of the key named s in
// the home.
func (e *env) addressOf(s string) (string, error) {
	if api.ValidContractID(s) {
		return s, nil
	}
	if strings.HasPrefix(s, address.AccountPrefix+"1") || strings.HasPrefix(s, address.DevicePrefix+"1") {
		if address.ParseAccount(s) != nil && address.ParseDevice(s) != nil {
			return "", fmt.Errorf("%q is neither a valid account address (acc1...) nor a valid device id (dev1...): check it was copied whole", s)
		}
		return s, nil
	}
	k, err := keystore.Load(e.homeDir(""), s)
	if err != nil {
		return "", err
	}
	return k.Address(), nil
}
