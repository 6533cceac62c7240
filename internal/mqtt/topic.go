package mqtt

import (
	"strings"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/mqttwire"
)

// bridgeFilter is what the bridge subscribes to.
const bridgeFilter = mqttwire.TopicPrefix + "+/readings"

// readingsDevice returns the device id of a readings topic, or false when
// topic is not mqttwire.ReadingsTopic of a well-formed device id.
func readingsDevice(topic string) (string, bool) {
	rest, ok := strings.CutPrefix(topic, mqttwire.TopicPrefix)
	if !ok {
		return "", false
	}
	id, ok := strings.CutSuffix(rest, "/readings")
	if !ok || address.ParseDevice(id) != nil {
		return "", false
	}
	return id, true
}

// ownTopic reports whether a topic or topic filter lies under device id's
// own prefix, with any wildcard below the id level.
func ownTopic(id, topic string) bool {
	return id != "" && !strings.ContainsAny(id, "/+#") && strings.HasPrefix(topic, mqttwire.TopicPrefix+id+"/")
}

// isErrorsTopic reports whether topic is mqttwire.ErrorsTopic(id), without
// building that string: the hook asks for every message a client is sent.
func isErrorsTopic(id, topic string) bool {
	rest, ok := strings.CutPrefix(topic, mqttwire.TopicPrefix)
	if !ok {
		return false
	}
	rest, ok = strings.CutPrefix(rest, id)
	return ok && rest == "/errors"
}
