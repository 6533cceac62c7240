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
