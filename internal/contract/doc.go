// Package contract reads and checks contract documents: the part of
// issue 4 that decides, at deploy, whether a contract may exist. Execution
// (triggers firing in block order, actions applied to state, escrow and
// devices) builds on it.
//
// A contract is a YAML (or JSON) document:
//
//	name: coldchain
//	state:                       # typed state with initial values
//	  streak: {type: int, initial: 0}
//	  buyer:  {type: string, initial: "acc1..."}
//	triggers:
//	  - name: hot
//	    on: reading              # reading | blocks | call
//	    devices: {labels: {shipment: S-42}}
//	    when: "reading.data.temp > 8.0"
//	    do:
//	      - set: {streak: "state.streak + 1"}
//	      - emit: {event: excursion, fields: {temp: "reading.data.temp"}}
//	      - transfer: {to: "state.buyer", amount: "100"}
//	      - device_status: {device: "device.id", status: quarantined}
//	      - desired: {device: "device.id", field: firmware, value: "'1.3.0'"}
//
// Conditions and values are CEL expressions (google/cel-go). Every trigger
// sees state (the contract's state), block (height, time) and contract
// (id, owner, balance); a reading trigger also sees reading (device, seq,
// time, data) and device (id, owner, status, labels); a call trigger sees
// args (the declared arguments) and caller. Check compiles every
// expression against those declarations, so a document that does not parse
// or type-check, names a state field it does not declare, gives a value of
// the wrong type, or whose estimated cost is unbounded or over MaxCost is
// refused with the position of the fault (line:column of the document) and
// a message a person can act on.
package contract
