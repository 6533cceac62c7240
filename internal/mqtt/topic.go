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
