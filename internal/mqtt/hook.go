package mqtt

import (
	"errors"
	"fmt"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/ingest"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/mqttwire"
)

// hook is the embedded broker's only mochi hook. It authenticates CONNECTs,
// keeps each device to its own topics, hands readings to the node, and
// tells the broker when the refusal notices it holds for a device can go.
type hook struct {
	mochi.HookBase
	b *Broker
}

var _ mochi.Hook = (*hook)(nil) // a method of the wrong shape would not override HookBase's

func (h *hook) ID() string { return "iotledger" }

// Provides lists the events the hook handles.
func (h *hook) Provides(event byte) bool {
	switch event {
	case mochi.OnConnect, mochi.OnConnectAuthenticate, mochi.OnACLCheck, mochi.OnPublish,
		mochi.OnSessionEstablish, mochi.OnSessionEstablished, mochi.OnSubscribed, mochi.OnQosPublish,
		mochi.OnPacketRead, mochi.OnPublishDropped, mochi.OnDisconnect:
		return true
	}
	return false
}

// OnConnect authenticates a device. It runs before OnConnectAuthenticate,
// and unlike it can answer with the reason code that fits: on refusal it
// sends the CONNACK itself and returns the code, which makes mochi close
// the connection.
func (h *hook) OnConnect(cl *mochi.Client, pk packets.Packet) error {
	code := h.b.authenticate(pk)
	if code.Code == packets.CodeSuccess.Code {
		// A connection always has a deadline, so a dead one is noticed:
		// cap the keep alive (MQTT 5 clients are told, as Server Keep Alive).
		if most := uint16(h.b.cfg.MaxKeepAlive / time.Second); cl.State.Keepalive == 0 || cl.State.Keepalive > most {
			cl.State.Keepalive = most
			cl.State.ServerKeepalive = true
		}
		return nil
	}
	h.b.stats.connectsRefused.Add(1)
	h.b.log.Debug("mqtt: connect refused", "client", pk.Connect.ClientIdentifier, "remote", cl.Net.Remote, "reason", code.Reason)
	if cl.Properties.ProtocolVersion < 5 {
		code = v3Code(code)
	}
	_ = h.b.server.SendConnack(cl, code, false, nil)
	return code
}

// OnConnectAuthenticate lets in what OnConnect let through.
func (h *hook) OnConnectAuthenticate(*mochi.Client, packets.Packet) bool { return true }

// OnACLCheck keeps a device to its own topics: it publishes only to its
// readings topic and subscribes only below its own prefix.
func (h *hook) OnACLCheck(cl *mochi.Client, topic string, write bool) bool {
	if write {
		return topic == mqttwire.ReadingsTopic(cl.ID)
	}
	return ownTopic(cl.ID, topic)
}

// OnPublish hands a reading to the node. mochi calls it on the client's
// own goroutine before it acknowledges (PUBACK for QoS 1, PUBREC for
// QoS 2), so waiting here delays that device's acknowledgement and nobody
// else's. Readings are never forwarded to subscribers or retained.
func (h *hook) OnPublish(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline {
		return pk, nil // the broker's own receipts and errors
	}
	if pk.TopicName != mqttwire.ReadingsTopic(cl.ID) { // OnACLCheck refused it already; never trust one check
		return pk, h.refusal(cl, pk, packets.ErrNotAuthorized)
	}
	v := h.b.handle(h.b.ctx, sinkEmbedded, cl.ID, pk.Payload, h.b.cfg.BusyTimeout)
	if !v.ack {
		// No acknowledgement: the device sends the reading again after it
		// connects again.
		if h.b.ctx.Err() == nil {
			h.b.disconnect(cl, disconnectCode(v.err))
		}
		return pk, packets.ErrRejectPacket
	}
	if v.code.Code >= packets.ErrUnspecifiedError.Code {
		return pk, h.refusal(cl, pk, v.code)
	}
	return pk, packets.CodeSuccessIgnore
}

// refusal is what OnPublish returns to refuse a reading. An MQTT 5 client
// gets the reason code: in the PUBACK of a QoS 1 publish (mochi sends it),
// in the PUBREC of a QoS 2 publish (sent here, as mochi would answer a
// QoS 2 publish with a PUBACK), which ends that exchange. An MQTT 3.1.1
// client gets the acknowledgement its QoS expects (PUBACK, or PUBREC then
// PUBCOMP), as 3.1.1 has no negative one, and QoS 0 none. Either way the
// reason is on the device's errors topic. (mochi forwards a publish for
// any other error, so CodeSuccessIgnore it must be.)
func (h *hook) refusal(cl *mochi.Client, pk packets.Packet, code packets.Code) error {
	if cl.Properties.ProtocolVersion < 5 || pk.FixedHeader.Qos == 0 {
		return packets.CodeSuccessIgnore
	}
	if pk.FixedHeader.Qos == 1 {
		return code
	}
	rec := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pubrec}, PacketID: pk.PacketID, ReasonCode: code.Code}
	rec.Properties.ReasonString = code.Reason
	if err := cl.WritePacket(rec); err != nil {
		h.b.log.Debug("mqtt: write PUBREC", "client", cl.ID, "err", err)
	}
	return packets.ErrRejectPacket
}

// OnSessionEstablish runs before mochi takes over an existing session of
// the same client id: the refusal notices sent on the old connection and
// not acknowledged are held again (mochi resends those it kept, which
// takes them back: OnQosPublish).
func (h *hook) OnSessionEstablish(cl *mochi.Client, _ packets.Packet) {
	if _, ok := h.b.server.Clients.Get(cl.ID); ok {
		h.b.mail.requeue(cl.ID)
	}
}

// OnSessionEstablished and OnSubscribed tell the broker that a device may
// take the refusal notices held for it now.
func (h *hook) OnSessionEstablished(cl *mochi.Client, _ packets.Packet) { h.b.mail.wake(cl.ID) }

func (h *hook) OnSubscribed(cl *mochi.Client, _ packets.Packet, _ []byte) { h.b.mail.wake(cl.ID) }

// OnQosPublish: mochi numbered a message for cl (or sent it again). The
// mailbox learns the packet id of a refusal notice, to see its PUBACK.
func (h *hook) OnQosPublish(cl *mochi.Client, pk packets.Packet, created int64, _ int) {
	if pk.FixedHeader.Type == packets.Publish && isErrorsTopic(cl.ID, pk.TopicName) {
		h.b.mail.sent(cl.ID, pk.PacketID, pk.Payload, time.Unix(created, 0))
	}
}

// OnPacketRead sees every packet a client sends, before mochi handles it:
// a PUBACK acknowledges a refusal notice, or makes room for one. (mochi's
// own OnQosComplete misses a PUBACK whose packet id the client had also
// used for a publish of its own.)
func (h *hook) OnPacketRead(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	if pk.FixedHeader.Type == packets.Puback {
		h.b.mail.acked(cl.ID, pk.PacketID)
		h.b.mail.wake(cl.ID)
	}
	return pk, nil
}

// OnPublishDropped: mochi dropped a message for cl, whose queue is full.
// A refusal notice is held again, to be delivered later.
func (h *hook) OnPublishDropped(cl *mochi.Client, pk packets.Packet) {
	if !isErrorsTopic(cl.ID, pk.TopicName) {
		h.b.stats.dropped.Add(1)
		return
	}
	h.b.mail.unsend(cl.ID, pk.Payload, h.b.now())
	h.b.publishDropped.Store(true)
}

// OnDisconnect: the refusal notices sent on the connection and not
// acknowledged are held again, for the device's next connection.
func (h *hook) OnDisconnect(cl *mochi.Client, _ error, _ bool) {
	if !cl.IsTakenOver() { // else OnSessionEstablish did, and the new connection may have sent some since
		h.b.mail.requeue(cl.ID)
	}
}

// disconnectCode is the MQTT 5 DISCONNECT reason for a reading that was not
// acknowledged.
func disconnectCode(err error) packets.Code {
	var halted *ingest.HaltedError
	switch {
	case errors.As(err, &halted):
		return packets.Code{Code: packets.ErrServerBusy.Code, Reason: fmt.Sprintf(
			"consensus halted since %s (%s): the node commits nothing; send the reading again later", halted.Since.UTC().Format(time.RFC3339), halted.Reason)}
	case errors.Is(err, errBusyTimeout):
		return packets.Code{Code: packets.ErrServerBusy.Code, Reason: "the node's queue stayed full: send the reading again later"}
	case errors.Is(err, errOwedTimeout):
		return packets.Code{Code: packets.ErrServerBusy.Code, Reason: "refusal notices for this device wait on its errors topic: subscribe to it at QoS 1 and read them, then send the reading again"}
	case errors.Is(err, errRateTimeout):
		return packets.Code{Code: packets.ErrQuotaExceeded.Code, Reason: "the device's rate leaves no room for the reading within mqtt.busy_timeout: send it again later"}
	default:
		return packets.ErrImplementationSpecificError
	}
}

// disconnect ends cl's connection: MQTT 5 clients get a DISCONNECT with
// code; MQTT 3.1.1 has no DISCONNECT from the server, so the connection is
// closed.
func (b *Broker) disconnect(cl *mochi.Client, code packets.Code) {
	if cl.Properties.ProtocolVersion == 5 {
		_ = b.server.DisconnectClient(cl, code)
		return
	}
	cl.Stop(code)
}

// authenticate checks a CONNECT: the client id is a registered, active
// device and the password a token that device signed with its current key.
func (b *Broker) authenticate(pk packets.Packet) packets.Code {
	id := pk.Connect.ClientIdentifier
	if address.ParseDevice(id) != nil {
		return packets.Code{Code: packets.ErrClientIdentifierNotValid.Code, Reason: "client id must be the device id (dev1...)"}
	}
	if pk.Connect.WillFlag {
		return packets.Code{Code: packets.ErrNotAuthorized.Code, Reason: "will messages are not allowed"}
	}
	if len(pk.Connect.Username) > 0 && string(pk.Connect.Username) != id {
		return packets.Code{Code: packets.ErrBadUsernameOrPassword.Code, Reason: "user name must be the device id"}
	}
	if !pk.Connect.PasswordFlag {
		return packets.Code{Code: packets.ErrBadUsernameOrPassword.Code, Reason: "password must be a device token"}
	}
	tok := string(pk.Connect.Password)
	if _, err := mqttwire.ParseToken(tok); err != nil {
		return packets.Code{Code: packets.ErrBadUsernameOrPassword.Code, Reason: err.Error()}
	}
	dev, err := b.deps.Device(id)
	if err != nil {
		b.log.Error("mqtt: device lookup", "device", id, "err", err)
		return packets.ErrServerUnavailable
	}
	switch {
	case dev == nil:
		return packets.Code{Code: packets.ErrNotAuthorized.Code, Reason: "device is not registered"}
	case dev.Status == state.StatusRevoked:
		return packets.Code{Code: packets.ErrNotAuthorized.Code, Reason: "device was revoked"}
	case dev.Status != state.StatusActive && dev.Status != state.StatusQuarantined:
		return packets.Code{Code: packets.ErrNotAuthorized.Code, Reason: "device is not active"}
	}
	// A quarantined device may connect: it gets its desired state (a fix)
	// and its readings are answered on its errors topic (quarantined_device).
	if err := mqttwire.VerifyToken(tok, id, dev.Key, b.now(), b.cfg.TokenMaxTTL, b.cfg.ClockSkew); err != nil {
		return packets.Code{Code: packets.ErrBadUsernameOrPassword.Code, Reason: err.Error()}
	}
	return packets.CodeSuccess
}

// v3Code is the MQTT 3.1.1 CONNACK return code for an MQTT 5 reason code.
// (mochi maps a few itself, and 0x86 to 5 rather than 4.)
func v3Code(c packets.Code) packets.Code {
	switch c.Code {
	case packets.ErrClientIdentifierNotValid.Code:
		return packets.Err3ClientIdentifierNotValid // 2
	case packets.ErrBadUsernameOrPassword.Code:
		return packets.ErrMalformedUsernameOrPassword // 4: bad user name or password
	case packets.ErrServerUnavailable.Code, packets.ErrServerBusy.Code:
		return packets.Err3ServerUnavailable // 3
	default:
		return packets.Err3NotAuthorized // 5
	}
}
