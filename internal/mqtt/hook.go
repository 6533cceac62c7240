package mqtt

import (
	"errors"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/registry"
	"github.com/iotledger/iotledger/mqttwire"
)

// hook is the embedded broker's only mochi hook. It authenticates CONNECTs,
// keeps each device to its own topics and hands readings to the node.
type hook struct {
	mochi.HookBase
	b *Broker
}

func (h *hook) ID() string { return "iotledger" }

// Provides lists the events the hook handles.
func (h *hook) Provides(event byte) bool {
	switch event {
	case mochi.OnConnect, mochi.OnConnectAuthenticate, mochi.OnACLCheck, mochi.OnPublish:
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
// own goroutine before it sends the PUBACK, so waiting here while the
// node's queue is full delays that device's PUBACK and nobody else's.
// Readings are never forwarded to subscribers or retained.
func (h *hook) OnPublish(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline {
		return pk, nil // the broker's own receipts and errors
	}
	if pk.TopicName != mqttwire.ReadingsTopic(cl.ID) { // OnACLCheck refused it already; never trust one check
		return pk, refusal(cl, pk, packets.ErrNotAuthorized)
	}
	v := h.b.handle(h.b.ctx, sinkEmbedded, cl.ID, pk.Payload, h.b.cfg.BusyTimeout)
	if !v.ack {
		// No PUBACK: the device sends the reading again when it reconnects.
		switch {
		case errors.Is(v.err, errBusyTimeout):
			_ = h.b.server.DisconnectClient(cl, packets.ErrServerBusy)
		case h.b.ctx.Err() == nil:
			_ = h.b.server.DisconnectClient(cl, packets.ErrImplementationSpecificError)
		}
		return pk, packets.ErrRejectPacket
	}
	if v.code.Code >= packets.ErrUnspecifiedError.Code {
		return pk, refusal(cl, pk, v.code)
	}
	return pk, packets.CodeSuccessIgnore
}

// refusal is what OnPublish returns to refuse a reading: for an MQTT 5
// QoS 1 publish, a PUBACK with the reason code; otherwise a plain PUBACK (or
// none for QoS 0), as MQTT 3.1.1 has no negative acknowledgement. Either way
// the reason is on the device's errors topic. (mochi forwards a publish for
// any other error, so CodeSuccessIgnore it must be.)
func refusal(cl *mochi.Client, pk packets.Packet, code packets.Code) error {
	if cl.Properties.ProtocolVersion == 5 && pk.FixedHeader.Qos > 0 {
		return code
	}
	return packets.CodeSuccessIgnore
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
	case dev.Status == registry.StatusRevoked:
		return packets.Code{Code: packets.ErrNotAuthorized.Code, Reason: "device was revoked"}
	case dev.Status != registry.StatusActive && dev.Status != registry.StatusQuarantined:
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
