package app

import (
	"fmt"
	"slices"
	"strings"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/contract"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/tx"
)

// Private readings (docs/PRIVATE.md). A device's owner names the device's
// private fields; from then on the device is at an epoch (1, 2, ...), and
// each epoch has a stream key that the device makes, wraps to the epoch's
// recipients and announces (stream_key: one commitment per recipient; the
// wrapped keys themselves go to the nodes' key boxes, never into a
// transaction). The recipients of the current epoch are the owner and
// every consumer with an open grant; the current epoch's record lists
// them from the moment the device moves to it, so that the announcement
// must wrap the key to exactly them, each with the KEM its published
// encryption key calls for (X-Wing when the account published one, else
// X25519).
//
// The device moves to its next epoch when a grant is revoked (by the
// owner or a contract), when the owner rotates the stream key, when a
// contract grants access (a contract cannot wrap keys, so its grant starts
// at the next epoch, whose key the device wraps to the new consumer too),
// and when the current epoch is erased. An owner's grant gives the current
// epoch and, with from_epoch, earlier ones: the owner wraps each announced
// epoch's key to the consumer in the grant itself. An erased epoch keeps
// its record (its commitments stay, and its readings' receipts verify)
// but takes no key again.
//
// A reading with sealed fields must carry the device's current epoch,
// whose key is announced (else stale_epoch or no_stream_key); a field the
// device lists as private must not be in its clear data (private_in_clear).
//
// Every change is told in the device's feed (state.ActionGranted, ...),
// with the device record as the change left it: an epoch move is an
// epoch_moved entry of its own, after the entry of what caused it.

// setEncryptionKey publishes the signer's encryption key.
func (x *execution) setEncryptionKey(s *tx.Signed, f *tx.SetEncryptionKey) (*failure, error) {
	state.PutEncryptionKey(x.stage, s.Account, &state.EncryptionKey{X25519: f.X25519, XWing: f.XWing, Height: x.height})
	kem := state.KEMX25519
	if len(f.XWing) > 0 {
		kem = state.KEMXWing
	}
	x.okLog = fmt.Sprintf("encryption key of %s set: stream keys are wrapped to it with %s from now on", s.Account, state.KEMName(kem))
	return nil, nil
}

// deviceChanged tells observers of a change of device d, with a copy of
// the record as the change left it.
func (x *execution) deviceChanged(action string, d *state.Device, access *state.AccessChange) {
	c := *d
	x.devices = append(x.devices, DeviceChange{Action: action, Device: &c, Height: x.height, Access: access})
}

// putDevice writes d, changed now.
func (x *execution) putDevice(d *state.Device) {
	d.Updated = x.height
	state.PutDevice(x.stage, d)
}

// encryptionKey returns the encryption key of account, or a no_encryption_key
// failure that says whose it is (role: "the owner of device X", ...).
func (x *execution) encryptionKey(account, role string) (*state.EncryptionKey, *failure, error) {
	k, err := state.GetEncryptionKey(x.stage, account)
	if err != nil || k != nil {
		return k, nil, err
	}
	return nil, fail(CodeNoEncryptionKey, "%s, %s, has published no encryption key; it publishes one first (a set_encryption_key transaction signed by %s)", account, role, account), nil
}

// currentEpoch returns the device's current epoch record; a device
// without private fields gets not_private.
func (x *execution) currentEpoch(d *state.Device) (*state.Epoch, *failure, error) {
	if d.StreamEpoch == 0 {
		return nil, fail(CodeNotPrivate, "device %s has no private fields, so no epochs or grants; its owner names them first (a set_private_fields transaction)", d.ID), nil
	}
	e, err := state.GetEpoch(x.stage, d.ID, d.StreamEpoch)
	if err == nil && e == nil {
		err = fmt.Errorf("app: device %s is at epoch %d, which has no record: %w", d.ID, d.StreamEpoch, state.ErrCorrupt)
	}
	return e, nil, err
}

// moveEpoch moves d to its next epoch, whose recipients are accounts, and
// writes d. why and by say what moved it.
func (x *execution) moveEpoch(d *state.Device, accounts []string, why, by string) {
	d.StreamEpoch++
	d.StreamAnnounced = false
	e := &state.Epoch{Number: d.StreamEpoch, Started: x.height, Why: why, By: by}
	for _, a := range accounts {
		e.AddRecipient(a)
	}
	state.PutEpoch(x.stage, d.ID, e)
	x.putDevice(d)
	x.deviceChanged(state.ActionEpochMoved, d, &state.AccessChange{Epoch: e.Number, Why: why, By: by})
}

// recipients returns the accounts of an epoch's recipients, in order,
// without drop ("": none) and with add ("": none).
func recipients(e *state.Epoch, drop, add string) []string {
	out := make([]string, 0, len(e.Recipients)+1)
	for _, r := range e.Recipients {
		if r.Account != drop {
			out = append(out, r.Account)
		}
	}
	if add != "" {
		if i, found := slices.BinarySearch(out, add); !found {
			out = slices.Insert(out, i, add)
		}
	}
	return out
}

// accountNames lists the accounts of recipients for a message.
func accountNames(rs []state.Recipient) string {
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = r.Account
	}
	return strings.Join(names, ", ")
}

// setPrivateFields names a device's private fields; the first time, the
// device moves to epoch 1, whose only recipient is its owner.
func (x *execution) setPrivateFields(s *tx.Signed, f *tx.SetPrivateFields) (*failure, error) {
	d, fl, err := x.ownedDevice(s, f.Device)
	if d == nil {
		return fl, err
	}
	if _, fl, err := x.encryptionKey(d.Owner, "the owner of device "+d.ID+" and a recipient of every epoch's stream key"); fl != nil || err != nil {
		return fl, err
	}
	names := slices.Clone(f.Fields)
	slices.Sort(names)
	// Count each name's devices: the names dropped, then those added.
	for _, name := range d.PrivateFields {
		if _, kept := slices.BinarySearch(names, name); kept {
			continue
		}
		n, err := state.GetPrivateName(x.stage, name)
		if err != nil {
			return nil, err
		}
		if n.Devices > 0 {
			n.Devices--
		}
		state.PutPrivateName(x.stage, name, n)
	}
	for _, name := range names {
		if d.Private(name) {
			continue
		}
		n, err := state.GetPrivateName(x.stage, name)
		if err != nil {
			return nil, err
		}
		n.Devices++
		state.PutPrivateName(x.stage, name, n)
	}
	d.PrivateFields = names
	x.putDevice(d)
	x.deviceChanged(state.ActionPrivateFields, d, &state.AccessChange{By: s.Account})
	if d.StreamEpoch == 0 {
		x.moveEpoch(d, []string{d.Owner}, state.EpochPrivateFields, s.Account)
	}
	x.okLog = fmt.Sprintf("device %s keeps %s private, at epoch %d", d.ID, strings.Join(names, ", "), d.StreamEpoch)
	return nil, nil
}

// streamKey announces the stream key of the device's current epoch: one
// wrap per recipient, with the KEM the recipient's key calls for.
func (x *execution) streamKey(s *tx.Signed, f *tx.StreamKey) (*failure, error) {
	d, err := state.GetDevice(x.stage, f.Device)
	switch {
	case err != nil:
		return nil, err
	case d == nil:
		return fail(CodeUnregisteredDevice, "device %s is not registered", f.Device), nil
	case address.Account(d.Key) != s.Account:
		return fail(CodeNotController, "only device %s's current key may announce its stream key; %s signed", f.Device, s.Account), nil
	case d.Status == state.StatusRevoked:
		return fail(CodeRevokedDevice, "device %s is revoked; it announces no more keys", f.Device), nil
	}
	e, fl, err := x.currentEpoch(d)
	if e == nil {
		return fl, err
	}
	switch {
	case f.Epoch < e.Number:
		return fail(CodeStaleEpoch, "epoch %d is not device %s's current epoch: it moved to epoch %d at height %d (%s); make epoch %d's stream key, wrap it to that epoch's recipients (%s) and announce it",
			f.Epoch, d.ID, e.Number, e.Started, e.Why, e.Number, accountNames(e.Recipients)), nil
	case f.Epoch > e.Number:
		return fail(CodeUnknownEpoch, "epoch %d is after device %s's current epoch %d; announce the key of epoch %d", f.Epoch, d.ID, e.Number, e.Number), nil
	case e.Announced != 0:
		return fail(CodeEpochAnnounced, "device %s announced the stream key of epoch %d at height %d; a key is announced once per epoch: seal with it (a rotate_stream_key by the owner starts a new epoch)", d.ID, e.Number, e.Announced), nil
	}
	// One wrap per recipient, none for anyone else, each with the right KEM.
	for _, w := range f.Wraps {
		if e.Recipient(w.Recipient) == nil {
			return fail(CodeBadWraps, "a wrap goes to %s, who is not a recipient of device %s's epoch %d; its recipients are %s: wrap the key to each of them, to no one else",
				w.Recipient, d.ID, e.Number, accountNames(e.Recipients)), nil
		}
	}
	wraps := make(map[string]*tx.KeyWrap, len(f.Wraps))
	for i := range f.Wraps {
		wraps[f.Wraps[i].Recipient] = &f.Wraps[i]
	}
	for i := range e.Recipients {
		r := &e.Recipients[i]
		w := wraps[r.Account]
		if w == nil {
			return fail(CodeBadWraps, "no wrap for %s, a recipient of device %s's epoch %d; its recipients are %s: wrap the key to each of them",
				r.Account, d.ID, e.Number, accountNames(e.Recipients)), nil
		}
		k, fl, err := x.encryptionKey(r.Account, "a recipient of device "+d.ID+"'s epoch")
		if k == nil {
			return fl, err
		}
		if kem := k.KEM(); uint64(kem) != w.KEM {
			return fail(CodeBadWraps, "the wrap for %s uses KEM %s; %s's published encryption key calls for %s: wrap the key again with it",
				r.Account, state.KEMName(uint16(w.KEM)), r.Account, state.KEMName(kem)), nil
		}
	}
	for i := range e.Recipients {
		r := &e.Recipients[i]
		w := wraps[r.Account]
		r.KEM, r.Commitment, r.Height = uint16(w.KEM), w.Commitment, x.height
	}
	e.Announced = x.height
	state.PutEpoch(x.stage, d.ID, e)
	d.StreamAnnounced = true
	x.putDevice(d)
	x.deviceChanged(state.ActionStreamKey, d, &state.AccessChange{Epoch: e.Number, By: s.Account})
	x.okLog = fmt.Sprintf("device %s announced the stream key of epoch %d to %d recipients", d.ID, e.Number, len(e.Recipients))
	return nil, nil
}

// grantAccess gives a consumer the device's epochs from f.FromEpoch (the
// current one by default) on: the owner's wraps give it each announced,
// unerased epoch it does not hold yet up to the current one; the current
// epoch, if not announced yet, lists it as a recipient, as will every
// later epoch until it is revoked.
func (x *execution) grantAccess(s *tx.Signed, f *tx.GrantAccess) (*failure, error) {
	d, fl, err := x.ownedDevice(s, f.Device)
	if d == nil {
		return fl, err
	}
	cur, fl, err := x.currentEpoch(d)
	if cur == nil {
		return fl, err
	}
	if f.To == d.Owner {
		return fail(CodeAlreadyGranted, "%s owns device %s and is a recipient of every epoch; grant access to another account", f.To, d.ID), nil
	}
	key, fl, err := x.encryptionKey(f.To, "to whom access is granted")
	if key == nil {
		return fl, err
	}
	from := f.FromEpoch
	if from == 0 {
		from = cur.Number
	}
	if from > cur.Number {
		return fail(CodeUnknownEpoch, "from_epoch %d is after device %s's current epoch %d; grant from epoch %d at the latest (the default)", from, d.ID, cur.Number, cur.Number), nil
	}
	g, err := state.GetGrant(x.stage, d.ID, f.To)
	if err != nil {
		return nil, err
	}
	if g == nil {
		g = &state.Grant{Device: d.ID, Consumer: f.To}
	}
	// The epochs the wraps must give: from `from` to the current one for a
	// new grant, or up to the open grant's first epoch for one that gives
	// earlier epochs too.
	end := cur.Number
	if p := g.OpenPeriod(); p != nil {
		if from >= p.From {
			return fail(CodeAlreadyGranted, "%s holds access to device %s from epoch %d already (granted at height %d); to give it earlier epochs too, grant from an epoch before %d",
				f.To, d.ID, p.From, p.Granted, p.From), nil
		}
		end = p.From - 1
	} else if len(cur.Recipients) >= tx.MaxRecipients {
		return fail(CodeTooManyGrants, "device %s has %d open grants, as many as an epoch's %d recipients allow with its owner; revoke one first", d.ID, len(cur.Recipients)-1, tx.MaxRecipients), nil
	}
	if end-from+1 > tx.MaxGrantWraps {
		return fail(CodeBadWraps, "from_epoch %d gives %d epochs (%d to %d) at once, at most %d; grant from epoch %d first, then again from %d (a grant gives earlier epochs to one who holds later ones)",
			from, end-from+1, from, end, tx.MaxGrantWraps, end-tx.MaxGrantWraps+1, from), nil
	}
	// Look at each epoch of the range: those announced, not erased and
	// not held by the consumer need a wrap.
	wraps := make(map[uint64]*tx.EpochWrap, len(f.Wraps))
	for i := range f.Wraps {
		wraps[f.Wraps[i].Epoch] = &f.Wraps[i]
	}
	var needed []*state.Epoch
	for n := from; n <= end; n++ {
		e := cur
		if n != cur.Number {
			if e, err = state.GetEpoch(x.stage, d.ID, n); err != nil {
				return nil, err
			}
			if e == nil {
				return nil, fmt.Errorf("app: device %s is at epoch %d, but epoch %d has no record: %w", d.ID, cur.Number, n, state.ErrCorrupt)
			}
		}
		w := wraps[n]
		var why string
		switch {
		case e.Erased != 0:
			why = fmt.Sprintf("epoch %d was erased at height %d: it takes no key again", n, e.Erased)
		case e.Announced == 0 && n == cur.Number:
			why = fmt.Sprintf("epoch %d's key is not announced yet (the device wraps it to %s when it announces it)", n, f.To)
		case e.Announced == 0:
			why = fmt.Sprintf("epoch %d's key was never announced", n)
		case e.Recipient(f.To) != nil:
			why = fmt.Sprintf("%s holds epoch %d's key already", f.To, n)
		}
		switch {
		case why != "" && w != nil:
			return fail(CodeBadWraps, "a wrap is for epoch %d, but %s; give wraps only for the announced epochs from %d to %d that %s does not hold", n, why, from, end, f.To), nil
		case why == "" && w == nil:
			return fail(CodeBadWraps, "no wrap for epoch %d (announced at height %d); give one wrap per announced epoch from %d to %d that %s does not hold, made by opening the epoch's key with the owner's key",
				n, e.Announced, from, end, f.To), nil
		case why == "" && uint64(key.KEM()) != w.KEM:
			return fail(CodeBadWraps, "the wrap for epoch %d uses KEM %s; %s's published encryption key calls for %s: wrap the key again with it",
				n, state.KEMName(uint16(w.KEM)), f.To, state.KEMName(key.KEM())), nil
		case why == "":
			needed = append(needed, e)
		}
	}
	for _, w := range f.Wraps {
		if w.Epoch < from || w.Epoch > end {
			return fail(CodeBadWraps, "a wrap is for epoch %d, outside the epochs this grant gives without a wrap of its own (%d to %d); give wraps only for those", w.Epoch, from, end), nil
		}
	}
	for _, e := range needed {
		r := e.AddRecipient(f.To)
		w := wraps[e.Number]
		r.KEM, r.Commitment, r.Height = uint16(w.KEM), w.Commitment, x.height
		state.PutEpoch(x.stage, d.ID, e)
	}
	if cur.Recipient(f.To) == nil { // a new grant, before the current epoch's key is announced
		cur.AddRecipient(f.To)
		state.PutEpoch(x.stage, d.ID, cur)
	}
	g.Open(from, x.height, s.Account)
	state.PutGrant(x.stage, g)
	x.putDevice(d)
	x.deviceChanged(state.ActionGranted, d, &state.AccessChange{Consumer: f.To, Epoch: from, By: s.Account})
	x.okLog = fmt.Sprintf("%s may read device %s from epoch %d on (%d past epochs wrapped)", f.To, d.ID, from, len(needed))
	return nil, nil
}

// revokeAccess ends a consumer's grant: the device moves to its next
// epoch, whose key the consumer does not get.
func (x *execution) revokeAccess(s *tx.Signed, f *tx.RevokeAccess) (*failure, error) {
	d, err := state.GetDevice(x.stage, f.Device)
	switch {
	case err != nil:
		return nil, err
	case d == nil:
		return fail(CodeUnregisteredDevice, "device %s is not registered", f.Device), nil
	case d.Owner != s.Account:
		return fail(CodeNotOwner, "device %s is owned by %s; only its owner may revoke access", f.Device, d.Owner), nil
	}
	if fl, err := x.endGrant(d, f.From, s.Account, false); fl != nil || err != nil {
		return fl, err
	}
	x.okLog = fmt.Sprintf("%s's access to device %s ends with epoch %d; the device is at epoch %d", f.From, d.ID, d.StreamEpoch-1, d.StreamEpoch)
	return nil, nil
}

// endGrant closes consumer's grant of d and moves d to its next epoch
// without the consumer; by is the owner or a contract, which may revoke
// what is not granted (quiet: nothing happens).
func (x *execution) endGrant(d *state.Device, consumer, by string, quiet bool) (*failure, error) {
	g, err := state.GetGrant(x.stage, d.ID, consumer)
	if err != nil {
		return nil, err
	}
	if g == nil || g.OpenPeriod() == nil {
		if quiet {
			return nil, nil
		}
		return fail(CodeNoGrant, "%s holds no grant of device %s to revoke; the device's access list (GET /v1/devices/%s/access) shows who does", consumer, d.ID, d.ID), nil
	}
	cur, fl, err := x.currentEpoch(d)
	if cur == nil {
		return fl, err
	}
	g.Close(cur.Number, x.height, by)
	state.PutGrant(x.stage, g)
	x.putDevice(d)
	x.deviceChanged(state.ActionRevoked, d, &state.AccessChange{Consumer: consumer, Epoch: cur.Number, By: by})
	x.moveEpoch(d, recipients(cur, consumer, ""), state.EpochRevoked, by)
	return nil, nil
}

// rotateStreamKey moves the device to its next epoch, with the same
// recipients.
func (x *execution) rotateStreamKey(s *tx.Signed, f *tx.RotateStreamKey) (*failure, error) {
	d, fl, err := x.ownedDevice(s, f.Device)
	if d == nil {
		return fl, err
	}
	cur, fl, err := x.currentEpoch(d)
	if cur == nil {
		return fl, err
	}
	x.moveEpoch(d, recipients(cur, "", ""), state.EpochRotated, s.Account)
	x.okLog = fmt.Sprintf("device %s is at epoch %d", d.ID, d.StreamEpoch)
	return nil, nil
}

// eraseEpochs marks epochs erased (each node deletes their wrapped keys
// and takes none for them again); erasing the current one moves the device
// to its next epoch.
func (x *execution) eraseEpochs(s *tx.Signed, f *tx.EraseEpochs) (*failure, error) {
	d, err := state.GetDevice(x.stage, f.Device)
	switch {
	case err != nil:
		return nil, err
	case d == nil:
		return fail(CodeUnregisteredDevice, "device %s is not registered", f.Device), nil
	case d.Owner != s.Account:
		return fail(CodeNotOwner, "device %s is owned by %s; only its owner may erase its epochs", f.Device, d.Owner), nil
	}
	cur, fl, err := x.currentEpoch(d)
	if cur == nil {
		return fl, err
	}
	if last := f.Epochs[len(f.Epochs)-1].To; last > cur.Number {
		return fail(CodeUnknownEpoch, "epoch %d is after device %s's current epoch %d; erase epochs up to %d", last, d.ID, cur.Number, cur.Number), nil
	}
	var erased []state.Range
	var already *state.Epoch
	for _, r := range f.Epochs {
		for n := r.From; n <= r.To; n++ {
			e := cur
			if n != cur.Number {
				if e, err = state.GetEpoch(x.stage, d.ID, n); err != nil {
					return nil, err
				}
				if e == nil {
					return nil, fmt.Errorf("app: device %s is at epoch %d, but epoch %d has no record: %w", d.ID, cur.Number, n, state.ErrCorrupt)
				}
			}
			if e.Erased != 0 {
				if already == nil {
					already = e
				}
				continue
			}
			e.Erased = x.height
			state.PutEpoch(x.stage, d.ID, e)
			if k := len(erased); k > 0 && erased[k-1].To == n-1 {
				erased[k-1].To = n
			} else {
				erased = append(erased, state.Range{From: n, To: n})
			}
		}
	}
	if len(erased) == 0 {
		return fail(CodeEpochErased, "the epochs named are erased already (epoch %d at height %d); nothing to erase", already.Number, already.Erased), nil
	}
	x.putDevice(d)
	x.deviceChanged(state.ActionErased, d, &state.AccessChange{Epochs: erased, By: s.Account})
	if cur.Erased == x.height {
		x.moveEpoch(d, recipients(cur, "", ""), state.EpochErased, s.Account)
	}
	x.okLog = fmt.Sprintf("device %s: epochs %s erased", d.ID, rangesText(erased))
	return nil, nil
}

// rangesText writes ranges of epochs as "1-3, 5".
func rangesText(rs []state.Range) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		if r.From == r.To {
			parts[i] = fmt.Sprint(r.From)
		} else {
			parts[i] = fmt.Sprintf("%d-%d", r.From, r.To)
		}
	}
	return strings.Join(parts, ", ")
}

// contractGrant is a contract's grant action: the consumer gets device
// d's epochs from the next one on, to which the device moves. Saying it
// again of a consumer with access does nothing.
func (x *execution) contractGrant(ctr string, d *state.Device, consumer string) (*failure, error) {
	if d.Status == state.StatusRevoked {
		return fail(CodeRevokedDevice, "device %s is revoked; its access no longer changes", d.ID), nil
	}
	cur, fl, err := x.currentEpoch(d)
	if cur == nil {
		return fl, err
	}
	if consumer == d.Owner {
		return nil, nil // the owner reads every epoch
	}
	if _, fl, err := x.encryptionKey(consumer, "to whom the contract grants access"); fl != nil || err != nil {
		return fl, err
	}
	g, err := state.GetGrant(x.stage, d.ID, consumer)
	if err != nil {
		return nil, err
	}
	if g == nil {
		g = &state.Grant{Device: d.ID, Consumer: consumer}
	}
	if g.OpenPeriod() != nil {
		return nil, nil // granted already
	}
	if len(cur.Recipients) >= tx.MaxRecipients {
		return fail(CodeTooManyGrants, "device %s has %d open grants, as many as an epoch's %d recipients allow with its owner", d.ID, len(cur.Recipients)-1, tx.MaxRecipients), nil
	}
	g.Open(cur.Number+1, x.height, ctr)
	state.PutGrant(x.stage, g)
	x.putDevice(d)
	x.deviceChanged(state.ActionGranted, d, &state.AccessChange{Consumer: consumer, Epoch: cur.Number + 1, By: ctr})
	x.moveEpoch(d, recipients(cur, "", consumer), state.EpochGranted, ctr)
	return nil, nil
}

// checkPrivate applies the rules of private readings to a reading of dev
// that passed the device rules: a sealed reading carries the current
// epoch, whose key is announced; no private field is in clear.
func checkPrivate(kv state.KV, s *reading.Signed, dev *state.Device) (*failure, error) {
	if sl := s.Sealed; sl != nil {
		switch {
		case dev.StreamEpoch == 0:
			return fail(CodeNoStreamKey, "device %s seq %d is sealed, but the device has no private fields, so no stream key; its owner names them first (set_private_fields)", s.Device, s.Seq), nil
		case sl.Epoch != dev.StreamEpoch:
			e, err := state.GetEpoch(kv, dev.ID, dev.StreamEpoch)
			if err != nil {
				return nil, err
			}
			moved := ""
			if e != nil {
				moved = fmt.Sprintf(" since height %d (%s)", e.Started, e.Why)
			}
			return fail(CodeStaleEpoch, "device %s seq %d is sealed under epoch %d, but the device is at epoch %d%s; make epoch %d's stream key, announce it, seal the fields again and resend seq %d",
				s.Device, s.Seq, sl.Epoch, dev.StreamEpoch, moved, dev.StreamEpoch, s.Seq), nil
		case !dev.StreamAnnounced:
			return fail(CodeNoStreamKey, "device %s seq %d is sealed under epoch %d, whose stream key is not announced; announce it (a stream_key transaction signed by the device) and resend seq %d once it is committed",
				s.Device, s.Seq, sl.Epoch, s.Seq), nil
		}
	}
	for _, name := range dev.PrivateFields {
		if _, clear := s.Data[name]; clear {
			return fail(CodePrivateInClear, "device %s seq %d has field %q in its clear data, which the device's record lists as private (%s); seal it and resend",
				s.Device, s.Seq, name, strings.Join(dev.PrivateFields, ", ")), nil
		}
	}
	return nil, nil
}

// checkPrivateReads refuses a contract document one of whose reading or
// report triggers reads, by name, a data field that a device the trigger
// can match keeps private: a contract sees clear data only. A device the
// trigger can match is a registered device its selector matches now (see
// package contract). The devices are looked at only for names some
// device keeps private (state.PrivateName), and all of them only when a
// selector lists no ids.
func (a *App) checkPrivateReads(kv state.KV, doc *contract.Checked) (*failure, error) {
	var refs []contract.FieldRef
	for _, r := range doc.Fields {
		n, err := state.GetPrivateName(kv, r.Name)
		if err != nil {
			return nil, err
		}
		if n.Devices > 0 {
			refs = append(refs, r)
		}
	}
	if len(refs) == 0 {
		return nil, nil
	}
	type hit struct {
		first string // the lowest id of the devices found
		n     int
	}
	hits := make([]hit, len(refs))
	check := func(d *state.Device) {
		if len(d.PrivateFields) == 0 {
			return
		}
		for i, r := range refs {
			if d.Private(r.Name) && r.Trigger.Devices.Matches(d.ID, d.Labels) {
				if hits[i].n == 0 || d.ID < hits[i].first {
					hits[i].first = d.ID
				}
				hits[i].n++
			}
		}
	}
	var ids []string
	scan := false
	for _, r := range refs {
		if sel := r.Trigger.Devices; sel == nil || len(sel.IDs) == 0 {
			scan = true
		} else {
			ids = append(ids, sel.IDs...)
		}
	}
	if scan {
		if err := a.eachDevice(kv, check); err != nil {
			return nil, err
		}
	} else {
		slices.Sort(ids)
		for _, id := range slices.Compact(ids) {
			d, err := state.GetDevice(kv, id)
			if err != nil {
				return nil, err
			}
			if d != nil {
				check(d)
			}
		}
	}
	var msgs []string
	for i, r := range refs {
		h := hits[i]
		if h.n == 0 {
			continue
		}
		more := ""
		if h.n > 1 {
			more = fmt.Sprintf(" (and %d more devices it can match)", h.n-1)
		}
		msgs = append(msgs, fmt.Sprintf("line %d, column %d: trigger %s reads %s.%s, which device %s keeps private%s; a contract sees clear data only: read public fields, or select devices that keep %s public",
			r.Line, r.Column, r.Trigger.Name, r.Path, r.Name, h.first, more, r.Name))
	}
	if len(msgs) > 0 {
		return fail(CodeInvalidContract, "%s", strings.Join(msgs, "; ")), nil
	}
	return nil, nil
}

// eachDevice calls fn with every registered device of kv: committed
// state, and the block's own device writes when kv is a block's stage
// (committed devices first, in id order, then those the block wrote, in
// id order).
func (a *App) eachDevice(kv state.KV, fn func(*state.Device)) error {
	st, _ := kv.(*stage)
	var staged []string
	if st != nil && st.devices {
		for _, k := range st.sortedKeys() {
			if strings.HasPrefix(k, state.PrefixDevice) {
				staged = append(staged, k)
			}
		}
	}
	err := a.kv.Each(state.PrefixDevice, func(k, v []byte) error {
		if _, written := slices.BinarySearch(staged, string(k)); written {
			return nil // the block's own record, below
		}
		d, err := state.DecodeDevice(k, v)
		if err != nil {
			return err
		}
		fn(d)
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range staged {
		v := st.writes[k]
		if v == nil {
			continue
		}
		d, err := state.DecodeDevice([]byte(k), v)
		if err != nil {
			return err
		}
		fn(d)
	}
	return nil
}
