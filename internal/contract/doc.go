// Package contract reads, checks and runs contract documents. Check
// decides at deploy whether a contract may exist; Run evaluates one trigger
// against its inputs and returns the effects, which the app (internal/app)
// applies inside block execution, all or none.
//
// A contract is a YAML (or JSON) document:
//
//	name: coldchain
//	state:                       # typed state with initial values
//	  streak: {type: int, initial: 0}
//	  buyer:  {type: string, initial: "acc1..."}
//	  approved: {type: list, initial: ["aa11", "bb22"]}   # list of strings
//	triggers:
//	  - name: hot
//	    on: reading              # reading | report | silence | blocks | call
//	    devices: {labels: {shipment: S-42}}
//	    when: "reading.data.temp > 8.0"
//	    do:
//	      - set: {streak: "state.streak + 1"}
//	      - emit: {event: excursion, fields: {temp: "reading.data.temp"}}
//	      - transfer: {to: "state.buyer", amount: "100"}
//	      - device_status: {device: "device.id", status: quarantined}
//	      - desired: {device: "device.id", field: firmware, value: "'1.3.0'"}
//	      - grant: {device: "device.id", to: "state.buyer"}    # private fields, from the next epoch
//	      - revoke: {device: "device.id", from: "state.buyer"}
//
// Triggers:
//
//   - reading: each accepted reading of a device the selector (devices:
//     ids and/or labels, all must match) picks; sees reading (device, seq,
//     time, data) and device (id, owner, status, labels).
//   - report: each reported-state change of a picked device; sees device
//     and reported (the whole reported state).
//   - silence: a picked device whose last reading is exactly blocks: N
//     blocks old, once per silence; readings from before the contract's
//     deploy block do not count. Sees device and silence (last_height,
//     blocks).
//   - blocks: every: N blocks after the deploy block.
//   - call: a call_contract transaction; sees args (declared with types
//     int, double, string, bool), caller (the signer) and payment (what the
//     call paid into escrow).
//
// Every trigger sees state, block (height, time in Unix ms) and contract
// (id, owner, balance: the escrow). when is optional (true).
//
// Actions that change a device (device_status, desired, grant, revoke)
// apply only to devices the contract's owner owns. grant gives an account
// (acc1..., which must have published an encryption key) access to a
// device's private fields: a contract cannot wrap stream keys, so access
// starts at the device's next epoch, to which the grant moves it (the
// device wraps that epoch's key to the new consumer too); revoke ends one
// and moves the device to its next epoch, whose key the consumer does not
// get. Granting what is granted, or revoking what is not, does nothing.
//
// Private fields: a contract sees a reading's clear data only (sealed
// fields are not in reading.data; see docs/PRIVATE.md). Checked.Fields
// lists the data fields its reading and report triggers read by name
// (reading.data.NAME, reading.data["NAME"], reported.NAME, has() of them);
// the ledger refuses at deploy a contract whose trigger reads a field that
// a device the trigger can match keeps private, naming the field and the
// device. A device the trigger can match is a registered device (of any
// owner) its selector matches at deploy: listed among its ids, if it has
// any, and holding each of its labels (labels never change). A device
// registered later, a field made private later, or a field read by a key
// computed at run time is not known at deploy: the run then finds no such
// field in the data, fails, and the contract gets a "failed" event.
//
// Conditions and values are CEL expressions (google/cel-go). Check compiles
// every expression against its trigger's variables, so a document that
// does not parse or type-check, names a state field it does not declare,
// gives a value of the wrong type, or whose estimated cost is over MaxCost
// is refused with the position of the fault (line:column of the document)
// and a message a person can act on. The same limit bounds each
// expression's actual cost when it runs. The estimate assumes no text,
// list or map larger than SizeHint; a run whose values all fit that (the
// usual case) stays within the estimates, so it runs without cel-go's cost
// tracker and counts them; a run that sees a larger value is tracked and
// an expression is stopped at MaxCost.
//
// Determinism: the comprehension macros (all, exists, exists_one, map,
// filter) are not available, because iterating a map follows Go's random
// map order and two validators could disagree; has() is, and lists are
// searched with in. CEL has no clock or randomness; block.time is the
// block's time, the same on every validator. Run evaluates every
// expression of a trigger against the state as it was before the run.
package contract
