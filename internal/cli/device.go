package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/keystore"
	"github.com/iotledger/iotledger/tx"
)

func deviceCmd(e *env) *cobra.Command {
	c := &cobra.Command{Use: "device", Short: "Register, list, show, quarantine, reactivate, revoke and rotate devices; their twins"}
	c.AddCommand(deviceRegisterCmd(e), deviceListCmd(e), deviceShowCmd(e), deviceRevokeCmd(e), deviceRotateCmd(e), deviceTwinCmd(e),
		devicePrivateCmd(e), deviceRotateStreamKeyCmd(e),
		deviceStatusCmd(e, "quarantine", "quarantined", "Quarantine a device (owner only): its readings are refused until it is reactivated"),
		deviceStatusCmd(e, "reactivate", "active", "Reactivate a quarantined device (owner only): its readings are accepted again"))
	return c
}

// registration builds the fields of a device registration: the device key
// signs the chain id and owner, so nobody registers a key they do not hold.
func registration(chainID string, owner, dev *keystore.Key, labels map[string]string) *tx.RegisterDevice {
	pub := dev.Public()
	return &tx.RegisterDevice{Key: pub, Labels: labels, DeviceSig: signWith(dev, tx.RegistrationMessage(chainID, owner.Address(), pub))}
}

func parseLabels(kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("label %q is not key=value", kv)
		}
		m[k] = v
	}
	return m, nil
}

func deviceRegisterCmd(e *env) *cobra.Command {
	var owner, key string
	var labels []string
	c := &cobra.Command{
		Use:   "register --owner ACCOUNTKEY --key DEVICEKEY [--label k=v]...",
		Short: "Register a device key under an owner account (both keys in the home)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home := e.homeDir("")
			ok, err := keystore.Load(home, owner)
			if err != nil {
				return err
			}
			dk, err := keystore.Load(home, key)
			if err != nil {
				return err
			}
			ls, err := parseLabels(labels)
			if err != nil {
				return err
			}
			s, err := e.txSender(e.ctx)
			if err != nil {
				return err
			}
			h, err := s.send(e.ctx, ok, tx.TypeRegisterDevice, registration(s.chainID, ok, dk, ls))
			if err != nil {
				return err
			}
			e.printf("registered device %s\n  owner: %s\n  block: %d\n", dk.DeviceID(), ok.Address(), h)
			return nil
		},
	}
	c.Flags().StringVar(&owner, "owner", "", "owner account key name (required)")
	c.Flags().StringVar(&key, "key", "", "device key `NAME` in the home (required; create it with iotledger keys new NAME)")
	c.Flags().StringArrayVar(&labels, "label", nil, "label key=value (repeatable)")
	c.MarkFlagRequired("owner")
	c.MarkFlagRequired("key")
	return c
}

func deviceListCmd(e *env) *cobra.Command {
	var after string
	var pf pageFlags
	c := &cobra.Command{
		Use:   "list [--page-token TOKEN] [--limit N]",
		Short: "List registered devices",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl := e.client()
			page, err := fetch(&pf, cmd,
				func(limit int, token string) (*client.DevicePage, error) { return cl.DevicesPage(e.ctx, limit, token) },
				func(limit int) (*client.DevicePage, error) { return cl.Devices(e.ctx, after, limit) })
			if err != nil {
				return err
			}
			for _, d := range page.Devices {
				e.printf("%s  %-8s owner %s  labels %s\n", d.ID, d.Status, d.Owner, formatLabels(d.Labels))
			}
			pf.printMore(e, cmd, page.NextPageToken)
			return nil
		},
	}
	pf.add(c)
	c.Flags().StringVar(&after, "after", "", "deprecated (use --page-token): list devices after this id")
	return c
}

func formatLabels(m map[string]string) string {
	if len(m) == 0 {
		return "-"
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func deviceShowCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show a device's record and sequence progress (JSON)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := e.client()
			d, err := c.Device(e.ctx, args[0])
			if err != nil {
				return err
			}
			g, err := c.Gaps(e.ctx, args[0])
			if err != nil {
				return err
			}
			return printJSON(e, map[string]any{"device": d, "progress": g})
		},
	}
}

func printJSON(e *env, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	e.printf("%s\n", b)
	return nil
}

// ownerAction sends a transaction signed by the owner key.
func ownerAction(e *env, ctx context.Context, owner string, typ tx.Type, fields func(chainID string) (any, error)) (int64, error) {
	k, err := keystore.Load(e.homeDir(""), owner)
	if err != nil {
		return 0, err
	}
	s, err := e.txSender(ctx)
	if err != nil {
		return 0, err
	}
	f, err := fields(s.chainID)
	if err != nil {
		return 0, err
	}
	return s.send(ctx, k, typ, f)
}

func deviceRevokeCmd(e *env) *cobra.Command {
	var owner string
	c := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a device (owner only); its readings are refused from then on",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := ownerAction(e, e.ctx, owner, tx.TypeRevokeDevice, func(string) (any, error) {
				return &tx.RevokeDevice{Device: args[0]}, nil
			})
			if err != nil {
				return err
			}
			e.printf("revoked device %s in block %d\n", args[0], h)
			return nil
		},
	}
	c.Flags().StringVar(&owner, "owner", "owner", "owner account key name")
	return c
}

func deviceRotateCmd(e *env) *cobra.Command {
	var owner, key string
	c := &cobra.Command{
		Use:   "rotate ID --key NEWKEY",
		Short: "Replace a device's key (owner only); the new key signs its consent",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			nk, err := keystore.Load(e.homeDir(""), key)
			if err != nil {
				return err
			}
			h, err := ownerAction(e, e.ctx, owner, tx.TypeRotateDevice, func(chainID string) (any, error) {
				pub := nk.Public()
				return &tx.RotateDevice{Device: args[0], Key: pub, DeviceSig: signWith(nk, tx.RotationMessage(chainID, args[0], pub))}, nil
			})
			if err != nil {
				return err
			}
			e.printf("rotated device %s to key %s in block %d\nsign its readings with: iotledger reading send --device %s --id %s ...\n", args[0], nk.Name, h, nk.Name, args[0])
			return nil
		},
	}
	c.Flags().StringVar(&owner, "owner", "owner", "owner account key name")
	c.Flags().StringVar(&key, "key", "", "the new device key name (required)")
	c.MarkFlagRequired("key")
	return c
}

// deviceStatusCmd is device quarantine or device reactivate: a device
// status transaction that sets status.
func deviceStatusCmd(e *env, verb, status, short string) *cobra.Command {
	var owner string
	c := &cobra.Command{
		Use:   verb + " ID",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			if err := address.ParseDevice(id); err != nil {
				return fmt.Errorf("%s; a device id is the bech32 text dev1... that `iotledger device list` shows", strings.TrimPrefix(err.Error(), "address: "))
			}
			h, err := ownerAction(e, e.ctx, owner, tx.TypeDeviceStatus, func(string) (any, error) {
				return &tx.DeviceStatus{Device: id, Status: status}, nil
			})
			if err != nil {
				return err
			}
			if status == "quarantined" {
				e.printf("quarantined device %s in block %d; its readings are refused until `iotledger device reactivate %s`\n", id, h, id)
			} else {
				e.printf("reactivated device %s in block %d; its readings are accepted again\n", id, h)
			}
			return nil
		},
	}
	c.Flags().StringVar(&owner, "owner", "owner", "owner account key name")
	return c
}
