package app

import (
	"maps"
	"sort"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/tx"
)

// Device twins. Each device has a desired state, set by its owner, and a
// reported state, sent by the device itself (a transaction signed by its
// current key). Both are maps of field to number, text or bool, versioned:
// every change bumps the side's version and is kept whole in the side's
// history (v/<device>/<side>/<height><tx>), so the twin as of any block can
// be read back. The twin itself (w/<device>) is part of the state digest.

func (x *execution) patchTwin(s *tx.Signed, f *tx.TwinPatch) (*failure, error) {
	d, err := state.GetDevice(x.stage, f.Device)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return fail(CodeUnregisteredDevice, "device %s is not registered", f.Device), nil
	}
	side := state.SideDesired
	if s.Type == tx.TypeReportState {
		side = state.SideReported
		if address.Account(d.Key) != s.Account {
			return fail(CodeNotController, "only device %s's current key may report its state; %s signed", f.Device, s.Account), nil
		}
	} else if d.Owner != s.Account {
		return fail(CodeNotOwner, "device %s is owned by %s; only its owner may set its desired state", f.Device, d.Owner), nil
	}
	if d.Status == state.StatusRevoked {
		return fail(CodeRevokedDevice, "device %s is revoked; its twin no longer changes", f.Device), nil
	}
	if f, err := x.applyTwin(f.Device, side, f.Set, f.Unset, s.Account); f != nil || err != nil {
		return f, err
	}
	if side == state.SideReported {
		return nil, x.onReport(d)
	}
	return nil, nil
}

// applyTwin patches one side of a device's twin and records the version.
// by is the signer, or the contract, that changed it.
func (x *execution) applyTwin(id, side string, set map[string]any, unsetKeys []string, by string) (*failure, error) {
	twin, err := state.GetTwin(x.stage, id)
	if err != nil {
		return nil, err
	}
	st := &twin.Desired
	if side == state.SideReported {
		st = &twin.Reported
	}
	next := maps.Clone(st.State)
	if next == nil {
		next = map[string]any{}
	}
	maps.Copy(next, set)
	for _, k := range unsetKeys {
		delete(next, k)
	}
	if len(next) > tx.MaxTwinFields {
		return fail(CodeTwinTooLarge, "the %s state of %s would hold %d fields, at most %d; unset some first", side, id, len(next), tx.MaxTwinFields), nil
	}
	st.Version++
	st.Height = x.height
	st.State = next
	state.PutTwin(x.stage, id, twin)
	unset := append([]string(nil), unsetKeys...)
	sort.Strings(unset)
	state.PutTwinChange(x.stage, id, side, x.slot(), &state.TwinChange{
		Version: st.Version, Height: x.height, Tx: x.txIndex, Set: set, Unset: unset, State: next, By: by,
	})
	x.twins = append(x.twins, TwinChange{Device: id, Side: side, Version: st.Version, Height: x.height, State: next})
	return nil, nil
}

// TwinChange is a committed change of a twin, for observers (the MQTT
// twin/desired topic, events).
type TwinChange struct {
	Device  string
	Side    string // state.SideDesired or SideReported
	Version uint64
	Height  int64
	State   map[string]any
}
