package apiwire

// Account is GET /v1/accounts/{addr}: an account (acc1...), a device's
// account (dev1...) or a contract's escrow (ctr-N), with its balance, the
// nonce its next transaction needs, and its payments, newest first.
type Account struct {
	Address string `json:"address"`
	Token   string `json:"token"`
	Balance Uint64 `json:"balance"`
	Nonce   Uint64 `json:"nonce"`
	// EncryptionKey is the account's published encryption key (private
	// readings); absent if it published none.
	EncryptionKey *EncryptionKey `json:"encryption_key,omitempty"`
	History       []Payment      `json:"history"`
	// NextPageToken is the page_token of the next page of history; absent
	// on the last page.
	NextPageToken string `json:"next_page_token,omitempty"`
	// Next is the cursor of the next page of history (query parameter
	// before); absent on the last page. Deprecated: use NextPageToken.
	Next string `json:"next,omitempty"`
}

// Payment is one transfer in (Amount > 0) or out (Amount < 0) of an
// account, or its genesis allocation (Counterparty "genesis").
type Payment struct {
	Height       int64  `json:"height"`
	Tx           uint32 `json:"tx"` // index of the transaction in its block
	Amount       Int64  `json:"amount"`
	Counterparty string `json:"counterparty"` // the other account, or "genesis"
	Memo         string `json:"memo,omitempty"`
	BalanceAfter Uint64 `json:"balance_after"`
	SignedBy     string `json:"signed_by,omitempty"` // the signer, when not the paying account itself
}
