package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/iotledger/iotledger/internal/keystore"
	"github.com/iotledger/iotledger/tx"
)

func deviceTwinCmd(e *env) *cobra.Command {
	var owner, key string
	var set, unset []string
	var report bool
	var height int64
	c := &cobra.Command{
		Use:   "twin ID [--set k=v]... [--unset k]...",
		Short: "Show a device's twin (desired, reported, delta), or change it",
		Long: `Without --set or --unset: print the twin as JSON (--height H: as of block H).
With them: change the desired state, signed by the owner key (--owner), or,
with --report, the reported state, signed by the device's own key (--key).
A value is taken as an integer, a number, true/false, or else as text.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			if len(set) == 0 && len(unset) == 0 {
				t, err := e.client().Twin(e.ctx, id, height)
				if err != nil {
					return err
				}
				return printJSON(e, t)
			}
			patch := &tx.TwinPatch{Device: id, Set: map[string]any{}, Unset: unset}
			for _, kv := range set {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return fmt.Errorf("--set %q: want FIELD=VALUE, such as firmware=1.3.0", kv)
				}
				patch.Set[k] = twinValue(v)
			}
			typ, signer, side := tx.TypeSetDesired, owner, "desired"
			if report {
				if key == "" {
					return fmt.Errorf("--report needs --key: the name of the device's key, which signs the reported state")
				}
				typ, signer, side = tx.TypeReportState, key, "reported"
			}
			k, err := keystore.Load(e.homeDir(""), signer)
			if err != nil {
				return err
			}
			s, err := e.txSender(e.ctx)
			if err != nil {
				return err
			}
			h, err := s.send(e.ctx, k, typ, patch)
			if err != nil {
				return err
			}
			e.printf("%s state of %s changed in block %d\n", side, id, h)
			return nil
		},
	}
	c.Flags().StringArrayVar(&set, "set", nil, "field=value to set; repeat for more")
	c.Flags().StringArrayVar(&unset, "unset", nil, "field to remove; repeat for more")
	c.Flags().StringVar(&owner, "owner", "owner", "owner key name (desired state)")
	c.Flags().BoolVar(&report, "report", false, "change the reported state instead, signed by the device key (--key)")
	c.Flags().StringVar(&key, "key", "", "device key name, with --report")
	c.Flags().Int64Var(&height, "height", 0, "show the twin as of this block")
	return c
}

// twinValue reads a --set value: integer, number, bool, else text.
func twinValue(v string) any {
	if i, err := strconv.ParseInt(v, 10, 64); err == nil {
		return i
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return f
	}
	if b, err := strconv.ParseBool(v); err == nil {
		return b
	}
	return v
}
