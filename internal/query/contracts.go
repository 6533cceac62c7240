package query

import (
	"math"

	"github.com/cockroachdb/pebble/v2"

	"github.com/iotledger/iotledger/internal/state"
)

// ContractInfo is a contract as queries show it: its record, its escrow
// balance and its document.
type ContractInfo struct {
	state.Contract
	Balance uint64 // the escrow
	Token   string
	Source  string // the document
}

// Contract returns a contract, or nil if no contract has that id.
func (r *Reader) Contract(id string) (*ContractInfo, error) {
	c, err := state.GetContract(r.c, id)
	if err != nil || c == nil {
		return nil, err
	}
	return r.contractInfo(c)
}

func (r *Reader) contractInfo(c *state.Contract) (*ContractInfo, error) {
	info := &ContractInfo{Contract: *c, Token: r.Token(), Source: string(c.Source)}
	acct, err := state.GetAccount(r.c, c.ID)
	if err != nil {
		return nil, err
	}
	if acct != nil {
		info.Balance = acct.Balance
	}
	return info, nil
}

// Contracts lists up to limit contracts in deployment order, starting after
// the after-th (0: from the first).
func (r *Reader) Contracts(after uint64, limit int) ([]*ContractInfo, error) {
	n := r.meta().Contracts
	var out []*ContractInfo
	if after >= n {
		return nil, nil
	}
	for i := after + 1; i <= n && len(out) < limit; i++ {
		c, err := state.GetContract(r.c, state.ContractID(i))
		if err != nil {
			return nil, err
		}
		if c == nil {
			continue
		}
		info, err := r.contractInfo(c)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// ContractEvents returns up to limit events of a contract, oldest first,
// starting after event number after (0: from the first).
func (r *Reader) ContractEvents(id string, after uint64, limit int) ([]*state.Event, error) {
	prefix := state.EventPrefix(id)
	if after == math.MaxUint64 {
		return nil, nil
	}
	it, err := r.c.db.NewIter(&pebble.IterOptions{LowerBound: state.EventKey(id, after+1), UpperBound: state.PrefixEnd(string(prefix))})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []*state.Event
	for ok := it.First(); ok && len(out) < limit; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, err
		}
		e, err := state.DecodeEvent(v)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, it.Error()
}
