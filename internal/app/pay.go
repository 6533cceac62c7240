package app

import (
	"math"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/tx"
)

// Payments. Every account (acc1..., an Ed25519 key's) and every device
// (dev1..., its id) can hold a balance of the chain's token. A transfer is
// a signed transaction; its payer is the signer's own account, or a device
// whose current key signs (a machine paying) or whose owner signs (the
// owner moving the device's money). The signer's nonce makes every transfer
// single-use. Amounts are whole tokens, at most 2^63-1 per transfer, and no
// balance can pass 2^64-1: the checks come before any write, so a refused
// transfer changes nothing but the signer's nonce.
//
// Each payment writes one history entry for each side, keyed by (height,
// transaction index): the history is derived from the transactions, like
// the (device, seq) index, and is not part of the state digest; balances
// are.

// account returns addr's account record, or a new empty one.
func (x *execution) account(addr string) (*state.Account, error) {
	a, err := state.GetAccount(x.stage, addr)
	if err != nil || a != nil {
		return a, err
	}
	return &state.Account{Address: addr}, nil
}

func (x *execution) transfer(s *tx.Signed, f *tx.Transfer) (*failure, error) {
	from := f.From
	if from == "" {
		from = s.Account
	}
	if f.Amount == 0 || f.Amount > math.MaxInt64 {
		return fail(CodeInvalidAmount, "amount %d: send 1 to %d %s", f.Amount, int64(math.MaxInt64), x.token()), nil
	}
	if f.To == from {
		return fail(CodeInvalidRecipient, "%s pays itself; name another account with --to", from), nil
	}
	if from != s.Account {
		fl, err := x.controls(s, from)
		if fl != nil || err != nil {
			return fl, err
		}
	}
	if address.ParseDevice(f.To) == nil {
		d, err := state.GetDevice(x.stage, f.To)
		if err != nil {
			return nil, err
		}
		if d == nil {
			return fail(CodeInvalidRecipient, "device %s is not registered; pay a registered device or an account (acc1...)", f.To), nil
		}
	}
	payer, err := x.account(from) // the signer's own account was staged by execSigned (nonce)
	if err != nil {
		return nil, err
	}
	if payer.Balance < f.Amount {
		return fail(CodeInsufficientFunds, "%s holds %d %s, the transfer is %d", from, payer.Balance, x.token(), f.Amount), nil
	}
	payee, err := x.account(f.To)
	if err != nil {
		return nil, err
	}
	if payee.Balance+f.Amount < payee.Balance {
		return fail(CodeBalanceOverflow, "%s holds %d %s; %d more would pass 2^64-1", f.To, payee.Balance, x.token(), f.Amount), nil
	}
	payer.Balance -= f.Amount
	payee.Balance += f.Amount
	state.PutAccount(x.stage, payer)
	state.PutAccount(x.stage, payee)
	by := ""
	if from != s.Account {
		by = s.Account
	}
	amount := int64(f.Amount)
	state.PutPayment(x.stage, from, x.slot(), &state.Payment{Height: x.height, Tx: x.txIndex, Amount: -amount, Counterparty: f.To, Memo: f.Memo, Balance: payer.Balance, By: by})
	state.PutPayment(x.stage, f.To, x.slot(), &state.Payment{Height: x.height, Tx: x.txIndex, Amount: amount, Counterparty: from, Memo: f.Memo, Balance: payee.Balance, By: by})
	return nil, nil
}

// controls checks that the signer may spend from account from, which is
// not its own: from must be a device that the signer owns, or whose current
// key signed while the device is active.
func (x *execution) controls(s *tx.Signed, from string) (*failure, error) {
	if address.ParseDevice(from) != nil {
		return fail(CodeNotController, "%s may spend only from its own account or from a device it owns or is; %s is another account", s.Account, from), nil
	}
	d, err := state.GetDevice(x.stage, from)
	if err != nil {
		return nil, err
	}
	switch {
	case d == nil:
		return fail(CodeUnregisteredDevice, "device %s is not registered", from), nil
	case d.Owner == s.Account:
		return nil, nil
	case address.Account(d.Key) == s.Account && d.Status == state.StatusActive:
		return nil, nil
	case address.Account(d.Key) == s.Account:
		return fail(CodeRevokedDevice, "device %s is %s: its key can no longer spend; its owner %s can", from, d.Status, d.Owner), nil
	}
	return fail(CodeNotController, "%s is neither the owner of device %s nor its current key; sign with one of them", s.Account, from), nil
}

// creditGenesis credits the genesis allocations, in the order genesis lists them.
func (x *execution) creditGenesis(balances []Allocation) error {
	for _, b := range balances {
		acct, err := x.account(b.Address)
		if err != nil {
			return err
		}
		acct.Balance += b.Amount // Genesis.Validate bounded the sum
		state.PutAccount(x.stage, acct)
		state.PutPayment(x.stage, b.Address, x.slot(), &state.Payment{Height: x.height, Amount: int64(b.Amount), Counterparty: state.Genesis, Balance: acct.Balance})
	}
	return nil
}

func (x *execution) token() string { return x.meta.TokenName() }
