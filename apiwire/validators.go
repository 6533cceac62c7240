package apiwire

// Validator is a member of the validator set.
type Validator struct {
	Address string `json:"address"` // CometBFT's: hex of the first 20 bytes of the key's SHA-256
	PubKey  string `json:"pub_key"` // base64 of the Ed25519 consensus key, as genesis.json and priv_validator_key.json write it
	Power   int64  `json:"power,omitempty"`
	Account string `json:"account"` // the account (acc1...) the key signs validator transactions as
}

// ValidatorSet is GET /v1/validators: the set as the chain decided it.
// CometBFT uses a change decided in block H from block H+2 on, so From
// may be beyond Height+1 for a block or two.
type ValidatorSet struct {
	Height     int64                `json:"height"`      // the latest committed block
	From       int64                `json:"from_height"` // the first block this set signs (1: the genesis set)
	TotalPower int64                `json:"total_power"`
	Validators []Validator          `json:"validators"` // by power, then address, as CometBFT orders them
	Changes    []ValidatorSetChange `json:"changes"`    // oldest first
}

// ValidatorSetChange is one change of the set: from block Height on, the
// set that the proposals left signs.
type ValidatorSetChange struct {
	Height     int64    `json:"height"`
	Proposals  []uint64 `json:"proposals"`
	Validators int      `json:"validators"`  // how many
	TotalPower int64    `json:"total_power"` // of the new set
}

// ValidatorProposal is a proposed change of the validator set, with its
// approvals counted against the set as it is now.
type ValidatorProposal struct {
	ID            uint64             `json:"id"`
	Action        string             `json:"action"` // add, remove or power
	Validator     Validator          `json:"validator"`
	Power         int64              `json:"power,omitempty"` // add, power: the new power
	Height        int64              `json:"height"`          // the block that holds it
	ExpiresHeight int64              `json:"expires_height"`  // the last block whose approvals count
	Status        string             `json:"status"`          // open, applied, expired or dropped
	ClosedHeight  int64              `json:"closed_height,omitempty"`
	Effective     int64              `json:"effective_height,omitempty"` // applied: the first block the new set signs
	Reason        string             `json:"reason,omitempty"`           // dropped: why
	Approvals     []ProposalApproval `json:"approvals"`                  // the proposer's first
	ApprovedPower int64              `json:"approved_power"`             // held by approvers in the set now
	TotalPower    int64              `json:"total_power"`
	NeededPower   int64              `json:"needed_power"` // more than two thirds of total_power
}

// ProposalApproval is one validator's approval of a proposal.
type ProposalApproval struct {
	Address string `json:"address"`
	PubKey  string `json:"pub_key"`
	Height  int64  `json:"height"`
}

// ValidatorProposalPage is GET /v1/validators/proposals: proposals in
// number order.
type ValidatorProposalPage struct {
	Proposals []ValidatorProposal `json:"proposals"`
	// NextPageToken is the page_token of the next page; absent on the
	// last page.
	NextPageToken string `json:"next_page_token,omitempty"`
	// Next and More are as in ContractPage (deprecated).
	Next uint64 `json:"next"`
	More bool   `json:"more"`
}
