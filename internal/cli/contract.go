package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/keystore"
	"github.com/iotledger/iotledger/tx"
)

// followInterval is how often `contract events --follow` asks for new
// events.
var followInterval = time.Second

func contractCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "contract",
		Short: "Deploy, list, show, call, fund and stop contracts, and read their events",
		Long: `A contract is a YAML or JSON document of state and triggers (on readings,
on blocks, or called), deployed by an owner account with an escrow of the
chain's token. Deploy, call, fund and stop are signed transactions: each
command waits for the block and names the rule if the ledger refuses.`,
	}
	c.AddCommand(contractDeployCmd(e), contractListCmd(e), contractShowCmd(e), contractEventsCmd(e),
		contractCallCmd(e), contractFundCmd(e), contractStopCmd(e))
	return c
}

func contractDeployCmd(e *env) *cobra.Command {
	var key string
	var fund uint64
	c := &cobra.Command{
		Use:   "deploy FILE [--fund N] [--key KEY]",
		Short: "Deploy the contract document FILE, owned by key KEY's account, with N of its tokens in escrow",
		Long: `Deploy the contract document FILE (YAML or JSON, at most 64 KiB). The
account of key KEY owns it and moves N tokens into its escrow (--fund);
more can follow with contract fund. The ledger checks the document at
deploy and refuses it (invalid_contract) with the line and column of
each fault. The new contract's id (ctr-N) is printed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := readContract(args[0])
			if err != nil {
				return err
			}
			k, err := keystore.Load(e.homeDir(""), key)
			if err != nil {
				return err
			}
			s, err := e.txSender(e.ctx)
			if err != nil {
				return err
			}
			h, log, err := s.sendLog(e.ctx, k, tx.TypeDeployContract, &tx.DeployContract{Source: src, Fund: fund})
			if err != nil {
				return err
			}
			c := e.client()
			id := deployedID(log)
			if id == "" {
				if id, err = findDeployed(e.ctx, c, k.Address(), h); err != nil {
					return fmt.Errorf("the contract was deployed in block %d, but finding its id failed: %w; `iotledger contract list` lists it", h, err)
				}
			}
			if id == "" {
				e.printf("deployed a contract in block %d; the result (%q) does not name it: `iotledger contract list` lists it\n", h, log)
				return nil
			}
			e.printf("deployed contract %s\n", id)
			if info, err := c.Contract(e.ctx, id); err == nil {
				e.printf("  name:   %s\n  owner:  %s\n  escrow: %d %s\n", info.Name, info.Owner, info.Balance, info.Token)
			} else {
				e.printf("  owner:  %s\n  escrow: %d\n", k.Address(), fund)
			}
			e.printf("  block:  %d\n", h)
			return nil
		},
	}
	c.Flags().StringVar(&key, "key", "owner", "name of the key whose account owns the contract and pays its escrow")
	c.Flags().Uint64Var(&fund, "fund", 0, "whole tokens to move into the contract's escrow")
	return c
}

// readContract reads a contract document, refusing what the ledger would.
func readContract(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("contract document: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, tx.MaxContractBytes+1))
	if err != nil {
		return nil, fmt.Errorf("contract document: %w", err)
	}
	if len(b) > tx.MaxContractBytes {
		return nil, fmt.Errorf("contract document %s is over %d bytes, the most the ledger takes; shorten it (descriptions, comments) or split it into several contracts", path, tx.MaxContractBytes)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, fmt.Errorf("contract document %s is empty; write a YAML or JSON document with a name and its triggers (see the Contracts section of the README)", path)
	}
	return b, nil
}

// deployedRE finds the new contract's id in a deployment's result log.
var deployedRE = regexp.MustCompile(`\bdeployed (ctr-[1-9][0-9]*)\b`)

func deployedID(log string) string {
	if m := deployedRE.FindStringSubmatch(log); m != nil {
		return m[1]
	}
	return ""
}

// findDeployed returns the id of the last contract owner deployed in block
// h, or "" if there is none.
func findDeployed(ctx context.Context, c *client.Client, owner string, h int64) (string, error) {
	var id string
	for after := uint64(0); ; {
		p, err := c.Contracts(ctx, after, api.MaxLimit)
		if err != nil {
			return "", err
		}
		for _, k := range p.Contracts {
			if k.Owner == owner && k.Deployed == h {
				id = k.ID
			}
		}
		if !p.More || p.Next == after {
			return id, nil
		}
		after = p.Next
	}
}

// checkContractID refuses what is not a contract id before any request.
func checkContractID(id string) error {
	if !api.ValidContractID(id) {
		return fmt.Errorf("%q is not a contract id: one is ctr- and its number, such as ctr-7; `iotledger contract list` lists them", id)
	}
	return nil
}

func contractListCmd(e *env) *cobra.Command {
	var after uint64
	var pf pageFlags
	var asJSON bool
	c := &cobra.Command{
		Use:   "list [--page-token TOKEN] [--limit N] [--json]",
		Short: "List contracts in deployment order: status, name, escrow, events, owner",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl := e.client()
			p, err := fetch(&pf, cmd,
				func(limit int, token string) (*client.ContractPage, error) {
					return cl.ContractsPage(e.ctx, limit, token)
				},
				func(limit int) (*client.ContractPage, error) { return cl.Contracts(e.ctx, after, limit) })
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(e, p)
			}
			if len(p.Contracts) == 0 && after == 0 && pf.token == "" {
				e.printf("no contracts deployed yet; deploy one with: iotledger contract deploy FILE\n")
			}
			for _, k := range p.Contracts {
				e.printf("%-8s %-8s %-16s escrow %d %s  events %d  owner %s\n", k.ID, k.Status, k.Name, k.Balance, k.Token, k.Events, k.Owner)
			}
			pf.printMore(e, cmd, p.NextPageToken)
			return nil
		},
	}
	pf.add(c)
	c.Flags().Uint64Var(&after, "after", 0, "deprecated (use --page-token): list the contracts deployed after ctr-N")
	c.Flags().BoolVar(&asJSON, "json", false, "print the page as JSON")
	return c
}

func contractShowCmd(e *env) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "show ID [--json]",
		Short: "Show a contract: status, owner, escrow, state, events count and its document",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkContractID(args[0]); err != nil {
				return err
			}
			k, err := e.client().Contract(e.ctx, args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(e, k)
			}
			e.printf("%s", formatContract(k))
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the contract as JSON")
	return c
}

// formatContract is what contract show prints.
func formatContract(k *client.Contract) string {
	var b strings.Builder
	fmt.Fprintf(&b, "contract %s (%s)\n", k.ID, k.Name)
	if k.Status == "stopped" {
		fmt.Fprintf(&b, "  status:   stopped in block %d (deployed in block %d)\n", k.Stopped, k.Deployed)
	} else {
		fmt.Fprintf(&b, "  status:   %s since block %d\n", k.Status, k.Deployed)
	}
	fmt.Fprintf(&b, "  owner:    %s\n", k.Owner)
	fmt.Fprintf(&b, "  escrow:   %d %s\n", k.Balance, k.Token)
	fmt.Fprintf(&b, "  events:   %d\n", k.Events)
	if len(k.State) == 0 {
		b.WriteString("  state:    (none)\n")
	} else {
		b.WriteString("  state:\n")
		names := make([]string, 0, len(k.State))
		for n := range k.State {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			fmt.Fprintf(&b, "    %s = %s\n", n, jsonText(k.State[n]))
		}
	}
	b.WriteString("  document:\n")
	for line := range strings.Lines(k.Source) {
		b.WriteString("    " + strings.TrimRight(line, "\r\n") + "\n")
	}
	return b.String()
}

// jsonText is v as compact JSON: text quoted, numbers as they are, maps
// with their keys sorted.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// formatEvent is one line of contract events.
func formatEvent(ev client.ContractEvent) string {
	fields := "{}"
	if len(ev.Fields) > 0 {
		fields = jsonText(ev.Fields)
	}
	return fmt.Sprintf("#%d block %d (%s) %s %s\n", ev.N, ev.Height, ev.Trigger, ev.Name, fields)
}

func contractEventsCmd(e *env) *cobra.Command {
	var after uint64
	var limit int
	var follow, asJSON bool
	c := &cobra.Command{
		Use:   "events ID [--after N] [--limit N] [--follow] [--json]",
		Short: "Print a contract's events, oldest first; with --follow, keep printing new ones",
		Long: `Print a contract's events, oldest first, one a line: number, block,
trigger, name and fields. A "failed" event is a run of a trigger that
failed; its effects were discarded. --after N starts after event N.
With --follow the command asks the node every second for new events and
prints them until interrupted (Ctrl-C). With --json: the page as JSON, or
with --follow one JSON object per event per line.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			if err := checkContractID(id); err != nil {
				return err
			}
			c := e.client()
			if !follow {
				p, err := c.ContractEvents(e.ctx, id, after, limit)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(e, p)
				}
				if len(p.Events) == 0 {
					e.printf("no events of %s after #%d yet\n", id, after)
				}
				for _, ev := range p.Events {
					e.printf("%s", formatEvent(ev))
				}
				if p.More {
					e.printf("more: iotledger contract events %s --after %d\n", id, p.Next)
				}
				return nil
			}
			return followEvents(e, c, id, after, asJSON)
		},
	}
	c.Flags().Uint64Var(&after, "after", 0, "start after event number N")
	c.Flags().IntVar(&limit, "limit", 100, "at most this many (without --follow)")
	c.Flags().BoolVar(&follow, "follow", false, "keep printing new events until interrupted")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

// followEvents prints the events after after, then new ones as they come,
// until e.ctx ends, which is not an error.
func followEvents(e *env, c *client.Client, id string, after uint64, asJSON bool) error {
	for {
		p, err := c.ContractEvents(e.ctx, id, after, api.MaxLimit)
		if e.ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("follow the events of %s: %w; run again with --after %d to continue", id, err, after)
		}
		for _, ev := range p.Events {
			if asJSON {
				b, err := json.Marshal(ev)
				if err != nil {
					return err
				}
				e.printf("%s\n", b)
			} else {
				e.printf("%s", formatEvent(ev))
			}
		}
		after = p.Next
		if p.More {
			continue
		}
		t := time.NewTimer(followInterval)
		select {
		case <-e.ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

func contractCallCmd(e *env) *cobra.Command {
	var key, trigger string
	var argList []string
	var pay uint64
	c := &cobra.Command{
		Use:   "call ID [--trigger NAME] [--arg k=v]... [--pay N] [--key KEY]",
		Short: "Run a contract's call trigger, signed by key KEY (the trigger sees it as caller)",
		Long: `Run a call trigger of contract ID with the arguments it declares, given
as text (--arg name=value; the contract's declared types convert them).
--trigger names the trigger; it may be left out when the contract has
exactly one. The command prints the contract's events of the block, and
names the rule if the ledger refuses (bad_call, condition_false,
contract_failed, contract_stopped, ...).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			if err := checkContractID(id); err != nil {
				return err
			}
			callArgs, err := parseCallArgs(argList)
			if err != nil {
				return err
			}
			if len(trigger) > tx.MaxArgLen {
				return fmt.Errorf("--trigger is %d bytes, at most %d", len(trigger), tx.MaxArgLen)
			}
			k, err := keystore.Load(e.homeDir(""), key)
			if err != nil {
				return err
			}
			c := e.client()
			before, err := c.Contract(e.ctx, id)
			if err != nil {
				return err
			}
			s, err := e.txSender(e.ctx)
			if err != nil {
				return err
			}
			h, log, err := s.sendLog(e.ctx, k, tx.TypeCallContract, &tx.CallContract{Contract: id, Trigger: trigger, Args: callArgs, Pay: pay})
			if err != nil {
				return err
			}
			name := ""
			if ran, ok := strings.CutPrefix(log, "called "+id+" "); ok && trigger == "" {
				trigger = ran // the ledger says which trigger ran
			}
			if trigger != "" {
				name = " (" + trigger + ")"
			}
			e.printf("called %s%s in block %d\n", id, name, h)
			// What the contract did: its events of that block.
			p, err := c.ContractEvents(e.ctx, id, before.Events, api.MaxLimit)
			if err != nil {
				return fmt.Errorf("the call was committed in block %d, but reading its events failed: %w; see `iotledger contract events %s --after %d`", h, err, id, before.Events)
			}
			for _, ev := range p.Events {
				if ev.Height == h {
					e.printf("  %s", formatEvent(ev))
				}
			}
			return nil
		},
	}
	c.Flags().StringVar(&key, "key", "owner", "name of the signing key (the caller)")
	c.Flags().StringVar(&trigger, "trigger", "", "the call trigger to run; may be left out if the contract has one")
	c.Flags().StringArrayVar(&argList, "arg", nil, "argument name=value; repeat for more")
	c.Flags().Uint64Var(&pay, "pay", 0, "whole tokens to pay into the contract's escrow with the call (the trigger sees them as payment; they come back if the call does nothing)")
	return c
}

// parseCallArgs reads --arg name=value flags, within the ledger's limits.
func parseCallArgs(kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	if len(kvs) > tx.MaxArgs {
		return nil, fmt.Errorf("%d arguments; a call takes at most %d", len(kvs), tx.MaxArgs)
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--arg %q: want NAME=VALUE, such as amount=100", kv)
		}
		if len(k) > tx.MaxArgLen || len(v) > tx.MaxArgLen {
			return nil, fmt.Errorf("--arg %.40q: names and values are at most %d bytes", kv, tx.MaxArgLen)
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("--arg %s given twice; give each argument once", k)
		}
		m[k] = v
	}
	return m, nil
}

func contractFundCmd(e *env) *cobra.Command {
	var key string
	var amount uint64
	c := &cobra.Command{
		Use:   "fund ID --amount N [--key KEY]",
		Short: "Move N tokens from key KEY's account into a contract's escrow",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			if err := checkContractID(id); err != nil {
				return err
			}
			k, err := keystore.Load(e.homeDir(""), key)
			if err != nil {
				return err
			}
			s, err := e.txSender(e.ctx)
			if err != nil {
				return err
			}
			h, err := s.send(e.ctx, k, tx.TypeFundContract, &tx.FundContract{Contract: id, Amount: amount})
			if err != nil {
				return err
			}
			e.printf("funded %s with %d from %s in block %d\n", id, amount, k.Address(), h)
			if info, err := e.client().Contract(e.ctx, id); err == nil {
				e.printf("  escrow: %d %s\n", info.Balance, info.Token)
			}
			return nil
		},
	}
	c.Flags().StringVar(&key, "key", "owner", "name of the paying key")
	c.Flags().Uint64Var(&amount, "amount", 0, "whole tokens to move into the escrow")
	_ = c.MarkFlagRequired("amount")
	return c
}

func contractStopCmd(e *env) *cobra.Command {
	var key string
	c := &cobra.Command{
		Use:   "stop ID [--key KEY]",
		Short: "Stop a contract for good (owner only); what is left in its escrow goes back to the owner",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			if err := checkContractID(id); err != nil {
				return err
			}
			k, err := keystore.Load(e.homeDir(""), key)
			if err != nil {
				return err
			}
			c := e.client()
			info, err := c.Contract(e.ctx, id)
			if err != nil {
				return err
			}
			s, err := e.txSender(e.ctx)
			if err != nil {
				return err
			}
			h, err := s.send(e.ctx, k, tx.TypeStopContract, &tx.StopContract{Contract: id})
			if err != nil {
				return err
			}
			e.printf("stopped contract %s in block %d; what was left in its escrow went back to its owner %s\n", id, h, info.Owner)
			return nil
		},
	}
	c.Flags().StringVar(&key, "key", "owner", "name of the owner's key")
	return c
}
