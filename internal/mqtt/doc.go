// Package mqtt is the MQTT intake of a node: an embedded broker (mochi-mqtt,
// MQTT 3.1.1 and 5) that devices connect to, and a bridge that subscribes to
// an operator's existing broker (Mosquitto, EMQX; MQTT 5). Both hand each
// reading to ingest and publish what became of it back to the device.
//
// # Model
//
// A reading is self-authenticating (a COSE_Sign1 by the device key), so the
// MQTT layer adds no trust: it decides who may connect and publish, queues
// readings, and reports outcomes. The caller's duties, in order:
//
//  1. New(cfg, Deps{Submit: ingest.Submit, Device: app.Device}, log).
//  2. Start(ctx) once ingest runs: the broker listens on cfg.Addr (TLS
//     only when cfg.TLSCert is set; with cfg.ClientCA, devices must show a
//     certificate that CA signed) and/or the bridge connects (in the
//     background; WaitBridge waits for it).
//  3. For every committed block: Committed(outcomes) and
//     DevicesChanged(devices). Both never block; they may be called before
//     Start and after Close.
//  4. Close before ingest closes.
//
// # Topics
//
// Every topic of device ID lies under iotledger/v1/devices/ID/ (the
// package mqttwire names them and defines the JSON of the answers):
//
//	iotledger/v1/devices/ID/readings  device -> node: one COSE reading per message, at most 4096 bytes
//	iotledger/v1/devices/ID/receipts  node -> device: {"seq","index","height","receipt","status"}
//	iotledger/v1/devices/ID/errors    node -> device: {"seq","reason","detail"}
//
// A receipt message says that a reading is in the log: status "accepted",
// or "duplicate" for a resend of a committed (device, seq), with the
// original's index; "receipt" is the path of the full receipt in the HTTP
// API (/v1/devices/ID/readings/SEQ/receipt). An error message says that a
// reading was refused and will not be in the log: "reason" is the name of
// the ledger's result code (malformed_reading, reading_too_large,
// bad_signature, revoked_device, key_rotated, time_out_of_window, ...) or
// one of the broker's own, rate_limited and device_mismatch (the payload's
// device id is not the topic's); "seq" is null when the payload did not
// decode. Both are published at QoS 1 and never retained.
//
// On the embedded broker a device may publish only to its own readings
// topic and subscribe only below its own prefix (iotledger/v1/devices/ID/#);
// anything else is refused (MQTT 5: reason 0x87; a publish by an MQTT 3.1.1
// client closes its connection, as 3.1.1 has no negative PUBACK). Readings
// are not forwarded to subscribers. Will messages, retained messages from
// devices, topic aliases, shared subscriptions and QoS 2 are not offered.
//
// When a device's desired state (its twin, set by its owner) changes, the
// node publishes the whole desired state to iotledger/v1/devices/ID/twin/desired
// (mqttwire.TwinDesiredMessage), retained: a device that subscribes gets the
// latest one at once, applies it and reports its state back with a signed
// report_state transaction.
//
// # Connecting
//
// A device connects with client id = its device id (dev1..., the id it was
// registered under, which a key rotation does not change), user name = its
// device id (MQTT 5 may leave it out), and password = a token it signs with
// its key. The broker refuses a CONNECT with:
//
//	reason (MQTT 5)                  MQTT 3.1.1 return code   when
//	0x85 Client Identifier not valid 2                        client id is not a device id
//	0x86 Bad User Name or Password   4                        token malformed, expired, valid too long, or forged; user name not the device id
//	0x87 Not authorized              5                        device not registered, or revoked; a will message is set
//	0x88 Server unavailable          3                        the ledger could not be read
//
// A device that is revoked, or whose key is rotated, while connected is
// disconnected (DevicesChanged) and must connect again with a token signed
// by its current key. A connection must send CONNECT within
// cfg.ConnectTimeout; keep alive is capped at cfg.MaxKeepAlive (0 means the
// cap; MQTT 5 clients are told with Server Keep Alive).
//
// # Token
//
// The token's format is in the package mqttwire, which makes one (Token)
// and checks one (VerifyToken). The broker accepts a token when its
// signature verifies (under ZIP 215) with the device's current key on the
// ledger, its expiry is not in the past, and its expiry is at most
// cfg.TokenMaxTTL (10 minutes) ahead, both with cfg.ClockSkew (60 s) of
// tolerance for the device's clock. It checks the token's form before it
// looks the device up.
//
// # QoS and backpressure
//
// A QoS 1 reading is acknowledged (PUBACK) only once it is in the node's
// queue, or answered: mochi runs the hook before it sends the PUBACK, and
// the hook calls Submit there. While the queue is full (ingest.ErrBusy) the
// hook waits and retries, which delays that device's PUBACK and nothing
// else; after cfg.BusyTimeout it disconnects the device (MQTT 5: 0x89 Server
// busy) without a PUBACK, so the device sends the reading again after it
// reconnects. A refused reading is acknowledged, since sending it again
// would not help, and the reason is on the errors topic; MQTT 5 clients also
// get it in the PUBACK: 0x99 Payload format invalid (malformed, too large),
// 0x87 Not authorized (device mismatch, bad signature, revoked, key
// rotated), 0x97 Quota exceeded (rate limited), 0x83 otherwise. A duplicate
// is acknowledged with success and answered with a receipt. The outcome of
// a queued reading arrives when its block is committed. QoS 0 readings are
// handled the same, without acknowledgement.
//
// The broker tracks queued readings by the SHA-256 of their bytes, up to
// cfg.PendingMax of them for cfg.PendingTTL; one that is not committed in
// that time (for instance refused by the mempool because the device was
// revoked meanwhile) gets no message. The device can always ask the HTTP
// API.
//
// # Rate limit
//
// Each device has a token bucket: cfg.RatePerDevice readings a second, with
// bursts of cfg.Burst, counted before the payload is even decoded. A
// reading over the rate is not queued: it is acknowledged (MQTT 5: reason
// 0x97 Quota exceeded) and answered with reason rate_limited on the errors
// topic, and the device should send it again later. The chain has a limit
// of its own (params.device_rate_per_s), which ingest applies and answers
// the same way; the broker's defaults equal the chain's, so MQTT is no
// stricter than HTTP unless the operator tightens it.
//
// # Resource bounds
//
// A packet larger than cfg.MaxPacketBytes closes the connection before it
// is read; a smaller reading over 4096 bytes is answered with
// reading_too_large. Each client has small queues of its own (256 messages
// out, 128 unacknowledged QoS 1 messages; more are dropped for that client
// only), a write that makes no progress for cfg.WriteTimeout closes the
// connection, and at most cfg.MaxClients are connected at once, so a client
// that connects and never reads costs little and delays nobody else.
//
// # Bridge
//
// With cfg.Bridge.URL set, the node connects to the operator's broker with
// a stable client id and a persistent session, subscribes at QoS 1 to
// iotledger/v1/devices/+/readings (or $share/GROUP/... with cfg.Bridge.Group,
// so several nodes split the readings), feeds each reading through the same
// path, and publishes receipts and errors back to that broker. The
// operator's broker authenticates devices and enforces their topics; the
// bridge still requires the payload's device id to match the topic's, and
// every reading carries the device's signature. A reading is acknowledged
// to the operator's broker only once it was queued or answered; while the
// node's queue is full the bridge stops reading, so the readings wait in
// the operator's broker. The bridge can run instead of the embedded broker
// or beside it.
package mqtt
