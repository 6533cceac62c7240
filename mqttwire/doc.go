// Package mqttwire is what goes over the wire between a device and the MQTT
// intake of an iotledger node: the token a device connects with, the topics
// it publishes and subscribes to, and the JSON of the messages the node
// publishes back. It needs nothing beyond the standard library and the
// address and internal/zip215 packages, so a device, a gateway or a load
// generator can speak to a node without importing the node's broker.
//
// # Connecting
//
// A device connects with client id = its device id (dev1..., the id it was
// registered under, which a key rotation does not change), user name = its
// device id (MQTT 5 may leave it out), and password = a token it signs with
// its key. The token is text, so a device needs nothing beyond Ed25519 and
// base64:
//
//	token     = "v1." expiry "." signature
//	expiry    = unix time in seconds, decimal, no sign, no leading zero
//	signature = base64url without padding (RFC 4648 section 5) of the 64-byte
//	            Ed25519 signature of the ASCII text
//	            "iotledger-mqtt-v1|" device-id "|" expiry
//
// For example v1.1767225600.<86 characters>. A node accepts it when the
// signature verifies (under ZIP 215) with the device's current key on the
// ledger, expiry is not in the past, and expiry is at most the node's
// longest lifetime (MaxTokenTTL by default) ahead, both with some tolerance
// for the device's clock (60 s by default): VerifyToken. A device makes a
// fresh token for each connection: Token. The text form was chosen over a
// COSE_Sign1 token because a device then needs no CBOR encoder for it (it
// may send pre-built readings), only integer formatting, one signature and
// base64url, and because it fits in a short password; the domain string
// keeps it apart from every COSE signature the ledger checks.
//
// # Topics
//
// Every topic of device ID lies under TopicPrefix + ID + "/":
//
//	iotledger/v1/devices/ID/readings  device -> node: one COSE reading per message (ReadingsTopic)
//	iotledger/v1/devices/ID/receipts  node -> device: ReceiptMessage as JSON (ReceiptsTopic)
//	iotledger/v1/devices/ID/errors    node -> device: ErrorMessage as JSON (ErrorsTopic)
//
// A device publishes its readings at QoS 1 (QoS 2 works too) and
// subscribes at QoS 1 to its receipts and errors topics. A receipt message
// says that a reading is in the log: StatusAccepted, or StatusDuplicate for
// a resend of a committed (device, seq), with the original's index. An
// error message says that a reading was refused and will not be in the
// log, with the reason (the name of the ledger's result code, or
// ReasonDeviceMismatch) and a detail for a person; ReasonNotCommitted is
// the one error message that is not a refusal: the node stopped waiting
// for the reading's block, and the device sends it again. Both carry the
// reading's sequence number, by which a device matches them to what it
// sent (an error message may arrive twice); they are published at QoS 1
// and never retained. The node keeps a device's error messages until the
// device acknowledges them, across connections, so a device that sends
// again only what got no PUBACK, and reads its errors topic, loses nothing.
package mqttwire
