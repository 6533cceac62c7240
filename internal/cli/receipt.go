package cli

import (
	"context"
	"errors"
	"time"

	"fmt"
	"github.com/iotledger/iotledger/client"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/iotledger/iotledger/receipt"
)

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func receiptCmd(e *env) *cobra.Command {
	var out string
	var wait time.Duration
	c := &cobra.Command{
		Use:   "receipt DEVICEID SEQ",
		Short: "Fetch a reading's receipt (JSON) from the node",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			seq, err := strconv.ParseUint(args[1], 10, 64)
			if err != nil {
				return errorf("SEQ %q is not a sequence number", args[1])
			}
			r, err := fetchReceipt(e, args[0], seq, wait)
			if err != nil {
				return err
			}
			b, err := r.Marshal()
			if err != nil {
				return err
			}
			if out != "" {
				if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
					return err
				}
				e.printf("wrote %s; check it with: iotledger verify %s --genesis GENESIS\n", out, out)
				return nil
			}
			e.printf("%s\n", b)
			return nil
		},
	}
	c.Flags().StringVarP(&out, "out", "o", "", "write the receipt to `FILE`")
	c.Flags().DurationVar(&wait, "wait", 15*time.Second, "if the reading's receipt is not ready (the next block is not committed yet), wait this long for it")
	return c
}

// fetchReceipt asks for a receipt; while the node answers that the next
// block is not committed yet, it asks again after the node's Retry-After,
// for at most wait.
func fetchReceipt(e *env, id string, seq uint64, wait time.Duration) (*receipt.Receipt, error) {
	ctx, cancel := context.WithTimeout(e.ctx, wait)
	defer cancel()
	c := e.client()
	for {
		r, err := c.Receipt(ctx, id, seq)
		var ce *client.Error
		if !errors.Is(err, client.ErrNotYet) || !errors.As(err, &ce) {
			return r, err
		}
		delay := max(ce.RetryAfter, 100*time.Millisecond)
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(delay):
		}
	}
}

func verifyCmd(e *env) *cobra.Command {
	var genesis string
	c := &cobra.Command{
		Use:   "verify FILE --genesis GENESIS",
		Short: "Check a receipt offline against a genesis file; prints each check",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			gen, err := loadGenesis(genesis)
			if err != nil {
				return err
			}
			r, err := receipt.Parse(data)
			if err != nil {
				return &exitError{code: 2, err: errorf("%s is not a receipt: %w", args[0], err)}
			}
			checks, verr := receipt.Verify(r, gen)
			for _, c := range checks {
				mark := "ok  "
				if !c.OK {
					mark = "FAIL"
				}
				e.printf("%s %s: %s\n", mark, c.Name, c.Detail)
			}
			if verr != nil {
				return &exitError{code: 2, err: errorf("receipt does not verify: %w", verr)}
			}
			e.printf("receipt verifies: reading of device %s committed in block %d of chain %s\n", deviceOf(r), r.Height, r.ChainID)
			return nil
		},
	}
	c.Flags().StringVar(&genesis, "genesis", "", "the chain's genesis.json `FILE` you trust (required)")
	c.MarkFlagRequired("genesis")
	return c
}
