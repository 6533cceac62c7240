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
//  1. New(cfg, Deps{Submit: ingest.Submit, Device: query.Reader.Device}, log).
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
// bad_signature, revoked_device, key_rotated, time_out_of_window,
// rate_limited, seq_reused, ...) or device_mismatch (the payload's device
// id is not the topic's); "seq" is null when the payload did not decode.
// One reason is not a refusal: not_committed says the broker stopped
// waiting for the reading's block (see Pending readings), and the device
// should send it again. Both are published at QoS 1 and never retained.
//
// On the embedded broker a device may publish only to its own readings
// topic and subscribe only below its own prefix (iotledger/v1/devices/ID/#);
// anything else is refused (MQTT 5: reason 0x87; a publish by an MQTT 3.1.1
// client closes its connection, as 3.1.1 has no negative PUBACK). Readings
// are not forwarded to subscribers. Will messages, retained messages from
// devices, topic aliases and shared subscriptions are not offered.
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
// # Delivery: what an acknowledgement means
//
// A device that speaks plain MQTT to the embedded broker and sends again
// only what got no acknowledgement loses nothing: a reading acknowledged
// (PUBACK at QoS 1; PUBREC, then PUBCOMP, at QoS 2) ends committed, or
// with its refusal notice delivered on the device's errors topic. mochi
// runs the hook before it acknowledges, so whatever the hook waits for
// delays that device's acknowledgement and nothing else; a reading's waits
// together last at most cfg.BusyTimeout. What a device gets:
//
//	the reading                          MQTT 3.1.1                         MQTT 5
//	queued                               PUBACK, receipt at commit          PUBACK 0x00, receipt at commit
//	a resend of a committed one          PUBACK, receipt "duplicate"        PUBACK 0x00, receipt "duplicate"
//	refused before queueing (payload,    PUBACK, notice on errors           PUBACK 0x99, 0x87 or 0x83 with the
//	  device, signature, window, ...)                                         reason string "REASON: DETAIL",
//	                                                                          notice on errors
//	refused at commit                    notice on errors (PUBACK came)     the same
//	not committed within pending_ttl     notice not_committed               the same
//	over the device's rate (the          PUBACK held back until a token     the same
//	  broker's, or the chain's)            comes
//	node's queue full (ingest busy)      PUBACK held back; after            the same; after busy_timeout
//	                                       busy_timeout the connection is     DISCONNECT 0x89 Server busy
//	                                       closed, no PUBACK
//	refusal notices owed at the bound    the same                           the same, DISCONNECT 0x89 naming
//	  (see below)                                                             the errors topic
//	rate too low to wait busy_timeout    connection closed, no PUBACK       DISCONNECT 0x97 Quota exceeded
//	consensus halted (ingest.HaltedError) connection closed, no PUBACK      DISCONNECT 0x89 with the halt's
//	                                                                          time and reason
//
// A QoS 2 reading gets a PUBREC where the table says PUBACK, and PUBCOMP
// after the device's PUBREL; an MQTT 5 refusal known before the PUBREC is
// the PUBREC's reason code, which ends the exchange. At most 32 QoS 2
// readings of one connection may wait for their PUBREL (Receive Maximum).
// A QoS 0 reading is handled the same, without acknowledgement. Closing
// the connection (MQTT 3.1.1 has no DISCONNECT from the server) or a
// DISCONNECT leaves the reading unacknowledged: the device sends it again
// once it connects again. A halt is logged once, not once per reading.
//
// Refusal notices are never dropped while they can be kept. The broker
// holds a device's notices until the device acknowledges each (PUBACK; a
// device subscribed at QoS 0 takes one when it is queued); it hands them
// to the device's connection once the device is connected, subscribed to
// its errors topic and fewer than 128 messages behind. mochi's queue for a
// client is small (256 messages; more are dropped for that client alone),
// and a notice mochi drops, or that a connection ends with unacknowledged,
// goes back to the hold, for later on this connection or for the next one,
// clean session or not; so a device may get a notice twice, and matches
// notices to readings by seq. A receipt, by contrast, is dropped for a
// client that far behind: a reading with a receipt is in the log. The
// hold has bounds: a device with 2*cfg.Burst+4096 readings waiting for
// their outcome and notices held gets no more acknowledgements until it
// takes some (after cfg.BusyTimeout it is disconnected, as in the table);
// all devices together at most cfg.PendingMax notices (past that a notice
// is dropped, counted and logged); and a notice not taken within an hour,
// the longest a session lives, is dropped and counted.
//
// What a device can still miss, and what it does then: a device that
// does not subscribe to its errors topic is told only by MQTT 5 reason
// codes. Readings acknowledged but not yet in a block when the node stops
// or crashes are in no one's memory after the restart (the hold, the
// pending readings and ingest's queue are in memory): a device that must
// survive that keeps each reading until its receipt, and sends again (or
// asks GET /v1/devices/ID/readings/SEQ/receipt about) a reading that has
// neither receipt nor notice after a while; a resend of a committed
// reading is answered duplicate. The SDK (package device) does so.
//
// # Rate limit
//
// Each device has a token bucket (package ratelimit, on
// golang.org/x/time/rate): cfg.RatePerDevice readings a second, with
// bursts of cfg.Burst, counted before the payload is looked at. A
// reading over the rate is held back until its token comes (its
// acknowledgement waits, and so does everything the device sends after
// it), not refused. The chain has a limit of its own
// (params.device_rate_per_s and device_burst): ingest applies it on the
// wall clock before it queues a reading, and when ingest answers
// rate_limited the broker holds the reading back the same way and submits
// it again. The broker's defaults equal the chain's, so MQTT is no
// stricter than HTTP unless the operator tightens it. The ledger applies
// the chain's limit once more at commit, on block time, which bunches the
// readings queued over a block interval: a burst at the limit may still
// see a few readings refused at commit, after their acknowledgement; their
// devices get rate_limited on the errors topic, and send them again later.
//
// # Pending readings
//
// The broker tracks queued readings by the SHA-256 of their bytes, up to
// cfg.PendingMax of them for cfg.PendingTTL. A reading it stops waiting
// for (the table full, or no block within that time: the mempool refused
// it, or consensus halted) is answered on the errors topic with reason
// not_committed, as its device could not otherwise tell.
//
// # Resource bounds
//
// A packet larger than cfg.MaxPacketBytes closes the connection before it
// is read; a smaller reading over 4096 bytes is answered with
// reading_too_large. Each client has small queues of its own (256 messages
// out, 128 unacknowledged QoS 1 messages; more receipts are dropped for
// that client only, refusal notices held), a write that makes no progress
// for cfg.WriteTimeout closes the connection, and at most cfg.MaxClients
// are connected at once, so a client that connects and never reads costs
// little and delays nobody else.
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
// node's queue is full, the chain's rate limit holds a reading back, or
// consensus has halted, the bridge stops reading, so the readings wait in
// the operator's broker. The bridge publishes receipts and notices once
// (a full queue or a failed publish drops one, counted): there the
// operator's broker, not the node, acknowledges the devices' publishes,
// and a device there learns the fate of a reading it has no answer for
// from the HTTP API. The bridge can run instead of the embedded broker or
// beside it.
package mqtt
