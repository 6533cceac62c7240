package cli

import (
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/iotledger/iotledger/device"
	"github.com/iotledger/iotledger/internal/keystore"
	"github.com/iotledger/iotledger/verdict"
)

// seqFile is where the CLI keeps a device's next sequence number.
func seqFile(home, id string) string { return filepath.Join(home, "devices", id+".seq") }

func readingCmd(e *env) *cobra.Command {
	c := &cobra.Command{Use: "reading", Short: "Sign and send readings"}
	var key, id string
	var noWait bool
	send := &cobra.Command{
		Use:   "send --device KEYNAME key=value...",
		Short: "Sign one reading with a device key and send it; waits for commit",
		Args:  cobra.MinimumNArgs(1),
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
			s, err := device.NewSigner(k.Private, id, seqFile(home, id))
			if err != nil {
				return err
			}
			raw, seq, err := s.Sign(data, time.Now())
			if err != nil {
				return err
			}
			r, err := e.client().SubmitCOSE(e.ctx, raw, !noWait)
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
			return nil
		},
	}
	send.Flags().StringVar(&key, "device", "", "device key name (required)")
	send.Flags().StringVar(&id, "id", "", "device id, if it differs from the key's (after a rotation)")
	send.Flags().BoolVar(&noWait, "no-wait", false, "return once queued, without waiting for commit")
	send.MarkFlagRequired("device")
	c.AddCommand(send)
	return c
}

func deref(p *uint64) uint64 {
	if p == nil {
		return 0
	}
	return *p
}
