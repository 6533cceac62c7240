package cli

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/device"
	"github.com/iotledger/iotledger/internal/keystore"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/verdict"
)

// seqFile is where the CLI keeps a device's next sequence number.
func seqFile(home, id string) string { return filepath.Join(home, "devices", id+".seq") }

// streamKeyFile is where the CLI (and dev's simulated devices) keep a
// device's stream key, beside its sequence number.
func streamKeyFile(home, id string) string { return filepath.Join(home, "devices", id+".streamkey") }

func readingCmd(e *env) *cobra.Command {
	c := &cobra.Command{Use: "reading", Short: "Sign and send readings; open a reading's private fields"}
	var key, id, privateFields string
	var noWait bool
	send := &cobra.Command{
		Use:   "send --device KEYNAME [--private FIELD,...] key=value...",
		Short: "Sign one reading with a device key and send it; waits for commit",
		Long: `send signs one reading of the key=value fields with the device key KEYNAME
and sends it to the node, waiting for its block.

Private fields (docs/PRIVATE.md): the fields named after --private, and
those the ledger lists as the device's private fields (iotledger device
private), are sealed together under the device's stream key, readable only
by the device's owner and the accounts granted access; the rest stay
public. The stream key is kept beside the device's sequence number
(HOME/devices/ID.streamkey, 0600): when the ledger moved the device to a
new epoch (or none is on disk yet), send makes the new key, wraps it to the
epoch's recipients, uploads the wrapped keys and announces them, signed
by the device key, before it seals. The device needs private fields on
the ledger first; on a dev home, iotledger dev named them for its sensors.`,
		Example: "  iotledger reading send --device sensor-1 --private temp,hr temp=21.5 hr=70 site=lab",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			home := e.homeDir("")
			k, err := keystore.Load(home, key)
			if err != nil {
				return err
			}
			if id == "" {
				id = k.DeviceID()
			}
			data, err := device.ParseData(args)
			if err != nil {
				return err
			}
			sealed := splitFields([]string{privateFields})
			for _, f := range sealed {
				if _, ok := data[f]; !ok {
					return fmt.Errorf("--private names %q, but no %s=VALUE is given; give the field, or leave it out of --private", f, f)
				}
			}
			s, err := device.NewSigner(k.Private, id, seqFile(home, id))
			if err != nil {
				return err
			}
			c := e.client()
			keys, err := e.streamKeys(c, home, k, id, sealed, data)
			if err != nil {
				return err
			}
			now := time.Now()
			var raw []byte
			var seq uint64
			if keys != nil {
				raw, seq, err = s.SignSealed(data, now, keys)
			} else {
				raw, seq, err = s.Sign(data, now)
			}
			if err != nil {
				return err
			}
			r, err := c.SubmitCOSE(e.ctx, raw, !noWait)
			// The ledger moved the device on since its key was refreshed
			// (or lists another private field): the same reading, same
			// sequence number, sealed again.
			for try := 0; err == nil && keys != nil && r.Status == verdict.Rejected && slices.Contains(sealReasons, r.Reason) && try < 3; try++ {
				if _, err = keys.Refresh(e.ctx); err != nil {
					return err
				}
				if raw, err = keys.Seal(reading.Reading{Device: id, Seq: seq, Time: now.UnixMilli(), Data: data}); err != nil {
					return err
				}
				r, err = c.SubmitCOSE(e.ctx, raw, !noWait)
			}
			if err != nil {
				return err
			}
			switch r.Status {
			case verdict.Accepted, verdict.Duplicate:
				e.printf("%s: device %s seq %d, log index %d, block %d\nreceipt: iotledger receipt %s %d\n", r.Status, id, seq, deref(r.Index), r.Height, id, seq)
			case verdict.Pending:
				e.printf("pending: device %s seq %d is queued but not yet committed; check later with: iotledger receipt %s %d\n", id, seq, id, seq)
			default:
				return &exitError{code: 2, err: errorf("rejected (%s): %s", r.Reason, r.Detail)}
			}
			if keys != nil {
				if sr, err := reading.Decode(raw); err == nil && sr.Sealed != nil {
					_, priv := splitData(data, keys.Fields())
					e.printf("sealed: %s under epoch %d; open with: iotledger reading decrypt %s %d\n", strings.Join(priv, ", "), sr.Sealed.Epoch, id, seq)
				}
				if err := keys.Forget(); err != nil {
					return err
				}
			}
			return nil
		},
	}
	send.Flags().StringVar(&key, "device", "", "device key name (required)")
	send.Flags().StringVar(&id, "id", "", "device id, if it differs from the key's (after a rotation)")
	send.Flags().BoolVar(&noWait, "no-wait", false, "return once queued, without waiting for commit")
	send.Flags().StringVar(&privateFields, "private", "", "seal these comma-separated `FIELDS` (besides the device's private fields on the ledger)")
	send.MarkFlagRequired("device")
	c.AddCommand(send, readingDecryptCmd(e))
	return c
}

// sealReasons are the refusals that a fresh stream key and a new seal
// cure.
var sealReasons = []string{verdict.CodeStaleEpoch.String(), verdict.CodeNoStreamKey.String(), verdict.CodePrivateInClear.String()}

// splitData names data's fields in names, and the others.
func splitData(data map[string]any, names []string) (pub, priv []string) {
	for f := range data {
		if slices.Contains(names, f) {
			priv = append(priv, f)
		} else {
			pub = append(pub, f)
		}
	}
	slices.Sort(pub)
	slices.Sort(priv)
	return pub, priv
}

// streamKeys returns the device's stream keys, refreshed from the ledger,
// when the reading seals something: fields named by --private, or fields
// the ledger lists as the device's private fields. nil when nothing is
// sealed.
func (e *env) streamKeys(c *client.Client, home string, k *keystore.Key, id string, sealed []string, data map[string]any) (*device.StreamKeys, error) {
	if len(sealed) == 0 {
		// Does the ledger list any field of this reading as private? A
		// device the node does not know is the submission's to refuse.
		d, err := c.Device(e.ctx, id)
		if err != nil {
			return nil, nil
		}
		if _, priv := splitData(data, d.PrivateFields); len(priv) == 0 {
			return nil, nil
		}
	}
	keys, err := device.NewStreamKeys(device.StreamKeyOptions{API: c, Key: k.Private, ID: id, File: streamKeyFile(home, id), Private: sealed})
	if err != nil {
		return nil, err
	}
	if _, err := keys.Refresh(e.ctx); err != nil {
		if errors.Is(err, device.ErrNotPrivate) {
			return nil, fmt.Errorf("device %s has no private fields on the ledger, so it takes no sealed readings yet; its owner names them first: iotledger device private %s %s (on a dev home, iotledger dev names them for its sensors)",
				id, id, strings.Join(sealed, ","))
		}
		return nil, err
	}
	return keys, nil
}

func readingDecryptCmd(e *env) *cobra.Command {
	var key string
	c := &cobra.Command{
		Use:   "decrypt DEVICE_ID SEQ [--key NAME]",
		Short: "Print a reading with its private fields opened, locally, with your key (JSON)",
		Long: `decrypt fetches reading SEQ of DEVICE_ID (a device id, or a device key's
name in the home) as the device signed it (from its receipt), fetches the
stream key of its epoch wrapped to the account of key NAME (default: the
home's owner key) from the node's key box, and opens both here, with NAME's
encryption key: the node never sees a private key and never decrypts. It
prints the reading with its public fields (data) and its private fields
opened (private).

It fails, saying why, when the account is not a recipient of the reading's
epoch (the owner grants access with iotledger access grant), when the
epoch was erased, or when the key does not open it.`,
		Example: "  iotledger reading decrypt sensor-1 3\n  iotledger reading decrypt dev1... 3 --key analyst",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := e.deviceArg(args[0])
			if err != nil {
				return err
			}
			seq, err := strconv.ParseUint(args[1], 10, 64)
			if err != nil || seq == 0 {
				return fmt.Errorf("SEQ %q is not a sequence number; give the reading's number, 1 or more (iotledger device show %s shows them)", args[1], id)
			}
			k, err := e.openWith(key)
			if err != nil {
				return err
			}
			o, err := e.client().DecryptReading(e.ctx, id, seq, k.Address(), k.Encryption)
			if err != nil {
				return err
			}
			data := o.Data
			if data == nil {
				data = map[string]any{}
			}
			return printJSON(e, map[string]any{
				"device": o.Device, "seq": o.Seq, "time": o.Timestamp().Format(time.RFC3339Nano), "time_ms": o.Time,
				"epoch": o.Epoch, "data": data, "private": o.Private,
			})
		},
	}
	c.Flags().StringVar(&key, "key", devOwner, "the key `NAME` whose account opens the reading (a recipient of its epoch)")
	return c
}

func deref(p *uint64) uint64 {
	if p == nil {
		return 0
	}
	return *p
}
