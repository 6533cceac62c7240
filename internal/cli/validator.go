package cli

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/types"
	"github.com/spf13/cobra"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/node"
	"github.com/iotledger/iotledger/tx"
)

func validatorCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "validator",
		Short: "Show the validator set, and change it: propose, approve, consent",
		Long: `The validators change their own set. A validator proposes adding a key,
removing one or changing its power; the others approve. Once validators
holding more than two thirds of the voting power approved, the change is
applied at the end of that block and CometBFT uses the new set two blocks
later. A proposal not approved within the chain's
params.validator_proposal_blocks blocks (default 10,000) expires.

propose, approve and consent sign with the consensus key of the home
(config/priv_validator_key.json): run them with --home set to a validator's
home, on its machine. They talk to the API of that home's node (or --api).`,
	}
	c.AddCommand(validatorListCmd(e), validatorProposalsCmd(e), validatorProposeCmd(e), validatorApproveCmd(e), validatorConsentCmd(e))
	return c
}

func validatorListCmd(e *env) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "list [--json]",
		Short: "List the validator set: address, power, consensus key, and the changes so far",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := e.client().Validators(e.ctx)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(e, s)
			}
			switch {
			case s.From <= 1:
				e.printf("the genesis set: %d validators, total power %d (block %d is the latest)\n", len(s.Validators), s.TotalPower, s.Height)
			case s.From > s.Height+1:
				e.printf("%d validators, total power %d, signing from block %d (block %d is the latest; the set before signs until then)\n", len(s.Validators), s.TotalPower, s.From, s.Height)
			default:
				e.printf("%d validators, total power %d, signing since block %d (block %d is the latest)\n", len(s.Validators), s.TotalPower, s.From, s.Height)
			}
			e.printf("  %-40s  %6s  %-44s  %s\n", "ADDRESS", "POWER", "PUB_KEY", "ACCOUNT")
			for _, v := range s.Validators {
				e.printf("  %-40s  %6d  %-44s  %s\n", v.Address, v.Power, v.PubKey, v.Account)
			}
			for _, ch := range s.Changes {
				e.printf("change from block %d: proposals %s, %d validators, total power %d\n", ch.Height, joinIDs(ch.Proposals), ch.Validators, ch.TotalPower)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the set as JSON")
	return c
}

func joinIDs(ids []uint64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	return strings.Join(s, ", ")
}

func validatorProposalsCmd(e *env) *cobra.Command {
	var asJSON, all bool
	var after uint64
	var limit int
	c := &cobra.Command{
		Use:   "proposals [--all] [--after N] [--limit N] [--json]",
		Short: "List proposed changes of the validator set: the open ones, or --all",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var shown []client.ValidatorProposal
			next, more := after, false
			for {
				p, err := e.client().ValidatorProposals(e.ctx, next, limit)
				if err != nil {
					return err
				}
				for _, vp := range p.Proposals {
					if all || vp.Status == "open" {
						shown = append(shown, vp)
					}
				}
				next, more = p.Next, p.More
				if all || !more { // open ones: read every page
					break
				}
			}
			if asJSON {
				return printJSON(e, shown)
			}
			if len(shown) == 0 {
				if all {
					e.printf("no proposals yet; a validator proposes with: iotledger validator propose\n")
				} else {
					e.printf("no open proposals (--all lists every one)\n")
				}
			}
			for _, p := range shown {
				e.printf("%s\n", describeProposal(&p))
			}
			if all && more {
				e.printf("more: iotledger validator proposals --all --after %d\n", next)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&all, "all", false, "list applied, expired and dropped proposals too")
	c.Flags().Uint64Var(&after, "after", 0, "list the proposals numbered after N")
	c.Flags().IntVar(&limit, "limit", 100, "proposals to read per page")
	c.Flags().BoolVar(&asJSON, "json", false, "print the proposals as JSON")
	return c
}

// describeProposal is one line about a proposal: number, status, change,
// approvals.
func describeProposal(p *client.ValidatorProposal) string {
	var state string
	switch p.Status {
	case "open":
		state = fmt.Sprintf("approvals %d (%d of %d voting power, %d needed), open until block %d", len(p.Approvals), p.ApprovedPower, p.TotalPower, p.NeededPower, p.ExpiresHeight)
	case "applied":
		state = fmt.Sprintf("applied in block %d, the new set signs from block %d", p.ClosedHeight, p.Effective)
	case "expired":
		state = fmt.Sprintf("expired at block %d with %d of %d voting power approving", p.ClosedHeight, p.ApprovedPower, p.TotalPower)
	default:
		state = fmt.Sprintf("dropped at block %d: %s", p.ClosedHeight, p.Reason)
	}
	return fmt.Sprintf("%-4d %-8s %s: %s", p.ID, p.Status, describeChange(p), state)
}

// describeChange names a proposal's change, as the ledger's logs do.
func describeChange(p *client.ValidatorProposal) string {
	switch p.Action {
	case tx.ValidatorAdd:
		return fmt.Sprintf("add validator %s with power %d", p.Validator.Address, p.Power)
	case tx.ValidatorPower:
		return fmt.Sprintf("set the power of validator %s to %d", p.Validator.Address, p.Power)
	}
	return "remove validator " + p.Validator.Address
}

func validatorProposeCmd(e *env) *cobra.Command {
	var addKey, removeKey, powerKey, consent string
	var power int64
	c := &cobra.Command{
		Use:   "propose --add PUBKEY --power N --consent SIG | --remove KEY | --set-power KEY --power N",
		Short: "Propose a change of the validator set, signed with this home's validator key (counts as its approval)",
		Long: `Propose adding a validator, removing one, or setting one's voting power.
The proposal is signed with the consensus key of the home (--home): only a
current validator may propose, and its proposal counts as its approval.

  --add PUBKEY --power N --consent SIG   add the validator whose Ed25519 consensus
                                         key is PUBKEY (base64, as genesis.json and
                                         priv_validator_key.json write it); its
                                         operator runs ` + "`iotledger validator consent`" + `
                                         on its home, which prints PUBKEY and SIG
  --remove KEY                           remove a validator
  --set-power KEY --power N              give a validator voting power N

KEY is a validator's address (hex, as ` + "`iotledger validator list`" + ` shows it) or
its PUBKEY. The command waits for the block and prints the proposal's number
and its approvals so far; other validators approve it with
` + "`iotledger validator approve NUMBER`" + `.`,
		Example: `  iotledger validator propose --add 0YxBq...= --power 10 --consent 6Fh2...==
  iotledger validator propose --set-power 4E3F1C... --power 15
  iotledger validator propose --remove 4E3F1C...`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var ch tx.ValidatorChange
			var sig []byte
			n := 0
			for _, f := range []string{addKey, removeKey, powerKey} {
				if f != "" {
					n++
				}
			}
			if n != 1 {
				return errors.New("validator propose: give one of --add PUBKEY, --remove KEY or --set-power KEY")
			}
			switch {
			case addKey != "":
				key, err := parsePubKey(addKey)
				if err != nil {
					return fmt.Errorf("--add: %w", err)
				}
				if consent == "" {
					return errors.New("--add needs --consent SIG: the new validator's operator prints it with `iotledger validator consent --home THEIR_HOME`")
				}
				if sig, err = base64.StdEncoding.DecodeString(consent); err != nil || len(sig) != ed25519.SignatureSize {
					return fmt.Errorf("--consent %q is not a base64 Ed25519 signature of %d bytes, as `iotledger validator consent` prints it", consent, ed25519.SignatureSize)
				}
				if power == 0 {
					return errors.New("--add needs --power N, the new validator's voting power")
				}
				ch = tx.ValidatorChange{Action: tx.ValidatorAdd, Key: key, Power: power}
			case removeKey != "":
				key, err := e.validatorKeyOf(removeKey)
				if err != nil {
					return fmt.Errorf("--remove: %w", err)
				}
				if cmd.Flags().Changed("power") {
					return errors.New("--remove takes no --power")
				}
				ch = tx.ValidatorChange{Action: tx.ValidatorRemove, Key: key}
			default:
				key, err := e.validatorKeyOf(powerKey)
				if err != nil {
					return fmt.Errorf("--set-power: %w", err)
				}
				if power == 0 {
					return errors.New("--set-power needs --power N; to take a validator out, use --remove")
				}
				ch = tx.ValidatorChange{Action: tx.ValidatorPower, Key: key, Power: power}
			}
			if consent != "" && ch.Action != tx.ValidatorAdd {
				return errors.New("--consent goes only with --add")
			}
			k, err := node.LoadValidatorKey(e.homeDir(""))
			if err != nil {
				return err
			}
			s, err := e.txSender(e.ctx)
			if err != nil {
				return err
			}
			h, log, err := s.sendLog(e.ctx, k, tx.TypeProposeValidator, &tx.ProposeValidator{ValidatorChange: ch, Consent: sig})
			if err != nil {
				return err
			}
			e.printf("%s\n  block: %d\n", log, h)
			return nil
		},
	}
	c.Flags().StringVar(&addKey, "add", "", "add the validator of this consensus key (base64)")
	c.Flags().StringVar(&removeKey, "remove", "", "remove this validator (address or key)")
	c.Flags().StringVar(&powerKey, "set-power", "", "set this validator's power (address or key) to --power")
	c.Flags().Int64Var(&power, "power", 0, "the voting power, for --add and --set-power")
	c.Flags().StringVar(&consent, "consent", "", "for --add: the new validator's consent signature (base64), which iotledger validator consent prints on its home")
	return c
}

func validatorApproveCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "approve NUMBER",
		Short: "Approve a proposed change of the validator set, signed with this home's validator key",
		Long: `Approve proposal NUMBER (see ` + "`iotledger validator proposals`" + `). The approval
repeats the change it approves, as the node shows it, so it cannot count for
another one. It is signed with the consensus key of the home (--home): only a
current validator may approve. The command waits for the block and prints
the approvals so far; the change applies at the end of the block in which
they reach more than two thirds of the voting power.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var id uint64
			if _, err := fmt.Sscan(args[0], &id); err != nil || id == 0 || fmt.Sprint(id) != args[0] {
				return fmt.Errorf("proposal %q: proposals are numbered from 1; `iotledger validator proposals` lists them", args[0])
			}
			p, err := proposalSoon(e.ctx, e.client(), id)
			if err != nil {
				return err
			}
			switch p.Status {
			case "applied":
				return fmt.Errorf("proposal %d (%s) was applied in block %d; the new set signs from block %d", id, describeChange(p), p.ClosedHeight, p.Effective)
			case "expired":
				return fmt.Errorf("proposal %d (%s) expired at block %d; propose the change again", id, describeChange(p), p.ClosedHeight)
			case "dropped":
				return fmt.Errorf("proposal %d (%s) was dropped at block %d: %s", id, describeChange(p), p.ClosedHeight, p.Reason)
			}
			key, err := base64.StdEncoding.DecodeString(p.Validator.PubKey)
			if err != nil {
				return fmt.Errorf("the node answered proposal %d with a key that is not base64: %w", id, err)
			}
			k, err := node.LoadValidatorKey(e.homeDir(""))
			if err != nil {
				return err
			}
			e.printf("approving proposal %d: %s\n", id, describeChange(p))
			s, err := e.txSender(e.ctx)
			if err != nil {
				return err
			}
			h, log, err := s.sendLog(e.ctx, k, tx.TypeApproveValidator, &tx.ApproveValidator{
				Proposal: id, ValidatorChange: tx.ValidatorChange{Action: p.Action, Key: key, Power: p.Power}})
			if err != nil {
				return err
			}
			e.printf("%s\n  block: %d\n", log, h)
			return nil
		},
	}
	return c
}

func validatorConsentCmd(e *env) *cobra.Command {
	var power int64
	c := &cobra.Command{
		Use:   "consent [--power N]",
		Short: "Print this home's validator key and its consent to join the chain, for a validator to propose adding it",
		Long: `A new validator's operator runs consent on the new node's home, which holds
the chain's genesis and the new consensus key. It prints the key and a
signature by it over the chain id and the key: the consent that a
proposal to add it must carry, so that nobody adds a key that nobody holds.
Start the node first and let it catch up: once added, it must sign.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home := e.homeDir("")
			k, err := node.LoadValidatorKey(home)
			if err != nil {
				return err
			}
			gen, err := types.GenesisDocFromFile(node.GenesisFile(home))
			if err != nil {
				return fmt.Errorf("read the chain's genesis: %w", err)
			}
			pub := k.Public()
			sig := ed25519.Sign(k.Private, tx.ValidatorConsentMessage(gen.ChainID, pub))
			key := base64.StdEncoding.EncodeToString(pub)
			c := base64.StdEncoding.EncodeToString(sig)
			e.printf("validator key: %s (address %s)\nconsent:       %s (to join chain %s)\na current validator proposes adding it with:\n  iotledger validator propose --add %s --power %d --consent %s\n",
				key, strings.ToUpper(hex.EncodeToString(cmted25519.PubKey(pub).Address())), c, gen.ChainID, key, power, c)
			return nil
		},
	}
	c.Flags().Int64Var(&power, "power", 10, "the voting power to suggest in the printed command")
	return c
}

// parsePubKey reads an Ed25519 consensus key in base64, as genesis.json
// and priv_validator_key.json write it.
func parsePubKey(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%q is not an Ed25519 public key in base64 (44 characters, as genesis.json writes it)", s)
	}
	return b, nil
}

// validatorKeyOf returns the consensus key of a current validator named by
// its key (base64) or its address (hex), looked up in the node's set.
func (e *env) validatorKeyOf(s string) ([]byte, error) {
	set, err := e.client().Validators(e.ctx)
	if err != nil {
		return nil, fmt.Errorf("read the validator set: %w", err)
	}
	for _, v := range set.Validators {
		if strings.EqualFold(v.Address, s) || v.PubKey == s {
			return base64.StdEncoding.DecodeString(v.PubKey)
		}
	}
	if key, err := parsePubKey(s); err == nil {
		return key, nil // not in the set: the ledger says so, with its code
	}
	return nil, fmt.Errorf("%q is neither the address nor the key of a validator; `iotledger validator list` shows them", s)
}

// proposalWait bounds how long approve looks for a proposal the node does
// not know yet (tests shorten it).
var proposalWait = 5 * time.Second

// proposalSoon fetches proposal id from the node. A proposal made through
// another validator's node is in a block this node may not have committed
// yet: that node has it committed, so this one follows within its next
// block. A proposal the node does not know is therefore looked for again
// until the node commits one more block, for at most proposalWait; after
// that the answer is that there is none.
func proposalSoon(ctx context.Context, c *client.Client, id uint64) (*client.ValidatorProposal, error) {
	p, err := c.ValidatorProposal(ctx, id)
	if !errors.Is(err, client.ErrNotFound) {
		return p, err
	}
	st, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	wait, cancel := context.WithTimeout(ctx, proposalWait)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for h := st.Height; h <= st.Height; {
		select {
		case <-wait.Done():
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			h = st.Height + 1 // one last look
		case <-tick.C:
			if s, err := c.Status(ctx); err == nil {
				h = s.Height
			}
		}
		p, err := c.ValidatorProposal(ctx, id)
		if !errors.Is(err, client.ErrNotFound) {
			return p, err
		}
	}
	return nil, fmt.Errorf("there is no validator change proposal %d (this node is at block %d); `iotledger validator proposals --all` lists them", id, st.Height)
}
