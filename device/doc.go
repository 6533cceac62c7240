// Package device is the device side of iotledger: it signs readings with the
// device's Ed25519 key, keeps the device's sequence numbers across restarts,
// and delivers every reading to the ledger exactly once through a durable
// on-disk outbox, over HTTP or MQTT.
//
// # Signer
//
// A Signer signs readings with increasing sequence numbers and persists the
// next number in a small file before it hands out a reading (a temporary
// file, fsync, rename, fsync of the folder): after a crash the device
// continues above every number it may have used, so it never signs two
// different readings with the same number. Signers that share the file, in
// one process or several (the CLI's `reading send` while `dev` simulates
// the same device), take turns: each Sign holds the lock file beside it
// (flock on Unix), reads the number again and saves the next before it lets
// go.
//
// # Sender and its outbox
//
// A Sender owns a state folder and a Transport. Its duties, in order:
//
//  1. NewSender(Options{Key, Dir, Transport}) takes the folder (one Sender
//     per folder at a time; on Unix another is refused with ErrInUse) and finds
//     the readings a previous run left in the outbox.
//  2. Start(ctx) starts the one goroutine that drains the outbox.
//  3. Record(ctx, data, t) signs a reading, writes it to the outbox and
//     wakes the drainer; once it returns, the reading will reach the
//     ledger, whatever happens to the process or the network.
//  4. Flush(ctx), when the caller wants to know that every reading recorded
//     so far has left the outbox (before a planned shutdown, in tests).
//  5. Close stops the drainer, waits for it and releases the folder.
//     Readings still in the outbox are sent by the next Sender on the
//     folder.
//
// The drainer sends the outbox in sequence order, in batches of
// Options.BatchSize, and acts on each reading's answer:
//
//   - Accepted, or Duplicate (the ledger already holds this (device, seq);
//     the answer points to the original's receipt): the reading is removed
//     from the outbox. It is removed on nothing else.
//   - Rejected, for a reason that sending again cannot cure (bad_signature,
//     revoked_device, time_out_of_window, ...): the reading moves to the
//     dead-letter folder beside a file that says why. It is never dropped
//     silently and never retried forever; DeadLetters lists them.
//   - Rejected for a reason in Options.Retry (rate_limited by default),
//     Pending (taken but not committed within the node's wait), or no answer
//     at all (network down, node busy, node restarting): the reading stays
//     and the batch is sent again after Options.Backoff, which honours the
//     node's Retry-After.
//
// # Guarantees
//
// Delivery is at least once: a reading leaves the outbox only after the
// ledger said it holds it, so a crash of the device, a crash of the node or
// a lost answer at any moment leads to the reading being sent again, never
// to its loss. The ledger keeps (device, seq) unique and answers a resend
// with Duplicate, so the log holds every recorded reading exactly once.
// Sequence numbers have no gaps: a number counts as used only once its
// reading is in the outbox, so a crash inside Record either leaves the
// reading in the outbox, and it is delivered, or uses no number.
//
// The guarantee holds as long as the state folder does: keep it on storage
// that survives a power cut, and never restore an old copy of it or start
// afresh with a device that already sent readings. A Sender on a folder that
// forgot used numbers would sign new readings with them; the ledger refuses
// those (Rejected, ReasonSeqReused: the number was committed with other
// data) and the Sender moves them to the dead letters with that reason,
// where the loss is seen, instead of taking them as delivered. Only a
// byte-identical resend is answered Duplicate.
//
// # On disk
//
// The state folder (Options.Dir) holds:
//
//	seq                          the next sequence number, in decimal (the Signer's state file)
//	seq.lock                     held (flock) by a Signer while it signs, on Unix; holds its pid
//	lock                         held (flock) by the open Sender on Unix
//	outbox/00000000000000000042.cose
//	                             reading 42, the COSE_Sign1 bytes as signed; the name is
//	                             the sequence number, zero-padded to 20 digits
//	dead/00000000000000000042.cose
//	dead/00000000000000000042.json
//	                             a rejected reading and {"seq","reason","detail"}
//	streamkey                    with Options.API: the stream key of the current epoch (JSON, 0600:
//	                             {"device", "fields": the ledger's private fields, "keys": [{"epoch",
//	                             "key": 32 bytes base64, "announced", "wraps" until uploaded}]}), and
//	                             an older epoch's key only until the outbox is sealed again
//	streamkey.lock               held (flock) by a StreamKeys while it refreshes the key
//
// Every file is written atomically and durably (temporary file, fsync,
// rename, fsync of the folder) before the reading is offered to the network;
// a removal is made durable with an fsync of the folder. Temporary files
// (*.tmp) that a crash left behind are ignored and removed. The invariant
// that NewSender restores is: the number in seq is above every reading in
// the outbox.
//
// # Private fields
//
// A device may seal some of its data fields (docs/PRIVATE.md): they travel
// sealed with XChaCha20-Poly1305 under the device's stream key for its
// current epoch, readable only by the device's owner and the accounts the
// owner granted access. StreamKeys keeps that key and does what the
// ledger's epochs ask of the device: when the ledger moves the device to a
// new epoch (its owner named its private fields, rotated its key, revoked
// a grant, erased the epoch; a contract granted access), Refresh makes the
// epoch's key, wraps it with HPKE to each recipient of the epoch (owner and
// consumers, their published encryption keys: X-Wing when published, else
// X25519), uploads the wrapped keys to the node's key box, announces their
// commitments in a stream_key transaction signed by the device's key, and
// uploads them again once committed. The key and its wrapped keys are on
// disk before anything leaves, so a device stopped in the middle finishes
// with the same key when it starts again.
//
// A Sender with Options.API seals the fields the ledger lists as the
// device's private fields and those of Options.Private:
//
//  1. Record seals them under the newest key on disk; the first sealed
//     reading of a device without one asks the ledger (Record then needs
//     the node); afterwards Record works offline as before.
//  2. At start, and when a reading is answered stale_epoch (the device
//     moved on), no_stream_key (its epoch's key is not announced yet) or
//     private_in_clear (the owner made another field private), the
//     drainer refreshes the key, then seals again every reading of the
//     outbox that needs it under the same sequence number (a reading the
//     ledger committed meanwhile, its answer lost, is removed as delivered
//     instead: no sequence number is ever sent with other bytes), deletes
//     the keys of older epochs and sends again. Record waits meanwhile.
//
// The guarantee of the outbox holds: each reading reaches the log once,
// under its sequence number. Processes that sign for one device share its
// stream key file (the CLI's reading send and dev's simulated devices
// share HOME/devices/ID.streamkey) and take turns through its lock; two
// key files for one device would announce two keys for one epoch, and
// the second is refused (ErrEpochTaken: the owner rotates the stream key).
//
// # Transports
//
// A Transport delivers a batch and returns one Answer per reading. HTTP
// posts each batch to the node's API (package client) and lets the node
// wait for commit. MQTT (NewMQTT, on eclipse/paho.golang, MQTT 5) connects
// to the node's broker as the device, with a fresh token (package mqttwire)
// as password and a session the broker keeps; it publishes each reading at
// QoS 1 to iotledger/v1/devices/ID/readings and answers a batch from the
// messages on the device's receipts and errors topics, matched by sequence
// number, with Pending for readings whose message has not arrived within
// MQTTOptions.Wait. Over MQTT, a device that is offline for a while still
// learns what became of its readings: the broker keeps the answers for the
// session, and the Sender sends again whatever stayed unanswered.
//
//	tr, err := device.NewMQTT(device.MQTTOptions{URL: "tcp://127.0.0.1:1883", Key: key})
//	...
//	s, err := device.NewSender(device.Options{Key: key, Dir: dir, Transport: tr})
package device
