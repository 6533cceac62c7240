package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/keystore"
	"github.com/iotledger/iotledger/tx"
)

// Private readings (docs/PRIVATE.md): keys publish, device private,
// device rotate-stream-key, access grant/revoke/list, data erase; reading
// send --private and reading decrypt are in reading.go.
//
// An account's encryption key is published by `keys publish NAME`, and
// also by the commands that need it published: `device private` (the
// owner's: set_private_fields needs it) and `dev`. A key file without
// encryption key material gets it when first needed, with a line on
// stderr.

// deviceArg resolves a command's DEVICE: a device id (dev1...) or the
// name of a device key in the home.
func (e *env) deviceArg(s string) (string, error) {
	if strings.HasPrefix(s, address.DevicePrefix+"1") {
		if err := address.ParseDevice(s); err != nil {
			return "", fmt.Errorf("%q is not a valid device id: %s; check it was copied whole", s, strings.TrimPrefix(err.Error(), "address: "))
		}
		return s, nil
	}
	k, err := keystore.Load(e.homeDir(""), s)
	if err != nil {
		return "", fmt.Errorf("%q is neither a device id (dev1...) nor a key in the home: %w", s, err)
	}
	return k.DeviceID(), nil
}

// accountArg resolves a command's ACCOUNT: an account address (acc1...)
// or the name of a key in the home.
func (e *env) accountArg(s string) (string, error) {
	if strings.HasPrefix(s, address.AccountPrefix+"1") {
		if err := address.ParseAccount(s); err != nil {
			return "", fmt.Errorf("%q is not a valid account address: %s; check it was copied whole", s, strings.TrimPrefix(err.Error(), "address: "))
		}
		return s, nil
	}
	k, err := keystore.Load(e.homeDir(""), s)
	if err != nil {
		return "", fmt.Errorf("%q is neither an account address (acc1...) nor a key in the home: %w", s, err)
	}
	return k.Address(), nil
}

// loadEncryption loads key name with its encryption key, giving the key
// file one (hybrid) if it holds none yet, and saying so on stderr.
func (e *env) loadEncryption(name string) (*keystore.Key, error) {
	k, added, err := keystore.AddEncryption(e.homeDir(""), name, true)
	if err != nil {
		return nil, err
	}
	if added {
		fmt.Fprintf(e.stderr, "iotledger: key %s had no encryption key; added one (X25519 + X-Wing) to its key file\n", name)
	}
	return k, nil
}

// publishKey publishes k's encryption key unless the ledger holds it
// already; it returns the block that published it now (0: published
// before).
func (e *env) publishKey(ctx context.Context, c *client.Client, k *keystore.Key) (int64, error) {
	want := k.Encryption.Public()
	got, err := c.EncryptionKey(ctx, k.Address())
	switch {
	case err == nil && slices.Equal(got.X25519, want.X25519) && slices.Equal(got.XWing, want.XWing):
		return 0, nil
	case err == nil:
		fmt.Fprintf(e.stderr, "iotledger: %s (key %s) published another encryption key before; this one replaces it, and epochs wrapped to the old one open only with the key file that holds it\n", k.Address(), k.Name)
	case !errors.Is(err, client.ErrNoEncryptionKey):
		return 0, err
	}
	r, err := c.PublishEncryptionKey(ctx, k.Private, want)
	if err != nil {
		return 0, txErr(err)
	}
	return r.Height, nil
}

// kemText names the KEMs of an encryption key.
func kemText(hybrid bool) string {
	if hybrid {
		return "X25519 + X-Wing (ML-KEM-768, hybrid post-quantum)"
	}
	return "X25519"
}

// txErr words a refused transaction as the CLI's other commands do.
func txErr(err error) error {
	if te, ok := errors.AsType[*client.TxError](err); ok {
		if te.Height > 0 {
			return fmt.Errorf("%s refused in block %d (%s): %s", te.Type, te.Height, te.Code, te.Log)
		}
		return fmt.Errorf("%s refused (%s): %s", te.Type, te.Code, te.Log)
	}
	return err
}

func keysPublishCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "publish NAME",
		Short: "Publish the encryption key of key NAME's account, so that devices wrap their stream keys to it (private readings)",
		Long: `publish sends a set_encryption_key transaction signed by key NAME: the
public half of the encryption key in NAME's key file (X25519, and X-Wing
when the file holds its seed), to which devices wrap the stream keys of
the epochs NAME may read. A key file without encryption key material (made
by keys import, or before private readings) gets it first. Nothing is sent
when the ledger holds this key already. device private publishes the
owner's key by itself; a consumer publishes its own before it is granted
access.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := e.loadEncryption(args[0])
			if err != nil {
				return err
			}
			h, err := e.publishKey(e.ctx, e.client(), k)
			if err != nil {
				return err
			}
			if h == 0 {
				e.printf("the encryption key of %s (%s) is published already: %s\n", k.Name, k.Address(), kemText(k.Encryption.Hybrid()))
				return nil
			}
			e.printf("published the encryption key of %s (%s) in block %d: %s\n", k.Name, k.Address(), h, kemText(k.Encryption.Hybrid()))
			return nil
		},
	}
}

// splitFields reads field names given as arguments, each one or several
// separated by commas.
func splitFields(args []string) []string {
	var out []string
	for _, a := range args {
		for f := range strings.SplitSeq(a, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
	}
	return out
}

func devicePrivateCmd(e *env) *cobra.Command {
	var owner string
	c := &cobra.Command{
		Use:   "private DEVICE FIELD[,FIELD...]",
		Short: "Name a device's private fields (owner only): its readings carry them sealed, readable by the owner and those granted access",
		Long: `private names the data fields DEVICE (a device id, or a device key's name
in the home) keeps private, replacing the list: its readings must carry
them sealed (XChaCha20-Poly1305 under the device's stream key), readable
only by the owner and the consumers it grants access to; contracts never
see them. The first time, the device's epoch becomes 1: the device makes,
wraps and announces its key at its next sealed reading (iotledger reading
send --device KEY ..., or the device SDK, does it by itself).

The owner's encryption key must be on the ledger first; this command
publishes it when it is not (and gives the owner's key file one if it
holds none).`,
		Example: "  iotledger device private sensor-1 temp,hr\n  iotledger reading send --device sensor-1 temp=21.5 hr=70 site=lab",
		Args:    cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := e.deviceArg(args[0])
			if err != nil {
				return err
			}
			fields := splitFields(args[1:])
			if len(fields) == 0 {
				return errors.New("no field names given; name the private fields: iotledger device private DEVICE temp,hr")
			}
			k, err := e.loadEncryption(owner)
			if err != nil {
				return err
			}
			c := e.client()
			if h, err := e.publishKey(e.ctx, c, k); err != nil {
				return err
			} else if h > 0 {
				fmt.Fprintf(e.stderr, "iotledger: published the encryption key of %s (%s) in block %d: stream keys are wrapped to it\n", k.Name, k.Address(), h)
			}
			r, err := c.SetPrivateFields(e.ctx, k.Private, id, fields)
			if err != nil {
				return txErr(err)
			}
			d, err := c.Device(e.ctx, id)
			if err != nil {
				return err
			}
			e.printf("device %s keeps %s private (block %d); it is at epoch %d\n", id, strings.Join(d.PrivateFields, ", "), r.Height, d.StreamEpoch)
			if !d.StreamKeyAnnounced {
				e.printf("the device announces epoch %d's stream key with its next sealed reading\n", d.StreamEpoch)
			}
			return nil
		},
	}
	c.Flags().StringVar(&owner, "owner", "owner", "owner account key `NAME`")
	return c
}

func deviceRotateStreamKeyCmd(e *env) *cobra.Command {
	var owner string
	c := &cobra.Command{
		Use:   "rotate-stream-key DEVICE",
		Short: "Move a device to its next epoch (owner only): it seals from then on under a new stream key",
		Long: `rotate-stream-key moves DEVICE (a device id, or a device key's name in the
home) to its next epoch, with the same recipients: the device makes the
new epoch's stream key, wraps it to them and announces it at its next
sealed reading. Readings of earlier epochs stay readable by whoever could
read them.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := e.deviceArg(args[0])
			if err != nil {
				return err
			}
			k, err := keystore.Load(e.homeDir(""), owner)
			if err != nil {
				return err
			}
			c := e.client()
			r, err := c.RotateStreamKey(e.ctx, k.Private, id)
			if err != nil {
				return txErr(err)
			}
			d, err := c.Device(e.ctx, id)
			if err != nil {
				return err
			}
			e.printf("device %s moved to epoch %d in block %d; it makes, wraps and announces the new stream key with its next sealed reading\n", id, d.StreamEpoch, r.Height)
			return nil
		},
	}
	c.Flags().StringVar(&owner, "owner", "owner", "owner account key `NAME`")
	return c
}

func accessCmd(e *env) *cobra.Command {
	c := &cobra.Command{Use: "access", Short: "Grant, revoke and list access to a device's private fields"}
	c.AddCommand(accessGrantCmd(e), accessRevokeCmd(e), accessListCmd(e))
	return c
}

func accessGrantCmd(e *env) *cobra.Command {
	var owner, to string
	var fromEpoch uint64
	c := &cobra.Command{
		Use:   "grant DEVICE --to ACCOUNT [--from-epoch N]",
		Short: "Give an account access to a device's private fields from an epoch on (owner only)",
		Long: `grant gives ACCOUNT (an address, or a key's name in the home) access to the
private fields of DEVICE (a device id, or a device key's name) from epoch
--from-epoch on (default: the device's current epoch), and to every epoch
after it until it is revoked. ACCOUNT must have published its encryption
key (iotledger keys publish NAME, run by its holder).

The owner's key opens, here, the stream key of each past epoch the grant
gives and wraps it to ACCOUNT; the wrapped keys go to the nodes' key box
and only their commitments into the grant_access transaction. Epochs to
come are wrapped to ACCOUNT by the device itself.`,
		Example: "  iotledger access grant sensor-1 --to acc1... --from-epoch 1",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := e.deviceArg(args[0])
			if err != nil {
				return err
			}
			acct, err := e.accountArg(to)
			if err != nil {
				return err
			}
			k, err := keystore.Load(e.homeDir(""), owner)
			if err != nil {
				return err
			}
			if k.Encryption == nil {
				return fmt.Errorf("key %s holds no encryption key, so it opens no stream key to wrap to %s; use the key file of the owner whose encryption key is published (--owner NAME)", owner, acct)
			}
			r, epochs, err := e.client().Grant(e.ctx, k.Private, k.Encryption, id, acct, fromEpoch)
			if r == nil || r.Code != 0 {
				return txErr(err)
			}
			from := "the current epoch"
			if fromEpoch > 0 {
				from = "epoch " + strconv.FormatUint(fromEpoch, 10)
			}
			e.printf("granted %s access to device %s from %s on, in block %d\n", acct, id, from, r.Height)
			if len(epochs) > 0 {
				e.printf("  past epochs wrapped to it by the owner: %s\n", epochList(epochs))
			}
			return err // the grant is committed; a failed upload after it is worth saying
		},
	}
	c.Flags().StringVar(&owner, "owner", "owner", "owner account key `NAME`")
	c.Flags().StringVar(&to, "to", "", "the `ACCOUNT` to grant access to: an address acc1..., or a key name in the home (required)")
	c.Flags().Uint64Var(&fromEpoch, "from-epoch", 0, "first epoch `N` granted (default: the device's current epoch)")
	c.MarkFlagRequired("to")
	return c
}

func epochList(es []uint64) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = strconv.FormatUint(e, 10)
	}
	return strings.Join(parts, ", ")
}

func accessRevokeCmd(e *env) *cobra.Command {
	var owner, from, to string
	c := &cobra.Command{
		Use:   "revoke DEVICE --from ACCOUNT",
		Short: "End an account's access to a device's private fields (owner only); the device moves to a new epoch",
		Long: `revoke ends ACCOUNT's access to DEVICE's private fields: the device moves
to its next epoch, whose stream key ACCOUNT does not get. What ACCOUNT
could read before stays readable to it (and whatever it saved, it keeps).
--to is accepted as the same as --from.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			who := from
			switch {
			case from != "" && to != "" && from != to:
				return fmt.Errorf("--from %s and --to %s name two accounts; give one (they mean the same)", from, to)
			case who == "":
				who = to
			}
			if who == "" {
				return errors.New("whose access? give --from ACCOUNT (an address acc1..., or a key name in the home)")
			}
			id, err := e.deviceArg(args[0])
			if err != nil {
				return err
			}
			acct, err := e.accountArg(who)
			if err != nil {
				return err
			}
			k, err := keystore.Load(e.homeDir(""), owner)
			if err != nil {
				return err
			}
			c := e.client()
			r, err := c.RevokeAccess(e.ctx, k.Private, id, acct)
			if err != nil {
				return txErr(err)
			}
			d, err := c.Device(e.ctx, id)
			if err != nil {
				return err
			}
			e.printf("revoked %s's access to device %s in block %d: it reads up to epoch %d; the device is at epoch %d, whose key it does not get\n", acct, id, r.Height, d.StreamEpoch-1, d.StreamEpoch)
			return nil
		},
	}
	c.Flags().StringVar(&owner, "owner", "owner", "owner account key `NAME`")
	c.Flags().StringVar(&from, "from", "", "the `ACCOUNT` whose access ends: an address acc1..., or a key name in the home")
	c.Flags().StringVar(&to, "to", "", "the same as --from")
	return c
}

func accessListCmd(e *env) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "list DEVICE",
		Short: "Show who may read a device's private fields: its grants and epochs, with their history",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := e.deviceArg(args[0])
			if err != nil {
				return err
			}
			a, err := e.client().Access(e.ctx, id)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(e, a)
			}
			if len(a.PrivateFields) == 0 {
				e.printf("device %s has no private fields; its owner names them with: iotledger device private %s FIELD,...\n", id, id)
				return nil
			}
			announced := "announced"
			if !a.StreamKeyAnnounced {
				announced = "not announced yet"
			}
			e.printf("device %s\n  private fields: %s\n  epoch: %d (stream key %s)\n", id, strings.Join(a.PrivateFields, ", "), a.StreamEpoch, announced)
			e.printf("grants:\n")
			if len(a.Grants) == 0 {
				e.printf("  none\n")
			}
			for _, g := range a.Grants {
				for _, p := range g.Periods {
					line := fmt.Sprintf("  %s  from epoch %d (block %d, by %s)", g.Consumer, p.FromEpoch, p.GrantedHeight, p.GrantedBy)
					if p.RevokedHeight > 0 {
						line += fmt.Sprintf(", revoked after epoch %d (block %d, by %s)", p.UntilEpoch, p.RevokedHeight, p.RevokedBy)
					} else {
						line += ", open"
					}
					e.printf("%s\n", line)
				}
			}
			e.printf("epochs, newest first:\n")
			for _, ep := range a.Epochs {
				state := "key announced in block " + strconv.FormatInt(ep.AnnouncedHeight, 10)
				if ep.AnnouncedHeight == 0 {
					state = "key not announced yet"
				}
				if ep.Erased {
					state = fmt.Sprintf("erased in block %d", ep.ErasedHeight)
				}
				names := make([]string, len(ep.Recipients))
				for i, r := range ep.Recipients {
					names[i] = r.Account
				}
				e.printf("  %d  %s in block %d by %s; %s; recipients %s\n", ep.Epoch, ep.Why, ep.StartedHeight, ep.By, state, strings.Join(names, ", "))
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the whole history as JSON (the API's shape)")
	return c
}

func dataCmd(e *env) *cobra.Command {
	c := &cobra.Command{Use: "data", Short: "Erase the private data of chosen epochs for good"}
	c.AddCommand(dataEraseCmd(e))
	return c
}

// parseEpochs reads epoch ranges such as "1-3,5" into the ascending,
// disjoint ranges of an erase_epochs transaction (overlapping and
// touching ranges are merged).
func parseEpochs(s string) ([]tx.EpochRange, error) {
	const form = "give epochs as N, N-M or a comma-separated list of them, such as 1-3,5"
	var rs []tx.EpochRange
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		from, err := strconv.ParseUint(strings.TrimSpace(lo), 10, 64)
		to := from
		if err == nil && isRange {
			to, err = strconv.ParseUint(strings.TrimSpace(hi), 10, 64)
		}
		switch {
		case err != nil:
			return nil, fmt.Errorf("epochs %q: %q is not a number or a range; %s", s, part, form)
		case from == 0:
			return nil, fmt.Errorf("epochs %q: epoch 0 does not exist (epochs are numbered from 1); %s", s, form)
		case to < from:
			return nil, fmt.Errorf("epochs %q: range %q ends before it begins; %s", s, part, form)
		}
		rs = append(rs, tx.EpochRange{From: from, To: to})
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].From < rs[j].From })
	out := rs[:1]
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		if r.From <= last.To+1 {
			last.To = max(last.To, r.To)
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

func rangesText(rs []tx.EpochRange) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		if r.From == r.To {
			parts[i] = strconv.FormatUint(r.From, 10)
		} else {
			parts[i] = fmt.Sprintf("%d-%d", r.From, r.To)
		}
	}
	return strings.Join(parts, ", ")
}

func dataEraseCmd(e *env) *cobra.Command {
	var owner, epochs string
	c := &cobra.Command{
		Use:   "erase DEVICE --epochs N[-M][,...]",
		Short: "Erase epochs of a device for good (owner only): nobody can open their sealed fields again, while their receipts still verify",
		Long: `erase makes the sealed fields of DEVICE's epochs unreadable for good: every
node deletes the epochs' wrapped stream keys from its key box and takes
none for them again, so nobody, the owner included, can open them. The
readings stay in the log, signed and provable: their receipts still
verify (iotledger verify). Erasing the current epoch moves the device to
the next. It cannot be undone.

Not promised: a consumer (or the owner) who saved a stream key or the
plaintext before keeps it; a node's disk erases what its file system
lets it (see SECURITY.md).`,
		Example: "  iotledger data erase sensor-1 --epochs 1-3,5",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := e.deviceArg(args[0])
			if err != nil {
				return err
			}
			rs, err := parseEpochs(epochs)
			if err != nil {
				return err
			}
			k, err := keystore.Load(e.homeDir(""), owner)
			if err != nil {
				return err
			}
			c := e.client()
			r, err := c.EraseEpochs(e.ctx, k.Private, id, rs)
			if err != nil {
				return txErr(err)
			}
			d, err := c.Device(e.ctx, id)
			if err != nil {
				return err
			}
			e.printf("erased epochs %s of device %s in block %d: every node deletes their wrapped keys, and nobody can open their sealed fields again; their readings and receipts stay and verify\n", rangesText(rs), id, r.Height)
			e.printf("the device is at epoch %d\n", d.StreamEpoch)
			return nil
		},
	}
	c.Flags().StringVar(&owner, "owner", "owner", "owner account key `NAME`")
	c.Flags().StringVar(&epochs, "epochs", "", "the epochs to erase: N, N-M, or a list such as 1-3,5 (required)")
	c.MarkFlagRequired("epochs")
	return c
}

// openWith is the encryption key of key name, for reading decrypt.
func (e *env) openWith(name string) (*keystore.Key, error) {
	k, err := keystore.Load(e.homeDir(""), name)
	if err != nil {
		return nil, err
	}
	if k.Encryption == nil {
		return nil, fmt.Errorf("key %s (%s) holds no encryption key, so no stream key was wrapped to it; give the key whose encryption key the account published (--key NAME)", name, k.Address())
	}
	return k, nil
}
