package cli

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"text/template"

	"github.com/spf13/cobra"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/keystore"
	"github.com/iotledger/iotledger/internal/node"
	"github.com/iotledger/iotledger/internal/state"
)

// testnetOwnerFunds is what genesis gives a testnet's owner account.
const testnetOwnerFunds = 1_000_000

func testnetCmd(e *env) *cobra.Command {
	var o node.TestnetOptions
	var out string
	c := &cobra.Command{
		Use:   "testnet",
		Short: "Write the homes of a local network of validators (DIR/node0, node1, ...) and a README on how to start them",
		Long: `testnet writes N node homes into DIR, sharing one genesis in which each
node is a validator of equal power. Each home has its own keys and its own
ports on 127.0.0.1 (node i: base port + 10*i for P2P, +1 RPC, +2 API,
+3 MQTT), and lists the other nodes as persistent peers. node0's home holds
an owner key whose account genesis funds. DIR/README.md says how to start
each node. --non-validators M adds M nodes after them that share the genesis
and the peers but are not validators: full nodes, or validators to add with
` + "`iotledger validator propose --add`" + `.`,
		Example: "  iotledger testnet -n 4 --out ./testnet\n  iotledger start --home ./testnet/node0    # and node1, node2, node3, each in its own terminal",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fmt.Errorf("testnet: --out DIR is missing: name a new or empty folder for the node homes, such as --out ./testnet")
			}
			if o.Validators < 1 || o.Validators > node.MaxTestnetValidators {
				return fmt.Errorf("testnet: -n %d: a local testnet has 1 to %d validators", o.Validators, node.MaxTestnetValidators)
			}
			dir, err := filepath.Abs(out)
			if err != nil {
				return err
			}
			seed := make([]byte, ed25519.SeedSize)
			if _, err := rand.Read(seed); err != nil {
				return err
			}
			owner := address.Account(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey))
			o.Balances = []app.Allocation{{Address: owner, Amount: testnetOwnerFunds}}
			nodes, gen, err := node.Testnet(dir, o)
			if err != nil {
				return err
			}
			if _, err := keystore.Import(nodes[0].Home, devOwner, seed); err != nil {
				return fmt.Errorf("testnet: owner key: %w; remove %s and run testnet again", err, dir)
			}
			token := o.Token
			if token == "" {
				token = state.DefaultToken
			}
			t := testnetInfo{Dir: dir, ChainID: gen.ChainID, Nodes: nodes, Validators: o.Validators, NonValidators: o.NonValidators, Quorum: 2*o.Validators/3 + 1,
				OwnerKey: filepath.Join(keystore.Dir(nodes[0].Home), devOwner+".json"), Owner: owner, Funds: testnetOwnerFunds, Token: token}
			var readme bytes.Buffer
			if err := testnetReadme.Execute(&readme, t); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, "README.md"), readme.Bytes(), 0o644); err != nil {
				return fmt.Errorf("testnet: %w", err)
			}
			return testnetSummary.Execute(e.stdout, t)
		},
	}
	c.Flags().IntVarP(&o.Validators, "validators", "n", 4, fmt.Sprintf("number of validators, 1 to %d", node.MaxTestnetValidators))
	c.Flags().IntVar(&o.NonValidators, "non-validators", 0, fmt.Sprintf("nodes more, 0 to %d, that share the genesis but are not validators (to add one later with validator propose --add)", node.MaxTestnetValidators))
	c.Flags().StringVar(&out, "out", "", "folder `DIR` to write the node homes into; must be new or empty")
	c.Flags().StringVar(&o.ChainID, "chain-id", "", "chain id (default iotledger-<random>)")
	c.Flags().IntVar(&o.BasePort, "base-port", node.DefaultTestnetBasePort, "first loopback port; node i uses this + 10*i to this + 10*i + 3")
	c.Flags().StringVar(&o.Token, "token", state.DefaultToken, "name of the chain's token")
	c.Flags().StringSliceVar(&o.Hosts, "hosts", nil, "one IP address per node (validators first, then --non-validators), in order, instead of 127.0.0.1 for all (machines of a LAN, network namespaces)")
	return c
}

// testnetInfo is what the summary and DIR/README.md say.
type testnetInfo struct {
	Dir, ChainID    string
	Nodes           []node.TestnetNode
	Validators      int // the first Validators nodes
	NonValidators   int // the nodes after them
	Quorum          int // validators that must run for blocks to commit
	OwnerKey, Owner string
	Funds           uint64
	Token           string
}

var testnetSummary = template.Must(template.New("summary").Parse(`wrote a testnet of {{.Validators}} validators{{if .NonValidators}} and {{.NonValidators}} more {{if eq .NonValidators 1}}node (not a validator){{else}}nodes (not validators){{end}}{{end}} in {{.Dir}}
  chain id:  {{.ChainID}}
  genesis:   config/genesis.json in each home (the same file)
  owner key: {{.OwnerKey}} (account {{.Owner}}, {{.Funds}} {{.Token}})
  node   {{printf "%-24s%-24s%-17s" "API" "MQTT" "RPC"}}P2P
{{- range .Nodes}}
  {{.Name}}  {{printf "%-24s%-24s%-17s" (print "http://" .API) (print "mqtt://" .MQTT) .RPC}}{{.P2P}}{{if not .Validator}}  (not a validator){{end}}
{{- end}}
start each node in its own terminal (blocks commit once {{.Quorum}} of the {{.Validators}} validators run):
{{- range .Nodes}}
  iotledger start --home {{.Home}}
{{- end}}
{{.Dir}}/README.md says what to try next
`))

var testnetReadme = template.Must(template.New("readme").Parse(`# Local testnet {{.ChainID}}

{{.Validators}} iotledger validators of equal voting power on 127.0.0.1, written by
` + "`iotledger testnet`" + `. Every home holds the same genesis and its own validator
and node keys; each node lists the others as persistent peers.
{{- if .NonValidators}} Not in the
genesis validator set:{{range .Nodes}}{{if not .Validator}} {{.Name}}{{end}}{{end}}; such a node follows the chain
as a full node until the validators add it (see "Change the validator set").
{{- end}}

## Start

Run each node in its own terminal:

` + "```sh" + `
{{- range .Nodes}}
iotledger start --home {{.Home}}
{{- end}}
` + "```" + `

A block needs the signatures of more than two thirds of the voting power: the
chain commits once {{.Quorum}} of the {{.Validators}} validators run, about one block a second.
Ctrl-C stops a node cleanly; started again, it catches up from the others.

## Ports

| node | API and /metrics | MQTT | CometBFT RPC | CometBFT P2P | home |
| --- | --- | --- | --- | --- | --- |
{{- range .Nodes}}
| {{.Name}} | http://{{.API}} | mqtt://{{.MQTT}} | {{.RPC}} | {{.P2P}} | {{.Home}} |
{{- end}}

## The owner key

` + "`{{.OwnerKey}}`" + ` is the key of account
{{.Owner}}, which genesis gives {{.Funds}} {{.Token}}.
Commands run with ` + "`--home {{(index .Nodes 0).Home}}`" + ` (or with IOTLEDGER_HOME
set to it) use it as ` + "`--owner owner`" + ` and talk to {{(index .Nodes 0).Name}}'s API; add
` + "`--api http://HOST:PORT`" + ` to talk to another node.

` + "```sh" + `
export IOTLEDGER_HOME={{(index .Nodes 0).Home}}
iotledger keys new my-sensor
iotledger device register --owner owner --key my-sensor
iotledger reading send --device my-sensor temp=21.5
{{- range .Nodes}}
curl http://{{.API}}/v1/status
{{- end}}
` + "```" + `

The nodes agree: any two that report the same height report the same
app_hash (and ` + "`curl http://HOST:PORT/v1/blocks/H`" + ` gives the same block record).

## Change the validator set

Validators propose and approve changes with their consensus keys, so each
command runs on the home of the validator that signs it. A change applies
once validators holding more than two thirds of the voting power approved;
CometBFT uses the new set two blocks later.

` + "```sh" + `
iotledger validator list --home {{(index .Nodes 0).Home}}
{{- range .Nodes}}{{if not .Validator}}
# the operator of {{.Name}} prints its key and its consent to join:
iotledger validator consent --home {{.Home}}
{{- end}}{{end}}
# a validator proposes (its approval counts), and prints the proposal's number:
iotledger validator propose --home {{(index .Nodes 0).Home}} --add KEY --power 10 --consent SIG
{{- if gt .Quorum 1}}
# with {{.Quorum}} of the {{.Validators}} validators' approvals it applies: they approve proposal 1
{{- range $i, $n := .Nodes}}{{if and (gt $i 0) (lt $i $.Quorum)}}
iotledger validator approve 1 --home {{$n.Home}}
{{- end}}{{end}}
{{- end}}
iotledger validator proposals --all --home {{(index .Nodes 0).Home}}
` + "```" + `

` + "`--set-power KEY --power N`" + ` and ` + "`--remove KEY`" + ` (KEY: an address from ` + "`validator list`" + `)
propose the other changes. Receipts of readings committed after a change
carry a validator trace, and ` + "`iotledger verify`" + ` checks it against the genesis.

## Remove it

Stop every node, then delete {{.Dir}}.
`))
