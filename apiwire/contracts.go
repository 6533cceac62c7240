package apiwire

// ContractSummary is a contract in a list: its record and escrow balance,
// without its document.
type ContractSummary struct {
	ID       string `json:"id"`     // ctr-<Number>
	Number   uint64 `json:"number"` // deployment order on the chain, from 1
	Owner    string `json:"owner"`  // the deployer's account, who alone may stop it
	Name     string `json:"name"`
	Status   string `json:"status"` // active or stopped
	Deployed int64  `json:"deployed_height"`
	Stopped  int64  `json:"stopped_height,omitempty"`
	// State holds the document's state fields: text, bool, number or a
	// list of text.
	State   map[string]any `json:"state"`
	Events  uint64         `json:"events"`  // emitted so far; the next is numbered Events+1
	Balance Uint64         `json:"balance"` // the escrow, in Token
	Token   string         `json:"token"`
}

// Contract is GET /v1/contracts/{id}: a contract's record, escrow and
// document.
type Contract struct {
	ContractSummary
	Source string `json:"source"` // the document as deployed (YAML or JSON)
}

// ContractPage is GET /v1/contracts: contracts in deployment order, without
// their documents.
type ContractPage struct {
	Contracts []ContractSummary `json:"contracts"`
	// NextPageToken is the page_token of the next page; absent on the
	// last page.
	NextPageToken string `json:"next_page_token,omitempty"`
	// Next is the after of the following request: the number of the
	// page's last contract, or the after asked for if the page is empty.
	// More says the page was cut at its limit. Deprecated: use
	// NextPageToken.
	Next uint64 `json:"next"`
	More bool   `json:"more"`
}

// ContractEvent is an event a contract emitted (Name "failed": a run of a
// trigger that failed, its effects discarded; Fields error and trigger). It
// is also the data of a "contract_event" event.
type ContractEvent struct {
	Contract string         `json:"contract"`
	N        uint64         `json:"n"` // 1, 2, ... per contract
	Height   int64          `json:"height"`
	Tx       int32          `json:"tx"` // index of the transaction in its block; -1 for the end of the block
	Trigger  string         `json:"trigger"`
	Name     string         `json:"name"`
	Fields   map[string]any `json:"fields"`
}

// ContractEvents is GET /v1/contracts/{id}/events: a contract's events,
// oldest first.
type ContractEvents struct {
	Contract string          `json:"contract"`
	Events   []ContractEvent `json:"events"`
	// NextPageToken is the page_token of the next page; absent on the
	// last page.
	NextPageToken string `json:"next_page_token,omitempty"`
	// Next and More are as in ContractPage (deprecated). Next is also
	// the after that asks later for the events emitted since.
	Next uint64 `json:"next"`
	More bool   `json:"more"`
}
