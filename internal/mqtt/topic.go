package mqtt

import (
	"strings"

	"github.com/iotledger/iotledger/address"
)

// TopicPrefix starts every topic of a device: TopicPrefix + id + "/...".
const TopicPrefix = "iotledger/v1/devices/"

// Topic leaves under a device's prefix.
const (
	leafReadings = "readings"
	leafReceipts = "receipts"
	leafErrors   = "errors"
)

// ReadingsTopic is where device id publishes its readings.
func ReadingsTopic(id string) string { return TopicPrefix + id + "/" + leafReadings }

// ReceiptsTopic is where the node tells device id that a reading was committed.
func ReceiptsTopic(id string) string { return TopicPrefix + id + "/" + leafReceipts }

// ErrorsTopic is where the node tells device id that a reading was refused.
func ErrorsTopic(id string) string { return TopicPrefix + id + "/" + leafErrors }

// bridgeFilter is what the bridge subscribes to.
const bridgeFilter = TopicPrefix + "+/" + leafReadings

// readingsDevice returns the device id of a readings topic, or false when
// topic is not TopicPrefix + a well-formed device id + "/readings".
func readingsDevice(topic string) (string, bool) {
	rest, ok := strings.CutPrefix(topic, TopicPrefix)
	if !ok {
		return "", false
	}
	id, ok := strings.CutSuffix(rest, "/"+leafReadings)
	if !ok || address.ParseDevice(id) != nil {
		return "", false
	}
	return id, true
}

// ownTopic reports whether a topic or topic filter lies under device id's
// own prefix, with any wildcard below the id level.
func ownTopic(id, topic string) bool {
	return id != "" && !strings.ContainsAny(id, "/+#") && strings.HasPrefix(topic, TopicPrefix+id+"/")
}
