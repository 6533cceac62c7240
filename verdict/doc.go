// Package verdict is the vocabulary of what became of a reading: its
// status, the result code that names the rule behind it, and where its
// receipt is. The node (block execution, its intake over HTTP and MQTT, its
// API) and the programs that talk to it (package client, the device SDK,
// the MQTT answers of package mqttwire) all use these words, so a word
// means one thing everywhere.
//
// # Statuses
//
// Every reading sent gets one of four statuses:
//
//	accepted   committed now. Index is its leaf in the log, Height its block, and
//	           its receipt is at ReceiptPath(device, seq) once the next block is
//	           committed. Nothing more to do: forget the reading.
//	duplicate  the same bytes were committed before (a resend). Index, Height and
//	           the receipt are the original's. Nothing more to do: resending is
//	           always safe, and this is the answer to it.
//	rejected   refused: it is not in the log and will not be. Code (in JSON, the
//	           "reason") names the rule and Detail says what was wrong and what
//	           to do; see Reasons for when the same reading may be sent again.
//	pending    taken but not committed yet, or not waited for: its fate is still
//	           open. Ask again (the receipt path answers 404 until it is
//	           committed) or send it again later: a committed one is answered
//	           duplicate.
//
// # Reasons
//
// A rejected reading's reason is the name of a Code (Code.String). Those a
// reading can get, and what its sender does:
//
//	malformed_reading    not a COSE_Sign1 reading of this format (Detail says where);
//	                     fix the encoder. Never send the same bytes again.
//	reading_too_large    over 4096 bytes: split the data over several readings.
//	unregistered_device  no device has this id: register it (iotledger device
//	                     register), then send the reading again.
//	revoked_device       its owner revoked the device: final; stop sending.
//	quarantined_device   its owner (or a contract) quarantined the device: send again
//	                     once the owner reactivates it.
//	bad_signature        the signature does not verify with the device's key: the
//	                     bytes were altered or signed by another key. Never send
//	                     them again.
//	key_rotated          signed with a key the device rotated out: sign the data
//	                     again with the current key (the same seq may be reused).
//	time_out_of_window   the reading's time is too far from the block time: fix the
//	                     device clock and sign it again.
//	rate_limited         the device sends faster than the chain allows
//	                     (params.device_rate_per_s): send the same reading again later,
//	                     and slower.
//	seq_reused           this (device, seq) was committed with other data: this data
//	                     is not stored. Index, Height and the receipt locate the
//	                     original. The device signed a sequence number twice (its
//	                     sequence state was lost or restored from an old copy): sign
//	                     the data again under a new seq, and fix the state.
//	stale_epoch          a sealed reading's epoch is not the device's current one (its
//	                     owner revoked a grant, rotated or erased): Detail names the
//	                     current epoch. Make that epoch's stream key, announce it
//	                     (stream_key), seal the fields again and resend (the same seq).
//	no_stream_key        the sealed reading's epoch has no announced stream key yet (or
//	                     the device has no private fields): announce it, then resend.
//	private_in_clear     a field the device's record lists as private is in the clear
//	                     data: seal it, then resend.
//	node_stopping        the node is shutting down: send it again, later or elsewhere.
//	malformed_tx, tx_too_large, batch_too_large
//	                     the batch that carried the reading was refused as a whole
//	                     (a gateway's, or a store read failed): send it again, in
//	                     smaller batches.
//
// A resend of a committed reading is not refused: its status is duplicate,
// with code duplicate. The other codes name rules of signed transactions
// (wrong_nonce, not_owner, insufficient_funds, ...): see the constants. The
// MQTT intake adds two reasons of its own that are not codes (package
// mqttwire): device_mismatch and not_committed.
//
// Codes are part of the interface, as numbers (ABCI results, the API's
// tx_results) and as names: a code is never renumbered or renamed, and a
// new rule takes the next number.
//
// # Receipt location
//
// A reading that is in the log, or the original a duplicate or a reused
// seq points to, has its receipt at ReceiptPath(device, seq) in the node's
// HTTP API. Answers give the path only (an HTTP Result's receipt, an MQTT
// receipt message's): the client puts it after the base URL of the node it
// asks.
//
// # Shapes
//
// Verdict is a verdict as the node holds it (with its Code); Result is the
// same verdict as the HTTP API answers it, with the reason as a name, the
// index only when there is one, and the receipt path.
package verdict
